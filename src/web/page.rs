//! The context every page's template receives: who is signed in, the navigation their
//! roles reach, the CSRF token for forms, and flash messages.

use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;

use super::error::AppError;
use super::identity::CurrentUser;
use super::session::{Flash, Session};

#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Debug, Clone)]
pub struct PageContext {
    pub user: Option<CurrentUser>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    pub nav: Vec<NavLink>,
}

impl PageContext {
    /// The signed-in viewer's account id (0, nobody's, on pages without one).
    pub fn user_id(&self) -> i64 {
        self.user.as_ref().map_or(0, |user| user.id)
    }

    /// The same page for someone who has just signed out: no account, no navigation.
    pub fn signed_out(self) -> Self {
        Self {
            user: None,
            nav: Vec::new(),
            ..self
        }
    }

    /// For pages rendered outside the session (error pages): no user, no forms.
    pub fn bare() -> Self {
        Self {
            user: None,
            csrf_token: String::new(),
            flashes: Vec::new(),
            nav: Vec::new(),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let session = Session::from_request_parts(parts, state).await?;
        let user = parts.extensions.get::<CurrentUser>().cloned();
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map(|uri| uri.0.path().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned());
        let link = |href: &'static str, label: &'static str| NavLink {
            href,
            label,
            current: path == href || path.starts_with(&format!("{href}/")),
        };
        let nav = user
            .as_ref()
            .map(|user| {
                let mut nav: Vec<NavLink> = user
                    .roles
                    .iter()
                    .map(|role| link(role.home_path(), role.home_label()))
                    .collect();
                // Every signed-in role has an inbox, reads the decision log and the
                // policies in force.
                nav.push(link("/inbox", "Inbox"));
                nav.push(link("/decisions", "Decisions"));
                nav.push(link("/policies", "Policies in force"));
                if user.reads_compliance() {
                    nav.push(link("/compliance", "Compliance"));
                }
                nav
            })
            .unwrap_or_default();
        Ok(Self {
            user,
            csrf_token: session.csrf_token(),
            flashes: session.take_flashes(),
            nav,
        })
    }
}
