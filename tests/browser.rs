//! Quorum in a real browser: the journeys of `browser/tests/` (Node's test runner driving
//! Debian's headless Chromium through playwright-core, with axe-core for accessibility)
//! against the real server, each file on a fresh database holding the demo organisation.
//!
//! Without Node.js or Chromium on the machine the test says so and passes: `.ci/run`
//! installs both. `QUORUM_CHROMIUM` names another Chromium; `QUORUM_SCREENSHOTS=docs/screenshots`
//! refreshes the screenshots kept in the repository (by default they go to target/browser).

#[allow(dead_code, unused_imports)]
#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use helpers::{PASSWORD, TestApp};

const CHROMIUM: &str = "/usr/bin/chromium";

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// What the browser tests need from the machine, or why they cannot run.
struct Tools {
    chromium: PathBuf,
}

impl Tools {
    fn find() -> Result<Self, String> {
        let chromium = std::env::var_os("QUORUM_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(CHROMIUM));
        if !chromium.exists() {
            return Err(format!(
                "no Chromium at {} (apt-get install chromium, or set QUORUM_CHROMIUM)",
                chromium.display()
            ));
        }
        let node = Command::new("node").arg("--version").output();
        if !node.is_ok_and(|output| output.status.success()) {
            return Err("no Node.js (apt-get install nodejs npm)".into());
        }
        Ok(Tools { chromium })
    }
}

/// playwright-core and axe-core, installed from `browser/package-lock.json` when missing
/// or older than the lock file (npm's registry only: neither package downloads a browser).
fn install_packages() {
    let dir = browser_dir();
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let locked = modified(&dir.join("package-lock.json"));
    if installed.is_some() && installed >= locked {
        return;
    }
    // A registry that fails once (a dropped connection) is asked again.
    let installed = (0..3).any(|attempt| {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_secs(5));
        }
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm runs")
            .success()
    });
    assert!(installed, "npm ci in browser/ failed three times");
}

fn test_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(browser_dir().join("tests"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    files
}

/// Runs one file of browser tests against a server of its own, on a fresh database with the
/// demo organisation (a journey's votes never change what another file sees). True if
/// every test in it passed; Node's report goes to the terminal.
async fn run_file(tools: &Tools, file: PathBuf, artifacts: &Path) -> bool {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    let two_step_key = quorum::demo::two_step_key(&app.pool)
        .await
        .unwrap()
        .expect("the demo has a member with an authenticator app");
    let mut node = Command::new("node");
    node.args(["--test", "--test-reporter=spec"])
        .arg(&file)
        .current_dir(browser_dir())
        .env("QUORUM_URL", &app.address)
        .env("QUORUM_PASSWORD", PASSWORD)
        .env("QUORUM_TWO_STEP_KEY", two_step_key)
        .env("QUORUM_CHROMIUM", &tools.chromium)
        .env("QUORUM_ARTIFACTS", artifacts);
    // The server runs on this test's runtime: wait for Node on a thread of its own.
    let status = tokio::task::spawn_blocking(move || node.status().expect("node runs"))
        .await
        .unwrap();
    status.success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_accessibility_phone_width_and_print_in_chromium() {
    let tools = match Tools::find() {
        Ok(tools) => tools,
        Err(missing) => {
            // Straight to the terminal: the test harness would hide an eprintln! of a
            // test that passes.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: the browser tests cannot run here: {missing}"
            );
            return;
        }
    };
    tokio::task::spawn_blocking(install_packages).await.unwrap();
    let artifacts = std::env::var_os("QUORUM_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser"));
    let artifacts = std::path::absolute(artifacts).unwrap();

    let mut failed = Vec::new();
    for file in test_files() {
        if !run_file(&tools, file.clone(), &artifacts).await {
            failed.push(file.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(
        failed.is_empty(),
        "browser tests failed in {failed:?} (their report is above)"
    );
}
