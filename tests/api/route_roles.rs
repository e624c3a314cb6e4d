//! The route-by-role table: every route, the roles allowed on it, and what each kind of
//! visitor gets (the page, a 403, or for the anonymous a redirect to the sign-in page).

use quorum::users::Role;
use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, TestClient, location};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Whoever sends the configured token, session or not; no page for anyone without
    /// one (the test server configures none: 404).
    Token,
    /// Any signed-in person, whatever their roles.
    SignedIn,
    /// Only a visitor whose password was right, on the way to the second step: everyone
    /// else is sent on (to the password, or where a signed-in person was going).
    SecondStep,
    /// Only these roles.
    Roles(&'static [Role]),
    /// A provider's answer (single sign-on): anyone may arrive there; without a sign-in
    /// under way it is refused with a message (422, throttled: 429), never a 5xx.
    ProviderAnswer,
}

/// `{id}` in a path is replaced by an existing account's id, `{project}` by a project the
/// `it_manager` visitor manages, `{report}` by one of its submitted reports and
/// `{objective}` by an objective, `{request}` by an open budget request the `it_manager`
/// visitor filed, `{decision}` by a resolution, `{mdecision}` by a management decision the
/// `it_manager` visitor proposed, `{risk}` by a risk, `{framework}`, `{export}`, `{asset}`
/// and `{year}` by a framework's code, a report, a stylesheet and this year.
pub(crate) const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/login", Access::Public),
    ("GET", "/healthz", Access::Public),
    ("GET", "/readyz", Access::Public),
    ("GET", "/metrics", Access::Token),
    ("GET", "/favicon.ico", Access::Public),
    ("GET", "/static/{asset}", Access::Public),
    ("GET", "/", Access::SignedIn),
    ("GET", "/login/verify", Access::SecondStep),
    ("POST", "/login/verify", Access::SecondStep),
    // A JSON refusal (409) without a half-finished sign-in: passkeys.js shows it.
    ("POST", "/login/verify/passkey/challenge", Access::Public),
    ("POST", "/login/verify/passkey", Access::SecondStep),
    // Refused with a message (409) while the organisation does not allow it.
    ("POST", "/login/passkey/challenge", Access::Public),
    ("POST", "/login/passkey", Access::Public),
    // No provider of that name on the test server: 404.
    ("POST", "/login/sso/{id}", Access::Public),
    ("GET", "/login/sso/{id}/callback", Access::ProviderAnswer),
    ("GET", "/account", Access::SignedIn),
    ("POST", "/inbox/notices/{id}/dismiss", Access::SignedIn),
    ("GET", "/account/two-step", Access::SignedIn),
    ("GET", "/account/two-step/totp", Access::SignedIn),
    ("POST", "/account/two-step/totp", Access::SignedIn),
    ("POST", "/account/two-step/totp/confirm", Access::SignedIn),
    ("POST", "/account/two-step/totp/remove", Access::SignedIn),
    ("POST", "/account/two-step/recovery-codes", Access::SignedIn),
    ("POST", "/account/two-step/passkeys", Access::SignedIn),
    (
        "POST",
        "/account/step-up/passkey/challenge",
        Access::SignedIn,
    ),
    (
        "POST",
        "/account/two-step/passkeys/challenge",
        Access::SignedIn,
    ),
    (
        "POST",
        "/account/two-step/passkeys/{id}/rename",
        Access::SignedIn,
    ),
    (
        "POST",
        "/account/two-step/passkeys/{id}/remove",
        Access::SignedIn,
    ),
    ("GET", "/account/password", Access::SignedIn),
    ("POST", "/account/sessions/{id}/end", Access::SignedIn),
    ("POST", "/account/sessions/end-others", Access::SignedIn),
    ("POST", "/account/password", Access::SignedIn),
    ("GET", "/admin/two-step", Access::Roles(&[Role::Admin])),
    ("POST", "/admin/two-step", Access::Roles(&[Role::Admin])),
    (
        "POST",
        "/admin/users/{id}/second-factor/reset",
        Access::Roles(&[Role::Admin]),
    ),
    ("GET", "/board", Access::Roles(&[Role::Board])),
    ("GET", "/manage", Access::Roles(&[Role::ItManager])),
    ("GET", "/manage/projects", Access::Roles(&[Role::ItManager])),
    (
        "GET",
        "/manage/projects/new",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/projects",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/projects/{project}",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/projects/{project}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/projects/{project}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/projects/{project}/reports/new",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/projects/{project}/reports",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/reports/{report}",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/reports/{report}",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/reports/{report}/correction",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/manage/requests", Access::Roles(&[Role::ItManager])),
    (
        "GET",
        "/manage/requests/new",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/requests",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/requests/{request}",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/requests/{request}",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/board/requests", Access::Roles(&[Role::Board])),
    (
        "GET",
        "/board/requests/{request}",
        Access::Roles(&[Role::Board]),
    ),
    (
        "POST",
        "/board/requests/{request}/vote",
        Access::Roles(&[Role::Board]),
    ),
    (
        "POST",
        "/board/requests/{request}/recuse",
        Access::Roles(&[Role::Board]),
    ),
    (
        "POST",
        "/board/requests/{request}/close",
        Access::Roles(&[Role::Board]),
    ),
    ("GET", "/manage/risks", Access::Roles(&[Role::ItManager])),
    (
        "GET",
        "/manage/risks/new",
        Access::Roles(&[Role::ItManager]),
    ),
    ("POST", "/manage/risks", Access::Roles(&[Role::ItManager])),
    (
        "GET",
        "/manage/risks/{risk}",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/risks/{risk}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/risks/{risk}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/board/risks/{risk}", Access::Roles(&[Role::Board])),
    (
        "POST",
        "/manage/risks/{risk}/actions",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/risks/{risk}/acceptance",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/risks/{risk}/actions/0/done",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/board/risks", Access::Roles(&[Role::Board])),
    (
        "GET",
        "/board/risks/register",
        Access::Roles(&[Role::Board]),
    ),
    ("GET", "/board/risks/as-of", Access::Roles(&[Role::Board])),
    (
        "GET",
        "/manage/risks/as-of",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/board/risks/appetite/1",
        Access::Roles(&[Role::Board]),
    ),
    (
        "GET",
        "/manage/risks/categories",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/risks/categories",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/risks/categories/1",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/manage/policies", Access::Roles(&[Role::ItManager])),
    (
        "GET",
        "/manage/suggest/risks",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/suggest/projects",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/suggest/policies",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/policies/exceptions",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/policies/new",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/policies/{policy}",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/policies/{policy}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies/{policy}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies/{policy}/publish",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies/{policy}/reviewed",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies/{policy}/retire",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies/{policy}/risks",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies/{policy}/risks/{risk}/unlink",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/policies/{policy}/exceptions",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/policies/{policy}/versions/1",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/policies/{policy}/diff",
        Access::Roles(&[Role::ItManager]),
    ),
    // Sends the seeded draft to the board: after the routes that read it as a draft.
    (
        "POST",
        "/manage/policies/{policy}/submit",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/board/policies", Access::Roles(&[Role::Board])),
    (
        "GET",
        "/board/policies/exceptions",
        Access::Roles(&[Role::Board]),
    ),
    (
        "GET",
        "/board/policies/{policy}",
        Access::Roles(&[Role::Board]),
    ),
    (
        "GET",
        "/board/policies/{policy}/versions/1",
        Access::Roles(&[Role::Board]),
    ),
    (
        "GET",
        "/board/policies/{policy}/diff?from=1&to=1",
        Access::Roles(&[Role::Board]),
    ),
    (
        "GET",
        "/compliance",
        Access::Roles(&[Role::Board, Role::ItManager, Role::Auditor]),
    ),
    (
        "GET",
        "/suggest/it-managers",
        Access::Roles(&[Role::Board, Role::ItManager, Role::Auditor]),
    ),
    (
        "GET",
        "/compliance/frameworks/{framework}",
        Access::Roles(&[Role::Board, Role::ItManager, Role::Auditor]),
    ),
    (
        "GET",
        "/compliance/controls",
        Access::Roles(&[Role::Board, Role::ItManager, Role::Auditor]),
    ),
    (
        "GET",
        "/compliance/soa",
        Access::Roles(&[Role::Board, Role::ItManager, Role::Auditor]),
    ),
    (
        "GET",
        "/compliance/controls/{control}",
        Access::Roles(&[Role::Board, Role::ItManager, Role::Auditor]),
    ),
    (
        "GET",
        "/compliance/evidence/{evidence}",
        Access::Roles(&[Role::Board, Role::ItManager, Role::Auditor]),
    ),
    ("GET", "/manage/controls", Access::Roles(&[Role::ItManager])),
    (
        "GET",
        "/manage/controls/new",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/controls",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/controls/{control}",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/controls/{control}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/controls/{control}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/controls/{control}/tests",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/controls/{control}/evidence",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/applicability/1",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/audit/requests", Access::Roles(&[Role::Auditor])),
    (
        "GET",
        "/audit/requests/{request}",
        Access::Roles(&[Role::Auditor]),
    ),
    ("GET", "/audit/risks", Access::Roles(&[Role::Auditor])),
    ("GET", "/audit/risks/as-of", Access::Roles(&[Role::Auditor])),
    (
        "GET",
        "/audit/risks/{risk}",
        Access::Roles(&[Role::Auditor]),
    ),
    ("GET", "/audit/policies", Access::Roles(&[Role::Auditor])),
    (
        "GET",
        "/audit/policies/exceptions",
        Access::Roles(&[Role::Auditor]),
    ),
    (
        "GET",
        "/audit/policies/{policy}",
        Access::Roles(&[Role::Auditor]),
    ),
    (
        "GET",
        "/audit/policies/{policy}/versions/1",
        Access::Roles(&[Role::Auditor]),
    ),
    (
        "GET",
        "/audit/policies/{policy}/diff",
        Access::Roles(&[Role::Auditor]),
    ),
    ("GET", "/audit/projects", Access::Roles(&[Role::Auditor])),
    (
        "GET",
        "/audit/projects/{project}",
        Access::Roles(&[Role::Auditor]),
    ),
    (
        "GET",
        "/audit/reports/{report}",
        Access::Roles(&[Role::Auditor]),
    ),
    ("GET", "/audit/exports", Access::Roles(&[Role::Auditor])),
    ("GET", "/audit/controls", Access::Roles(&[Role::Auditor])),
    (
        "GET",
        "/audit/controls/{control}",
        Access::Roles(&[Role::Auditor]),
    ),
    (
        "POST",
        "/audit/exports/{export}",
        Access::Roles(&[Role::Auditor]),
    ),
    ("GET", "/admin/frameworks", Access::Roles(&[Role::Admin])),
    ("POST", "/admin/frameworks", Access::Roles(&[Role::Admin])),
    ("GET", "/inbox", Access::SignedIn),
    ("GET", "/decisions", Access::SignedIn),
    ("GET", "/decisions/{decision}", Access::SignedIn),
    ("GET", "/policies", Access::SignedIn),
    ("GET", "/policies/{policy}", Access::SignedIn),
    ("GET", "/board/budget", Access::Roles(&[Role::Board])),
    (
        "POST",
        "/board/budget/{year}",
        Access::Roles(&[Role::Board]),
    ),
    (
        "GET",
        "/manage/decisions/{mdecision}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/decisions/{mdecision}/edit",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/decisions/{mdecision}/status",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "GET",
        "/manage/decisions/new",
        Access::Roles(&[Role::ItManager]),
    ),
    (
        "POST",
        "/manage/decisions",
        Access::Roles(&[Role::ItManager]),
    ),
    // Last of the management routes: it withdraws the request.
    (
        "POST",
        "/manage/requests/{request}/withdraw",
        Access::Roles(&[Role::ItManager]),
    ),
    ("GET", "/board/portfolio", Access::Roles(&[Role::Board])),
    ("GET", "/board/projects", Access::Roles(&[Role::Board])),
    (
        "GET",
        "/board/projects/{project}",
        Access::Roles(&[Role::Board]),
    ),
    (
        "GET",
        "/board/reports/{report}",
        Access::Roles(&[Role::Board]),
    ),
    ("GET", "/board/objectives", Access::Roles(&[Role::Board])),
    ("POST", "/board/objectives", Access::Roles(&[Role::Board])),
    (
        "GET",
        "/board/objectives/{objective}",
        Access::Roles(&[Role::Board]),
    ),
    (
        "POST",
        "/board/objectives/{objective}",
        Access::Roles(&[Role::Board]),
    ),
    ("GET", "/audit", Access::Roles(&[Role::Auditor])),
    ("GET", "/audit/events", Access::Roles(&[Role::Auditor])),
    ("GET", "/audit/verify", Access::Roles(&[Role::Auditor])),
    ("GET", "/admin", Access::Roles(&[Role::Admin])),
    ("GET", "/admin/users/new", Access::Roles(&[Role::Admin])),
    ("POST", "/admin/users", Access::Roles(&[Role::Admin])),
    ("GET", "/admin/users/{id}", Access::Roles(&[Role::Admin])),
    ("POST", "/admin/users/{id}", Access::Roles(&[Role::Admin])),
    (
        "POST",
        "/admin/users/{id}/access",
        Access::Roles(&[Role::Admin]),
    ),
    (
        "POST",
        "/admin/users/{id}/password",
        Access::Roles(&[Role::Admin]),
    ),
    (
        "POST",
        "/admin/users/{id}/sso-only",
        Access::Roles(&[Role::Admin]),
    ),
    // Late: a failed sign-in must not disturb the rows before it.
    ("POST", "/login", Access::Public),
    // Last: it ends the session.
    ("POST", "/logout", Access::SignedIn),
];

async fn request(client: &TestClient, method: &str, path: &str) -> reqwest::Response {
    match method {
        // Empty forms: allowed visitors get a validation answer, never a change.
        "POST" => {
            client
                .post_form(path, &[("version", "0"), ("active", "false")])
                .await
        }
        _ => client.get(path).await,
    }
}

fn check(
    who: &str,
    method: &str,
    path: &str,
    access: Access,
    roles: Option<&[Role]>,
    response: &reqwest::Response,
) {
    let status = response.status();
    let context = format!(
        "{method} {path} as {who}: {status} {}",
        location(response.headers())
    );
    let allowed = match (access, roles) {
        (Access::Public, _) => true,
        (Access::Token, _) => {
            assert_eq!(status, StatusCode::NOT_FOUND, "{context}");
            return;
        }
        (Access::SecondStep, _) => {
            assert_eq!(status, StatusCode::SEE_OTHER, "{context}");
            return;
        }
        (Access::ProviderAnswer, _) => {
            // (Or 429, once the test's one address has failed there often enough.)
            assert!(
                status == StatusCode::UNPROCESSABLE_ENTITY
                    || status == StatusCode::TOO_MANY_REQUESTS,
                "{context}"
            );
            return;
        }
        (_, None) => {
            // Anonymous: sent to sign in, and brought back afterwards.
            assert_eq!(status, StatusCode::SEE_OTHER, "{context}");
            assert!(
                location(response.headers()).starts_with("/login"),
                "{context}"
            );
            return;
        }
        (Access::SignedIn, Some(_)) => true,
        (Access::Roles(needed), Some(held)) => needed.iter().any(|role| held.contains(role)),
    };
    if allowed {
        assert!(
            status != StatusCode::FORBIDDEN
                && !status.is_server_error()
                && !location(response.headers()).starts_with("/login?next="),
            "{context}: should be allowed"
        );
        if Method::GET.as_str() == method {
            assert!(
                status == StatusCode::OK || status == StatusCode::SEE_OTHER,
                "{context}"
            );
        }
    } else {
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{context}: should be refused"
        );
    }
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_table_says() {
    let app = TestApp::spawn().await;
    let target = app
        .create_user("target@example.com", &[Role::Auditor])
        .await;
    let mut visitors: Vec<(String, Option<Vec<Role>>)> = vec![("anonymous".to_owned(), None)];
    for role in Role::ALL {
        visitors.push((role.as_str().to_owned(), Some(vec![role])));
    }
    visitors.push(("nobody".to_owned(), Some(vec![])));
    let mut clients = Vec::new();
    for (who, roles) in &visitors {
        clients.push(match roles {
            Some(roles) => app.signed_in(&format!("{who}@example.com"), roles).await,
            None => app.client(),
        });
    }
    let manager_id = app.user_id("it_manager@example.com").await;
    let seeded = app
        .seed_project(manager_id, app.user_id("board@example.com").await)
        .await;
    let report = app.seed_report(seeded.project_id, manager_id).await;
    let risk: i64 = sqlx::query_scalar(
        "INSERT INTO risks (reference, title, category_id, owner_id, likelihood, impact,
                            residual_likelihood, residual_impact, treatment, next_review_date)
         SELECT 'RSK-0001', 'Seeded risk', min(c.id), $1, 3, 3, 2, 2, 'accept', current_date
         FROM risk_categories c RETURNING id",
    )
    .bind(manager_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let policy: i64 = sqlx::query_scalar(
        "WITH p AS (INSERT INTO policies (reference, title, owner_id, category, review_interval_months)
                    VALUES ('POL-0001', 'Seeded policy', $1, 'governance', 12) RETURNING id)
         INSERT INTO policy_versions (policy_id, number, title, scope, body, content_hash, created_by,
                                      status)
         SELECT id, 1, 'Seeded policy', 'Everyone', 'Text.', 'hash', $1, 'published' FROM p
         RETURNING policy_id",
    )
    .bind(manager_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE policies SET published_version_id = (SELECT id FROM policy_versions)")
        .execute(&app.pool)
        .await
        .unwrap();
    let control: i64 = sqlx::query_scalar(
        "INSERT INTO controls (reference, title, owner_id, frequency) VALUES ('CTL-0001', 'Seeded', $1, 'annual')
         RETURNING id",
    )
    .bind(manager_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO control_status_history (control_id, implementation, changed_by) VALUES ($1, 'not_started', $2)")
        .bind(control)
        .bind(manager_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let evidence: i64 = sqlx::query_scalar(
        "INSERT INTO evidence (control_id, title, original_name, content_type, size_bytes, sha256,
                               about_date, uploaded_by, content)
         VALUES ($1, 'Seeded', 'seeded.txt', 'text/plain', 4, repeat('0', 64), current_date, $2, 'text')
         RETURNING id",
    )
    .bind(control)
    .bind(manager_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let open_request = app.seed_request(seeded.project_id, manager_id, 10).await;
    // A closed request with its resolution, for the decision page.
    let decided = app.seed_request(seeded.project_id, manager_id, 0).await;
    sqlx::query("UPDATE users SET is_chair = true WHERE email = 'board@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    let chair = app.client();
    chair
        .login("board@example.com", crate::helpers::PASSWORD)
        .await;
    chair
        .post_form(&format!("/board/requests/{decided}/close"), &[])
        .await;
    let decision: i64 = sqlx::query_scalar("SELECT id FROM decisions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let management_decision: i64 = sqlx::query_scalar(
        "INSERT INTO decisions (reference, kind, question, context, options, decision,
                                consequences, status, author_id)
         VALUES ('DEC-2000-0001', 'management', 'Seeded', 'Context.', 'Options.', 'Decision.',
                 'Consequences.', 'proposed', $1)
         RETURNING id",
    )
    .bind(manager_id)
    .fetch_one(&app.pool)
    .await
    .unwrap();

    for ((who, roles), client) in visitors.iter().zip(&clients) {
        for (method, path, access) in ROUTES {
            let path = path
                .replace("{id}", &target.to_string())
                .replace("{project}", &seeded.project_id.to_string())
                .replace("{report}", &report.to_string())
                .replace("{objective}", &seeded.objective_id.to_string())
                .replace("{request}", &open_request.to_string())
                .replace("{decision}", &decision.to_string())
                .replace("{risk}", &risk.to_string())
                .replace("{policy}", &policy.to_string())
                .replace("{control}", &control.to_string())
                .replace("{evidence}", &evidence.to_string())
                .replace("{mdecision}", &management_decision.to_string())
                .replace("{framework}", "iso27001_2022")
                .replace("{export}", "decisions")
                .replace("{asset}", "quorum.css")
                .replace("{year}", &quorum::common::dates::today().year().to_string());
            let response = request(client, method, &path).await;
            check(who, method, &path, *access, roles.as_deref(), &response);
        }
    }

    // The allowed POSTs above were empty or stale: nothing about the target changed.
    let (active, version): (bool, i32) =
        sqlx::query_as("SELECT is_active, version FROM users WHERE id = $1")
            .bind(target)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(active);
    assert_eq!(version, 1);
    let reports: i64 = sqlx::query_scalar("SELECT count(*) FROM status_reports")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(reports, 1, "no report was filed by the empty forms");
}

/// `/board/risks/{risk}/x` and `/board/risks/1/x?a=b` → `/board/risks/{}/x`.
fn path_shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{')
                || (!segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()))
            {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_served_has_its_rows_in_the_table() {
    let app = TestApp::spawn().await;
    // Every role, so that no role check answers before the router does.
    let client = app.signed_in("everyone@example.com", &Role::ALL).await;
    let table: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path, _)| (method.to_string(), path_shape(path)))
        .collect();
    let mut served = std::collections::BTreeSet::new();
    let mut missing = Vec::new();
    for path in quorum::web::routes::paths() {
        let shape = path_shape(&path);
        let concrete = shape.replace("{}", "1");
        // No route answers OPTIONS: the router says which methods the path has.
        let response = client
            .http
            .request(Method::OPTIONS, client.url(&concrete))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        for method in allow.split(',').map(str::trim).filter(|m| *m != "HEAD") {
            let row = (method.to_owned(), shape.clone());
            if !table.contains(&row) {
                missing.push(format!("{method} {path}"));
            }
            served.insert(row);
        }
    }
    assert!(
        missing.is_empty(),
        "routes without a row in the table: {missing:#?}"
    );
    let stale: Vec<_> = table.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "rows for routes nobody serves: {stale:#?}"
    );
}
