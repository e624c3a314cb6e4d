//! Lists with optional filters, as specific queries.
//!
//! One prepared statement with `$n IS NULL OR ...` for every optional filter gets one
//! generic plan for all the combinations (Quorum's connections plan generically from the
//! first execution: [`crate::db::app_session`]), and that plan cannot use the index a
//! given filter or sort needs: it scans the register. Instead a list selects its
//! page of ids with a statement built from only the filters that are set (each
//! combination its own statement, its own plan), then reads those rows by id with one
//! fixed query.

use std::collections::HashMap;

use sqlx::{PgConnection, Postgres, QueryBuilder};

/// The id selection of one page of a list: `SELECT <id>, <sort key> FROM ...`, then
/// conditions, then the order and the limit.
pub struct Listing<'a> {
    sql: QueryBuilder<'a, Postgres>,
    has_where: bool,
    /// Selects the matching rows first, then sorts them (see [`Listing::matches_first`]).
    matches_first: bool,
}

impl<'a> Listing<'a> {
    /// `select` selects the id (bigint) and the sort key (text), in that order, and names
    /// the tables.
    pub fn new(select: &str) -> Self {
        Self {
            sql: QueryBuilder::new(select),
            has_where: false,
            matches_first: false,
        }
    }

    /// A list whose filter is selective in a way no plan can estimate (a date against
    /// today's): the rows matching it are found first (by the filter's index), then sorted.
    /// Otherwise a generic plan may walk the sort order's index and test row after row of
    /// the register, looking for the few that match. Selects `id`, and the sort key `key`
    /// with `reference`'s order after it, from `from` (a table and its alias).
    pub fn matches_first(id: &str, key: &str, reference: &str, from: &str) -> Self {
        Self {
            sql: QueryBuilder::new(format!(
                "SELECT id, sort_key FROM (SELECT {id} AS id, {key} AS sort_key, \
                 reference_order({reference}) AS tiebreak FROM {from}"
            )),
            has_where: false,
            matches_first: true,
        }
    }

    /// Continues a statement begun by the caller (a `WITH` clause with values, then the
    /// `SELECT` as for [`Listing::new`]).
    pub fn continuing(sql: QueryBuilder<'a, Postgres>) -> Self {
        Self {
            sql,
            has_where: false,
            matches_first: false,
        }
    }

    /// Adds a condition (`sql`, then whatever is pushed onto the returned builder).
    pub fn and(&mut self, sql: &str) -> &mut QueryBuilder<'a, Postgres> {
        self.sql
            .push(if self.has_where { " AND " } else { " WHERE " });
        self.has_where = true;
        self.sql.push(sql)
    }

    /// Orders by `key`, then by the reference (`reference` names its column) unless the key
    /// is the reference's own order, continues after `after` (the last row's sort key and
    /// reference), and limits: keyset paging. Every list's keys are text.
    pub fn keyset_page(
        mut self,
        key: &str,
        reference: &str,
        after: Option<&(String, String)>,
        limit: i64,
    ) -> QueryBuilder<'a, Postgres> {
        let reference_order = format!("reference_order({reference})");
        let order = if key == reference_order {
            if let Some((_, after_reference)) = after {
                self.and(&format!("{reference_order} > reference_order("))
                    .push_bind(after_reference.clone())
                    .push(")");
            }
            reference_order
        } else {
            if let Some((after_key, after_reference)) = after {
                self.and(&format!("({key}, {reference_order}) > ("))
                    .push_bind(after_key.clone())
                    .push(", reference_order(")
                    .push_bind(after_reference.clone())
                    .push("))");
            }
            format!("{key}, {reference_order}")
        };
        if self.matches_first {
            return self.order_by("sort_key, tiebreak", limit);
        }
        self.order_by(&order, limit)
    }

    /// Orders and limits the selection; the statement is ready to run. (After
    /// [`Listing::matches_first`], `order` names the columns `sort_key` and `tiebreak`.)
    pub fn order_by(mut self, order: &str, limit: i64) -> QueryBuilder<'a, Postgres> {
        if self.matches_first {
            // OFFSET 0 keeps the sort out of the subquery's plan.
            self.sql.push(" OFFSET 0) matches");
        }
        self.sql.push(" ORDER BY ").push(order).push(" LIMIT ");
        self.sql.push_bind(limit);
        self.sql
    }
}

/// Runs a selection: the ids of one page in list order, with their sort keys.
pub async fn select_ids(
    conn: &mut PgConnection,
    mut selection: QueryBuilder<'_, Postgres>,
) -> sqlx::Result<Vec<(i64, String)>> {
    selection
        .build_query_as::<(i64, String)>()
        .fetch_all(conn)
        .await
}

