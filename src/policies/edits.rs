//! Writing policies: a new policy with its first draft, and every saved edit of the text
//! as a new draft version (a settings-only change keeps the text).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::model::{Lifecycle, PolicyCategory};
use super::repo::{Policy, PolicySettings, Version, VersionText};
use super::{locked, repo};
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::users::Role;
use crate::users::picker::PersonField;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, ItManager, PageContext, RequestMeta, commit_and_redirect,
};

/// The policy form, as typed: the text of a new version and the policy's settings.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PolicyForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) scope: String,
    #[serde(default)]
    pub(super) body: String,
    #[serde(default)]
    pub(super) change_note: String,
    #[serde(default)]
    pub(super) category: String,
    /// Who owns it: an IT manager's email or name.
    #[serde(default)]
    pub(super) owner: String,
    #[serde(default)]
    pub(super) review_interval_months: String,
    /// The policy's version when the form was opened (optimistic concurrency).
    #[serde(default)]
    pub(super) version: i32,
}

impl PolicyForm {
    fn from_policy(policy: &Policy, latest: &Version, owner_email: String) -> Self {
        Self {
            title: latest.title.clone(),
            scope: latest.scope.clone(),
            body: latest.body.clone(),
            change_note: String::new(),
            category: policy.category.as_str().to_owned(),
            owner: owner_email,
            review_interval_months: policy.review_interval_months.to_string(),
            version: policy.version,
        }
    }

    fn validate(&self, owner: &PersonField) -> Result<(PolicySettings, VersionText), FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = form::required_text(&mut errors, "title", &self.title, 200);
        let scope = form::required_text(&mut errors, "scope", &self.scope, 2_000);
        let body = form::required_text(&mut errors, "body", &self.body, 200_000);
        let change_note = form::bounded_text(&mut errors, "change_note", &self.change_note, 2_000);
        let category =
            form::required_choice::<PolicyCategory>(&mut errors, "category", &self.category);
        let owner_id = owner.id(
            &mut errors,
            "owner",
            Role::ItManager,
            "Say who owns the policy.",
        );
        let interval = self
            .review_interval_months
            .trim()
            .parse::<i16>()
            .ok()
            .filter(|m| (1..=60).contains(m));
        if interval.is_none() {
            errors.add(
                "review_interval_months",
                "Enter a number of months from 1 to 60.",
            );
        }
        errors.into_result()?;
        Ok((
            PolicySettings {
                owner_id: owner_id.unwrap_or_default(),
                category: category.unwrap_or(PolicyCategory::InformationSecurity),
                review_interval_months: interval.unwrap_or(12),
            },
            VersionText {
                title,
                scope,
                body,
                change_note,
            },
        ))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/form.html")]
pub(super) struct PolicyFormPage {
    pub(super) ctx: PageContext,
    pub(super) policy: Option<Policy>,
    pub(super) form: PolicyForm,
    pub(super) errors: FieldErrors,
    /// Who the owner field names.
    pub(super) owner: PersonField,
    /// Why the change was not saved, when it is not about one field.
    pub(super) refusal: Option<String>,
}

impl PolicyFormPage {
    /// The form's page, loaded on the handler's own connection (or open transaction).
    async fn new(
        conn: &mut PgConnection,
        ctx: PageContext,
        policy: Option<Policy>,
        form: PolicyForm,
    ) -> AppResult<Self> {
        let owner = PersonField::resolve(conn, Role::ItManager, &form.owner).await?;
        Ok(Self {
            ctx,
            policy,
            form,
            errors: FieldErrors::new(),
            owner,
            refusal: None,
        })
    }

    fn refused(self, status: StatusCode, errors: FieldErrors, refusal: Option<String>) -> Response {
        (
            status,
            Self {
                errors,
                refusal,
                ..self
            },
        )
            .into_response()
    }

    fn categories(&self) -> &'static [PolicyCategory] {
        PolicyCategory::ALL
    }
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
) -> AppResult<PolicyFormPage> {
    let form = PolicyForm {
        owner: user.email.clone(),
        review_interval_months: "12".to_owned(),
        ..PolicyForm::default()
    };
    let mut conn = state.pool.acquire().await?;
    PolicyFormPage::new(&mut conn, ctx, None, form).await
}

