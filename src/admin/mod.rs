//! The admin HTTP listener on `server.admin_listen` (DESIGN.md §7):
//! `GET /metrics` (Prometheus text), `/healthz`, `/readyz` (503 while
//! draining) are open; everything under `/api/v1` needs
//! `Authorization: Bearer <token>` with the token from the environment
//! variable `server.admin_token_env` names (no variable: the API refuses
//! everything with 401). Handlers are in [`api`], run-time changes in
//! [`control`]; every error is a JSON `{"error": "..."}` with its status,
//! mapped in one place ([`api::ApiError`]). The API is described by
//! `docs/admin-api.yaml`.

pub mod api;
pub mod control;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;
pub use control::Control;

/// The admin listener could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on admin {addr}: {source}")]
pub struct AdminError {
    pub addr: SocketAddr,
    pub source: std::io::Error,
}

/// What the handlers share.
pub struct AdminState {
    pub metrics: Arc<Metrics>,
    /// Set once the pipeline exists; until then `/api/v1` answers 503.
    pub control: OnceLock<Arc<Control>>,
    /// The bearer token; `None`: the API refuses every request.
    pub token: Option<String>,
}

/// A bound admin listener.
pub struct Admin {
    listener: tokio::net::TcpListener,
    state: Arc<AdminState>,
}

impl Admin {
    /// Binds `addr` (before any SIP traffic is served, so a bad address
    /// fails fast). `token`: the API's bearer token.
    pub async fn bind(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        token: Option<String>,
    ) -> Result<Admin, AdminError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| AdminError { addr, source })?;
        Ok(Admin {
            listener,
            state: Arc::new(AdminState {
                metrics,
                control: OnceLock::new(),
                token: token.filter(|t| !t.is_empty()),
            }),
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Where the API finds the running sidecar.
    pub fn state(&self) -> Arc<AdminState> {
        self.state.clone()
    }

    /// Serves until the task is dropped.
    pub async fn serve(self) {
        let app = Router::new()
            .route("/metrics", get(metrics))
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .nest("/api/v1", api::routes(self.state.clone()))
            .with_state(self.state);
        if let Err(e) = axum::serve(self.listener, app).await {
            tracing::error!(error = %e, "admin listener failed");
        }
    }
}

async fn metrics(State(s): State<Arc<AdminState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn readyz(State(s): State<Arc<AdminState>>) -> impl IntoResponse {
    match s.control.get() {
        Some(c) if !c.pipeline().is_draining() => (StatusCode::OK, "ready\n"),
        Some(_) => (StatusCode::SERVICE_UNAVAILABLE, "draining\n"),
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
    }
}
