//! Integration tests: the real server over HTTP against a real PostgreSQL. One binary, so
//! the database cluster starts once (see `helpers`).

mod helpers;

mod account;
mod admin;
mod approvals;
mod audit_trail;
mod auditor;
mod auth;
mod backup;
mod compliance;
mod csrf;
mod database;
mod decisions;
mod embedded;
mod exports;
mod faults;
mod headers;
mod hostile;
mod instances;
mod links;
mod mail;
mod notices;
mod passkeys;
mod pickers;
mod policies;
mod portfolio;
mod read_cache;
mod risks;
mod route_roles;
mod scale;
mod soak;
mod sso;
mod two_step;
