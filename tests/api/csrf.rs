//! Every state-changing request needs the session's CSRF token and a same-site origin.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, assert_redirects_to};

async fn user_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn new_account_fields(token: &str) -> Vec<(&str, &str)> {
    vec![
        ("email", "new.person@example.com"),
        ("display_name", "New Person"),
        ("roles", "auditor"),
        ("password", "a fine long passphrase"),
        ("csrf_token", token),
    ]
}

#[tokio::test]
async fn a_form_without_a_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();
    client.page("/login").await;
    let response = client
        .post_form_raw(
            "/login",
            &[("email", "board@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("The form has expired")
    );
    assert_redirects_to(&client.get("/board").await, "/login?next=%2Fboard");
}

#[tokio::test]
async fn a_wrong_token_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let before = user_count(&app).await;
    let forged = "0".repeat(64);
    let response = admin
        .post_form_raw("/admin/users", &new_account_fields(&forged))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn a_token_from_another_session_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let other = app.client();
    let others_token = other.csrf_token().await;
    assert_ne!(others_token, admin.csrf_token().await);
    let before = user_count(&app).await;
    let response = admin
        .post_form_raw("/admin/users", &new_account_fields(&others_token))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app).await, before);

    // With its own token the same form goes through.
    let own = admin.csrf_token().await;
    let response = admin
        .post_form_raw("/admin/users", &new_account_fields(&own))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(user_count(&app).await, before + 1);
}

#[tokio::test]
async fn a_cross_site_request_is_refused_even_with_a_valid_token() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let token = admin.csrf_token().await;
    let before = user_count(&app).await;
    let response = admin
        .http
        .post(admin.url("/admin/users"))
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.example")
        .form(&new_account_fields(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn the_token_stays_the_same_for_the_whole_session() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let anonymous = client.csrf_token().await;
    assert_eq!(anonymous.len(), 64);
    assert_eq!(client.csrf_token().await, anonymous);
    // Signing in opens a new session with a token of its own (one planted before sign-in
    // is worth nothing after it), which then stays for every page, so a form open in
    // another tab still works.
    app.create_user("board@example.com", &[Role::Board]).await;
    client.login("board@example.com", PASSWORD).await;
    let signed_in = client.csrf_token().await;
    assert_ne!(signed_in, anonymous);
    client.page("/board").await;
    assert_eq!(client.csrf_token().await, signed_in);

    let sign_out_with = |token: String| {
        client
            .http
            .post(client.url("/logout"))
            .form(&[("csrf_token", token)])
            .send()
    };
    assert_eq!(
        sign_out_with(anonymous).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sign_out_with(signed_in).await.unwrap().status(),
        StatusCode::SEE_OTHER
    );
}
