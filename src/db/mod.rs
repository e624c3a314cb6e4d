//! The database: where it is, creating it, migrating it, and the application's pool.

pub mod backup;
pub mod embedded;
pub mod listing;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::config::DatabaseConfig;
use embedded::{Durability, EmbeddedCluster, EmbeddedError};

/// The role the server's own connections use (created by the first migration).
pub const APP_ROLE: &str = "quorum_app";
/// The longest a request waits for a pooled connection before it is answered 503 with
/// `Retry-After`: past this, the database is down or Quorum overloaded, and a quick clear
/// answer beats a hanging page.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// The database Quorum creates in its embedded cluster.
const EMBEDDED_DATABASE: &str = "quorum";

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Embedded(#[from] EmbeddedError),
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot reach PostgreSQL: {0}")]
    Connect(sqlx::Error),
    #[error("cannot create the database: {0}")]
    Create(sqlx::Error),
    #[error(
        "QUORUM_APP_DATABASE_URL is needed with DATABASE_URL: the server's connections log in \
         as the role `quorum_app`, which cannot change the audit trail (give it a password \
         and name it in that URL); the owner's login is used only for migrations"
    )]
    NoAppLogin,
    #[error("cannot apply the migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A located database: the owner's connection options, the application's (a login as
/// the least-privileged `quorum_app`, when known), and the embedded cluster when Quorum
/// runs one (stopped when this value is dropped).
///
/// The server's connections always log in as the application role itself. Switching from
/// the owner's login with `SET ROLE` would not do: any statement can undo it with
/// `RESET ROLE`.
#[derive(Debug)]
pub struct Database {
    owner: PgConnectOptions,
    /// `DATABASE_URL` as given, for PostgreSQL's client programs (backup, restore).
    owner_url: Option<String>,
    app: Option<PgConnectOptions>,
    cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Finds the database named by the configuration, starting the embedded cluster when
    /// no URL is given. Does not create or migrate anything.
    pub fn locate(config: &DatabaseConfig) -> Result<Self, DbError> {
        match &config.database_url {
            Some(url) => {
                let owner = PgConnectOptions::from_str(url).map_err(DbError::BadUrl)?;
                let app = config
                    .app_database_url
                    .as_deref()
                    .map(PgConnectOptions::from_str)
                    .transpose()
                    .map_err(DbError::BadUrl)?;
                Ok(Self {
                    owner_url: Some(url.clone()),
                    ..Self::new(owner, app, None)
                })
            }
            None => {
                let cluster =
                    EmbeddedCluster::start(&config.data_dir.join("postgres"), Durability::Durable)?;
                Ok(Self::on_cluster(cluster, EMBEDDED_DATABASE))
            }
        }
    }

    /// The database `name` on an embedded cluster: the owner is the cluster's superuser,
    /// and the application logs in as its own role over the private socket.
    pub fn on_cluster(cluster: EmbeddedCluster, name: &str) -> Self {
        let owner = cluster.connect_options(embedded::SUPERUSER, name);
        let app = cluster.connect_options(APP_ROLE, name);
        Self::new(owner, Some(app), Some(cluster))
    }

    /// A database reached with `owner` credentials, the application logging in with `app`.
    pub fn with_logins(owner: PgConnectOptions, app: PgConnectOptions) -> Self {
        Self::new(owner, Some(app), None)
    }

    fn new(
        owner: PgConnectOptions,
        app: Option<PgConnectOptions>,
        cluster: Option<EmbeddedCluster>,
    ) -> Self {
        Self {
            owner,
            owner_url: None,
            app,
            cluster,
        }
    }

    pub fn owner_options(&self) -> &PgConnectOptions {
        &self.owner
    }

    /// Creates the database if missing, then applies pending migrations as the owner.
    pub async fn prepare(&self) -> Result<(), DbError> {
        create_database_if_missing(&self.owner).await?;
        let mut conn = PgConnection::connect_with(&self.owner)
            .await
            .map_err(DbError::Connect)?;
        MIGRATOR.run(&mut conn).await?;
        conn.close().await.ok();
        Ok(())
    }

    /// The pool the server uses: every connection logs in as `quorum_app`, with the
    /// session settings of [`app_session`].
    pub async fn app_pool(&self) -> Result<PgPool, DbError> {
        let login = self.app.clone().ok_or(DbError::NoAppLogin)?;
        PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(app_session(login))
            .await
            .map_err(DbError::Connect)
    }

    /// A connection as the owner, for the operator's commands (`quorum user add`,
    /// `quorum audit verify`), which run with the credentials of `DATABASE_URL`.
    pub async fn owner_connection(&self) -> Result<PgConnection, DbError> {
        PgConnection::connect_with(&app_session(self.owner.clone()))
            .await
            .map_err(DbError::Connect)
    }

    /// Stops the embedded cluster, if Quorum started one.
    pub fn shutdown(&mut self) {
        if let Some(cluster) = &mut self.cluster {
            cluster.stop();
        }
    }
}

/// The settings every connection of Quorum's runs with, sent at connection start-up so
/// no statement depends on them being set later:
/// - `jit = off`: JIT compilation of a generic plan cost about 600 ms per execution of a
///   query that runs in under a millisecond, and collapsed pages under load;
/// - generic plans only: left to choose, PostgreSQL kept planning afresh on every execution
///   the statements whose generic plan it estimates dearer (a `LIMIT $n`, a view of six
///   unions), and planning took as long as running them: half the database's time on the
///   board's home at scale 1 (426 → 654 pages/s with this). Every list query is specific
///   to its filters so that its generic plan keeps to an index (tested in `tests/api/scale.rs`);
/// - `random_page_cost` for data held in memory or on SSD (the default of 4 is for
///   spinning disks): at 4, reading ten rows by id hashed the whole users table to join
///   their owners' names instead of looking up ten;
/// - a statement timeout, so no query holds a connection for ever;
/// - an idle-in-transaction timeout, so a transaction left open releases its locks.
pub fn app_session(options: PgConnectOptions) -> PgConnectOptions {
    options.options([
        ("jit", "off"),
        ("plan_cache_mode", "force_generic_plan"),
        ("random_page_cost", "1.1"),
        ("statement_timeout", "120s"),
        ("idle_in_transaction_session_timeout", "60s"),
    ])
}

/// Creates the database named in `options` (connecting to the `postgres` maintenance
/// database) unless it exists.
pub async fn create_database_if_missing(options: &PgConnectOptions) -> Result<(), DbError> {
    let name = options.get_database().unwrap_or("postgres").to_owned();
    let mut conn = PgConnection::connect_with(&options.clone().database("postgres"))
        .await
        .map_err(DbError::Connect)?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .map_err(DbError::Connect)?;
    if !exists {
        let statement = format!("CREATE DATABASE {}", quote_identifier(&name));
        if let Err(error) = conn.execute(statement.as_str()).await {
            // Another instance may have created it meanwhile.
            let duplicate = error
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "42P04");
            if !duplicate {
                return Err(DbError::Create(error));
            }
        }
    }
    conn.close().await.ok();
    Ok(())
}

/// Whether a statement failed on a unique constraint (a name or number already taken).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|error| error.is_unique_violation())
}

/// Quotes an SQL identifier (for the few statements that cannot take parameters).
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