/// Several lists of one page each, for a page that shows them side by side: runs each
/// selection, then reads every row they name with one `read` by id (one statement per
/// list plus one, not two per list), and gives each list its rows in order.
pub async fn several_pages<T: Clone, const N: usize>(
    conn: &mut PgConnection,
    selections: [QueryBuilder<'_, Postgres>; N],
    read: impl AsyncFnOnce(&mut PgConnection, &[i64]) -> sqlx::Result<Vec<T>>,
    id_of: impl Fn(&T) -> i64,
) -> sqlx::Result<[Vec<T>; N]> {
    let mut pages = Vec::with_capacity(N);
    for selection in selections {
        pages.push(select_ids(conn, selection).await?);
    }
    let mut ids: Vec<i64> = pages.iter().flatten().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = read(conn, &ids).await?;
    let by_id: HashMap<i64, &T> = rows.iter().map(|row| (id_of(row), row)).collect();
    Ok(std::array::from_fn(|n| {
        pages[n]
            .iter()
            .filter_map(|(id, _)| by_id.get(id).map(|row| (*row).clone()))
            .collect()
    }))
}

/// Puts rows read by id (in any order) in the order of `page`, each with its sort key.
pub fn in_page_order<T>(
    page: &[(i64, String)],
    rows: Vec<T>,
    id_of: impl Fn(&T) -> i64,
) -> Vec<(T, String)> {
    let mut by_id: HashMap<i64, T> = rows.into_iter().map(|row| (id_of(&row), row)).collect();
    page.iter()
        .filter_map(|(id, key)| by_id.remove(id).map(|row| (row, key.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_conditions_given_are_in_the_statement() {
        let mut listing = Listing::new("SELECT r.id, r.reference FROM risks r");
        listing.and("r.status = ").push_bind("open");
        listing.and("r.category_id = ").push_bind(3_i64);
        let sql = listing.order_by("r.reference", 51).into_sql();
        assert_eq!(
            sql,
            "SELECT r.id, r.reference FROM risks r WHERE r.status = $1 AND r.category_id = $2 \
             ORDER BY r.reference LIMIT $3"
        );
        let sql = Listing::new("SELECT id, reference FROM risks")
            .order_by("reference", 1)
            .into_sql();
        assert_eq!(
            sql,
            "SELECT id, reference FROM risks ORDER BY reference LIMIT $1"
        );
    }

    #[test]
    fn a_page_continues_after_the_last_rows_key_and_reference() {
        let after = ("088".to_owned(), "RSK-0500".to_owned());
        let sql = Listing::new("SELECT r.id, k FROM risks r")
            .keyset_page("k", "r.reference", Some(&after), 51)
            .into_sql();
        assert_eq!(
            sql,
            "SELECT r.id, k FROM risks r \
             WHERE (k, reference_order(r.reference)) > ($1, reference_order($2)) \
             ORDER BY k, reference_order(r.reference) LIMIT $3"
        );
        let by_reference = "reference_order(r.reference)";
        let sql = Listing::new("SELECT r.id, k FROM risks r")
            .keyset_page(by_reference, "r.reference", Some(&after), 51)
            .into_sql();
        assert_eq!(
            sql,
            "SELECT r.id, k FROM risks r \
             WHERE reference_order(r.reference) > reference_order($1) \
             ORDER BY reference_order(r.reference) LIMIT $2"
        );
    }

    #[test]
    fn matches_first_filters_in_a_subquery_and_sorts_outside_it() {
        let after = ("1".to_owned(), "PRJ-0009".to_owned());
        let mut listing =
            Listing::matches_first("p.id", "p.rag_order", "p.reference", "projects p");
        listing.and("p.start_date <= ").push_bind("2026-11-30");
        let sql = listing
            .keyset_page("p.rag_order", "p.reference", Some(&after), 11)
            .into_sql();
        assert_eq!(
            sql,
            "SELECT id, sort_key FROM (SELECT p.id AS id, p.rag_order AS sort_key, \
             reference_order(p.reference) AS tiebreak FROM projects p \
             WHERE p.start_date <= $1 \
             AND (p.rag_order, reference_order(p.reference)) > ($2, reference_order($3)) \
             OFFSET 0) matches ORDER BY sort_key, tiebreak LIMIT $4"
        );
    }

    #[test]
    fn rows_follow_the_page_and_missing_ones_are_left_out() {
        let page = [
            (3, "a".to_owned()),
            (1, "b".to_owned()),
            (2, "c".to_owned()),
        ];
        let rows = in_page_order(&page, vec![1, 3], |n| *n);
        assert_eq!(rows, vec![(3, "a".to_owned()), (1, "b".to_owned())]);
    }
}
