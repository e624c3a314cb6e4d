//! The administrator manages accounts: forms that keep what was typed, optimistic
//! concurrency, and no way to lock themselves out.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, assert_redirects_to};

#[tokio::test]
async fn an_invalid_account_form_is_refused_with_messages_and_input_kept() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let response = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "not-an-address"),
                ("display_name", "Rosa Diaz"),
                ("roles", "auditor"),
                ("is_chair", "on"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(body.contains("Enter an e-mail address such as name@example.org."));
    assert!(body.contains("Only a board member can chair the board."));
    assert!(body.contains("Use at least 12 characters"));
    assert!(body.contains(r#"value="not-an-address""#));
    assert!(body.contains(r#"value="Rosa Diaz""#));
    assert!(body.contains(r#"value="auditor" checked"#));
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE display_name = 'Rosa Diaz'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn an_admin_creates_an_account_that_can_sign_in_and_duplicates_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let fields = [
        ("email", "Chair@Example.com"),
        ("display_name", "Catherine Hale"),
        ("roles", "board"),
        ("roles", "it_manager"),
        ("is_chair", "on"),
        ("password", "a fine long passphrase"),
    ];
    let response = admin.post_form("/admin/users", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (roles, chair): (Vec<String>, bool) = sqlx::query_as(
        "SELECT array_agg(r.role ORDER BY r.role), u.is_chair FROM users u
         JOIN user_roles r ON r.user_id = u.id WHERE u.email = 'chair@example.com' GROUP BY u.id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(roles, ["board", "it_manager"]);
    assert!(chair);

    let duplicate = admin.post_form("/admin/users", &fields).await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.text().await.unwrap().contains("already exists"));

    let person = app.client();
    assert_redirects_to(
        &person
            .login("chair@example.com", "a fine long passphrase")
            .await,
        "/",
    );
    assert_eq!(person.get("/board").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stale_edit_is_refused_and_the_typed_input_kept() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let other_admin = app.signed_in("admin2@example.com", &[Role::Admin]).await;
    let id = app
        .create_user("person@example.com", &[Role::Auditor])
        .await;
    let path = format!("/admin/users/{id}");

    // Both open the form at version 1; the first saves.
    let first = other_admin
        .post_form(
            &path,
            &[
                ("display_name", "Name From First"),
                ("roles", "auditor"),
                ("version", "1"),
            ],
        )
        .await;
    assert_redirects_to(&first, &path);
    let second = admin
        .post_form(
            &path,
            &[
                ("display_name", "Name From Second"),
                ("roles", "board"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let body = second.text().await.unwrap();
    assert!(body.contains("Someone else changed this account"));
    assert!(body.contains(r#"value="Name From Second""#));

    let name: String = sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "Name From First");

    // Saving again from the refreshed form (now at version 2) goes through.
    let again = admin
        .post_form(
            &path,
            &[
                ("display_name", "Name From Second"),
                ("roles", "board"),
                ("version", "2"),
            ],
        )
        .await;
    assert_redirects_to(&again, &path);
    let actions = app.audit_actions().await;
    assert_eq!(actions.iter().filter(|a| *a == "user.updated").count(), 2);
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/admin/users/{id}");
    let response = admin
        .post_form(
            &path,
            &[
                ("display_name", "Admin"),
                ("roles", "auditor"),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("cannot remove your own administrator role")
    );

    let response = admin
        .post_form(
            &format!("{path}/access"),
            &[("version", "1"), ("active", "false")],
        )
        .await;
    assert_redirects_to(&response, &path);
    let (_, page) = admin.page(&path).await;
    assert!(page.contains("You cannot deactivate your own account"));
    assert_eq!(admin.get("/admin").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_reset_ends_the_persons_sessions() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'board@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let weak = admin
        .post_form(
            &format!("/admin/users/{id}/password"),
            &[("new_password", "12345")],
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(board.get("/board").await.status(), StatusCode::OK);

    let reset = admin
        .post_form(
            &format!("/admin/users/{id}/password"),
            &[("new_password", "brand new passphrase")],
        )
        .await;
    assert_redirects_to(&reset, &format!("/admin/users/{id}"));
    assert_redirects_to(&board.get("/board").await, "/login?next=%2Fboard");
    assert_redirects_to(
        &app.client()
            .login("board@example.com", "brand new passphrase")
            .await,
        "/",
    );
}
