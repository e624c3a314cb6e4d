//! The portfolio loop: managers propose projects and report on them, the board approves
//! budgets and watches the dashboard.

use quorum::projects::model::{Cadence, Period};
use quorum::users::Role;
use reqwest::StatusCode;
use sqlx::Executor;

use crate::helpers::{TestApp, TestClient, assert_redirects_to, location};

fn last_month() -> Period {
    Period::containing(Cadence::Monthly, quorum::common::dates::today()).previous(Cadence::Monthly)
}

/// A complete, valid report form for `period`, with `overrides` replacing fields.
fn report_fields(
    period: &Period,
    overrides: &[(&'static str, &'static str)],
) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        ("period_start", period.start.to_string()),
        ("overall_rag", "amber".to_owned()),
        ("schedule_rag", "amber".to_owned()),
        ("budget_rag", "green".to_owned()),
        ("scope_rag", "green".to_owned()),
        (
            "rag_explanation",
            "Supplier two weeks late; recovery plan agreed.".to_owned(),
        ),
        ("percent_complete", "35".to_owned()),
        ("spend_to_date", "42,500".to_owned()),
        ("forecast_at_completion", "120000".to_owned()),
        ("highlights", "Design signed off.".to_owned()),
        ("issues", "Supplier capacity.".to_owned()),
        (
            "decisions_needed",
            "Approve the second wave window.".to_owned(),
        ),
        ("next_steps", "Start the build.".to_owned()),
        ("milestone_name", "Design sign-off".to_owned()),
        ("milestone_planned", period.start.to_string()),
        ("milestone_actual", period.start.to_string()),
        ("action", "submit".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    for (name, value) in overrides {
        fields.retain(|(field, _)| field != name);
        fields.push(((*name).to_owned(), (*value).to_owned()));
    }
    fields
}

