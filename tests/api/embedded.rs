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

#[test]
fn sigterm_stops_the_server_and_its_cluster_cleanly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::Builder::new()
        .prefix("quorum-sigterm-")
        .tempdir()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut server = quorum(dir.path())
        .arg("serve")
        .env("QUORUM_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|line| {
            line.strip_prefix("Quorum is running at ")
                .map(str::to_owned)
        })
        .expect("the server says where it listens");
    // Keep reading what it prints: a closed pipe would end it before the signal does.
    let drain = std::thread::spawn(move || lines.for_each(drop));
    // One plain HTTP/1.1 request: the test needs no client library for it.
    let mut stream = std::net::TcpStream::connect(address.trim_start_matches("http://")).unwrap();
    stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: quorum\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut status_line = [0u8; 12];
    std::io::Read::read_exact(&mut stream, &mut status_line).unwrap();
    assert_eq!(&status_line, b"HTTP/1.1 200");
    let pgdata = dir.path().join("postgres/pgdata");
    assert!(pgdata.join("postmaster.pid").exists(), "the cluster runs");

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let asked = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        if asked.elapsed() > std::time::Duration::from_secs(30) {
            server.kill().unwrap();
            panic!("SIGTERM did not stop the server within 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    drain.join().unwrap();
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "the cluster stopped with Quorum"
    );
}
