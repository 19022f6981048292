//! The tracker's loop: keeps the scheduler's accounts in step with what guilds track, and
//! spends the tracker's share of the PSN budget as the scheduler decides (polls and presence
//! sweeps). Polls go through [`poll_account`], which writes state and announcements in one
//! transaction; the deliverer is woken when announcements were written.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backfill::Backfill;
use super::poll::{poll_account, PollReport, PollResult, PollTerms, LEASE};
use super::schedule::{
    AccountKey, AdaptiveScheduler, Decision, PollOutcome, PollScheduler, ReportedPresence,
    RequestBudget, ScheduleConfig,
};
use super::Signals;
use crate::pool::Pool;
use crate::store::Store;

/// The tracked set is re-read this often even without a signal (another process may change it).
const RELOAD_EVERY: Duration = Duration::from_secs(30);
/// After a database error the loop waits this long before trying again.
const STORE_RETRY: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct TrackerSettings {
    /// `TRACKER_MAX_STALENESS`.
    pub max_staleness: Duration,
    /// `TRACKER_COMMAND_RESERVE`, 0.0 to 1.0.
    pub command_reserve: f64,
    /// `PSN_RATE_LIMIT`: the budget shared with commands.
    pub rate_limit: psn::RateLimit,
    /// This process's lease owner id, unique per process (e.g. host name and process id).
    pub owner: String,
    /// The test hook (see [`crate::failpoint`]); `None` in production.
    pub failpoint: Option<crate::failpoint::Failpoint>,
    /// Counts the history backfill's PSN requests (a metric; see [`super::backfill`]).
    pub backfill_meter: psn::Meter,
    /// With several processes on the database: polls only the accounts that fall to this one
    /// (see [`crate::shards::polls_account`]). `None`: every account.
    pub processes: Option<crate::shards::ProcessSplit>,
}

impl TrackerSettings {
    /// The scheduler's settings: the tracker's share of the budget and the staleness floor.
    /// `/track list` reports from the same settings.
    pub fn schedule_config(
        rate_limit: &psn::RateLimit,
        command_reserve: f64,
        max_staleness: Duration,
    ) -> ScheduleConfig {
        let rate =
            RequestBudget::tracker_rate(rate_limit.requests, rate_limit.per, command_reserve);
        ScheduleConfig::new(rate, max_staleness)
    }
}

/// Starts the tracker; it stops when `cancel` is cancelled. `client` should be the background
/// client (`Client::background`), so its requests take the tracker's guaranteed share of the budget.
pub fn spawn_tracker(
    store: Store,
    client: psn::Client,
    settings: TrackerSettings,
    signals: Signals,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        Tracker::new(store, client, settings, signals, cancel, None)
            .run()
            .await;
    })
}

/// Which tracked accounts a tracker polls: those the pool assigns to credential `index`.
#[derive(Clone)]
struct Lane {
    pool: Pool,
    index: usize,
}

/// Starts the tracker over a pool of credentials: one lane per credential, each a tracker of
/// its own (scheduler, rate, presence batches, backfill) over the accounts the pool assigns to
/// it, with the credential's background client. A lane is simpler than one scheduler juggling
/// several budgets: each credential's rate is exactly its own, and presence is asked with the
/// credential that polls the account (whose friends decide what it sees). When a credential is
/// rejected or accepted again, every lane re-reads its accounts at once, so the rejected one's
/// accounts move to the others by the hashing. A pool of one is the plain tracker, as before.
/// The returned task ends when every lane has stopped.
pub fn spawn_pool_tracker(
    store: Store,
    pool: Pool,
    settings: TrackerSettings,
    signals: Signals,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    if pool.len() <= 1 {
        let client = pool.members()[0].client.background();
        return spawn_tracker(store, client, settings, signals, cancel);
    }
    tokio::spawn(async move {
        let mut lanes = Vec::new();
        let mut wakes = Vec::new();
        for (index, member) in pool.members().iter().enumerate() {
            let lane_signals = Signals {
                accounts_changed: Default::default(),
                outbox_ready: signals.outbox_ready.clone(),
            };
            wakes.push(lane_signals.accounts_changed.clone());
            // Each lane holds its poll leases under a name of its own, so two lanes never
            // poll one account at once while an assignment changes.
            let lane_settings = TrackerSettings {
                owner: format!("{}/{}", settings.owner, member.label),
                ..settings.clone()
            };
            let tracker = Tracker::new(
                store.clone(),
                member.client.background(),
                lane_settings,
                lane_signals,
                cancel.clone(),
                Some(Lane {
                    pool: pool.clone(),
                    index,
                }),
            );
            lanes.push(tokio::spawn(tracker.run()));
        }
        let wake_all = || wakes.iter().for_each(|wake| wake.notify_one());
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = signals.accounts_changed.notified() => wake_all(),
                () = pool.changed() => {
                    let live: Vec<&str> = pool
                        .live()
                        .into_iter()
                        .map(|i| pool.members()[i].label.as_str())
                        .collect();
                    tracing::warn!(live = ?live, "the pool of PSN credentials changed; reassigning tracked accounts");
                    wake_all();
                }
            }
        }
        for lane in lanes {
            let _ = lane.await;
        }
    })
}

