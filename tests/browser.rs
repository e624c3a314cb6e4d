//! Quorum in a real browser: the journeys of `browser/tests/` (Node's test runner driving
//! Debian's headless Chromium through playwright-core, with axe-core for accessibility)
//! against the real server, each file on a fresh database holding the demo organisation.
//!
//! Without Node.js or Chromium on the machine the test says so and passes: `.ci/run`
//! installs both. `QUORUM_CHROMIUM` names another Chromium; `QUORUM_SCREENSHOTS=docs/screenshots`
//! refreshes the screenshots kept in the repository (by default they go to target/browser);
//! `QUORUM_BROWSER_ONLY=journeys` runs only the files whose name holds that text. A file
//! that fails is run once more, and the test fails if it fails again; either way the
//! failures' messages (without stack frames) close the log.

#[allow(dead_code, unused_imports)]
#[path = "api/helpers.rs"]
mod helpers;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// The files of `browser/tests/`, or only those whose name holds `QUORUM_BROWSER_ONLY`
/// (to rerun one file while working on it).
fn test_files() -> Vec<PathBuf> {
    let only = std::env::var("QUORUM_BROWSER_ONLY").ok();
    let mut files: Vec<PathBuf> = std::fs::read_dir(browser_dir().join("tests"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".test.mjs"))
        .filter(|path| {
            only.as_deref()
                .is_none_or(|only| path.to_string_lossy().contains(only))
        })
        .collect();
    files.sort();
    files
}

/// Runs one file of browser tests against a server of its own, on a fresh database with the
/// demo organisation (a journey's votes never change what another file sees). Node's report
/// goes to the terminal as it comes; what failed, if anything, is returned.
async fn run_file(tools: &Tools, file: PathBuf, artifacts: &Path) -> Option<String> {
    let app = TestApp::spawn().await;
    app.load_demo().await;
    // Every change a journey makes must be audited (the read cache relies on it).
    app.require_audited_changes().await;
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
        .env("QUORUM_ARTIFACTS", artifacts)
        .stdout(Stdio::piped());
    // The server runs on this test's runtime: wait for Node on a thread of its own.
    let (success, report) = tokio::task::spawn_blocking(move || {
        let mut child = node.spawn().expect("node runs");
        let mut report = String::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.expect("Node's report is text");
            // Straight to the terminal (the harness would hold back println! until the end).
            let _ = writeln!(std::io::stdout(), "{line}");
            report.push_str(&line);
            report.push('\n');
        }
        (child.wait().expect("node runs").success(), report)
    })
    .await
    .unwrap();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    (!success).then(|| format!("{name}:\n{}", failures_of(&report)))
}

/// The "failing tests" part of Node's spec report without the stack frames, so that the
/// end of a long CI log says what failed and why.
fn failures_of(report: &str) -> String {
    let Some(start) = report.find("✖ failing tests:") else {
        return "(Node ended without a report of failing tests: see its output above)".into();
    };
    report[start..]
        .lines()
        .skip(1)
        .filter(|line| !line.trim_start().starts_with("at ") && !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What failed, printed as it is (a test's `Err` is shown with `Debug`, which would put
/// the whole report on one line with its line breaks escaped).
struct Failed(Vec<String>);

impl std::fmt::Debug for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "browser tests failed:")?;
        for failure in &self.0 {
            writeln!(f, "\n{failure}")?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journeys_accessibility_phone_width_and_print_in_chromium() -> Result<(), Failed> {
    let tools = match Tools::find() {
        Ok(tools) => tools,
        Err(missing) => {
            // Straight to the terminal: the test harness would hide an eprintln! of a
            // test that passes.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: the browser tests cannot run here: {missing}"
            );
            return Ok(());
        }
    };
    tokio::task::spawn_blocking(install_packages).await.unwrap();
    let artifacts = std::env::var_os("QUORUM_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser"));
    let artifacts = std::path::absolute(artifacts).unwrap();

    let mut failed = Vec::new();
    for file in test_files() {
        let Some(failure) = run_file(&tools, file.clone(), &artifacts).await else {
            continue;
        };
        // A browser on a shared two-core machine can miss a beat: a file that fails is run
        // once more on a fresh server, and passes only if everything in it passes then. The
        // first failure stays on record at the end of the log, where CI's summary shows it.
        let _ = writeln!(std::io::stderr(), "RETRYING after a failure:\n{failure}");
        match run_file(&tools, file, &artifacts).await {
            None => {
                let _ = writeln!(
                    std::io::stderr(),
                    "FLAKY (passed when run again):\n{failure}"
                );
            }
            Some(again) => failed.extend([failure, format!("and when run again, {again}")]),
        }
    }
    // An `Err` rather than a panic: no backtrace of this function buries the report.
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failed(failed))
    }
}
