//! The four roles and what each one reaches.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Governance: approves, oversees, sets appetite.
    Board,
    /// Management: runs projects, reports, requests, treats risks, drafts policies.
    ItManager,
    /// Verifies both sides, read-only, and exports.
    Auditor,
    /// Manages accounts and roles; no governance powers.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Board, Role::ItManager, Role::Auditor, Role::Admin];

    /// The name stored in the database and used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Board => "board",
            Role::ItManager => "it_manager",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Board => "Board member",
            Role::ItManager => "IT manager",
            Role::Auditor => "Auditor",
            Role::Admin => "Administrator",
        }
    }

    /// The role's home page.
    pub fn home_path(self) -> &'static str {
        match self {
            Role::Board => "/board",
            Role::ItManager => "/manage",
            Role::Auditor => "/audit",
            Role::Admin => "/admin",
        }
    }

    /// The name of the role's home in the navigation.
    pub fn home_label(self) -> &'static str {
        match self {
            Role::Board => "Board oversight",
            Role::ItManager => "IT management",
            Role::Auditor => "Audit",
            Role::Admin => "Administration",
        }
    }

    /// What the role's home is for, on the page where a person picks among their homes.
    pub fn home_summary(self) -> &'static str {
        match self {
            Role::Board => {
                "Votes waiting for you, portfolio health, risks against appetite, compliance posture."
            }
            Role::ItManager => {
                "Your projects and status reports, budget requests, the risk register, policy drafts."
            }
            Role::Auditor => "The audit trail and its verification, read-only views and exports.",
            Role::Admin => "Accounts, roles and access.",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "`{text}` is not a role; the roles are board, it_manager, auditor and admin"
                )
            })
    }
}

/// "Board member, IT manager": roles as people read them.
pub fn labels(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| role.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the role names stored in the database, skipping none silently: an unknown name
/// cannot be stored (a CHECK constraint), so it would be a bug.
pub fn parse_stored_roles(names: &[String]) -> Vec<Role> {
    let mut roles: Vec<Role> = names
        .iter()
        .filter_map(|name| match name.parse() {
            Ok(role) => Some(role),
            Err(error) => {
                tracing::error!(%error, "unknown role in the database");
                None
            }
        })
        .collect();
    roles.sort();
    roles
}
