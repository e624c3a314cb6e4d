//! A person is told, in the inbox and by e-mail, of a sign-in from a new device, of every
//! change of their second factor and of a password change.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, TestApp, TestClient, assert_redirects_to, totp_code, unix_now};

const EMAIL: &str = "board@example.com";
const LAPTOP: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                     (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

async fn sign_in_as(app: &TestApp, user_agent: &str) -> TestClient {
    let client = app.client_as(user_agent);
    assert_redirects_to(&client.login(EMAIL, PASSWORD).await, "/");
    client
}

async fn notice_kinds(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT n.kind FROM account_notices n JOIN users u ON u.id = n.user_id
         WHERE u.email = $1 AND n.dismissed_at IS NULL ORDER BY n.id",
    )
    .bind(EMAIL)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

async fn mail_subjects(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT subject FROM mail_outbox WHERE recipient = $1 ORDER BY id")
        .bind(EMAIL)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn new_devices_factor_changes_and_password_changes_are_told_in_the_inbox_and_by_mail() {
    // An SMTP server that is never reached: the mails wait in the outbox, where they are read.
    let app = TestApp::spawn_with(|config| {
        config.smtp_url = Some("smtp://127.0.0.1:9".to_owned());
    })
    .await;
    app.create_user(EMAIL, &[Role::Board]).await;

    // The first device tells nothing; a second one does, once.
    let laptop = sign_in_as(&app, LAPTOP).await;
    assert!(notice_kinds(&app).await.is_empty());
    sign_in_as(&app, PHONE).await;
    sign_in_as(&app, PHONE).await;
    sign_in_as(&app, LAPTOP).await;
    assert_eq!(notice_kinds(&app).await, ["new_device"]);
    let (_, inbox) = laptop.page("/inbox").await;
    assert!(inbox.contains("Signed in from a new device"), "{inbox}");
    assert!(
        inbox.contains("Safari on iPhone, from the address 127.0.0.1"),
        "{inbox}"
    );

    // A factor set up and removed, a password changed.
    laptop.post_form("/account/two-step/totp", &[]).await;
    let secret: Vec<u8> = sqlx::query_scalar("SELECT secret FROM totp_authenticators")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let code = totp_code(&secret, EMAIL, unix_now());
    let response = laptop
        .post_form("/account/two-step/totp/confirm", &[("code", &code)])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = laptop
        .post_form("/account/two-step/totp/remove", &[("password", PASSWORD)])
        .await;
    assert_redirects_to(&response, "/account/two-step");
    let new_password = "a fresh and long passphrase";
    let response = laptop
        .post_form(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_redirects_to(&response, "/");
    assert_eq!(
        notice_kinds(&app).await,
        [
            "new_device",
            "second_factor_added",
            "second_factor_removed",
            "password_changed"
        ]
    );
    assert_eq!(
        mail_subjects(&app).await,
        [
            "Quorum: Signed in from a new device",
            "Quorum: Two-step sign-in set up",
            "Quorum: Two-step sign-in removed",
            "Quorum: Password changed",
        ]
    );

    // Read and dismissed by their person only.
    let (_, inbox) = laptop.page("/inbox").await;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM account_notices WHERE kind = 'password_changed'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        inbox.contains(&format!("/inbox/notices/{id}/dismiss")),
        "{inbox}"
    );
    let stranger = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    let response = stranger
        .post_form(&format!("/inbox/notices/{id}/dismiss"), &[])
        .await;
    assert_redirects_to(&response, "/inbox");
    assert_eq!(notice_kinds(&app).await.len(), 4);
    let response = laptop
        .post_form(&format!("/inbox/notices/{id}/dismiss"), &[])
        .await;
    assert_redirects_to(&response, "/inbox");
    assert_eq!(notice_kinds(&app).await.len(), 3);
    assert!(
        app.audit_actions()
            .await
            .contains(&"notice.dismissed".to_owned())
    );
}
