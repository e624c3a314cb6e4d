//! The largest risk register the configuration lets out, exported in every format, within
//! a memory bound. This binary holds this one test, so the process's peak memory is the
//! server's work on these exports (and the test's own small part).

#[allow(dead_code, unused_imports)]
#[path = "api/helpers.rs"]
mod helpers;

use quorum::users::Role;
use reqwest::StatusCode;

use helpers::TestApp;

/// The configured export limit, and as many risks.
const ROWS: i64 = 5_000;
/// The bound on the process's peak memory (the server read, built and sent every file).
const PEAK_MIB: u64 = 320;

fn peak_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap();
    kib / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_register_exports_in_every_format_within_a_memory_bound() {
    let app = TestApp::spawn_with(|config| config.export_max_rows = ROWS).await;
    let owner = app
        .create_user("owner@example.com", &[Role::ItManager])
        .await;
    let auditor = app.signed_in("auditor@example.com", &[Role::Auditor]).await;
    sqlx::query(
        "INSERT INTO risks (reference, title, description, category_id, owner_id, likelihood,
                            impact, residual_likelihood, residual_impact, treatment,
                            treatment_plan, next_review_date)
         SELECT 'RSK-' || lpad(g::text, 4, '0'), 'Generated risk ' || g,
                repeat('A description of what could go wrong and why. ', 6),
                (SELECT min(id) FROM risk_categories), $1, (1 + g % 5)::smallint, (1 + (g / 5) % 5)::smallint,
                (1 + g % 3)::smallint, (1 + g % 4)::smallint, 'mitigate',
                repeat('Segment the network and test restores. ', 4), current_date + (g % 365)::int
         FROM generate_series(1, $2) g",
    )
    .bind(owner)
    .bind(ROWS)
    .execute(&app.pool)
    .await
    .unwrap();
    let before = peak_mib();

    let mut sizes = Vec::new();
    for format in ["csv", "xlsx"] {
        let response = auditor
            .post_form("/audit/exports/risks", &[("format", format)])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{format}");
        let bytes = response.bytes().await.unwrap();
        sizes.push((format, bytes.len()));
    }
    // Past what a PDF lays out: refused before any work, with the formats that take it.
    let response = auditor
        .post_form("/audit/exports/risks", &[("format", "pdf")])
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Export it as CSV or Excel (XLSX)")
    );
    // The largest PDF: a register at the PDF's limit.
    sqlx::query("DELETE FROM risks WHERE reference > 'RSK-0500'")
        .execute(&mut app.owner_connection().await)
        .await
        .unwrap();
    let response = auditor
        .post_form("/audit/exports/risks", &[("format", "pdf")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    sizes.push(("pdf of 500", response.bytes().await.unwrap().len()));

    let peak = peak_mib();
    eprintln!(
        "exports of {ROWS} risks: {sizes:?}; process peak {before} MiB before, {peak} MiB after"
    );
    assert!(peak <= PEAK_MIB, "peak memory {peak} MiB");
}
