//! Reading the register: the list with its filters and pages, a risk's page, the register
//! as it stood at a past date. The same pages serve management, the board and auditors.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::PgPool;

use super::model::{IMPACT, LIKELIHOOD, RiskStatus};
use super::repo::{Assessment, Category, Risk, RiskOrder, RiskQuery};
use super::treatment::{AcceptanceForm, ActionForm};
use super::{model, repo};
use crate::common::dates::today;
use crate::web::form::{self, FieldErrors};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::suggest::{self, SUGGESTIONS, SuggestQuery, Suggestions};
use crate::web::{AppError, AppResult, AppState, Area, ItManager, PageContext, Viewer};

pub(super) const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterQuery {
    pub(super) category: Option<String>,
    pub(super) status: Option<String>,
    pub(super) above: Option<String>,
    pub(super) q: Option<String>,
    pub(super) sort: Option<String>,
    /// A heat-map cell: `likelihood`, `impact` and `residual` (`true`/`false`).
    pub(super) l: Option<i16>,
    pub(super) i: Option<i16>,
    pub(super) residual: Option<bool>,
    pub(super) after: Option<String>,
    pub(super) after_ref: Option<String>,
}

impl RegisterQuery {
    fn to_query(&self) -> RiskQuery {
        let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
        RiskQuery {
            category_id: chosen(&self.category).and_then(|id| id.parse().ok()),
            status: chosen(&self.status).and_then(|status| status.parse::<RiskStatus>().ok()),
            above_appetite: self.above.as_deref() == Some("1"),
            cell: match (self.l, self.i) {
                (Some(l), Some(i)) if (1..=5).contains(&l) && (1..=5).contains(&i) => {
                    Some((l, i, self.residual.unwrap_or(true)))
                }
                _ => None,
            },
            text: chosen(&self.q),
            order: if self.sort.as_deref() == Some("residual") {
                RiskOrder::Residual
            } else {
                RiskOrder::Reference
            },
            after: self.after.clone().zip(self.after_ref.clone()),
            limit: fetch_limit(PAGE_SIZE),
            ..RiskQuery::default()
        }
    }

    fn without_position(&self) -> String {
        let cell = |value: Option<i16>| value.map(|v| v.to_string());
        filter_query(&[
            ("category", &self.category),
            ("status", &self.status),
            ("above", &self.above),
            ("q", &self.q),
            ("sort", &self.sort),
            ("l", &cell(self.l)),
            ("i", &cell(self.i)),
            ("residual", &self.residual.map(|r| r.to_string())),
        ])
    }

    fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "category" => &self.category,
            "status" => &self.status,
            "above" => &self.above,
            _ => &self.sort,
        };
        current.as_deref() == Some(value)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/list.html")]
pub(crate) struct RegisterPage {
    pub(super) ctx: PageContext,
    pub(super) query: RegisterQuery,
    pub(super) listing: Arc<RegisterListing>,
    pub(super) next_page: Option<String>,
    pub(super) area: Area,
    pub(super) today: time::Date,
}

/// A page of the register, and the categories its filter offers.
pub(crate) struct RegisterListing {
    pub(super) risks: Vec<Risk>,
    /// The sort key and reference the next page starts after.
    next: Option<(String, String)>,
    pub(super) categories: Vec<Category>,
}

impl RegisterPage {
    /// Where the register of this area lists (the board's `/board/risks` is its overview).
    fn list_path(&self) -> String {
        if self.area.is_board() {
            "/board/risks/register".to_owned()
        } else {
            format!("{}/risks", self.area)
        }
    }
}

pub(super) async fn register_page(
    state: &AppState,
    ctx: PageContext,
    figures: &PageFigures,
    query: RegisterQuery,
    area: Area,
) -> AppResult<RegisterPage> {
    let listed = query.to_query();
    let key = FiguresKey::shared("risk register").with(format_args!("{listed:?}"));
    let listing = figures
        .load(key, async {
            let mut conn = state.pool.acquire().await?;
            let rows = repo::find_risks(&mut conn, &listed).await?;
            let page = KeysetPage::from_rows(rows, PAGE_SIZE, |row| {
                (row.sort_key.clone(), row.risk.reference.clone())
            });
            Ok(RegisterListing {
                risks: page.items.into_iter().map(|row| row.risk).collect(),
                next: page.next,
                categories: repo::categories(&mut conn).await?,
            })
        })
        .await?;
    let next_page = listing.next.as_ref().map(|(key, reference)| {
        let mut next = form_urlencoded::Serializer::new(query.without_position());
        next.append_pair("after", key)
            .append_pair("after_ref", reference);
        next.finish()
    });
    Ok(RegisterPage {
        ctx,
        listing,
        next_page,
        query,
        area,
        today: today(),
    })
}

