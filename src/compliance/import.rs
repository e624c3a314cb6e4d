//! An organisation's own framework, imported by an administrator from a CSV file: one row
//! per requirement (identifier, title, parent, assessable). The file is checked whole; a
//! single bad row refuses it, with a message for every bad row, and nothing is written.

use std::collections::HashSet;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::audit::{self, Actor, Context};
use crate::web::form::{self, FieldErrors};
use crate::web::session::Session;
use crate::web::{
    Admin, AppError, AppResult, AppState, PageContext, RequestMeta, commit_and_redirect,
};

/// The most requirements one file may hold.
const MAX_ROWS: usize = 5_000;

/// A requirement read from the file, with its depth under its parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRequirement {
    pub identifier: String,
    pub title: String,
    pub parent: Option<String>,
    pub level: i16,
    pub assessable: bool,
}

/// Reads the CSV file: a heading row `identifier,title,parent,assessable`, then one row
/// per requirement, parents before their children. Returns every requirement, or a
/// message for every bad row.
pub fn parse_requirements(bytes: &[u8]) -> Result<Vec<ImportedRequirement>, Vec<String>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim_start_matches('\u{feff}'),
        Err(_) => return Err(vec!["The file is not UTF-8 text.".to_owned()]),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headings: Vec<String> = match reader.headers() {
        Ok(headings) => headings.iter().map(str::to_ascii_lowercase).collect(),
        Err(error) => return Err(vec![format!("The heading row cannot be read: {error}.")]),
    };
    let column = |name: &str| headings.iter().position(|h| h == name);
    let (Some(identifier_at), Some(title_at)) = (column("identifier"), column("title")) else {
        return Err(vec![
            "The first row must name the columns: identifier, title, and optionally parent and assessable."
                .to_owned(),
        ]);
    };
    let (parent_at, assessable_at) = (column("parent"), column("assessable"));
    let mut errors = Vec::new();
    let mut requirements: Vec<ImportedRequirement> = Vec::new();
    let mut seen = HashSet::new();
    for (index, record) in reader.records().enumerate() {
        // Row numbers as a spreadsheet shows them: the heading is row 1.
        let row = index + 2;
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                errors.push(format!("Row {row}: cannot be read ({error})."));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        if requirements.len() + errors.len() >= MAX_ROWS {
            errors.push(format!("The file has more than {MAX_ROWS} requirements."));
            break;
        }
        // Cleaned as a form's text is: a file is typed input too.
        let cell = |at: Option<usize>| {
            let text = at.and_then(|at| record.get(at)).unwrap_or_default();
            form::clean_text(text).trim().to_owned()
        };
        let identifier = cell(Some(identifier_at));
        let title = cell(Some(title_at));
        let parent = form::optional(&cell(parent_at));
        let mut problems = Vec::new();
        if identifier.is_empty() {
            problems.push("the identifier is empty".to_owned());
        } else if identifier.chars().count() > 40 {
            problems.push("the identifier is longer than 40 characters".to_owned());
        } else if seen.contains(&identifier) {
            problems.push(format!("the identifier {identifier} appears twice"));
        }
        if title.is_empty() {
            problems.push("the title is empty".to_owned());
        } else if title.chars().count() > 500 {
            problems.push("the title is longer than 500 characters".to_owned());
        }
        let level = match &parent {
            None => Some(1),
            Some(parent) => match requirements.iter().find(|r| &r.identifier == parent) {
                Some(found) if found.level < 5 => Some(found.level + 1),
                Some(_) => {
                    problems.push("it is nested more than five levels deep".to_owned());
                    None
                }
                None => {
                    problems.push(format!("its parent {parent} is not an earlier row"));
                    None
                }
            },
        };
        let assessable = match cell(assessable_at).to_ascii_lowercase().as_str() {
            "" | "yes" | "y" | "true" | "1" => Some(true),
            "no" | "n" | "false" | "0" => Some(false),
            other => {
                problems.push(format!("assessable must be yes or no, not “{other}”"));
                None
            }
        };
        seen.insert(identifier.clone());
        match (problems.is_empty(), level, assessable) {
            (true, Some(level), Some(assessable)) => requirements.push(ImportedRequirement {
                identifier,
                title,
                parent,
                level,
                assessable,
            }),
            _ => errors.push(format!("Row {row}: {}.", problems.join("; "))),
        }
    }
    if errors.is_empty() && requirements.is_empty() {
        errors.push("The file holds no requirement.".to_owned());
    }
    if errors.is_empty() {
        Ok(requirements)
    } else {
        Err(errors)
    }
}

/// The import form's fields besides the file, as typed.
#[derive(Debug, Default)]
pub struct ImportForm {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub version: String,
    pub publisher: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "compliance/import.html")]
pub struct ImportPage {
    ctx: PageContext,
    form: ImportForm,
    errors: FieldErrors,
    row_errors: Vec<String>,
    frameworks: Vec<super::repo::Framework>,
}

impl ImportPage {
    async fn load(state: &AppState, ctx: PageContext) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        Ok(Self {
            ctx,
            form: ImportForm::default(),
            errors: FieldErrors::new(),
            row_errors: Vec::new(),
            frameworks: super::repo::frameworks(&mut conn).await?,
        })
    }
}

/// `GET /admin/frameworks`
pub async fn import_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Admin(_admin): Admin,
) -> AppResult<ImportPage> {
    ImportPage::load(&state, ctx).await
}

