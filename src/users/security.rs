//! The administrator's side of two-step sign-in: which roles require it, and resetting a
//! person's second factor when they lost it (never seeing or setting it).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::Role;
use crate::audit::{self, Actor};
use crate::auth::notices::{self, Notice, NoticeKind};
use crate::auth::{passkeys, recovery, totp, two_step};
use crate::web::form::Form;
use crate::web::session::Session;
use crate::web::{
    Admin, AppError, AppResult, AppState, PageContext, RequestMeta, commit_and_redirect,
    refuse_and_redirect,
};

const POLICY_PAGE: &str = "/admin/two-step";

/// What an administrator may know of a person's second factor: whether there is one.
pub struct SecondFactorSummary {
    pub authenticator: bool,
    pub passkeys: i64,
    pub recovery_codes_left: i64,
}

pub async fn second_factor_summary(
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<SecondFactorSummary> {
    let factors = two_step::factors(conn, user_id).await?;
    Ok(SecondFactorSummary {
        authenticator: factors.authenticator,
        passkeys: factors.passkeys,
        recovery_codes_left: recovery::left(conn, user_id).await?,
    })
}

/// `POST /admin/users/{id}/second-factor/reset`: removes the person's authenticator app
/// and recovery codes (a lost phone), tells them, and records who did it.
pub(super) async fn reset_second_factor(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let account = super::repo::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let authenticator_removed = totp::remove(&mut tx, id).await?;
    let passkeys_removed = passkeys::remove_all(&mut tx, id).await?;
    recovery::remove_all(&mut tx, id).await?;
    let page = format!("/admin/users/{id}");
    if !authenticator_removed && passkeys_removed == 0 {
        drop(tx);
        return refuse_and_redirect(
            &session,
            format!("{} has no second factor to reset.", account.email),
            &page,
        )
        .await;
    }
    audit::record(
        &mut tx,
        &Actor::user(&admin),
        meta.request_id.as_deref(),
        audit::Entry::new("user.second_factor_reset", "user", Some(id.to_string())).after(json!({
            "authenticator_app": if authenticator_removed { "removed" } else { "none" },
            "passkeys_removed": passkeys_removed,
            "recovery_codes": "removed",
        })),
    )
    .await?;
    let notice = Notice {
        user_id: id,
        email: &account.email,
        kind: NoticeKind::SecondFactorReset,
        detail: format!(
            "by {}: your authenticator app, passkeys and recovery codes no longer work; set \
             up two-step sign-in again under Your account, Two-step sign-in",
            admin.display_name
        ),
    };
    notices::tell(&mut tx, &state.config, notice).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "The two-step sign-in of {} is reset: they sign in with their password and set up \
             an app or a passkey again.",
            account.email
        ),
        &page,
    )
    .await
}

/// A role and whether its members must sign in with a second factor.
pub struct RoleRequirement {
    pub role: Role,
    pub required: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "users/two_step_policy.html")]
pub(super) struct PolicyPage {
    ctx: PageContext,
    roles: Vec<RoleRequirement>,
    passkey_alone: bool,
}

impl PolicyPage {
    fn none_required(&self) -> bool {
        self.roles.iter().all(|role| !role.required)
    }
}

/// `GET /admin/two-step`
pub(super) async fn policy_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Admin(_admin): Admin,
) -> AppResult<PolicyPage> {
    let mut conn = state.pool.acquire().await?;
    let required = two_step::roles_requiring(&mut conn).await?;
    let roles = Role::ALL
        .iter()
        .map(|role| RoleRequirement {
            role: *role,
            required: required.contains(role),
        })
        .collect();
    let passkey_alone = passkeys::passkey_alone_allowed(&mut conn).await?;
    Ok(PolicyPage {
        ctx,
        roles,
        passkey_alone,
    })
}

#[derive(Deserialize)]
pub(super) struct PolicyForm {
    #[serde(default)]
    required: Vec<String>,
    /// A checkbox: present when ticked.
    passkey_alone: Option<String>,
}

