//! A policy's life after its text: asking the board to approve a version, publishing it,
//! reviews, retiring, links to risks, and exceptions the board grants for a limited time.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use time::{Date, Duration};

use super::model::Lifecycle;
use super::pages::refused_on_page;
use super::repo::{Policy, Version};
use super::{STALE_PAGE, locked, model, repo};
use crate::approvals::filing::{Filing, Heading};
use crate::approvals::model::{RequestKind, Rule};
use crate::approvals::subject::{self, PolicyPublication, Subject};
use crate::approvals::{self, notices};
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, ItManager, PageContext, RequestMeta, commit_and_redirect,
    refuse_and_redirect,
};

/// The small forms on a policy's page, as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RiskLinkForm {
    #[serde(default)]
    pub(super) risk_reference: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RetireForm {
    #[serde(default)]
    pub(super) reason: String,
    #[serde(default)]
    pub(super) version: i32,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ReviewForm {
    #[serde(default)]
    pub(super) note: String,
    #[serde(default)]
    pub(super) version: i32,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ExceptionForm {
    #[serde(default)]
    pub(super) scope: String,
    #[serde(default)]
    pub(super) justification: String,
    #[serde(default)]
    pub(super) compensating_controls: String,
    #[serde(default)]
    pub(super) starts_on: String,
    #[serde(default)]
    pub(super) expires_on: String,
}

/// The longest an exception may run: it is an exception, not a second policy.
pub(super) const MAX_EXCEPTION_DAYS: i64 = 366;

/// `POST /manage/policies/{id}/submit`: asks the board to approve the publication of the
/// newest draft, exactly as it is.
pub(super) async fn submit_for_review(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if policy.lifecycle() != Lifecycle::Draft {
        drop(tx);
        let message = format!(
            "Only a draft goes to the board; this policy is {}.",
            policy.lifecycle().label().to_lowercase()
        );
        return refuse_and_redirect(&session, message, &back).await;
    }
    let versions = repo::versions(&mut tx, id).await?;
    let Some(draft) = versions.first() else {
        return Err(AppError::NotFound);
    };
    let audit = Context::for_request(&user, &meta);
    let rule = state.config.rule(RequestKind::PolicyPublication);
    let filing = publication_filing(rule, &policy, draft, today());
    let filed = match approvals::filing::file(&mut tx, &filing, &user, today(), &audit).await {
        Ok(filed) => filed,
        Err(error) => return approvals::refused(&session, error, &back).await,
    };
    notices::request_opened(&mut tx, &state.config, filed.id).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} asks the board to approve version {} for publication.",
            filed.reference, draft.number
        ),
        &back,
    )
    .await
}

/// The request for the board to approve `version` of `policy` for publication. Used by
/// the policy page and the demo data.
pub fn publication_filing(rule: Rule, policy: &Policy, version: &Version, today: Date) -> Filing {
    let publication = PolicyPublication {
        policy_id: policy.id,
        policy_reference: policy.reference.clone(),
        policy_title: policy.title.clone(),
        version_id: version.id,
        version_number: version.number,
        version_hash: version.content_hash.clone(),
    };
    Filing {
        heading: Heading {
            title: format!(
                "Publish {} version {}: {}",
                policy.reference, version.number, version.title
            ),
            summary: version.change_note.clone(),
            due_date: today + Duration::days(14),
            hide_tally: false,
        },
        project_id: None,
        subject: Subject::PolicyPublication(publication),
        rule,
        submit: true,
    }
}

/// `POST /manage/policies/{id}/publish`: the approved version becomes the one everyone
/// reads; the previous one is superseded and the review clock restarts.
pub(super) async fn publish(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let today = today();
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if policy.lifecycle() != Lifecycle::Approved {
        drop(tx);
        let message = "Only a version the board approved is published.";
        return refuse_and_redirect(&session, message, &back).await;
    }
    let next_review_on = model::review_due(today, policy.review_interval_months);
    repo::publish(
        &mut tx,
        &policy,
        policy.latest_version_id,
        user.id,
        today,
        next_review_on,
    )
    .await?;
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.published", "policy", Some(policy.reference.clone()))
                .before(json!({ "published_version": policy.published_number }))
                .after(json!({ "published_version": policy.latest_number, "next_review_on": next_review_on })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "Version {} is published; next review by {next_review_on}.",
            policy.latest_number
        ),
        &back,
    )
    .await
}

