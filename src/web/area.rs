//! Where a page is read from, and so what its viewer may see and do there. A record page
//! (a risk, a policy, a project, a request) is served under several areas: IT managers
//! change it under `/manage`, the board and auditors read it under `/board` and `/audit`,
//! and some pages are for everyone signed in. One handler serves them all, taking a
//! [`Viewer`], and the templates ask the [`Area`] what to show instead of comparing paths.

use std::fmt;

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;

use super::error::AppError;
use super::identity::{CurrentUser, require_role, signed_in_user};
use crate::users::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// Everyone signed in (for example the policies in force at `/policies`).
    Everyone,
    /// Governance: `/board`.
    Board,
    /// Management: `/manage`.
    Manage,
    /// Verification, read only: `/audit`.
    Audit,
}

impl Area {
    /// The start of the area's paths (`""` for everyone's pages): links are
    /// `{{ area }}/risks/7`.
    pub fn prefix(self) -> &'static str {
        match self {
            Area::Everyone => "",
            Area::Board => "/board",
            Area::Manage => "/manage",
            Area::Audit => "/audit",
        }
    }

    /// The area a path belongs to.
    pub fn of_path(path: &str) -> Area {
        [Area::Board, Area::Manage, Area::Audit]
            .into_iter()
            .find(|area| {
                path.strip_prefix(area.prefix())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .unwrap_or(Area::Everyone)
    }

    /// The role the area is for (`None`: anyone signed in).
    pub fn role(self) -> Option<Role> {
        match self {
            Area::Everyone => None,
            Area::Board => Some(Role::Board),
            Area::Manage => Some(Role::ItManager),
            Area::Audit => Some(Role::Auditor),
        }
    }

    /// Management keeps the registers: only there are records changed.
    pub fn changes_records(self) -> bool {
        self == Area::Manage
    }

    /// The board and auditors read every request to the board and its votes.
    pub fn reads_requests(self) -> bool {
        matches!(self, Area::Board | Area::Audit)
    }

    /// Drafts, history and what is not yet in force are for the board, management and
    /// auditors; everyone else reads what is in force.
    pub fn reads_drafts(self) -> bool {
        self != Area::Everyone
    }

    /// Where `user` reads records from, for links on pages everyone reads (a decision):
    /// the board's pages, else management's, else the auditor's, else none.
    pub fn home_of(user: &CurrentUser) -> Area {
        [Area::Board, Area::Manage, Area::Audit]
            .into_iter()
            .find(|area| area.role().is_some_and(|role| user.has_role(role)))
            .unwrap_or(Area::Everyone)
    }

    pub fn is_board(self) -> bool {
        self == Area::Board
    }

    pub fn is_audit(self) -> bool {
        self == Area::Audit
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// The signed-in person reading a page, and the area they read it in (from the path),
/// checked against the area's role.
pub struct Viewer {
    pub area: Area,
    pub user: CurrentUser,
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        // Inside a nested router `parts.uri` lacks the prefix; the original has it.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map(|original| original.0.path())
            .unwrap_or(parts.uri.path());
        let area = Area::of_path(path);
        let user = match area.role() {
            Some(role) => require_role(parts, role)?,
            None => signed_in_user(parts)?,
        };
        Ok(Viewer { area, user })
    }
}

#[cfg(test)]
mod tests {
    use super::Area;

    #[test]
    fn a_path_belongs_to_the_area_it_starts_with() {
        assert_eq!(Area::of_path("/board/risks/7"), Area::Board);
        assert_eq!(Area::of_path("/manage"), Area::Manage);
        assert_eq!(Area::of_path("/audit/policies"), Area::Audit);
        assert_eq!(Area::of_path("/policies/3"), Area::Everyone);
        assert_eq!(Area::of_path("/boardroom"), Area::Everyone);
        assert_eq!(Area::Manage.to_string(), "/manage");
    }
}
