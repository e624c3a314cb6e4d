//! How the server's connections meet the database: least privilege that a statement
//! cannot undo, and the session settings every connection runs with.

use std::process::Command;

use sqlx::Executor;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_servers_connections_never_jit_compile_and_have_timeouts() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.acquire().await.unwrap();
    for (setting, expected) in [
        ("jit", "off"),
        ("statement_timeout", "2min"),
        ("idle_in_transaction_session_timeout", "1min"),
    ] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(value, expected, "{setting}");
    }
}

#[tokio::test]
async fn the_servers_login_is_the_application_role_and_reset_role_cannot_lift_it() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.acquire().await.unwrap();
    conn.execute("RESET ROLE").await.unwrap();
    let (session_user, current_user): (String, String) =
        sqlx::query_as("SELECT session_user::text, current_user::text")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(session_user, "quorum_app");
    assert_eq!(current_user, "quorum_app");
    let error = conn.execute("DELETE FROM audit_events").await.unwrap_err();
    let code = error.as_database_error().and_then(|e| e.code()).unwrap();
    assert_eq!(code, "42501", "after RESET ROLE: {error}");
    let error = conn.execute("SET ROLE postgres").await.unwrap_err();
    assert!(error.to_string().contains("permission denied"), "{error}");
}

#[tokio::test]
async fn the_server_refuses_to_start_on_the_owners_login_alone() {
    let app = TestApp::spawn().await;
    let output = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", app.owner_url())
        .env_remove("QUORUM_APP_DATABASE_URL")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("QUORUM_APP_DATABASE_URL"), "{stderr}");
}
