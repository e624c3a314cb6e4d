//! Compliance: the framework catalogues (COBIT 2019, ISO/IEC 27001:2022 Annex A, NIST CSF
//! 2.0, and frameworks an administrator imports), the organisation's controls mapped to
//! their requirements, control tests, evidence, coverage per framework and the ISO 27001
//! Statement of Applicability. IT managers keep the controls under `/manage/controls`; the
//! board, IT managers and auditors read coverage under `/compliance`.

pub mod evidence;
pub mod import;
pub mod model;
pub mod repo;

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::users::Role;
use crate::users::picker::PersonField;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::references::{ReferencesField, Register, references_of};
use crate::web::route_list::Routes;
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, Auditor, ComplianceReader, ItManager, PageContext, RequestMeta,
    commit_and_redirect, upload,
};
use model::{Frequency, Implementation, TestResult};
use repo::{Control, ControlFields, ControlQuery, CoverageRow, CoverageSummary, Framework};

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/controls", get(control_list).post(create))
        .route("/controls/new", get(new_page))
        .route("/controls/{id}", get(control_page))
        .route("/controls/{id}/edit", get(edit_page).post(update))
        .route("/controls/{id}/tests", post(record_test))
        .route(
            "/controls/{id}/evidence",
            post(evidence::upload).layer(upload::body_limit()),
        )
        .route("/applicability/{requirement}", post(set_applicability))
}

/// Routes under `/admin` (the router requires the `admin` role).
pub fn admin_routes() -> Routes {
    Routes::new().route(
        "/frameworks",
        get(import::import_page)
            .post(import::import)
            .layer(upload::body_limit()),
    )
}

/// Routes under `/audit` (the router requires the `auditor` role): the controls and their
/// evidence, read only.
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/controls", get(audit_control_list))
        .route("/controls/{id}", get(audit_control))
}

/// Routes for the board, IT managers and auditors (each handler takes
/// `ComplianceReader`).
pub fn reader_routes() -> Routes {
    Routes::new()
        .route("/compliance", get(overview))
        .route("/compliance/frameworks/{code}", get(framework_page))
        .route("/compliance/soa", get(soa_page))
        .route("/compliance/controls", get(read_control_list))
        .route("/compliance/controls/{id}", get(read_control))
        .route("/compliance/evidence/{id}", get(evidence::download))
}

const PAGE_SIZE: usize = 50;

#[derive(Template, WebTemplate)]
#[template(path = "compliance/overview.html")]
struct OverviewPage {
    ctx: PageContext,
    frameworks: Arc<Vec<(Framework, CoverageSummary)>>,
    can_manage: bool,
}

/// `GET /compliance`: every framework with its coverage.
async fn overview(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    ComplianceReader(user): ComplianceReader,
) -> AppResult<OverviewPage> {
    let frameworks = figures
        .load(FiguresKey::shared("compliance coverage"), async {
            let mut conn = state.pool.acquire().await?;
            let mut summaries = repo::summaries_now(&mut conn).await?;
            Ok(repo::frameworks(&mut conn)
                .await?
                .into_iter()
                .map(|framework| {
                    let summary = summaries.remove(&framework.id).unwrap_or_default();
                    (framework, summary)
                })
                .collect())
        })
        .await?;
    Ok(OverviewPage {
        ctx,
        frameworks,
        can_manage: user.has_role(Role::ItManager),
    })
}

#[derive(Debug, Default, Deserialize)]
struct AsOfQuery {
    /// A past date: the report as it stood at the end of that day.
    date: Option<String>,
    /// Only the gaps.
    gaps: Option<String>,
}

