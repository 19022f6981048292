//! The `/rarest` fill-in: what a capped `/rarest` across titles left uncovered is fetched in the
//! background, so that the next call covers more (a tracked player's earned ids go to the
//! database, everything else to the PSN client's caches; earned rates and definitions are
//! saved as they come, see `tracker::titles`).
//!
//! It runs on idle command capacity only (the client's idle priority: never a tracker slot,
//! never while a command or the tracker waits) and is charged request by request to the asking
//! user's and server's shares, from what they have to spare ([`Shares::admit_spare`]). When
//! that runs out it waits for the shares' window to free some (a member's share is only a few
//! requests beyond the `/rarest` that started it), for at most [`PATIENCE_WINDOWS`] windows in
//! all; it stops then, when it is done, or at shutdown. At most one runs per player.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::rarest::{rank_trophies, title_state, Library, Rest};
use super::shares::{cost, Admission, Shares};
use super::Services;

/// How many share windows a fill-in waits, in all, for its user's and server's shares to have
/// room again before it gives up (the next `/rarest` starts a new one).
pub const PATIENCE_WINDOWS: u32 = 8;

/// How a fill-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Everything left was fetched.
    Done,
    /// The user's or the server's share had nothing to spare for [`PATIENCE_WINDOWS`] windows.
    ShareUsed,
    /// The bot is shutting down.
    Cancelled,
    /// PSN failed (logged); the next `/rarest` leaves a new rest.
    Failed,
}

/// What a fill-in did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillInReport {
    pub ended: Ended,
    /// Earned states and definitions fetched.
    pub earned_states: usize,
    pub definitions: usize,
}

/// The fill-ins of the process; cheap to clone, clones share them.
#[derive(Clone)]
pub struct FillIns {
    shares: Shares,
    tasks: TaskTracker,
    cancel: CancellationToken,
    /// The account IDs being filled in.
    running: Arc<Mutex<HashSet<String>>>,
}

/// Takes a player off the running set when their fill-in ends, however it ends.
struct Running {
    running: Arc<Mutex<HashSet<String>>>,
    account_id: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.account_id);
    }
}

impl FillIns {
    /// Fill-ins charged to `shares`, run on `tasks` and stopped by `cancel` (the bot's
    /// background tasks: shutdown cancels and waits for them).
    pub fn new(shares: Shares, tasks: TaskTracker, cancel: CancellationToken) -> FillIns {
        FillIns {
            shares,
            tasks,
            cancel,
            running: Arc::default(),
        }
    }

    /// Starts fetching `rest` for `user` in `server` (`None`: a DM), unless a fill-in of the
    /// same player runs already (`None` then). The handle tells how it ended.
    pub fn start(
        &self,
        services: &Services,
        rest: Rest,
        user: u64,
        server: Option<u64>,
    ) -> Option<JoinHandle<FillInReport>> {
        let account_id = rest.account().account_id.clone();
        if !self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account_id.clone())
        {
            return None;
        }
        let running = Running {
            running: self.running.clone(),
            account_id,
        };
        let patience = self.shares.limits().window * PATIENCE_WINDOWS;
        let work = FillIn {
            services: services.clone(),
            shares: self.shares.clone(),
            user,
            server,
            cancel: self.cancel.clone(),
            give_up_at: Instant::now() + patience,
        };
        Some(self.tasks.spawn(async move {
            let report = work.run(rest).await;
            drop(running);
            tracing::info!(ended = ?report.ended, earned_states = report.earned_states,
                definitions = report.definitions, user, server, "rarest fill-in ended");
            report
        }))
    }
}

struct FillIn {
    services: Services,
    shares: Shares,
    user: u64,
    server: Option<u64>,
    cancel: CancellationToken,
    /// No more waiting for the shares after this.
    give_up_at: Instant,
}

/// Why a step could not run.
enum Stop {
    Share,
    Cancelled,
    Failed,
}

impl FillIn {
    async fn run(&self, rest: Rest) -> FillInReport {
        let mut report = FillInReport {
            ended: Ended::Done,
            earned_states: 0,
            definitions: 0,
        };
        let account = rest.account().clone();
        let mut ranked = rest.ranked;
        for key in rest.titles {
            let id = &key.np_communication_id;
            let fetched = self
                .step(cost::EARNED, |client| {
                    let account = account.clone();
                    let service = key.service;
                    async move { client.earned_state(&account, id, service).await }
                })
                .await;
            let (earned, updated) = match fetched {
                Ok(Some(state)) => state,
                // A title PSN no longer knows: the others still count.
                Ok(None) => continue,
                Err(stop) => return report.stopped(stop),
            };
            report.earned_states += 1;
            if rest.library == Library::Stored {
                let state = title_state(id, updated, &earned);
                self.services.keep_earned_ids(&account, &[state]).await;
            }
            ranked.extend(
                earned
                    .into_iter()
                    .filter(|t| t.earned)
                    .map(|trophy| (key.clone(), trophy)),
            );
        }
        // The definitions the next call shows: of the top trophies over everything known now.
        ranked.sort_by(|a, b| rank_trophies(&a.1, &b.1).then(a.1.id.cmp(&b.1.id)));
        let mut asked = HashSet::new();
        for (key, _) in ranked.iter().take(usize::from(rest.count)) {
            let id = &key.np_communication_id;
            if self.services.client.has_title_cached(id) || !asked.insert(id.clone()) {
                continue;
            }
            let fetched = self
                .step(cost::DEFINITIONS, |client| async move {
                    client.title(id, key.service).await
                })
                .await;
            match fetched {
                Ok(Some(_)) => report.definitions += 1,
                Ok(None) => {}
                Err(stop) => return report.stopped(stop),
            }
        }
        report
    }

    /// One request's worth of work: admitted from the shares' spare room, sent on idle command
    /// capacity and charged what it sent; `Ok(None)` for a title PSN does not know.
    async fn step<T, F, Fut>(&self, estimate: u32, work: F) -> Result<Option<T>, Stop>
    where
        F: FnOnce(psn::Client) -> Fut,
        Fut: std::future::Future<Output = psn::Result<T>>,
    {
        if self.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        let admission: Admission = loop {
            match self.shares.admit_spare(self.user, self.server, estimate) {
                Ok(admission) => break admission,
                Err(refusal) => {
                    // At least a second: a refusal never asks for a busy loop.
                    let retry_at =
                        Instant::now() + refusal.retry_after.max(std::time::Duration::from_secs(1));
                    if retry_at > self.give_up_at {
                        return Err(Stop::Share);
                    }
                    tokio::select! {
                        () = self.cancel.cancelled() => return Err(Stop::Cancelled),
                        () = tokio::time::sleep_until(retry_at) => {}
                    }
                }
            }
        };
        let client = self.services.client.idle().metered(admission.meter());
        let result = tokio::select! {
            () = self.cancel.cancelled() => return Err(Stop::Cancelled),
            result = work(client) => result,
        };
        drop(admission);
        match result {
            Ok(value) => Ok(Some(value)),
            Err(psn::Error::TitleNotFound(_)) => Ok(None),
            Err(err) => {
                tracing::warn!(%err, "rarest fill-in stopped: PSN failed");
                Err(Stop::Failed)
            }
        }
    }
}

impl FillInReport {
    fn stopped(mut self, stop: Stop) -> FillInReport {
        self.ended = match stop {
            Stop::Share => Ended::ShareUsed,
            Stop::Cancelled => Ended::Cancelled,
            Stop::Failed => Ended::Failed,
        };
        self
    }
}
