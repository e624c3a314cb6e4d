//! The board's side: the heat maps, risks above appetite, exceptions, overdue reviews and
//! actions, the movement since the quarter end, and the appetite per category.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;

use super::model::{HeatMap, IMPACT, LIKELIHOOD};
use super::repo::{Category, Risk, RiskOrder, RiskQuery};
use super::{model, repo};
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::session::Session;
use crate::web::{
    AppResult, AppState, BoardMember, PageContext, RequestMeta, commit_and_redirect,
    refuse_and_redirect,
};

/// One cell of a drawn heat map.
pub struct Cell {
    pub likelihood: i16,
    pub impact: i16,
    pub count: i64,
    pub band: &'static str,
}

/// A heat map laid out for the page: rows from likelihood 5 (top) to 1.
pub struct HeatMapView {
    pub title: &'static str,
    pub residual: bool,
    pub rows: Vec<(i16, &'static str, Vec<Cell>)>,
    pub total: i64,
}

impl HeatMapView {
    fn new(title: &'static str, residual: bool, map: &HeatMap) -> Self {
        let rows = (1..=5i16)
            .rev()
            .map(|l| {
                let cells = (1..=5i16)
                    .map(|i| Cell {
                        likelihood: l,
                        impact: i,
                        count: map.count(l, i),
                        band: model::band(model::score(l, i)),
                    })
                    .collect();
                (l, LIKELIHOOD[l as usize - 1].0, cells)
            })
            .collect();
        Self {
            title,
            residual,
            rows,
            total: map.total(),
        }
    }

    pub fn impact_names(&self) -> [&'static str; 5] {
        IMPACT.map(|(name, _)| name)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/board.html")]
pub(super) struct BoardRiskPage {
    pub(super) ctx: PageContext,
    pub(super) overview: Arc<RiskOverview>,
    /// A refused appetite form: its category and what was typed.
    pub(super) appetite_refused: Option<(i64, String)>,
    pub(super) errors: FieldErrors,
}

/// What the board's risk page shows of the register.
pub(super) struct RiskOverview {
    pub(super) quarter_end: time::Date,
    pub(super) movement: Vec<repo::Movement>,
    pub(super) maps: [HeatMapView; 2],
    pub(super) above: Vec<Risk>,
    /// Accepted above appetite without a valid board acceptance.
    pub(super) exceptions: Vec<Risk>,
    pub(super) overdue_reviews: Vec<Risk>,
    pub(super) overdue_actions: Vec<repo::Action>,
    pub(super) categories: Vec<Category>,
}

impl RiskOverview {
    async fn load(pool: &PgPool) -> AppResult<Self> {
        let today = today();
        let mut conn = pool.acquire().await?;
        let (inherent, residual) = repo::heat_maps(&mut conn).await?;
        let highest_first = |limit| RiskQuery {
            order: RiskOrder::Residual,
            ..RiskQuery::all(limit)
        };
        let above = RiskQuery {
            above_appetite: true,
            open_only: true,
            ..highest_first(25)
        };
        let exceptions = RiskQuery {
            unapproved_exception_on: Some(today),
            ..highest_first(50)
        };
        let overdue = RiskQuery {
            review_due_before: Some(today),
            ..highest_first(25)
        };
        let [above, exceptions, overdue_reviews] =
            repo::risk_lists(&mut conn, [&above, &exceptions, &overdue]).await?;
        let quarter_end = model::last_quarter_end(today);
        Ok(Self {
            exceptions,
            movement: repo::movement_since(&mut conn, quarter_end, 20).await?,
            overdue_actions: repo::actions_overdue(&mut conn, today, 25).await?,
            quarter_end,
            maps: [
                HeatMapView::new("Inherent", false, &inherent),
                HeatMapView::new("Residual", true, &residual),
            ],
            above,
            overdue_reviews,
            categories: repo::categories(&mut conn).await?,
        })
    }
}

/// `GET /board/risks`: heat maps, risks above appetite, overdue reviews, the appetite.
pub(super) async fn board_overview(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    BoardMember(_user): BoardMember,
) -> AppResult<BoardRiskPage> {
    BoardRiskPage::load(&state, ctx, &figures).await
}

impl BoardRiskPage {
    async fn load(state: &AppState, ctx: PageContext, figures: &PageFigures) -> AppResult<Self> {
        let key = FiguresKey::shared("board's risk overview");
        Ok(Self {
            ctx,
            overview: figures.load(key, RiskOverview::load(&state.pool)).await?,
            appetite_refused: None,
            errors: FieldErrors::new(),
        })
    }

    /// What an appetite field shows: what was just typed into it, or the appetite.
    fn appetite_value(&self, category: &Category) -> String {
        match &self.appetite_refused {
            Some((id, typed)) if *id == category.id => typed.clone(),
            _ => category.appetite.map(|a| a.to_string()).unwrap_or_default(),
        }
    }

    fn appetite_error(&self, category: &Category) -> Option<&str> {
        match &self.appetite_refused {
            Some((id, _)) if *id == category.id => self.errors.get("appetite"),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct AppetiteForm {
    #[serde(default)]
    pub(super) appetite: String,
    #[serde(default)]
    pub(super) version: i32,
}

/// `POST /board/risks/appetite/{id}`: the board sets a category's appetite (empty: none).
pub(super) async fn set_appetite(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
    Form(form): Form<AppetiteForm>,
) -> AppResult<Response> {
    // A refused form's page reads the records afresh.
    let figures = PageFigures::uncached(&state);
    let back = "/board/risks";
    let appetite = match form::optional(&form.appetite).map(|text| text.parse::<i16>()) {
        None => None,
        Some(Ok(value)) if (1..=25).contains(&value) => Some(value),
        Some(_) => {
            let mut page = BoardRiskPage::load(&state, ctx, &figures).await?;
            page.appetite_refused = Some((id, form.appetite));
            page.errors.add(
                "appetite",
                "The appetite is a residual score from 1 to 25 (likelihood × impact).",
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    if !repo::set_appetite(&mut tx, id, form.version, appetite, user.id).await? {
        drop(tx);
        return refuse_and_redirect(
            &session,
            "The appetite changed meanwhile; nothing was saved. Check it and set it again.",
            back,
        )
        .await;
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("risk.appetite_set", "risk_category", Some(id.to_string()))
                .after(json!({ "appetite": appetite })),
        )
        .await?;
    commit_and_redirect(tx, &session, "The appetite has been set.", back).await
}