/// `POST /manage/policies`: a new policy with its first draft.
pub(super) async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<PolicyForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let page = PolicyFormPage::new(&mut tx, ctx, None, form).await?;
    let (settings, text) = match page.form.validate(&page.owner) {
        Ok(valid) => valid,
        Err(errors) => return Ok(page.refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None)),
    };
    let (id, reference) = repo::create(&mut tx, &settings, &text, user.id).await?;
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.created", "policy", Some(reference.clone()))
                .after(json!({ "settings": settings, "version": 1, "text": text, "content_hash": text.hash() })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{reference} is saved as draft version 1."),
        &format!("/manage/policies/{id}"),
    )
    .await
}

pub(super) async fn edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<PolicyFormPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = repo::get(&mut conn, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = repo::versions(&mut conn, id).await?;
    let latest = versions.first().ok_or(AppError::NotFound)?;
    let owner_email = crate::users::repo::email_of(&mut conn, policy.owner_id)
        .await?
        .unwrap_or_default();
    let form = PolicyForm::from_policy(&policy, latest, owner_email);
    let mut page = PolicyFormPage::new(&mut conn, ctx, Some(policy), form).await?;
    page.refusal = edit_refusal(page.policy.as_ref());
    Ok(page)
}

/// Why the text of `policy` cannot take a new version now, if it cannot.
pub(super) fn edit_refusal(policy: Option<&Policy>) -> Option<String> {
    let policy = policy?;
    match policy.lifecycle() {
        Lifecycle::InReview => Some(format!(
            "Version {} is before the board: its text stays as the board reads it. Withdraw the request to change it; the owner, category and review interval can still be changed.",
            policy.latest_number
        )),
        Lifecycle::Approved => Some(format!(
            "Version {} is approved and waits to be published: publish it, then write the next version. The owner, category and review interval can still be changed.",
            policy.latest_number
        )),
        Lifecycle::Retired => Some("The policy is retired: it takes no new version.".to_owned()),
        Lifecycle::Draft | Lifecycle::Published => None,
    }
}

/// `POST /manage/policies/{id}/edit`: a new draft version when the text changed; the
/// settings alone when only they did.
pub(super) async fn save_edit(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<PolicyForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    let latest = repo::versions(&mut tx, id)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    let page = PolicyFormPage::new(&mut tx, ctx, Some(policy.clone()), form).await?;
    let (settings, text) = match page.form.validate(&page.owner) {
        Ok(valid) => valid,
        Err(errors) => return Ok(page.refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None)),
    };
    if page.form.version != policy.version {
        let mut page = page;
        page.form.version = policy.version;
        let message = "Someone changed this policy while you were editing it. Your text is kept below: compare it with the latest version and save again.".to_owned();
        return Ok(page.refused(StatusCode::CONFLICT, FieldErrors::new(), Some(message)));
    }
    let text_changed = text.hash() != latest.content_hash;
    let settings_changed = settings.owner_id != policy.owner_id
        || settings.category != policy.category
        || settings.review_interval_months != policy.review_interval_months;
    let back = format!("/manage/policies/{id}");
    let audit = Context::for_request(&user, &meta);
    if text_changed {
        if let Some(refusal) = edit_refusal(Some(&policy)) {
            return Ok(page.refused(StatusCode::CONFLICT, FieldErrors::new(), Some(refusal)));
        }
        let Some(number) =
            repo::add_version(&mut tx, &policy, policy.version, &settings, &text, user.id).await?
        else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the policy changed while locked"
            )));
        };
        audit
            .record(
                &mut tx,
                audit::Entry::new("policy.version_written", "policy", Some(policy.reference.clone()))
                    .before(json!({ "version": latest.number, "content_hash": latest.content_hash }))
                    .after(json!({ "settings": settings, "version": number, "text": text, "content_hash": text.hash() })),
            )
            .await?;
        return commit_and_redirect(
            tx,
            &session,
            format!("Saved as draft version {number}."),
            &back,
        )
        .await;
    }
    if !settings_changed {
        let mut errors = FieldErrors::new();
        errors.add(
            "body",
            format!("Nothing changed since version {}.", latest.number),
        );
        return Ok(page.refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None));
    }
    if !repo::update_settings(&mut tx, id, policy.version, &latest.title, &settings).await? {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the policy changed while locked"
        )));
    }
    audit
        .record(
            &mut tx,
            audit::Entry::new("policy.settings_changed", "policy", Some(policy.reference.clone()))
                .before(json!({ "owner_id": policy.owner_id, "category": policy.category, "review_interval_months": policy.review_interval_months }))
                .after(json!(settings)),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The policy's settings are saved; its text is unchanged.",
        &back,
    )
    .await
}
