//! Evidence files: uploaded against a control as a multipart form, checked (size, a type
//! Quorum accepts, content that matches the file's extension), hashed with SHA-256 and
//! stored in PostgreSQL under their id; downloaded as attachments.

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::Date;

use super::repo::{self, NewEvidence};
use super::{ControlPage, load_control_page};
use crate::audit::{self, Context};
use crate::web::form::{self, FieldErrors};
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, ComplianceReader, ItManager, PageContext, RequestMeta,
    commit_and_redirect,
};

/// The largest evidence file accepted.
const MAX_EVIDENCE_BYTES: usize = crate::web::upload::MAX_FILE_BYTES;

/// A kind of file Quorum keeps as evidence: its extensions, its content type, and how its
/// first bytes must look.
struct FileKind {
    extensions: &'static [&'static str],
    content_type: &'static str,
    matches: fn(&[u8]) -> bool,
}

fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok() && !bytes.contains(&0)
}

const FILE_KINDS: &[FileKind] = &[
    FileKind {
        extensions: &["pdf"],
        content_type: "application/pdf",
        matches: |b| b.starts_with(b"%PDF-"),
    },
    FileKind {
        extensions: &["png"],
        content_type: "image/png",
        matches: |b| b.starts_with(b"\x89PNG\r\n\x1a\n"),
    },
    FileKind {
        extensions: &["jpg", "jpeg"],
        content_type: "image/jpeg",
        matches: |b| b.starts_with(b"\xff\xd8\xff"),
    },
    FileKind {
        extensions: &["docx"],
        content_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        matches: |b| b.starts_with(b"PK\x03\x04"),
    },
    FileKind {
        extensions: &["xlsx"],
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        matches: |b| b.starts_with(b"PK\x03\x04"),
    },
    FileKind {
        extensions: &["txt", "log"],
        content_type: "text/plain; charset=utf-8",
        matches: is_text,
    },
    FileKind {
        extensions: &["csv"],
        content_type: "text/csv; charset=utf-8",
        matches: is_text,
    },
];

/// The content type of a file named `name` with these bytes, or why it is refused.
fn check_file(name: &str, bytes: &[u8]) -> Result<&'static str, String> {
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    let Some(kind) = FILE_KINDS
        .iter()
        .find(|kind| kind.extensions.contains(&extension.as_str()))
    else {
        return Err(
            "Upload a PDF, PNG, JPEG, Word or Excel document, or a text, log or CSV file."
                .to_owned(),
        );
    };
    if (kind.matches)(bytes) {
        Ok(kind.content_type)
    } else {
        Err(format!(
            "The file's content is not what its .{extension} extension says: it was not stored."
        ))
    }
}

/// A file name fit to show and to suggest on download: no path, no control characters or
/// quotes, at most 200 characters.
fn display_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/'))
        .take(200)
        .collect();
    if cleaned.trim().is_empty() {
        "evidence".to_owned()
    } else {
        cleaned.trim().to_owned()
    }
}

/// The evidence form's fields besides the file, as typed.
#[derive(Debug, Default)]
pub struct EvidenceForm {
    pub title: String,
    pub about_date: String,
    pub valid_until: String,
}

impl EvidenceForm {
    pub fn new(today: Date) -> Self {
        Self {
            about_date: today.to_string(),
            ..Self::default()
        }
    }
}