/// `POST /admin/two-step`
pub(super) async fn set_policy(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    Form(form): Form<PolicyForm>,
) -> AppResult<Response> {
    // Unknown names are ignored: the form offers the four roles only.
    let roles: Vec<Role> = Role::ALL
        .iter()
        .copied()
        .filter(|role| form.required.iter().any(|name| name == role.as_str()))
        .collect();
    let mut tx = state.pool.begin().await?;
    let own_role = roles.iter().any(|role| admin.has_role(*role));
    if own_role && !two_step::has_second_factor(&mut tx, admin.id).await? {
        drop(tx);
        return refuse_and_redirect(
            &session,
            "Set up two-step sign-in for your own account first (Your account → Two-step \
             sign-in): a requirement of your own role would otherwise stop you here until \
             you have. Nothing was changed.",
            POLICY_PAGE,
        )
        .await;
    }
    if two_step::require_for_roles(&mut tx, &roles).await? {
        let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        audit::record(
            &mut tx,
            &Actor::user(&admin),
            meta.request_id.as_deref(),
            audit::Entry::new("second_factor_policy.changed", "policy", None)
                .after(json!({ "required_for": names })),
        )
        .await?;
    }
    let passkey_alone = form.passkey_alone.is_some();
    if passkeys::allow_passkey_alone(&mut tx, passkey_alone).await? {
        audit::record(
            &mut tx,
            &Actor::user(&admin),
            meta.request_id.as_deref(),
            audit::Entry::new("sign_in_policy.changed", "policy", None)
                .after(json!({ "passkey_without_password": passkey_alone })),
        )
        .await?;
    }
    let mut message = if roles.is_empty() {
        "No role requires two-step sign-in now.".to_owned()
    } else {
        format!(
            "Two-step sign-in is required of: {}. Those without it set it up at their next page.",
            super::role::labels(&roles)
        )
    };
    message.push_str(if passkey_alone {
        " Signing in with a passkey alone is allowed."
    } else {
        " A passkey is a second step after the password, never the only one."
    });
    commit_and_redirect(tx, &session, message, POLICY_PAGE).await
}

#[derive(Deserialize)]
pub(super) struct SsoOnlyForm {
    /// A checkbox: present when ticked.
    sso_only: Option<String>,
}

/// `POST /admin/users/{id}/sso-only`: the account signs in through single sign-on only
/// (its password is refused), or with its password too.
pub(super) async fn set_sso_only(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Form(form): Form<SsoOnlyForm>,
) -> AppResult<Response> {
    let sso_only = form.sso_only.is_some();
    let page = format!("/admin/users/{id}");
    if sso_only && id == admin.id {
        return refuse_and_redirect(
            &session,
            "Another administrator must set your own account to single sign-on only: a \
             mistake in the provider's settings would otherwise lock you out. Nothing was \
             changed.",
            &page,
        )
        .await;
    }
    if sso_only && state.config.sso_providers.is_empty() {
        return refuse_and_redirect(
            &session,
            "No single sign-on provider is configured: an account set to single sign-on only \
             could not sign in. Nothing was changed.",
            &page,
        )
        .await;
    }
    let mut tx = state.pool.begin().await?;
    let account = super::repo::get(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if super::repo::set_sso_only(&mut tx, id, sso_only).await? {
        audit::record(
            &mut tx,
            &Actor::user(&admin),
            meta.request_id.as_deref(),
            audit::Entry::new("user.sso_only_changed", "user", Some(id.to_string()))
                .before(json!({ "sso_only": !sso_only }))
                .after(json!({ "sso_only": sso_only })),
        )
        .await?;
    }
    let message = if sso_only {
        format!(
            "{} signs in through single sign-on only now: their password is refused.",
            account.email
        )
    } else {
        format!("{} may sign in with their password too.", account.email)
    };
    commit_and_redirect(tx, &session, message, &page).await
}