async fn post(client: &TestClient, path: &str, fields: &[(String, String)]) -> reqwest::Response {
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    client.post_form(path, &borrowed).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn a_project_goes_from_proposal_to_a_report_the_board_sees() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;

    // The board sets an objective; the manager proposes a project for it.
    let response = chair
        .post_form(
            "/board/objectives",
            &[("title", "Resilient operations"), ("description", "")],
        )
        .await;
    assert_redirects_to(&response, "/board/objectives");
    let objective_id = count(&app, "SELECT id FROM objectives").await;
    let objective_text = objective_id.to_string();
    let start = (quorum::common::dates::today() - time::Duration::days(90)).to_string();
    let end = (quorum::common::dates::today() + time::Duration::days(200)).to_string();
    let response = manager
        .post_form(
            "/manage/projects",
            &[
                ("name", "Data-centre exit"),
                ("description", "Move to the cloud."),
                ("sponsor", "COO"),
                ("manager", "manager@example.com"),
                ("objective_id", &objective_text),
                ("start_date", &start),
                ("planned_end_date", &end),
                ("reporting_cadence", "monthly"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let project_path = location(response.headers());
    let project_id: i64 = project_path.rsplit('/').next().unwrap().parse().unwrap();
    let (_, page) = manager.page(&project_path).await;
    assert!(page.contains("PRJ-0001"));
    assert!(page.contains("Proposed"));

    // A proposed project takes no report until the board approves it with a budget.
    let refused = manager
        .get(&format!("/manage/projects/{project_id}/reports/new"))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    // The board approves it by approving its budget request (the chair is the only voter).
    let year = quorum::common::dates::today().year().to_string();
    let due = (quorum::common::dates::today() + time::Duration::days(7)).to_string();
    let project_text = project_id.to_string();
    let response = manager
        .post_form(
            "/manage/requests",
            &[
                ("title", "Business case approved"),
                ("project_id", &project_text),
                ("amount", "100,000"),
                ("spend_type", "capex"),
                ("fiscal_year", &year),
                ("due_date", &due),
                ("benefits", "Exit the data centre"),
                ("costs", "100k"),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let request_id: i64 = sqlx::query_scalar("SELECT id FROM approval_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let vote_path = format!("/board/requests/{request_id}/vote");
    let response = chair.post_form(&vote_path, &[("choice", "approve")]).await;
    assert_redirects_to(&response, &format!("/board/requests/{request_id}"));
    let (_, page) = manager.page(&project_path).await;
    assert!(page.contains("Approved"));
    assert!(page.contains("100,000"));
    assert!(page.contains("Business case approved"));

    // The manager files and submits last month's report.
    let period = last_month();
    let response = post(
        &manager,
        &format!("/manage/projects/{project_id}/reports"),
        &report_fields(&period, &[]),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        response.text().await
    );
    let report_path = location(response.headers());
    let report_id = report_path.rsplit('/').next().unwrap().to_owned();
    let (_, report_page) = manager.page(&report_path).await;
    assert!(report_page.contains("Supplier two weeks late"));
    assert!(report_page.contains("Design sign-off"));

    // The board's dashboard shows it, and its figures match the database.
    let (status, dashboard) = chair.page("/board/portfolio").await;
    assert_eq!(status, StatusCode::OK);
    let (budget, spend, forecast): (i64, i64, i64) = sqlx::query_as(
        "SELECT sum(p.approved_budget)::bigint, sum(r.spend_to_date)::bigint,
                sum(coalesce(r.forecast_at_completion, p.approved_budget))::bigint
         FROM projects p LEFT JOIN status_reports r ON r.id = p.last_report_id
         WHERE p.phase <> 'cancelled'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (budget, spend, forecast),
        (10_000_000, 4_250_000, 12_000_000)
    );
    assert!(dashboard.contains("100,000"));
    assert!(dashboard.contains("42,500"));
    assert!(dashboard.contains("120,000"));
    assert!(
        dashboard.contains(r#"id="portfolio-variance">+20,000<"#),
        "variance is forecast minus budget"
    );
    assert!(
        dashboard.contains("Approve the second wave window."),
        "decisions needed reach the board"
    );
    let rag_table = dashboard.split(r#"id="rag-counts""#).nth(1).unwrap();
    assert!(
        rag_table.contains(r#"<th scope="row">Amber</th><td class="num">1</td>"#),
        "{rag_table}"
    );
    assert!(dashboard.contains("<svg class=\"chart\""));

    // The board reads the submitted report; every step is in the audit trail.
    let (status, board_report) = chair.page(&format!("/board/reports/{report_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(board_report.contains("Approve the second wave window."));
    let actions = app.audit_actions().await;
    for action in [
        "objective.created",
        "project.created",
        "decision.recorded",
        "report.submitted",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn an_invalid_report_is_refused_with_the_form_kept() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let board_id = app.create_user("board@example.com", &[Role::Board]).await;
    let seeded = app.seed_project(manager_id, board_id).await;
    let period = last_month();
    let fields = report_fields(
        &period,
        &[
            ("rag_explanation", ""),
            ("percent_complete", "150"),
            ("spend_to_date", "-5"),
            ("forecast_at_completion", "ten thousand"),
            ("milestone_actual", "2199-01-01"),
            ("highlights", "Kept highlights text"),
        ],
    );
    let response = post(
        &manager,
        &format!("/manage/projects/{}/reports", seeded.project_id),
        &fields,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    for message in [
        "A rating is amber or red: explain why",
        "Enter a whole number from 0 to 100.",
        "The amount cannot be negative.",
        "Enter an amount such as",
        "cannot have been reached after the end of the period",
    ] {
        assert!(body.contains(message), "missing message: {message}");
    }
    assert!(body.contains("Kept highlights text"));
    assert!(body.contains(r#"value="150""#));
    assert!(body.contains(r#"value="ten thousand""#));
    assert_eq!(count(&app, "SELECT count(*) FROM status_reports").await, 0);

    let less_than_spent = report_fields(
        &period,
        &[
            ("spend_to_date", "50000"),
            ("forecast_at_completion", "40000"),
        ],
    );
    let response = post(
        &manager,
        &format!("/manage/projects/{}/reports", seeded.project_id),
        &less_than_spent,
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("cannot be less than what is already spent")
    );
    assert_eq!(count(&app, "SELECT count(*) FROM status_reports").await, 0);
}

#[tokio::test]
async fn a_draft_is_edited_then_submitted_and_then_frozen() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let board_id = app.create_user("board@example.com", &[Role::Board]).await;
    let seeded = app.seed_project(manager_id, board_id).await;
    let period = last_month();

    let draft = report_fields(
        &period,
        &[("action", "save"), ("highlights", "First draft")],
    );
    let response = post(
        &manager,
        &format!("/manage/projects/{}/reports", seeded.project_id),
        &draft,
    )
    .await;
    let report_path = location(response.headers());
    let (_, page) = manager.page(&report_path).await;
    assert!(page.contains("First draft"), "a draft opens in its form");
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM status_reports WHERE status = 'draft'"
        )
        .await,
        1
    );

    let submit = report_fields(&period, &[("highlights", "Final text"), ("version", "1")]);
    let response = post(&manager, &report_path, &submit).await;
    assert_redirects_to(&response, &report_path);
    let (_, page) = manager.page(&report_path).await;
    assert!(page.contains("Final text"));
    assert!(page.contains("File a correction"));

    // Changing a submitted report is refused, and nothing changes.
    let again = report_fields(
        &period,
        &[("highlights", "Rewritten history"), ("version", "3")],
    );
    let response = post(&manager, &report_path, &again).await;
    assert_redirects_to(&response, &report_path);
    let (_, page) = manager.page(&report_path).await;
    assert!(page.contains("submitted and is frozen"));
    assert!(!page.contains("Rewritten history"));
    // The database refuses it too, whoever asks.
    let error = app
        .pool
        .execute("UPDATE status_reports SET highlights = 'Rewritten history'")
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("submitted and cannot be changed"),
        "{error}"
    );
    let error = app
        .pool
        .execute("DELETE FROM report_milestones")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("cannot be changed"), "{error}");

    // A correction is a new report that says what it corrects; the original stays.
    let report_id = report_path.rsplit('/').next().unwrap();
    let (status, correction_form) = manager.page(&format!("{report_path}/correction")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        correction_form.contains("Final text"),
        "a correction starts from the report"
    );
    let mut correction = report_fields(
        &period,
        &[
            ("percent_complete", "30"),
            ("correction_reason", "Percent complete was overstated."),
        ],
    );
    correction.push(("corrects".to_owned(), report_id.to_owned()));
    let response = post(
        &manager,
        &format!("/manage/projects/{}/reports", seeded.project_id),
        &correction,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let corrected_path = location(response.headers());
    let (_, page) = manager.page(&corrected_path).await;
    assert!(page.contains("Percent complete was overstated."));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM status_reports WHERE status = 'submitted'"
        )
        .await,
        2
    );
    let latest_percent: i16 = sqlx::query_scalar(
        "SELECT r.percent_complete FROM projects p JOIN status_reports r ON r.id = p.last_report_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(latest_percent, 30);
}

#[tokio::test]
async fn a_new_report_starts_from_the_last_one() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let board_id = app.create_user("board@example.com", &[Role::Board]).await;
    let seeded = app.seed_project(manager_id, board_id).await;
    app.seed_report(seeded.project_id, manager_id).await;
    let (status, page) = manager
        .page(&format!(
            "/manage/projects/{}/reports/new",
            seeded.project_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Seeded highlights"));
    assert!(
        page.contains(r#"value="30000""#),
        "spend to date carried over"
    );
    // The reported month is not offered again; the current one is.
    let current = Period::containing(Cadence::Monthly, quorum::common::dates::today());
    assert!(page.contains(&format!(r#"value="{}""#, current.start)));
    assert!(!page.contains(&format!(r#"<option value="{}""#, last_month().start)));
}

#[tokio::test]
async fn another_manager_cannot_touch_the_project_or_its_drafts() {
    let app = TestApp::spawn().await;
    let owner = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let other = app
        .signed_in("manager2@example.com", &[Role::ItManager])
        .await;
    let owner_id = app.user_id("manager@example.com").await;
    let board_id = app.create_user("board@example.com", &[Role::Board]).await;
    let seeded = app.seed_project(owner_id, board_id).await;
    let period = last_month();
    let response = post(
        &owner,
        &format!("/manage/projects/{}/reports", seeded.project_id),
        &report_fields(
            &period,
            &[("action", "save"), ("highlights", "Owner's draft")],
        ),
    )
    .await;
    let draft_path = location(response.headers());

    let (status, page) = other.page(&draft_path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.contains("Owner's draft"));
    let response = post(
        &other,
        &draft_path,
        &report_fields(&period, &[("highlights", "Hijacked"), ("version", "1")]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        other
            .get(&format!("/manage/projects/{}/edit", seeded.project_id))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let response = post(
        &other,
        &format!("/manage/projects/{}/reports", seeded.project_id),
        &report_fields(&period, &[]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Drafts are not listed for others, and the board cannot open one either.
    let (_, project_page) = other
        .page(&format!("/manage/projects/{}", seeded.project_id))
        .await;
    assert!(!project_page.contains(&draft_path));
    let board = app.client();
    board
        .login("board@example.com", crate::helpers::PASSWORD)
        .await;
    let draft_id = draft_path.rsplit('/').next().unwrap();
    assert_eq!(
        board
            .get(&format!("/board/reports/{draft_id}"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM status_reports WHERE highlights = 'Hijacked'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_project_without_recent_reports_is_flagged_stale() {
    let app = TestApp::spawn().await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;
    let board_id = app.user_id("chair@example.com").await;
    let seeded = app.seed_project(manager_id, board_id).await;
    // Started 60 days ago, monthly, never reported: two months have come due.
    sqlx::query("UPDATE projects SET start_date = current_date - 100 WHERE id = $1")
        .bind(seeded.project_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, dashboard) = chair.page("/board/portfolio").await;
    let overdue = dashboard
        .split(r#"id="overdue-projects""#)
        .nth(1)
        .expect("an overdue list");
    assert!(overdue.contains("Seeded project"));
    assert!(overdue.contains("Stale (never reported)"));

    // A report for the last month brings it up to date.
    app.seed_report(seeded.project_id, manager_id).await;
    let (_, dashboard) = chair.page("/board/portfolio").await;
    assert!(dashboard.contains("Every project's reporting is up to date."));
}

#[tokio::test]
async fn an_objective_without_projects_shows_as_a_gap() {
    let app = TestApp::spawn().await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let board_id = app.user_id("chair@example.com").await;
    app.seed_project(manager_id, board_id).await;
    let response = chair
        .post_form(
            "/board/objectives",
            &[("title", ""), ("description", "Kept description")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("Kept description"));
    chair
        .post_form(
            "/board/objectives",
            &[("title", "Sustainable cost base"), ("description", "")],
        )
        .await;
    let (_, page) = chair.page("/board/portfolio").await;
    let alignment = page.split(r#"id="objective-lines""#).nth(1).unwrap();
    let gap_row = alignment
        .split("<tr")
        .find(|row| row.contains("Sustainable cost base"))
        .unwrap();
    assert!(gap_row.contains("No project behind it"));
    let seeded_row = alignment
        .split("<tr")
        .find(|row| row.contains("Resilient operations"))
        .unwrap();
    assert!(seeded_row.contains("100,000"));
}

#[tokio::test]
async fn a_stale_project_edit_is_refused_with_input_kept() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let board_id = app.create_user("board@example.com", &[Role::Board]).await;
    let seeded = app.seed_project(manager_id, board_id).await;
    let path = format!("/manage/projects/{}/edit", seeded.project_id);
    let (_, form) = manager.page(&path).await;
    assert!(form.contains(r#"name="version" value="2""#));
    let fields = |name: &'static str| {
        vec![
            ("name", name.to_owned()),
            ("sponsor", "COO".to_owned()),
            ("manager", "manager@example.com".to_owned()),
            ("objective_id", seeded.objective_id.to_string()),
            (
                "start_date",
                (quorum::common::dates::today() - time::Duration::days(60)).to_string(),
            ),
            (
                "planned_end_date",
                (quorum::common::dates::today() + time::Duration::days(300)).to_string(),
            ),
            ("reporting_cadence", "monthly".to_owned()),
            ("phase", "in_delivery".to_owned()),
            ("version", "2".to_owned()),
        ]
    };
    let first: Vec<(String, String)> = fields("First name")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(
        post(&manager, &path, &first).await.status(),
        StatusCode::SEE_OTHER
    );
    let second: Vec<(String, String)> = fields("Second name")
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let response = post(&manager, &path, &second).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(body.contains("Someone else changed this project"));
    assert!(body.contains(r#"value="Second name""#));
    let name: String = sqlx::query_scalar("SELECT name FROM projects")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "First name");
}

#[tokio::test]
async fn the_demo_portfolio_loads_once_and_its_overdue_list_matches_each_project() {
    use quorum::projects::model::latest_due_period_ends;
    use quorum::projects::repo::{self, ProjectQuery};

    let app = TestApp::spawn().await;
    quorum::demo::load(&app.pool, crate::helpers::PASSWORD)
        .await
        .unwrap();
    quorum::demo::portfolio::load(&app.pool).await.unwrap();
    quorum::demo::portfolio::load(&app.pool).await.unwrap();

    let today = quorum::common::dates::today();
    let mut conn = app.pool.acquire().await.unwrap();
    let all = repo::projects(&mut conn, &ProjectQuery::all(1_000))
        .await
        .unwrap();
    assert_eq!(
        all.len(),
        12,
        "loading twice must not duplicate the portfolio"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM objectives").await, 4);
    assert_eq!(
        count(&app, "SELECT count(*) FROM objectives o WHERE NOT EXISTS (SELECT FROM projects p WHERE p.objective_id = o.id)").await,
        1
    );
    assert!(count(&app, "SELECT count(*) FROM status_reports").await > 150);
    let oldest_days: i32 =
        sqlx::query_scalar("SELECT current_date - min(period_start) FROM status_reports")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        oldest_days >= 330,
        "reports go back about a year, not {oldest_days} days"
    );
    for rag in ["green", "amber", "red"] {
        let latest: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM projects p JOIN status_reports r ON r.id = p.last_report_id WHERE r.overall_rag = $1",
        )
        .bind(rag)
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert!(latest > 0, "some project's latest report is {rag}");
    }

    // The database's overdue filter and the per-project rule agree.
    let overdue_query = ProjectQuery {
        overdue: Some(latest_due_period_ends(today)),
        ..ProjectQuery::all(1_000)
    };
    let from_sql: Vec<i64> = repo::projects(&mut conn, &overdue_query)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    let from_rule: Vec<i64> = all
        .iter()
        .filter(|p| p.reporting_state(today).is_overdue())
        .map(|p| p.id)
        .collect();
    assert_eq!(from_sql, from_rule);
    let stale = all
        .iter()
        .filter(|p| p.reporting_state(today).is_stale())
        .count();
    assert_eq!(stale, 2, "two demo projects have stale reporting");
    drop(conn);

    let chair = app.client();
    chair
        .login("chair@example.com", crate::helpers::PASSWORD)
        .await;
    let (status, dashboard) = chair.page("/board/portfolio").await;
    assert_eq!(status, StatusCode::OK);
    assert!(dashboard.contains("Backup and disaster-recovery upgrade"));
    assert!(dashboard.contains("Sustainable IT cost base"));
}

#[tokio::test]
async fn references_widen_past_their_padding_instead_of_colliding() {
    let app = TestApp::spawn().await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;
    let mut owner = app.owner_connection().await;
    // 99 objectives numbered before: the next is the 100th.
    sqlx::query("SELECT setval('objective_reference_seq', 99)")
        .execute(&mut owner)
        .await
        .unwrap();
    for title in ["Hundredth objective", "Hundred and first"] {
        let response = chair
            .post_form(
                "/board/objectives",
                &[("title", title), ("description", "")],
            )
            .await;
        assert_redirects_to(&response, "/board/objectives");
    }
    let references: Vec<String> =
        sqlx::query_scalar("SELECT reference FROM objectives ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(references, ["OBJ-100", "OBJ-101"]);
    let (_, page) = chair.page("/board/objectives").await;
    assert!(page.contains("OBJ-100"), "{page}");
}
