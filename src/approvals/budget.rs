//! The board's fiscal-year budget: the envelope it sets, what approved requests have
//! committed, what remains, by CapEx/OpEx and by objective.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::model::SpendType;
use super::repo::{self, CommittedLine};
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::common::format::format_minor;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::money::input_value;
use crate::web::session::Session;
use crate::web::{AppResult, AppState, BoardMember, PageContext, RequestMeta, commit_and_redirect};

/// One fiscal year on the page.
pub struct YearView {
    pub year: i32,
    pub envelope: i64,
    pub committed: i64,
    pub capex: i64,
    pub opex: i64,
    pub by_objective: Vec<(String, i64)>,
    /// What the envelope field shows (what was typed, after a refusal).
    pub envelope_typed: String,
    pub errors: FieldErrors,
}

impl YearView {
    pub fn remaining(&self) -> i64 {
        self.envelope - self.committed
    }

    pub fn remaining_text(&self) -> String {
        format_minor(self.remaining())
    }

    pub fn money(&self, cents: &i64) -> String {
        format_minor(*cents)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/budget.html")]
pub(super) struct BudgetPage {
    ctx: PageContext,
    years: Vec<YearView>,
}

/// A refused envelope form: its year, what was typed, and why.
struct Refused {
    year: i32,
    typed: String,
    errors: FieldErrors,
}

fn year_views(years: Vec<repo::FiscalYear>, lines: &[CommittedLine]) -> Vec<YearView> {
    let mut years = years;
    let this_year = today().year();
    if !years.iter().any(|year| year.year == this_year) {
        years.insert(
            0,
            repo::FiscalYear {
                year: this_year,
                envelope: 0,
                committed: 0,
            },
        );
    }
    years
        .into_iter()
        .map(|year| {
            let of_year = || {
                lines
                    .iter()
                    .filter(move |line| line.fiscal_year == year.year)
            };
            let spent = |kind: SpendType| {
                of_year()
                    .filter(|line| line.spend_type == kind.as_str())
                    .map(|line| line.amount)
                    .sum()
            };
            let mut by_objective: Vec<(String, i64)> = Vec::new();
            for line in of_year() {
                let label = format!("{} {}", line.objective_reference, line.objective_title);
                match by_objective.iter_mut().find(|(name, _)| *name == label) {
                    Some((_, amount)) => *amount += line.amount,
                    None => by_objective.push((label, line.amount)),
                }
            }
            YearView {
                year: year.year,
                envelope: year.envelope,
                committed: year.committed,
                capex: spent(SpendType::Capex),
                opex: spent(SpendType::Opex),
                by_objective,
                envelope_typed: input_value(year.envelope),
                errors: FieldErrors::new(),
            }
        })
        .collect()
}

async fn page(
    state: &AppState,
    ctx: PageContext,
    refused: Option<Refused>,
) -> AppResult<BudgetPage> {
    let mut conn = state.pool.acquire().await?;
    let years = repo::fiscal_years(&mut conn).await?;
    let lines = repo::committed_lines(&mut conn).await?;
    let mut years = year_views(years, &lines);
    if let Some(refused) = refused
        && let Some(year) = years.iter_mut().find(|year| year.year == refused.year)
    {
        year.envelope_typed = refused.typed;
        year.errors = refused.errors;
    }
    Ok(BudgetPage { ctx, years })
}

async fn envelope_refused(
    state: &AppState,
    ctx: PageContext,
    refused: Refused,
    status: StatusCode,
) -> AppResult<Response> {
    Ok((status, page(state, ctx, Some(refused)).await?).into_response())
}

/// `GET /board/budget`
pub(super) async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    BoardMember(_user): BoardMember,
) -> AppResult<BudgetPage> {
    page(&state, ctx, None).await
}

#[derive(Deserialize)]
pub(super) struct EnvelopeForm {
    #[serde(default)]
    envelope: String,
    /// The envelope the form was showing (optimistic concurrency).
    #[serde(default)]
    expected: i64,
}

/// `POST /board/budget/{year}`: the board sets a year's envelope.
pub(super) async fn set_envelope(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(year): Path<i32>,
    Form(form): Form<EnvelopeForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let envelope = form::required_money(&mut errors, "envelope", &form.envelope);
    if !(2000..=2100).contains(&year) {
        errors.add("envelope", "There is no such fiscal year.");
    }
    let Some(envelope) = envelope.filter(|_| errors.is_empty()) else {
        let refused = Refused {
            year,
            typed: form.envelope,
            errors,
        };
        return envelope_refused(&state, ctx, refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let mut tx = state.pool.begin().await?;
    if !repo::set_envelope(&mut tx, year, form.expected, envelope).await? {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add("envelope", "Someone changed this envelope meanwhile; the figures above are current. Save again to replace it with yours.");
        let refused = Refused {
            year,
            typed: form.envelope,
            errors,
        };
        return envelope_refused(&state, ctx, refused, StatusCode::CONFLICT).await;
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "fiscal_year.envelope_set",
                "fiscal_year",
                Some(year.to_string()),
            )
            .before(json!({ "envelope": form.expected }))
            .after(json!({ "envelope": envelope })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("The {year} envelope is now {}.", format_minor(envelope)),
        "/board/budget",
    )
    .await
}
