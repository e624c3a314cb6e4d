//! Exports an auditor can trust: the compliance report per framework, the Statement of
//! Applicability, the risk register, the decision log, the policy register and the audit
//! trail, as CSV, XLSX or PDF. Each file states when and by whom it was generated and the
//! audit chain head at that moment; generating it is itself an audit event that records
//! the file's SHA-256, so a file can later be proven to be what Quorum produced
//! (`/audit/exports?sha256=…`). The audit trail streams: a million events are never held
//! in memory, and a failure ends the download as failed, without the closing line a
//! complete file has.

pub mod pdf;
pub mod reports;
pub mod table;

use askama::Template;
use askama_web::WebTemplate;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};

use crate::audit::pages::{self, EventFilter, EventQuery};
use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::common::format::format_time;
use crate::text_enum::text_enum;
use crate::web::form::{self, FieldErrors};
use crate::web::heavy::HeavyJob;
use crate::web::route_list::Routes;
use crate::web::step_up::SteppedUp;
use crate::web::{AppError, AppResult, AppState, Auditor, CurrentUser, PageContext, RequestMeta};
use table::{Provenance, Table, csv_writer, write_record};

/// Routes under `/audit` (the router requires the `auditor` role).
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/exports", get(exports_page))
        .route("/exports/{report}", post(export))
}

text_enum! {
    pub enum Report {
        Compliance => ("compliance", "Compliance report"),
        Soa => ("soa", "Statement of Applicability"),
        Risks => ("risks", "Risk register"),
        Decisions => ("decisions", "Decision log"),
        Policies => ("policies", "Policy register"),
        Trail => ("trail", "Audit trail"),
    }
}

text_enum! {
    pub enum FileFormat {
        Csv => ("csv", "CSV"),
        Xlsx => ("xlsx", "Excel (XLSX)"),
        Pdf => ("pdf", "PDF"),
    }
}

impl FileFormat {
    fn content_type(self) -> &'static str {
        match self {
            FileFormat::Csv => "text/csv; charset=utf-8",
            FileFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            FileFormat::Pdf => "application/pdf",
        }
    }
}

/// An export request, as the form sends it.
#[derive(Debug, Default, Deserialize)]
struct ExportForm {
    #[serde(default)]
    format: String,
    /// For the compliance report: the framework's code.
    #[serde(default)]
    framework: String,
    /// For the compliance report and the risk register: a past date (empty: today).
    #[serde(default)]
    date: String,
    /// For the audit trail: its filters.
    #[serde(default)]
    actor: String,
    #[serde(default)]
    entity: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// A previous export, found by its file's hash.
pub struct ExportRecord {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_label: String,
    pub after: Option<serde_json::Value>,
}

impl ExportRecord {
    pub fn when(&self) -> String {
        format_time(self.occurred_at)
    }

    pub fn field(&self, key: &str) -> String {
        match self.after.as_ref().map(|after| &after[key]) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "exports/page.html")]
struct ExportsPage {
    ctx: PageContext,
    frameworks: Vec<crate::compliance::repo::Framework>,
    lookup: Option<String>,
    records: Vec<ExportRecord>,
    /// A refused export: its report and what was typed, with the messages.
    refused: Option<(Report, ExportForm)>,
    errors: FieldErrors,
}

impl ExportsPage {
    async fn load(state: &AppState, ctx: PageContext, lookup: Option<String>) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        let records = sqlx::query_as!(
            ExportRecord,
            "SELECT seq, occurred_at, actor_label, after FROM audit_events
             WHERE action = 'export.generated' AND ($1::text IS NULL OR after->>'sha256' = $1)
             ORDER BY seq DESC LIMIT 50",
            lookup
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(Self {
            ctx,
            frameworks: crate::compliance::repo::frameworks(&mut conn).await?,
            lookup,
            records,
            refused: None,
            errors: FieldErrors::new(),
        })
    }