impl AsOfQuery {
    /// The end of the chosen day (UTC), or now; a malformed date is a field error.
    fn moment(&self, errors: &mut FieldErrors) -> (Option<Date>, OffsetDateTime) {
        let date = self
            .date
            .as_deref()
            .and_then(|text| form::optional_date(errors, "date", text));
        let moment = date
            .and_then(|day| day.next_day())
            .map(|next| next.midnight().assume_utc())
            .unwrap_or_else(OffsetDateTime::now_utc);
        (date, moment)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/framework.html")]
struct FrameworkPage {
    ctx: PageContext,
    framework: Framework,
    rows: Vec<CoverageRow>,
    summary: CoverageSummary,
    as_of: Option<Date>,
    gaps_only: bool,
    errors: FieldErrors,
}

/// `GET /compliance/frameworks/{code}`: each requirement with the controls behind it and
/// where it stands; the gaps; as of a past date if asked.
async fn framework_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ComplianceReader(_user): ComplianceReader,
    Path(code): Path<String>,
    Query(query): Query<AsOfQuery>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let framework = repo::framework(&mut conn, &code)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut errors = FieldErrors::new();
    let (as_of, moment) = query.moment(&mut errors);
    let rows = repo::coverage(&mut conn, framework.id, moment).await?;
    let summary = CoverageSummary::of(&rows);
    let gaps_only = query.gaps.as_deref() == Some("1");
    let rows = if gaps_only {
        rows.into_iter().filter(|r| r.coverage().is_gap()).collect()
    } else {
        rows
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = FrameworkPage {
        ctx,
        framework,
        rows,
        summary,
        as_of,
        gaps_only,
        errors,
    };
    Ok((status, page).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/soa.html")]
struct SoaPage {
    ctx: PageContext,
    soa: Arc<Statement>,
    can_decide: bool,
    /// A refused applicability form: the requirement, what was typed and why.
    refused: Option<(i64, ApplicabilityForm)>,
    errors: FieldErrors,
}

/// The Statement of Applicability as it stands: each requirement of the framework that has
/// one, with its coverage.
struct Statement {
    framework: Framework,
    rows: Vec<CoverageRow>,
    summary: CoverageSummary,
}

impl Statement {
    async fn load(pool: &PgPool) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        let framework = repo::frameworks(&mut conn)
            .await?
            .into_iter()
            .find(|f| f.has_statement_of_applicability)
            .ok_or(AppError::NotFound)?;
        let rows = repo::coverage(&mut conn, framework.id, OffsetDateTime::now_utc()).await?;
        Ok(Self {
            summary: CoverageSummary::of(&rows),
            framework,
            rows,
        })
    }
}

impl SoaPage {
    async fn load(
        state: &AppState,
        ctx: PageContext,
        figures: &PageFigures,
        can_decide: bool,
    ) -> AppResult<Self> {
        let key = FiguresKey::shared("statement of applicability");
        Ok(Self {
            ctx,
            soa: figures.load(key, Statement::load(&state.pool)).await?,
            can_decide,
            refused: None,
            errors: FieldErrors::new(),
        })
    }

    /// The justification a row's form shows: what was just typed, or the recorded one.
    fn justification_value(&self, row: &CoverageRow) -> String {
        match &self.refused {
            Some((id, form)) if *id == row.requirement_id => form.justification.clone(),
            _ => row.justification.clone().unwrap_or_default(),
        }
    }

    fn justification_error(&self, row: &CoverageRow) -> Option<&str> {
        match &self.refused {
            Some((id, _)) if *id == row.requirement_id => self.errors.get("justification"),
            _ => None,
        }
    }
}

/// `GET /compliance/soa`: the ISO 27001 Statement of Applicability.
async fn soa_page(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    ComplianceReader(user): ComplianceReader,
) -> AppResult<SoaPage> {
    SoaPage::load(&state, ctx, &figures, user.has_role(Role::ItManager)).await
}

#[derive(Debug, Default, Clone, Deserialize)]
struct ApplicabilityForm {
    #[serde(default)]
    applicable: String,
    #[serde(default)]
    justification: String,
    /// The decision's version when the form was opened; empty for a first decision.
    #[serde(default)]
    version: String,
}

/// `POST /manage/applicability/{requirement}`: whether an ISO requirement applies, and why.
async fn set_applicability(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(requirement): Path<i64>,
    Form(form): Form<ApplicabilityForm>,
) -> AppResult<Response> {
    // A refused form's page reads the records afresh.
    let figures = PageFigures::uncached(&state);
    let page = SoaPage::load(&state, ctx, &figures, true).await?;
    let Some(row) = page
        .soa
        .rows
        .iter()
        .find(|r| r.requirement_id == requirement)
        .cloned()
    else {
        return Err(AppError::NotFound);
    };
    let mut errors = FieldErrors::new();
    let justification =
        form::required_text(&mut errors, "justification", &form.justification, 2_000);
    let applicable = match form.applicable.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            errors.add("justification", "Say whether it applies.");
            false
        }
    };
    let expected = form.version.trim().parse::<i32>().ok();
    let refuse = |errors: FieldErrors, form: ApplicabilityForm| {
        let page = SoaPage {
            refused: Some((requirement, form)),
            errors,
            ..page
        };
        Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    if !errors.is_empty() {
        return refuse(errors, form);
    }
    let mut tx = state.pool.begin().await?;
    if !repo::set_applicability(
        &mut tx,
        requirement,
        expected,
        applicable,
        &justification,
        user.id,
    )
    .await?
    {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add(
            "justification",
            "Someone decided this meanwhile; their decision is shown. Your text is kept.",
        );
        return refuse(errors, form);
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("soa.decided", "requirement", Some(row.identifier.clone()))
                .before(json!({ "applicable": row.applicable, "justification": row.justification }))
                .after(json!({ "applicable": applicable, "justification": justification })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} is recorded as {}.",
            row.identifier,
            if applicable {
                "applicable"
            } else {
                "not applicable"
            }
        ),
        &format!("/compliance/soa#req-{requirement}"),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    implementation: Option<String>,
    q: Option<String>,
    after: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/controls.html")]
struct ControlListPage {
    ctx: PageContext,
    controls: Vec<Control>,
    query: ListQuery,
    filters: String,
    next_page: Option<String>,
    /// Where the list and its controls are: `/manage/controls` (to edit) or
    /// `/compliance/controls` (to read).
    base: &'static str,
}

impl ControlListPage {
    fn implementations(&self) -> &'static [Implementation] {
        Implementation::ALL
    }

    fn is_chosen(&self, implementation: &Implementation) -> bool {
        self.query.implementation.as_deref() == Some(implementation.as_str())
    }
}

/// `GET /manage/controls`
async fn control_list(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
    Query(query): Query<ListQuery>,
) -> AppResult<ControlListPage> {
    list_controls(&state, ctx, query, "/manage/controls").await
}

/// `GET /compliance/controls`: the same list, read only.
async fn read_control_list(
    State(state): State<AppState>,
    ctx: PageContext,
    ComplianceReader(_user): ComplianceReader,
    Query(query): Query<ListQuery>,
) -> AppResult<ControlListPage> {
    list_controls(&state, ctx, query, "/compliance/controls").await
}

/// `GET /audit/controls`
async fn audit_control_list(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(_user): Auditor,
    Query(query): Query<ListQuery>,
) -> AppResult<ControlListPage> {
    list_controls(&state, ctx, query, "/audit/controls").await
}

/// `GET /audit/controls/{id}`
async fn audit_control(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(_user): Auditor,
    Path(id): Path<i64>,
) -> AppResult<ControlPage> {
    load_control_page(&state, ctx, id, false).await
}

async fn list_controls(
    state: &AppState,
    ctx: PageContext,
    query: ListQuery,
    base: &'static str,
) -> AppResult<ControlListPage> {
    let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
    let listed = ControlQuery {
        implementation: chosen(&query.implementation)
            .filter(|i| i.parse::<Implementation>().is_ok()),
        text: chosen(&query.q),
        after: chosen(&query.after),
        limit: fetch_limit(PAGE_SIZE),
    };
    let mut conn = state.pool.acquire().await?;
    let rows = repo::find_controls(&mut conn, &listed, today()).await?;
    let page = KeysetPage::from_rows(rows, PAGE_SIZE, |control| control.reference.clone());
    let filters = filter_query(&[("implementation", &query.implementation), ("q", &query.q)]);
    let next_page = page.next.map(|after| {
        let mut next = form_urlencoded::Serializer::new(filters.clone());
        next.append_pair("after", &after);
        next.finish()
    });
    Ok(ControlListPage {
        ctx,
        controls: page.items,
        query,
        filters,
        next_page,
        base,
    })
}

/// The control form, as typed.
#[derive(Debug, Default, Deserialize)]
struct ControlForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    /// Who owns it: an IT manager's email or name.
    #[serde(default)]
    owner: String,
    #[serde(default)]
    frequency: String,
    #[serde(default)]
    implementation: String,
    #[serde(default)]
    na_justification: String,
    #[serde(default)]
    requirement_ids: Vec<String>,
    /// The policies that mandate it and the risks it treats, by reference.
    #[serde(default)]
    policies: String,
    #[serde(default)]
    risks: String,
    #[serde(default)]
    version: i32,
}

/// What the control form offers.
struct Choices {
    owner: PersonField,
    requirements: Vec<repo::RequirementOption>,
    policies: ReferencesField,
    risks: ReferencesField,
}

/// Ids chosen in a multiple select (the framework requirements: a catalogue, listed),
/// each one of `allowed`; anything else is an error.
fn chosen_ids(
    errors: &mut FieldErrors,
    field: &'static str,
    texts: &[String],
    allowed: impl Fn(i64) -> bool,
) -> Vec<i64> {
    let mut ids = Vec::new();
    for text in texts.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        match text.parse::<i64>().ok().filter(|id| allowed(*id)) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => errors.add(field, "Choose from the list only."),
        }
    }
    ids
}

