//! The registers at a large organisation's size (the `quorum bench-data` generator at a
//! small scale): list queries keep to their indexes however PostgreSQL plans them, pages
//! join up without gaps or repeats, and the figures kept up to date match a direct count.

use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};

use quorum::audit::pages::EventFilter;
use quorum::common::dates::today;
use quorum::decisions::repo::{DecisionFilter, DecisionKind};
use quorum::demo::bench_data::{self, Counts, Plan};
use quorum::policies::model::{Lifecycle, PolicyCategory};
use quorum::policies::repo::{PolicyOrder, PolicyQuery};
use quorum::projects::model::{Phase, Rag};
use quorum::projects::repo::{ProjectQuery, RagFilter};
use quorum::risks::model::RiskStatus;
use quorum::risks::repo::{RiskOrder, RiskQuery};
use quorum::users::Role;

use reqwest::StatusCode;

use crate::helpers::{TestApp, TestClient};

/// Generates an organisation of `scale` on the test's database (without an audit trail
/// unless `audit_events` says so: most of these tests do not read it).
async fn generate(app: &TestApp, scale: f64, audit_events: i64) {
    let counts = Counts {
        audit_events,
        ..Counts::at(scale)
    };
    let mut owner = app.owner_connection().await;
    let plan = Plan {
        counts,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$not-used$not-used".to_owned(),
    };
    bench_data::generate(&mut owner, &plan, |_| {})
        .await
        .unwrap();
    owner.close().await.ok();
}

/// The plan PostgreSQL uses for `selection` on one of the server's connections (`conn`,
/// from its pool: generic plans only, its planner settings), as EXPLAIN prints it. A
/// generic plan does not depend on the values, so NULLs stand in for them.
async fn generic_plan(
    conn: &mut PgConnection,
    selection: QueryBuilder<'static, Postgres>,
) -> String {
    let sql = selection.into_sql();
    let parameters = (1..)
        .take_while(|n| sql.contains(&format!("${n}")))
        .map(|_| "NULL")
        .collect::<Vec<_>>()
        .join(", ");
    let explain = if parameters.is_empty() {
        "EXPLAIN EXECUTE listing".to_owned()
    } else {
        format!("EXPLAIN EXECUTE listing({parameters})")
    };
    // The simple protocol: the statement's `$n` belong to PREPARE, not to this message.
    let script = format!(
        "SET plan_cache_mode = force_generic_plan; PREPARE listing AS {sql}; {explain}; \
         DEALLOCATE listing"
    );
    let mut lines = Vec::new();
    let results = sqlx::raw_sql(&script)
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|error| panic!("{error}: {sql}"));
    for row in results {
        lines.push(sqlx::Row::get::<String, _>(&row, 0));
    }
    format!("{sql}\n{}", lines.join("\n"))
}

