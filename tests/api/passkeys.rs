//! Passkeys over HTTP, with a software authenticator (`webauthn-authenticator-rs`'s soft
//! passkey) answering the server's real challenges: adding, renaming and removing them,
//! the second step with one, signing in with one alone, and the attacks on each.

use quorum::users::Role;
use reqwest::StatusCode;
use serde_json::Value;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url, Uuid};

use crate::helpers::{PASSWORD, TestApp, TestClient, assert_redirects_to, location};
use crate::two_step;

const EMAIL: &str = "board@example.com";

/// The address the browser is at: WebAuthn needs a domain name, so `localhost`.
fn origin(app: &TestApp) -> Url {
    Url::parse(&app.address.replace("127.0.0.1", "localhost")).unwrap()
}

/// A soft authenticator that says it verified the person (as a fingerprint reader would).
pub(crate) fn authenticator() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// POSTs to a challenge route as `passkeys.js` does (CSRF token in a header).
async fn challenge(client: &TestClient, path: &str) -> (StatusCode, Value) {
    let token = client.csrf_token().await;
    let response = client
        .http
        .post(client.url(path))
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// The registration answer of `authenticator` to a fresh challenge, as JSON text.
async fn registration(
    app: &TestApp,
    client: &TestClient,
    authenticator: &mut SoftPasskey,
) -> String {
    let (status, options) = challenge(client, "/account/two-step/passkeys/challenge").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = authenticator.do_registration(origin(app), options).unwrap();
    serde_json::to_string(&credential).unwrap()
}

pub(crate) async fn add_passkey(
    app: &TestApp,
    client: &TestClient,
    authenticator: &mut SoftPasskey,
    name: &str,
) -> reqwest::Response {
    let credential = registration(app, client, authenticator).await;
    client
        .post_form(
            "/account/two-step/passkeys",
            &[("name", name), ("credential", &credential)],
        )
        .await
}

/// The assertion of `authenticator` to the challenge at `path`, as JSON text.
async fn assertion(
    origin: Url,
    client: &TestClient,
    path: &str,
    authenticator: &mut SoftPasskey,
) -> String {
    let (status, options) = challenge(client, path).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let credential = authenticator.do_authentication(origin, options).unwrap();
    serde_json::to_string(&credential).unwrap()
}

/// A visitor whose password for `email` was right: on the second step.
async fn password_step(app: &TestApp, email: &str) -> TestClient {
    let client = app.client();
    let response = client.login(email, PASSWORD).await;
    assert_redirects_to(&response, "/login/verify?next=%2F");
    client
}

async fn second_step(client: &TestClient, credential: &str) -> reqwest::Response {
    client
        .post_form(
            "/login/verify/passkey",
            &[("credential", credential), ("next", "/account")],
        )
        .await
}

async fn audit_reasons(app: &TestApp, action: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT coalesce(after ->> 'reason', '') FROM audit_events WHERE action = $1 ORDER BY seq",
    )
    .bind(action)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_passkey_is_added_and_then_asked_for_after_the_password() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let mut key = authenticator();

    // The first second factor comes with recovery codes, shown once.
    let response = add_passkey(&app, &client, &mut key, "Work laptop").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("recovery codes"), "{page}");
    let (_, page) = client.page("/account/two-step").await;
    assert!(page.contains("Work laptop"), "{page}");
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.second_factor_added".to_owned())
    );
    let notices: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM account_notices WHERE kind = 'second_factor_added'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(notices, 1);
    client.logout().await;

    // The password alone no longer signs in; the page offers the passkey.
    let visitor = password_step(&app, EMAIL).await;
    let (status, page) = visitor.page("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let (_, page) = visitor.page("/login/verify").await;
    assert!(page.contains("Use a passkey"), "{page}");
    assert!(page.contains("/static/passkeys.js"), "{page}");

    let credential = assertion(
        origin(&app),
        &visitor,
        "/login/verify/passkey/challenge",
        &mut key,
    )
    .await;
    let response = second_step(&visitor, &credential).await;
    assert_redirects_to(&response, "/account");
    let (status, page) = visitor.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Password and passkey"), "{page}");
    let used: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT last_used_at FROM passkeys")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(used.is_some());

    // The same answer again, in a new half-finished sign-in: its challenge is gone.
    let other = password_step(&app, EMAIL).await;
    let response = second_step(&other, &credential).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("This passkey was not accepted"), "{page}");
    // ...and with a fresh challenge under way, it answers another challenge.
    let (status, _) = challenge(&other, "/login/verify/passkey/challenge").await;
    assert_eq!(status, StatusCode::OK);
    let response = second_step(&other, &credential).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reasons = audit_reasons(&app, "auth.second_factor_failed").await;
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("no passkey challenge"), "{reasons:?}");
    assert!(!reasons[1].is_empty(), "{reasons:?}");
    assert_eq!(
        other.page("/").await.0,
        StatusCode::SEE_OTHER,
        "a refused passkey signs nobody in"
    );
}

