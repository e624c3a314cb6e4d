//! Fields that name a person: typed as an email or a name, resolved among the active
//! holders of a role on the server, with suggestions as the person types.

use axum::extract::{Query, State};

use super::Role;
use super::repo::{self, PersonOption};
use crate::web::form::FieldErrors;
use crate::web::suggest::{self, SUGGESTIONS, SuggestQuery, Suggestions};
use crate::web::{AppResult, AppState, ComplianceReader};

/// What a person field named.
#[derive(Debug, Clone)]
pub enum PersonField {
    Empty,
    Found(PersonOption),
    /// No active holder of the role has this email or name.
    Unknown,
    /// Several have this name (and none this email).
    Ambiguous,
}

impl PersonField {
    /// Looks `typed` up among the active holders of `role`: its email, else its name.
    pub async fn resolve(
        conn: &mut sqlx::PgConnection,
        role: Role,
        typed: &str,
    ) -> sqlx::Result<Self> {
        let typed = typed.trim();
        if typed.is_empty() {
            return Ok(PersonField::Empty);
        }
        if typed.chars().count() > 254 || typed.contains('\0') {
            return Ok(PersonField::Unknown);
        }
        let mut found = repo::active_holders_named(conn, role, typed).await?;
        Ok(match found.len() {
            0 => PersonField::Unknown,
            1 => PersonField::Found(found.remove(0).0),
            _ if found[0].1 => PersonField::Found(found.remove(0).0),
            _ => PersonField::Ambiguous,
        })
    }

    /// The person's id, or a message next to `field` (`missing` when it is empty).
    pub fn id(
        &self,
        errors: &mut FieldErrors,
        field: &'static str,
        role: Role,
        missing: &str,
    ) -> Option<i64> {
        match self {
            PersonField::Found(person) => return Some(person.id),
            PersonField::Empty => errors.add(field, missing.to_owned()),
            PersonField::Unknown => errors.add(
                field,
                format!("No active {} has this email or name.", role.label()),
            ),
            PersonField::Ambiguous => errors.add(
                field,
                "Several people have this name: type their email instead.",
            ),
        }
        None
    }
}

/// `GET /suggest/it-managers?q=`: active IT managers whose name or email starts with
/// what is typed. For the board, IT managers and auditors, who all read who runs what
/// (project lists filter by manager; management's forms name owners).
pub async fn suggest_it_managers(
    State(state): State<AppState>,
    ComplianceReader(_user): ComplianceReader,
    Query(query): Query<SuggestQuery>,
) -> AppResult<Suggestions> {
    let Some(text) = query.text() else {
        return Ok(suggest::answer(Vec::new()));
    };
    let mut conn = state.pool.acquire().await?;
    let people = repo::suggest_holders(&mut conn, Role::ItManager, text, SUGGESTIONS).await?;
    Ok(suggest::answer(people))
}
