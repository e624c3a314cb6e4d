//! The audit trail: written with every change, one unbroken chain, tamper-evident and
//! append-only for the server's role.

use std::process::Command;

use quorum::audit::{self, Actor};
use quorum::users::Role;
use reqwest::StatusCode;
use sqlx::Executor;

use crate::helpers::{PASSWORD, TestApp};

#[tokio::test]
async fn sign_ins_and_account_changes_are_recorded_in_order() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    app.client()
        .login("admin@example.com", "not my password!")
        .await;
    let response = admin
        .post_form(
            "/admin/users",
            &[
                ("email", "new.auditor@example.com"),
                ("display_name", "New Auditor"),
                ("roles", "auditor"),
                ("password", "a fine long passphrase"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    admin.logout().await;

    assert_eq!(
        app.audit_actions().await,
        [
            "user.created",
            "auth.login",
            "auth.login_failed",
            "user.created",
            "auth.logout"
        ]
    );
    let (actor, after): (String, serde_json::Value) = sqlx::query_as(
        "SELECT actor_label, after FROM audit_events WHERE action = 'user.created' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(actor, "admin@example.com");
    assert_eq!(after["email"], "new.auditor@example.com");
    assert_eq!(after["roles"], serde_json::json!(["auditor"]));
    assert!(
        after.get("password_hash").is_none(),
        "hashes never enter the trail"
    );
}

#[tokio::test]
async fn concurrent_writers_extend_one_unbroken_chain() {
    let app = TestApp::spawn().await;
    let writers: Vec<_> = (0..24)
        .map(|i| {
            let pool = app.pool.clone();
            tokio::spawn(async move {
                let mut tx = pool.begin().await.unwrap();
                audit::record(
                    &mut tx,
                    &Actor::system(),
                    None,
                    audit::Entry::new("test.concurrent", "test", Some(i.to_string()))
                        .after(serde_json::json!({ "writer": i })),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM audit_events ORDER BY seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(seqs, (1..=24).collect::<Vec<i64>>());
    let mut conn = app.pool.acquire().await.unwrap();
    let report = audit::verify_chain(&mut conn).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.events_checked, 24);
    assert_eq!(report.head_seq, 24);
}

#[tokio::test]
async fn the_server_role_cannot_change_or_remove_audit_events() {
    let app = TestApp::spawn().await;
    app.create_user("board@example.com", &[Role::Board]).await;
    for statement in [
        "UPDATE audit_events SET actor_label = 'someone else'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ] {
        let error = app.pool.execute(statement).await.unwrap_err();
        let code = error.as_database_error().and_then(|e| e.code()).unwrap();
        assert_eq!(code, "42501", "{statement} must be refused, got {error}");
    }
    // Even the owner is stopped by the triggers.
    let mut owner = app.owner_connection().await;
    let error = owner
        .execute("UPDATE audit_events SET actor_label = 'someone else'")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");
    let error = owner.execute("TRUNCATE audit_events").await.unwrap_err();
    assert!(error.to_string().contains("append-only"), "{error}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

fn quorum_audit_verify(app: &TestApp) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["audit", "verify"])
        .env("DATABASE_URL", app.owner_url())
        .env_remove("QUORUM_APP_DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.code().is_some(), "{stderr}");
    (output.status.success(), format!("{stdout}{stderr}"))
}

#[tokio::test]
async fn tampering_with_an_event_is_detected_by_quorum_audit_verify() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    client.get("/audit").await;
    app.client()
        .login("auditor@example.com", "wrong password!!")
        .await;
    app.client().login("auditor@example.com", PASSWORD).await;

    let (intact, output) = quorum_audit_verify(&app);
    assert!(intact, "{output}");
    assert!(output.contains("intact"), "{output}");
    let (_, page) = client.page("/audit/verify").await;
    assert!(page.contains("Intact."));

    // A superuser rewrites history behind the triggers' back.
    let mut owner = app.owner_connection().await;
    owner
        .execute(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
             UPDATE audit_events SET after = '{\"reason\": \"nothing to see\"}' WHERE seq = 3;
             ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete;",
        )
        .await
        .unwrap();

    let (intact, output) = quorum_audit_verify(&app);
    assert!(!intact, "{output}");
    assert!(output.contains("BROKEN at event #3"), "{output}");
    let (status, page) = client.page("/audit/verify").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Broken."));
    assert!(page.contains("#3"));
}

#[tokio::test]
async fn removing_the_latest_events_is_detected() {
    let app = TestApp::spawn().await;
    app.create_user("a@example.com", &[Role::Board]).await;
    app.create_user("b@example.com", &[Role::Board]).await;
    let mut owner = app.owner_connection().await;
    owner
        .execute(
            "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete;
             DELETE FROM audit_events WHERE seq = 2;
             ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete;",
        )
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let report = audit::verify_chain(&mut conn).await.unwrap();
    let broken = report
        .first_break
        .expect("the missing event must be noticed");
    assert_eq!(broken.seq, 2);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);
}

#[tokio::test]
async fn the_auditor_browses_the_trail_page_by_page() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    for i in 0..60 {
        let mut tx = app.pool.begin().await.unwrap();
        audit::record(
            &mut tx,
            &Actor::anonymous(&format!("visitor{i}@example.com")),
            None,
            audit::Entry::new("test.visit", "test", None),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let (status, first) = client.page("/audit/events").await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("test.visit"));
    assert!(first.contains("visitor59@example.com"));
    let older = first
        .split("/audit/events?before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older events")
        .to_owned();
    let (_, second) = client.page(&format!("/audit/events?before={older}")).await;
    assert!(second.contains("visitor0@example.com"));
    assert!(!second.contains("visitor59@example.com"));
}

#[tokio::test]
async fn the_auditor_filters_the_trail_by_actor_record_action_and_period() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    for (who, action, entity) in [
        ("alice@example.com", "policy.published", "POL-0001"),
        ("alice@example.com", "policy.retired", "POL-0002"),
        ("bob@example.com", "risk.updated", "RSK-0001"),
    ] {
        let mut tx = app.pool.begin().await.unwrap();
        audit::record(
            &mut tx,
            &Actor::anonymous(who),
            None,
            audit::Entry::new(
                action,
                action.split('.').next().unwrap(),
                Some(entity.to_owned()),
            ),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let table = |page: String| page.split("<tbody>").nth(1).unwrap_or_default().to_owned();

    let (_, page) = client.page("/audit/events?action=policy.").await;
    let rows = table(page);
    assert!(rows.contains("policy.published") && rows.contains("policy.retired"));
    assert!(!rows.contains("risk.updated"));
    let (_, page) = client.page("/audit/events?entity=policy+POL-0002").await;
    let rows = table(page);
    assert!(rows.contains("policy.retired") && !rows.contains("policy.published"));
    let (_, page) = client.page("/audit/events?actor=bob").await;
    let rows = table(page);
    assert!(rows.contains("risk.updated") && !rows.contains("alice@example.com"));
    let today = quorum::common::dates::today();
    let (_, page) = client
        .page(&format!(
            "/audit/events?action=policy.published&from={today}&to={today}"
        ))
        .await;
    assert!(table(page).contains("policy.published"));
    let yesterday = today - time::Duration::days(1);
    let (_, page) = client
        .page(&format!(
            "/audit/events?action=policy.published&to={yesterday}"
        ))
        .await;
    assert!(
        !table(page).contains("policy.published"),
        "nothing before today"
    );

    let (status, page) = client
        .page(&format!("/audit/events?from={today}&to={yesterday}"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("The period ends before it starts."));
    let (status, _) = client.page("/audit/events?from=soon").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}
