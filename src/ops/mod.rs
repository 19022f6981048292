//! Operations: `/healthz` and `/metrics` on `HTTP_ADDR`, the refresh-token expiry watcher, the
//! rejected-credential alert, and the `healthcheck` subcommand Docker uses. The bot starts it all
//! with [`Ops::start`] and stops it with the same cancellation token as its other background work.

mod credential;
mod expiry;
mod health;
mod healthcheck;
mod metrics;
mod server;

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use credential::{
    credential_rejected_alert, pool_credential_rejected_alert, spawn_credential_rejection_alert,
};
pub use expiry::{
    check_refresh_token, expiry_warning, spawn_refresh_token_watch, AlertHook, CHECK_INTERVAL,
};
pub use health::{
    DatabaseStatus, DiscordStatus, Health, HealthReport, PsnStatus, Status, TaskStatus,
    GATEWAY_GRACE, PSN_TROUBLE_WINDOW,
};
pub use healthcheck::{healthcheck, healthcheck_from_env, HealthcheckError};
pub use metrics::{CommandOutcome, Metrics, ANNOUNCEMENT_LATENCY_BUCKETS};
pub use server::{router, serve, OpsState, DATABASE_CHECK_TIMEOUT};

/// The running health and metrics server and the refresh-token watcher.
#[derive(Debug)]
pub struct Ops {
    /// Where `/healthz` and `/metrics` are served (the real port when `HTTP_ADDR` asked for 0).
    pub addr: SocketAddr,
    server: JoinHandle<()>,
    watcher: JoinHandle<()>,
    credential_watcher: JoinHandle<()>,
}

impl Ops {
    /// Serves on `addr` and starts the watchers; all stop when `cancel` is cancelled. `alert`
    /// posts refresh-token and rejected-credential alerts somewhere people look (e.g.
    /// `OPS_ALERT_CHANNEL`).
    pub async fn start(
        addr: SocketAddr,
        state: OpsState,
        alert: Option<AlertHook>,
        cancel: CancellationToken,
    ) -> std::io::Result<Ops> {
        // One alert per rejection episode of each credential; in a pool, the alert names it.
        let named = state.pool.len() > 1;
        let credential_watchers: Vec<JoinHandle<()>> = state
            .pool
            .members()
            .iter()
            .map(|member| {
                spawn_credential_rejection_alert(
                    &member.client,
                    named.then(|| member.label.clone()),
                    alert.clone(),
                    cancel.clone(),
                )
            })
            .collect();
        let credential_watcher = tokio::spawn(async move {
            for watcher in credential_watchers {
                let _ = watcher.await;
            }
        });
        // Every credential's refresh token is watched; the expiry gauge is the first one's
        // (the others' warnings are logged and posted all the same).
        let mut watchers: Vec<JoinHandle<()>> = Vec::new();
        for (index, member) in state.pool.members().iter().enumerate() {
            let metrics = if index == 0 {
                state.metrics.clone()
            } else {
                Metrics::new()
            };
            watchers.push(spawn_refresh_token_watch(
                member.client.clone(),
                metrics,
                alert.clone(),
                cancel.clone(),
            ));
        }
        let watcher = tokio::spawn(async move {
            for watcher in watchers {
                let _ = watcher.await;
            }
        });
        let (addr, server) = match serve(addr, state, cancel.clone().cancelled_owned()).await {
            Ok(started) => started,
            Err(err) => {
                watcher.abort();
                credential_watcher.abort();
                return Err(err);
            }
        };
        Ok(Ops {
            addr,
            server,
            watcher,
            credential_watcher,
        })
    }

    /// Waits for the tasks to finish after the cancellation token fired.
    pub async fn stopped(self) {
        for (name, task) in [
            ("server", self.server),
            ("watcher", self.watcher),
            ("credential watcher", self.credential_watcher),
        ] {
            if let Err(error) = task.await {
                tracing::error!(%error, task = name, "an ops task failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A database that hangs up on every connection: the check fails at once (a refused
    /// connection would be retried until the check's timeout).
    async fn hanging_up_database() -> crate::store::Store {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "postgres://postgres@{}/none",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        crate::store::Store::connect_lazy(&url).expect("a valid URL")
    }

    async fn state() -> OpsState {
        // Never asked anything in these tests: the address only has to be well-formed.
        let config = psn::Config::new(
            psn::ApiKind::Modern,
            psn::Credential::Npsso(psn::Secret::new("npsso-never-sent")),
        )
        .with_base_url("http://127.0.0.1:9");
        OpsState {
            metrics: Metrics::new(),
            health: Health::new(),
            pool: crate::pool::Pool::single(psn::Client::new(config).expect("client")),
            store: hanging_up_database().await,
        }
    }

    #[tokio::test]
    async fn serves_health_and_metrics_and_stops_on_cancel() {
        let state = state().await;
        let cancel = CancellationToken::new();
        let ops = Ops::start(
            "127.0.0.1:0".parse().unwrap(),
            state.clone(),
            None,
            cancel.clone(),
        )
        .await
        .expect("ops starts");
        assert_ne!(ops.addr.port(), 0, "the real port is reported");
        let base = format!("http://{}", ops.addr);
        let http = reqwest::Client::new();

        // The database hangs up: the check fails. (`tests/store/health.rs`
        // has a reachable database.)
        let unreachable = http.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(unreachable.status().as_u16(), 503);
        assert_eq!(
            unreachable.json::<Value>().await.unwrap(),
            json!({"status": "unhealthy", "discord": "connecting", "psn": "ok",
                   "database": "unreachable", "tasks": {}})
        );

        state.metrics.record_command("trophies", CommandOutcome::Ok);
        let metrics = http.get(format!("{base}/metrics")).send().await.unwrap();
        assert_eq!(metrics.status().as_u16(), 200);
        let content_type = metrics
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = metrics.text().await.unwrap();
        assert!(
            text.contains("\ntrophybot_psn_requests_total{lane=\"command\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("trophybot_commands_total{command=\"trophies\",outcome=\"ok\"} 1"),
            "{text}"
        );

        // The Docker healthcheck agrees, through its own plain HTTP client.
        let addr = ops.addr;
        let err = tokio::task::spawn_blocking(move || healthcheck(addr))
            .await
            .unwrap()
            .expect_err("unhealthy");
        assert!(
            matches!(err, HealthcheckError::Unhealthy { status: 503, ref body } if body.contains("\"unreachable\"")),
            "{err}"
        );

        cancel.cancel();
        ops.stopped().await;
        assert!(
            http.get(format!("{base}/healthz")).send().await.is_err(),
            "the server is gone after shutdown"
        );
    }

    #[tokio::test]
    async fn a_taken_address_is_an_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let result = Ops::start(addr, state().await, None, CancellationToken::new()).await;
        assert!(result.is_err(), "the port is in use");
    }
}