#[tokio::test]
async fn a_passkey_from_another_address_or_account_or_with_a_bad_counter_is_refused() {
    let app = TestApp::spawn().await;
    let alice = app.signed_in(EMAIL, &[Role::Board]).await;
    let mut alice_key = authenticator();
    add_passkey(&app, &alice, &mut alice_key, "Alice's key").await;
    let bob = app.signed_in("bob@example.com", &[Role::Board]).await;
    let mut bob_key = authenticator();
    add_passkey(&app, &bob, &mut bob_key, "Bob's key").await;

    // A page on another site (under the same domain) asking for Alice's passkey.
    let visitor = password_step(&app, EMAIL).await;
    let phishing = origin(&app)
        .as_str()
        .replace("http://localhost", "https://evil.localhost");
    let phishing = Url::parse(&phishing).unwrap();
    let credential = assertion(
        phishing,
        &visitor,
        "/login/verify/passkey/challenge",
        &mut alice_key,
    )
    .await;
    let response = second_step(&visitor, &credential).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Bob's passkey answering Alice's challenge (the browser's list of allowed
    // credentials rewritten to Bob's).
    let (status, options) = challenge(&visitor, "/login/verify/passkey/challenge").await;
    assert_eq!(status, StatusCode::OK);
    let bob_credential_id: Vec<u8> =
        sqlx::query_scalar("SELECT credential_id FROM passkeys WHERE name = 'Bob''s key'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    options.public_key.allow_credentials[0].id = bob_credential_id;
    let credential = bob_key.do_authentication(origin(&app), options).unwrap();
    let response = second_step(&visitor, &serde_json::to_string(&credential).unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // A copy of Alice's authenticator that is behind the stored counter (a clone).
    let mut conn = app.owner_connection().await;
    let counter: Value = sqlx::query_scalar(
        "SELECT credential #> '{cred,counter}' FROM passkeys WHERE name = 'Alice''s key'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(
        counter.is_number(),
        "the stored passkey keeps its counter: {counter}"
    );
    sqlx::query(
        "UPDATE passkeys SET credential = jsonb_set(credential, '{cred,counter}', '1000')
         WHERE name = 'Alice''s key'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let credential = assertion(
        origin(&app),
        &visitor,
        "/login/verify/passkey/challenge",
        &mut alice_key,
    )
    .await;
    let response = second_step(&visitor, &credential).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let reasons = audit_reasons(&app, "auth.second_factor_failed").await;
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].to_lowercase().contains("origin"), "{reasons:?}");
    assert!(reasons[1].contains("another account"), "{reasons:?}");
    assert!(reasons[2].contains("compromised"), "{reasons:?}");

    // Failures are throttled like wrong codes: two more, and the account waits.
    for _ in 0..2 {
        let credential = assertion(
            origin(&app),
            &visitor,
            "/login/verify/passkey/challenge",
            &mut alice_key,
        )
        .await;
        second_step(&visitor, &credential).await;
    }
    let credential = assertion(
        origin(&app),
        &visitor,
        "/login/verify/passkey/challenge",
        &mut alice_key,
    )
    .await;
    let response = second_step(&visitor, &credential).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn answers_that_are_missing_or_garbled_get_a_message_never_a_500() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let mut key = authenticator();

    // Without JavaScript the form posts no answer.
    let response = client
        .post_form(
            "/account/two-step/passkeys",
            &[("name", "Laptop"), ("credential", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Passkeys need JavaScript"), "{page}");
    assert!(
        page.contains(r#"value="Laptop""#),
        "what was typed stays: {page}"
    );

    for garbage in ["{not json", "\0", "{\"id\": 5}", &"9".repeat(20)] {
        let response = client
            .post_form(
                "/account/two-step/passkeys",
                &[("name", "Laptop"), ("credential", garbage)],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{garbage}"
        );
    }
    // An empty name or one too long is refused, and the answer can come again with a
    // name mended.
    let credential = registration(&app, &client, &mut key).await;
    for name in ["", "   ", &"x".repeat(61)] {
        let response = client
            .post_form(
                "/account/two-step/passkeys",
                &[("name", name), ("credential", &credential)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = response.text().await.unwrap();
        assert!(page.contains("passkey_name-error"), "{page}");
    }
    let response = client
        .post_form(
            "/account/two-step/passkeys",
            &[("name", "Laptop"), ("credential", &credential)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The same answer again: its challenge was taken.
    let response = client
        .post_form(
            "/account/two-step/passkeys",
            &[("name", "Desk"), ("credential", &credential)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("has expired"), "{page}");
    assert!(page.contains(r#"value="Desk""#), "{page}");
    // A second passkey of the same name.
    let response = add_passkey(&app, &client, &mut authenticator(), "Laptop").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("passkey of this name already"), "{page}");

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM passkeys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "nothing half-written");

    // A visitor without a half-finished sign-in gets no challenge, and an answer posted
    // anyway goes back to the password.
    let visitor = app.client();
    let (status, body) = challenge(&visitor, "/login/verify/passkey/challenge").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("password first"),
        "{body}"
    );
    let response = second_step(&visitor, "{}").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(response.headers()).starts_with("/login"));
}

#[tokio::test]
async fn passkeys_are_renamed_and_removed_by_their_owner_only() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    add_passkey(&app, &client, &mut authenticator(), "Laptop").await;
    add_passkey(&app, &client, &mut authenticator(), "Phone").await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM passkeys ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let laptop = format!("/account/two-step/passkeys/{}", ids[0]);

    let response = client
        .post_form(&format!("{laptop}/rename"), &[("name", "Phone")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("passkey of this name already"), "{page}");
    let response = client
        .post_form(&format!("{laptop}/rename"), &[("name", "Old laptop")])
        .await;
    assert_redirects_to(&response, "/account/two-step");
    let (_, page) = client.page("/account/two-step").await;
    assert!(page.contains("Old laptop"), "{page}");

    // Someone else cannot touch them.
    let mallory = app.signed_in("mallory@example.com", &[Role::Board]).await;
    let response = mallory
        .post_form(&format!("{laptop}/rename"), &[("name", "Mine")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = mallory
        .post_form(&format!("{laptop}/remove"), &[("password", PASSWORD)])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Removing asks for the password; the last one takes the recovery codes with it.
    let response = client
        .post_form(&format!("{laptop}/remove"), &[("password", "wrong")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = client
        .post_form(&format!("{laptop}/remove"), &[("password", PASSWORD)])
        .await;
    assert_redirects_to(&response, "/account/two-step");
    let codes: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery_codes")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(codes, 10, "a passkey is left: the recovery codes stay");
    let phone = format!("/account/two-step/passkeys/{}/remove", ids[1]);
    let response = client.post_form(&phone, &[("password", PASSWORD)]).await;
    assert_redirects_to(&response, "/account/two-step");
    let codes: i64 = sqlx::query_scalar("SELECT count(*) FROM recovery_codes")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(codes, 0);
    client.logout().await;
    let response = client.login(EMAIL, PASSWORD).await;
    assert_redirects_to(&response, "/");
}

#[tokio::test]
async fn a_passkey_alone_signs_in_only_where_the_organisation_allows_it() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let mut key = authenticator();
    add_passkey(&app, &client, &mut key, "Laptop").await;
    client.logout().await;

    // Off by default: no button, no challenge.
    let visitor = app.client();
    let (_, page) = visitor.page("/login").await;
    assert!(!page.contains("Sign in with a passkey"), "{page}");
    let (status, body) = challenge(&visitor, "/login/passkey/challenge").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["error"].as_str().unwrap().contains("does not allow"),
        "{body}"
    );

    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let response = admin
        .post_form("/admin/two-step", &[("passkey_alone", "on")])
        .await;
    assert_redirects_to(&response, "/admin/two-step");
    assert!(
        app.audit_actions()
            .await
            .contains(&"sign_in_policy.changed".to_owned())
    );
    let (_, page) = visitor.page("/login").await;
    assert!(page.contains("Sign in with a passkey"), "{page}");

    // The browser offers the passkeys it holds for the site (none listed); the
    // authenticator answers with the account's handle it kept at registration.
    let (status, options) = challenge(&visitor, "/login/passkey/challenge").await;
    assert_eq!(status, StatusCode::OK, "{options}");
    assert!(options.get("mediation").is_none(), "{options}");
    assert_eq!(
        options["publicKey"]["allowCredentials"],
        Value::Array(vec![])
    );
    // (The credential id in base64url, as it travels in JSON.)
    let (credential_id, handle): (String, Uuid) = sqlx::query_as(
        r"SELECT rtrim(translate(replace(encode(p.credential_id, 'base64'), E'\n', ''),
                                 '+/', '-_'), '='),
                 u.webauthn_user_id
          FROM passkeys p JOIN users u ON u.id = p.user_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let discoverable = |options: Value, key: &mut SoftPasskey, handle: &Uuid| {
        let mut options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        options.public_key.allow_credentials = serde_json::from_value(
            serde_json::json!([{ "type": "public-key", "id": credential_id }]),
        )
        .unwrap();
        let mut credential = key.do_authentication(origin(&app), options).unwrap();
        credential.response.user_handle = Some(handle.as_bytes().to_vec());
        serde_json::to_string(&credential).unwrap()
    };
    let credential = discoverable(options, &mut key, &handle);
    let response = visitor
        .post_form(
            "/login/passkey",
            &[("credential", &credential), ("next", "/account")],
        )
        .await;
    assert_redirects_to(&response, "/account");
    let (_, page) = visitor.page("/account").await;
    assert!(page.contains("<td>Passkey</td>"), "{page}");

    // A passkey that claims another account's handle is refused, and so is a replay.
    let intruder = app.client();
    let (_, options) = challenge(&intruder, "/login/passkey/challenge").await;
    let credential = discoverable(options, &mut key, &Uuid::new_v4());
    let response = intruder
        .post_form("/login/passkey", &[("credential", &credential)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("This passkey was not accepted"), "{page}");
    let response = intruder
        .post_form("/login/passkey", &[("credential", &credential)])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reasons = audit_reasons(&app, "auth.login_failed").await;
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].contains("handle"), "{reasons:?}");
    assert!(reasons[1].contains("no passkey challenge"), "{reasons:?}");
}

#[tokio::test]
async fn an_administrator_reset_removes_passkeys_too() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    add_passkey(&app, &client, &mut authenticator(), "Laptop").await;
    let id = app.user_id(EMAIL).await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let (_, page) = admin.page(&format!("/admin/users/{id}")).await;
    assert!(page.contains("one passkey"), "{page}");
    let response = admin
        .post_form(&format!("/admin/users/{id}/second-factor/reset"), &[])
        .await;
    assert_redirects_to(&response, &format!("/admin/users/{id}"));
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM passkeys")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    client.logout().await;
    let response = client.login(EMAIL, PASSWORD).await;
    assert_redirects_to(&response, "/");
}

#[tokio::test]
async fn a_vote_long_after_the_last_passkey_asks_for_it_again() {
    let app = TestApp::spawn_with(|config| {
        config.step_up_after = std::time::Duration::from_secs(1);
    })
    .await;
    app.load_demo().await;
    let client = app.client();
    assert_redirects_to(&client.login(EMAIL, PASSWORD).await, "/");
    let mut key = authenticator();
    add_passkey(&app, &client, &mut key, "Laptop").await;
    let (_, home) = client.page("/board").await;
    let request = two_step::first_request_link(&home);
    let before = two_step::live_votes(&app).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    // Only a passkey: the confirmation offers it, and no code field.
    let vote = [("choice", "approve"), ("comment", "Agreed.")];
    let response = client.post_form(&format!("{request}/vote"), &vote).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Confirm with a passkey"), "{page}");
    assert!(!page.contains("step_up_code"), "{page}");

    let vote_with = |answer: &str| {
        let mut fields = vote.to_vec();
        fields.push(("step_up_passkey", answer));
        fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    let post = |fields: Vec<(String, String)>| {
        let client = client.clone();
        let path = format!("{request}/vote");
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            client.post_form(&path, &fields).await
        }
    };
    let response = post(vote_with("{garbled")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("could not be read"), "{page}");
    assert_eq!(two_step::live_votes(&app).await, before);

    let answer = assertion(
        origin(&app),
        &client,
        "/account/step-up/passkey/challenge",
        &mut key,
    )
    .await;
    let response = post(vote_with(&answer)).await;
    assert_redirects_to(&response, &request);
    assert_eq!(two_step::live_votes(&app).await, before + 1);

    // The same answer once more, later: its challenge was taken.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let response = post(vote_with(&answer)).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reasons = audit_reasons(&app, "auth.step_up_failed").await;
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("no passkey challenge"), "{reasons:?}");
}

#[tokio::test]
async fn new_recovery_codes_are_made_with_a_passkey() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let mut key = authenticator();
    add_passkey(&app, &client, &mut key, "Laptop").await;
    let first: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let (_, page) = client.page("/account/two-step").await;
    assert!(
        page.contains("10 of your recovery codes are left"),
        "{page}"
    );

    let response = client
        .post_form("/account/two-step/recovery-codes", &[("credential", "{}")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("renew_passkey-error"), "{page}");

    let answer = assertion(
        origin(&app),
        &client,
        "/account/step-up/passkey/challenge",
        &mut key,
    )
    .await;
    let response = client
        .post_form(
            "/account/two-step/recovery-codes",
            &[("credential", &answer)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let renewed: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(renewed.len(), 10);
    assert!(renewed.iter().all(|hash| !first.contains(hash)));
}

#[tokio::test]
async fn the_account_says_whether_it_has_a_second_factor_as_factors_come_and_go() {
    let app = TestApp::spawn().await;
    let client = app.signed_in(EMAIL, &[Role::Board]).await;
    let has_one = || async {
        sqlx::query_scalar::<_, bool>("SELECT has_second_factor FROM users WHERE email = $1")
            .bind(EMAIL)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert!(!has_one().await);
    add_passkey(&app, &client, &mut authenticator(), "Laptop").await;
    assert!(has_one().await);
    // An authenticator app being set up is not a factor yet; confirmed, it is.
    let mut owner = app.owner_connection().await;
    sqlx::query(
        "INSERT INTO totp_authenticators (user_id, secret)
         SELECT id, decode(repeat('07', 20), 'hex') FROM users WHERE email = $1",
    )
    .bind(EMAIL)
    .execute(&mut owner)
    .await
    .unwrap();
    sqlx::query("DELETE FROM passkeys")
        .execute(&mut owner)
        .await
        .unwrap();
    assert!(!has_one().await, "an unconfirmed app is no factor");
    sqlx::query("UPDATE totp_authenticators SET confirmed_at = now()")
        .execute(&mut owner)
        .await
        .unwrap();
    assert!(has_one().await);
    sqlx::query("DELETE FROM totp_authenticators")
        .execute(&mut owner)
        .await
        .unwrap();
    assert!(!has_one().await);
}