impl ControlForm {
    /// The form of `control` as it is, with the references of its policies and risks.
    fn from_control(
        control: &Control,
        owner_email: String,
        (policies, risks): (String, String),
    ) -> Self {
        let texts = |ids: &[i64]| ids.iter().map(i64::to_string).collect();
        Self {
            title: control.title.clone(),
            description: control.description.clone(),
            owner: owner_email,
            frequency: control.frequency.as_str().to_owned(),
            implementation: control.implementation.as_str().to_owned(),
            na_justification: control.na_justification.clone(),
            requirement_ids: texts(&control.requirement_ids),
            policies,
            risks,
            version: control.version,
        }
    }

    fn validate(&self, choices: &Choices) -> Result<ControlFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = form::required_text(&mut errors, "title", &self.title, 200);
        let description = form::bounded_text(&mut errors, "description", &self.description, 10_000);
        let owner_id = choices.owner.id(
            &mut errors,
            "owner",
            Role::ItManager,
            "Say who owns the control.",
        );
        let frequency =
            form::required_choice::<Frequency>(&mut errors, "frequency", &self.frequency);
        let implementation = form::required_choice::<Implementation>(
            &mut errors,
            "implementation",
            &self.implementation,
        );
        let na_justification = form::bounded_text(
            &mut errors,
            "na_justification",
            &self.na_justification,
            2_000,
        );
        if implementation == Some(Implementation::NotApplicable) && na_justification.is_empty() {
            errors.add("na_justification", "Say why the control does not apply.");
        }
        let requirement_ids = chosen_ids(
            &mut errors,
            "requirement_ids",
            &self.requirement_ids,
            |id| choices.requirements.iter().any(|r| r.id == id),
        );
        let policy_ids = choices
            .policies
            .ids(&mut errors, "policies", Register::Policies);
        let risk_ids = choices.risks.ids(&mut errors, "risks", Register::Risks);
        errors.into_result()?;
        Ok(ControlFields {
            title,
            description,
            owner_id: owner_id.unwrap_or_default(),
            frequency: frequency.unwrap_or(Frequency::Annual),
            implementation: implementation.unwrap_or(Implementation::NotStarted),
            na_justification: if implementation == Some(Implementation::NotApplicable) {
                na_justification
            } else {
                String::new()
            },
            requirement_ids,
            policy_ids,
            risk_ids,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/control_form.html")]
struct ControlFormPage {
    ctx: PageContext,
    control: Option<Control>,
    form: ControlForm,
    choices: Choices,
    errors: FieldErrors,
    stale: bool,
}

impl ControlFormPage {
    async fn new(
        state: &AppState,
        ctx: PageContext,
        control: Option<Control>,
        form: ControlForm,
    ) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        let choices = Choices {
            owner: PersonField::resolve(&mut conn, Role::ItManager, &form.owner).await?,
            requirements: repo::requirement_options(&mut conn).await?,
            policies: ReferencesField::resolve(&mut conn, Register::Policies, &form.policies)
                .await?,
            risks: ReferencesField::resolve(&mut conn, Register::Risks, &form.risks).await?,
        };
        Ok(Self {
            ctx,
            control,
            form,
            choices,
            errors: FieldErrors::new(),
            stale: false,
        })
    }

    fn refused(self, errors: FieldErrors) -> Response {
        (form::refusal_status(self.stale), Self { errors, ..self }).into_response()
    }

    /// The form again with what was typed, saying the record changed meanwhile; it now
    /// carries `current_version`, so saving again applies it over what is there.
    fn stale(mut self, current_version: i32) -> Response {
        self.stale = true;
        self.form.version = current_version;
        self.refused(FieldErrors::new())
    }

    fn frequencies(&self) -> &'static [Frequency] {
        Frequency::ALL
    }

    fn implementations(&self) -> &'static [Implementation] {
        Implementation::ALL
    }

