//! Who is asking: the signed-in user (loaded with the session, see `session::load`), and
//! the typed extractors that put a handler's required role in its signature.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::http::request::Parts;

use super::error::AppError;
use crate::users::Role;

/// The person behind the request, as of this request (roles and status read fresh).
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub is_chair: bool,
}

impl CurrentUser {
    /// The board, IT managers and auditors read the compliance pages.
    pub fn reads_compliance(&self) -> bool {
        [Role::Board, Role::ItManager, Role::Auditor]
            .into_iter()
            .any(|role| self.has_role(role))
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn role_labels(&self) -> String {
        crate::users::role::labels(&self.roles)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts.extensions.get::<CurrentUser>().cloned())
    }
}

/// Anyone signed in; an anonymous visitor is sent to the sign-in page and back.
pub struct SignedIn(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        signed_in_user(parts).map(SignedIn)
    }
}

pub(super) fn signed_in_user(parts: &Parts) -> Result<CurrentUser, AppError> {
    parts
        .extensions
        .get::<CurrentUser>()
        .cloned()
        .ok_or_else(|| {
            // Inside a nested router `parts.uri` lacks the prefix; the original has it.
            let uri = parts
                .extensions
                .get::<OriginalUri>()
                .map(|original| &original.0)
                .unwrap_or(&parts.uri);
            AppError::LoginRequired {
                next: uri
                    .path_and_query()
                    .map(|pq| pq.as_str().to_owned())
                    .unwrap_or_else(|| "/".to_owned()),
            }
        })
}

pub(super) fn require_role(parts: &Parts, role: Role) -> Result<CurrentUser, AppError> {
    let user = signed_in_user(parts)?;
    if user.has_role(role) {
        Ok(user)
    } else {
        Err(AppError::Forbidden(format!(
            "This page is for the role “{}”. You are signed in as {} ({}), which does not \
             include it. If you need access, ask an administrator.",
            role.label(),
            user.email,
            if user.roles.is_empty() {
                "no role".to_owned()
            } else {
                user.role_labels()
            },
        )))
    }
}

/// Someone who reads the compliance pages: a board member, an IT manager or an auditor.
pub struct ComplianceReader(pub CurrentUser);

impl<S: Send + Sync> FromRequestParts<S> for ComplianceReader {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let user = signed_in_user(parts)?;
        if user.reads_compliance() {
            Ok(ComplianceReader(user))
        } else {
            Err(AppError::Forbidden(
                "Compliance is read by the board, IT managers and auditors; your account has \
                 none of these roles. If you need access, ask an administrator."
                    .to_owned(),
            ))
        }
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $role:expr) => {
        $(#[$doc])*
        pub struct $name(pub CurrentUser);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;

            async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
                require_role(parts, $role).map($name)
            }
        }
    };
}

role_extractor!(
    /// A signed-in board member (governance, `/board`).
    BoardMember,
    Role::Board
);
role_extractor!(
    /// A signed-in IT manager (management, `/manage`).
    ItManager,
    Role::ItManager
);
role_extractor!(
    /// A signed-in auditor (read-only verification, `/audit`).
    Auditor,
    Role::Auditor
);
role_extractor!(
    /// A signed-in administrator (accounts, `/admin`).
    Admin,
    Role::Admin
);