/// Seconds since the epoch for the scheduler, from tokio's clock: a wall-clock base taken once
/// plus tokio time elapsed, so tests with a paused clock drive it.
struct Clock {
    base_secs: f64,
    base: Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            base_secs: Utc::now().timestamp_millis() as f64 / 1000.0,
            base: Instant::now(),
        }
    }

    fn now(&self) -> f64 {
        self.base_secs + self.base.elapsed().as_secs_f64()
    }

    /// The tokio instant of scheduler time `secs` (far-off times are capped at a day ahead).
    fn instant_at(&self, secs: f64) -> Instant {
        let ahead = (secs - self.now()).clamp(0.0, 86_400.0);
        Instant::now() + Duration::from_secs_f64(ahead)
    }
}

struct Tracker {
    store: Store,
    client: psn::Client,
    settings: TrackerSettings,
    signals: Signals,
    cancel: CancellationToken,
    clock: Clock,
    scheduler: AdaptiveScheduler,
    keys: HashMap<String, AccountKey>,
    /// By key index: the account ID, `None` once untracked.
    ids: Vec<Option<String>>,
    /// PSN said to wait (429) until then.
    backoff_until: Option<Instant>,
    next_reload: Instant,
    backfill: Backfill,
    /// In a pool, the credential whose accounts this tracker polls.
    lane: Option<Lane>,
    /// The part of the PSN budget the scheduler plans on: the client's share when last seen.
    planned_on: psn::RateLimit,
}

impl Tracker {
    fn new(
        store: Store,
        client: psn::Client,
        settings: TrackerSettings,
        signals: Signals,
        cancel: CancellationToken,
        lane: Option<Lane>,
    ) -> Tracker {
        let scheduler = AdaptiveScheduler::new(TrackerSettings::schedule_config(
            &settings.rate_limit,
            settings.command_reserve,
            settings.max_staleness,
        ));
        let tracker_rate = TrackerSettings::schedule_config(
            &settings.rate_limit,
            settings.command_reserve,
            settings.max_staleness,
        )
        .rate_per_sec;
        let backfill = Backfill::new(tracker_rate, settings.backfill_meter.clone());
        let clock = Clock::new();
        let settings_rate_limit = settings.rate_limit;
        let mut scheduler = scheduler;
        // History is likely left to fill in (it is after a restart): its share is set aside
        // until the backfill finds nothing.
        scheduler.set_backfill_share(clock.now(), super::backfill::BACKFILL_SHARE);
        Tracker {
            store,
            client,
            settings,
            signals,
            cancel,
            clock,
            scheduler,
            keys: HashMap::new(),
            ids: Vec::new(),
            backoff_until: None,
            next_reload: Instant::now(),
            backfill,
            lane,
            planned_on: settings_rate_limit,
        }
    }

    /// Plans on this process's part of the budget: with several processes on one credential
    /// the client keeps to a part (`Client::share_budget`), and polls planned beyond it would
    /// only queue at the budget while the scheduler thinks them sent.
    fn follow_budget_share(&mut self) {
        let share = self.client.budget_share();
        if share == self.planned_on {
            return;
        }
        let config = TrackerSettings::schedule_config(
            &share,
            self.settings.command_reserve,
            self.settings.max_staleness,
        );
        let now = self.clock.now();
        self.scheduler.set_rate(now, config.rate_per_sec);
        self.backfill.set_tracker_rate(now, config.rate_per_sec);
        tracing::info!(
            requests = share.requests,
            per = ?share.per,
            "the tracker now plans on this process's part of the PSN budget"
        );
        self.planned_on = share;
    }