/// `POST /manage/policies/{id}/reviewed`: the owner reviewed the published text and keeps
/// it; the next review falls due one interval from today.
pub(super) async fn record_review(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let today = today();
    let mut errors = FieldErrors::new();
    let note = form::bounded_text(&mut errors, "note", &form.note, 2_000);
    if !errors.is_empty() {
        return refused_on_page(&state, ctx, id, errors, |page| page.review_form = form).await;
    }
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if !policy.is_published() {
        drop(tx);
        return refuse_and_redirect(&session, "Only a published policy is reviewed.", &back).await;
    }
    let next_review_on = model::review_due(today, policy.review_interval_months);
    if !repo::record_review(&mut tx, id, form.version, today, next_review_on).await? {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add("note", STALE_PAGE);
        return refused_on_page(&state, ctx, id, errors, |page| page.review_form = form).await;
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.reviewed", "policy", Some(policy.reference.clone()))
                .before(json!({ "next_review_on": policy.next_review_on }))
                .after(json!({ "next_review_on": next_review_on, "note": note, "version_kept": policy.published_number })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("Review recorded; the next one is due by {next_review_on}."),
        &back,
    )
    .await
}

/// `POST /manage/policies/{id}/retire`
pub(super) async fn retire(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<RetireForm>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let mut errors = FieldErrors::new();
    let reason = form::required_text(&mut errors, "reason", &form.reason, 2_000);
    if !errors.is_empty() {
        return refused_on_page(&state, ctx, id, errors, |page| page.retire_form = form).await;
    }
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    let refusal = match policy.lifecycle() {
        Lifecycle::Retired => Some("The policy is already retired."),
        Lifecycle::InReview => {
            Some("A version is before the board: withdraw the request before retiring the policy.")
        }
        _ => None,
    };
    if let Some(message) = refusal {
        drop(tx);
        return refuse_and_redirect(&session, message, &back).await;
    }
    if !repo::retire(&mut tx, id, form.version, &reason).await? {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add("reason", STALE_PAGE);
        return refused_on_page(&state, ctx, id, errors, |page| page.retire_form = form).await;
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.retired", "policy", Some(policy.reference.clone()))
                .before(json!({ "lifecycle": policy.lifecycle }))
                .after(json!({ "reason": reason })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{} is retired.", policy.reference),
        &back,
    )
    .await
}

/// `POST /manage/policies/{id}/risks`: links a risk the policy mitigates.
pub(super) async fn link_risk(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<RiskLinkForm>,
) -> AppResult<Response> {
    let reference = form.risk_reference.trim().to_uppercase();
    let mut tx = state.pool.begin().await?;
    let policy = repo::get(&mut tx, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let linked = if reference.is_empty() {
        None
    } else {
        repo::link_risk(&mut tx, id, &reference, user.id).await?
    };
    if linked.is_none() {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add(
            "risk_reference",
            "Enter the reference of a risk in the register, like RSK-0001.",
        );
        return refused_on_page(&state, ctx, id, errors, |page| page.link_form = form).await;
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "policy.risk_linked",
                "policy",
                Some(policy.reference.clone()),
            )
            .after(json!({ "risk": reference })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} now lists {reference} among the risks it mitigates.",
            policy.reference
        ),
        &format!("/manage/policies/{id}"),
    )
    .await
}

/// `POST /manage/policies/{id}/risks/{risk}/unlink`
pub(super) async fn unlink_risk(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path((id, risk_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let mut tx = state.pool.begin().await?;
    let policy = repo::get(&mut tx, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(risk_reference) = repo::unlink_risk(&mut tx, id, risk_id).await? else {
        drop(tx);
        return refuse_and_redirect(&session, "That risk is not linked to this policy.", &back)
            .await;
    };
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "policy.risk_unlinked",
                "policy",
                Some(policy.reference.clone()),
            )
            .before(json!({ "risk": risk_reference })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{risk_reference} is no longer linked."),
        &back,
    )
    .await
}

impl ExceptionForm {
    /// The exception as asked (the policy's fields are filled in by [`exception_filing`]).
    fn validate(&self, today: Date) -> Result<subject::PolicyException, FieldErrors> {
        let mut errors = FieldErrors::new();
        let scope = form::required_text(&mut errors, "scope", &self.scope, 2_000);
        let justification =
            form::required_text(&mut errors, "justification", &self.justification, 10_000);
        let compensating_controls = form::bounded_text(
            &mut errors,
            "compensating_controls",
            &self.compensating_controls,
            10_000,
        );
        let starts_on = form::required_date(&mut errors, "starts_on", &self.starts_on);
        let expires_on = form::required_date(&mut errors, "expires_on", &self.expires_on);
        if let (Some(starts), Some(expires)) = (starts_on, expires_on) {
            if expires < starts {
                errors.add(
                    "expires_on",
                    "An exception ends on or after the day it starts.",
                );
            } else if expires < today {
                errors.add(
                    "expires_on",
                    "This date has passed: an exception must still run.",
                );
            } else if (expires - starts).whole_days() > MAX_EXCEPTION_DAYS {
                errors.add(
                    "expires_on",
                    "An exception runs for a year at most; ask again when it ends.",
                );
            }
        }
        errors.into_result()?;
        Ok(subject::PolicyException {
            policy_id: 0,
            policy_reference: String::new(),
            policy_title: String::new(),
            scope,
            justification,
            compensating_controls,
            starts_on: starts_on.unwrap_or(today),
            expires_on: expires_on.unwrap_or(today),
        })
    }
}

/// `POST /manage/policies/{id}/exceptions`: asks the board for a time-limited exception
/// to the published policy.
pub(super) async fn ask_exception(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ExceptionForm>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let today = today();
    let content = match form.validate(today) {
        Ok(content) => content,
        Err(errors) => {
            return refused_on_page(&state, ctx, id, errors, |page| page.exception_form = form)
                .await;
        }
    };
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if !policy.is_published() {
        drop(tx);
        let message = "Exceptions are to a published policy; this one is not in force.";
        return refuse_and_redirect(&session, message, &back).await;
    }
    let audit = Context::for_request(&user, &meta);
    let rule = state.config.rule(RequestKind::PolicyException);
    let filing = exception_filing(rule, &policy, content, today);
    let filed = match approvals::filing::file(&mut tx, &filing, &user, today, &audit).await {
        Ok(filed) => filed,
        Err(error) => return approvals::refused(&session, error, &back).await,
    };
    notices::request_opened(&mut tx, &state.config, filed.id).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} asks the board for an exception to {}.",
            filed.reference, policy.reference
        ),
        &back,
    )
    .await
}

/// The request for an exception to `policy`. Used by the policy page and the demo data.
pub fn exception_filing(
    rule: Rule,
    policy: &Policy,
    exception: subject::PolicyException,
    today: Date,
) -> Filing {
    let exception = subject::PolicyException {
        policy_id: policy.id,
        policy_reference: policy.reference.clone(),
        policy_title: policy.title.clone(),
        ..exception
    };
    Filing {
        heading: Heading {
            title: format!(
                "Exception to {} until {}",
                policy.reference, exception.expires_on
            ),
            summary: exception.scope.clone(),
            due_date: today + Duration::days(14),
            hide_tally: false,
        },
        project_id: None,
        subject: Subject::PolicyException(exception),
        rule,
        submit: true,
    }
}
