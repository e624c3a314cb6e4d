//! The database: where it is, creating it, migrating it, and the application's pool.

pub mod embedded;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::config::DatabaseConfig;
use embedded::{Durability, EmbeddedCluster, EmbeddedError};

/// The role the server's own connections use (created by the first migration).
pub const APP_ROLE: &str = "quorum_app";
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
    #[error("cannot apply the migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// How the server's connections get their least-privileged role.
#[derive(Debug, Clone)]
enum AppLogin {
    /// Log in as the application role itself.
    Direct(PgConnectOptions),
    /// Log in with the owner's credentials, then `SET ROLE quorum_app`.
    SetRole(PgConnectOptions),
}

/// A located database: the owner's connection options, the application's, and the
/// embedded cluster when Quorum runs one (stopped when this value is dropped).
#[derive(Debug)]
pub struct Database {
    owner: PgConnectOptions,
    app: AppLogin,
    cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Finds the database named by the configuration, starting the embedded cluster when
    /// no URL is given. Does not create or migrate anything.
    pub fn locate(config: &DatabaseConfig) -> Result<Self, DbError> {
        match &config.database_url {
            Some(url) => {
                let owner = PgConnectOptions::from_str(url).map_err(DbError::BadUrl)?;
                let app = match &config.app_database_url {
                    Some(app_url) => AppLogin::Direct(
                        PgConnectOptions::from_str(app_url).map_err(DbError::BadUrl)?,
                    ),
                    None => AppLogin::SetRole(owner.clone()),
                };
                Ok(Self::new(owner, app, None))
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
        let app = AppLogin::Direct(cluster.connect_options(APP_ROLE, name));
        Self::new(owner, app, Some(cluster))
    }

    /// A database reached with `owner` credentials, the application switching role.
    pub fn with_owner(owner: PgConnectOptions) -> Self {
        let app = AppLogin::SetRole(owner.clone());
        Self::new(owner, app, None)
    }

    fn new(owner: PgConnectOptions, app: AppLogin, cluster: Option<EmbeddedCluster>) -> Self {
        Self {
            owner,
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

    /// The pool the server uses: every connection acts as `quorum_app`.
    pub async fn app_pool(&self) -> Result<PgPool, DbError> {
        let options = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10));
        let pool = match &self.app {
            AppLogin::Direct(login) => options.connect_with(login.clone()).await,
            AppLogin::SetRole(login) => {
                options
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute("SET ROLE quorum_app").await?;
                            Ok(())
                        })
                    })
                    .connect_with(login.clone())
                    .await
            }
        };
        pool.map_err(DbError::Connect)
    }

    /// Stops the embedded cluster, if Quorum started one.
    pub fn shutdown(&mut self) {
        if let Some(cluster) = &mut self.cluster {
            cluster.stop();
        }
    }
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
