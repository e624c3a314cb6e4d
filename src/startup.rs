//! Building and running the web server. Tests use the same code on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;
use tower_sessions_sqlx_store::PostgresStore;

use crate::config::ServerConfig;
use crate::web::{AppState, routes};

/// How often expired sessions are removed from the database.
const SESSION_CLEANUP_PERIOD: Duration = Duration::from_secs(600);

pub struct Application {
    listener: TcpListener,
    router: Router,
    address: SocketAddr,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and assembles the routes.
    pub async fn build(config: ServerConfig, pool: PgPool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        let cleanup = PostgresStore::new(pool.clone());
        tokio::spawn(async move {
            if let Err(error) = cleanup
                .continuously_delete_expired(SESSION_CLEANUP_PERIOD)
                .await
            {
                tracing::warn!(%error, "expired-session cleanup stopped");
            }
        });
        crate::notify::spawn_sender(pool.clone(), &config)?;
        let state = AppState {
            pool,
            config: Arc::new(config),
        };
        Ok(Self {
            listener,
            router: routes::router(state),
            address,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