/// Every list's filters, alone and combined, keep to an index under a generic plan: none
/// reads a whole register (a `Seq Scan` on it). With the former catch-all queries
/// (`$n IS NULL OR ...`), the generic plans of the risk, policy and decision lists did.
#[tokio::test]
async fn list_queries_keep_to_indexes_when_planned_generically() {
    let app = TestApp::spawn().await;
    generate(&app, 0.15, 20_000).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let after = |key: &str, reference: &str| Some((key.to_owned(), reference.to_owned()));
    let residual = |query: RiskQuery| RiskQuery {
        order: RiskOrder::Residual,
        ..query
    };
    let risks = [
        RiskQuery::all(51),
        RiskQuery {
            after: after("", "RSK-1000"),
            ..RiskQuery::all(51)
        },
        residual(RiskQuery::all(51)),
        residual(RiskQuery {
            after: after("088", "RSK-0500"),
            ..RiskQuery::all(51)
        }),
        RiskQuery {
            status: Some(RiskStatus::Treating),
            ..RiskQuery::all(51)
        },
        RiskQuery {
            category_id: Some(2),
            ..RiskQuery::all(51)
        },
        residual(RiskQuery {
            above_appetite: true,
            open_only: true,
            ..RiskQuery::all(25)
        }),
        residual(RiskQuery {
            unapproved_exception_on: Some(today()),
            ..RiskQuery::all(50)
        }),
        residual(RiskQuery {
            review_due_before: Some(today()),
            ..RiskQuery::all(25)
        }),
        RiskQuery {
            cell: Some((3, 4, true)),
            ..RiskQuery::all(51)
        },
        RiskQuery {
            text: Some("payment gateway".to_owned()),
            ..RiskQuery::all(51)
        },
    ];
    let mut plans = Vec::new();
    for query in &risks {
        plans.push(("risks", generic_plan(&mut conn, query.selection()).await));
    }
    let policies = [
        PolicyQuery {
            limit: 51,
            ..Default::default()
        },
        PolicyQuery {
            in_force_only: true,
            after: after("", "POL-0300"),
            limit: 51,
            ..Default::default()
        },
        PolicyQuery {
            category: Some(PolicyCategory::Access),
            limit: 51,
            ..Default::default()
        },
        PolicyQuery {
            lifecycle: Some(Lifecycle::Published),
            limit: 51,
            ..Default::default()
        },
        PolicyQuery {
            text: Some("backup restore".to_owned()),
            limit: 51,
            ..Default::default()
        },
        PolicyQuery {
            overdue_on: Some(today()),
            order: PolicyOrder::Review,
            limit: 11,
            ..Default::default()
        },
        PolicyQuery {
            overdue_on: Some(today()),
            owner_id: Some(30),
            order: PolicyOrder::Review,
            limit: 50,
            ..Default::default()
        },
    ];
    for query in &policies {
        plans.push(("policies", generic_plan(&mut conn, query.selection()).await));
    }
    let projects = [
        ProjectQuery::all(51),
        ProjectQuery {
            manager_id: Some(30),
            ..ProjectQuery::all(51)
        },
        ProjectQuery {
            phase: Some(Phase::InDelivery),
            rag: Some(RagFilter::Rated(Rag::Red)),
            ..ProjectQuery::all(51)
        },
        ProjectQuery {
            ids: Some(vec![1, 2, 3]),
            ..ProjectQuery::all(3)
        },
        ProjectQuery {
            overdue: Some(quorum::projects::model::latest_due_period_ends(today())),
            ..ProjectQuery::all(50)
        },
        ProjectQuery {
            active_only: true,
            order: quorum::projects::repo::ProjectOrder::Rag,
            ..ProjectQuery::all(25)
        },
        ProjectQuery {
            active_only: true,
            asking_board: true,
            ..ProjectQuery::all(30)
        },
    ];
    for query in &projects {
        plans.push(("projects", generic_plan(&mut conn, query.selection()).await));
    }
    let decisions = [
        DecisionFilter {
            limit: 51,
            ..Default::default()
        },
        DecisionFilter {
            kind: Some(DecisionKind::Resolution),
            limit: 51,
            ..Default::default()
        },
        DecisionFilter {
            project_id: Some(40),
            limit: 100,
            ..Default::default()
        },
        DecisionFilter {
            risk_id: Some(40),
            limit: 100,
            ..Default::default()
        },
        DecisionFilter {
            policy_id: Some(40),
            limit: 100,
            ..Default::default()
        },
    ];
    for query in &decisions {
        plans.push((
            "decisions",
            generic_plan(&mut conn, query.selection()).await,
        ));
    }
    // The trail (the auditor's filters other than a part of the actor's name, which has
    // no index and reads the trail from the newest event back until a page is full).
    let text = |value: &str| Some(value.to_owned());
    let trail = [
        EventFilter::default(),
        EventFilter {
            entity_type: text("risk"),
            entity_id: text("RSK-0040"),
            ..Default::default()
        },
        EventFilter {
            entity_type: text("policy"),
            ..Default::default()
        },
        EventFilter {
            from: Some(today()),
            to: Some(today()),
            ..Default::default()
        },
    ];
    for filter in &trail {
        plans.push((
            "audit_events",
            generic_plan(&mut conn, filter.page_selection(Some(5_000), 51)).await,
        ));
    }
    if std::env::var("QUORUM_SHOW_PLANS").is_ok() {
        for (_, plan) in &plans {
            eprintln!("{plan}\n");
        }
    }
    let scans: Vec<&String> = plans
        .iter()
        .filter(|(table, plan)| plan.contains(&format!("Seq Scan on {table}")))
        .map(|(_, plan)| plan)
        .collect();
    assert!(scans.is_empty(), "whole-register scans:\n{scans:#?}");
}

