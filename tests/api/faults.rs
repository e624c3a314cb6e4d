//! Faults: PostgreSQL stopped and started again under Quorum while it serves.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quorum::db::Database;
use quorum::db::embedded::{Durability, EmbeddedCluster};
use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::TestApp;

/// Longer than any bounded wait of Quorum's (the pool's 3 s), shorter than a hang.
const NO_HANG: Duration = Duration::from_secs(15);

#[tokio::test]
async fn a_stopped_database_is_answered_503_and_quorum_recovers_when_it_returns() {
    let dir = tempfile::Builder::new()
        .prefix("quorum-faults-")
        .tempdir()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("postgres");
    let cluster = EmbeddedCluster::start(&root, Durability::Throwaway).unwrap();
    let mut database = Database::on_cluster(cluster, "quorum");
    let app = TestApp::spawn_on(&database, "quorum").await;
    let board = app.signed_in("board@example.com", &[Role::Board]).await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    assert_eq!(board.page("/board").await.0, StatusCode::OK);
    let token = manager.csrf_token().await;

    // Readers keep asking throughout, as people would.
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..8 {
        let (http, url) = (board.http.clone(), board.url("/board"));
        let (statuses, stop) = (statuses.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let status = match http.get(&url).send().await {
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0,
                };
                *statuses.lock().unwrap().entry(status).or_default() += 1;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    database.shutdown();
    let asked = Instant::now();
    let response = board.get("/board").await;
    let answered_in = asked.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(answered_in < NO_HANG, "answered after {answered_in:?}");
    let page = response.text().await.unwrap();
    assert!(page.contains("Nothing was changed"), "{page}");
    assert_eq!(
        board.page("/readyz").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // A change sent meanwhile is refused whole.
    let response = manager
        .post_form_raw(
            "/manage/projects",
            &[
                ("csrf_token", &token),
                ("name", "Written while the database was down"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    let _cluster = EmbeddedCluster::start(&root, Durability::Throwaway).unwrap();
    let restarted = Instant::now();
    while board.page("/readyz").await.0 != StatusCode::OK {
        assert!(restarted.elapsed() < NO_HANG, "not ready again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered_in = restarted.elapsed();
    // Sessions live in the database: the board member is still signed in.
    assert_eq!(board.page("/board").await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
    let statuses = statuses.lock().unwrap().clone();
    eprintln!(
        "database stopped: answered 503 in {answered_in:?}; ready again {recovered_in:?} after \
         the cluster started; readers saw {statuses:?}"
    );
    let unexpected: Vec<_> = statuses
        .keys()
        .filter(|status| !matches!(status, 200 | 503))
        .collect();
    assert!(unexpected.is_empty(), "readers saw {statuses:?}");
    assert!(statuses.contains_key(&503) && statuses.contains_key(&200));

    let written: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM projects WHERE name = 'Written while the database was down'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(written, 0);
}

/// A server that stops when `stop` is sent, and a manager's request for the risk register
/// waiting in flight on a lock the test holds on `owner` (`COMMIT` releases it).
struct HeldRequest {
    app: TestApp,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
    owner: sqlx::PgConnection,
    in_flight: tokio::task::JoinHandle<reqwest::Result<StatusCode>>,
}

async fn hold_a_request(shutdown_grace: Duration) -> HeldRequest {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (app, running) =
        TestApp::spawn_until(|config| config.shutdown_grace = shutdown_grace, async {
            stopped.await.ok();
        })
        .await;
    let manager = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    assert_eq!(manager.page("/manage/risks").await.0, StatusCode::OK);
    let mut owner = app.owner_connection().await;
    sqlx::query("BEGIN").execute(&mut owner).await.unwrap();
    sqlx::query("LOCK TABLE risks IN ACCESS EXCLUSIVE MODE")
        .execute(&mut owner)
        .await
        .unwrap();
    // Another filter than the page read above: figures the read cache does not hold yet.
    let (http, url) = (manager.http.clone(), manager.url("/manage/risks?q=held"));
    let in_flight = tokio::spawn(async move { http.get(&url).send().await.map(|r| r.status()) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    HeldRequest {
        app,
        running,
        stop,
        owner,
        in_flight,
    }
}

#[tokio::test]
async fn on_shutdown_requests_in_flight_finish_within_the_grace_and_the_pool_closes() {
    let HeldRequest {
        app,
        running,
        stop,
        mut owner,
        in_flight,
    } = hold_a_request(Duration::from_secs(3)).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // No new request is accepted...
    assert!(
        reqwest::Client::new()
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .is_err()
    );
    // ...while the one in flight finishes once its answer can be read.
    assert!(!in_flight.is_finished());
    sqlx::query("COMMIT").execute(&mut owner).await.unwrap();
    assert_eq!(in_flight.await.unwrap().unwrap(), StatusCode::OK);
    tokio::time::timeout(NO_HANG, running)
        .await
        .expect("the server did not stop")
        .unwrap()
        .unwrap();
    assert!(app.pool.is_closed());
}

#[tokio::test]
async fn a_request_stuck_past_the_shutdown_grace_does_not_keep_quorum_running() {
    let HeldRequest {
        running,
        stop,
        mut owner,
        ..
    } = hold_a_request(Duration::from_secs(1)).await;
    stop.send(()).unwrap();
    tokio::time::timeout(NO_HANG, running)
        .await
        .expect("a stuck request kept the server running")
        .unwrap()
        .unwrap();
    sqlx::query("COMMIT").execute(&mut owner).await.unwrap();
}
