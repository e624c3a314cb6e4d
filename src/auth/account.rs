//! "Your account": how a person signs in, and the sessions open in their name, which they
//! can end (a laptop left behind, a browser on a shared computer).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::sessions::{self, SessionLine};
use crate::audit::{self, Actor};
use crate::common::format::format_time;
use crate::web::session::Session;
use crate::web::{
    AppResult, AppState, PageContext, RequestMeta, SignedIn, commit_and_redirect,
    refuse_and_redirect,
};

const ACCOUNT_PAGE: &str = "/account";

/// A session as its list shows it.
pub struct SessionView {
    pub line: SessionLine,
    /// The session this page was asked from.
    pub current: bool,
}

impl SessionView {
    pub fn device(&self) -> String {
        device_label(&self.line.user_agent)
    }

    pub fn signed_in_text(&self) -> String {
        format_time(self.line.signed_in_at)
    }

    pub fn last_seen_text(&self) -> String {
        format_time(self.line.last_seen_at)
    }

    pub fn address(&self) -> &str {
        if self.line.client_ip.is_empty() {
            "unknown"
        } else {
            &self.line.client_ip
        }
    }
}

/// The sessions of an account, this one marked.
pub async fn session_views(
    conn: &mut sqlx::PgConnection,
    user_id: i64,
    current: Option<i64>,
) -> sqlx::Result<Vec<SessionView>> {
    Ok(sessions::of_account(conn, user_id)
        .await?
        .into_iter()
        .map(|line| SessionView {
            current: Some(line.id) == current,
            line,
        })
        .collect())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/account.html")]
pub(super) struct AccountPage {
    ctx: PageContext,
    sessions: Vec<SessionView>,
    /// The account signs in with an authenticator app's code after its password.
    has_second_factor: bool,
}

impl AccountPage {
    fn other_sessions(&self) -> usize {
        self.sessions.iter().filter(|view| !view.current).count()
    }
}

pub(super) async fn account_page(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    SignedIn(user): SignedIn,
) -> AppResult<AccountPage> {
    let mut conn = state.pool.acquire().await?;
    let sessions = session_views(&mut conn, user.id, session.id()).await?;
    let has_second_factor = super::two_step::has_second_factor(&mut conn, user.id).await?;
    Ok(AccountPage {
        ctx,
        sessions,
        has_second_factor,
    })
}

/// `POST /account/sessions/{id}/end`: ends one of the person's other sessions.
pub(super) async fn end_session(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    if session.id() == Some(id) {
        return refuse_and_redirect(
            &session,
            "This is the session you are using: to end it, sign out.",
            ACCOUNT_PAGE,
        )
        .await;
    }
    let mut tx = state.pool.begin().await?;
    // Only the person's own sessions: someone else's id ends nothing.
    if !sessions::end_of_account(&mut tx, user.id, id).await? {
        return refuse_and_redirect(&session, "That session has already ended.", ACCOUNT_PAGE)
            .await;
    }
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new("session.ended", "user", Some(user.id.to_string()))
            .after(json!({ "session": id })),
    )
    .await?;
    commit_and_redirect(tx, &session, "The session has ended.", ACCOUNT_PAGE).await
}

/// `POST /account/sessions/end-others`: ends every session of the person but this one.
pub(super) async fn end_other_sessions(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    SignedIn(user): SignedIn,
) -> AppResult<Response> {
    let Some(current) = session.id() else {
        return refuse_and_redirect(&session, "Sign in again first.", ACCOUNT_PAGE).await;
    };
    let mut tx = state.pool.begin().await?;
    let ended = sessions::end_others_of_account(&mut tx, user.id, current).await?;
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new("session.others_ended", "user", Some(user.id.to_string()))
            .after(json!({ "sessions_ended": ended })),
    )
    .await?;
    let message = match ended {
        0 => "You had no other session.".to_owned(),
        1 => "Your other session has ended.".to_owned(),
        n => format!("Your {n} other sessions have ended."),
    };
    commit_and_redirect(tx, &session, message, ACCOUNT_PAGE).await
}

/// "Firefox on Windows" from a user agent: enough to recognise one's own devices.
pub fn device_label(user_agent: &str) -> String {
    if user_agent.is_empty() {
        return "Unknown device".to_owned();
    }
    // Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
    const BROWSERS: [(&str, &str); 6] = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    const SYSTEMS: [(&str, &str); 7] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    let find = |names: &[(&str, &'static str)]| {
        names
            .iter()
            .find(|(marker, _)| user_agent.contains(marker))
            .map(|(_, name)| *name)
    };
    match (find(&BROWSERS), find(&SYSTEMS)) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(system)) => format!("A browser on {system}"),
        (None, None) => user_agent.chars().take(60).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::device_label;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
                "Firefox on Linux",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, \
                 like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on macOS",
            ),
            ("curl/8.11.1", "curl/8.11.1"),
            ("", "Unknown device"),
        ];
        for (user_agent, expected) in cases {
            assert_eq!(device_label(user_agent), expected, "{user_agent}");
        }
    }
}
