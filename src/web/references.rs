//! Fields naming several records of a register by their references ("PRJ-0001,
//! PRJ-0042"). A form never lists a whole register to choose from (a large organisation
//! has thousands of projects, policies and risks); the field takes references typed or
//! picked from suggestions, and they are resolved in one query.

use axum::extract::{Query, State};
use axum::routing::{MethodRouter, get};
use sqlx::PgConnection;

use crate::web::form::FieldErrors;
use crate::web::suggest::{self, SUGGESTIONS, SuggestQuery};
use crate::web::{AppState, ItManager};

/// The most records one field names.
pub const MAX_REFERENCES: usize = 100;
/// How many name matches a suggestion orders at most.
const CANDIDATES: i64 = 200;

/// A register whose records a field can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    Projects,
    Policies,
    Risks,
}

impl Register {
    fn table(self) -> &'static str {
        match self {
            Register::Projects => "projects",
            Register::Policies => "policies",
            Register::Risks => "risks",
        }
    }

    /// The column a person recognises a record by, beside its reference.
    fn name_column(self) -> &'static str {
        match self {
            Register::Projects => "name",
            Register::Policies | Register::Risks => "title",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Register::Projects => "project",
            Register::Policies => "policy",
            Register::Risks => "risk",
        }
    }
}

/// The references in what was typed, in order and once each: separated by commas,
/// semicolons or white space, in any case.
pub fn parse(text: &str) -> Vec<String> {
    let mut references: Vec<String> = Vec::new();
    for word in text.split(|c: char| c == ',' || c == ';' || c.is_whitespace()) {
        let word = word.trim().to_uppercase();
        if !word.is_empty() && !references.contains(&word) {
            references.push(word);
        }
    }
    references
}

/// The references of `ids` in `register`, in reference order: what an edit form shows.
pub async fn references_of(
    conn: &mut PgConnection,
    register: Register,
    ids: &[i64],
) -> sqlx::Result<String> {
    if ids.is_empty() {
        return Ok(String::new());
    }
    // The table name comes from the enum above, never from input.
    let references: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT reference FROM {} WHERE id = ANY($1) ORDER BY reference_order(reference)",
        register.table()
    ))
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(references.join(", "))
}

/// `GET …?q=`: up to ten records of `register` for a references field being typed (IT
/// managers keep the forms that have one): the one whose reference it is, then those whose
/// name contains it, in reference order. `q` is the reference being typed, not the field.
pub fn suggest_route(register: Register) -> MethodRouter<AppState> {
    get(
        move |State(state): State<AppState>,
              ItManager(_user): ItManager,
              Query(query): Query<SuggestQuery>| async move {
            let Some(text) = query.text() else {
                return Ok(suggest::answer(Vec::new()));
            };
            let mut conn = state.pool.acquire().await?;
            // At most CANDIDATES name matches are ordered, so a word most records share
            // costs no more than a rare one; typing more narrows them.
            let found: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT reference, label FROM (
                     SELECT reference, {name} AS label FROM {table} WHERE reference = upper($1)
                     UNION ALL
                     (SELECT reference, {name} FROM {table}
                       WHERE lower({name}) LIKE $2 AND reference <> upper($1) LIMIT $4)
                 ) found
                 ORDER BY reference = upper($1) DESC, reference_order(reference)
                 LIMIT $3",
                name = register.name_column(),
                table = register.table(),
            ))
            .bind(text)
            .bind(format!("%{}", suggest::like_prefix(text)))
            .bind(SUGGESTIONS)
            .bind(CANDIDATES)
            .fetch_all(&mut *conn)
            .await?;
            crate::web::AppResult::Ok(suggest::answer(found))
        },
    )
}

/// A references field as typed, resolved against its register.
#[derive(Debug, Default)]
pub struct ReferencesField {
    typed: Vec<String>,
    /// (reference, id) of those typed that exist.
    found: Vec<(String, i64)>,
}

impl ReferencesField {
    /// Looks up what `text` names in `register` (one query; none when it names nothing
    /// or too much).
    pub async fn resolve(
        conn: &mut PgConnection,
        register: Register,
        text: &str,
    ) -> sqlx::Result<Self> {
        let typed = parse(text);
        if typed.is_empty() || typed.len() > MAX_REFERENCES {
            return Ok(Self {
                typed,
                found: Vec::new(),
            });
        }
        let found: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT reference, id FROM {} WHERE reference = ANY($1)",
            register.table()
        ))
        .bind(&typed)
        .fetch_all(conn)
        .await?;
        Ok(Self { typed, found })
    }

    /// The ids of the records named, in the order typed; a message next to `field` names
    /// what matches nothing.
    pub fn ids(
        &self,
        errors: &mut FieldErrors,
        field: &'static str,
        register: Register,
    ) -> Vec<i64> {
        if self.typed.len() > MAX_REFERENCES {
            errors.add(
                field,
                format!(
                    "Name at most {MAX_REFERENCES} of them; a {} is named by its reference.",
                    register.noun()
                ),
            );
            return Vec::new();
        }
        let mut ids = Vec::new();
        let mut unknown = Vec::new();
        for reference in &self.typed {
            match self.found.iter().find(|(found, _)| found == reference) {
                Some((_, id)) => ids.push(*id),
                None => unknown.push(reference.as_str()),
            }
        }
        if !unknown.is_empty() {
            let listed: String = unknown
                .iter()
                .take(5)
                .map(|reference| truncate(reference, 30))
                .collect::<Vec<_>>()
                .join(", ");
            errors.add(
                field,
                format!(
                    "No {} has the reference {listed}{}. Type references such as {}, separated by commas.",
                    register.noun(),
                    if unknown.len() > 5 { " and more" } else { "" },
                    match register {
                        Register::Projects => "PRJ-0001",
                        Register::Policies => "POL-0001",
                        Register::Risks => "RSK-0001",
                    }
                ),
            );
        }
        ids
    }
}

fn truncate(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_split_upper_cased_and_kept_once_in_order() {
        assert_eq!(
            parse(" prj-0002, PRJ-0001;PRJ-0002\nprj-10000 "),
            ["PRJ-0002", "PRJ-0001", "PRJ-10000"]
        );
        assert!(parse(" , ;\n").is_empty());
    }

    #[test]
    fn unknown_references_are_named_and_too_many_refused() {
        let field = ReferencesField {
            typed: parse("PRJ-0001, PRJ-9999"),
            found: vec![("PRJ-0001".into(), 7)],
        };
        let mut errors = FieldErrors::new();
        assert_eq!(field.ids(&mut errors, "projects", Register::Projects), [7]);
        assert!(errors.get("projects").unwrap().contains("PRJ-9999"));

        let many = (0..=MAX_REFERENCES)
            .map(|n| format!("PRJ-{n:04}"))
            .collect::<Vec<_>>();
        let field = ReferencesField {
            typed: many,
            found: Vec::new(),
        };
        let mut errors = FieldErrors::new();
        assert!(
            field
                .ids(&mut errors, "projects", Register::Projects)
                .is_empty()
        );
        assert!(errors.get("projects").unwrap().contains("at most 100"));
    }
}