    fn formats(&self) -> &'static [FileFormat] {
        FileFormat::ALL
    }

    /// What a date field of `report`'s form shows: what was typed when it was refused.
    fn typed(&self, report: &str, field: &str) -> &str {
        match &self.refused {
            Some((refused, form)) if refused.as_str() == report => match field {
                "date" => &form.date,
                "from" => &form.from,
                _ => &form.to,
            },
            _ => "",
        }
    }

    /// The message for a date field of `report`'s form.
    fn error(&self, report: &str, field: &str) -> Option<&str> {
        match &self.refused {
            Some((refused, _)) if refused.as_str() == report => self.errors.get(field),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct LookupQuery {
    sha256: Option<String>,
}

/// `GET /audit/exports`: the exports, and the files generated so far (or the one with a
/// given SHA-256).
async fn exports_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(_user): Auditor,
    Query(query): Query<LookupQuery>,
) -> AppResult<ExportsPage> {
    let lookup = query
        .sha256
        .as_deref()
        .and_then(form::optional)
        .map(|hash| hash.to_ascii_lowercase());
    ExportsPage::load(&state, ctx, lookup).await
}

/// The audit chain head now: "#position sha256".
async fn chain_head(conn: &mut sqlx::PgConnection) -> sqlx::Result<(i64, String)> {
    let head = sqlx::query!("SELECT seq, hash FROM audit_chain_head")
        .fetch_one(conn)
        .await?;
    Ok((head.seq, hex::encode(head.hash)))
}

fn provenance(
    title: String,
    user: &CurrentUser,
    head: &(i64, String),
    as_of: Option<Date>,
    summary: Vec<(String, String)>,
) -> Provenance {
    Provenance {
        title,
        generated_at: OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        generated_by: format!("{} <{}>", user.display_name, user.email),
        chain_head: format!("#{} sha256:{}", head.0, head.1),
        as_of: as_of.map_or_else(|| "today".to_owned(), |date| date.to_string()),
        summary,
    }
}

/// `POST /audit/exports/{report}`: generates the file, records it, hands it over.
async fn export(
    State(state): State<AppState>,
    ctx: PageContext,
    meta: RequestMeta,
    Auditor(user): Auditor,
    Path(report): Path<String>,
    SteppedUp(form): SteppedUp<ExportForm>,
) -> AppResult<Response> {
    let report = report.parse::<Report>().map_err(|_| AppError::NotFound)?;
    let format = form
        .format
        .parse::<FileFormat>()
        .map_err(|_| AppError::BadRequest("choose the file format: csv or xlsx".to_owned()))?;
    let mut errors = FieldErrors::new();
    let as_of = form::optional_date(&mut errors, "date", &form.date);
    if !errors.is_empty() {
        return refused(&state, ctx, report, form, errors).await;
    }
    // A report as of a date is as things stood at the end of that day.
    let moment = as_of
        .and_then(|date| date.next_day())
        .map(|next| next.midnight().assume_utc());
    // Held until the document is built, even past a client that left meanwhile (a
    // streamed trail holds it only while it starts).
    let job = state.heavy_jobs.try_start()?;
    let mut conn = state.pool.acquire().await?;
    let head = chain_head(&mut conn).await?;
    let mut parameters = json!({ "as_of": as_of, "framework": form::optional(&form.framework) });
    let content = match report {
        Report::Compliance => {
            let moment = moment.unwrap_or_else(OffsetDateTime::now_utc);
            reports::compliance(&mut conn, form.framework.trim(), moment).await?
        }
        Report::Soa => reports::statement_of_applicability(&mut conn).await?,
        Report::Risks => {
            let limit = row_limit(format, state.config.export_max_rows);
            reports::risk_register(&mut conn, moment, today(), limit).await?
        }
        Report::Decisions => {
            let limit = row_limit(format, state.config.export_max_rows);
            reports::decision_log(&mut conn, limit).await?
        }
        Report::Policies => {
            let limit = row_limit(format, state.config.export_max_rows);
            reports::policy_register(&mut conn, limit).await?
        }
        Report::Trail => {
            let query = EventQuery {
                actor: Some(form.actor.clone()),
                entity: Some(form.entity.clone()),
                action: Some(form.action.clone()),
                from: Some(form.from.clone()),
                to: Some(form.to.clone()),
                before: None,
            };
            let filter = query.filter(&mut errors);
            if !errors.is_empty() {
                drop(conn);
                return refused(&state, ctx, report, form, errors).await;
            }
            parameters = json!({ "filters": query.filters() });
            let provenance = provenance(
                "Audit trail".to_owned(),
                &user,
                &head,
                filter.to,
                vec![("Filters".to_owned(), query.filters())],
            );
            drop(conn);
            if format == FileFormat::Csv {
                return Ok(stream_trail(
                    state, user, meta, filter, head.0, provenance, parameters,
                ));
            }
            let table = Table {
                provenance,
                columns: TRAIL_COLUMNS.to_vec(),
                rows: trail_rows(&state, &filter, head.0, format).await?,
            };
            let export = Export {
                report,
                format,
                chain_head: table.provenance.chain_head.clone(),
                parameters,
            };
            let bytes = render(table, format, job).await?;
            return deliver(&state, &user, &meta, export, bytes).await;
        }
    };
    drop(conn);
    let table = Table {
        provenance: provenance(content.title, &user, &head, as_of, content.summary),
        columns: content.columns,
        rows: content.rows,
    };
    let export = Export {
        report,
        format,
        chain_head: table.provenance.chain_head.clone(),
        parameters,
    };
    let bytes = render(table, format, job).await?;
    deliver(&state, &user, &meta, export, bytes).await
}

/// The exports page again, with the refused form's input and messages (422).
async fn refused(
    state: &AppState,
    ctx: PageContext,
    report: Report,
    form: ExportForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    use axum::response::IntoResponse;
    let page = ExportsPage {
        refused: Some((report, form)),
        errors,
        ..ExportsPage::load(state, ctx, None).await?
    };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Writes the file off the async threads (a workbook or a typeset PDF of a large register
/// takes seconds of CPU, which would stall every other request on that thread).
///
/// If the client leaves, a CSV or workbook stops within a thousand rows (a PDF, at most
/// 500 rows, is typeset whole); `job`'s slot is kept until the work has stopped, so that
/// abandoned documents still count against the limit.
async fn render(table: Table, format: FileFormat, job: HeavyJob) -> AppResult<Vec<u8>> {
    let failed = |error: String| AppError::Internal(anyhow::anyhow!(error));
    // Dropped with this future if the client leaves, which stops the building below.
    let (_wanted, still_wanted) = table::wanted();
    let rendered = tokio::task::spawn_blocking(move || {
        let _job = job;
        match format {
            FileFormat::Csv => table.to_csv(&still_wanted),
            FileFormat::Xlsx => table.to_xlsx(&still_wanted),
            FileFormat::Pdf => still_wanted.check().and_then(|()| pdf::render(&table)),
        }
    })
    .await
    .map_err(|e| failed(e.to_string()))?
    .map_err(failed);
    give_back_freed_memory();
    rendered
}

/// A document is built from many small allocations (a string per cell), freed together
/// once it is rendered; glibc keeps them in the arena of the thread that rendered, so two
/// exports on two threads held both documents' memory (the policy register's XLSX after
/// the decision log's: 303 MiB peak, 132 MiB alone). Trimming hands the freed pages back.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the system; it takes the allocator's
    // own locks and touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn attachment_name(report: Report, format: FileFormat) -> String {
    format!("quorum-{}-{}.{}", report.as_str(), today(), format.as_str())
}

/// What was exported, for its audit event.
struct Export {
    report: Report,
    format: FileFormat,
    /// The chain head the file states.
    chain_head: String,
    parameters: serde_json::Value,
}

/// Records the `export.generated` event with the file's hash and size (and, for the
/// streamed trail, how many events it holds).
async fn record_generated(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    export: &Export,
    sha256: &str,
    size_bytes: usize,
    events: Option<u64>,
) -> sqlx::Result<()> {
    let mut tx = state.pool.begin().await?;
    Context::new(Actor::user(user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new(
                "export.generated",
                "export",
                Some(export.report.as_str().to_owned()),
            )
            .after(json!({
                "report": export.report.as_str(),
                "format": export.format.as_str(),
                "sha256": sha256,
                "size_bytes": size_bytes,
                "events": events,
                "chain_head": export.chain_head,
                "parameters": export.parameters,
            })),
        )
        .await?;
    tx.commit().await
}

/// Records the export with its file's hash, then hands the file over.
async fn deliver(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    export: Export,
    bytes: Vec<u8>,
) -> AppResult<Response> {
    let sha256 = hex::encode(Sha256::digest(&bytes));
    record_generated(state, user, meta, &export, &sha256, bytes.len(), None).await?;
    let mut response = Response::new(Body::from(bytes));
    set_download_headers(&mut response, export.report, export.format);
    if let Ok(value) = HeaderValue::from_str(&sha256) {
        response.headers_mut().insert("x-content-sha256", value);
    }
    Ok(response)
}

fn set_download_headers(response: &mut Response, report: Report, format: FileFormat) {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        attachment_name(report, format)
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
}

const TRAIL_COLUMNS: [&str; 10] = [
    "#",
    "When",
    "Who",
    "Action",
    "Record type",
    "Record",
    "Before",
    "After",
    "Request id",
    "Hash",
];

/// The most events an XLSX or PDF of the trail holds; larger periods are exported as CSV
/// (which streams).
fn max_trail_rows(format: FileFormat) -> i64 {
    match format {
        FileFormat::Pdf => PDF_MAX_ROWS,
        _ => 100_000,
    }
}

/// The most rows a PDF lays out. Typst holds the whole document while it lays it out
/// (about 0.25 MiB a row of the risk register, measured), and the server stays under
/// 300 MiB with an export running.
const PDF_MAX_ROWS: i64 = 500;

/// How many rows an export of `format` may hold, `configured` at most.
fn row_limit(format: FileFormat, configured: i64) -> reports::RowLimit {
    match format {
        FileFormat::Pdf if configured > PDF_MAX_ROWS => reports::RowLimit {
            rows: PDF_MAX_ROWS,
            reason: "more than a PDF lays out",
            remedy: "Export it as CSV or Excel (XLSX), which take more.",
        },
        _ => reports::RowLimit {
            rows: configured,
            reason: "more than one export file takes",
            remedy: "Ask an administrator to raise the limit (QUORUM_EXPORT_MAX_ROWS).",
        },
    }
}

fn trail_cells(event: pages::TrailEvent) -> Vec<String> {
    let json = |value: Option<serde_json::Value>| value.map(|v| v.to_string()).unwrap_or_default();
    vec![
        event.seq.to_string(),
        event
            .occurred_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        event.actor_label,
        event.action,
        event.entity_type,
        event.entity_id.unwrap_or_default(),
        json(event.before),
        json(event.after),
        event.request_id.unwrap_or_default(),
        hex::encode(event.hash),
    ]
}

/// The rows of the events `filter` selects up to the chain position `through`, for a
/// format that holds them all at once.
async fn trail_rows(
    state: &AppState,
    filter: &EventFilter,
    through: i64,
    format: FileFormat,
) -> AppResult<Vec<Vec<String>>> {
    let mut conn = state.pool.acquire().await?;
    let max = max_trail_rows(format);
    // Counted first: a period too large is refused before any event is read.
    let selected = pages::count_events(&mut conn, filter, through, max + 1).await?;
    if selected > max {
        return Err(too_many_events(max));
    }
    let events = pages::events_after(&mut conn, filter, 0, through, max).await?;
    Ok(events.into_iter().map(trail_cells).collect())
}

fn too_many_events(max: i64) -> AppError {
    AppError::TooLarge(format!(
        "The period holds more than {max} events, more than this format takes. \
         Choose a shorter period, or export them as CSV, which takes any number."
    ))
}

/// Bytes written before a chunk of the streamed trail is sent.
const CHUNK_BYTES: usize = 64 * 1024;

/// Streams the audit trail as CSV: the rows are read and sent a chunk at a time; the file
/// ends with a line saying how many events it holds, written only when all were sent.
#[allow(clippy::too_many_arguments)]
fn stream_trail(
    state: AppState,
    user: CurrentUser,
    meta: RequestMeta,
    filter: EventFilter,
    through: i64,
    provenance: Provenance,
    parameters: serde_json::Value,
) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        let mut hasher = Sha256::new();
        let mut size = 0usize;
        let outcome = write_trail(
            &state,
            &filter,
            through,
            &provenance,
            &sender,
            &mut hasher,
            &mut size,
        )
        .await;
        match outcome {
            Ok(events) => {
                let sha256 = hex::encode(hasher.finalize());
                let export = Export {
                    report: Report::Trail,
                    format: FileFormat::Csv,
                    chain_head: provenance.chain_head.clone(),
                    parameters,
                };
                let recorded =
                    record_generated(&state, &user, &meta, &export, &sha256, size, Some(events))
                        .await;
                if let Err(error) = recorded {
                    tracing::error!(%error, "the audit trail export could not be recorded");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "the audit trail export failed part way");
                let _ = sender.send(Err(std::io::Error::other(error))).await;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let mut response = Response::new(Body::from_stream(stream));
    set_download_headers(&mut response, Report::Trail, FileFormat::Csv);
    response
}

async fn write_trail(
    state: &AppState,
    filter: &EventFilter,
    through: i64,
    provenance: &Provenance,
    sender: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    hasher: &mut Sha256,
    size: &mut usize,
) -> Result<u64, String> {
    let mut writer = csv_writer(Vec::with_capacity(CHUNK_BYTES * 2));
    for (label, value) in provenance.lines() {
        write_record(&mut writer, [label, value]).map_err(|e| e.to_string())?;
    }
    writer.write_record([""]).map_err(|e| e.to_string())?;
    write_record(&mut writer, TRAIL_COLUMNS).map_err(|e| e.to_string())?;
    let mut conn = state.pool.acquire().await.map_err(|e| e.to_string())?;
    let mut count = 0u64;
    let mut after = 0;
    loop {
        let batch = pages::events_after(&mut conn, filter, after, through, pages::TRAIL_BATCH)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for event in batch {
            write_record(&mut writer, trail_cells(event)).map_err(|e| e.to_string())?;
            count += 1;
            if writer.get_ref().len() >= CHUNK_BYTES {
                writer = send_chunk(writer, sender, hasher, size).await?;
            }
        }
    }
    write_record(
        &mut writer,
        ["End of export".to_owned(), format!("{count} events")],
    )
    .map_err(|e| e.to_string())?;
    send_chunk(writer, sender, hasher, size).await?;
    Ok(count)
}

/// Sends what the writer holds as one chunk of the download, hashing it on the way;
/// returns an empty writer for the next chunk.
async fn send_chunk(
    writer: csv::Writer<Vec<u8>>,
    sender: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    hasher: &mut Sha256,
    size: &mut usize,
) -> Result<csv::Writer<Vec<u8>>, String> {
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    hasher.update(&bytes);
    *size += bytes.len();
    sender
        .send(Ok(Bytes::from(bytes)))
        .await
        .map_err(|_| "the download was abandoned".to_owned())?;
    Ok(csv_writer(Vec::with_capacity(CHUNK_BYTES * 2)))
}
