//! Accounts and roles, and the administrator's pages that manage them.

pub mod picker;
pub mod repo;
pub mod role;
pub mod security;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

pub use role::Role;

use crate::audit::{self, Actor};
use crate::auth::account::{SessionView, session_views};
use crate::auth::notices::{self, Notice, NoticeKind};
use crate::auth::{normalize_email, password};
use crate::web::form::{FieldErrors, Form};
use crate::web::pagination::{KeysetPage, fetch_limit};
use crate::web::route_list::Routes;
use crate::web::session::Session;
use crate::web::step_up::SteppedUp;
use crate::web::{
    Admin, AppError, AppResult, AppState, PageContext, RequestMeta, commit_and_redirect,
    refuse_and_redirect,
};
use repo::{Account, AccountError, NewAccount};
use security::SecondFactorSummary;

/// Routes for anyone signed in (each handler says which roles it serves).
pub fn routes() -> Routes {
    Routes::new().route("/suggest/it-managers", get(picker::suggest_it_managers))
}

/// Routes under `/admin` (the router requires the `admin` role for all of them).
pub fn admin_routes() -> Routes {
    Routes::new()
        .route("/", get(list_accounts))
        .route("/users", post(create_account))
        .route("/users/new", get(new_account_page))
        .route("/users/{id}", get(edit_account_page).post(update_account))
        .route("/users/{id}/access", post(set_access))
        .route("/users/{id}/password", post(reset_password))
        .route("/users/{id}/sso-only", post(security::set_sso_only))
        .route(
            "/users/{id}/second-factor/reset",
            post(security::reset_second_factor),
        )
        .route(
            "/two-step",
            get(security::policy_page).post(security::set_policy),
        )
}

const PAGE_SIZE: usize = 50;

#[derive(Template, WebTemplate)]
#[template(path = "users/list.html")]
struct AccountListPage {
    ctx: PageContext,
    accounts: Vec<Account>,
    next_after: Option<String>,
    is_first_page: bool,
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<String>,
}

async fn list_accounts(
    State(state): State<AppState>,
    ctx: PageContext,
    Admin(_admin): Admin,
    Query(query): Query<ListQuery>,
) -> AppResult<AccountListPage> {
    let mut conn = state.pool.acquire().await?;
    let rows = repo::list(&mut conn, query.after.as_deref(), fetch_limit(PAGE_SIZE)).await?;
    let page = KeysetPage::from_rows(rows, PAGE_SIZE, |account| account.email.clone());
    Ok(AccountListPage {
        ctx,
        accounts: page.items,
        next_after: page.next,
        is_first_page: query.after.is_none(),
    })
}

/// What the account form shows: what was typed, and the messages for it.
#[derive(Debug, Default, Deserialize)]
struct AccountForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    is_chair: Option<String>,
    #[serde(default)]
    password: String,
    #[serde(default)]
    version: i32,
}

impl AccountForm {
    fn has_role(&self, role: &Role) -> bool {
        self.roles.iter().any(|name| name == role.as_str())
    }

    fn chair(&self) -> bool {
        self.is_chair.is_some()
    }

    fn from_account(account: &Account) -> Self {
        Self {
            email: account.email.clone(),
            display_name: account.display_name.clone(),
            roles: account
                .roles
                .iter()
                .map(|role| role.as_str().to_owned())
                .collect(),
            is_chair: account.is_chair.then(|| "on".to_owned()),
            password: String::new(),
            version: account.version,
        }
    }

    /// Checks the name, roles and chair flag; returns the roles when all is well.
    fn validate_profile(&self, errors: &mut FieldErrors) -> Vec<Role> {
        let name = self.display_name.trim();
        if name.is_empty() {
            errors.add("display_name", "Enter the person's name.");
        } else if name.chars().count() > 120 {
            errors.add("display_name", "Use at most 120 characters.");
        }
        let mut roles = Vec::new();
        for name in &self.roles {
            match name.parse::<Role>() {
                Ok(role) if !roles.contains(&role) => roles.push(role),
                Ok(_) => {}
                Err(message) => errors.add("roles", message),
            }
        }
        roles.sort();
        if self.chair() && !roles.contains(&Role::Board) {
            errors.add("is_chair", "Only a board member can chair the board.");
        }
        roles
    }
}

fn account_json(account: &Account) -> serde_json::Value {
    serde_json::to_value(account).unwrap_or_default()
}

#[derive(Template, WebTemplate)]
#[template(path = "users/new.html")]
struct NewAccountPage {
    ctx: PageContext,
    form: AccountForm,
    errors: FieldErrors,
    all_roles: [Role; 4],
}

