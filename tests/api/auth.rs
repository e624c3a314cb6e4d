//! Signing in and out, sessions, throttling, passwords.

use std::time::Duration;

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, assert_redirects_to, location};

#[tokio::test]
async fn a_manager_signs_in_and_lands_on_the_management_home() {
    let app = TestApp::spawn().await;
    app.create_user("manager@example.com", &[Role::ItManager])
        .await;
    let client = app.client();

    let response = client.login("Manager@Example.com ", PASSWORD).await;
    assert_redirects_to(&response, "/");
    assert_redirects_to(&client.get("/").await, "/manage");
    let (status, body) = client.page("/manage").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("IT management"));
    assert!(body.contains("Sign out"));
    // The navigation shows only what the role reaches.
    assert!(!body.contains(r#"href="/board""#));
    assert!(!body.contains(r#"href="/admin""#));
    assert!(app.audit_actions().await.contains(&"auth.login".to_owned()));
}

#[tokio::test]
async fn a_person_with_several_roles_chooses_among_their_homes() {
    let app = TestApp::spawn().await;
    let client = app
        .signed_in("cio@example.com", &[Role::Board, Role::ItManager])
        .await;
    let (status, body) = client.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#"href="/board""#));
    assert!(body.contains(r#"href="/manage""#));
    assert_eq!(client.get("/board").await.status(), StatusCode::OK);
    assert_eq!(client.get("/manage").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_account_get_the_same_message() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();

    let wrong = client
        .login("board@example.com", "not the password at all")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong_body = wrong.text().await.unwrap();
    let unknown = client
        .login("nobody@example.com", "not the password at all")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_body = unknown.text().await.unwrap();

    let message = "The e-mail address or password is incorrect.";
    assert!(wrong_body.contains(message));
    assert!(unknown_body.contains(message));
    // What was typed is kept; the password is not sent back.
    assert!(unknown_body.contains(r#"value="nobody@example.com""#));
    assert!(!unknown_body.contains("not the password at all"));
    assert_redirects_to(&client.get("/board").await, "/login?next=%2Fboard");

    let failures: Vec<(String, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT actor_label, after FROM audit_events WHERE action = 'auth.login_failed' ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(failures.len(), 2);
    assert_eq!(failures[0].0, "board@example.com");
    assert_eq!(failures[0].1.as_ref().unwrap()["reason"], "wrong password");
    assert_eq!(failures[1].1.as_ref().unwrap()["reason"], "unknown account");
}

#[tokio::test]
async fn repeated_failures_block_the_account_for_a_growing_time() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();
    for _ in 0..5 {
        let response = client.login("board@example.com", "guess guess guess").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Now even the right password is refused, without being checked.
    let blocked = client.login("board@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: i64 = blocked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert!(
        blocked
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts")
    );

    // The block is kept in the database (shared by all instances) and grows.
    let first_block: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM blocked_until - last_failure_at)::float8
         FROM login_throttle WHERE key = 'account:board@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((29.0..=31.0).contains(&first_block), "{first_block}");

    // Once the block has passed, one more failure blocks for twice as long.
    sqlx::query("UPDATE login_throttle SET blocked_until = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    client.login("board@example.com", "guess guess guess").await;
    let second_block: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM blocked_until - last_failure_at)::float8
         FROM login_throttle WHERE key = 'account:board@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!((59.0..=61.0).contains(&second_block), "{second_block}");

    // An unblocked account signs in again, and its count starts afresh.
    sqlx::query("UPDATE login_throttle SET blocked_until = NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_redirects_to(&client.login("board@example.com", PASSWORD).await, "/");
    let remaining: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM login_throttle WHERE key = 'account:board@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(remaining, 0);
}

#[tokio::test]
async fn many_failures_from_one_address_block_that_address() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    // Twenty different accounts guessed from one address (under each account's limit).
    for i in 0..20 {
        let response = app
            .client()
            .login(&format!("guess{i}@example.com"), "guess guess guess")
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let blocked = app.client().login("board@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let throttled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'auth.login_throttled'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(throttled, 1);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    assert_eq!(client.get("/audit").await.status(), StatusCode::OK);

    assert_redirects_to(&client.logout().await, "/login");
    let (_, body) = client.page("/login").await;
    assert!(body.contains("You have signed out."));
    assert_redirects_to(&client.get("/audit").await, "/login?next=%2Faudit");
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.logout".to_owned())
    );
}

#[tokio::test]
async fn the_session_id_is_renewed_at_sign_in() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();
    let before = client.get("/login").await;
    let anonymous_cookie = session_cookie(&before);
    assert!(!anonymous_cookie.is_empty());

    let response = client.login("board@example.com", PASSWORD).await;
    let signed_in_cookie = session_cookie(&response);
    assert!(
        !signed_in_cookie.is_empty(),
        "sign-in must set a new session cookie"
    );
    assert_ne!(anonymous_cookie, signed_in_cookie);
    let header = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Lax"), "{header}");

    // The old id no longer opens anything.
    let stale = app.client();
    let response = stale
        .http
        .get(stale.url("/board"))
        .header("cookie", format!("quorum_session={anonymous_cookie}"))
        .send()
        .await
        .unwrap();
    assert_redirects_to(&response, "/login?next=%2Fboard");
}

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.strip_prefix("quorum_session="))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
        .next()
        .unwrap_or_default()
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = TestApp::spawn_with(|config| {
        config.session_idle_timeout = Duration::from_secs(3);
    })
    .await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();
    let login = client.login("board@example.com", PASSWORD).await;
    let cookie = session_cookie(&login);
    assert_eq!(client.get("/board").await.status(), StatusCode::OK);
    // Activity pushes the deadline back: 2 × 1.5 s of activity outlives a 3 s idle limit...
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(client.get("/board").await.status(), StatusCode::OK);
    }
    // ...and idleness ends the session on the server, whatever the browser sends.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    let stale = app.client();
    let response = stale
        .http
        .get(stale.url("/board"))
        .header("cookie", format!("quorum_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_redirects_to(&response, "/login?next=%2Fboard");
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_timeout_even_when_active() {
    let app = TestApp::spawn_with(|config| {
        config.session_absolute_timeout = Duration::from_secs(3);
    })
    .await;
    let client = app.signed_in("board@example.com", &[Role::Board]).await;
    for _ in 0..2 {
        assert_eq!(client.get("/board").await.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    tokio::time::sleep(Duration::from_millis(4000)).await;
    assert_redirects_to(&client.get("/board").await, "/login?next=%2Fboard");
}

#[tokio::test]
async fn a_deactivated_account_loses_its_sessions_at_once_and_cannot_sign_in() {
    let app = TestApp::spawn().await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    assert_eq!(manager.get("/manage").await.status(), StatusCode::OK);

    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'manager@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let response = admin
        .post_form(
            &format!("/admin/users/{id}/access"),
            &[("version", "1"), ("active", "false")],
        )
        .await;
    assert_redirects_to(&response, &format!("/admin/users/{id}"));

    assert_redirects_to(&manager.get("/manage").await, "/login?next=%2Fmanage");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the ended session's row must be gone");
    let again = app.client().login("manager@example.com", PASSWORD).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("The e-mail address or password is incorrect.")
    );
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"user.deactivated".to_owned()));

    // Reactivated, the person signs in again.
    let response = admin
        .post_form(
            &format!("/admin/users/{id}/access"),
            &[("version", "2"), ("active", "true")],
        )
        .await;
    assert_redirects_to(&response, &format!("/admin/users/{id}"));
    assert_redirects_to(
        &app.client().login("manager@example.com", PASSWORD).await,
        "/",
    );
}

#[tokio::test]
async fn after_signing_in_a_person_returns_where_they_were_going() {
    let app = TestApp::spawn().await;
    app.create_user("admin@example.com", &[Role::Admin]).await;
    let client = app.client();
    let response = client.get("/admin/users/new").await;
    assert_redirects_to(&response, "/login?next=%2Fadmin%2Fusers%2Fnew");

    let (_, login_page) = client.page(&location(response.headers())).await;
    assert!(login_page.contains(r#"name="next" value="/admin/users/new""#));
    let response = client
        .post_form(
            "/login",
            &[
                ("email", "admin@example.com"),
                ("password", PASSWORD),
                ("next", "/admin/users/new"),
            ],
        )
        .await;
    assert_redirects_to(&response, "/admin/users/new");
}

#[tokio::test]
async fn the_return_address_cannot_leave_the_site() {
    let app = TestApp::spawn().await;
    app.create_user("admin@example.com", &[Role::Admin]).await;
    for next in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let client = app.client();
        let response = client
            .post_form(
                "/login",
                &[
                    ("email", "admin@example.com"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_redirects_to(&response, "/");
    }
}

#[tokio::test]
async fn changing_the_password_checks_it_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("board@example.com", &[Role::Board]).await;
    let other_device = app.client();
    other_device.login("board@example.com", PASSWORD).await;
    assert_eq!(other_device.get("/board").await.status(), StatusCode::OK);

    let refused = client
        .post_form(
            "/account/password",
            &[
                ("current_password", "wrong wrong wrong"),
                ("new_password", "short"),
                ("confirm_password", "different"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("This is not your current password."));
    assert!(body.contains("Use at least 12 characters"));
    assert!(body.contains("The two new passwords differ."));

    let common = client
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "password1234"),
                ("confirm_password", "password1234"),
            ],
        )
        .await;
    assert!(common.text().await.unwrap().contains("most common"));

    let new_password = "copper kettle morning tide";
    let changed = client
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_redirects_to(&changed, "/");
    assert_eq!(client.get("/board").await.status(), StatusCode::OK);
    assert_redirects_to(&other_device.get("/board").await, "/login?next=%2Fboard");

    let fresh = app.client();
    assert_eq!(
        fresh.login("board@example.com", PASSWORD).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_redirects_to(&fresh.login("board@example.com", new_password).await, "/");
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_with_owasp_parameters() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'board@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn a_session_keeps_a_hash_of_its_secret_and_where_it_was_opened() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();
    let token = client.csrf_token().await;
    let response = client
        .http
        .post(client.url("/login"))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        )
        .form(&[
            ("email", "board@example.com"),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    let secret = session_cookie(&response);
    assert_eq!(secret.len(), 64, "{secret}");

    let (hash, user_agent, client_ip, anonymous): (Vec<u8>, String, String, i64) = sqlx::query_as(
        "SELECT s.token_hash, s.user_agent, s.client_ip,
                    (SELECT count(*) FROM sessions WHERE user_id IS NULL)
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE u.email = 'board@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // The table holds the secret's SHA-256, never the secret: a copy of it opens nothing.
    assert_eq!(hex::encode(&hash), sha256_hex(&secret));
    let stored: String = sqlx::query_scalar("SELECT sessions::text FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!stored.contains(&secret), "{stored}");
    // Where it was opened, for the account's list of sessions.
    assert_eq!(user_agent, "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0");
    assert_eq!(client_ip, "127.0.0.1");
    // The visitor's session of the sign-in page was replaced, not kept beside.
    assert_eq!(anonymous, 0);
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn expired_sessions_are_removed() {
    let app = TestApp::spawn().await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let _manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    sqlx::query(
        "UPDATE sessions SET expires_at = now() - interval '1 second'
         WHERE user_id = (SELECT id FROM users WHERE email = 'board@example.com')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Past its deadline a session opens nothing, before any clean-up has run...
    assert_redirects_to(&board.get("/board").await, "/login?next=%2Fboard");
    // ...and the clean-up removes it, and only it.
    let removed = quorum::auth::sessions::delete_expired(&app.pool)
        .await
        .unwrap();
    assert_eq!(removed, 1);
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT u.email FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(left, ["manager@example.com"]);
}

/// Every stored session's row version and deadline: changes whenever a session is written.
async fn session_rows(app: &TestApp) -> String {
    sqlx::query_scalar(
        "SELECT coalesce(string_agg(xmin::text || '@' || expires_at::text, ',' ORDER BY id), '')
         FROM sessions",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn reading_pages_does_not_write_the_session_until_its_deadline_is_due_to_move() {
    let app = TestApp::spawn_with(|config| {
        // Pushed back at most every 0.4 s (a tenth of the idle timeout).
        config.session_idle_timeout = Duration::from_secs(4);
    })
    .await;
    let client = app.signed_in("board@example.com", &[Role::Board]).await;
    assert_eq!(client.get("/board").await.status(), StatusCode::OK);
    let before = session_rows(&app).await;
    for path in ["/board", "/inbox", "/decisions", "/board/requests"] {
        assert_eq!(client.get(path).await.status(), StatusCode::OK, "{path}");
    }
    assert_eq!(session_rows(&app).await, before, "reads wrote the session");

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(client.get("/board").await.status(), StatusCode::OK);
    assert_ne!(
        session_rows(&app).await,
        before,
        "activity after the interval pushes the deadline back"
    );
}

#[tokio::test]
async fn a_session_cookie_replayed_after_sign_out_reaches_nothing() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();
    let response = client.login("board@example.com", PASSWORD).await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = client.csrf_token().await;
    // The stolen cookie works while the session lives...
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let replay = |path: &str| {
        thief
            .get(client.url(path))
            .header("cookie", cookie.clone())
            .send()
    };
    assert_eq!(replay("/board").await.unwrap().status(), StatusCode::OK);

    // ...and not after signing out, for pages or changes.
    assert_eq!(client.logout().await.status(), StatusCode::SEE_OTHER);
    let response = replay("/board").await.unwrap();
    assert!(location(response.headers()).starts_with("/login"));
    let response = thief
        .post(client.url("/account/password"))
        .header("cookie", cookie.clone())
        .form(&[
            ("csrf_token", token.as_str()),
            ("current_password", PASSWORD),
            ("new_password", "a brand new passphrase here"),
            ("confirm_password", "a brand new passphrase here"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        response.status() == StatusCode::FORBIDDEN
            || location(response.headers()).starts_with("/login"),
        "{}",
        response.status()
    );
    assert!(
        !app.audit_actions()
            .await
            .contains(&"user.password_changed".to_owned())
    );
}
