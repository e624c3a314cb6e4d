//! The test harness: one PostgreSQL for the whole test binary (an embedded throwaway
//! cluster, or the server `DATABASE_URL` names), a migrated template database, and for
//! each test a fresh database cloned from it with the real server listening on port 0.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use quorum::audit::Actor;
use quorum::auth::password;
use quorum::config::ServerConfig;
use quorum::db::embedded::{Durability, EmbeddedCluster};
use quorum::db::{Database, quote_identifier};
use quorum::startup::Application;
use quorum::users::{self, Role, repo};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, PgPool};

/// The password every test account has.
pub const PASSWORD: &str = "harbour lantern violet";

struct TestServer {
    /// Owner credentials, without a database name.
    owner: PgConnectOptions,
    /// A URL form of `owner`, for the `quorum` binary; `{db}` stands for the database.
    owner_url_template: String,
    template: String,
    cluster: Mutex<Option<EmbeddedCluster>>,
    cluster_dir: Option<PathBuf>,
}

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// Stops the embedded cluster when the test binary exits (statics are never dropped).
extern "C" fn stop_cluster() {
    if let Some(server) = SERVER.get() {
        if let Ok(mut cluster) = server.cluster.lock()
            && let Some(cluster) = cluster.as_mut()
        {
            cluster.stop();
        }
        if let Some(dir) = &server.cluster_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    hex::encode(bytes)
}

fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        // Initialisation is async; every test has its own runtime, so use a thread of ours.
        std::thread::spawn(|| {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(start_server())
        })
        .join()
        .expect("the test database server failed to start")
    })
}

async fn start_server() -> TestServer {
    if std::env::var_os("TEST_LOG").is_some() {
        quorum::telemetry::init(false);
    }
    let (owner, owner_url_template, cluster, cluster_dir) = match std::env::var("DATABASE_URL") {
        Ok(url) => {
            let owner = PgConnectOptions::from_str(&url).expect("DATABASE_URL is not valid");
            let template = replace_database_in_url(&url);
            (owner, template, None, None)
        }
        Err(_) => {
            let dir = tempfile::Builder::new()
                .prefix("quorum-test-")
                .tempdir()
                .unwrap()
                .keep();
            let cluster = EmbeddedCluster::start(&dir, Durability::Throwaway)
                .expect("cannot start the embedded PostgreSQL cluster for the tests");
            let owner = cluster.connect_options("postgres", "postgres");
            let url = format!(
                "postgres://postgres@localhost/{{db}}?host={}",
                cluster.socket_dir().display()
            );
            unsafe extern "C" {
                fn atexit(callback: extern "C" fn()) -> i32;
            }
            // SAFETY: registers a plain function with no arguments, as atexit expects.
            unsafe {
                atexit(stop_cluster);
            }
            (owner, url, Some(cluster), Some(dir))
        }
    };
    let template = format!("quorum_test_template_{}", random_suffix());
    let database = Database::with_logins(
        owner.clone().database(&template),
        app_login(&owner).database(&template),
    );
    database
        .prepare()
        .await
        .expect("cannot migrate the template database");
    // The server logs in as the application role, as in production: give it a password
    // (the embedded cluster trusts its private socket; a server named by DATABASE_URL
    // may not).
    let mut conn = database.owner_connection().await.unwrap();
    conn.execute(format!("ALTER ROLE quorum_app LOGIN PASSWORD '{APP_PASSWORD}'").as_str())
        .await
        .expect("cannot give the application role a password");
    no_second_factor_required(&mut conn).await;
    conn.close().await.ok();
    TestServer {
        owner,
        owner_url_template,
        template,
        cluster: Mutex::new(cluster),
        cluster_dir,
    }
}

/// The password the tests give `quorum_app`.
const APP_PASSWORD: &str = "quorum-test-app-login";

/// The application role's login on the test server.
fn app_login(owner: &PgConnectOptions) -> PgConnectOptions {
    owner.clone().username("quorum_app").password(APP_PASSWORD)
}