async fn new_account_page(ctx: PageContext, Admin(_admin): Admin) -> NewAccountPage {
    NewAccountPage {
        ctx,
        form: AccountForm::default(),
        errors: FieldErrors::new(),
        all_roles: Role::ALL,
    }
}

async fn create_account(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    Form(mut form): Form<AccountForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(&form.email);
    if !is_plausible_email(&email) {
        errors.add("email", "Enter an e-mail address such as name@example.org.");
    }
    let roles = form.validate_profile(&mut errors);
    if let Err(message) = password::check_policy(&form.password, &email, &form.display_name) {
        errors.add("password", message);
    }
    let rerender = |ctx, mut form: AccountForm, errors| {
        // A password is never sent back to the browser.
        form.password.clear();
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            NewAccountPage {
                ctx,
                form,
                errors,
                all_roles: Role::ALL,
            },
        )
            .into_response()
    };
    if !errors.is_empty() {
        return Ok(rerender(ctx, form, errors));
    }

    let account = NewAccount {
        email,
        display_name: form.display_name.trim().to_owned(),
        password_hash: password::hash(std::mem::take(&mut form.password)).await?,
        roles,
        is_chair: form.chair(),
    };
    let mut tx = state.pool.begin().await?;
    let id = match create_with_audit(
        &mut tx,
        &Actor::user(&admin),
        meta.request_id.as_deref(),
        &account,
    )
    .await
    {
        Ok(id) => id,
        Err(AccountError::EmailTaken) => {
            errors.add(
                "email",
                "An account with this e-mail address already exists.",
            );
            return Ok(rerender(ctx, form, errors));
        }
        Err(error) => return Err(account_error(error)),
    };
    commit_and_redirect(
        tx,
        &session,
        format!("The account for {} has been created.", account.email),
        &format!("/admin/users/{id}"),
    )
    .await
}

/// Creates an account and writes its audit event, in the caller's transaction. Used by
/// the admin pages, the command line and the demo data alike.
pub async fn create_with_audit(
    conn: &mut PgConnection,
    actor: &Actor,
    request_id: Option<&str>,
    account: &NewAccount,
) -> Result<i64, AccountError> {
    let id = repo::create(conn, account).await?;
    let created = repo::get(conn, id).await?.ok_or(sqlx::Error::RowNotFound)?;
    audit::record(
        conn,
        actor,
        request_id,
        audit::Entry::new("user.created", "user", Some(id.to_string()))
            .after(account_json(&created)),
    )
    .await?;
    Ok(id)
}

fn account_error(error: AccountError) -> AppError {
    match error {
        AccountError::Database(error) => AppError::Database(error),
        other => AppError::Internal(other.into()),
    }
}

/// A light check: the mail server has the last word, but obvious typos are caught here.
fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[derive(Template, WebTemplate)]
#[template(path = "users/edit.html")]
struct EditAccountPage {
    ctx: PageContext,
    account: Account,
    form: AccountForm,
    errors: FieldErrors,
    all_roles: [Role; 4],
    is_self: bool,
    stale: bool,
    /// Where the person is signed in (never a secret).
    sessions: Vec<SessionView>,
    second_factor: SecondFactorSummary,
}

async fn load_account(state: &AppState, id: i64) -> AppResult<Account> {
    let mut conn = state.pool.acquire().await?;
    repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)
}

/// The account, where it is signed in and whether it has a second factor, for its page.
async fn load_account_and_sessions(
    state: &AppState,
    id: i64,
) -> AppResult<(Account, Vec<SessionView>, SecondFactorSummary)> {
    let mut conn = state.pool.acquire().await?;
    let account = repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let sessions = session_views(&mut conn, id, None).await?;
    let second_factor = security::second_factor_summary(&mut conn, id).await?;
    Ok((account, sessions, second_factor))
}

async fn edit_account_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Admin(admin): Admin,
    Path(id): Path<i64>,
) -> AppResult<EditAccountPage> {
    let (account, sessions, second_factor) = load_account_and_sessions(&state, id).await?;
    Ok(EditAccountPage {
        ctx,
        form: AccountForm::from_account(&account),
        is_self: account.id == admin.id,
        account,
        errors: FieldErrors::new(),
        all_roles: Role::ALL,
        stale: false,
        sessions,
        second_factor,
    })
}

