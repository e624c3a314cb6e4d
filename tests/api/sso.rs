//! Single sign-on against a real OpenID provider: the certified `oidc-provider` package
//! (tests/oidc/provider.mjs) run with the machine's Node.js on loopback, its development
//! sign-in pages filled in as a person would. Nothing of the provider is imitated.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Once;
use std::time::Duration;

use quorum::auth::sso::{ProviderConfig, RoleGroups};
use quorum::config::ServerConfig;
use quorum::users::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{PASSWORD, TestApp, TestClient, assert_redirects_to, location};

const CLIENT_ID: &str = "quorum";
const CLIENT_SECRET: &str = "a-secret-only-these-tests-know";

fn provider_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// `oidc-provider`, from tests/oidc/package-lock.json (npm's registry), once per run.
fn install_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let dir = provider_dir();
        if dir.join("node_modules/oidc-provider").exists() {
            return;
        }
        let installed = (0..3).any(|attempt| {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(5));
            }
            std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm runs (the single sign-on tests need Node.js: .ci/run installs it)")
                .success()
        });
        assert!(installed, "npm ci in tests/oidc failed three times");
    });
}

/// The provider's process: stopped when dropped.
struct Provider {
    issuer: String,
    _process: Child,
}

/// A port nobody listens on now (the provider's address must be known before Quorum
/// starts, and Quorum's before the provider does).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The provider on `port`, known to Quorum as `issuer`.
async fn start_provider(port: u16, issuer: &str, app: &TestApp, accounts: Value) -> Provider {
    tokio::task::spawn_blocking(install_provider).await.unwrap();
    let clients = json!([{
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [format!("{}/login/sso/corp/callback", app.address)],
        "post_logout_redirect_uris": [format!("{}/login", app.address)],
    }]);
    let mut process = Command::new("node")
        .arg("provider.mjs")
        .current_dir(provider_dir())
        .env("OIDC_PORT", port.to_string())
        .env("OIDC_ISSUER", issuer)
        .env("OIDC_CLIENTS", clients.to_string())
        .env("OIDC_ACCOUNTS", accounts.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "listening" {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "the OpenID provider did not start");
    // Its later notices are read and dropped: a closed pipe would stop it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Provider {
        issuer: issuer.to_owned(),
        _process: process,
    }
}

fn corp(issuer: &str) -> ProviderConfig {
    ProviderConfig {
        id: "corp".to_owned(),
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: CLIENT_SECRET.to_owned(),
        label: "Sign in with Corp".to_owned(),
    }
}

/// Quorum with the provider `corp`, and the provider with `accounts` (login name ->
/// claims).
async fn quorum_and_provider(
    accounts: Value,
    configure: impl FnOnce(&mut ServerConfig),
) -> (TestApp, Provider) {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(|config| {
        config.sso_providers = vec![corp(&issuer)];
        configure(config);
    })
    .await;
    let provider = start_provider(port, &issuer, &app, accounts).await;
    (app, provider)
}

/// What the man in the middle changes.
#[derive(Clone, Copy)]
enum Tamper {
    /// The signature of every ID token the token endpoint hands out.
    Signature,
    /// The issuer the discovery document names: the proxy's own address, so that the
    /// provider's tokens come from an issuer Quorum was not configured with.
    Issuer,
}

/// A man in the middle between Quorum (and the browser) and the provider on
/// `provider_port`: it passes everything on, changing what `tamper` says.
async fn tampering_proxy(listener: tokio::net::TcpListener, provider_port: u16, tamper: Tamper) {
    let own_address = format!("http://{}", listener.local_addr().unwrap());
    let forward = move |request: axum::extract::Request| {
        let own_address = own_address.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
            let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let response = client
                .request(
                    parts.method.clone(),
                    format!("http://127.0.0.1:{provider_port}{path}"),
                )
                .headers(parts.headers.clone())
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let mut bytes = response.bytes().await.unwrap().to_vec();
            if matches!(tamper, Tamper::Issuer)
                && parts.uri.path() == "/.well-known/openid-configuration"
            {
                let mut metadata: Value = serde_json::from_slice(&bytes).unwrap();
                metadata["issuer"] = Value::String(own_address);
                bytes = serde_json::to_vec(&metadata).unwrap();
            }
            if matches!(tamper, Tamper::Signature) && parts.uri.path() == "/token" {
                let mut tokens: Value = serde_json::from_slice(&bytes).unwrap();
                if let Some(id_token) = tokens["id_token"].as_str() {
                    let mut segments: Vec<String> =
                        id_token.split('.').map(str::to_owned).collect();
                    let spoiled = if segments[2].starts_with('A') {
                        "B"
                    } else {
                        "A"
                    };
                    segments[2].replace_range(0..1, spoiled);
                    tokens["id_token"] = Value::String(segments.join("."));
                }
                bytes = serde_json::to_vec(&tokens).unwrap();
            }
            let mut answer = axum::http::Response::builder().status(status);
            for (name, value) in &headers {
                if name != "content-length" && name != "transfer-encoding" {
                    answer = answer.header(name, value);
                }
            }
            answer.body(axum::body::Body::from(bytes)).unwrap()
        }
    };
    axum::serve(listener, axum::Router::new().fallback(forward))
        .await
        .unwrap();
}

