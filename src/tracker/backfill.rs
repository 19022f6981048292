//! The history backfill: the earned state (ids and dates) of every title in a tracked player's
//! stored library that has none yet, newest titles first. The baseline stores title listings
//! only; with the backfill, "who in this server earned it first" and the like can be answered
//! from the database.
//!
//! # Its slice of the budget
//!
//! While there is history to fill in, the scheduler plans its polls on 80 % of the tracker's
//! rate ([`BACKFILL_SHARE`] reserved, see `AdaptiveScheduler::set_backfill_share`) and the
//! backfill spends the other 20 % by a token bucket of its own; with nothing left to fill in,
//! the scheduler has the whole rate back. The backfill runs inside the tracker's loop, one
//! request at a time between polls (never beside one), taking its turn whenever its bucket
//! allows, so it gets its slice even when polls follow each other back to back, and it only
//! takes tracker slots the scheduler does not plan to use. The cost is a
//! quarter more time between polls while a backfill lasts, which only shows when the tracker
//! is saturated (the staleness floor; with spare room the planned polls still go out).
//! Detection keeps priority in another way too: PSN's 429 or a database error pauses the
//! backfill before anything else.
//!
//! Each title is fetched under the account's poll lease (so one process at a time works on an
//! account) and written with [`Store::fill_in_earned_ids`]: only when the tracker's stored
//! listing shows the same last-update time as the fetched state, and never over a state the
//! tracker stored. The poll's diff therefore stays exact, and the backfill writes no
//! announcement. A title whose state could not be matched (the player earned something since
//! the listing) is left to the next poll, which stores its state anyway. After a restart the
//! work is found again: it is just the titles without a state.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use psn::{Account, Meter};
use tokio_util::sync::CancellationToken;

use super::poll::TrackerError;
use super::schedule::RequestBudget;
use crate::store::{BackfillTitle, Store};

/// The most of the tracker's rate the backfill spends.
pub const BACKFILL_SHARE: f64 = 0.2;
/// Requests the backfill may send back to back after missing its turns.
pub const BACKFILL_BURST: f64 = 5.0;
/// Titles read from the database at a time.
const BATCH: usize = 50;
/// How long a backfill holds an account's poll lease (one request and one write).
const LEASE: Duration = Duration::from_secs(60);
/// With nothing to do, the database is asked again after this long.
const IDLE_RECHECK: f64 = 30.0;
/// After an account found held by another process or a failed request, this long.
const RETRY: f64 = 5.0;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A title's earned state was fetched; `written` unless it no longer matched the listing.
    Fetched { written: bool },
    /// Nothing to fetch, or the next title's account is held elsewhere.
    Nothing,
}

/// The backfill's state in one tracker loop.
pub struct Backfill {
    bucket: RequestBudget,
    /// Whether titles are left (as far as the last read of the database knows).
    has_work: bool,
    queue: VecDeque<BackfillTitle>,
    /// Titles fetched in this process whose state could not be stored (by account, title and
    /// listing time): not asked again until their listing changes.
    tried: HashSet<(String, String, Option<i64>)>,
    /// Not before then (scheduler seconds): nothing to do, or a retry.
    not_before: f64,
    /// Counts the backfill's requests (the `trophybot_tracker_backfill_requests_total` metric).
    meter: Meter,
    /// In a pool's lane, the accounts whose history this backfill fills in (those its
    /// credential polls); `None`: every account.
    accounts: Option<Vec<String>>,
}

impl Backfill {
    /// A backfill beside a tracker planned on `tracker_rate` requests per second.
    pub fn new(tracker_rate: f64, meter: Meter) -> Backfill {
        Backfill {
            // A burst like the scheduler's: a turn missed while a check took several slots is
            // made up at the next wait, so the tracker's slots are all used.
            bucket: RequestBudget::new(tracker_rate * BACKFILL_SHARE, BACKFILL_BURST),
            // Until the database says otherwise (after a restart, work is likely).
            has_work: true,
            queue: VecDeque::new(),
            tried: HashSet::new(),
            not_before: f64::NEG_INFINITY,
            meter,
            accounts: None,
        }
    }

    /// The tracker's rate changed (this process's part of the PSN budget): its share with it.
    pub fn set_tracker_rate(&mut self, now: f64, tracker_rate: f64) {
        self.bucket.set_rate(now, tracker_rate * BACKFILL_SHARE);
    }

    /// Fills in only `accounts`' history from now on (a pool's lane, after its accounts were
    /// reassigned): titles queued for others are dropped.
    pub fn limit_to(&mut self, accounts: Vec<String>) {
        if self.accounts.as_ref() == Some(&accounts) {
            return;
        }
        self.queue.retain(|t| accounts.contains(&t.account_id));
        self.accounts = Some(accounts);
        self.not_before = f64::NEG_INFINITY;
        self.has_work = true;
    }

    /// Whether a step may run at `now`.
    pub fn may_run(&mut self, now: f64) -> bool {
        self.bucket.rate_per_sec() > 0.0
            && now >= self.not_before
            && self.bucket.ready_at(now, 1.0) <= now
    }

    /// Whether titles are left to fill in: the scheduler keeps the backfill's share meanwhile.
    pub fn has_work(&self) -> bool {
        self.has_work
    }

