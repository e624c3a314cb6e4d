//! Two Quorum instances on one database behave as one: sessions, votes and the audit
//! chain are all kept in PostgreSQL.

use quorum::audit;
use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, location};

#[tokio::test]
async fn two_instances_share_sessions_count_each_vote_once_and_keep_the_chain() {
    let app = TestApp::spawn().await;
    let other = app.another_instance().await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let chair_id = app.create_user("chair@example.com", &[Role::Board]).await;
    let project = app.seed_project(manager_id, chair_id).await;
    let request_id = app.seed_request(project.project_id, manager_id, 10).await;
    let mut members = Vec::new();
    for n in 0..6 {
        members.push(
            app.signed_in(&format!("member{n}@example.com"), &[Role::Board])
                .await,
        );
    }

    // Signed in through one, known to the other.
    for member in &members {
        let (status, page) = member.at(&other).page("/board").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("member"), "signed in on the other instance");
    }

    // Every member sends a vote through both at once (a double click behind a balancer).
    let path = format!("/board/requests/{request_id}/vote");
    let mut sends = Vec::new();
    for member in &members {
        for client in [member.clone(), member.at(&other)] {
            let token = client.csrf_token().await;
            let path = path.clone();
            sends.push(tokio::spawn(async move {
                client
                    .post_form_raw(&path, &[("choice", "approve"), ("csrf_token", &token)])
                    .await
                    .status()
            }));
        }
    }
    for send in sends {
        let status = send.await.unwrap();
        assert!(!status.is_server_error(), "{status}");
    }
    let live: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT voter_id, count(*) FROM votes WHERE request_id = $1 AND ended_at IS NULL
         GROUP BY voter_id",
    )
    .bind(request_id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(!live.is_empty());
    assert!(live.iter().all(|(_, votes)| *votes == 1), "{live:?}");
    let decisions: i64 = sqlx::query_scalar("SELECT count(*) FROM decisions WHERE request_id = $1")
        .bind(request_id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(decisions, 1, "the approvals decide it, once");
    let mut conn = app.pool.acquire().await.unwrap();
    let report = audit::verify_chain(&mut conn).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);

    // Signing out on one ends the session on both.
    let member = &members[0];
    assert_eq!(
        member.at(&other).logout().await.status(),
        StatusCode::SEE_OTHER
    );
    let response = member.get("/board").await;
    assert!(location(response.headers()).starts_with("/login"));
}