    async fn run(mut self) {
        tracing::info!(owner = %self.settings.owner, "tracker started");
        // Registered before each reload, so a change made while reloading is not missed.
        let mut changed = Box::pin(self.signals.accounts_changed.clone().notified_owned());
        while !self.cancel.is_cancelled() {
            self.follow_budget_share();
            // A busy loop (poll after poll) still notices a change between two polls.
            tokio::select! {
                biased;
                _ = &mut changed => self.next_reload = Instant::now(),
                _ = std::future::ready(()) => {}
            }
            if Instant::now() >= self.next_reload {
                changed = Box::pin(self.signals.accounts_changed.clone().notified_owned());
                if let Err(err) = self.reload().await {
                    tracing::warn!(%err, "tracker could not read the tracked accounts");
                    self.next_reload = Instant::now() + STORE_RETRY;
                } else {
                    self.next_reload = Instant::now() + RELOAD_EVERY;
                }
            }
            let wake_at = match self.backoff_until.filter(|at| *at > Instant::now()) {
                Some(at) => at,
                // The history backfill's turn comes first when its bucket allows: its share is
                // set aside from the scheduler's plan, so polls keep the rest.
                None if self.backfill.may_run(self.clock.now()) => {
                    self.backfill_step().await;
                    continue;
                }
                None => match self.scheduler.next_decision(self.clock.now()) {
                    Decision::Poll(key) => {
                        let borrowed = self.client.stats().tracker_borrowed;
                        self.poll(key).await;
                        self.refund_borrowed_since(borrowed);
                        continue;
                    }
                    Decision::PresenceBatch(keys) => {
                        let borrowed = self.client.stats().tracker_borrowed;
                        self.presence(&keys).await;
                        self.refund_borrowed_since(borrowed);
                        continue;
                    }
                    Decision::WaitUntil(at) => {
                        let now = self.clock.now();
                        self.clock.instant_at(at.min(self.backfill.ready_at(now)))
                    }
                },
            };
            let wake_at = wake_at.min(self.next_reload);
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                _ = &mut changed => {
                    // Re-read at once; the next notification is registered then.
                    self.next_reload = Instant::now();
                }
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
        // A poll cut short by the shutdown left its lease behind.
        if let Err(err) = self.store.release_leases(&self.settings.owner).await {
            tracing::warn!(%err, "tracker could not release its leases");
        }
        tracing::info!("tracker stopped");
    }

    /// Requests borrowed from the commands' part since `before` (the client's count) were not
    /// the tracker's share: the scheduler gets them back, so that it keeps asking for every
    /// slot of its share (only a tracker that waits throughout is guaranteed them; one that
    /// paused to pay back borrowed requests would leave slots for commands to take).
    fn refund_borrowed_since(&mut self, before: u64) {
        let borrowed = self.client.stats().tracker_borrowed.saturating_sub(before);
        if borrowed > 0 {
            let borrowed = u32::try_from(borrowed).unwrap_or(u32::MAX);
            self.scheduler.refund_borrowed(self.clock.now(), borrowed);
        }
    }

    /// Brings the scheduler's accounts in line with the database.
    async fn reload(&mut self) -> Result<(), crate::store::StoreError> {
        let (added, removed) = self.store.sync_account_state().await?;
        if added + removed > 0 {
            tracing::info!(added, removed, "tracked accounts changed");
        }
        let mut accounts = self.store.tracker_accounts().await?;
        if let Some(lane) = &self.lane {
            let live = lane.pool.live();
            accounts.retain(|a| lane.pool.assigned_among(&a.account_id, &live) == lane.index);
        }
        if let Some(split) = &self.settings.processes {
            let held = split.held.borrow().clone();
            accounts
                .retain(|a| crate::shards::polls_account(&held, &split.instance, &a.account_id));
        }
        if self.lane.is_some() || self.settings.processes.is_some() {
            let mine: Vec<String> = accounts.iter().map(|a| a.account_id.clone()).collect();
            self.backfill.limit_to(mine);
        }
        let tracked: HashMap<&str, bool> = accounts
            .iter()
            .map(|a| (a.account_id.as_str(), a.baseline_done))
            .collect();
        let gone: Vec<String> = self
            .keys
            .keys()
            .filter(|id| !tracked.contains_key(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            if let Some(key) = self.keys.remove(&id) {
                self.scheduler.remove_account(key);
                if let Some(slot) = self.ids.get_mut(key.0) {
                    *slot = None;
                }
            }
        }
        // Baseline-pending accounts come first in the list: a new key is due at once.
        for account in &accounts {
            if !self.keys.contains_key(&account.account_id) {
                let key = self.scheduler.add_account();
                if self.ids.len() <= key.0 {
                    self.ids.resize(key.0 + 1, None);
                }
                self.ids[key.0] = Some(account.account_id.clone());
                self.keys.insert(account.account_id.clone(), key);
            }
        }
        Ok(())
    }

    async fn poll(&mut self, key: AccountKey) {
        let Some(account_id) = self.ids.get(key.0).cloned().flatten() else {
            return;
        };
        let next_check_in = self.scheduler.expected_interval(key, self.clock.now());
        let polled = poll_account(
            &self.store,
            &self.client,
            &account_id,
            &self.settings.owner,
            PollTerms {
                next_check_in,
                lease: LEASE,
                failpoint: self.settings.failpoint,
            },
            &self.cancel,
        )
        .await;
        if self.cancel.is_cancelled() {
            return;
        }
        let outcome = match polled {
            Ok(report) => {
                self.after_poll(&account_id, &report);
                if report.result == PollResult::Baseline {
                    // A new library: its history is the backfill's work from now on.
                    self.backfill.new_library();
                    let share = super::backfill::BACKFILL_SHARE;
                    self.scheduler.set_backfill_share(self.clock.now(), share);
                }
                PollOutcome {
                    new_trophies: report.new_trophies,
                    // The scheduler charged one request for the poll itself.
                    changed_titles: report.requests.saturating_sub(1),
                }
            }
            Err(err) => {
                self.after_error(&account_id, &err);
                PollOutcome::default()
            }
        };
        self.scheduler.record_poll(key, self.clock.now(), outcome);
    }

    fn after_poll(&self, account_id: &str, report: &PollReport) {
        match report.result {
            PollResult::Private => {
                tracing::info!(account_id, "trophy list is private; kept at the usual pace")
            }
            PollResult::Gone => tracing::info!(account_id, "PSN account not found"),
            PollResult::Baseline => tracing::info!(account_id, "baseline taken"),
            PollResult::Skipped | PollResult::LeaseLost | PollResult::Polled => {}
        }
        if report.new_trophies > 0 {
            tracing::info!(
                account_id,
                trophies = report.new_trophies,
                announcements = report.outbox_inserted,
                "new trophies"
            );
        }
        if report.outbox_inserted > 0 {
            self.signals.outbox_ready.notify_one();
        }
    }

    fn after_error(&mut self, account_id: &str, err: &super::poll::TrackerError) {
        tracing::warn!(account_id, %err, "tracker poll failed");
        if let super::poll::TrackerError::Psn(psn::Error::RateLimited { retry_at }) = err {
            self.back_off_until(*retry_at);
        }
    }

    fn back_off_until(&mut self, retry_at: chrono::DateTime<Utc>) {
        let wait = (retry_at - Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(3600));
        self.backoff_until = Some(Instant::now() + wait);
    }

    /// One request of the history backfill (see [`super::backfill`]).
    async fn backfill_step(&mut self) {
        let now = self.clock.now();
        match self
            .backfill
            .step(
                &self.store,
                &self.client,
                &self.settings.owner,
                now,
                &self.cancel,
            )
            .await
        {
            Ok(_) => {
                let share = if self.backfill.has_work() {
                    super::backfill::BACKFILL_SHARE
                } else {
                    0.0
                };
                self.scheduler.set_backfill_share(self.clock.now(), share);
            }
            Err(err) => {
                tracing::warn!(%err, "history backfill failed");
                self.backfill.hold_off(now);
                if let super::poll::TrackerError::Psn(psn::Error::RateLimited { retry_at }) = err {
                    self.back_off_until(retry_at);
                }
            }
        }
    }

    async fn presence(&mut self, keys: &[AccountKey]) {
        let asked: Vec<(AccountKey, String)> = keys
            .iter()
            .filter_map(|key| self.ids.get(key.0).cloned().flatten().map(|id| (*key, id)))
            .collect();
        if asked.is_empty() {
            return;
        }
        let ids: Vec<String> = asked.iter().map(|(_, id)| id.clone()).collect();
        let answered = tokio::select! {
            _ = self.cancel.cancelled() => return,
            answered = self.client.presences(&ids) => answered,
        };
        let presences = match answered {
            Ok(presences) => presences,
            Err(err) => {
                tracing::warn!(%err, accounts = ids.len(), "presence request failed");
                if let psn::Error::RateLimited { retry_at } = err {
                    self.back_off_until(retry_at);
                }
                return;
            }
        };
        let by_id: HashMap<&str, &psn::Presence> = presences
            .iter()
            .map(|p| (p.account_id.as_str(), p))
            .collect();
        let mut answer = Vec::new();
        let (mut visible, mut hidden) = (Vec::new(), Vec::new());
        for (key, id) in &asked {
            match by_id.get(id.as_str()) {
                Some(presence) => {
                    answer.push((*key, reported(presence)));
                    visible.push(id.clone());
                }
                // Left out of the answer: presence hidden from the bot's account.
                None => hidden.push(id.clone()),
            }
        }
        let asked_keys: Vec<AccountKey> = asked.iter().map(|(key, _)| *key).collect();
        self.scheduler
            .record_presence(self.clock.now(), &asked_keys, &answer);
        if let Err(err) = self
            .store
            .record_presence_visibility(&visible, &hidden)
            .await
        {
            tracing::warn!(%err, "could not store presence visibility");
        }
    }
}

fn reported(presence: &psn::Presence) -> ReportedPresence {
    match (presence.online, presence.playing.is_empty()) {
        (true, false) => ReportedPresence::OnlinePlaying,
        (true, true) => ReportedPresence::OnlineIdle,
        (false, _) => ReportedPresence::Offline {
            last_online: presence
                .last_online
                .map(|at| at.timestamp_millis() as f64 / 1000.0),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(online: bool, playing: bool) -> psn::Presence {
        psn::Presence {
            account_id: "1".into(),
            online,
            platform: None,
            playing: if playing {
                vec![psn::PlayingTitle {
                    np_title_id: "PPSA00001_00".into(),
                    name: "Game".into(),
                }]
            } else {
                Vec::new()
            },
            last_online: None,
        }
    }

    #[test]
    fn only_an_online_player_in_a_game_counts_as_playing() {
        assert_eq!(
            reported(&presence(true, true)),
            ReportedPresence::OnlinePlaying
        );
        assert_eq!(
            reported(&presence(true, false)),
            ReportedPresence::OnlineIdle
        );
        assert_eq!(
            reported(&presence(false, true)),
            ReportedPresence::Offline { last_online: None }
        );
    }

    #[test]
    fn an_offline_players_last_online_time_reaches_the_scheduler_in_seconds() {
        let mut offline = presence(false, false);
        offline.last_online = chrono::DateTime::parse_from_rfc3339("2025-05-04T18:19:05.288Z")
            .ok()
            .map(|at| at.with_timezone(&chrono::Utc));
        assert_eq!(
            reported(&offline),
            ReportedPresence::Offline {
                last_online: Some(1_746_382_745.288)
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn scheduler_time_follows_tokios_clock() {
        let clock = Clock::new();
        let start = clock.now();
        tokio::time::advance(Duration::from_secs(90)).await;
        assert!((clock.now() - start - 90.0).abs() < 1e-6);
        let at = clock.instant_at(clock.now() + 30.0);
        assert_eq!(at - Instant::now(), Duration::from_secs(30));
        // The past is now; the far future is capped.
        assert_eq!(clock.instant_at(start), Instant::now());
        assert_eq!(
            clock.instant_at(f64::INFINITY) - Instant::now(),
            Duration::from_secs(86_400)
        );
    }
}