    /// A baseline was just stored: there is history to fill in, look at once.
    pub fn new_library(&mut self) {
        self.not_before = f64::NEG_INFINITY;
        self.has_work = true;
    }

    /// After a failed step (the database away, PSN's 429): not again for a while.
    pub fn hold_off(&mut self, now: f64) {
        self.not_before = now + RETRY;
    }

    /// When a step could run next.
    pub fn ready_at(&mut self, now: f64) -> f64 {
        if self.bucket.rate_per_sec() <= 0.0 {
            return f64::INFINITY;
        }
        self.bucket.ready_at(now, 1.0).max(self.not_before)
    }

    /// Fetches and stores the next title's earned state, as `owner`.
    pub async fn step(
        &mut self,
        store: &Store,
        client: &psn::Client,
        owner: &str,
        now: f64,
        cancel: &CancellationToken,
    ) -> Result<Step, TrackerError> {
        if self.queue.is_empty() {
            self.refill(store).await?;
        }
        let Some(next) = self.queue.pop_front() else {
            self.has_work = false;
            self.not_before = now + IDLE_RECHECK;
            return Ok(Step::Nothing);
        };
        self.has_work = true;
        if store
            .claim_account(&next.account_id, owner, LEASE)
            .await?
            .is_none()
        {
            // Another process polls or backfills this player now; its titles come back later.
            self.queue.retain(|t| t.account_id != next.account_id);
            self.not_before = now + RETRY;
            return Ok(Step::Nothing);
        }
        let before = self.meter.count();
        let fetched = self.fetch(store, client, &next, cancel).await;
        let released = store.release_account(&next.account_id, owner).await;
        let sent = self.meter.count().saturating_sub(before);
        // At least one: a request may have been answered from a cache, but a slot was planned.
        self.bucket.spend(now, sent.max(1) as f64);
        released?;
        match fetched {
            Ok(step) => Ok(step),
            Err(TrackerError::Psn(psn::Error::RateLimited { retry_at })) => {
                Err(TrackerError::Psn(psn::Error::RateLimited { retry_at }))
            }
            Err(err) => {
                tracing::warn!(%err, account_id = %next.account_id,
                    title = %next.title.np_communication_id, "history backfill request failed");
                self.not_before = now + RETRY;
                Ok(Step::Nothing)
            }
        }
    }

    /// The next titles without a state, less those tried already.
    async fn refill(&mut self, store: &Store) -> Result<(), TrackerError> {
        let titles = store
            .backfill_titles_of(self.accounts.as_deref(), BATCH + self.tried.len())
            .await?;
        self.queue = titles
            .into_iter()
            .filter(|t| !self.tried.contains(&tried_key(t)))
            .take(BATCH)
            .collect();
        Ok(())
    }

    async fn fetch(
        &mut self,
        store: &Store,
        client: &psn::Client,
        next: &BackfillTitle,
        cancel: &CancellationToken,
    ) -> Result<Step, TrackerError> {
        let account = Account {
            account_id: next.account_id.clone(),
            online_id: next.online_id.clone(),
        };
        let id = &next.title.np_communication_id;
        let client = client.metered(self.meter.clone());
        let answered = tokio::select! {
            () = cancel.cancelled() => return Ok(Step::Nothing),
            answered = client.earned_state(&account, id, next.title.service) => answered,
        };
        let (earned, last_updated) = match answered {
            Ok(answered) => answered,
            // The poll tells what changed (a title gone, the list made private); this title is
            // not asked again in this process.
            Err(
                psn::Error::TitleNotFound(_) | psn::Error::Private(_) | psn::Error::UserNotFound(_),
            ) => {
                self.tried.insert(tried_key(next));
                return Ok(Step::Fetched { written: false });
            }
            Err(err) => return Err(err.into()),
        };
        let state = crate::commands::rarest::title_state(id, last_updated, &earned);
        let written = store.fill_in_earned_ids(&next.account_id, &[state]).await? > 0;
        if !written {
            self.tried.insert(tried_key(next));
        }
        Ok(Step::Fetched { written })
    }
}

fn tried_key(title: &BackfillTitle) -> (String, String, Option<i64>) {
    (
        title.account_id.clone(),
        title.title.np_communication_id.clone(),
        title.title.last_updated.map(|at| at.timestamp_millis()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_at_most_its_share_of_the_trackers_rate() {
        // A tracker of 1 request per second: the backfill gets one every 5 s.
        let mut backfill = Backfill::new(1.0, Meter::new());
        let now = 1_000.0;
        assert!(backfill.may_run(now));
        backfill.bucket.spend(now, BACKFILL_BURST);
        assert!(!backfill.may_run(now + 4.9));
        assert!((backfill.ready_at(now + 4.9) - (now + 5.0)).abs() < 1e-9);
        assert!(backfill.may_run(now + 5.0));
        backfill.hold_off(now + 5.0);
        assert!(!backfill.may_run(now + 5.0));
        assert!((backfill.ready_at(now + 5.0) - (now + 5.0 + RETRY)).abs() < 1e-9);
    }

    #[test]
    fn a_tracker_without_budget_never_backfills() {
        let mut backfill = Backfill::new(0.0, Meter::new());
        assert!(!backfill.may_run(0.0));
        assert_eq!(backfill.ready_at(0.0), f64::INFINITY);
    }
}
