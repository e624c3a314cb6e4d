//! Quorum: the IT governance portal.
//!
//! The crate is organised by governance area (`auth`, `users`, `audit`, `dashboards`, ...);
//! each area owns its routes, handlers, SQL and types. Shared web plumbing (errors,
//! sessions, CSRF, the page layout) lives in [`web`]; the role-by-route map is in
//! [`web::routes`].

pub mod approvals;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod common;
pub mod compliance;
pub mod config;
pub mod dashboards;
pub mod db;
pub mod decisions;
pub mod demo;
pub mod exports;
pub mod notify;
pub mod policies;
pub mod projects;

pub mod risks;
pub mod startup;
pub mod telemetry;
mod text_enum;
pub mod users;
pub mod web;