/// `POST /admin/frameworks`: imports a framework from a CSV file, all or nothing.
pub async fn import(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    Admin(admin): Admin,
    mut multipart: Multipart,
) -> AppResult<Response> {
    let mut form = ImportForm::default();
    let mut file: Option<Vec<u8>> = None;
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!("the upload could not be read: {error}"))
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let has_name = field.file_name().is_some_and(|n| !n.is_empty());
            let bytes = field.bytes().await.map_err(unreadable)?;
            file = has_name.then(|| bytes.to_vec());
            continue;
        }
        let text = crate::web::upload::text_field(field)
            .await
            .map_err(unreadable)?;
        match name.as_str() {
            "code" => form.code = text,
            "name" => form.name = text,
            "short_name" => form.short_name = text,
            "version" => form.version = text,
            "publisher" => form.publisher = text,
            _ => {}
        }
    }
    let mut errors = FieldErrors::new();
    let code = form.code.trim().to_ascii_lowercase();
    if !(2..=40).contains(&code.len())
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        errors.add(
            "code",
            "Use 2 to 40 lower-case letters, digits or underscores, like acme_controls_2026.",
        );
    }
    let name = form::required_text(&mut errors, "name", &form.name, 200);
    let short_name = form::required_text(&mut errors, "short_name", &form.short_name, 40);
    let version = form::bounded_text(&mut errors, "version", &form.version, 40);
    let publisher = form::bounded_text(&mut errors, "publisher", &form.publisher, 200);
    let mut row_errors = Vec::new();
    let requirements = match &file {
        None => {
            errors.add("file", "Choose the CSV file to import.");
            Vec::new()
        }
        Some(bytes) => parse_requirements(bytes).unwrap_or_else(|messages| {
            errors.add("file", "The file was not imported: see the rows below.");
            row_errors = messages;
            Vec::new()
        }),
    };
    let mut page = ImportPage::load(&state, ctx).await?;
    if page.frameworks.iter().any(|f| f.code == code) {
        errors.add("code", "A framework already has this code.");
    }
    if !errors.is_empty() {
        page.form = form;
        page.errors = errors;
        page.row_errors = row_errors;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut tx = state.pool.begin().await?;
    let framework_id = sqlx::query_scalar!(
        "INSERT INTO frameworks (code, name, short_name, version, publisher, origin, imported_by)
         VALUES ($1, $2, $3, $4, $5, 'imported', $6)
         RETURNING id",
        code,
        name,
        short_name,
        version,
        publisher,
        admin.id
    )
    .fetch_one(&mut *tx)
    .await?;
    for (position, requirement) in requirements.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO framework_requirements (framework_id, identifier, title, parent_identifier,
                                                 level, assessable, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            framework_id,
            requirement.identifier,
            requirement.title,
            requirement.parent,
            requirement.level,
            requirement.assessable,
            position as i32 + 1
        )
        .execute(&mut *tx)
        .await?;
    }
    Context::new(Actor::user(&admin), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new("framework.imported", "framework", Some(code.clone())).after(json!({
                "name": name,
                "requirements": requirements.len(),
                "assessable": requirements.iter().filter(|r| r.assessable).count(),
            })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{name} is imported with {} requirements.",
            requirements.len()
        ),
        "/admin/frameworks",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_file_gives_requirements_with_their_levels() {
        let file = "identifier,title,parent,assessable\nGOV,Governance,,no\nGOV-1,Board oversight,GOV,\nGOV-1.a,Minutes kept,GOV-1,yes\n";
        let requirements = parse_requirements(file.as_bytes()).unwrap();
        let levels: Vec<_> = requirements
            .iter()
            .map(|r| (r.identifier.as_str(), r.level, r.assessable))
            .collect();
        assert_eq!(
            levels,
            [("GOV", 1, false), ("GOV-1", 2, true), ("GOV-1.a", 3, true)]
        );
    }

    #[test]
    fn every_bad_row_is_named() {
        let file = "identifier,title,parent,assessable\nA,First,,\nA,Twice,,\nB,,,\nC,Orphan,Z,\nD,Odd,,maybe\n";
        let errors = parse_requirements(file.as_bytes()).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("Row 3:") && errors[0].contains("appears twice"));
        assert!(errors[1].starts_with("Row 4:") && errors[1].contains("title is empty"));
        assert!(errors[2].starts_with("Row 5:") && errors[2].contains("parent Z"));
        assert!(errors[3].starts_with("Row 6:") && errors[3].contains("maybe"));
        assert!(parse_requirements(b"name,description\nx,y\n").is_err());
        assert!(parse_requirements(b"identifier,title\n").is_err());
    }

    proptest::proptest! {
        /// Whatever the file holds, reading it ends in requirements or messages, and what
        /// is accepted is clean, bounded and ordered parents first.
        #[test]
        fn any_file_is_read_or_refused_and_what_is_read_is_clean(
            rows in proptest::collection::vec(
                (".{0,12}", "(?s).{0,30}", proptest::option::of(".{0,12}"), "yes|no|maybe|"),
                0..20,
            ),
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let mut file = String::from("identifier,title,parent,assessable\n");
            for (identifier, title, parent, assessable) in &rows {
                let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
                file.push_str(&format!(
                    "{},{},{},{}\n",
                    quote(identifier),
                    quote(title),
                    quote(parent.as_deref().unwrap_or_default()),
                    assessable
                ));
            }
            let _ = parse_requirements(&noise);
            if let Ok(requirements) = parse_requirements(file.as_bytes()) {
                for (index, requirement) in requirements.iter().enumerate() {
                    for text in [&requirement.identifier, &requirement.title] {
                        proptest::prop_assert!(!text.is_empty());
                        proptest::prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
                    }
                    proptest::prop_assert!(requirement.identifier.chars().count() <= 40);
                    proptest::prop_assert!((1..=5).contains(&requirement.level));
                    if let Some(parent) = &requirement.parent {
                        proptest::prop_assert!(requirements[..index].iter().any(|r| &r.identifier == parent));
                    }
                }
            }
        }
    }
}