/// The fields of an upload, read from the multipart body.
#[derive(Default)]
struct Upload {
    form: EvidenceForm,
    file_name: Option<String>,
    bytes: Vec<u8>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, AppError> {
    let mut upload = Upload::default();
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        AppError::BadRequest(format!("the upload could not be read: {error}"))
    };
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                upload.file_name = field
                    .file_name()
                    .map(|name| crate::web::form::clean_text(name).into_owned())
                    .filter(|n| !n.is_empty());
                upload.bytes = field.bytes().await.map_err(unreadable)?.to_vec();
            }
            "title" | "about_date" | "valid_until" => {
                let text = crate::web::upload::text_field(field)
                    .await
                    .map_err(unreadable)?;
                match name.as_str() {
                    "title" => upload.form.title = text,
                    "about_date" => upload.form.about_date = text,
                    _ => upload.form.valid_until = text,
                }
            }
            // The CSRF token was checked by the middleware; nothing else is expected.
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /manage/controls/{id}/evidence`
pub async fn upload(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> AppResult<Response> {
    let page = load_control_page(&state, ctx, id, true).await?;
    let upload = read_upload(multipart).await?;
    let mut errors = FieldErrors::new();
    let title = form::required_text(&mut errors, "title", &upload.form.title, 200);
    let about_date = form::required_date(&mut errors, "about_date", &upload.form.about_date);
    let valid_until = form::optional_date(&mut errors, "valid_until", &upload.form.valid_until);
    if let (Some(about), Some(until)) = (about_date, valid_until)
        && until < about
    {
        errors.add(
            "valid_until",
            "Evidence cannot stop being valid before the date it is about.",
        );
    }
    let mut content_type = None;
    match &upload.file_name {
        None => errors.add("file", "Choose the file to upload."),
        Some(_) if upload.bytes.is_empty() => errors.add("file", "The file is empty."),
        Some(_) if upload.bytes.len() > MAX_EVIDENCE_BYTES => errors.add(
            "file",
            format!(
                "The file is larger than {} MiB.",
                MAX_EVIDENCE_BYTES / (1024 * 1024)
            ),
        ),
        Some(name) => match check_file(name, &upload.bytes) {
            Ok(kind) => content_type = Some(kind),
            Err(message) => errors.add("file", message),
        },
    }
    let (Some(about_date), Some(content_type), true) =
        (about_date, content_type, errors.is_empty())
    else {
        let page = ControlPage {
            evidence_form: upload.form,
            errors,
            ..page
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let sha256 = hex::encode(Sha256::digest(&upload.bytes));
    let size_bytes = upload.bytes.len() as i64;
    // With an evidence directory, the file is written (named by its hash) before its record:
    // a record never points at a file that is not there.
    let content = match &state.config.evidence_dir {
        Some(directory) => {
            store_in_directory(directory, &sha256, upload.bytes).await?;
            None
        }
        None => Some(upload.bytes),
    };
    let new = NewEvidence {
        control_id: id,
        title,
        original_name: display_name(upload.file_name.as_deref().unwrap_or_default()),
        content_type: content_type.to_owned(),
        sha256,
        about_date,
        valid_until,
        size_bytes,
        content,
    };
    let mut tx = state.pool.begin().await?;
    let evidence_id = repo::add_evidence(&mut tx, &new, user.id).await?;
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "evidence.uploaded",
                "control",
                Some(page.control.reference.clone()),
            )
            .after(json!({ "evidence": evidence_id, "record": new })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} is stored (SHA-256 {}).",
            new.original_name,
            &new.sha256[..16]
        ),
        &format!("/manage/controls/{id}"),
    )
    .await
}

/// `GET /compliance/evidence/{id}`: the file, as an attachment, never shown inline.
pub async fn download(
    State(state): State<AppState>,
    ComplianceReader(_user): ComplianceReader,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let file = repo::evidence_file(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let content = match file.content {
        Some(content) => content,
        None => read_from_directory(&state, &file.sha256).await?,
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file.original_name
            .replace(|c: char| !c.is_ascii() || c == '"', "_")
    );
    let mut response = Response::new(Body::from(content));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&file.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("sha-256={}", file.sha256)) {
        headers.insert("x-content-sha256", value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response.into_response())
}

/// Where a file named by `sha256` lives in the evidence directory.
fn stored_path(directory: &std::path::Path, sha256: &str) -> std::path::PathBuf {
    directory.join(sha256)
}

/// Writes the file into the evidence directory under its hash: to a temporary name first,
/// synced, then renamed, so a crash never leaves half a file under a hash.
async fn store_in_directory(
    directory: &std::path::Path,
    sha256: &str,
    bytes: Vec<u8>,
) -> AppResult<()> {
    use tokio::io::AsyncWriteExt;
    let failed = |error: std::io::Error| {
        AppError::Internal(anyhow::anyhow!(
            "cannot write to the evidence directory: {error}"
        ))
    };
    let target = stored_path(directory, sha256);
    if tokio::fs::try_exists(&target).await.map_err(failed)? {
        // The same content is already kept: files are named by what they hold.
        return Ok(());
    }
    tokio::fs::create_dir_all(directory).await.map_err(failed)?;
    let temporary = directory.join(format!(".{sha256}.partial"));
    let mut file = tokio::fs::File::create(&temporary).await.map_err(failed)?;
    file.write_all(&bytes).await.map_err(failed)?;
    file.sync_all().await.map_err(failed)?;
    drop(file);
    tokio::fs::rename(&temporary, &target).await.map_err(failed)
}

/// Reads a file from the evidence directory, refusing one that no longer matches its hash.
async fn read_from_directory(state: &AppState, sha256: &str) -> AppResult<Vec<u8>> {
    let directory = state.config.evidence_dir.as_deref().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "evidence {sha256} is kept in the evidence directory, but none is configured"
        ))
    })?;
    let bytes = tokio::fs::read(stored_path(directory, sha256))
        .await
        .map_err(|error| AppError::Internal(anyhow::anyhow!("evidence file {sha256}: {error}")))?;
    if hex::encode(Sha256::digest(&bytes)) != sha256 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "evidence file {sha256} no longer matches its recorded hash"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_must_be_what_its_extension_says() {
        assert_eq!(
            check_file("report.pdf", b"%PDF-1.7 ..."),
            Ok("application/pdf")
        );
        assert!(check_file("report.pdf", b"<html><script>").is_err());
        assert!(check_file("photo.PNG", b"\x89PNG\r\n\x1a\nrest").is_ok());
        assert!(check_file("notes.txt", b"plain words").is_ok());
        assert!(check_file("notes.txt", b"bin\0ary").is_err());
        assert!(check_file("tool.exe", b"MZ").is_err());
        assert!(check_file("no-extension", b"%PDF-").is_err());
    }

    #[test]
    fn a_file_name_keeps_no_path_or_quotes() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(
            display_name("C:\\Users\\x\\scan \"final\".pdf"),
            "scan final.pdf"
        );
        assert_eq!(display_name("   "), "evidence");
    }
}
