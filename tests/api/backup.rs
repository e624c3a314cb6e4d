//! `quorum backup` and `quorum restore`: a backup restored into an empty database holds
//! the same records, the same evidence files and an intact audit chain.

use std::process::Command;

use sqlx::{Connection, PgConnection};

use crate::helpers::TestApp;

fn quorum(database_url: &str, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env_remove("QUORUM_APP_DATABASE_URL")
        .env_remove("QUORUM_EVIDENCE_DIR")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// What must come back: counts of the main records and the chain's head.
async fn fingerprint(url: &str) -> Vec<String> {
    let mut conn = PgConnection::connect(url).await.unwrap();
    let mut facts = Vec::new();
    for table in [
        "users",
        "projects",
        "status_reports",
        "approval_requests",
        "votes",
        "decisions",
        "risks",
        "policies",
        "policy_versions",
        "controls",
        "audit_events",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        facts.push(format!("{table}: {count}"));
    }
    let head: (i64, Vec<u8>) = sqlx::query_as("SELECT seq, hash FROM audit_chain_head")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    facts.push(format!("head: {} {}", head.0, hex::encode(head.1)));
    facts
}

#[tokio::test]
async fn a_backup_restored_into_an_empty_database_is_the_same_and_its_chain_intact() {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    std::fs::write(evidence.join("ab12"), b"minutes of the March board").unwrap();
    let backup = dir.path().join("backup");
    let source = app.owner_url();

    let evidence_arg = evidence.to_str().unwrap();
    let backup_arg = backup.to_str().unwrap();
    let (ok, output) = quorum(
        &source,
        &["backup", "--to", backup_arg, "--evidence-dir", evidence_arg],
    );
    assert!(ok, "{output}");
    assert!(output.contains("Evidence files copied: 1"), "{output}");
    // A backup never overwrites another.
    let (ok, output) = quorum(&source, &["backup", "--to", backup_arg]);
    assert!(!ok && output.contains("not empty"), "{output}");

    let target = source.replace(&app.db_name, &format!("{}_restored", app.db_name));
    let restored_evidence = dir.path().join("restored-evidence");
    let (ok, output) = quorum(
        &target,
        &[
            "restore",
            "--from",
            backup_arg,
            "--evidence-dir",
            restored_evidence.to_str().unwrap(),
        ],
    );
    assert!(ok, "{output}");
    assert!(output.contains("The audit trail is intact."), "{output}");
    assert_eq!(fingerprint(&target).await, fingerprint(&source).await);
    assert_eq!(
        std::fs::read(restored_evidence.join("ab12")).unwrap(),
        b"minutes of the March board"
    );

    let (ok, output) = quorum(
        &target,
        &["restore", "--from", dir.path().to_str().unwrap()],
    );
    assert!(!ok && output.contains("not a Quorum backup"), "{output}");
}
