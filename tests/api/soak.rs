//! A bounded soak: 64 signed-in sessions read and write at once for a while (votes on the
//! same requests, status reports on the same projects), then the books must balance: no
//! 5xx, an intact audit chain, one live vote per member and request, and as many votes and
//! reports in the database as requests that said they succeeded.
//!
//! Short in `cargo test` (`QUORUM_SOAK_SECS`, 15 s by default); the long form is
//! `QUORUM_SOAK_SECS=600 cargo test --release --test api soak -- --nocapture`
//! (figures in docs/reliability.md).

use std::time::{Duration, Instant};

use quorum::audit;
use quorum::projects::model::{Cadence, Period};
use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::{TestApp, TestClient, location};

const VOTERS: usize = 24;
const REPORTERS: usize = 8;
const READERS: usize = 32;
const PROJECTS: usize = 4;
const REQUESTS: usize = 6;

fn soak_duration() -> Duration {
    let secs = std::env::var("QUORUM_SOAK_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .unwrap_or(15);
    Duration::from_secs(secs)
}

/// What one session did.
#[derive(Default)]
struct Tally {
    requests: u64,
    /// Every 5xx, and every reader's page that was not a 200.
    failures: Vec<String>,
    votes_recorded: u64,
    reports_filed: u64,
}

impl Tally {
    fn saw(&mut self, what: &str, status: StatusCode) {
        self.requests += 1;
        if status.is_server_error() {
            self.failures.push(format!("{what}: {status}"));
        }
    }
}

/// Casts votes in turn on every request: abstentions, so that with members who never
/// vote no request settles and voting goes on for the whole soak (a vote changed is a new
/// vote row, the old one ended).
async fn vote_on(client: TestClient, requests: Vec<i64>, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut round = 0usize;
    while Instant::now() < until {
        let request = requests[round % requests.len()];
        round += 1;
        let path = format!("/board/requests/{request}");
        let (status, page) = client.page(&path).await;
        tally.saw(&path, status);
        let Some(token) = crate::helpers::extract_csrf_token(&page) else {
            continue;
        };
        let comment = format!("Soak round {round}");
        let response = client
            .post_form_raw(
                &format!("{path}/vote"),
                &[
                    ("csrf_token", &token),
                    ("choice", "abstain"),
                    ("comment", &comment),
                ],
            )
            .await;
        tally.saw("vote", response.status());
        if response.status() != StatusCode::SEE_OTHER {
            continue;
        }
        let (status, page) = client.page(&location(response.headers())).await;
        tally.saw(&path, status);
        if page.contains("Your vote (abstain) is recorded.") {
            tally.votes_recorded += 1;
        }
    }
    tally
}

/// Files corrections of a project's submitted report, as its manager, from two sessions
/// per project at once.
async fn report_on(
    client: TestClient,
    project: i64,
    corrects: i64,
    period: Period,
    until: Instant,
) -> Tally {
    let mut tally = Tally::default();
    let mut round = 0u64;
    while Instant::now() < until {
        round += 1;
        let (status, page) = client
            .page(&format!("/manage/reports/{corrects}/correction"))
            .await;
        tally.saw("correction form", status);
        let Some(token) = crate::helpers::extract_csrf_token(&page) else {
            continue;
        };
        let percent = (round % 100).to_string();
        let response = client
            .post_form_raw(
                &format!("/manage/projects/{project}/reports"),
                &[
                    ("csrf_token", &token),
                    ("corrects", &corrects.to_string()),
                    ("correction_reason", "Soak"),
                    ("period_start", &period.start.to_string()),
                    ("overall_rag", "amber"),
                    ("schedule_rag", "green"),
                    ("budget_rag", "amber"),
                    ("scope_rag", "green"),
                    ("rag_explanation", "Soak test"),
                    ("percent_complete", &percent),
                    ("spend_to_date", "1000"),
                    ("forecast_at_completion", "2000"),
                    ("action", "submit"),
                ],
            )
            .await;
        tally.saw("report", response.status());
        if response.status() == StatusCode::SEE_OTHER
            && location(response.headers()).starts_with("/manage/reports/")
        {
            tally.reports_filed += 1;
        }
    }
    tally
}

/// Reads the pages each role reads most, in turn.
async fn read(client: TestClient, paths: Vec<String>, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut round = 0usize;
    while Instant::now() < until {
        let path = &paths[round % paths.len()];
        round += 1;
        let status = client.get(path).await.status();
        tally.saw(path, status);
        // (A 5xx is counted by `saw` already.)
        if status != StatusCode::OK && !status.is_server_error() {
            tally.failures.push(format!("{path}: {status}, not 200"));
        }
    }
    tally
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

// The server and the 64 sessions share the test's runtime: two threads, as the machine's
// two cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_of_64_sessions_ends_with_no_5xx_an_intact_chain_and_counts_that_add_up() {
    let app = TestApp::spawn().await;
    let chair = app.create_user("chair@example.com", &[Role::Board]).await;
    // Board members who never vote: no request can settle while the soak runs.
    app.create_user("away1@example.com", &[Role::Board]).await;
    app.create_user("away2@example.com", &[Role::Board]).await;
    let period = Period::containing(Cadence::Monthly, quorum::common::dates::today())
        .previous(Cadence::Monthly);
    let mut projects = Vec::new();
    for n in 0..PROJECTS {
        let manager = app
            .create_user(&format!("manager{n}@example.com"), &[Role::ItManager])
            .await;
        let project = app.seed_project(manager, chair).await.project_id;
        let report = app.seed_report(project, manager).await;
        projects.push((n, project, report));
    }
    let mut requests = Vec::new();
    for n in 0..REQUESTS {
        let (manager, project, _) = projects[n % PROJECTS];
        let manager_id = app.user_id(&format!("manager{manager}@example.com")).await;
        requests.push(app.seed_request(project, manager_id, 30).await);
    }
    // Every change the sessions make must be audited (the read cache relies on it).
    app.require_audited_changes().await;

    let mut voters = Vec::new();
    for n in 0..VOTERS {
        voters.push(
            app.signed_in(&format!("voter{n}@example.com"), &[Role::Board])
                .await,
        );
    }
    let mut reporters = Vec::new();
    for n in 0..REPORTERS {
        let (manager, project, report) = projects[n % PROJECTS];
        let client = app.client();
        let response = client
            .login(
                &format!("manager{manager}@example.com"),
                crate::helpers::PASSWORD,
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        reporters.push((client, project, report));
    }
    let mut readers = Vec::new();
    for n in 0..READERS {
        let (email, role, paths): (String, Role, Vec<String>) = match n % 4 {
            0 | 1 => (
                format!("reader{n}@example.com"),
                Role::Board,
                vec!["/board".into(), "/board/requests".into(), "/inbox".into()],
            ),
            2 => (
                format!("reader{n}@example.com"),
                Role::ItManager,
                vec!["/manage".into(), "/manage/projects".into(), "/inbox".into()],
            ),
            _ => (
                format!("reader{n}@example.com"),
                Role::Auditor,
                vec!["/audit".into(), "/audit/events".into()],
            ),
        };
        readers.push((app.signed_in(&email, &[role]).await, paths));
    }

    let started = Instant::now();
    let until = started + soak_duration();
    let mut sessions = Vec::new();
    for voter in voters {
        sessions.push(tokio::spawn(vote_on(voter, requests.clone(), until)));
    }
    for (client, project, report) in reporters {
        sessions.push(tokio::spawn(report_on(
            client, project, report, period, until,
        )));
    }
    for (client, paths) in readers {
        sessions.push(tokio::spawn(read(client, paths, until)));
    }
    let mut total = Tally::default();
    for session in sessions {
        let tally = session.await.unwrap();
        total.requests += tally.requests;
        total.failures.extend(tally.failures);
        total.votes_recorded += tally.votes_recorded;
        total.reports_filed += tally.reports_filed;
    }
    let elapsed = started.elapsed();

    let votes = count(&app, "SELECT count(*) FROM votes").await;
    let doubled = count(
        &app,
        "SELECT count(*) FROM (SELECT 1 FROM votes WHERE ended_at IS NULL
         GROUP BY request_id, voter_id HAVING count(*) > 1) AS doubled",
    )
    .await;
    let reports = count(&app, "SELECT count(*) FROM status_reports").await;
    let open = count(
        &app,
        "SELECT count(*) FROM approval_requests WHERE status = 'open'",
    )
    .await;
    let mut conn = app.pool.acquire().await.unwrap();
    let chain = audit::verify_chain(&mut conn).await.unwrap();
    eprintln!(
        "soak: {} sessions for {elapsed:.1?}: {} requests ({:.0}/s), {} failures (5xx, or a reader's page not 200), {} votes \
         recorded, {} reports filed, {} audit events checked",
        VOTERS + REPORTERS + READERS,
        total.requests,
        total.requests as f64 / elapsed.as_secs_f64(),
        total.failures.len(),
        total.votes_recorded,
        total.reports_filed,
        chain.events_checked
    );
    assert!(
        total.failures.is_empty(),
        "{} failures, first: {:?}",
        total.failures.len(),
        total.failures.iter().take(10).collect::<Vec<_>>()
    );
    assert!(chain.is_intact(), "{:?}", chain.first_break);
    assert_eq!(doubled, 0, "one live vote per member and request");
    assert_eq!(open, REQUESTS as i64, "no request settled");
    assert!(total.votes_recorded > 0 && total.reports_filed > 0);
    assert_eq!(votes, total.votes_recorded as i64);
    assert_eq!(reports, (PROJECTS as u64 + total.reports_filed) as i64);
}
