//! The read cache (`web::read_cache`): a page answers from the figures kept for it while
//! nothing changed, and a change anyone makes is on the next page everyone opens.

use quorum::users::Role;

use crate::helpers::{TestApp, TestClient, assert_redirects_to};

const METRICS_TOKEN: &str = "read-cache-scrape";

/// The read cache's (hits, misses) so far, from `/metrics`.
async fn cache_loads(app: &TestApp) -> (u64, u64) {
    let text = reqwest::Client::new()
        .get(format!("{}/metrics", app.address))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let count = |result: &str| {
        let series = format!("quorum_read_cache_loads_total{{result=\"{result}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(series.as_str()))
            .unwrap_or_else(|| panic!("no {series} in /metrics"))
            .parse()
            .unwrap()
    };
    (count("hit"), count("miss"))
}

async fn home(member: &TestClient) -> String {
    let (status, body) = member.page("/board").await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn pages_answer_from_kept_figures_until_a_change_and_personal_figures_stay_personal() {
    let app = TestApp::spawn_with(|config| config.metrics_token = Some(METRICS_TOKEN.into())).await;
    let manager_id = app
        .create_user("manager@example.com", &[Role::ItManager])
        .await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;
    let member = app.signed_in("member@example.com", &[Role::Board]).await;
    app.signed_in("third@example.com", &[Role::Board]).await;
    let chair_id = app.user_id("chair@example.com").await;
    let project = app.seed_project(manager_id, chair_id).await;
    // Filed through the engine, as the pages do: the filing is in the audit trail.
    let request = app.seed_request(project.project_id, manager_id, 14).await;
    let listed = format!("href=\"/board/requests/{request}\"");

    let first = home(&chair).await;
    assert!(
        first.contains(&listed),
        "the request waits for the chair's vote"
    );
    let (hits, misses) = cache_loads(&app).await;
    let again = home(&chair).await;
    assert_eq!(again, first, "nothing changed: the same page");
    let (hits_after, misses_after) = cache_loads(&app).await;
    assert!(
        hits_after > hits,
        "the second view answered from kept figures"
    );
    assert_eq!(misses_after, misses, "the second view read nothing again");
    assert!(home(&member).await.contains(&listed));

    // The chair votes: their own next page no longer asks for it, the other member's still
    // does, and the request's page shows the vote to both.
    let path = format!("/board/requests/{request}");
    let before_vote = member.page(&path).await.1;
    assert!(!before_vote.contains("Kept on schedule"));
    let response = chair
        .post_form(
            &format!("{path}/vote"),
            &[("choice", "approve"), ("comment", "Kept on schedule")],
        )
        .await;
    assert_redirects_to(&response, &path);
    assert!(!home(&chair).await.contains(&listed), "the chair has voted");
    assert!(home(&member).await.contains(&listed), "the member has not");
    assert!(member.page(&path).await.1.contains("Kept on schedule"));
    assert!(chair.page(&path).await.1.contains("Kept on schedule"));

    // What decides is the audit trail, not time.
    let project_page = format!("/board/projects/{}", project.project_id);
    assert!(
        !chair
            .page(&project_page)
            .await
            .1
            .contains("Renamed by its manager")
    );
    sqlx::query("UPDATE projects SET name = 'Renamed by its manager' WHERE id = $1")
        .bind(project.project_id)
        .execute(&app.pool)
        .await
        .unwrap();
    // A change made outside Quorum (no audit event) is not seen until the next one...
    assert!(
        !chair
            .page(&project_page)
            .await
            .1
            .contains("Renamed by its manager")
    );
    // ...which any audited change is, here the member's vote.
    let response = member
        .post_form(
            &format!("{path}/vote"),
            &[("choice", "approve"), ("comment", "")],
        )
        .await;
    assert_redirects_to(&response, &path);
    assert!(
        chair
            .page(&project_page)
            .await
            .1
            .contains("Renamed by its manager")
    );
}

#[tokio::test]
async fn without_the_read_cache_every_page_reads_the_database() {
    let app = TestApp::spawn_with(|config| {
        config.metrics_token = Some(METRICS_TOKEN.into());
        config.no_read_cache = true;
    })
    .await;
    let chair = app.signed_in("chair@example.com", &[Role::Board]).await;
    home(&chair).await;
    let (hits, misses) = cache_loads(&app).await;
    home(&chair).await;
    assert_eq!(
        cache_loads(&app).await,
        (hits, misses),
        "the cache is not asked"
    );
    // A change behind Quorum's back shows at once.
    let chair_id = app.user_id("chair@example.com").await;
    let project = app.seed_project(chair_id, chair_id).await;
    let page = format!("/board/projects/{}", project.project_id);
    assert!(chair.page(&page).await.1.contains("Seeded project"));
    sqlx::query("UPDATE projects SET name = 'Renamed in SQL' WHERE id = $1")
        .bind(project.project_id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(chair.page(&page).await.1.contains("Renamed in SQL"));
}

/// The guard the hostile crawl, the soak and the browser journeys run under: a change to a
/// governance record that its transaction does not audit fails at commit.
#[tokio::test]
async fn the_guard_of_the_caches_rule_refuses_an_unaudited_change() {
    let app = TestApp::spawn().await;
    app.require_audited_changes().await;
    let unaudited = sqlx::query("UPDATE risk_categories SET name = name || ''")
        .execute(&app.pool)
        .await
        .unwrap_err();
    assert!(
        unaudited.to_string().contains("without an audit event"),
        "{unaudited}"
    );
    // The same change with its audit event commits.
    app.rewrite("UPDATE risk_categories SET name = name || ''")
        .await;
}
