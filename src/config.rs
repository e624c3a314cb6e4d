//! Configuration, from flags and `QUORUM_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::auth::sso::{ProviderConfig, RoleGroups};

/// Where the data lives: shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// PostgreSQL server to use (owner credentials: migrations run with them). Without it,
    /// Quorum runs an embedded PostgreSQL cluster of its own in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Connection URL for the server's own connections, as the role `quorum_app` that
    /// cannot change the audit trail. Needed with `DATABASE_URL` to run the server.
    #[arg(
        long,
        env = "QUORUM_APP_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub app_database_url: Option<String>,

    /// Directory for Quorum's own files (the embedded PostgreSQL cluster).
    #[arg(
        long,
        env = "QUORUM_DATA_DIR",
        default_value = "./quorum-data",
        global = true
    )]
    pub data_dir: PathBuf,
}

/// Settings of the web server.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address and port to listen on.
    #[arg(long, env = "QUORUM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The address people use to reach Quorum, e.g. `https://quorum.example.org`. When it
    /// is https, cookies are `Secure` with the `__Host-` prefix and HSTS is sent.
    #[arg(long, env = "QUORUM_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Time without activity after which a session ends (e.g. `30m`, `1h`).
    #[arg(long, env = "QUORUM_SESSION_IDLE_TIMEOUT", default_value = "30m", value_parser = parse_duration)]
    pub session_idle_timeout: Duration,

    /// Time after sign-in after which a session ends, active or not (e.g. `12h`).
    #[arg(long, env = "QUORUM_SESSION_ABSOLUTE_TIMEOUT", default_value = "12h", value_parser = parse_duration)]
    pub session_absolute_timeout: Duration,

    /// How long after giving their second factor a person may vote, change roles or export
    /// before a fresh code is asked for (e.g. `15m`).
    #[arg(long, env = "QUORUM_STEP_UP_AFTER", default_value = "15m", value_parser = parse_duration)]
    pub step_up_after: Duration,

    /// Time a request may take before it is answered with a timeout (e.g. `30s`).
    #[arg(long, env = "QUORUM_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// How many documents (exports) may be prepared, or audit-chain verifications run, at
    /// once; more are asked to retry.
    #[arg(long, env = "QUORUM_MAX_CONCURRENT_EXPORTS", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrent_exports: u16,

    /// The token a Prometheus scraper sends (`Authorization: Bearer …`) to read
    /// `/metrics`; without one, `/metrics` does not exist.
    #[arg(long, env = "QUORUM_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Read every page's figures from the database, never from those kept while nothing
    /// changed (for records edited outside Quorum, whose changes the cache cannot see until
    /// Quorum's next own change).
    #[arg(long, env = "QUORUM_NO_READ_CACHE", default_value_t = false)]
    pub no_read_cache: bool,

    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish before Quorum
    /// stops anyway (e.g. `20s`).
    #[arg(long, env = "QUORUM_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// Trust the `X-Forwarded-For` header for the client's address (only behind a proxy
    /// that sets it).
    #[arg(long, env = "QUORUM_TRUST_FORWARDED_FOR", default_value_t = false)]
    pub trust_forwarded_for: bool,

    /// Budget requests: share of the eligible board members who must vote, in percent.
    #[arg(long, env = "QUORUM_BUDGET_QUORUM_PERCENT", default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub budget_quorum_percent: i32,

    /// Budget requests: approval needs more than this share of approve + reject votes.
    #[arg(long, env = "QUORUM_BUDGET_MAJORITY_PERCENT", default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=99))]
    pub budget_majority_percent: i32,

    /// Risk acceptances above appetite: share of eligible board members who must vote.
    #[arg(long, env = "QUORUM_RISK_QUORUM_PERCENT", default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub risk_quorum_percent: i32,

    /// Risk acceptances above appetite: approval needs more than this share of the votes.
    #[arg(long, env = "QUORUM_RISK_MAJORITY_PERCENT", default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=99))]
    pub risk_majority_percent: i32,

    /// Policy publications and exceptions: share of eligible board members who must vote.
    #[arg(long, env = "QUORUM_POLICY_QUORUM_PERCENT", default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub policy_quorum_percent: i32,

    /// Policy publications and exceptions: approval needs more than this share of the votes.
    #[arg(long, env = "QUORUM_POLICY_MAJORITY_PERCENT", default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=99))]
    pub policy_majority_percent: i32,

    /// SMTP server for e-mail notifications, e.g. `smtp://localhost:25` or
    /// `smtps://user:password@mail.example.org`. Without it, no e-mail is sent.
    #[arg(long, env = "QUORUM_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of notification e-mails.
    #[arg(
        long,
        env = "QUORUM_MAIL_FROM",
        default_value = "Quorum <quorum@localhost>"
    )]
    pub mail_from: String,

    /// Currency of every amount, as an ISO 4217 code.
    #[arg(long, env = "QUORUM_CURRENCY", default_value = "EUR")]
    pub currency: String,

    /// Keep evidence files in this directory (named by their SHA-256) instead of in the
    /// database.
    #[arg(long, env = "QUORUM_EVIDENCE_DIR")]
    pub evidence_dir: Option<std::path::PathBuf>,

    /// The most rows an export other than the streamed audit trail holds; a larger report
    /// is refused with a message, never cut short.
    #[arg(long, env = "QUORUM_EXPORT_MAX_ROWS", default_value_t = 100_000, value_parser = clap::value_parser!(i64).range(1..))]
    pub export_max_rows: i64,

    /// A single sign-on provider (OpenID Connect):
    /// `id=corp,issuer=https://login.example.org,client-id=quorum,client-secret=…,label=Sign in with Example`.
    /// The flag once per provider; in the environment, providers separated by `;`. Its
    /// redirect address is `<public URL>/login/sso/<id>/callback`.
    #[arg(long = "sso-provider", env = "QUORUM_SSO_PROVIDERS", value_delimiter = ';', value_parser = ProviderConfig::parse, hide_env_values = true)]
    pub sso_providers: Vec<ProviderConfig>,

    /// Create an account at the first single sign-on of a verified e-mail address Quorum
    /// does not know (signing in through the provider only; roles from the mapped groups,
    /// else none).
    #[arg(long, env = "QUORUM_SSO_CREATE_ACCOUNTS", default_value_t = false)]
    pub sso_create_accounts: bool,

    /// Give roles from the ID token's `groups` claim at each single sign-on, e.g.
    /// `board=it-board,admin=quorum-admins` (without it, roles are Quorum's own).
    #[arg(long, env = "QUORUM_SSO_ROLE_GROUPS", value_parser = RoleGroups::parse)]
    pub sso_role_groups: Option<RoleGroups>,
}