/// The fields of the first form on a provider's page, and where it posts.
fn first_form(html: &str) -> (String, Vec<(String, String)>) {
    let document = scraper::Html::parse_document(html);
    let form = document
        .select(&scraper::Selector::parse("form").unwrap())
        .next()
        .unwrap_or_else(|| panic!("no form on the provider's page: {html}"));
    let action = form.value().attr("action").unwrap().to_owned();
    let fields = form
        .select(&scraper::Selector::parse("input[name]").unwrap())
        .map(|input| {
            let value = input.value();
            (
                value.attr("name").unwrap().to_owned(),
                value.attr("value").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (action, fields)
}

/// Starts single sign-on from Quorum's sign-in page and signs in at the provider as
/// `login` (its pages filled in and sent, redirects followed): the address the provider
/// sends the browser back to Quorum with.
async fn sign_in_at_provider(app: &TestApp, client: &TestClient, login: &str) -> String {
    let response = client
        .post_form("/login/sso/corp", &[("next", "/account")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut address = location(response.headers());
    assert!(address.contains("code_challenge="), "PKCE: {address}");
    assert!(address.contains("nonce="), "{address}");
    for _ in 0..20 {
        if address.starts_with(&app.address) {
            return address;
        }
        let response = client.http.get(&address).send().await.unwrap();
        let base = reqwest::Url::parse(&address).unwrap();
        if response.status().is_redirection() {
            address = base
                .join(&location(response.headers()))
                .unwrap()
                .to_string();
            continue;
        }
        let page = response.text().await.unwrap();
        let (action, fields) = first_form(&page);
        let fields: HashMap<String, String> = fields
            .into_iter()
            .map(|(name, value)| match name.as_str() {
                "login" => (name, login.to_owned()),
                "password" => (name, "anything".to_owned()),
                _ => (name, value),
            })
            .collect();
        let response = client
            .http
            .post(base.join(&action).unwrap())
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_redirection(), "{}", response.status());
        address = base
            .join(&location(response.headers()))
            .unwrap()
            .to_string();
    }
    panic!("the provider never sent the browser back to Quorum");
}

/// The callback address with `name` set to `value`.
fn with_param(address: &str, name: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(address).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, old)| {
            let new = if key == name {
                value.to_owned()
            } else {
                old.into_owned()
            };
            (key.into_owned(), new)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn param(address: &str, name: &str) -> String {
    reqwest::Url::parse(address)
        .unwrap()
        .query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
        .unwrap()
}

async fn failure_reasons(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT after ->> 'reason' FROM audit_events
         WHERE action = 'auth.login_failed' AND after ->> 'method' = 'sso' ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_account_signs_in_through_the_provider_by_its_verified_email() {
    let accounts = json!({
        "alice": { "email": "Board@Example.com", "email_verified": true, "name": "Alice" },
    });
    let (app, provider) = quorum_and_provider(accounts, |_| {}).await;
    app.create_user("board@example.com", &[Role::Board]).await;
    let client = app.client();
    let (_, page) = client.page("/login").await;
    assert!(page.contains("Sign in with Corp"), "{page}");

    let back = sign_in_at_provider(&app, &client, "alice").await;
    let response = client.http.get(&back).send().await.unwrap();
    assert_redirects_to(&response, "/account");
    let (status, page) = client.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Single sign-on"), "{page}");
    let method: String = sqlx::query_scalar(
        "SELECT after ->> 'method' FROM audit_events WHERE action = 'auth.login' ORDER BY seq DESC LIMIT 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(method, "sso");

    // Signing out offers the provider's own sign-out.
    let response = client.post_form("/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Sign out of your organisation"), "{page}");
    let end_session = format!("{}/session/end?client_id={CLIENT_ID}", provider.issuer);
    assert!(page.contains(&end_session), "{page}");
    assert!(page.contains("post_logout_redirect_uri"), "{page}");
    assert_eq!(client.page("/account").await.0, StatusCode::SEE_OTHER);

    // The same answer again is refused: its sign-in was taken.
    let response = client.http.get(&back).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn wrong_state_replayed_code_unverified_or_unknown_email_and_unknown_provider_are_refused() {
    let accounts = json!({
        "alice": { "email": "board@example.com", "email_verified": true },
        "mallory": { "email": "board@example.com", "email_verified": false },
        "stranger": { "email": "nobody@example.com", "email_verified": true },
    });
    let (app, _provider) = quorum_and_provider(accounts, |_| {}).await;
    app.create_user("board@example.com", &[Role::Board]).await;

    // A callback whose state is not the one Quorum sent (a forged callback).
    let client = app.client();
    let back = sign_in_at_provider(&app, &client, "alice").await;
    let forged = with_param(&back, "state", "forged");
    let response = client.http.get(&forged).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Single sign-on did not sign you in"),
        "{page}"
    );

    // A code used once, sent again with a fresh sign-in's state.
    let client = app.client();
    let back = sign_in_at_provider(&app, &client, "alice").await;
    let response = client.http.get(&back).send().await.unwrap();
    assert_redirects_to(&response, "/account");
    let replaying = app.client();
    let fresh = sign_in_at_provider(&app, &replaying, "alice").await;
    let replayed = with_param(&back, "state", &param(&fresh, "state"));
    let response = replaying.http.get(&replayed).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // An e-mail address the provider has not verified, and one Quorum does not know.
    let client = app.client();
    let back = sign_in_at_provider(&app, &client, "mallory").await;
    let response = client.http.get(&back).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("has not verified your e-mail address"),
        "{page}"
    );
    let client = app.client();
    let back = sign_in_at_provider(&app, &client, "stranger").await;
    let response = client.http.get(&back).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("There is no Quorum account for nobody@example.com"),
        "{page}"
    );
    let created: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE email = 'nobody@example.com'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(created, 0, "no account is made unless the option is on");

    // A provider Quorum does not know.
    let response = client
        .get("/login/sso/elsewhere/callback?code=abc&state=def")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // ...named with a NUL byte (nothing of the address reaches the database).
    let hostile = app.client();
    let response = hostile
        .get("/login/sso/%00x/callback?code=abc&state=def")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let reasons = failure_reasons(&app).await;
    assert_eq!(reasons.len(), 6, "{reasons:?}");
    assert_eq!(reasons[5], "unknown provider");
    // A provider's error words with control bytes (no sign-in under way: refused).
    let response = hostile
        .get("/login/sso/corp/callback?state=%00&error=%00%01&error_description=%00")
        .await;
    assert!(
        !response.status().is_server_error(),
        "{}",
        response.status()
    );

    assert_eq!(reasons[0], "wrong state");
    assert!(reasons[1].starts_with("code exchange"), "{reasons:?}");
    assert_eq!(reasons[2], "e-mail address not verified");
    assert_eq!(reasons[3], "no account for this e-mail address");
    assert_eq!(reasons[4], "unknown provider");

    // Failures from one address are throttled like passwords.
    for _ in 0..20 {
        client
            .get("/login/sso/corp/callback?code=abc&state=def")
            .await;
    }
    let response = client
        .get("/login/sso/corp/callback?code=abc&state=def")
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

/// A sign-in whose ID token a man in the middle spoiled as `tamper` says: refused (422),
/// nobody signed in, and the one recorded reason is about the ID token; it is returned.
async fn refused_tampered_id_token(tamper: Tamper) -> String {
    // Quorum knows the provider by the proxy's address.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let configured = format!("http://{}", proxy.local_addr().unwrap());
    let app = TestApp::spawn_with(|config| config.sso_providers = vec![corp(&configured)]).await;
    let port = free_port();
    let accounts = json!({ "alice": { "email": "board@example.com", "email_verified": true } });
    // With a spoiled issuer, the provider's tokens name its own address, not the proxy's.
    let issuer = match tamper {
        Tamper::Signature => configured.clone(),
        Tamper::Issuer => format!("http://127.0.0.1:{port}"),
    };
    let _provider = start_provider(port, &issuer, &app, accounts).await;
    tokio::spawn(tampering_proxy(proxy, port, tamper));
    app.create_user("board@example.com", &[Role::Board]).await;

    let client = app.client();
    let back = sign_in_at_provider(&app, &client, "alice").await;
    let response = client.http.get(&back).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(client.page("/account").await.0, StatusCode::SEE_OTHER);
    let mut reasons = failure_reasons(&app).await;
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = reasons.remove(0);
    assert!(reason.starts_with("ID token"), "{reason}");
    reason.to_lowercase()
}

#[tokio::test]
async fn an_id_token_whose_signature_does_not_check_out_is_refused() {
    let reason = refused_tampered_id_token(Tamper::Signature).await;
    assert!(reason.contains("signature"), "{reason}");
}

#[tokio::test]
async fn an_id_token_from_another_issuer_is_refused() {
    let reason = refused_tampered_id_token(Tamper::Issuer).await;
    assert!(reason.contains("issuer"), "{reason}");
}

#[tokio::test]
async fn an_account_set_to_single_sign_on_only_refuses_its_password() {
    let accounts = json!({ "alice": { "email": "board@example.com", "email_verified": true } });
    let (app, _provider) = quorum_and_provider(accounts, |_| {}).await;
    let id = app.create_user("board@example.com", &[Role::Board]).await;
    let admin = app.signed_in("admin@example.com", &[Role::Admin]).await;
    let response = admin
        .post_form(
            &format!("/admin/users/{id}/sso-only"),
            &[("sso_only", "on")],
        )
        .await;
    assert_redirects_to(&response, &format!("/admin/users/{id}"));
    assert!(
        app.audit_actions()
            .await
            .contains(&"user.sso_only_changed".to_owned())
    );

    let client = app.client();
    let response = client.login("board@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("signs in with single sign-on only"), "{page}");
    // A wrong password gets the usual answer: nothing is told about the account.
    let response = client.login("board@example.com", "wrong").await;
    let page = response.text().await.unwrap();
    assert!(!page.contains("single sign-on only"), "{page}");

    let back = sign_in_at_provider(&app, &client, "alice").await;
    let response = client.http.get(&back).send().await.unwrap();
    assert_redirects_to(&response, "/account");
}

#[tokio::test]
async fn a_first_sign_in_creates_the_account_with_mapped_roles_when_configured() {
    let accounts = json!({
        "carol": {
            "email": "carol@example.com", "email_verified": true, "name": "Carol Danvers",
            "groups": ["quorum-board", "staff"],
        },
    });
    let (app, _provider) = quorum_and_provider(accounts, |config| {
        config.sso_create_accounts = true;
        config.sso_role_groups =
            Some(RoleGroups::parse("board=quorum-board,admin=it-admins").unwrap());
    })
    .await;
    let client = app.client();
    let back = sign_in_at_provider(&app, &client, "carol").await;
    let response = client.http.get(&back).send().await.unwrap();
    assert_redirects_to(&response, "/account");
    let (name, sso_only): (String, bool) = sqlx::query_as(
        "SELECT display_name, sso_only FROM users WHERE email = 'carol@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(name, "Carol Danvers");
    assert!(sso_only);
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT role FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE u.email = 'carol@example.com'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(roles, vec!["board".to_owned()]);
    assert_eq!(client.page("/board").await.0, StatusCode::OK);
}

#[test]
fn provider_and_role_mapping_settings_are_read_strictly() {
    let provider = ProviderConfig::parse(
        "id=corp, issuer=https://login.example.org, client-id=q, client-secret=s, label=Sign in, with Corp",
    )
    .unwrap();
    assert_eq!(provider.label, "Sign in, with Corp");
    assert_eq!(provider.issuer, "https://login.example.org");
    assert!(ProviderConfig::parse("id=corp,issuer=https://x.org,client-id=q").is_err());
    assert!(
        ProviderConfig::parse("id=c/p,issuer=https://x.org,client-id=q,client-secret=s").is_err()
    );
    assert!(ProviderConfig::parse("id=corp,issuer=not a url,client-id=q,client-secret=s").is_err());
    assert!(RoleGroups::parse("chair=board").is_err());
    let mapping = RoleGroups::parse("board=b, admin=a").unwrap();
    assert_eq!(
        mapping.roles_of(&["a".to_owned(), "x".to_owned()]),
        vec![Role::Admin]
    );
}