/// `GET {area}/risks` (the board's at `/board/risks/register`): the register, paged.
pub(super) async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    viewer: Viewer,
    Query(query): Query<RegisterQuery>,
) -> AppResult<RegisterPage> {
    register_page(&state, ctx, &figures, query, viewer.area).await
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/detail.html")]
pub(super) struct RiskPage {
    pub(super) ctx: PageContext,
    pub(super) risk: Risk,
    pub(super) record: Arc<RiskRecord>,
    /// The small forms on the page, as typed, and their messages.
    pub(super) action_form: ActionForm,
    pub(super) acceptance_form: AcceptanceForm,
    pub(super) errors: FieldErrors,
    pub(super) area: Area,
    pub(super) today: time::Date,
}

/// A risk and what is recorded about it.
pub(super) struct RiskRecord {
    pub(super) risk: Risk,
    pub(super) history: Vec<Assessment>,
    pub(super) actions: Vec<repo::Action>,
    /// The policies that mitigate it.
    pub(super) policies: Vec<crate::policies::repo::LinkedPolicy>,
    /// The controls that cover it.
    pub(super) controls: Vec<crate::compliance::repo::CoveringControl>,
    /// Whom a new action is for until said otherwise: the risk's owner.
    owner_email: String,
}

impl RiskRecord {
    async fn load(pool: &PgPool, id: i64) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        let risk = repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        Ok(Self {
            history: repo::history(&mut conn, id).await?,
            actions: repo::actions_of(&mut conn, id, 200).await?,
            policies: crate::policies::repo::policies_for_risk(&mut conn, id).await?,
            controls: crate::compliance::repo::controls_for_risk(&mut conn, id).await?,
            owner_email: crate::users::repo::email_of(&mut conn, risk.owner_id)
                .await?
                .unwrap_or_default(),
            risk,
        })
    }
}

impl RiskPage {
    fn likelihood_name(&self, level: &i16) -> &'static str {
        LIKELIHOOD
            .get(*level as usize - 1)
            .map(|l| l.0)
            .unwrap_or("")
    }

    fn impact_name(&self, level: &i16) -> &'static str {
        IMPACT.get(*level as usize - 1).map(|l| l.0).unwrap_or("")
    }
}

pub(super) async fn risk_page(
    state: &AppState,
    ctx: PageContext,
    figures: &PageFigures,
    id: i64,
    area: Area,
) -> AppResult<RiskPage> {
    let key = FiguresKey::shared("risk").with(id);
    let record = figures.load(key, RiskRecord::load(&state.pool, id)).await?;
    Ok(RiskPage {
        ctx,
        risk: record.risk.clone(),
        action_form: ActionForm {
            // An action is the risk owner's until said otherwise (only management adds).
            owner: if area.changes_records() {
                record.owner_email.clone()
            } else {
                String::new()
            },
            ..ActionForm::default()
        },
        record,
        acceptance_form: AcceptanceForm::default(),
        errors: FieldErrors::new(),
        area,
        today: today(),
    })
}

/// `GET {area}/risks/{id}`: a risk with its history, actions and policies.
pub(super) async fn detail(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<RiskPage> {
    risk_page(&state, ctx, &figures, id, viewer.area).await
}

#[derive(Deserialize)]
pub(super) struct AsOfQuery {
    pub(super) date: Option<String>,
    pub(super) after: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/as_of.html")]
pub(super) struct AsOfPage {
    pub(super) ctx: PageContext,
    pub(super) date: String,
    pub(super) risks: Vec<repo::PastRisk>,
    pub(super) next_after: Option<String>,
    pub(super) errors: FieldErrors,
    pub(super) area: Area,
}

/// The register as it stood at the end of a past day, from the rating history.
pub(super) async fn as_of_page(
    state: &AppState,
    ctx: PageContext,
    query: AsOfQuery,
    area: Area,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let typed = query
        .date
        .clone()
        .unwrap_or_else(|| model::last_quarter_end(today()).to_string());
    let day = form::required_date(&mut errors, "date", &typed);
    let mut risks = Vec::new();
    let mut next_after = None;
    if let Some(day) = day {
        let mut conn = state.pool.acquire().await?;
        let rows = repo::as_of(
            &mut conn,
            model::end_of_day(day),
            query.after.as_deref(),
            fetch_limit(PAGE_SIZE),
        )
        .await?;
        let page = KeysetPage::from_rows(rows, PAGE_SIZE, |risk| risk.reference.clone());
        risks = page.items;
        next_after = page.next;
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        AsOfPage {
            ctx,
            date: typed,
            risks,
            next_after,
            errors,
            area,
        },
    )
        .into_response())
}

/// `GET {area}/risks/as-of?date=`: the register as it stood at the end of a past day.
pub(super) async fn as_of(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Query(query): Query<AsOfQuery>,
) -> AppResult<Response> {
    as_of_page(&state, ctx, query, viewer.area).await
}

/// `GET /manage/suggest/risks?q=`: risks for a field naming one (linking a risk to a
/// policy): the risk with this reference, then those whose title has these words.
pub(super) async fn suggest(
    State(state): State<AppState>,
    ItManager(_user): ItManager,
    Query(query): Query<SuggestQuery>,
) -> AppResult<Suggestions> {
    let Some(text) = query.text() else {
        return Ok(suggest::answer(Vec::new()));
    };
    let mut conn = state.pool.acquire().await?;
    Ok(suggest::answer(
        repo::suggest(&mut conn, text, SUGGESTIONS).await?,
    ))
}