    fn has_requirement(&self, id: &i64) -> bool {
        self.form.requirement_ids.contains(&id.to_string())
    }

    /// The requirement options grouped by framework, in catalogue order.
    fn requirement_groups(&self) -> Vec<(&str, Vec<&repo::RequirementOption>)> {
        let mut groups: Vec<(&str, Vec<&repo::RequirementOption>)> = Vec::new();
        for option in &self.choices.requirements {
            match groups.last_mut() {
                Some((name, options)) if *name == option.framework_name => options.push(option),
                _ => groups.push((&option.framework_name, vec![option])),
            }
        }
        groups
    }
}

async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
) -> AppResult<ControlFormPage> {
    let form = ControlForm {
        owner: user.email.clone(),
        frequency: Frequency::Quarterly.as_str().to_owned(),
        implementation: Implementation::NotStarted.as_str().to_owned(),
        ..ControlForm::default()
    };
    ControlFormPage::new(&state, ctx, None, form).await
}

/// `POST /manage/controls`
async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<ControlForm>,
) -> AppResult<Response> {
    let page = ControlFormPage::new(&state, ctx, None, form).await?;
    let fields = match page.form.validate(&page.choices) {
        Ok(fields) => fields,
        Err(errors) => return Ok(page.refused(errors)),
    };
    let mut tx = state.pool.begin().await?;
    let (id, reference) = repo::create(&mut tx, &fields, user.id).await?;
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("control.created", "control", Some(reference.clone()))
                .after(json!(fields)),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{reference} is in the control library."),
        &format!("/manage/controls/{id}"),
    )
    .await
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<ControlFormPage> {
    let (control, owner_email, linked) = {
        let mut conn = state.pool.acquire().await?;
        let control = repo::get(&mut conn, id, today())
            .await?
            .ok_or(AppError::NotFound)?;
        let owner_email = crate::users::repo::email_of(&mut conn, control.owner_id).await?;
        let policies = references_of(&mut conn, Register::Policies, &control.policy_ids).await?;
        let risks = references_of(&mut conn, Register::Risks, &control.risk_ids).await?;
        (control, owner_email.unwrap_or_default(), (policies, risks))
    };
    let form = ControlForm::from_control(&control, owner_email, linked);
    ControlFormPage::new(&state, ctx, Some(control), form).await
}