impl ServerConfig {
    /// Settings for tests and embedding: listen on `listen`, everything else as default.
    pub fn with_listen(listen: SocketAddr) -> Self {
        Self {
            listen,
            public_url: None,
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 3600),
            step_up_after: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(20),
            max_concurrent_exports: 2,
            metrics_token: None,
            export_max_rows: 100_000,
            trust_forwarded_for: false,
            smtp_url: None,
            mail_from: "Quorum <quorum@localhost>".to_owned(),
            budget_quorum_percent: 50,
            budget_majority_percent: 50,
            risk_quorum_percent: 50,
            risk_majority_percent: 50,
            policy_quorum_percent: 50,
            policy_majority_percent: 50,
            currency: "EUR".to_owned(),
            evidence_dir: None,
            sso_providers: Vec::new(),
            sso_create_accounts: false,
            no_read_cache: false,
            sso_role_groups: None,
        }
    }

    /// The voting rule a new request of `kind` is opened with.
    pub fn rule(
        &self,
        kind: crate::approvals::model::RequestKind,
    ) -> crate::approvals::model::Rule {
        use crate::approvals::model::{RequestKind, Rule};
        let (quorum_percent, majority_percent) = match kind {
            RequestKind::Budget => (self.budget_quorum_percent, self.budget_majority_percent),
            RequestKind::RiskAcceptance => (self.risk_quorum_percent, self.risk_majority_percent),
            RequestKind::PolicyPublication | RequestKind::PolicyException => {
                (self.policy_quorum_percent, self.policy_majority_percent)
            }
        };
        Rule {
            quorum_percent,
            majority_percent,
        }
    }

    /// The address links in e-mails point to.
    pub fn base_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn is_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// Parses `90s`, `30m`, `12h` or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_secs) = match text.char_indices().last() {
        Some((i, 's')) => (&text[..i], 1),
        Some((i, 'm')) => (&text[..i], 60),
        Some((i, 'h')) => (&text[..i], 3600),
        _ => (text, 1),
    };
    let value: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 90s, 30m or 12h"))?;
    if value == 0 {
        return Err("the duration must be greater than zero".to_owned());
    }
    Ok(Duration::from_secs(value * unit_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43200)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0m").is_err());
    }
}
