//! "Your account": the sessions open in a person's name, seen and ended by that person.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, TestClient, assert_redirects_to};

/// The ids of the account's sessions, oldest first.
async fn session_ids(app: &TestApp, email: &str) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.email = $1 ORDER BY s.id",
    )
    .bind(email)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn sign_in_again(app: &TestApp, email: &str) -> TestClient {
    let client = app.client();
    assert_eq!(
        client.login(email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    client
}

#[tokio::test]
async fn people_see_where_they_are_signed_in_and_end_one_session_or_all_others() {
    let app = TestApp::spawn().await;
    let laptop = app.signed_in("board@example.com", &[Role::Board]).await;
    let phone = sign_in_again(&app, "board@example.com").await;
    let tablet = sign_in_again(&app, "board@example.com").await;
    let ids = session_ids(&app, "board@example.com").await;
    assert_eq!(ids.len(), 3);

    let (status, page) = laptop.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("This session").count(), 1, "{page}");
    assert_eq!(page.matches("<td>Password</td>").count(), 3, "{page}");
    for id in &ids[1..] {
        assert!(
            page.contains(&format!("/account/sessions/{id}/end")),
            "{page}"
        );
    }
    // No button ends the session in use: signing out does that.
    assert!(!page.contains(&format!("/account/sessions/{}/end", ids[0])));

    // The phone's session ends; the others go on.
    let response = laptop
        .post_form(&format!("/account/sessions/{}/end", ids[1]), &[])
        .await;
    assert_redirects_to(&response, "/account");
    assert_redirects_to(&phone.get("/board").await, "/login?next=%2Fboard");
    assert_eq!(tablet.get("/board").await.status(), StatusCode::OK);
    let (_, page) = laptop.page("/account").await;
    assert!(page.contains("The session has ended."), "{page}");

    // All but this one.
    let response = laptop.post_form("/account/sessions/end-others", &[]).await;
    assert_redirects_to(&response, "/account");
    let (_, page) = laptop.page("/account").await;
    assert!(page.contains("Your other session has ended."), "{page}");
    assert_redirects_to(&tablet.get("/board").await, "/login?next=%2Fboard");
    assert_eq!(laptop.get("/board").await.status(), StatusCode::OK);
    assert_eq!(session_ids(&app, "board@example.com").await, [ids[0]]);

    let actions = app.audit_actions().await;
    assert!(actions.contains(&"session.ended".to_owned()), "{actions:?}");
    assert!(
        actions.contains(&"session.others_ended".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test]
async fn nobody_ends_someone_elses_session_or_their_own_by_its_id() {
    let app = TestApp::spawn().await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let board_session = session_ids(&app, "board@example.com").await[0];
    let manager_session = session_ids(&app, "manager@example.com").await[0];

    let response = manager
        .post_form(&format!("/account/sessions/{board_session}/end"), &[])
        .await;
    assert_redirects_to(&response, "/account");
    assert_eq!(board.get("/board").await.status(), StatusCode::OK);
    let (_, page) = manager.page("/account").await;
    assert!(page.contains("That session has already ended."), "{page}");

    let response = manager
        .post_form(&format!("/account/sessions/{manager_session}/end"), &[])
        .await;
    assert_redirects_to(&response, "/account");
    let (_, page) = manager.page("/account").await;
    assert!(page.contains("to end it, sign out"), "{page}");
    assert_eq!(manager.get("/manage").await.status(), StatusCode::OK);
    assert!(
        !app.audit_actions()
            .await
            .contains(&"session.ended".to_owned())
    );
}

#[tokio::test]
async fn administrators_see_where_a_person_is_signed_in_but_no_secret() {
    let app = TestApp::spawn().await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let (id, hash, csrf): (i64, Vec<u8>, String) = sqlx::query_as(
        "SELECT u.id, s.token_hash, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.email = 'board@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let (status, page) = admin.page(&format!("/admin/users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("is signed in</h2>"), "{page}");
    assert_eq!(page.matches("<td>Password</td>").count(), 1, "{page}");
    assert!(!page.contains(&hex::encode(&hash)));
    assert!(!page.contains(&csrf));
    // Seen, not ended, from there: ending is the person's own or a deactivation.
    assert!(!page.contains("/account/sessions/"));

    board.logout().await;
    let (_, page) = admin.page(&format!("/admin/users/{id}")).await;
    assert!(page.contains("Signed in nowhere at the moment."), "{page}");
}
