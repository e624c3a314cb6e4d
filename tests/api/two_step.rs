//! Two-step sign-in: an authenticator app's codes (TOTP) and recovery codes after the
//! password, the roles that require it, and the attacks on the second step.

use quorum::users::Role;
use reqwest::StatusCode;
use totp_rs::Secret;

use crate::helpers::{
    PASSWORD, TestApp, TestClient, assert_redirects_to, location, totp_code, unix_now,
};

const EMAIL: &str = "board@example.com";

/// What the board member's authenticator app shows at `time`.
fn code_at(secret: &[u8], time: u64) -> String {
    totp_code(secret, EMAIL, time)
}

/// The texts between `open` and `close` on a page, in order.
fn all_between(page: &str, open: &str, close: &str) -> Vec<String> {
    page.split(open)
        .skip(1)
        .filter_map(|rest| rest.split(close).next())
        .map(str::to_owned)
        .collect()
}

struct Enrolled {
    secret: Vec<u8>,
    /// When the confirming code was made: its step is used.
    confirmed_at: u64,
    recovery_codes: Vec<String>,
}

/// Sets up an authenticator app for the signed-in `client` as a person would: reads the
/// key off the page and types the app's code.
async fn enrol(client: &TestClient) -> Enrolled {
    let (status, page) = client.page("/account/two-step").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Not set up"), "{page}");
    let response = client.post_form("/account/two-step/totp", &[]).await;
    assert_redirects_to(&response, "/account/two-step/totp");
    let response = client.get("/account/two-step/totp").await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("<svg"), "{page}");
    let key = all_between(&page, r#"<code class="secret-key">"#, "</code>")
        .pop()
        .expect("the key to type is shown");
    let secret = Secret::Encoded(key.replace(' ', "")).to_bytes().unwrap();

    // A wrong code confirms nothing.
    let response = client
        .post_form("/account/two-step/totp/confirm", &[("code", "000000")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("This is not the code the app shows now"),
        "{page}"
    );

    let confirmed_at = unix_now();
    let response = client
        .post_form(
            "/account/two-step/totp/confirm",
            &[("code", &code_at(&secret, confirmed_at))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let recovery_codes = all_between(&page, "<li><code>", "</code>");
    assert_eq!(recovery_codes.len(), 10, "{page}");
    Enrolled {
        secret,
        confirmed_at,
        recovery_codes,
    }
}

/// Signs in with the password: the answer must lead to the second step.
async fn password_step(app: &TestApp) -> TestClient {
    let client = app.client();
    let response = client.login(EMAIL, PASSWORD).await;
    assert_redirects_to(&response, "/login/verify?next=%2F");
    client
}

async fn verify(client: &TestClient, code: &str) -> reqwest::Response {
    client
        .post_form("/login/verify", &[("code", code), ("next", "/board")])
        .await
}

async fn session_method(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT s.sign_in_method FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE u.email = $1 ORDER BY s.id",
    )
    .bind(EMAIL)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_person_sets_up_an_authenticator_app_and_then_signs_in_with_its_codes() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let enrolled = enrol(&client).await;
    let (_, page) = client.page("/account/two-step").await;
    assert!(
        page.contains("10 of your recovery codes are left"),
        "{page}"
    );
    client.logout().await;

    // The password alone opens nothing.
    let client = password_step(&app).await;
    assert_redirects_to(&client.get("/board").await, "/login?next=%2Fboard");
    let (status, page) = client.page("/login/verify?next=%2Fboard").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("autocomplete=\"one-time-code\""), "{page}");

    // The code that confirmed the app was used: it does not work again.
    let used = code_at(&enrolled.secret, enrolled.confirmed_at);
    let response = verify(&client, &used).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("This code is not right, or was used already."),
        "{page}"
    );
    assert!(
        page.contains(r#"aria-describedby="code-hint code-error""#),
        "{page}"
    );

    // The next step's code does (a clock one step ahead is tolerated), once.
    let next = code_at(&enrolled.secret, enrolled.confirmed_at + 30);
    let response = verify(&client, &format!("{} {}", &next[..3], &next[3..])).await;
    assert_redirects_to(&response, "/board");
    assert_eq!(client.get("/board").await.status(), StatusCode::OK);
    assert_eq!(session_method(&app).await, ["password_totp"]);
    let (_, page) = client.page("/account").await;
    assert!(page.contains("Password and authenticator code"), "{page}");

    let other = password_step(&app).await;
    let response = verify(&other, &next).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let actions = app.audit_actions().await;
    for action in [
        "user.second_factor_setup_started",
        "user.second_factor_added",
        "auth.password_accepted",
        "auth.second_factor_failed",
        "auth.login",
    ] {
        assert!(
            actions.contains(&action.to_owned()),
            "{action}: {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let enrolled = enrol(&client).await;
    client.logout().await;

    let code = enrolled.recovery_codes[3].clone();
    let client = password_step(&app).await;
    let response = verify(&client, &code.to_lowercase()).await;
    assert_redirects_to(&response, "/board");
    assert_eq!(session_method(&app).await, ["password_recovery_code"]);
    let (_, page) = client.page("/account/two-step").await;
    assert!(page.contains("9 of your recovery codes are left"), "{page}");

    let again = password_step(&app).await;
    let response = verify(&again, &code).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_redirects_to(&again.get("/board").await, "/login?next=%2Fboard");
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_wrong_passwords() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let enrolled = enrol(&client).await;
    client.logout().await;

    let client = password_step(&app).await;
    // Five wrong codes, as many as wrong passwords...
    for _ in 0..5 {
        let response = verify(&client, "123456").await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // ...and the account is blocked: even the right code waits.
    let right = code_at(&enrolled.secret, unix_now() + 30);
    let response = verify(&client, &right).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let page = response.text().await.unwrap();
    assert!(page.contains("Too many failed sign-in attempts"), "{page}");
    assert_redirects_to(&client.get("/board").await, "/login?next=%2Fboard");
}

#[tokio::test]
async fn the_second_step_needs_a_fresh_password_step() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let enrolled = enrol(&client).await;
    client.logout().await;

    // Straight to the second step: back to the password.
    let visitor = app.client();
    let response = visitor.get("/login/verify").await;
    assert!(location(response.headers()).starts_with("/login?next="));
    let response = verify(&visitor, &code_at(&enrolled.secret, unix_now())).await;
    assert!(location(response.headers()).starts_with("/login?next="));

    // A password step more than five minutes old: the same.
    let client = password_step(&app).await;
    sqlx::query(
        "UPDATE sessions SET pending_until = now() - interval '1 second'
         WHERE pending_user_id IS NOT NULL",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let response = verify(&client, &code_at(&enrolled.secret, unix_now() + 30)).await;
    assert!(location(response.headers()).starts_with("/login?next="));
    assert_redirects_to(&client.get("/board").await, "/login?next=%2Fboard");
    assert!(session_method(&app).await.is_empty());
}

#[tokio::test]
async fn a_role_that_requires_a_second_factor_reaches_only_its_set_up_until_then() {
    let app = TestApp::spawn().await;
    sqlx::query("UPDATE second_factor_policy SET required = (role = 'board')")
        .execute(&app.pool)
        .await
        .unwrap();
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    assert_eq!(manager.get("/manage").await.status(), StatusCode::OK);

    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    for path in ["/board", "/", "/account", "/decisions"] {
        assert_redirects_to(&client.get(path).await, "/account/two-step");
    }
    let (status, page) = client.page("/account/two-step").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your role requires a second step"), "{page}");
    enrol(&client).await;
    assert_eq!(client.get("/board").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn removing_the_app_needs_the_password_and_ends_the_second_step() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let enrolled = enrol(&client).await;

    let response = client
        .post_form(
            "/account/two-step/totp/remove",
            &[("password", "not it at all")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("This is not your password. Nothing was removed."),
        "{page}"
    );

    // New recovery codes need the app's current code; the old ones stop working.
    let response = client
        .post_form(
            "/account/two-step/recovery-codes",
            &[(
                "code",
                &code_at(&enrolled.secret, enrolled.confirmed_at + 30),
            )],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let renewed = all_between(&response.text().await.unwrap(), "<li><code>", "</code>");
    assert_eq!(renewed.len(), 10);
    assert!(
        renewed
            .iter()
            .all(|code| !enrolled.recovery_codes.contains(code))
    );

    let response = client
        .post_form("/account/two-step/totp/remove", &[("password", PASSWORD)])
        .await;
    assert_redirects_to(&response, "/account/two-step");
    let response = client
        .post_form("/account/two-step/totp/remove", &[("password", PASSWORD)])
        .await;
    assert_redirects_to(&response, "/account/two-step");
    let (_, page) = client.page("/account/two-step").await;
    assert!(
        page.contains("You had no authenticator app to remove."),
        "{page}"
    );
    let removals = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|action| action == "user.second_factor_removed")
        .count();
    assert_eq!(removals, 1);
    client.logout().await;
    let again = app.client();
    assert_redirects_to(&again.login(EMAIL, PASSWORD).await, "/");
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.second_factor_removed".to_owned())
    );
}

#[tokio::test]
async fn an_administrator_resets_a_lost_second_factor_and_chooses_the_roles_that_need_one() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let enrolled = enrol(&client).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(EMAIL)
        .fetch_one(&app.pool)
        .await
        .unwrap();

    // The administrator sees that there is a factor, never the factor.
    let (_, page) = admin.page(&format!("/admin/users/{id}")).await;
    assert!(page.contains("10 recovery codes left"), "{page}");
    let key = Secret::Raw(enrolled.secret.clone())
        .to_encoded()
        .to_string();
    assert!(!page.contains(&key[..16]), "{page}");
    assert!(!page.contains(&enrolled.recovery_codes[0]));

    let response = admin
        .post_form(&format!("/admin/users/{id}/second-factor/reset"), &[])
        .await;
    assert_redirects_to(&response, &format!("/admin/users/{id}"));
    let (_, page) = admin.page(&format!("/admin/users/{id}")).await;
    assert!(page.contains("is reset"), "{page}");
    assert!(page.contains("Signs in with a password alone."), "{page}");
    client.logout().await;
    assert_redirects_to(&app.client().login(EMAIL, PASSWORD).await, "/");
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.second_factor_reset".to_owned())
    );

    // The board must have it from now on: its members set it up before anything else.
    let (_, page) = admin.page("/admin/two-step").await;
    assert!(page.contains("No role requires two-step sign-in"), "{page}");
    // Not of the administrator's own role before they have it themselves.
    let response = admin
        .post_form("/admin/two-step", &[("required", "admin")])
        .await;
    assert_redirects_to(&response, "/admin/two-step");
    let (_, page) = admin.page("/admin/two-step").await;
    assert!(page.contains("for your own account first"), "{page}");
    assert!(!page.contains(r#"value="admin" checked"#), "{page}");
    let response = admin
        .post_form(
            "/admin/two-step",
            &[("required", "board"), ("required", "nobody")],
        )
        .await;
    assert_redirects_to(&response, "/admin/two-step");
    let (_, page) = admin.page("/admin/two-step").await;
    assert!(page.contains(r#"value="board" checked"#), "{page}");
    assert!(!page.contains(r#"value="admin" checked"#), "{page}");
    let member = app.client();
    member.login(EMAIL, PASSWORD).await;
    assert_redirects_to(&member.get("/board").await, "/account/two-step");
    assert_eq!(admin.get("/admin").await.status(), StatusCode::OK);
    assert!(
        app.audit_actions()
            .await
            .contains(&"second_factor_policy.changed".to_owned())
    );

    // Only administrators change it.
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let response = manager
        .post_form("/admin/two-step", &[("required", "auditor")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let required: Vec<String> =
        sqlx::query_scalar("SELECT role FROM second_factor_policy WHERE required")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(required, ["board"]);
}

/// The first request the page links to.
pub(crate) fn first_request_link(page: &str) -> String {
    page.split("href=\"/board/requests/")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .find(|id| !id.is_empty())
        .map(|id| format!("/board/requests/{id}"))
        .expect("a request waiting for this member's vote")
}

pub(crate) async fn live_votes(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM votes v JOIN users u ON u.id = v.voter_id
         WHERE u.email = $1 AND v.ended_at IS NULL",
    )
    .bind(EMAIL)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_vote_long_after_the_last_code_asks_for_a_fresh_one_and_keeps_what_was_typed() {
    let app = TestApp::spawn_with(|config| {
        config.step_up_after = std::time::Duration::from_secs(1);
    })
    .await;
    app.load_demo().await;
    let client = app.client();
    assert_redirects_to(&client.login(EMAIL, PASSWORD).await, "/");
    let enrolled = enrol(&client).await;
    let (_, home) = client.page("/board").await;
    let request = first_request_link(&home);
    let before = live_votes(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    // The vote comes back with a code field; the comment is kept, nothing is recorded.
    let comment = "Agreed, if the <b>vendor</b> signs by March.";
    let vote = [("choice", "approve"), ("comment", comment)];
    let response = client.post_form(&format!("{request}/vote"), &vote).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Confirm it is you"), "{page}");
    assert!(
        page.contains("value=\"Agreed, if the &#60;b&#62;vendor&#60;/b&#62; signs by March.\"")
            || page.contains("value=\"Agreed, if the &lt;b&gt;vendor&lt;/b&gt; signs by March.\""),
        "{page}"
    );
    assert!(
        page.contains(&format!("action=\"{request}/vote\"")),
        "{page}"
    );
    assert_eq!(live_votes(&app).await, before);

    let mut with_code = vote.to_vec();
    with_code.push(("step_up_code", "000000"));
    let response = client
        .post_form(&format!("{request}/vote"), &with_code)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(live_votes(&app).await, before);

    let code = code_at(&enrolled.secret, enrolled.confirmed_at + 30);
    let mut with_code = vote.to_vec();
    with_code.push(("step_up_code", &code));
    let response = client
        .post_form(&format!("{request}/vote"), &with_code)
        .await;
    assert_redirects_to(&response, &request);
    assert_eq!(live_votes(&app).await, before + 1);
    let stored: String = sqlx::query_scalar("SELECT comment FROM votes ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, comment);
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.step_up_failed".to_owned())
    );
}