/// Walking the register page by page (as the list's "next" link does) visits every risk
/// once, in number order (`RSK-9999` before `RSK-10000`) or highest residual score first,
/// whatever the filters.
#[tokio::test]
async fn register_pages_join_up_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    generate(&app, 0.02, 0).await;
    let mut owner = app.owner_connection().await;
    // References past 9,999 sort by their number.
    sqlx::query("SELECT setval('risk_reference_seq', 9998)")
        .execute(&mut owner)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let owner_id: i64 = sqlx::query_scalar("SELECT min(owner_id) FROM risks")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    for _ in 0..3 {
        let fields = quorum::risks::repo::RiskFields {
            title: "Past the four digits".to_owned(),
            description: String::new(),
            category_id: 1,
            owner_id,
            project_ids: vec![],
            objective_ids: vec![],
            likelihood: 2,
            impact: 2,
            controls: String::new(),
            residual_likelihood: 1,
            residual_impact: 1,
            treatment: quorum::risks::model::Treatment::Mitigate,
            treatment_plan: String::new(),
            next_review_date: today(),
            status: RiskStatus::Open,
        };
        quorum::risks::repo::create(&mut conn, &fields, owner_id)
            .await
            .unwrap();
    }
    for (query, expected_order) in [
        (RiskQuery::all(51), "ORDER BY length(reference), reference"),
        (
            RiskQuery {
                order: RiskOrder::Residual,
                ..RiskQuery::all(51)
            },
            "ORDER BY residual_likelihood * residual_impact DESC, length(reference), reference",
        ),
        (
            RiskQuery {
                status: Some(RiskStatus::Open),
                order: RiskOrder::Residual,
                ..RiskQuery::all(51)
            },
            "WHERE status = 'open' \
             ORDER BY residual_likelihood * residual_impact DESC, length(reference), reference",
        ),
    ] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = quorum::risks::repo::find_risks(
                &mut conn,
                &RiskQuery {
                    after: after.clone(),
                    ..query.clone()
                },
            )
            .await
            .unwrap();
            let full = page.len() == 51;
            let shown = &page[..page.len().min(50)];
            walked.extend(shown.iter().map(|row| row.risk.reference.clone()));
            match shown.last() {
                Some(last) if full => {
                    after = Some((last.sort_key.clone(), last.risk.reference.clone()))
                }
                _ => break,
            }
        }
        let direct: Vec<String> =
            sqlx::query_scalar(&format!("SELECT reference FROM risks {expected_order}"))
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert!(direct.len() > 150, "{} risks: a few pages", direct.len());
        assert_eq!(walked, direct, "{expected_order}");
    }
    // The register as it stood a moment ago pages the same way, after a reference.
    let moment = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = quorum::risks::repo::as_of(&mut conn, moment, after.as_deref(), 51)
            .await
            .unwrap();
        let full = page.len() == 51;
        let shown = &page[..page.len().min(50)];
        walked.extend(shown.iter().map(|risk| risk.reference.clone()));
        match shown.last() {
            Some(last) if full => after = Some(last.reference.clone()),
            _ => break,
        }
    }
    let assessed: Vec<String> = sqlx::query_scalar(
        "SELECT reference FROM risks r
         WHERE EXISTS (SELECT FROM risk_assessments a WHERE a.risk_id = r.id)
         ORDER BY length(reference), reference",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(assessed.len() > 150, "{} risks assessed", assessed.len());
    assert_eq!(walked, assessed, "the register as of a moment");
    let last: Vec<String> = sqlx::query_scalar(
        "SELECT reference FROM risks ORDER BY length(reference) DESC, reference DESC LIMIT 3",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert_eq!(last, ["RSK-10001", "RSK-10000", "RSK-9999"]);
}

/// Follows a list's next-page links from `first`, collecting the links to requests in the
/// part of each page after `section`, until a page has no link starting with `next` (as
/// the page writes it, `&amp;` and all).
async fn walk_request_links(
    client: &TestClient,
    first: &str,
    section: &str,
    next: &str,
) -> Vec<String> {
    let mut walked = Vec::new();
    let mut path = first.to_owned();
    loop {
        let (status, html) = client.page(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let list = html.split(section).nth(1).unwrap();
        walked.extend(
            list.split("<a href=\"")
                .skip(1)
                .map(|link| link.split('"').next().unwrap().to_owned())
                .filter(|href| href.starts_with("/board/requests/")),
        );
        match list.split(&format!("href=\"{next}")).nth(1) {
            Some(rest) => {
                let href = format!("{next}{}", rest.split('"').next().unwrap());
                path = href.replace("&amp;", "&");
            }
            None => return walked,
        }
    }
}

/// The board's list of open requests, a page at a time by due date (newest first on the
/// same day), shows every open request once and in order, many sharing a due date.
#[tokio::test]
async fn open_request_pages_join_up_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    generate(&app, 0.2, 0).await;
    let mut owner = app.owner_connection().await;
    sqlx::query(
        "UPDATE approval_requests SET due_date = current_date + 30
         WHERE status = 'open' AND id % 3 = 0",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let direct: Vec<String> = sqlx::query_scalar(
        "SELECT '/board/requests/' || id FROM approval_requests WHERE status = 'open'
         ORDER BY due_date, id DESC",
    )
    .fetch_all(&mut owner)
    .await
    .unwrap();
    assert!(
        direct.len() > 50,
        "{} open requests: more than a page",
        direct.len()
    );
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    let walked = walk_request_links(
        &member,
        "/board/requests",
        "All open requests",
        "/board/requests?after_due=",
    )
    .await;
    assert_eq!(walked, direct);
    // A malformed position is the first page, not an error.
    let (status, _) = member
        .page("/board/requests?after_due=9999-99-99&after_id=x")
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// The inbox takes the soonest 25 of each kind of task and says where the rest are,
/// however many requests wait for a vote.
#[tokio::test]
async fn the_inbox_lists_the_soonest_of_each_task_and_points_to_the_rest() {
    let app = TestApp::spawn().await;
    generate(&app, 0.1, 0).await;
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM approval_requests WHERE status = 'open'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(waiting > 25, "{waiting} open requests");
    let (status, inbox) = member.page("/inbox").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(inbox.matches(">Vote on ").count(), 25);
    assert!(inbox.contains("More requests wait for your vote than are listed here."));
    // The soonest due are the ones listed.
    let soonest: time::Date = sqlx::query_scalar(
        "SELECT due_date FROM approval_requests WHERE status = 'open'
         ORDER BY due_date LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(inbox.contains(&format!("due {soonest}")));
}

/// Each watched list of policy exceptions, a page at a time, shows its exceptions once and
/// in its order (in force soonest to expire, expired latest first, many on the same day);
/// the register's panel counts them and shows the most pressing.
#[tokio::test]
async fn exception_lists_page_in_their_order_and_the_register_counts_them() {
    let app = TestApp::spawn().await;
    generate(&app, 0.2, 0).await;
    let mut owner = app.owner_connection().await;
    // Many in force and many expired, several on the same day.
    sqlx::query(
        "UPDATE policy_exceptions SET
                starts_on = current_date - 200,
                expires_on = CASE WHEN request_id % 2 = 0
                                  THEN current_date + (request_id % 7)::integer
                                  ELSE current_date - 1 - (request_id % 5)::integer END",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let board = app.signed_in("member@example.com", &[Role::Board]).await;
    for (list, order) in [
        (
            "in_force",
            "WHERE pe.expires_on >= current_date AND pe.starts_on <= current_date \
             ORDER BY pe.expires_on, pe.request_id",
        ),
        (
            "expired",
            "WHERE pe.expires_on < current_date ORDER BY pe.expires_on DESC, pe.request_id DESC",
        ),
    ] {
        let direct: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT '/board/requests/' || pe.request_id FROM policy_exceptions pe
             JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved' {order}"
        ))
        .fetch_all(&mut owner)
        .await
        .unwrap();
        assert!(direct.len() > 50, "{list}: {} exceptions", direct.len());
        let first = format!("/board/policies/exceptions?list={list}");
        let next = format!("{first}&amp;after_date=");
        let walked = walk_request_links(&board, &first, "<tbody>", &next).await;
        assert_eq!(walked, direct, "{list}");
    }
    let count = |condition: &str| {
        format!(
            "SELECT count(*) FROM policy_exceptions pe
             JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved'
             WHERE {condition}"
        )
    };
    let in_force: i64 = sqlx::query_scalar(&count(
        "pe.expires_on >= current_date AND pe.starts_on <= current_date",
    ))
    .fetch_one(&mut owner)
    .await
    .unwrap();
    let recently_expired: i64 = sqlx::query_scalar(&count(
        "pe.expires_on < current_date AND pe.expires_on >= current_date - 90",
    ))
    .fetch_one(&mut owner)
    .await
    .unwrap();
    let awaiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM approval_requests
         WHERE kind = 'policy_exception' AND status IN ('draft', 'open')",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    let (_, register) = board.page("/board/policies").await;
    let panel = register.split(r#"id="policy-exceptions""#).nth(1).unwrap();
    for expected in [
        format!("<strong>{awaiting}</strong> awaiting the board"),
        format!("<strong>{in_force}</strong> in force"),
        format!("<strong>{recently_expired}</strong> expired in the last 90 days"),
    ] {
        assert!(panel.contains(&expected), "{expected}");
    }
    // The panel shows ten: those awaiting the board first, then the soonest to expire.
    let shown = panel
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .matches("<tr>")
        .count();
    assert_eq!(shown, 10);
    let first_state = if awaiting > 0 {
        "Awaiting the board"
    } else {
        "In force"
    };
    assert!(
        panel
            .split("<tbody>")
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap()
            .contains(first_state)
    );
    // Later pages of the register leave the panel out; a malformed position is the
    // first page.
    let (_, second) = board.page("/board/policies?after=x&after_ref=POL-1").await;
    assert!(!second.contains(r#"id="policy-exceptions""#));
    let (status, _) = board
        .page("/board/policies/exceptions?list=nonsense&after_date=9999-99-99&after_id=x")
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// The heat maps' counts, kept by a trigger, equal a count of the register after risks
/// are added, re-rated, closed and reopened.
#[tokio::test]
async fn heat_map_counts_follow_every_change_to_the_register() {
    let app = TestApp::spawn().await;
    generate(&app, 0.01, 0).await;
    let mut conn = app.pool.acquire().await.unwrap();
    let direct = "SELECT likelihood, impact, residual_likelihood, residual_impact, count(*)
                  FROM risks WHERE status <> 'closed'
                  GROUP BY likelihood, impact, residual_likelihood, residual_impact";
    let check = |label: &'static str| {
        let pool = app.pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            let (inherent, residual) = quorum::risks::repo::heat_maps(&mut conn).await.unwrap();
            let rows: Vec<(i16, i16, i16, i16, i64)> =
                sqlx::query_as(direct).fetch_all(&mut *conn).await.unwrap();
            let mut expected_inherent = quorum::risks::model::HeatMap::default();
            let mut expected_residual = quorum::risks::model::HeatMap::default();
            for (l, i, rl, ri, count) in rows {
                expected_inherent.add(l, i, count);
                expected_residual.add(rl, ri, count);
            }
            assert!(inherent.total() > 0, "{label}");
            assert_eq!(
                (inherent, residual),
                (expected_inherent, expected_residual),
                "{label}"
            );
        }
    };
    check("generated").await;
    for statement in [
        "UPDATE risks SET likelihood = 5, residual_impact = 4 WHERE id % 3 = 0",
        "UPDATE risks SET status = 'closed' WHERE id % 4 = 0",
        "UPDATE risks SET status = 'open', impact = 1 WHERE id % 8 = 0",
        "UPDATE risks SET title = title || '.' WHERE id % 2 = 0",
    ] {
        sqlx::query(statement).execute(&mut *conn).await.unwrap();
        check(statement).await;
    }
}

/// Whether a risk is above its category's appetite, kept on the risk, agrees with a direct
/// comparison after ratings, categories and appetites change (and after an appetite is
/// removed); the board's "above appetite" list reads it.
#[tokio::test]
async fn above_appetite_follows_ratings_categories_and_appetites() {
    let app = TestApp::spawn().await;
    generate(&app, 0.01, 0).await;
    let mut owner = app.owner_connection().await;
    let direct = "SELECT r.id FROM risks r JOIN risk_categories c ON c.id = r.category_id
                  WHERE r.status <> 'closed'
                    AND r.residual_likelihood * r.residual_impact > c.appetite
                  ORDER BY r.id";
    let check = |label: &'static str| {
        let pool = app.pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            let listed = RiskQuery {
                above_appetite: true,
                open_only: true,
                ..RiskQuery::all(100_000)
            };
            let mut kept: Vec<i64> = quorum::risks::repo::risks(&mut conn, &listed)
                .await
                .unwrap()
                .into_iter()
                .map(|risk| risk.id)
                .collect();
            kept.sort_unstable();
            let expected: Vec<i64> = sqlx::query_scalar(direct)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            assert_eq!(kept, expected, "{label}");
            expected.len()
        }
    };
    let mut most_above = check("generated").await;
    for statement in [
        "UPDATE risks SET residual_likelihood = 5, residual_impact = 5 WHERE id % 5 = 0",
        "UPDATE risks SET residual_likelihood = 1, residual_impact = 1 WHERE id % 7 = 0",
        "UPDATE risks SET category_id = (SELECT min(id) FROM risk_categories) WHERE id % 3 = 0",
        "UPDATE risk_categories SET appetite = 4 WHERE id = (SELECT min(id) FROM risk_categories)",
        "UPDATE risk_categories SET appetite = 20",
        "UPDATE risk_categories SET appetite = NULL WHERE id % 2 = 0",
        "INSERT INTO risks (reference, title, category_id, owner_id, likelihood, impact,
                            residual_likelihood, residual_impact, treatment, next_review_date)
         SELECT 'RSK-99999', 'Added', min(c.id), min(u.id), 5, 5, 5, 5, 'mitigate', current_date
         FROM risk_categories c, users u",
    ] {
        sqlx::query(statement).execute(&mut owner).await.unwrap();
        most_above = most_above.max(check(statement).await);
    }
    assert!(most_above > 0, "no risk was ever above appetite");
}

/// The portfolio's figures, kept by a trigger, equal the sums over every project and its
/// latest report after projects change phase, budget, objective and latest report.
#[tokio::test]
async fn portfolio_figures_follow_every_change_to_the_projects() {
    let app = TestApp::spawn().await;
    generate(&app, 0.02, 0).await;
    let mut owner = app.owner_connection().await;
    let direct_cells =
        "SELECT p.phase, r.overall_rag, count(*)::bigint, sum(p.approved_budget)::bigint,
                               coalesce(sum(r.spend_to_date), 0)::bigint,
                               sum(coalesce(r.forecast_at_completion, p.approved_budget))::bigint
                        FROM projects p LEFT JOIN status_reports r ON r.id = p.last_report_id
                        GROUP BY p.phase, r.overall_rag ORDER BY 1, 2";
    let direct_objectives = "SELECT o.id, r.overall_rag, count(p.id)::bigint,
                                    coalesce(sum(p.approved_budget), 0)::bigint,
                                    coalesce(sum(coalesce(r.forecast_at_completion, p.approved_budget)), 0)::bigint
                             FROM objectives o
                             LEFT JOIN projects p ON p.objective_id = o.id AND p.phase <> 'cancelled'
                             LEFT JOIN status_reports r ON r.id = p.last_report_id
                             GROUP BY o.id, r.overall_rag ORDER BY 1, 2";
    type Cell = (String, Option<String>, i64, i64, i64, i64);
    type ObjectiveCell = (i64, Option<String>, i64, i64, i64);
    let check = |label: &'static str| {
        let pool = app.pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            let mut kept: Vec<Cell> = quorum::projects::repo::portfolio_cells(&mut conn)
                .await
                .unwrap()
                .into_iter()
                .map(|c| {
                    let rag = c.rag.map(|rag| rag.as_str().to_owned());
                    (
                        c.phase.as_str().to_owned(),
                        rag,
                        c.projects,
                        c.budget,
                        c.spend,
                        c.forecast,
                    )
                })
                .collect();
            kept.sort();
            let mut direct: Vec<Cell> = sqlx::query_as(direct_cells)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            direct.sort();
            assert!(direct.len() > 5, "{label}");
            assert_eq!(kept, direct, "{label}: phase × RAG");
            let mut kept: Vec<ObjectiveCell> = quorum::projects::repo::objective_cells(&mut conn)
                .await
                .unwrap()
                .into_iter()
                .map(|c| {
                    let rag = c.rag.map(|rag| rag.as_str().to_owned());
                    (c.objective_id, rag, c.projects, c.budget, c.forecast)
                })
                .collect();
            kept.sort();
            let mut direct: Vec<ObjectiveCell> = sqlx::query_as(direct_objectives)
                .fetch_all(&mut *conn)
                .await
                .unwrap();
            direct.sort();
            assert_eq!(kept, direct, "{label}: objective × RAG");
        }
    };
    check("generated").await;
    for statement in [
        "UPDATE projects SET phase = 'closed' WHERE id % 5 = 0",
        "UPDATE projects SET approved_budget = approved_budget + 12345 WHERE id % 3 = 0",
        "UPDATE projects SET objective_id = (SELECT min(id) FROM objectives) WHERE id % 7 = 0",
        "UPDATE projects p SET last_report_id = (SELECT min(r.id) FROM status_reports r
                                                  WHERE r.project_id = p.id)
         WHERE id % 4 = 0",
        "UPDATE projects SET phase = 'cancelled', name = name || '.' WHERE id % 11 = 0",
    ] {
        sqlx::query(statement).execute(&mut owner).await.unwrap();
        check(statement).await;
    }
    // The attention order and the reported period follow the latest report too.
    let stale: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projects p LEFT JOIN status_reports r ON r.id = p.last_report_id
         WHERE p.rag_order <> CASE r.overall_rag WHEN 'red' THEN '0' WHEN 'amber' THEN '1'
                                                 WHEN 'green' THEN '2' ELSE '3' END
            OR p.reported_through IS DISTINCT FROM r.period_end
            OR p.asks_board <> (coalesce(r.decisions_needed, '') <> '')",
    )
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert_eq!(stale, 0);
}

