//! The admin HTTP listener on `server.admin_listen`. Today it serves the open
//! endpoints: `GET /metrics` (Prometheus text), `/healthz` and `/readyz`.
//! The authenticated script API arrives with issue 6.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

/// The admin listener could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on admin {addr}: {source}")]
pub struct AdminError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

/// A bound admin listener.
pub struct Admin {
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
}

impl Admin {
    /// Binds `addr` (before any SIP traffic is served, so a bad address fails fast).
    pub async fn bind(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<Admin, AdminError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| AdminError { addr, source })?;
        Ok(Admin { listener, metrics })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until the task is dropped.
    pub async fn serve(self) {
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(|| async { "ready\n" }))
            .with_state(self.metrics);
        if let Err(e) = axum::serve(self.listener, app).await {
            tracing::error!(error = %e, "admin listener failed");
        }
    }
}

async fn metrics(State(m): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.encode(),
    )
}
