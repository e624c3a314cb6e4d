//! Who may not vote on a request, and why: segregation of duties as data. The rule itself
//! is the `request_conflicts` view (migration 0019), read here for the pages and the
//! engine and filtered on by the "waiting for your vote" list, so it is stated once.

use sqlx::PgConnection;

use super::repo::Member;
use crate::text_enum::text_enum;

text_enum! {
    /// Why a board member is not counted on a request.
    pub enum Conflict {
        Filed => ("filed", "Filed it"),
        ManagesProject => ("manages_project", "Manages the project it is about"),
        OwnsRisk => ("owns_risk", "Owns the risk it is about"),
        ManagesLinkedProject => ("manages_linked_project", "Manages a project the risk touches"),
        OwnsPolicy => ("owns_policy", "Owns the policy it is about"),
        Recused => ("recused", "Declared a conflict of interest"),
    }
}

/// Why someone cannot vote on a request, phrased for them or for others reading the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    NotBoardMember,
    /// A conflict, with the reason a recused member gave.
    Conflict(Conflict, String),
}

impl Ineligible {
    /// Said to the person themselves: "You filed it, ...".
    pub fn to_viewer(&self) -> String {
        match self {
            Ineligible::NotBoardMember => "Only board members vote.".to_owned(),
            Ineligible::Conflict(conflict, detail) => match conflict {
                Conflict::Filed => {
                    "You filed it, and nobody approves their own request.".to_owned()
                }
                Conflict::ManagesProject => "You manage the project it is about.".to_owned(),
                Conflict::OwnsRisk => "You own the risk it is about.".to_owned(),
                Conflict::ManagesLinkedProject => {
                    "You manage a project the risk touches.".to_owned()
                }
                Conflict::OwnsPolicy => "You own the policy it is about.".to_owned(),
                Conflict::Recused => format!("You declared a conflict of interest: {detail}"),
            },
        }
    }

    /// Said of someone else: "Filed it", "Owns the policy it is about", ...
    pub fn of_member(&self) -> String {
        match self {
            Ineligible::NotBoardMember => "Not a board member".to_owned(),
            Ineligible::Conflict(Conflict::Recused, detail) => {
                format!("{}: {detail}", Conflict::Recused.label())
            }
            Ineligible::Conflict(conflict, _) => conflict.label().to_owned(),
        }
    }
}

/// One person's conflict on a request.
#[derive(Debug, Clone)]
pub struct ConflictRow {
    pub user_id: i64,
    pub conflict: Conflict,
    pub detail: String,
}

/// The conflicts on one request.
#[derive(Debug, Clone, Default)]
pub struct Conflicts(Vec<ConflictRow>);

impl Conflicts {
    pub async fn load(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Self> {
        let rows = sqlx::query_as!(
            ConflictRow,
            r#"SELECT user_id AS "user_id!", conflict AS "conflict!: Conflict",
                      detail AS "detail!"
               FROM request_conflicts WHERE request_id = $1"#,
            request_id
        )
        .fetch_all(conn)
        .await?;
        Ok(Self(rows))
    }

    /// Why `member_id` may not vote (the first reason, in the order of [`Conflict`]), or
    /// `None` if they may, as far as conflicts go.
    pub fn of(&self, member_id: i64) -> Option<Ineligible> {
        self.0
            .iter()
            .filter(|row| row.user_id == member_id)
            .min_by_key(|row| row.conflict)
            .map(|row| Ineligible::Conflict(row.conflict, row.detail.clone()))
    }

    /// Why `user` may not vote: not on the board, or a conflict.
    pub fn why_not(&self, user_id: i64, is_board_member: bool) -> Option<Ineligible> {
        if is_board_member {
            self.of(user_id)
        } else {
            Some(Ineligible::NotBoardMember)
        }
    }

    /// The board members who may vote.
    pub fn eligible(&self, members: &[Member]) -> Vec<i64> {
        members
            .iter()
            .filter(|member| self.of(member.id).is_none())
            .map(|member| member.id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_phrased_for_the_viewer_and_for_others() {
        let filed = Ineligible::Conflict(Conflict::Filed, String::new());
        assert!(filed.to_viewer().starts_with("You filed it"));
        assert_eq!(filed.of_member(), "Filed it");
        let owns = Ineligible::Conflict(Conflict::OwnsPolicy, String::new());
        assert_eq!(owns.of_member(), "Owns the policy it is about");
        assert!(!owns.of_member().contains("You"));
        let recused = Ineligible::Conflict(Conflict::Recused, "My firm bids.".to_owned());
        assert_eq!(
            recused.of_member(),
            "Declared a conflict of interest: My firm bids."
        );
    }

    #[test]
    fn the_first_conflict_in_order_is_the_reason() {
        let conflicts = Conflicts(vec![
            ConflictRow {
                user_id: 7,
                conflict: Conflict::Recused,
                detail: "x".to_owned(),
            },
            ConflictRow {
                user_id: 7,
                conflict: Conflict::Filed,
                detail: String::new(),
            },
        ]);
        assert_eq!(
            conflicts.of(7),
            Some(Ineligible::Conflict(Conflict::Filed, String::new()))
        );
        assert_eq!(conflicts.of(8), None);
        assert_eq!(
            conflicts.why_not(8, false),
            Some(Ineligible::NotBoardMember)
        );
    }
}