async fn update_account(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    SteppedUp(form): SteppedUp<AccountForm>,
) -> AppResult<Response> {
    let (before, sessions, second_factor) = load_account_and_sessions(&state, id).await?;
    let is_self = before.id == admin.id;
    let mut errors = FieldErrors::new();
    let roles = form.validate_profile(&mut errors);
    if is_self && !roles.contains(&Role::Admin) {
        errors.add(
            "roles",
            "You cannot remove your own administrator role; ask another administrator.",
        );
    }
    let rerender = |ctx, account, form, errors, stale| {
        (
            if stale {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            },
            EditAccountPage {
                ctx,
                account,
                form,
                errors,
                all_roles: Role::ALL,
                is_self,
                stale,
                sessions,
                second_factor,
            },
        )
            .into_response()
    };
    if !errors.is_empty() {
        return Ok(rerender(ctx, before, form, errors, false));
    }

    let mut tx = state.pool.begin().await?;
    let name = form.display_name.trim();
    match repo::update_profile(&mut tx, id, form.version, name, &roles, form.chair()).await {
        Ok(()) => {}
        Err(AccountError::Stale) => {
            // Show the account as it is now, with what this person typed kept.
            return Ok(rerender(ctx, before, form, errors, true));
        }
        Err(error) => return Err(account_error(error)),
    }
    let after = repo::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        &Actor::user(&admin),
        meta.request_id.as_deref(),
        audit::Entry::new("user.updated", "user", Some(id.to_string()))
            .before(account_json(&before))
            .after(account_json(&after)),
    )
    .await?;
    commit_and_redirect(
        tx,
        &session,
        "The account has been saved.",
        &format!("/admin/users/{id}"),
    )
    .await
}

#[derive(Deserialize)]
struct AccessForm {
    #[serde(default)]
    version: i32,
    /// `true` to let the person sign in again, `false` to deactivate the account.
    active: bool,
}

/// Deactivates or reactivates an account.
async fn set_access(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Form(form): Form<AccessForm>,
) -> AppResult<Response> {
    let active = form.active;
    let back = format!("/admin/users/{id}");
    let before = load_account(&state, id).await?;
    if before.id == admin.id && !active {
        let message = "You cannot deactivate your own account; ask another administrator.";
        return refuse_and_redirect(&session, message, &back).await;
    }
    let mut tx = state.pool.begin().await?;
    match repo::set_active(&mut tx, id, form.version, active).await {
        Ok(()) => {}
        Err(AccountError::Stale) => {
            let message = "Someone changed this account meanwhile, so nothing was done. Check \
                           it below and try again.";
            return refuse_and_redirect(&session, message, &back).await;
        }
        Err(error) => return Err(account_error(error)),
    }
    let after = repo::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        &Actor::user(&admin),
        meta.request_id.as_deref(),
        audit::Entry::new(
            if active {
                "user.reactivated"
            } else {
                "user.deactivated"
            },
            "user",
            Some(id.to_string()),
        )
        .before(account_json(&before))
        .after(account_json(&after)),
    )
    .await?;
    let message = if active {
        format!("{} can sign in again.", after.email)
    } else {
        format!(
            "{} is deactivated and has been signed out everywhere.",
            after.email
        )
    };
    commit_and_redirect(tx, &session, message, &back).await
}

#[derive(Deserialize)]
struct ResetPasswordForm {
    #[serde(default)]
    new_password: String,
}

async fn reset_password(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    Form(form): Form<ResetPasswordForm>,
) -> AppResult<Response> {
    let (account, sessions, second_factor) = load_account_and_sessions(&state, id).await?;
    if let Err(message) =
        password::check_policy(&form.new_password, &account.email, &account.display_name)
    {
        let mut errors = FieldErrors::new();
        errors.add("new_password", message);
        let page = EditAccountPage {
            ctx,
            form: AccountForm::from_account(&account),
            is_self: account.id == admin.id,
            account,
            errors,
            all_roles: Role::ALL,
            stale: false,
            sessions,
            second_factor,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let hash = password::hash(form.new_password).await?;
    let mut tx = state.pool.begin().await?;
    repo::set_password(&mut tx, id, &hash).await?;
    audit::record(
        &mut tx,
        &Actor::user(&admin),
        meta.request_id.as_deref(),
        audit::Entry::new("user.password_reset", "user", Some(id.to_string()))
            .after(json!({ "sessions_ended": true })),
    )
    .await?;
    let notice = Notice {
        user_id: id,
        email: &account.email,
        kind: NoticeKind::PasswordReset,
        detail: format!("by {}; every session was ended", admin.display_name),
    };
    notices::tell(&mut tx, &state.config, notice).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "The password of {} has been reset and their sessions ended. Give them the new \
             password through a separate channel.",
            account.email
        ),
        &format!("/admin/users/{id}"),
    )
    .await
}
