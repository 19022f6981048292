//! Is the bot doing its job? The Discord gateway up (or down for at most [`GATEWAY_GRACE`]),
//! the background tasks alive, the database answering, and PSN accepting the credential.
//! `/healthz` answers from this; the bot, its tasks and the PSN callers keep it current.
//!
//! Times come from tokio's clock, so tests drive them with a paused clock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long the gateway may be down (reconnecting, or not yet connected after start) before
/// the bot is unhealthy.
pub const GATEWAY_GRACE: Duration = Duration::from_secs(30);
/// How long an unavailable or rate-limiting PSN keeps the bot `degraded` after it last said so.
pub const PSN_TROUBLE_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Cheap to clone; clones share the same state. Starts with the gateway down since now
/// ("connecting"), no tasks, and PSN "ok" (nothing rejected yet).
#[derive(Debug, Clone)]
pub struct Health {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    /// When the gateway went down (or the bot started); `None` while connected.
    gateway_down_since: Option<Instant>,
    psn_credential_rejected: bool,
    /// The last PSN outage or rate limit, and when it was seen.
    psn_trouble: Option<(PsnStatus, Instant)>,
    tasks: BTreeMap<&'static str, TaskStatus>,
    /// The shards this process holds, and whether each is connected; `None` until the lease
    /// loop said (then [`Health::set_discord_connected`] alone decides).
    shards: Option<BTreeMap<u32, bool>>,
}

