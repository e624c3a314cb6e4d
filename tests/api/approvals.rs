//! The approvals loop: a manager files a budget request, the board votes, the request
//! closes with a resolution and the budget moves.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, TestClient, assert_redirects_to, location};

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

async fn vote(client: &TestClient, request_id: i64, choice: &str, comment: &str) -> String {
    let path = format!("/board/requests/{request_id}");
    let response = client
        .post_form(
            &format!("{path}/vote"),
            &[("choice", choice), ("comment", comment)],
        )
        .await;
    assert_redirects_to(&response, &path);
    client.page(&path).await.1
}

struct Board {
    members: Vec<TestClient>,
}

async fn board(app: &TestApp, size: usize) -> Board {
    let mut members = Vec::new();
    for i in 0..size {
        members.push(
            app.signed_in(&format!("member{i}@example.com"), &[Role::Board])
                .await,
        );
    }
    Board { members }
}

#[tokio::test]
async fn a_budget_request_goes_from_filing_to_a_resolution_that_raises_the_budget() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let board = board(&app, 4).await;
    let board_id = app.user_id("member0@example.com").await;
    let seeded = app.seed_project(manager_id, board_id).await;
    let project = seeded.project_id.to_string();
    let due = (quorum::common::dates::today() + time::Duration::days(10)).to_string();
    let year = quorum::common::dates::today().year().to_string();

    // An invalid request is refused with what was typed kept.
    let response = manager
        .post_form(
            "/manage/requests",
            &[
                ("title", "Second wave"),
                ("project_id", &project),
                ("amount", "-3"),
                ("spend_type", "capex"),
                ("fiscal_year", &year),
                ("due_date", &due),
                ("benefits", "Kept benefits"),
                ("costs", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(body.contains("The amount cannot be negative."));
    assert!(body.contains("Kept benefits"));
    assert_eq!(
        count(&app, "SELECT count(*) FROM approval_requests").await,
        0
    );

    let response = manager
        .post_form(
            "/manage/requests",
            &[
                ("title", "Second wave"),
                ("summary", "Move the rest."),
                ("project_id", &project),
                ("amount", "50,000"),
                ("spend_type", "capex"),
                ("fiscal_year", &year),
                ("due_date", &due),
                ("benefits", "Lower run costs"),
                ("costs", "50k once"),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let request_id: i64 = location(response.headers())
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let reference: String = sqlx::query_scalar("SELECT reference FROM approval_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(reference, format!("REQ-{year}-0001"));

    // It waits on every board member's home; the manager is not asked.
    let (_, home) = board.members[0].page("/board").await;
    assert!(home.contains(&reference), "waiting for your vote");
    assert!(home.contains(&due));

    // Four eligible members, quorum two; the third approval settles it (4 - 3 = 1 left).
    let page = vote(&board.members[0], request_id, "approve", "Good case.").await;
    assert!(page.contains("Your vote (approve) is recorded."));
    vote(&board.members[1], request_id, "reject", "Too early.").await;
    let page = vote(
        &board.members[1],
        request_id,
        "approve",
        "Convinced after all.",
    )
    .await;
    assert!(
        page.contains("Changed"),
        "the changed vote stays in the history"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM approval_requests WHERE status = 'open'"
        )
        .await,
        1
    );
    let page = vote(&board.members[2], request_id, "approve", "").await;
    assert!(page.contains("Your vote settled it: the request is approved"));

    // The resolution records the version decided on and every vote; the budget moved.
    let (outcome, tally, hash): (String, serde_json::Value, String) =
        sqlx::query_as("SELECT outcome, tally, content_hash FROM decisions")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(outcome, "approved");
    assert_eq!(tally["approve"], 3);
    assert_eq!(tally["eligible"], 4);
    assert_eq!(tally["votes"].as_array().unwrap().len(), 3);
    let request_hash: String = sqlx::query_scalar("SELECT content_hash FROM approval_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(hash, request_hash);
    let budget: i64 = sqlx::query_scalar("SELECT approved_budget FROM projects")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(budget, 10_000_000 + 5_000_000);
    let committed: i64 = sqlx::query_scalar("SELECT committed FROM fiscal_years")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(committed, 5_000_000);
    let (_, project_page) = manager
        .page(&format!("/manage/projects/{}", seeded.project_id))
        .await;
    assert!(project_page.contains(&format!("{reference} approved by the board")));

    // The fourth member is too late; the manager sees the outcome.
    let path = format!("/board/requests/{request_id}");
    let late = board.members[3]
        .post_form(&format!("{path}/vote"), &[("choice", "reject")])
        .await;
    assert_redirects_to(&late, &path);
    let (_, page) = board.members[3].page(&path).await;
    assert!(page.contains("This request is approved: it no longer takes votes"));
    assert_eq!(
        count(&app, "SELECT count(*) FROM votes WHERE ended_at IS NULL").await,
        3
    );
    let (_, mine) = manager.page("/manage/requests").await;
    assert!(mine.contains("Approved"));
    let (_, project_page) = board.members[0]
        .page(&format!("/board/projects/{}", seeded.project_id))
        .await;
    let decisions = project_page
        .split(r#"id="project-decisions""#)
        .nth(1)
        .unwrap();
    assert!(
        decisions.contains(&format!("DEC-{year}-0001")),
        "the project lists its resolution"
    );
    let (status, decision_page) = board.members[0]
        .page(&format!(
            "/decisions/{}",
            count(&app, "SELECT id FROM decisions").await
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(decision_page.contains("Convinced after all."));

    let mut conn = app.pool.acquire().await.unwrap();
    assert!(
        quorum::audit::verify_chain(&mut conn)
            .await
            .unwrap()
            .is_intact()
    );
    let actions: Vec<String> = app.audit_actions().await;
    for action in [
        "request.created",
        "request.opened",
        "vote.cast",
        "decision.recorded",
    ] {
        assert!(actions.contains(&action.to_owned()), "{action}");
    }
}

#[tokio::test]
async fn nobody_votes_on_their_own_request_or_project_whatever_the_form_sends() {
    let app = TestApp::spawn().await;
    // The CIO is a board member and manages the project; another manager files for it.
    let cio = app
        .signed_in("cio@example.com", &[Role::Board, Role::ItManager])
        .await;
    let requester = app
        .signed_in("filer@example.com", &[Role::Board, Role::ItManager])
        .await;
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    let cio_id = app.user_id("cio@example.com").await;
    let seeded = app.seed_project(cio_id, cio_id).await;
    let request_id = app
        .seed_request(
            seeded.project_id,
            app.user_id("filer@example.com").await,
            10,
        )
        .await;
    let path = format!("/board/requests/{request_id}");

    for (client, reason) in [
        (&requester, "nobody approves their own request"),
        (&cio, "You manage the project"),
    ] {
        let (_, page) = client.page(&path).await;
        assert!(page.contains(reason), "the page says why: {reason}");
        assert!(!page.contains("Cast vote"), "no vote form for them");
        // Whatever the form sends, the server refuses.
        let response = client
            .post_form(&format!("{path}/vote"), &[("choice", "approve")])
            .await;
        assert_redirects_to(&response, &path);
        let (_, page) = client.page(&path).await;
        assert!(page.contains("You cannot vote on this request."));
    }
    assert_eq!(count(&app, "SELECT count(*) FROM votes").await, 0);

    // One eligible member remains, and their approval settles it.
    vote(&member, request_id, "approve", "").await;
    assert_eq!(
        count(&app, "SELECT count(*) FROM decisions").await,
        1,
        "one of one eligible settles it"
    );
}

#[tokio::test]
async fn a_recused_member_cannot_vote_and_the_quorum_shrinks() {
    let app = TestApp::spawn().await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let board = board(&app, 3).await;
    let seeded = app
        .seed_project(manager_id, app.user_id("member0@example.com").await)
        .await;
    let request_id = app.seed_request(seeded.project_id, manager_id, 10).await;
    let path = format!("/board/requests/{request_id}");
    // A vote without a choice, or a recusal without a reason, is refused; the text is kept.
    let refused = board.members[1]
        .post_form(&format!("{path}/vote"), &[("comment", "Typed comment")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("Choose approve, reject or abstain."));
    assert!(body.contains("Typed comment"));
    let refused = board.members[1]
        .post_form(&format!("{path}/recuse"), &[("reason", " ")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Say briefly what the conflict of interest is")
    );
    vote(&board.members[0], request_id, "approve", "").await;

    let response = board.members[0]
        .post_form(
            &format!("{path}/recuse"),
            &[("reason", "My brother-in-law is the vendor.")],
        )
        .await;
    assert_redirects_to(&response, &path);
    let (_, page) = board.members[0].page(&path).await;
    assert!(page.contains("You declared a conflict of interest: My brother-in-law is the vendor."));
    assert_eq!(
        count(&app, "SELECT count(*) FROM votes WHERE ended_at IS NULL").await,
        0,
        "their vote is set aside"
    );
    let response = board.members[0]
        .post_form(&format!("{path}/vote"), &[("choice", "approve")])
        .await;
    assert_redirects_to(&response, &path);
    assert_eq!(
        count(&app, "SELECT count(*) FROM votes WHERE ended_at IS NULL").await,
        0
    );

    // Two eligible remain: two approvals settle it.
    vote(&board.members[1], request_id, "approve", "").await;
    let page = vote(&board.members[2], request_id, "approve", "").await;
    assert!(page.contains("request is approved"));
    let tally: serde_json::Value = sqlx::query_scalar("SELECT tally FROM decisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(tally["eligible"], 2);
    assert_eq!(
        tally["recusals"][0]["reason"],
        "My brother-in-law is the vendor."
    );
}

#[tokio::test]
async fn changing_an_open_request_sets_aside_the_votes_cast_on_it() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let board = board(&app, 3).await;
    let seeded = app
        .seed_project(manager_id, app.user_id("member0@example.com").await)
        .await;
    let request_id = app.seed_request(seeded.project_id, manager_id, 10).await;
    vote(
        &board.members[0],
        request_id,
        "approve",
        "On the first version",
    )
    .await;

    let (_, form) = manager
        .page(&format!("/manage/requests/{request_id}"))
        .await;
    let version = crate::helpers::extract_field_value(&form, "version").unwrap();
    let project = seeded.project_id.to_string();
    let year = quorum::common::dates::today().year().to_string();
    let due = (quorum::common::dates::today() + time::Duration::days(10)).to_string();
    let response = manager
        .post_form(
            &format!("/manage/requests/{request_id}"),
            &[
                ("title", "Second migration wave"),
                ("project_id", &project),
                ("amount", "80,000"),
                ("spend_type", "capex"),
                ("fiscal_year", &year),
                ("due_date", &due),
                ("benefits", "Lower run costs."),
                ("costs", "80k once"),
                ("version", &version),
                ("action", "save"),
            ],
        )
        .await;
    assert_redirects_to(&response, &format!("/manage/requests/{request_id}"));
    let (_, page) = manager
        .page(&format!("/manage/requests/{request_id}"))
        .await;
    assert!(page.contains("1 vote(s) cast on the earlier version were set aside"));

    let (_, board_page) = board.members[0]
        .page(&format!("/board/requests/{request_id}"))
        .await;
    assert!(board_page.contains("Your earlier vote was set aside because the request changed"));
    assert!(
        board_page.contains("Set aside"),
        "the history shows the old vote"
    );
    assert!(board_page.contains("content version 2"));
    assert_eq!(
        count(&app, "SELECT count(*) FROM votes WHERE ended_at IS NULL").await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM votes WHERE end_reason = 'set_aside'"
        )
        .await,
        1
    );

    let page = vote(
        &board.members[0],
        request_id,
        "approve",
        "On the second version",
    )
    .await;
    assert!(!page.contains("Your earlier vote was set aside"));
    let live_version: i32 =
        sqlx::query_scalar("SELECT content_version FROM votes WHERE ended_at IS NULL")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(live_version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_votes_count_once_each_and_close_once() {
    let app = TestApp::spawn().await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let board = board(&app, 8).await;
    let seeded = app
        .seed_project(manager_id, app.user_id("member0@example.com").await)
        .await;
    let request_id = app.seed_request(seeded.project_id, manager_id, 10).await;
    let path = format!("/board/requests/{request_id}/vote");

    // Every member votes at once, and member 0 submits the same form twice at once.
    let mut tokens = Vec::new();
    for member in &board.members {
        tokens.push(member.csrf_token().await);
    }
    let mut sends = Vec::new();
    for (i, member) in board.members.iter().enumerate() {
        for _ in 0..if i == 0 { 2 } else { 1 } {
            let http = member.http.clone();
            let url = member.url(&path);
            let token = tokens[i].clone();
            sends.push(tokio::spawn(async move {
                http.post(url)
                    .form(&[("choice", "approve"), ("csrf_token", token.as_str())])
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
    }
    for send in sends {
        assert_eq!(send.await.unwrap(), StatusCode::SEE_OTHER);
    }

    assert_eq!(count(&app, "SELECT count(*) FROM decisions").await, 1);
    assert_eq!(
        count(&app, "SELECT count(*) FROM (SELECT voter_id FROM votes WHERE ended_at IS NULL GROUP BY voter_id HAVING count(*) > 1) doubled").await,
        0
    );
    let live = count(&app, "SELECT count(*) FROM votes WHERE ended_at IS NULL").await;
    let tally: serde_json::Value = sqlx::query_scalar("SELECT tally FROM decisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    // Five of eight approvals settle it; votes that arrived after the close were refused.
    assert_eq!(tally["approve"], 5);
    assert_eq!(live, 5);
    let budget: i64 = sqlx::query_scalar("SELECT approved_budget FROM projects")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(budget, 15_000_000, "the budget moved exactly once");
}

#[tokio::test]
async fn votes_on_withdrawn_or_closed_requests_are_refused_and_the_chair_closes_at_the_due_date() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;
    sqlx::query("UPDATE users SET is_chair = true WHERE email = 'chair@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    let seeded = app
        .seed_project(manager_id, app.user_id("member@example.com").await)
        .await;

    let withdrawn = app.seed_request(seeded.project_id, manager_id, 10).await;
    let response = manager
        .post_form(&format!("/manage/requests/{withdrawn}/withdraw"), &[])
        .await;
    assert_redirects_to(&response, &format!("/manage/requests/{withdrawn}"));
    let page = vote(&member, withdrawn, "approve", "").await;
    assert!(page.contains("This request is withdrawn: it no longer takes votes"));
    assert_eq!(count(&app, "SELECT count(*) FROM votes").await, 0);

    // Due today with no vote: a member cannot close it, the chair can, and it expires.
    let due_today = app.seed_request(seeded.project_id, manager_id, 0).await;
    let path = format!("/board/requests/{due_today}");
    let response = member.post_form(&format!("{path}/close"), &[]).await;
    assert_redirects_to(&response, &path);
    assert_eq!(count(&app, "SELECT count(*) FROM decisions").await, 0);
    let (_, page) = chair.page(&path).await;
    assert!(page.contains("Close the request"));
    let response = chair.post_form(&format!("{path}/close"), &[]).await;
    assert_redirects_to(&response, &path);
    let outcome: String = sqlx::query_scalar("SELECT outcome FROM decisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(outcome, "expired");
    let page = vote(&member, due_today, "approve", "").await;
    assert!(page.contains("This request is expired: it no longer takes votes"));

    // Not yet due: even the chair waits.
    let later = app.seed_request(seeded.project_id, manager_id, 5).await;
    let path = format!("/board/requests/{later}");
    chair.post_form(&format!("{path}/close"), &[]).await;
    let (_, page) = chair.page(&path).await;
    assert!(page.contains("The chair can close this request from its due date"));
    assert_eq!(count(&app, "SELECT count(*) FROM decisions").await, 1);
}

#[tokio::test]
async fn the_demo_requests_load_once_through_the_engine() {
    use quorum::approvals::model::Rule;
    let app = TestApp::spawn().await;
    let password = crate::helpers::PASSWORD;
    quorum::demo::load(&app.pool, password).await.unwrap();
    quorum::demo::portfolio::load(&app.pool).await.unwrap();
    let rule = Rule {
        quorum_percent: 50,
        majority_percent: 50,
    };
    quorum::demo::approvals::load(&app.pool, rule)
        .await
        .unwrap();
    quorum::demo::approvals::load(&app.pool, rule)
        .await
        .unwrap();

    assert_eq!(
        count(&app, "SELECT count(*) FROM approval_requests").await,
        5
    );
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM decisions WHERE kind = 'resolution' ORDER BY outcome",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(outcomes, ["approved", "rejected"]);
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM decisions WHERE kind = 'management' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        ["accepted", "accepted", "accepted", "superseded", "accepted"]
    );

    let board = app.client();
    board.login("board@example.com", password).await;
    let (_, home) = board.page("/board").await;
    let waiting = home
        .split(r#"id="waiting-for-vote""#)
        .nth(1)
        .expect("requests wait for board@example.com");
    assert!(waiting.contains("Extend the managed SOC service"));
    assert!(waiting.contains("Two more data engineers"));

    let chair = app.client();
    chair.login("chair@example.com", password).await;
    let overdue: i64 = sqlx::query_scalar(
        "SELECT id FROM approval_requests WHERE status = 'open' AND due_date < current_date",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, page) = chair.page(&format!("/board/requests/{overdue}")).await;
    assert!(
        page.contains("Close the request"),
        "one request awaits the chair"
    );

    let mut conn = app.pool.acquire().await.unwrap();
    assert!(
        quorum::audit::verify_chain(&mut conn)
            .await
            .unwrap()
            .is_intact()
    );
}

#[tokio::test]
async fn the_inbox_lists_what_each_person_must_do() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let manager_id = app.user_id("manager@example.com").await;
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;
    sqlx::query("UPDATE users SET is_chair = true WHERE email = 'chair@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    let seeded = app
        .seed_project(manager_id, app.user_id("member@example.com").await)
        .await;
    let due_today = app.seed_request(seeded.project_id, manager_id, 0).await;
    let reference: String =
        sqlx::query_scalar("SELECT reference FROM approval_requests WHERE id = $1")
            .bind(due_today)
            .fetch_one(&app.pool)
            .await
            .unwrap();

    let (_, inbox) = member.page("/inbox").await;
    assert!(inbox.contains(&format!("Vote on {reference}")));
    let (_, inbox) = chair.page("/inbox").await;
    assert!(inbox.contains(&format!("Close {reference}")));
    // The manager's seeded project has never reported: its report is overdue.
    let (_, inbox) = manager.page("/inbox").await;
    assert!(inbox.contains("Status report for PRJ-0001"));
    assert!(inbox.contains("overdue"));
    assert!(!inbox.contains("Vote on"));

    // Once voted, the item leaves the member's inbox.
    vote(&member, due_today, "approve", "").await;
    let (_, inbox) = member.page("/inbox").await;
    assert!(!inbox.contains(&format!("Vote on {reference}")));
}

#[tokio::test]
async fn a_new_project_is_proposed_with_its_budget_request_and_approved_by_it() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board = board(&app, 1).await;
    let objective: i64 = {
        let mut conn = app.pool.acquire().await.unwrap();
        quorum::projects::repo::create_objective(&mut conn, "Data-driven decisions", "")
            .await
            .unwrap()
            .id
    };
    let objective = objective.to_string();
    let year = quorum::common::dates::today().year().to_string();
    let due = (quorum::common::dates::today() + time::Duration::days(5)).to_string();
    let mut fields = vec![
        ("title", "Data platform"),
        ("project_id", "new"),
        ("new_project_name", ""),
        ("new_project_sponsor", "CFO"),
        ("new_project_objective_id", objective.as_str()),
        ("amount", "250,000"),
        ("spend_type", "capex"),
        ("fiscal_year", year.as_str()),
        ("due_date", due.as_str()),
        ("benefits", "One source of truth"),
        ("costs", "250k"),
        ("action", "submit"),
    ];
    let refused = manager.post_form("/manage/requests", &fields).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains(r#"value="CFO""#));
    assert_eq!(
        count(&app, "SELECT count(*) FROM projects").await,
        0,
        "nothing half-written"
    );

    fields[2] = ("new_project_name", "Enterprise data platform");
    let response = manager.post_form("/manage/requests", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (phase, manager_name): (String, String) = sqlx::query_as(
        "SELECT p.phase, u.email FROM projects p JOIN users u ON u.id = p.manager_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (phase.as_str(), manager_name.as_str()),
        ("proposed", "manager@example.com")
    );

    let request_id: i64 = sqlx::query_scalar("SELECT id FROM approval_requests")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    vote(&board.members[0], request_id, "approve", "").await;
    let (phase, budget): (String, i64) =
        sqlx::query_as("SELECT phase, approved_budget FROM projects")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((phase.as_str(), budget), ("approved", 25_000_000));
}

#[tokio::test]
async fn a_hidden_tally_shows_only_how_many_voted_until_the_request_closes() {
    let app = TestApp::spawn().await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let board = board(&app, 3).await;
    let seeded = app
        .seed_project(manager_id, app.user_id("member0@example.com").await)
        .await;
    let id = app.seed_request(seeded.project_id, manager_id, 5).await;
    sqlx::query("UPDATE approval_requests SET hide_tally = true")
        .execute(&app.pool)
        .await
        .unwrap();
    vote(&board.members[0], id, "reject", "Secret reason").await;
    // Another member sees that someone voted, not how.
    let (_, page) = board.members[1]
        .page(&format!("/board/requests/{id}"))
        .await;
    assert!(page.contains("1 of 3 eligible members have voted. The split is hidden"));
    assert!(
        !page.contains("Secret reason"),
        "no vote history while hidden"
    );
    assert!(!page.contains(r#"<th scope="row">Reject</th>"#));
    vote(&board.members[1], id, "reject", "").await;
    let (_, page) = board.members[2]
        .page(&format!("/board/requests/{id}"))
        .await;
    assert!(page.contains("Final count"), "closed: the split is shown");
    assert!(page.contains("Secret reason"));
}

/// A member who changes their vote many times: the page lists the latest 100 votes and
/// says earlier ones are in the audit trail, and only the live vote counts.
#[tokio::test]
async fn a_long_vote_history_lists_the_latest_votes_and_counts_the_live_one() {
    let app = TestApp::spawn().await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let board = board(&app, 5).await;
    let seeded = app
        .seed_project(manager_id, app.user_id("member0@example.com").await)
        .await;
    let request_id = app.seed_request(seeded.project_id, manager_id, 10).await;
    let member = app.user_id("member1@example.com").await;
    sqlx::query(
        "INSERT INTO votes (request_id, voter_id, content_version, choice, comment, cast_at,
                            ended_at, end_reason)
         SELECT $1, $2, 1, 'reject', 'Earlier view ' || n, now() - (200 - n) * interval '1 minute',
                now() - (199 - n) * interval '1 minute', 'changed'
         FROM generate_series(1, 150) n",
    )
    .bind(request_id)
    .bind(member)
    .execute(&app.pool)
    .await
    .unwrap();
    let page = vote(&board.members[1], request_id, "approve", "Final view").await;
    let history = page.split(r#"id="vote-history""#).nth(1).unwrap();
    assert_eq!(
        history.matches("<tr>").count() - 1,
        100,
        "header and 100 votes"
    );
    assert!(history.contains("Final view") && !history.contains("Earlier view 1<"));
    assert!(page.contains("earlier changes are in the audit trail"));
    assert!(
        page.contains(r#"<th scope="row">Approve</th><td class="num">1</td>"#)
            && page.contains(r#"<th scope="row">Reject</th><td class="num">0</td>"#),
        "only the live vote counts"
    );
}

#[tokio::test]
async fn a_draft_request_is_reached_by_nobody_but_its_requester_whatever_id_is_tried() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let other = app
        .signed_in("manager2@example.com", &[Role::ItManager])
        .await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let manager_id = app.user_id("manager@example.com").await;
    let board_id = app.user_id("board@example.com").await;
    let project = app.seed_project(manager_id, board_id).await.project_id;
    let year = quorum::common::dates::today().year().to_string();
    let due = (quorum::common::dates::today() + time::Duration::days(20)).to_string();
    let response = manager
        .post_form(
            "/manage/requests",
            &[
                ("title", "Secret data centre exit"),
                ("project_id", &project.to_string()),
                ("amount", "90000"),
                ("spend_type", "capex"),
                ("fiscal_year", &year),
                ("due_date", &due),
                ("benefits", "Lower costs."),
                ("costs", "90,000 once."),
                ("action", "save"),
            ],
        )
        .await;
    let draft = location(response.headers());
    assert!(draft.starts_with("/manage/requests/"), "{draft}");
    let id = draft.rsplit('/').next().unwrap();

    for (client, path) in [
        (&board, format!("/board/requests/{id}")),
        (&other, format!("/manage/requests/{id}")),
    ] {
        let (status, page) = client.page(&path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.contains("Secret data centre exit"), "{path}");
    }
    // Nor can another manager change it (403) or withdraw it (refused with a message).
    let response = other
        .post_form(&draft, &[("title", "Hijacked"), ("action", "submit")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    other.post_form(&format!("{draft}/withdraw"), &[]).await;
    assert!(
        !app.audit_actions()
            .await
            .contains(&"request.withdrawn".to_owned())
    );
    let (_, list) = board.page("/board/requests").await;
    assert!(!list.contains("Secret data centre exit"));
    let (status, page) = manager.page(&draft).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Secret data centre exit"));
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM approval_requests WHERE status = 'draft'"
        )
        .await,
        1
    );
}
