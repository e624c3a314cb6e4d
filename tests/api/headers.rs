//! Security headers, error pages, health checks and static files.

use quorum::users::Role;
use reqwest::StatusCode;

use crate::helpers::TestApp;

fn assert_security_headers(response: &reqwest::Response) {
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let login = client.get("/login").await;
    assert_eq!(login.status(), StatusCode::OK);
    assert_security_headers(&login);
    // Over plain HTTP there is no HSTS and the cookie is not `Secure`.
    assert!(!login.headers().contains_key("strict-transport-security"));
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn behind_https_cookies_are_secure_host_cookies_and_hsts_is_sent() {
    let app = TestApp::spawn_with(|config| {
        config.public_url = Some("https://quorum.example.org".to_owned());
    })
    .await;
    let response = app.client().get("/login").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-quorum_session="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        response.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

#[tokio::test]
async fn an_unknown_page_is_a_friendly_404_with_the_request_id() {
    let app = TestApp::spawn().await;
    let response = app.client().get("/no/such/page").await;
    let body = error_page(response, StatusCode::NOT_FOUND).await;
    assert!(body.contains("Page not found"));
}

/// Checks an error page's status, headers and request id; returns its body.
async fn error_page(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    assert_security_headers(&response);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body = response.text().await.unwrap();
    assert!(body.contains(&request_id), "the page shows the request id");
    body
}

#[tokio::test]
async fn a_wrong_role_gets_a_403_page_that_says_why() {
    let app = TestApp::spawn().await;
    let client = app
        .signed_in("manager@example.com", &[Role::ItManager])
        .await;
    let response = client.get("/board").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_security_headers(&response);
    let body = response.text().await.unwrap();
    assert!(body.contains("Board member"));
    assert!(body.contains("manager@example.com"));
}

#[tokio::test]
async fn an_oversized_request_is_refused() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let token = client.csrf_token().await;
    let huge = "x".repeat(2 * 1024 * 1024);
    let response = client
        .post_form_raw("/login", &[("email", &huge), ("csrf_token", &token)])
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn health_readiness_favicon_and_stylesheet_are_served() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let (status, body) = client.page("/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, body) = client.page("/readyz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));

    let favicon = client.get("/favicon.ico").await;
    assert_eq!(favicon.status(), StatusCode::OK);
    assert_eq!(favicon.headers()["content-type"], "image/x-icon");
    let bytes = favicon.bytes().await.unwrap();
    assert_eq!(
        &bytes[..4],
        &[0, 0, 1, 0],
        "an ICO file starts with 00 00 01 00"
    );

    let css = client.get("/static/quorum.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert_eq!(
        client.get("/static/nothing.css").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.pool.close().await;
    let (status, _) = app.client().page("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn pages_use_no_inline_script_or_style() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("everyone@example.com", &Role::ALL).await;
    for path in [
        "/login",
        "/",
        "/board",
        "/manage",
        "/audit",
        "/admin",
        "/admin/users/new",
        "/account/password",
    ] {
        let (status, body) = client.page(path).await;
        assert!(
            status.is_success() || status.is_redirection(),
            "{path}: {status}"
        );
        assert!(!body.contains("<script>"), "{path} has an inline script");
        assert!(!body.contains("style="), "{path} has an inline style");
        assert!(!body.contains(" onclick="), "{path} has an inline handler");
    }
}

#[tokio::test]
async fn a_server_error_shows_an_opaque_page_with_the_request_id() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("board@example.com", &[Role::Board]).await;
    // The database refuses what Quorum asks of it (a grant taken away by mistake).
    sqlx::query("REVOKE SELECT ON users FROM quorum_app")
        .execute(&mut app.owner_connection().await)
        .await
        .unwrap();
    let response = client.get("/board").await;
    let body = error_page(response, StatusCode::INTERNAL_SERVER_ERROR).await;
    assert!(body.contains("Something went wrong"));
    for leak in ["sqlx", "permission", "users", "panicked", "src/"] {
        assert!(!body.contains(leak), "the error page leaks {leak}");
    }
}

#[tokio::test]
async fn a_database_out_of_reach_is_a_503_page_that_asks_to_retry() {
    let app = TestApp::spawn().await;
    let client = app.signed_in("board@example.com", &[Role::Board]).await;
    // The database goes away under a signed-in person's feet.
    app.pool.close().await;
    let response = client.get("/board").await;
    assert_eq!(response.headers()["retry-after"], "5");
    let body = error_page(response, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(body.contains("Nothing was changed. Please try again in 5 seconds"));
    for leak in ["sqlx", "pool", "PoolClosed", "panicked", "src/"] {
        assert!(!body.contains(leak), "the error page leaks {leak}");
    }
}

#[tokio::test]
async fn metrics_are_served_to_the_scraper_with_the_token_only() {
    let app =
        TestApp::spawn_with(|config| config.metrics_token = Some("s3cret-scrape".into())).await;
    let client = app.signed_in("board@example.com", &[Role::Board]).await;
    client.get("/board").await;
    client.get("/board/requests/999999").await;

    let scrape = |token: Option<&str>| {
        let mut request = reqwest::Client::new().get(client.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    // A signed-in session is not a scraper.
    assert_eq!(
        client.get("/metrics").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        scrape(Some("guess")).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let response = scrape(Some("s3cret-scrape")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for line in [
        r#"quorum_http_requests_total{route="/board",method="GET",status="200"} 1"#,
        r#"quorum_http_requests_total{route="/board/requests/{id}",method="GET",status="404"} 1"#,
        r#"quorum_http_request_duration_seconds_count{route="/board",method="GET"} 1"#,
        r#"quorum_http_request_duration_seconds_bucket{route="/board",method="GET",le="+Inf"} 1"#,
        "quorum_db_pool_max_connections 16",
        "quorum_mail_outbox_pending 0",
        "# TYPE quorum_db_errors_total counter",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    // Routes, not addresses: the id asked for is not a label (a number alone could be in
    // a duration's sum).
    assert!(!text.contains("requests/999999"));
}
