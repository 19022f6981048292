//! The HTTP side: `GET /healthz` and `GET /metrics` on `HTTP_ADDR`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::health::DatabaseStatus;
use super::{Health, Metrics};

/// What the endpoints read: the bot's health and metrics, the PSN client's statistics, and the
/// database `/healthz` checks.
#[derive(Debug, Clone)]
pub struct OpsState {
    pub metrics: Metrics,
    pub health: Health,
    /// The pool of PSN credentials (one client each).
    pub pool: crate::pool::Pool,
    pub store: crate::store::Store,
}

/// How long `/healthz` waits for the database's `SELECT 1` before calling it unreachable.
pub const DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Prometheus text exposition format 0.0.4.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz(State(state): State<OpsState>) -> impl IntoResponse {
    let database = if state.store.is_reachable(DATABASE_CHECK_TIMEOUT).await {
        DatabaseStatus::Ok
    } else {
        DatabaseStatus::Unreachable
    };
    let report = state.health.report(database);
    let code =
        StatusCode::from_u16(report.http_status()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    (code, Json(report))
}

async fn metrics(State(state): State<OpsState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        state.metrics.render_pool(&state.pool),
    )
}

/// Binds `addr` (port 0 picks a free port) and serves until `shutdown` completes. Returns the
/// bound address and the server task.
pub async fn serve(
    addr: SocketAddr,
    state: OpsState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "health and metrics");
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router(state))
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "the health and metrics server stopped");
        }
    });
    Ok((bound, task))
}
