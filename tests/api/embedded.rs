//! The embedded-cluster path: no DATABASE_URL, Quorum runs PostgreSQL itself.

use std::io::Write;
use std::process::{Command, Stdio};

fn quorum(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_quorum"));
    command
        .env("QUORUM_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("QUORUM_APP_DATABASE_URL");
    command
}

#[test]
fn without_database_url_quorum_runs_its_own_cluster_and_stops_it() {
    let dir = tempfile::Builder::new()
        .prefix("quorum-embedded-")
        .tempdir()
        .unwrap();
    // The cluster runs as `postgres` when the tests run as root: it must reach the dir.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();

    let migrate = quorum(dir.path()).arg("migrate").output().unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let pgdata = dir.path().join("postgres/pgdata");
    assert!(pgdata.join("PG_VERSION").exists());
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "the cluster must stop with Quorum"
    );

    // The application role logs in directly over the private socket.
    let mut add = quorum(dir.path())
        .args([
            "user",
            "add",
            "--email",
            "cio@example.com",
            "--name",
            "Helen Whitfield",
        ])
        .args(["--role", "board", "--role", "it_manager"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"copper kettle morning tide\n")
        .unwrap();
    let added = add.wait_with_output().unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("cio@example.com"));

    let weak = quorum(dir.path())
        .args([
            "user",
            "add",
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--role",
            "auditor",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!weak.status.success(), "an empty password must be refused");

    let verify = quorum(dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(stdout.contains("Events checked: 1"), "{stdout}");
    assert!(stdout.contains("intact"), "{stdout}");
    assert!(!pgdata.join("postmaster.pid").exists());

    // Backing up and restoring reach the embedded cluster over its private socket.
    let backup = dir.path().join("backup");
    for args in [["backup", "--to"], ["restore", "--from"]] {
        let output = quorum(dir.path()).args(args).arg(&backup).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(backup.join("quorum.dump").is_file());
    assert!(!pgdata.join("postmaster.pid").exists());
}

#[test]
fn help_reads_well() {
    let output = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for word in [
        "serve",
        "migrate",
        "demo",
        "user",
        "audit",
        "backup",
        "restore",
        "DATABASE_URL",
        "QUORUM_DATA_DIR",
    ] {
        assert!(help.contains(word), "--help should mention {word}:\n{help}");
    }
}
