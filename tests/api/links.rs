//! The links people follow between records: a decision and what it decided, the decision
//! log by subject, a project's risks, the controls behind risks and policies, and what the
//! board said to an IT manager.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, TestClient};

async fn demo_user(app: &TestApp, email: &str) -> TestClient {
    let client = app.client();
    let response = client.login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{email}");
    client
}

async fn scalar(app: &TestApp, sql: &str) -> (i64, String) {
    sqlx::query_as(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn a_decision_links_what_it_decided_and_the_log_filters_by_any_record() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let board = demo_user(&app, "board@example.com").await;
    // A resolution that approved a policy version for publication.
    let (decision, policy) = scalar(
        &app,
        "SELECT d.id, pol.reference FROM decisions d
         JOIN policy_publications pp ON pp.request_id = d.request_id
         JOIN policy_versions pv ON pv.id = pp.policy_version_id
         JOIN policies pol ON pol.id = pv.policy_id
         ORDER BY d.id LIMIT 1",
    )
    .await;
    let (_, page) = board.page(&format!("/decisions/{decision}")).await;
    let record = page.split(r#"id="decided-record""#).nth(1).unwrap();
    let record = record.split("</dd>").next().unwrap();
    assert!(record.contains("/board/policies/"), "{record}");
    assert!(record.contains(&policy), "{record}");
    assert!(record.contains("/versions/"), "{record}");

    let (status, log) = board.page(&format!("/decisions?about={policy}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.contains(&format!("/decisions/{decision}\"")), "{log}");
    let (budget_decision, _) = scalar(
        &app,
        "SELECT d.id, '' FROM decisions d JOIN budget_requests b ON b.request_id = d.request_id
         ORDER BY d.id LIMIT 1",
    )
    .await;
    assert!(!log.contains(&format!("/decisions/{budget_decision}\"")));

    let (status, log) = board.page("/decisions?about=rsk-9999").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(log.contains("No project, risk or policy has the reference RSK-9999."));
    assert!(
        log.contains(r#"value="rsk-9999""#),
        "what was typed is kept"
    );
}

#[tokio::test]
async fn projects_list_their_risks_and_risks_and_policies_their_controls() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let manager = demo_user(&app, "manager@example.com").await;
    let (project, risk) = scalar(
        &app,
        "SELECT rp.project_id, r.reference FROM risk_projects rp JOIN risks r ON r.id = rp.risk_id
         ORDER BY rp.project_id, r.reference LIMIT 1",
    )
    .await;
    let (_, page) = manager.page(&format!("/manage/projects/{project}")).await;
    let risks = page.split(r#"id="project-risks""#).nth(1).unwrap();
    assert!(risks.contains(&risk), "{risks}");

    let (risk_id, control) = scalar(
        &app,
        "SELECT cr.risk_id, c.reference FROM control_risks cr JOIN controls c ON c.id = cr.control_id
         ORDER BY cr.risk_id, c.id LIMIT 1",
    )
    .await;
    let (_, page) = manager.page(&format!("/manage/risks/{risk_id}")).await;
    let controls = page.split(r#"id="risk-controls""#).nth(1).unwrap();
    assert!(controls.split("</dd>").next().unwrap().contains(&control));

    let (policy_id, control) = scalar(
        &app,
        "SELECT cp.policy_id, c.reference FROM control_policies cp
         JOIN controls c ON c.id = cp.control_id ORDER BY cp.policy_id, c.id LIMIT 1",
    )
    .await;
    let auditor = app.signed_in("reader@example.com", &[Role::Auditor]).await;
    let (_, page) = auditor.page(&format!("/audit/policies/{policy_id}")).await;
    let controls = page.split(r#"id="policy-controls""#).nth(1).unwrap();
    assert!(
        controls
            .split("</section>")
            .next()
            .unwrap()
            .contains(&control)
    );
}

#[tokio::test]
async fn an_it_managers_home_shows_what_the_board_decided_said_and_waits_for() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let manager = demo_user(&app, "manager@example.com").await;
    let manager_id = app.user_id("manager@example.com").await;
    let (decided, _) = scalar(
        &app,
        &format!(
            "SELECT d.id, '' FROM decisions d JOIN approval_requests a ON a.id = d.request_id
             WHERE a.requester_id = {manager_id} ORDER BY d.decided_at DESC LIMIT 1"
        ),
    )
    .await;
    let (_, home) = manager.page("/manage").await;
    let answers = home.split(r#"id="board-answers""#).nth(1).unwrap();
    assert!(
        answers.contains(&format!("/decisions/{decided}\"")),
        "{answers}"
    );

    // A board member comments on one of the manager's open requests.
    let (request, _) = scalar(
        &app,
        &format!(
            "SELECT id, '' FROM approval_requests WHERE requester_id = {manager_id}
             AND status = 'open' ORDER BY id LIMIT 1"
        ),
    )
    .await;
    let chair = demo_user(&app, "chair@example.com").await;
    chair
        .post_form(
            &format!("/board/requests/{request}/vote"),
            &[
                ("choice", "abstain"),
                ("comment", "Show the exit costs first."),
            ],
        )
        .await;
    let (_, home) = manager.page("/manage").await;
    let comments = home.split(r#"id="board-comments""#).nth(1).unwrap();
    assert!(
        comments.contains("Show the exit costs first."),
        "{comments}"
    );

    // A draft the board has not seen is what the board waits for.
    let (new_form, _) = manager.page("/manage/requests/new").await;
    assert_eq!(new_form, StatusCode::OK);
    let (project, _) = scalar(
        &app,
        &format!("SELECT id, '' FROM projects WHERE manager_id = {manager_id} AND phase IN ('approved', 'in_delivery') ORDER BY id LIMIT 1"),
    )
    .await;
    let project = project.to_string();
    let year = quorum::common::dates::today().year().to_string();
    let due = (quorum::common::dates::today() + time::Duration::days(20)).to_string();
    let response = manager
        .post_form(
            "/manage/requests",
            &[
                ("title", "Extra licences"),
                ("project_id", &project),
                ("amount", "12000"),
                ("spend_type", "opex"),
                ("fiscal_year", &year),
                ("due_date", &due),
                ("benefits", "Everyone can work."),
                ("costs", "12,000 a year."),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, home) = manager.page("/manage").await;
    let drafts = home.split(r#"id="draft-requests""#).nth(1).unwrap();
    assert!(drafts.contains("Extra licences"), "{drafts}");
}
