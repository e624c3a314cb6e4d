//! Policies: versions, the lifecycle through the board, immutability of what was published,
//! the difference between versions, safe Markdown, exceptions and the review cycle.

use quorum::common::dates::today;
use quorum::policies::model::review_due;
use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, TestClient, assert_redirects_to, location};

const BODY_V1: &str = "## Purpose\n\nKeep laptops safe.\n\n## Rules\n\n- Disks are encrypted.\n- Screens lock after 5 minutes.\n";

fn policy_fields<'a>(owner: &'a str, title: &'a str, body: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("title", title),
        ("scope", "Every company laptop."),
        ("body", body),
        ("change_note", ""),
        ("category", "information_security"),
        ("owner", owner),
        ("review_interval_months", "12"),
    ]
}

/// Writes a policy through the form; returns its page's path.
async fn write_policy(manager: &TestClient, body: &str) -> String {
    let owner = "manager@example.com".to_owned();
    let response = manager
        .post_form(
            "/manage/policies",
            &policy_fields(&owner, "Laptop Policy", body),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location(response.headers())
}

/// The policy's `version` field as its page carries it (optimistic concurrency).
async fn policy_version(app: &TestApp, path: &str) -> String {
    let id: i64 = path.rsplit('/').next().unwrap().parse().unwrap();
    let version: i32 = sqlx::query_scalar("SELECT version FROM policies WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    version.to_string()
}

/// Saves a new text through the edit form.
async fn write_version(
    app: &TestApp,
    manager: &TestClient,
    path: &str,
    body: &str,
) -> reqwest::Response {
    let owner = "manager@example.com".to_owned();
    let version = policy_version(app, path).await;
    let mut fields = policy_fields(&owner, "Laptop Policy", body);
    fields.retain(|(name, _)| *name != "change_note");
    fields.push(("change_note", "Tightened."));
    fields.push(("version", &version));
    manager.post_form(&format!("{path}/edit"), &fields).await
}

/// The open request of a kind, newest first.
async fn open_request(app: &TestApp, kind: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT id FROM approval_requests WHERE kind = $1 AND status = 'open' ORDER BY id DESC LIMIT 1",
    )
    .bind(kind)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn approve(board: &TestClient, request: i64) {
    let response = board
        .post_form(
            &format!("/board/requests/{request}/vote"),
            &[("choice", "approve")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// A policy taken through the board to publication: its page's path.
async fn published_policy(app: &TestApp, manager: &TestClient, board: &TestClient) -> String {
    let path = write_policy(manager, BODY_V1).await;
    assert_redirects_to(
        &manager.post_form(&format!("{path}/submit"), &[]).await,
        &path,
    );
    approve(board, open_request(app, "policy_publication").await).await;
    assert_redirects_to(
        &manager.post_form(&format!("{path}/publish"), &[]).await,
        &path,
    );
    path
}

async fn people(app: &TestApp) -> (TestClient, TestClient) {
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    (manager, board)
}

#[tokio::test]
async fn a_policy_goes_from_draft_through_the_board_to_published_and_retired() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let owner = "manager@example.com".to_owned();

    // Bad input: messages next to the fields, what was typed kept, nothing written.
    let mut bad = policy_fields(&owner, "Laptop Policy", "");
    bad.retain(|(name, _)| *name != "review_interval_months");
    bad.push(("review_interval_months", "0"));
    let refused = manager.post_form("/manage/policies", &bad).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains(r#"id="body-error""#));
    assert!(page.contains("Enter a number of months from 1 to 60."));
    assert!(page.contains(r#"value="Laptop Policy""#));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM policies")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);

    let path = write_policy(&manager, BODY_V1).await;
    let (_, page) = manager.page(&path).await;
    assert!(page.contains("POL-0001"));
    assert!(page.contains(r#"id="lifecycle">Draft<"#));

    // Each edit of the text is a new draft version; an edit that changes nothing is refused.
    let body_v2 = BODY_V1.replace("5 minutes", "2 minutes");
    assert_redirects_to(&write_version(&app, &manager, &path, &body_v2).await, &path);
    let unchanged = write_version(&app, &manager, &path, &body_v2).await;
    assert_eq!(unchanged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unchanged
            .text()
            .await
            .unwrap()
            .contains("Nothing changed since version 2.")
    );

    // The board is asked to approve that exact version; its text is then frozen.
    assert_redirects_to(
        &manager.post_form(&format!("{path}/submit"), &[]).await,
        &path,
    );
    let request = open_request(&app, "policy_publication").await;
    let (bound_version, request_hash, version_hash): (i32, String, String) = sqlx::query_as(
        "SELECT v.number, a.content_hash, v.content_hash
         FROM policy_publications pp JOIN policy_versions v ON v.id = pp.policy_version_id
         JOIN approval_requests a ON a.id = pp.request_id WHERE pp.request_id = $1",
    )
    .bind(request)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(bound_version, 2);
    assert_eq!(request_hash, version_hash);
    let (_, page) = manager.page(&path).await;
    assert!(page.contains(r#"id="lifecycle">In review by the board<"#));
    let while_in_review = write_version(&app, &manager, &path, "Something else entirely.").await;
    assert_eq!(while_in_review.status(), StatusCode::CONFLICT);
    let page = while_in_review.text().await.unwrap();
    assert!(page.contains("Version 2 is before the board"));
    assert!(
        page.contains("Something else entirely."),
        "what was typed is kept"
    );

    let (_, request_page) = board.page(&format!("/board/requests/{request}")).await;
    assert!(
        request_page.contains("Approve the publication of <strong>POL-0001 version 2</strong>")
    );
    approve(&board, request).await;
    let (_, page) = manager.page(&path).await;
    assert!(page.contains(r#"id="lifecycle">Approved, to publish<"#));
    let decision: Option<i64> =
        sqlx::query_scalar("SELECT approved_decision_id FROM policy_versions WHERE number = 2")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(decision.is_some(), "the approval is a decision record");

    // Published: what everyone reads; the review clock starts.
    assert_redirects_to(
        &manager.post_form(&format!("{path}/publish"), &[]).await,
        &path,
    );
    let (_, page) = board.page(&path.replace("/manage", "/board")).await;
    assert!(page.contains(r#"id="lifecycle">Published<"#));
    assert!(page.contains("Screens lock after 2 minutes."));
    let next_review: time::Date = sqlx::query_scalar("SELECT next_review_on FROM policies")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(next_review, review_due(today(), 12));

    // A new draft does not change what is in force until it is published in turn.
    let body_v3 = body_v2.replace("Keep laptops safe.", "Keep laptops and phones safe.");
    assert_redirects_to(&write_version(&app, &manager, &path, &body_v3).await, &path);
    let (_, page) = board.page(&path.replace("/manage", "/board")).await;
    let shown = page.split(r#"id="policy-body""#).nth(1).unwrap();
    assert!(shown.contains("Keep laptops safe."));
    assert!(!shown.contains("phones"));
    assert!(page.contains("Version 2 is in force; version 3 is draft."));

    // Retiring needs a reason, given next to the field; a page read before a change keeps
    // what was typed and says why.
    let version = policy_version(&app, &path).await;
    let stale = manager
        .post_form(
            &format!("{path}/retire"),
            &[("reason", "Merged elsewhere."), ("version", "1")],
        )
        .await;
    assert_eq!(stale.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = stale.text().await.unwrap();
    assert!(page.contains("The policy changed while you were reading it"));
    assert!(page.contains(">Merged elsewhere.</textarea>"));
    let no_reason = manager
        .post_form(
            &format!("{path}/retire"),
            &[("reason", " "), ("version", &version)],
        )
        .await;
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_reason
            .text()
            .await
            .unwrap()
            .contains(r#"id="reason-error""#)
    );
    assert_redirects_to(
        &manager
            .post_form(
                &format!("{path}/retire"),
                &[("reason", "Merged into POL-0009."), ("version", &version)],
            )
            .await,
        &path,
    );
    let (_, page) = manager.page(&path).await;
    assert!(page.contains(r#"id="lifecycle">Retired<"#));

    let actions = app.audit_actions().await;
    for expected in [
        "policy.created",
        "policy.version_written",
        "request.created",
        "request.opened",
        "vote.cast",
        "decision.recorded",
        "policy.published",
        "policy.retired",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "no {expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_published_version_is_immutable_whoever_tries() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let path = published_policy(&app, &manager, &board).await;

    // Through the application: an edit is a new version; the published one is untouched.
    assert_redirects_to(
        &write_version(&app, &manager, &path, "Rewritten.").await,
        &path,
    );
    let (status, body): (String, String) =
        sqlx::query_as("SELECT status, body FROM policy_versions WHERE number = 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), body.as_str()),
        ("published", BODY_V1.trim())
    );

    // Behind its back, as the application's role or the owner: the database refuses.
    let mut owner = app.owner_connection().await;
    for statement in [
        "UPDATE policy_versions SET body = 'tampered' WHERE number = 1",
        "UPDATE policy_versions SET title = 'tampered' WHERE number = 1",
        "UPDATE policy_versions SET status = 'draft' WHERE number = 1",
        "DELETE FROM policy_versions WHERE number = 1",
    ] {
        assert!(
            sqlx::query(statement).execute(&app.pool).await.is_err(),
            "app role: {statement}"
        );
        assert!(
            sqlx::query(statement).execute(&mut owner).await.is_err(),
            "owner: {statement}"
        );
    }
}

#[tokio::test]
async fn the_difference_between_any_two_versions_is_shown_line_by_line() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let path = write_policy(&manager, BODY_V1).await;
    let v2 = BODY_V1.replace(
        "- Disks are encrypted.\n",
        "- Disks are encrypted with a TPM-held key.\n",
    );
    assert_redirects_to(&write_version(&app, &manager, &path, &v2).await, &path);
    let v3 = format!("{v2}- Lost laptops are reported within 24 hours.\n");
    assert_redirects_to(&write_version(&app, &manager, &path, &v3).await, &path);

    let board_path = path.replace("/manage", "/board");
    let (status, page) = board.page(&format!("{board_path}/diff?from=1&to=3")).await;
    assert_eq!(status, StatusCode::OK);
    let diff = page.split(r#"id="diff""#).nth(1).unwrap();
    assert!(diff.contains(r#"<tr class="diff-removed">"#));
    assert!(diff.contains("<del>- Disks are encrypted.</del>"));
    assert!(diff.contains("<ins>- Disks are encrypted with a TPM-held key.</ins>"));
    assert!(diff.contains("<ins>- Lost laptops are reported within 24 hours.</ins>"));
    assert!(
        !diff.contains("<del>- Screens lock"),
        "unchanged lines are context"
    );

    // Version 2 against 3 shows only the added line; a version against itself, nothing.
    let (_, page) = manager.page(&format!("{path}/diff?from=2&to=3")).await;
    let diff = page.split(r#"id="diff""#).nth(1).unwrap();
    assert!(!diff.contains("<del>"));
    assert_eq!(diff.matches("<ins>").count(), 1);
    let (_, page) = manager.page(&format!("{path}/diff?from=2&to=2")).await;
    assert!(page.contains(r#"id="no-difference""#));
    let (status, _) = manager.page(&format!("{path}/diff?from=1&to=9")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn markdown_cannot_carry_script_into_the_page() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let hostile = concat!(
        "# Rules\n\n",
        "<script>alert('script')</script>\n\n",
        "[click](javascript:alert('link'))\n\n",
        "[CLICK](JaVaScRiPt:alert('case'))\n\n",
        "<a href=\"javascript:alert('raw')\">raw link</a>\n\n",
        "<img src=\"x\" onerror=\"alert('img')\">\n\n",
        "<svg onload=\"alert('svg')\"></svg>\n\n",
        "<iframe src=\"https://evil.example\"></iframe>\n\n",
        "<div style=\"position:fixed\" onclick=\"alert('div')\">styled</div>\n\n",
        "**still bold** and [a real link](https://example.com/policy)\n",
    );
    let path = write_policy(&manager, hostile).await;
    for page_path in [
        path.clone(),
        path.replace("/manage", "/board"),
        format!("{path}/versions/1"),
    ] {
        let (status, page) = if page_path.starts_with("/board") {
            board.page(&page_path).await
        } else {
            manager.page(&page_path).await
        };
        assert_eq!(status, StatusCode::OK);
        let rendered = page
            .split(r#"id="policy-body">"#)
            .nth(1)
            .unwrap()
            .split("</section>")
            .next()
            .unwrap()
            .to_lowercase();
        for forbidden in [
            "<script",
            "javascript:",
            "onerror",
            "onload",
            "onclick",
            "<iframe",
            "style=",
        ] {
            assert!(
                !rendered.contains(forbidden),
                "{page_path}: {forbidden} got through: {rendered}"
            );
        }
        assert!(rendered.contains("<strong>still bold</strong>"));
        assert!(rendered.contains(r#"href="https://example.com/policy""#));
        assert!(rendered.contains("rel=\"noopener noreferrer\""));
    }
}

#[tokio::test]
async fn an_exception_is_granted_by_the_board_for_a_limited_time_then_flagged_expired() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let path = published_policy(&app, &manager, &board).await;
    let today = today();
    let start = today.to_string();

    // Dates the wrong way round, or over a year: refused next to the field, input kept.
    let backwards = (today - time::Duration::days(1)).to_string();
    let too_long = (today + time::Duration::days(400)).to_string();
    for (until, message) in [
        (
            backwards.as_str(),
            "An exception ends on or after the day it starts.",
        ),
        (too_long.as_str(), "An exception runs for a year at most"),
    ] {
        let refused = manager
            .post_form(
                &format!("{path}/exceptions"),
                &[
                    ("scope", "Kiosk laptops in the lobby"),
                    ("justification", "They cannot lock: they are kiosks."),
                    ("starts_on", &start),
                    ("expires_on", until),
                ],
            )
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = refused.text().await.unwrap();
        assert!(page.contains(message), "{message}");
        assert!(page.contains(r#"value="Kiosk laptops in the lobby""#));
    }
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM policy_exceptions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(requests, 0);

    let until = (today + time::Duration::days(90)).to_string();
    let response = manager
        .post_form(
            &format!("{path}/exceptions"),
            &[
                ("scope", "Kiosk laptops in the lobby"),
                ("justification", "They cannot lock: they are kiosks."),
                ("compensating_controls", "Kiosk mode, no data stored."),
                ("starts_on", &start),
                ("expires_on", &until),
            ],
        )
        .await;
    assert_redirects_to(&response, &path);
    let (_, list) = board.page("/board/policies").await;
    assert!(
        list.split(r#"id="policy-exceptions""#)
            .nth(1)
            .unwrap()
            .contains("Awaiting the board")
    );

    approve(&board, open_request(&app, "policy_exception").await).await;
    let (_, page) = manager.page(&path).await;
    let exceptions = page.split(r#"id="exceptions""#).nth(1).unwrap();
    assert!(exceptions.contains("In force"));
    assert!(page.contains("1 exception(s) in force"));

    // Past its end it is flagged, and no longer counts as in force.
    app.rewrite("UPDATE policy_exceptions SET starts_on = current_date - 100, expires_on = current_date - 1").await;
    let (_, list) = board.page("/board/policies").await;
    assert!(
        list.split(r#"id="policy-exceptions""#)
            .nth(1)
            .unwrap()
            .contains(r#"status-bad">Expired"#)
    );
    let (_, page) = manager.page(&path).await;
    assert!(!page.contains("exception(s) in force"));
}

#[tokio::test]
async fn overdue_reviews_reach_the_board_and_the_owner_until_reviewed() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let other = app.signed_in("other@example.com", &[Role::ItManager]).await;
    let path = published_policy(&app, &manager, &board).await;

    let (_, home) = board.page("/board").await;
    assert!(!home.contains(r#"id="overdue-policies""#));
    app.rewrite("UPDATE policies SET next_review_on = current_date - 3")
        .await;
    let (_, home) = board.page("/board").await;
    assert!(
        home.split(r#"id="overdue-policies""#)
            .nth(1)
            .unwrap()
            .contains("POL-0001")
    );
    let (_, home) = manager.page("/manage").await;
    assert!(
        home.split(r#"id="overdue-policies""#)
            .nth(1)
            .unwrap()
            .contains("POL-0001")
    );
    let (_, home) = other.page("/manage").await;
    assert!(
        !home.contains(r#"id="overdue-policies""#),
        "only the owner's home lists it"
    );
    let (_, list) = manager.page("/manage/policies?overdue=1").await;
    assert!(list.contains("POL-0001"));

    let version = policy_version(&app, &path).await;
    let response = manager
        .post_form(
            &format!("{path}/reviewed"),
            &[("note", "Still right."), ("version", &version)],
        )
        .await;
    assert_redirects_to(&response, &path);
    let next_review: time::Date = sqlx::query_scalar("SELECT next_review_on FROM policies")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(next_review, review_due(today(), 12));
    let (_, home) = board.page("/board").await;
    assert!(!home.contains(r#"id="overdue-policies""#));
    let (_, list) = manager.page("/manage/policies?overdue=1").await;
    assert!(!list.contains("POL-0001"));
}

#[tokio::test]
async fn a_policy_lists_the_risks_it_mitigates_and_the_risk_lists_it() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let owner = app.user_id("manager@example.com").await;
    let risk: i64 = sqlx::query_scalar(
        "INSERT INTO risks (reference, title, category_id, owner_id, likelihood, impact,
                            residual_likelihood, residual_impact, treatment, next_review_date)
         SELECT 'RSK-0007', 'Stolen laptop', min(c.id), $1, 3, 4, 2, 3, 'mitigate', current_date + 30
         FROM risk_categories c RETURNING id",
    )
    .bind(owner)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let path = write_policy(&manager, BODY_V1).await;

    let unknown = manager
        .post_form(&format!("{path}/risks"), &[("risk_reference", "RSK-9999")])
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = unknown.text().await.unwrap();
    assert!(page.contains(r#"id="risk_reference-error""#));
    assert!(page.contains(r#"value="RSK-9999""#));

    let linked = manager
        .post_form(&format!("{path}/risks"), &[("risk_reference", "rsk-0007")])
        .await;
    assert_redirects_to(&linked, &path);
    let (_, page) = manager.page(&path).await;
    assert!(
        page.split(r#"id="linked-risks""#)
            .nth(1)
            .unwrap()
            .contains("RSK-0007")
    );
    let (_, risk_page) = board.page(&format!("/board/risks/{risk}")).await;
    assert!(
        risk_page
            .split(r#"id="risk-policies""#)
            .nth(1)
            .unwrap()
            .contains("POL-0001")
    );

    let unlinked = manager
        .post_form(&format!("{path}/risks/{risk}/unlink"), &[])
        .await;
    assert_redirects_to(&unlinked, &path);
    let (_, risk_page) = board.page(&format!("/board/risks/{risk}")).await;
    assert!(risk_page.contains("none linked"));
}

#[tokio::test]
async fn the_demo_policies_cover_every_stage_with_exceptions_and_overdue_reviews() {
    let app = TestApp::spawn().await;
    quorum::demo::load(&app.pool, crate::helpers::PASSWORD)
        .await
        .unwrap();
    let rule = crate::helpers::demo_rule();
    quorum::demo::risks::load(&app.pool, rule).await.unwrap();
    quorum::demo::policies::load(&app.pool, rule).await.unwrap();
    quorum::demo::policies::load(&app.pool, rule).await.unwrap();
    let today = today();
    let mut conn = app.pool.acquire().await.unwrap();
    let query = quorum::policies::repo::PolicyQuery {
        limit: 100,
        ..Default::default()
    };
    let policies = quorum::policies::repo::find_policies(&mut conn, &query, today)
        .await
        .unwrap();
    assert_eq!(policies.len(), 16, "loaded once");
    for stage in quorum::policies::model::Lifecycle::ALL {
        assert!(
            policies.iter().any(|p| p.lifecycle == *stage),
            "no demo policy is {stage}"
        );
    }
    assert_eq!(
        policies.iter().filter(|p| p.review_overdue(today)).count(),
        2
    );
    assert!(
        policies
            .iter()
            .any(|p| p.has_newer_version() && p.is_published())
    );
    assert_eq!(
        policies.iter().map(|p| p.exceptions_in_force).sum::<i64>(),
        1
    );
    let awaiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM approval_requests WHERE kind = 'policy_exception' AND status = 'open'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(awaiting, 1);
}

#[tokio::test]
async fn the_policy_list_filters_sorts_and_pages_by_key() {
    let app = TestApp::spawn().await;
    let (manager, _board) = people(&app).await;
    let owner = app.user_id("manager@example.com").await;
    // 55 published policies; the review of POL-0055 falls due first, POL-0001's last.
    sqlx::query(
        "WITH p AS (
             INSERT INTO policies (reference, title, owner_id, category, review_interval_months,
                                   next_review_on)
             SELECT 'POL-' || lpad(n::text, 4, '0'), 'Policy ' || n, $1,
                    CASE WHEN n % 2 = 0 THEN 'data' ELSE 'access' END, 12,
                    current_date + (100 - n)
             FROM generate_series(1, 55) n RETURNING id, title)
         INSERT INTO policy_versions (policy_id, number, title, scope, body, content_hash, created_by)
         SELECT id, 1, title, 'All', 'Text of ' || title, 'hash', $1 FROM p",
    )
    .bind(owner)
    .execute(&app.pool)
    .await
    .unwrap();

    let (_, first) = manager.page("/manage/policies").await;
    let table = first.split(r#"id="policy-register""#).nth(1).unwrap();
    assert_eq!(
        table.matches("<tr>").count(),
        50 + 1,
        "a header and 50 rows"
    );
    let next = first
        .split(r#"<a href="/manage/policies?"#)
        .find_map(|part| part.split_once(r#"">Next page"#).map(|(query, _)| query))
        .expect("a next page link");
    let (_, second) = manager
        .page(&format!("/manage/policies?{}", next.replace("&#38;", "&")))
        .await;
    let table = second.split(r#"id="policy-register""#).nth(1).unwrap();
    assert_eq!(table.matches("<tr>").count(), 5 + 1);
    assert!(table.contains("POL-0055") && !table.contains("POL-0050"));

    let (_, by_review) = manager
        .page("/manage/policies?sort=review&category=access")
        .await;
    let table = by_review.split(r#"id="policy-register""#).nth(1).unwrap();
    let first_row = table.split("<tr>").nth(2).unwrap();
    assert!(first_row.contains("POL-0055"), "{first_row}");
    assert!(
        !table.contains("POL-0054"),
        "data policies are filtered out"
    );
    let (_, search) = manager
        .page("/manage/policies?q=%22Text+of+Policy+7%22")
        .await;
    assert!(search.contains("POL-0007"));
    assert!(!search.contains("POL-0008"));
}

#[tokio::test]
async fn everyone_reads_the_policies_in_force_and_nothing_else() {
    let app = TestApp::spawn().await;
    let (manager, board) = people(&app).await;
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    let published = published_policy(&app, &manager, &board).await;
    let draft = write_policy(&manager, "A draft nobody follows yet.").await;
    let id = |path: &str| path.rsplit('/').next().unwrap().to_owned();

    let (status, list) = auditor.page("/policies").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("POL-0001") && !list.contains("POL-0002"));
    let (status, page) = auditor.page(&format!("/policies/{}", id(&published))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Screens lock after 5 minutes."));
    let (status, _) = auditor.page(&format!("/policies/{}", id(&draft))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A newer draft does not reach readers; retiring takes the policy away.
    write_version(&app, &manager, &published, "Screens lock after 1 minute.").await;
    let (_, page) = auditor.page(&format!("/policies/{}", id(&published))).await;
    assert!(page.contains("Screens lock after 5 minutes."));
    let version = policy_version(&app, &published).await;
    manager
        .post_form(
            &format!("{published}/retire"),
            &[("reason", "Superseded."), ("version", &version)],
        )
        .await;
    let (status, _) = auditor.page(&format!("/policies/{}", id(&published))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = auditor.page("/policies").await;
    assert!(!list.contains("POL-0001"));
}

#[tokio::test]
async fn more_concurrent_edits_than_pool_connections_never_stall() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let path = write_policy(&manager, BODY_V1).await;
    let owner = "manager@example.com".to_owned();
    let version = policy_version(&app, &path).await;
    let edit = format!("{path}/edit");
    // Each edit holds the policy's row lock in its transaction; the server's pool has 16
    // connections. An edit that took a second connection while holding the lock would
    // wait for ever on the others, which wait for its lock.
    let bodies: Vec<String> = (0..40).map(|n| format!("{BODY_V1}\nEdit {n}.\n")).collect();
    let edits = bodies.iter().map(|body| {
        let mut fields = policy_fields(&owner, "Laptop Policy", body);
        fields.push(("version", &version));
        let (manager, edit) = (&manager, &edit);
        async move { manager.post_form(edit, &fields).await.status() }
    });
    let statuses = futures_util::future::join_all(edits).await;
    let saved = statuses
        .iter()
        .filter(|status| **status == StatusCode::SEE_OTHER)
        .count();
    let stale = statuses
        .iter()
        .filter(|status| **status == StatusCode::CONFLICT)
        .count();
    assert_eq!((saved, stale), (1, 39), "{statuses:?}");
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM policy_versions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(versions, 2);
}
