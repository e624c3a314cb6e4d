//! Treating a risk: actions with owners and due dates, and asking the board to accept a
//! risk above its appetite.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::pages::{RiskPage, risk_page};
use super::repo;
use super::repo::Risk;
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::users::Role;
use crate::users::picker::PersonField;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::read_cache::PageFigures;
use crate::web::session::Session;
use crate::web::{
    AppResult, AppState, Area, ItManager, PageContext, RequestMeta, commit_and_redirect,
    refuse_and_redirect,
};

#[derive(Debug, Default, Deserialize)]
pub(super) struct ActionForm {
    #[serde(default)]
    pub(super) description: String,
    /// Who carries it out: an IT manager's email or name.
    #[serde(default)]
    pub(super) owner: String,
    #[serde(default)]
    pub(super) due_date: String,
}

/// `POST /manage/risks/{id}/actions`: a new action treating the risk.
pub(super) async fn add_action(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> AppResult<Response> {
    // A refused form's page reads the records afresh.
    let figures = PageFigures::uncached(&state);
    let page = risk_page(&state, ctx, &figures, id, Area::Manage).await?;
    let mut errors = FieldErrors::new();
    let description = form::required_text(&mut errors, "description", &form.description, 2_000);
    let owner = {
        let mut conn = state.pool.acquire().await?;
        PersonField::resolve(&mut conn, Role::ItManager, &form.owner).await?
    };
    let owner_id = owner.id(
        &mut errors,
        "owner",
        Role::ItManager,
        "Say who carries the action out.",
    );
    let due_date = form::required_date(&mut errors, "due_date", &form.due_date);
    let (Some(owner_id), Some(due_date), true) = (owner_id, due_date, errors.is_empty()) else {
        let page = RiskPage {
            action_form: form,
            errors,
            ..page
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = state.pool.begin().await?;
    repo::add_action(&mut tx, id, &description, owner_id, due_date).await?;
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "risk.action_added",
                "risk",
                Some(page.risk.reference.clone()),
            )
            .after(
                json!({ "description": description, "owner_id": owner_id, "due_date": due_date }),
            ),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The action has been added.",
        &format!("/manage/risks/{id}"),
    )
    .await
}

/// `POST /manage/risks/{id}/actions/{action}/done`
pub(super) async fn complete_action(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path((id, action)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let back = format!("/manage/risks/{id}");
    let mut tx = state.pool.begin().await?;
    if !repo::complete_action(&mut tx, id, action, user.id).await? {
        drop(tx);
        return refuse_and_redirect(
            &session,
            "Only whoever carries an open action out, or the risk's owner, can mark it done.",
            &back,
        )
        .await;
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("risk.action_done", "risk", Some(id.to_string()))
                .after(json!({ "action": action })),
        )
        .await?;
    commit_and_redirect(tx, &session, "The action is done.", &back).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AcceptanceForm {
    #[serde(default)]
    pub(super) justification: String,
    #[serde(default)]
    pub(super) expires_on: String,
}

/// `POST /manage/risks/{id}/acceptance`: asks the board to accept the risk above its
/// appetite, on its current rating, until a date. Opens a request for the board's votes.
pub(super) async fn ask_acceptance(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<AcceptanceForm>,
) -> AppResult<Response> {
    // A refused form's page reads the records afresh.
    let figures = PageFigures::uncached(&state);
    use crate::approvals::notices;
    let back = format!("/manage/risks/{id}");
    let page = risk_page(&state, ctx, &figures, id, Area::Manage).await?;
    let today = today();
    if !page.risk.is_unapproved_exception(today) {
        let message =
            "Only a risk accepted above its appetite without a valid board acceptance needs one.";
        return refuse_and_redirect(&session, message, &back).await;
    }
    let mut errors = FieldErrors::new();
    let justification =
        form::required_text(&mut errors, "justification", &form.justification, 10_000);
    let expires_on = form::required_date(&mut errors, "expires_on", &form.expires_on);
    if expires_on.is_some_and(|until| until <= today) {
        errors.add(
            "expires_on",
            "The acceptance must run until a date after today.",
        );
    }
    let Some(expires_on) = expires_on.filter(|_| errors.is_empty()) else {
        let page = RiskPage {
            acceptance_form: form,
            errors,
            ..page
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let risk = page.risk;
    let rule = state
        .config
        .rule(crate::approvals::model::RequestKind::RiskAcceptance);
    let audit = Context::for_request(&user, &meta);
    let mut tx = state.pool.begin().await?;
    let filing = acceptance_filing(rule, &risk, &justification, expires_on, today);
    let filed = match crate::approvals::filing::file(&mut tx, &filing, &user, today, &audit).await {
        Ok(filed) => filed,
        Err(error) => return crate::approvals::refused(&session, error, &back).await,
    };
    notices::request_opened(&mut tx, &state.config, filed.id).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} asks the board to accept {}.",
            filed.reference, risk.reference
        ),
        &back,
    )
    .await
}

/// The request for the board to accept `risk` above its appetite, on its current
/// rating, until `expires_on`. Used by the risk page and the demo data.
pub fn acceptance_filing(
    rule: crate::approvals::model::Rule,
    risk: &Risk,
    justification: &str,
    expires_on: time::Date,
    today: time::Date,
) -> crate::approvals::filing::Filing {
    use crate::approvals::filing::{Filing, Heading};
    use crate::approvals::subject::{RiskAcceptance, Subject};
    let acceptance = RiskAcceptance {
        risk_id: risk.id,
        risk_reference: risk.reference.clone(),
        risk_title: risk.title.clone(),
        residual_likelihood: risk.residual_likelihood,
        residual_impact: risk.residual_impact,
        appetite: risk.appetite.unwrap_or_default(),
        justification: justification.to_owned(),
        expires_on,
    };
    Filing {
        heading: Heading {
            title: format!(
                "Accept {} above appetite ({} against {})",
                risk.reference,
                risk.residual_score(),
                acceptance.appetite
            ),
            summary: String::new(),
            due_date: today + time::Duration::days(14),
            hide_tally: false,
        },
        // The first project it touches lists the request; the managers of every project
        // it touches are kept from voting by the conflicts rule.
        project_id: risk.project_ids.first().copied(),
        subject: Subject::RiskAcceptance(acceptance),
        rule,
        submit: true,
    }
}