/// `postgres://u:p@h:5432/anything?x` → `postgres://u:p@h:5432/{db}?x`
fn replace_database_in_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    format!("{}/{{db}}{query}", &base[..path_start])
}

/// The records pages show (and the read cache keeps): each change to them is audited.
const GOVERNANCE_TABLES: &[&str] = &[
    "objectives",
    "projects",
    "project_budget_changes",
    "status_reports",
    "report_milestones",
    "approval_requests",
    "budget_requests",
    "votes",
    "recusals",
    "decisions",
    "fiscal_years",
    "risk_categories",
    "risks",
    "risk_assessments",
    "risk_actions",
    "risk_acceptances",
    "policies",
    "policy_versions",
    "policy_publications",
    "policy_exceptions",
    "policy_risks",
    "risk_projects",
    "risk_objectives",
    "risk_appetite_history",
    "frameworks",
    "framework_requirements",
    "controls",
    "control_status_history",
    "control_requirements",
    "control_policies",
    "control_risks",
    "control_tests",
    "evidence",
    "applicability",
    "applicability_history",
];

pub struct TestApp {
    pub address: String,
    /// The server's own pool (acting as `quorum_app`).
    pub pool: PgPool,
    pub db_name: String,
    owner: PgConnectOptions,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the server with settings adjusted by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::spawn_until(configure, std::future::pending()).await.0
    }

    /// Starts the server, which stops when `shutdown` completes; the handle ends when it
    /// has stopped.
    pub async fn spawn_until(
        configure: impl FnOnce(&mut ServerConfig),
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> (Self, tokio::task::JoinHandle<std::io::Result<()>>) {
        let server = server();
        let db_name = format!("quorum_test_{}", random_suffix());
        let mut admin = PgConnection::connect_with(&server.owner.clone().database("postgres"))
            .await
            .unwrap();
        admin
            .execute(
                format!(
                    "CREATE DATABASE {} TEMPLATE {}",
                    quote_identifier(&db_name),
                    quote_identifier(&server.template)
                )
                .as_str(),
            )
            .await
            .unwrap();
        admin.close().await.ok();

        let owner = server.owner.clone().database(&db_name);
        let pool =
            Database::with_logins(owner.clone(), app_login(&server.owner).database(&db_name))
                .app_pool()
                .await
                .unwrap();
        let mut config = ServerConfig::with_listen("127.0.0.1:0".parse().unwrap());
        configure(&mut config);
        let app = Application::build(config, pool.clone()).await.unwrap();
        let address = format!("http://{}", app.address());
        let running = tokio::spawn(app.run_until_stopped(shutdown));
        let app = TestApp {
            address,
            pool,
            db_name,
            owner,
        };
        (app, running)
    }

    /// Starts the server on a database of its own (prepared and migrated here), e.g. on
    /// a cluster the test stops and starts.
    pub async fn spawn_on(database: &Database, db_name: &str) -> Self {
        database.prepare().await.unwrap();
        no_second_factor_required(&mut database.owner_connection().await.unwrap()).await;
        let pool = database.app_pool().await.unwrap();
        let config = ServerConfig::with_listen("127.0.0.1:0".parse().unwrap());
        let app = Application::build(config, pool.clone()).await.unwrap();
        let address = format!("http://{}", app.address());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        TestApp {
            address,
            pool,
            db_name: db_name.to_owned(),
            owner: database.owner_options().clone(),
        }
    }

    /// A second Quorum instance on this test's database, as behind a load balancer: its
    /// address (clients reach it with [`TestClient::at`], keeping their cookies).
    pub async fn another_instance(&self) -> String {
        let pool = Database::with_logins(
            self.owner.clone(),
            app_login(&server().owner).database(&self.db_name),
        )
        .app_pool()
        .await
        .unwrap();
        let config = ServerConfig::with_listen("127.0.0.1:0".parse().unwrap());
        let app = Application::build(config, pool).await.unwrap();
        let address = format!("http://{}", app.address());
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        address
    }

    /// A connection as the database owner (a superuser on the embedded cluster), for
    /// looking behind the application's back.
    pub async fn owner_connection(&self) -> PgConnection {
        PgConnection::connect_with(&self.owner).await.unwrap()
    }

    /// A URL for this test's database with owner credentials, for the `quorum` binary.
    pub fn owner_url(&self) -> String {
        server().owner_url_template.replace("{db}", &self.db_name)
    }

    /// A browser: its own cookies, redirects not followed.
    /// A client that says it is the browser `user_agent` names.
    pub fn client_as(&self, user_agent: &str) -> TestClient {
        quorum::startup::install_tls_provider();
        TestClient {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .user_agent(user_agent)
                .build()
                .unwrap(),
            base: self.address.clone(),
        }
    }

    pub fn client(&self) -> TestClient {
        quorum::startup::install_tls_provider();
        TestClient {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: self.address.clone(),
        }
    }

    /// Creates an account with [`PASSWORD`] directly, as `quorum user add` would.
    pub async fn create_user(&self, email: &str, roles: &[Role]) -> i64 {
        let account = repo::NewAccount {
            email: email.to_owned(),
            display_name: format!("Test {}", email.split('@').next().unwrap()),
            password_hash: password::hash(PASSWORD.to_owned()).await.unwrap(),
            roles: roles.to_vec(),
            is_chair: false,
        };
        let mut tx = self.pool.begin().await.unwrap();
        let id = users::create_with_audit(&mut tx, &Actor::system(), None, &account)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A client signed in as a new account holding `roles`.
    pub async fn signed_in(&self, email: &str, roles: &[Role]) -> TestClient {
        self.create_user(email, roles).await;
        let client = self.client();
        let response = client.login(email, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "login of {email} failed"
        );
        client
    }

    /// The actions of the audit trail, in chain order.
    pub async fn audit_actions(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT action FROM audit_events ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }
}

#[derive(Clone)]
pub struct TestClient {
    pub http: reqwest::Client,
    base: String,
}

impl TestClient {
    /// The same browser (its cookies) talking to the instance at `address`.
    pub fn at(&self, address: &str) -> TestClient {
        TestClient {
            http: self.http.clone(),
            base: address.to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// GETs a page: its status and body.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// The session's CSRF token, read from a form as a browser would have it.
    pub async fn csrf_token(&self) -> String {
        // (Someone whose role requires a second factor they lack reaches only its set-up.)
        for path in ["/login", "/account/password", "/account/two-step"] {
            let (status, body) = self.page(path).await;
            if status == StatusCode::OK {
                return extract_csrf_token(&body).expect("the page has no CSRF token");
            }
        }
        panic!("no page with a form was reachable");
    }

    /// Submits a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &token));
        self.post_form_raw(path, &fields).await
    }

    /// Submits a form exactly as given (no token added).
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }

    pub async fn logout(&self) -> reqwest::Response {
        self.post_form("/logout", &[]).await
    }
}

pub fn extract_csrf_token(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

pub fn location(headers: &HeaderMap) -> String {
    headers
        .get(LOCATION)
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Asserts a 303 redirect to `path`.
pub fn assert_redirects_to(response: &reqwest::Response, path: &str) {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "expected a redirect to {path}"
    );
    assert_eq!(location(response.headers()), path);
}

/// A portfolio to work on: an objective and an approved project (budget 100,000.00)
/// managed by `manager_id`, approved by `board_id`, started 60 days ago, reporting monthly.
pub struct SeededProject {
    pub objective_id: i64,
    pub project_id: i64,
}

impl TestApp {
    /// Records a test's own event in the audit trail, in `tx`. Every change Quorum makes
    /// appends to the trail, and the read cache (`web::read_cache`) keeps pages' figures
    /// until it moves: a test that writes records in SQL behind Quorum's back says so here,
    /// or its next page may show the figures kept from before.
    pub async fn mark_changed(&self, tx: &mut PgConnection) {
        quorum::audit::record(
            tx,
            &Actor::system(),
            None,
            quorum::audit::Entry::new("test.records_rewritten", "test", None),
        )
        .await
        .unwrap();
    }

    /// Runs `sql` on the records (dates moved into the past stand for days passing) and
    /// marks the change ([`Self::mark_changed`]).
    pub async fn rewrite(&self, sql: &str) {
        let mut tx = self.pool.begin().await.unwrap();
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
        self.mark_changed(&mut tx).await;
        tx.commit().await.unwrap();
    }

    /// From now on, a transaction that changes a governance record (what pages show and the
    /// read cache keeps) without appending to the audit chain fails at its commit: the
    /// guard of the cache's rule, for a test that goes through many forms.
    pub async fn require_audited_changes(&self) {
        let mut owner = self.owner_connection().await;
        sqlx::raw_sql(
            r#"CREATE FUNCTION test_chain_moved() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 PERFORM set_config('quorum_test.chain_moved', 'yes', true);
                 RETURN NULL;
               END $$;
               CREATE TRIGGER test_chain_moved AFTER UPDATE ON audit_chain_head
                 FOR EACH ROW EXECUTE FUNCTION test_chain_moved();
               CREATE FUNCTION test_change_audited() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 IF current_setting('quorum_test.chain_moved', true) IS DISTINCT FROM 'yes' THEN
                   RAISE EXCEPTION '% of % without an audit event in its transaction',
                     TG_OP, TG_TABLE_NAME;
                 END IF;
                 RETURN NULL;
               END $$;"#,
        )
        .execute(&mut owner)
        .await
        .unwrap();
        for table in GOVERNANCE_TABLES {
            sqlx::raw_sql(&format!(
                "CREATE CONSTRAINT TRIGGER test_change_audited
                   AFTER INSERT OR UPDATE OR DELETE ON {table}
                   DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
                   EXECUTE FUNCTION test_change_audited()"
            ))
            .execute(&mut owner)
            .await
            .unwrap();
        }
    }

    pub async fn user_id(&self, email: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub async fn seed_project(&self, manager_id: i64, board_id: i64) -> SeededProject {
        use quorum::projects::model::{Cadence, Phase};
        use quorum::projects::repo::{self, ProjectFields};
        let today = quorum::common::dates::today();
        let mut tx = self.pool.begin().await.unwrap();
        let objective = repo::create_objective(&mut tx, "Resilient operations", "")
            .await
            .unwrap();
        let fields = ProjectFields {
            name: "Seeded project".to_owned(),
            description: String::new(),
            sponsor: "COO".to_owned(),
            manager_id,
            objective_id: objective.id,
            start_date: today - time::Duration::days(60),
            planned_end_date: today + time::Duration::days(300),
            reporting_cadence: Cadence::Monthly,
            phase: Phase::Proposed,
        };
        let project_id = repo::create_project(&mut tx, &fields).await.unwrap();
        assert!(
            repo::set_budget(&mut tx, project_id, 1, 10_000_000, "seed", board_id)
                .await
                .unwrap()
        );
        self.mark_changed(&mut tx).await;
        tx.commit().await.unwrap();
        SeededProject {
            objective_id: objective.id,
            project_id,
        }
    }

    /// A submitted report for the last completed month, green, 40 % done.
    pub async fn seed_report(&self, project_id: i64, manager_id: i64) -> i64 {
        use quorum::projects::model::{Cadence, Period, Rag};
        use quorum::projects::repo::{self, ReportFields};
        let period = Period::containing(Cadence::Monthly, quorum::common::dates::today())
            .previous(Cadence::Monthly);
        let fields = ReportFields {
            period_start: period.start,
            period_end: period.end,
            overall_rag: Rag::Green,
            schedule_rag: Rag::Green,
            budget_rag: Rag::Green,
            scope_rag: Rag::Green,
            rag_explanation: String::new(),
            percent_complete: 40,
            spend_to_date: 3_000_000,
            forecast_at_completion: 9_500_000,
            highlights: "Seeded highlights".to_owned(),
            issues: String::new(),
            decisions_needed: String::new(),
            next_steps: String::new(),
            milestones: vec![],
        };
        let mut tx = self.pool.begin().await.unwrap();
        let id = repo::create_report(&mut tx, project_id, manager_id, &fields, None)
            .await
            .unwrap();
        assert!(repo::submit(&mut tx, id, 1).await.unwrap());
        self.mark_changed(&mut tx).await;
        tx.commit().await.unwrap();
        id
    }
}

impl TestApp {
    /// An open budget request for `project_id`, filed by `requester_id` (through the
    /// engine, as the pages do), due in `due_in_days` days.
    pub async fn seed_request(&self, project_id: i64, requester_id: i64, due_in_days: i64) -> i64 {
        use quorum::approvals::filing::{self, Filing, Heading};
        use quorum::approvals::model::{Rule, SpendType};
        use quorum::approvals::subject::{Budget, Subject};
        let today = quorum::common::dates::today();
        let filing = Filing {
            heading: Heading {
                title: "Second migration wave".to_owned(),
                summary: "Move the remaining systems.".to_owned(),
                due_date: today + time::Duration::days(due_in_days),
                hide_tally: false,
            },
            project_id: Some(project_id),
            subject: Subject::Budget(Budget {
                project_id,
                amount: 5_000_000,
                spend_type: SpendType::Capex,
                fiscal_year: today.year(),
                benefits: "Lower run costs.".to_owned(),
                costs: "50,000 once.".to_owned(),
                risks: String::new(),
                alternatives: String::new(),
            }),
            rule: Rule {
                quorum_percent: 50,
                majority_percent: 50,
            },
            submit: true,
        };
        let mut tx = self.pool.begin().await.unwrap();
        let requester = self.current_user(&mut tx, requester_id).await;
        let audit = quorum::audit::Context::new(Actor::user(&requester), None);
        let filed = filing::file(&mut tx, &filing, &requester, today, &audit)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        filed.id
    }

    /// The signed-in person `id` as the server sees them.
    pub async fn current_user(&self, conn: &mut PgConnection, id: i64) -> quorum::web::CurrentUser {
        let account = repo::get(conn, id).await.unwrap().unwrap();
        quorum::web::CurrentUser {
            id: account.id,
            email: account.email,
            display_name: account.display_name,
            roles: account.roles,
            is_chair: account.is_chair,
        }
    }
}

/// The voting rule the demo's requests are opened with in the tests.
pub fn demo_rule() -> quorum::approvals::model::Rule {
    quorum::approvals::model::Rule {
        quorum_percent: 50,
        majority_percent: 50,
    }
}

impl TestApp {
    /// Loads the whole demo organisation, as `quorum demo` does.
    pub async fn load_demo(&self) {
        let rule = demo_rule();
        quorum::demo::load(&self.pool, PASSWORD).await.unwrap();
        quorum::demo::portfolio::load(&self.pool).await.unwrap();
        quorum::demo::approvals::load(&self.pool, rule)
            .await
            .unwrap();
        quorum::demo::risks::load(&self.pool, rule).await.unwrap();
        quorum::demo::policies::load(&self.pool, rule)
            .await
            .unwrap();
        quorum::demo::compliance::load(&self.pool).await.unwrap();
    }
}

/// What an authenticator app holding `secret` for `email` shows at `unix_time` (RFC 6238).
pub fn totp_code(secret: &[u8], email: &str, unix_time: u64) -> String {
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret.to_vec(),
        Some("Quorum".to_owned()),
        email.to_owned(),
    )
    .generate(unix_time)
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A new installation requires a second factor of the board and the administrators; the
/// tests sign in with passwords unless they test that requirement (they set it).
async fn no_second_factor_required(conn: &mut PgConnection) {
    conn.execute("UPDATE second_factor_policy SET required = false")
        .await
        .expect("cannot relax the second-factor requirement");
}

/// The value of the first form field named `name` on a page.
pub fn extract_field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}