/// The statements the server ran on this test's database since the last reset.
async fn statements_run(owner: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND query NOT ILIKE '%pg_stat_statements%'",
    )
    .fetch_one(owner)
    .await
    .unwrap()
}

/// How many statements each main page runs, read from `pg_stat_statements`.
async fn statements_per_page(app: &TestApp) -> Vec<(String, i64)> {
    let board = app
        .signed_in("counted-board@example.com", &[Role::Board])
        .await;
    let manager = app
        .signed_in("counted-manager@example.com", &[Role::ItManager])
        .await;
    let auditor = app
        .signed_in("counted-auditor@example.com", &[Role::Auditor])
        .await;
    let mut owner = app.owner_connection().await;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut owner)
        .await
        .expect("the test cluster loads pg_stat_statements (shared_preload_libraries)");
    let pages: [(&TestClient, &str); 16] = [
        (&board, "/board"),
        (&board, "/board/portfolio"),
        (&board, "/board/requests"),
        (&board, "/inbox"),
        (&board, "/board/risks"),
        (&board, "/board/risks/register"),
        (&board, "/decisions"),
        (&manager, "/manage"),
        (&manager, "/manage/projects"),
        (&manager, "/manage/requests"),
        (&manager, "/manage/risks"),
        (&manager, "/manage/policies"),
        (&auditor, "/audit"),
        (&auditor, "/audit/events"),
        (&auditor, "/compliance"),
        (&auditor, "/compliance/soa"),
    ];
    let mut counts = Vec::new();
    for (client, path) in pages {
        // Once to fill the connection's statement cache, then counted.
        assert_eq!(client.page(path).await.0, StatusCode::OK, "{path}");
        sqlx::query(
            "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database
                                                 WHERE datname = current_database()), 0)",
        )
        .execute(&mut owner)
        .await
        .unwrap();
        let before = statements_run(&mut owner).await;
        assert_eq!(client.page(path).await.0, StatusCode::OK, "{path}");
        counts.push((path.to_owned(), statements_run(&mut owner).await - before));
    }
    counts
}

/// No main page runs more statements because the registers are larger: the counts on
/// the demo organisation and on a generated one of thousands match (`pg_stat_statements`).
#[tokio::test]
async fn no_page_runs_more_statements_as_the_registers_grow() {
    let small = TestApp::spawn().await;
    small.load_demo().await;
    let small_counts = statements_per_page(&small).await;

    let large = TestApp::spawn().await;
    large.load_demo().await;
    generate(&large, 0.05, 20_000).await;
    let large_counts = statements_per_page(&large).await;

    // A list of requests reads its subjects with one statement per kind present (four
    // kinds): which kinds the first lines hold may differ, nothing else may.
    const SUBJECT_KINDS_BEYOND_ONE: i64 = 3;
    for ((path, small), (_, large)) in small_counts.iter().zip(&large_counts) {
        assert!(*small > 0, "{path}: no statement counted");
        assert!(
            *large <= small + SUBJECT_KINDS_BEYOND_ONE && *large <= 20,
            "{path}: {small} statements on the demo, {large} on the generated organisation\n\
             {small_counts:?}\n{large_counts:?}"
        );
    }
}
