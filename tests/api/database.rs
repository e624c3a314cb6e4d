//! How the server's connections meet the database: least privilege that a statement
//! cannot undo, and the session settings every connection runs with.

use std::process::Command;

use sqlx::Executor;

use quorum::risks::repo::RiskQuery;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_servers_connections_never_jit_compile_and_have_timeouts() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.acquire().await.unwrap();
    for (setting, expected) in [
        ("jit", "off"),
        ("statement_timeout", "2min"),
        ("idle_in_transaction_session_timeout", "1min"),
    ] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(value, expected, "{setting}");
    }
}

#[tokio::test]
async fn the_servers_login_is_the_application_role_and_reset_role_cannot_lift_it() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.acquire().await.unwrap();
    conn.execute("RESET ROLE").await.unwrap();
    let (session_user, current_user): (String, String) =
        sqlx::query_as("SELECT session_user::text, current_user::text")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(session_user, "quorum_app");
    assert_eq!(current_user, "quorum_app");
    let error = conn.execute("DELETE FROM audit_events").await.unwrap_err();
    let code = error.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "42501", "after RESET ROLE: {error}");
    let error = conn.execute("SET ROLE postgres").await.unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
}

#[tokio::test]
async fn the_server_refuses_to_start_on_the_owners_login_alone() {
    let app = TestApp::spawn().await;
    let output = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", app.owner_url())
        .env_remove("QUORUM_APP_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("QUORUM_APP_DATABASE_URL"), "{stderr}");
}

/// PostgreSQL may switch a prepared statement to a generic plan after five executions;
/// for the registers' list queries (optional filters) that plan scans the whole register.
/// Run every list query more than five times, with different filters, on one of the
/// server's own connections over a register of 20,000 risks, and check that PostgreSQL
/// planned each execution for its actual values. (Run without `db::planned_for_values`,
/// the decision log's, the policy register's and the project list's queries switch to
/// generic plans here.)
#[tokio::test]
async fn list_queries_are_planned_for_their_values_however_often_they_run() {
    use quorum::common::dates::today;
    let app = TestApp::spawn().await;
    let owner_id = app
        .create_user("manager@example.com", &[quorum::users::Role::ItManager])
        .await;
    let mut owner = app.owner_connection().await;
    sqlx::query(
        "INSERT INTO risks (reference, title, category_id, owner_id, likelihood, impact,
                            residual_likelihood, residual_impact, treatment, next_review_date)
         SELECT 'RSK-' || lpad(n::text, 5, '0'), 'Risk ' || n, c.id, $1, 1 + n % 5,
                1 + n % 4, 1 + n % 3, 1 + n % 2, 'mitigate', current_date + n % 400
         FROM generate_series(1, 20000) n
         CROSS JOIN (SELECT min(id) AS id FROM risk_categories) c",
    )
    .bind(owner_id)
    .execute(&mut owner)
    .await
    .unwrap();
    sqlx::query("ANALYZE").execute(&mut owner).await.unwrap();

    let mut conn = app.pool.acquire().await.unwrap();
    let risk_queries = [
        RiskQuery::all(51),
        RiskQuery {
            id: Some(42),
            ..RiskQuery::all(1)
        },
        RiskQuery {
            status: Some("open".to_owned()),
            ..RiskQuery::all(51)
        },
        RiskQuery {
            above_appetite: true,
            ..RiskQuery::all(51)
        },
        RiskQuery {
            text: Some("Risk 17".to_owned()),
            ..RiskQuery::all(51)
        },
        RiskQuery {
            review_due_before: Some(today()),
            sort: "residual",
            ..RiskQuery::all(51)
        },
    ];
    for _ in 0..8 {
        for query in &risk_queries {
            quorum::risks::repo::find_risks(&mut conn, query)
                .await
                .unwrap();
        }
        let policies = quorum::policies::repo::PolicyQuery {
            limit: 51,
            ..Default::default()
        };
        quorum::policies::repo::find_rows(&mut conn, &policies, today())
            .await
            .unwrap();
        let projects = quorum::projects::repo::ProjectQuery::all(51);
        quorum::projects::repo::find_projects(&mut conn, &projects)
            .await
            .unwrap();
        let decisions = quorum::decisions::repo::DecisionFilter {
            limit: 51,
            ..Default::default()
        };
        quorum::decisions::repo::find_decisions(&mut conn, &decisions)
            .await
            .unwrap();
    }
    let generic: Vec<String> = sqlx::query_scalar(
        // A statement without parameters has only one plan: leave those out.
        "SELECT left(statement, 120) FROM pg_prepared_statements
         WHERE generic_plans > 0 AND cardinality(parameter_types) > 0",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(generic.is_empty(), "planned generically: {generic:#?}");
    let custom: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(custom_plans), 0)::bigint FROM pg_prepared_statements",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(custom >= 48 + 24, "{custom} custom plans");
}