impl Inner {
    /// With held shards known: the gateway is up when every held shard is (also when none is
    /// held: another process runs them all, and nothing here waits to connect).
    fn settle_shards(&mut self) {
        let Some(shards) = &self.shards else { return };
        if shards.values().all(|up| *up) {
            self.gateway_down_since = None;
        } else if self.gateway_down_since.is_none() {
            self.gateway_down_since = Some(Instant::now());
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything works.
    Ok,
    /// The bot works but PSN does not answer as it should: HTTP 200 still.
    Degraded,
    /// HTTP 503.
    Unhealthy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscordStatus {
    Connected,
    /// Down for at most [`GATEWAY_GRACE`]: connecting or reconnecting.
    Connecting,
    /// Down for longer than [`GATEWAY_GRACE`].
    Disconnected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PsnStatus {
    Ok,
    CredentialRejected,
    Unavailable,
    RateLimited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatabaseStatus {
    Ok,
    Unreachable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Running,
    /// Ended (returned or panicked) without shutdown being requested.
    Dead,
}

/// The `/healthz` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthReport {
    pub status: Status,
    pub discord: DiscordStatus,
    pub psn: PsnStatus,
    pub database: DatabaseStatus,
    pub tasks: BTreeMap<&'static str, TaskStatus>,
}

impl HealthReport {
    /// The HTTP status `/healthz` answers with: 200 when ok or degraded, 503 when unhealthy.
    pub fn http_status(&self) -> u16 {
        match self.status {
            Status::Ok | Status::Degraded => 200,
            Status::Unhealthy => 503,
        }
    }
}

impl Default for Health {
    fn default() -> Health {
        Health::new()
    }
}

impl Health {
    pub fn new() -> Health {
        Health {
            inner: Arc::new(Mutex::new(Inner {
                gateway_down_since: Some(Instant::now()),
                psn_credential_rejected: false,
                psn_trouble: None,
                tasks: BTreeMap::new(),
                shards: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; recover the state anyway if it did.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The gateway is up (Ready, Resumed, shard connected) or down (disconnected, reconnecting).
    /// Going down again while down keeps the first instant.
    pub fn set_discord_connected(&self, connected: bool) {
        let mut inner = self.lock();
        if connected {
            inner.gateway_down_since = None;
        } else if inner.gateway_down_since.is_none() {
            inner.gateway_down_since = Some(Instant::now());
        }
    }

    /// The shards this process holds now (from the lease loop): a shard newly held counts as
    /// connecting until it says it is connected; one given up no longer counts.
    pub fn set_held_shards(&self, held: &std::collections::BTreeSet<u32>) {
        let mut inner = self.lock();
        let mut shards = inner.shards.take().unwrap_or_default();
        shards.retain(|shard, _| held.contains(shard));
        for shard in held {
            shards.entry(*shard).or_insert(false);
        }
        inner.shards = Some(shards);
        inner.settle_shards();
    }

    /// One shard's gateway connection went up or down (a shard not held is ignored: it is
    /// being closed or not yet counted).
    pub fn set_shard_connected(&self, shard: u32, connected: bool) {
        let mut inner = self.lock();
        match inner.shards.as_mut() {
            Some(shards) => {
                if let Some(up) = shards.get_mut(&shard) {
                    *up = connected;
                }
                inner.settle_shards();
            }
            None => {
                drop(inner);
                self.set_discord_connected(connected);
            }
        }
    }

    /// What one of PSN's answers said (from the client's observer, for the tracker's requests
    /// and the commands' alike): an answer clears everything; a rejected credential stays until
    /// the next answer; an outage or a rate limit is remembered for [`PSN_TROUBLE_WINDOW`].
    pub fn note_psn(&self, signal: psn::Signal) {
        let mut inner = self.lock();
        let trouble = match signal {
            psn::Signal::Answered => {
                inner.psn_credential_rejected = false;
                inner.psn_trouble = None;
                return;
            }
            psn::Signal::CredentialRejected => {
                inner.psn_credential_rejected = true;
                return;
            }
            psn::Signal::Unavailable => PsnStatus::Unavailable,
            psn::Signal::RateLimited => PsnStatus::RateLimited,
        };
        inner.psn_trouble = Some((trouble, Instant::now()));
    }

    /// Registers background task `name` as running and watches `task`: when it ends (returns or
    /// panics) before `shutdown` is cancelled, `name` is reported dead. The returned handle
    /// finishes when `task` does.
    pub fn watch_task(
        &self,
        name: &'static str,
        task: JoinHandle<()>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        self.lock().tasks.insert(name, TaskStatus::Running);
        let health = self.clone();
        tokio::spawn(async move {
            let result = task.await;
            if !shutdown.is_cancelled() {
                match result {
                    Ok(()) => tracing::error!(task = name, "a background task stopped"),
                    Err(error) => tracing::error!(task = name, %error, "a background task died"),
                }
                health.lock().tasks.insert(name, TaskStatus::Dead);
            }
        })
    }

    /// The report, given what the database check found (done by the caller, who has the store).
    pub fn report(&self, database: DatabaseStatus) -> HealthReport {
        let inner = self.lock();
        let now = Instant::now();
        let discord = match inner.gateway_down_since {
            None => DiscordStatus::Connected,
            Some(since) if now.saturating_duration_since(since) > GATEWAY_GRACE => {
                DiscordStatus::Disconnected
            }
            Some(_) => DiscordStatus::Connecting,
        };
        let psn = if inner.psn_credential_rejected {
            PsnStatus::CredentialRejected
        } else {
            match inner.psn_trouble {
                Some((trouble, at)) if now.saturating_duration_since(at) <= PSN_TROUBLE_WINDOW => {
                    trouble
                }
                _ => PsnStatus::Ok,
            }
        };
        let tasks = inner.tasks.clone();
        let status = if discord == DiscordStatus::Disconnected
            || database == DatabaseStatus::Unreachable
            || tasks.values().any(|t| *t == TaskStatus::Dead)
        {
            Status::Unhealthy
        } else if psn != PsnStatus::Ok {
            Status::Degraded
        } else {
            Status::Ok
        };
        HealthReport {
            status,
            discord,
            psn,
            database,
            tasks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn report(health: &Health) -> (u16, Value) {
        let report = health.report(DatabaseStatus::Ok);
        (report.http_status(), serde_json::to_value(report).unwrap())
    }

    #[test]
    fn with_several_shards_the_gateway_is_up_when_every_held_one_is() {
        let health = Health::new();
        let held = |shards: &[u32]| shards.iter().copied().collect();
        health.set_held_shards(&held(&[0, 2]));
        health.set_shard_connected(0, true);
        assert_eq!(report(&health).1["discord"], "connecting");
        health.set_shard_connected(2, true);
        assert_eq!(report(&health).1["discord"], "connected");
        // Shard 2 handed over: its closing says nothing of this process's gateway.
        health.set_held_shards(&held(&[0]));
        health.set_shard_connected(2, false);
        assert_eq!(report(&health).1["discord"], "connected");
        health.set_shard_connected(0, false);
        assert_eq!(report(&health).1["discord"], "connecting");
        // Holding none (others run every shard) is nothing to wait for.
        health.set_held_shards(&held(&[]));
        assert_eq!(report(&health).1["discord"], "connected");
    }

    #[tokio::test(start_paused = true)]
    async fn the_gateway_may_be_down_for_30_seconds() {
        let health = Health::new();
        assert_eq!(
            report(&health),
            (
                200,
                json!({"status": "ok", "discord": "connecting", "psn": "ok",
                       "database": "ok", "tasks": {}})
            )
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(
            report(&health).1["discord"],
            "disconnected",
            "never connected after start"
        );
        health.set_discord_connected(true);
        assert_eq!(
            report(&health),
            (
                200,
                json!({"status": "ok", "discord": "connected", "psn": "ok",
                       "database": "ok", "tasks": {}})
            )
        );

        health.set_discord_connected(false);
        tokio::time::advance(Duration::from_secs(20)).await;
        // Further stage changes while down keep the first instant.
        health.set_discord_connected(false);
        tokio::time::advance(Duration::from_secs(9)).await;
        let (code, body) = report(&health);
        assert_eq!(
            (code, &body["status"], &body["discord"]),
            (200, &json!("ok"), &json!("connecting")),
            "29 s down"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            report(&health),
            (
                503,
                json!({"status": "unhealthy", "discord": "disconnected", "psn": "ok",
                       "database": "ok", "tasks": {}})
            ),
            "31 s down"
        );
        health.set_discord_connected(true);
        assert_eq!(report(&health).0, 200, "back up");
        assert_eq!(report(&health).1["discord"], "connected");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_task_is_named_and_unhealthy() {
        let health = Health::new();
        health.set_discord_connected(true);
        let shutdown = CancellationToken::new();
        let (stop_tracker, tracker_stops) = tokio::sync::oneshot::channel::<()>();
        let tracker = health.watch_task(
            "tracker",
            tokio::spawn(async move {
                let _ = tracker_stops.await;
            }),
            shutdown.clone(),
        );
        let deliverer = health.watch_task(
            "deliverer",
            tokio::spawn(async { panic!("the deliverer panics") }),
            shutdown.clone(),
        );
        deliverer.await.unwrap();
        assert_eq!(
            report(&health),
            (
                503,
                json!({"status": "unhealthy", "discord": "connected", "psn": "ok",
                       "database": "ok", "tasks": {"tracker": "running", "deliverer": "dead"}})
            )
        );

        // Ending because shutdown was asked for is not dying.
        shutdown.cancel();
        stop_tracker.send(()).unwrap();
        tracker.await.unwrap();
        assert_eq!(report(&health).1["tasks"]["tracker"], "running");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_returns_early_is_dead() {
        let health = Health::new();
        health.set_discord_connected(true);
        let tracker =
            health.watch_task("tracker", tokio::spawn(async {}), CancellationToken::new());
        tracker.await.unwrap();
        let (code, body) = report(&health);
        assert_eq!((code, &body["tasks"]), (503, &json!({"tracker": "dead"})));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_database_is_unhealthy() {
        let health = Health::new();
        health.set_discord_connected(true);
        let report = health.report(DatabaseStatus::Unreachable);
        assert_eq!(report.http_status(), 503);
        assert_eq!(
            serde_json::to_value(report).unwrap(),
            json!({"status": "unhealthy", "discord": "connected", "psn": "ok",
                   "database": "unreachable", "tasks": {}})
        );
    }

    #[tokio::test(start_paused = true)]
    async fn psn_trouble_is_degraded_not_unhealthy() {
        let health = Health::new();
        health.set_discord_connected(true);
        health.note_psn(psn::Signal::CredentialRejected);
        assert_eq!(
            report(&health),
            (
                200,
                json!({"status": "degraded", "discord": "connected", "psn": "credential_rejected",
                       "database": "ok", "tasks": {}})
            )
        );
        health.note_psn(psn::Signal::Answered);
        assert_eq!(report(&health).1["status"], "ok");

        health.note_psn(psn::Signal::Unavailable);
        assert_eq!(report(&health).0, 200);
        assert_eq!(report(&health).1["status"], "degraded");
        assert_eq!(report(&health).1["psn"], "unavailable");
        health.note_psn(psn::Signal::RateLimited);
        assert_eq!(report(&health).1["psn"], "rate_limited");
        tokio::time::advance(PSN_TROUBLE_WINDOW + Duration::from_secs(1)).await;
        assert_eq!(
            report(&health).1["status"],
            "ok",
            "trouble long past is forgotten"
        );
        assert_eq!(report(&health).1["psn"], "ok");
    }

    #[tokio::test(start_paused = true)]
    async fn only_a_rejection_and_an_answer_change_the_credential_status() {
        let health = Health::new();
        health.note_psn(psn::Signal::CredentialRejected);
        health.note_psn(psn::Signal::Unavailable);
        assert_eq!(
            health.report(DatabaseStatus::Ok).psn,
            PsnStatus::CredentialRejected
        );
        health.note_psn(psn::Signal::Answered);
        assert_eq!(health.report(DatabaseStatus::Ok).psn, PsnStatus::Ok);
    }
}
