//! Building and running the web server. Tests use the same code on port 0.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::web::heavy::HeavyJobs;
use crate::web::{AppState, routes};

/// How often expired sessions are removed from the database.
const SESSION_CLEANUP_PERIOD: Duration = Duration::from_secs(600);

pub struct Application {
    listener: TcpListener,
    router: Router,
    address: SocketAddr,
    pool: PgPool,
    shutdown_grace: Duration,
    /// Turned true to stop the background tasks.
    stopping: watch::Sender<bool>,
    background: Vec<JoinHandle<()>>,
}

impl Application {
    /// Binds the listener (port 0 picks a free port) and assembles the routes.
    pub async fn build(mut config: ServerConfig, pool: PgPool) -> anyhow::Result<Self> {
        install_tls_provider();
        let listener = TcpListener::bind(config.listen).await?;
        let address = listener.local_addr()?;
        // Port 0 picked a port: addresses Quorum gives out (links, redirects) name it.
        config.listen = address;
        let (stopping, stopping_rx) = watch::channel(false);
        let mut background = vec![spawn_session_cleanup(pool.clone(), stopping_rx.clone())];
        background.extend(crate::notify::spawn_sender(
            pool.clone(),
            &config,
            stopping_rx,
        )?);
        let shutdown_grace = config.shutdown_grace;
        let state = AppState {
            pool: pool.clone(),
            heavy_jobs: HeavyJobs::new(config.max_concurrent_exports.into()),
            metrics: Default::default(),
            read_cache: Default::default(),
            webauthn: crate::auth::webauthn::relying_party(&config, address.port()),
            config: Arc::new(config),
        };
        Ok(Self {
            listener,
            router: routes::router(state),
            address,
            pool,
            shutdown_grace,
            stopping,
            background,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes; then stops accepting, lets requests in flight
    /// finish for up to the shutdown grace, stops the background tasks and closes the pool.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (draining, mut draining_rx) = watch::channel(false);
        let server = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            draining.send_replace(true);
        })
        .into_future();
        let grace = self.shutdown_grace;
        let grace_over = async move {
            let _ = draining_rx.wait_for(|draining| *draining).await;
            tokio::time::sleep(grace).await;
        };
        let result = tokio::select! {
            result = server => result,
            () = grace_over => {
                tracing::warn!(?grace, "requests still in flight after the shutdown grace; stopping them");
                Ok(())
            }
        };
        self.stopping.send_replace(true);
        for task in self.background {
            if tokio::time::timeout(grace, task).await.is_err() {
                tracing::warn!("a background task did not stop in time");
            }
        }
        // Waits for connections still checked out, but not past the grace either.
        if tokio::time::timeout(grace, self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections still busy after the shutdown grace");
        }
        tracing::info!("stopped");
        result
    }
}

/// TLS in the process (single sign-on's HTTP client; the database and mail clients name
/// theirs) uses `ring`, as everywhere else in Quorum. Repeated calls do nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Removes expired sessions every [`SESSION_CLEANUP_PERIOD`]; a failure (the database
/// restarting) is logged and tried again next period, not the end of the task.
fn spawn_session_cleanup(pool: PgPool, mut stopping: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        while !*stopping.borrow() {
            if let Err(error) = crate::auth::sessions::delete_expired(&pool).await {
                tracing::warn!(%error, "cannot remove expired sessions");
            }
            if let Err(error) = crate::auth::webauthn::delete_expired(&pool).await {
                tracing::warn!(%error, "cannot remove unanswered passkey challenges");
            }
            if let Err(error) = crate::auth::sso::delete_expired(&pool).await {
                tracing::warn!(%error, "cannot remove abandoned single sign-ons");
            }
            tokio::select! {
                () = tokio::time::sleep(SESSION_CLEANUP_PERIOD) => {}
                _ = stopping.changed() => {}
            }
        }
    })
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
