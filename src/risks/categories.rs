//! The list of risk categories IT managers keep.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::repo;
use super::repo::Category;
use crate::audit::{self, Context};
use crate::web::form::{self, FieldErrors, Form};
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, ItManager, PageContext, RequestMeta, commit_and_redirect,
};

#[derive(Template, WebTemplate)]
#[template(path = "risks/categories.html")]
pub(super) struct CategoriesPage {
    pub(super) ctx: PageContext,
    pub(super) categories: Vec<Category>,
    /// A refused form: the category (`None` for a new one) and what was typed.
    pub(super) refused: Option<(Option<i64>, String)>,
    pub(super) errors: FieldErrors,
}

impl CategoriesPage {
    async fn load(state: &AppState, ctx: PageContext) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        Ok(Self {
            ctx,
            categories: repo::categories(&mut conn).await?,
            refused: None,
            errors: FieldErrors::new(),
        })
    }

    /// What a name field shows: what was just typed into it, or the name.
    fn name_value(&self, category: Option<&Category>) -> String {
        match (&self.refused, category) {
            (Some((refused, typed)), _) if *refused == category.map(|c| c.id) => typed.clone(),
            (_, Some(category)) => category.name.clone(),
            _ => String::new(),
        }
    }

    fn name_error(&self, category: Option<&Category>) -> Option<&str> {
        match &self.refused {
            Some((refused, _)) if *refused == category.map(|c| c.id) => self.errors.get("name"),
            _ => None,
        }
    }

    fn refused(mut self, category: Option<i64>, typed: String, message: &str) -> Response {
        self.refused = Some((category, typed));
        self.errors.add("name", message.to_owned());
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }
}

/// `GET /manage/risks/categories`: the list the register's risks are filed under.
pub(super) async fn categories_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
) -> AppResult<CategoriesPage> {
    CategoriesPage::load(&state, ctx).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct CategoryForm {
    #[serde(default)]
    pub(super) name: String,
    #[serde(default)]
    pub(super) version: i32,
}

pub(super) const CATEGORY_TAKEN: &str = "A category already has this name.";

/// `POST /manage/risks/categories`
pub(super) async fn add_category(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let name = form::required_text(&mut errors, "name", &form.name, 80);
    if let Some(message) = errors.get("name") {
        let page = CategoriesPage::load(&state, ctx).await?;
        return Ok(page.refused(None, form.name, message));
    }
    let mut tx = state.pool.begin().await?;
    let Ok(id) = repo::add_category(&mut tx, &name).await? else {
        drop(tx);
        let page = CategoriesPage::load(&state, ctx).await?;
        return Ok(page.refused(None, form.name, CATEGORY_TAKEN));
    };
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("risk.category_added", "risk_category", Some(id.to_string()))
                .after(json!({ "name": name })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("Risks can now be filed under {name}; the board sets its appetite."),
        "/manage/risks/categories",
    )
    .await
}

/// `POST /manage/risks/categories/{id}`: renames a category (its risks follow).
pub(super) async fn rename_category(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    let page = CategoriesPage::load(&state, ctx).await?;
    let Some(before) = page.categories.iter().find(|c| c.id == id).cloned() else {
        return Err(AppError::NotFound);
    };
    let mut errors = FieldErrors::new();
    let name = form::required_text(&mut errors, "name", &form.name, 80);
    if let Some(message) = errors.get("name") {
        return Ok(page.refused(Some(id), form.name, message));
    }
    let mut tx = state.pool.begin().await?;
    match repo::rename_category(&mut tx, id, form.version, &name).await? {
        Ok(()) => {}
        Err(refusal) => {
            drop(tx);
            let message = match refusal {
                repo::CategoryRefusal::NameTaken => CATEGORY_TAKEN,
                repo::CategoryRefusal::Stale => {
                    "Someone changed this category meanwhile; it is shown as it is now."
                }
            };
            return Ok(page.refused(Some(id), form.name, message));
        }
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "risk.category_renamed",
                "risk_category",
                Some(id.to_string()),
            )
            .before(json!({ "name": before.name }))
            .after(json!({ "name": name })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{} is now called {name}.", before.name),
        "/manage/risks/categories",
    )
    .await
}