/// `POST /manage/controls/{id}/edit`
async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ControlForm>,
) -> AppResult<Response> {
    let before = {
        let mut conn = state.pool.acquire().await?;
        repo::get(&mut conn, id, today())
            .await?
            .ok_or(AppError::NotFound)?
    };
    let page = ControlFormPage::new(&state, ctx, Some(before.clone()), form).await?;
    let fields = match page.form.validate(&page.choices) {
        Ok(fields) => fields,
        Err(errors) => return Ok(page.refused(errors)),
    };
    let mut tx = state.pool.begin().await?;
    if !repo::update(&mut tx, &before, page.form.version, &fields, user.id).await? {
        return Ok(page.stale(before.version));
    }
    Context::for_request(&user, &meta)
        .record_change(
            &mut tx,
            "control.updated",
            "control",
            &before.reference,
            &before,
            &fields,
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The control has been saved.",
        &format!("/manage/controls/{id}"),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct TestForm {
    #[serde(default)]
    result: String,
    #[serde(default)]
    tested_on: String,
    #[serde(default)]
    notes: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/control.html")]
struct ControlPage {
    ctx: PageContext,
    control: Control,
    tests: Vec<repo::ControlTest>,
    evidence: Vec<repo::Evidence>,
    test_form: TestForm,
    evidence_form: evidence::EvidenceForm,
    errors: FieldErrors,
    can_manage: bool,
    today: Date,
}

impl ControlPage {
    fn results(&self) -> &'static [TestResult] {
        TestResult::ALL
    }
}

async fn load_control_page(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    can_manage: bool,
) -> AppResult<ControlPage> {
    let mut conn = state.pool.acquire().await?;
    let today = today();
    let control = repo::get(&mut conn, id, today)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(ControlPage {
        ctx,
        tests: repo::tests(&mut conn, id).await?,
        evidence: repo::evidence(&mut conn, id, 500).await?,
        control,
        test_form: TestForm {
            tested_on: today.to_string(),
            ..TestForm::default()
        },
        evidence_form: evidence::EvidenceForm::new(today),
        errors: FieldErrors::new(),
        can_manage,
        today,
    })
}

/// `GET /manage/controls/{id}`
async fn control_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<ControlPage> {
    load_control_page(&state, ctx, id, true).await
}

/// `GET /compliance/controls/{id}`: the same page, read only.
async fn read_control(
    State(state): State<AppState>,
    ctx: PageContext,
    ComplianceReader(_user): ComplianceReader,
    Path(id): Path<i64>,
) -> AppResult<ControlPage> {
    load_control_page(&state, ctx, id, false).await
}

/// `POST /manage/controls/{id}/tests`: records a test and what it found.
async fn record_test(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<TestForm>,
) -> AppResult<Response> {
    let page = load_control_page(&state, ctx, id, true).await?;
    let mut errors = FieldErrors::new();
    let result = form::required_choice::<TestResult>(&mut errors, "result", &form.result);
    let tested_on = form::required_date(&mut errors, "tested_on", &form.tested_on);
    if tested_on.is_some_and(|day| day > page.today) {
        errors.add(
            "tested_on",
            "A test is recorded once it has happened: not in the future.",
        );
    }
    let notes = form::bounded_text(&mut errors, "notes", &form.notes, 10_000);
    let (Some(result), Some(tested_on), true) = (result, tested_on, errors.is_empty()) else {
        let page = ControlPage {
            test_form: form,
            errors,
            ..page
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = state.pool.begin().await?;
    repo::record_test(&mut tx, id, result, tested_on, &notes, user.id).await?;
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "control.tested",
                "control",
                Some(page.control.reference.clone()),
            )
            .after(json!({ "result": result, "tested_on": tested_on, "notes": notes })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("The test is recorded: {}.", result.label().to_lowercase()),
        &format!("/manage/controls/{id}"),
    )
    .await
}
