//! The route-by-role table: every route, the roles allowed on it, and what each kind of
//! visitor gets (the page, a 403, or for the anonymous a redirect to the sign-in page).

use quorum::users::Role;
use reqwest::{Method, StatusCode};

use crate::helpers::{TestApp, TestClient, location};

#[derive(Clone, Copy, Debug)]
enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in person, whatever their roles.
    SignedIn,
    /// Only these roles.
    Roles(&'static [Role]),
}

/// `{id}` in a path is replaced by an existing account's id.
const ROUTES: &[(&str, &str, Access)] = &[
    ("GET", "/login", Access::Public),
    ("GET", "/healthz", Access::Public),
    ("GET", "/readyz", Access::Public),
    ("GET", "/favicon.ico", Access::Public),
    ("GET", "/static/quorum.css", Access::Public),
    ("GET", "/", Access::SignedIn),
    ("GET", "/account/password", Access::SignedIn),
    ("POST", "/account/password", Access::SignedIn),
    ("GET", "/board", Access::Roles(&[Role::Board])),
    ("GET", "/manage", Access::Roles(&[Role::ItManager])),
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
    visitors.push(("nobody (no role)".to_owned(), Some(vec![])));

    for (who, roles) in &visitors {
        let client = match roles {
            Some(roles) => {
                app.signed_in(
                    &format!(
                        "{}@example.com",
                        who.replace(' ', "-").replace(['(', ')'], "")
                    ),
                    roles,
                )
                .await
            }
            None => app.client(),
        };
        for (method, path, access) in ROUTES {
            let path = path.replace("{id}", &target.to_string());
            let response = request(&client, method, &path).await;
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
}
