//! Pure poll scheduling for the tracker: no I/O and no clock reads. Time is passed in as
//! seconds since the Unix epoch (`f64`), so the real loop and the benchmark's virtual clock
//! drive the same code.
//!
//! [`AdaptiveScheduler`] spends the budget on presence sweeps and on polls whose rate follows
//! the square root of each account's estimated trophy rate (the allocation that minimises the
//! mean detection delay of Poisson arrivals under a rate budget). The benchmark's baseline,
//! round-robin (`benches/tracker/round_robin.rs`), has the same interface ([`PollScheduler`]).
//!
//! The staleness floor is a promise, not a weight: every account is planned at most
//! [`PollScheduler::effective_staleness`] apart (`max(max_staleness, N / (floor_share ·
//! r_poll))`), the square-root rule shares only what the floor leaves (water-filling, so the
//! plan never asks for more polls than the budget gives), and an account about to pass the
//! floor goes before any other. An account presence saw playing gets one more poll when it
//! goes offline, for what the end of its session earned; so does one whose `lastOnlineDate`
//! moved since its last poll (a session shorter than the sweep period, never seen playing).

use std::time::Duration;

/// PSN's `basicPresences` answers at most this many accounts per request.
pub const PRESENCE_BATCH: usize = 100;

/// Index of an account inside one scheduler (the caller maps it to a PSN account ID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountKey(pub usize);

/// What the tracker should do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing may be spent before this time (seconds since the epoch).
    WaitUntil(f64),
    /// One `trophyTitles?limit=..` request for this account; report the result with
    /// [`PollScheduler::record_poll`].
    Poll(AccountKey),
    /// One `basicPresences` request for these accounts (at most [`PRESENCE_BATCH`]); report
    /// the answer with [`PollScheduler::record_presence`].
    PresenceBatch(Vec<AccountKey>),
}

/// What a poll found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PollOutcome {
    /// Trophies newly seen (by state diff against the previous poll).
    pub new_trophies: u32,
    /// Follow-up requests the poll needed, each charged to the budget: one per title whose
    /// earned state had to be fetched, plus one per further listing page read (when every
    /// title on a page had changed).
    pub changed_titles: u32,
}

/// Presence of one account as the `basicPresences` answer reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReportedPresence {
    /// Offline, with PSN's `lastOnlineDate` (seconds since the epoch) when it gives one.
    Offline {
        last_online: Option<f64>,
    },
    /// Online (any) without a game: may start one soon, treated like offline.
    OnlineIdle,
    OnlinePlaying,
}

/// A scheduler's interface, shared by the adaptive one and the benchmark's round-robin baseline.
pub trait PollScheduler {
    /// Starts tracking an account; it is due at once.
    fn add_account(&mut self) -> AccountKey;
    /// Stops tracking an account: it is never chosen again and its key is not reused.
    fn remove_account(&mut self, account: AccountKey);
    /// The next request to spend, or when to ask again.
    fn next_decision(&mut self, now: f64) -> Decision;
    /// Reports a poll's result; extra requests for changed titles are charged to the budget.
    fn record_poll(&mut self, account: AccountKey, now: f64, outcome: PollOutcome);
    /// Reports a presence answer for `asked`; accounts left out of `answer` are hidden.
    fn record_presence(
        &mut self,
        now: f64,
        asked: &[AccountKey],
        answer: &[(AccountKey, ReportedPresence)],
    );
    /// The longest an account goes unchecked: `max_staleness`, or longer when the budget
    /// cannot give it (shown by `/track list`). It follows the poll rate the budget leaves
    /// now (after presence sweeps and changed-title follow-ups), so it may move a little.
    fn effective_staleness(&self, n_accounts: usize) -> Duration;
    /// How often this account is expected to be checked right now (shown by `/track list`).
    fn expected_interval(&self, account: AccountKey, now: f64) -> Duration;
}

/// A token bucket over the tracker's share of the PSN budget. Tokens may go negative when a
/// poll's follow-up requests are charged after the fact; nothing is spent until they recover.
/// The bucket keeps the recent follow-ups per poll, so the poll rate it leaves is known.
#[derive(Debug, Clone)]
pub struct RequestBudget {
    rate_per_sec: f64,
    capacity: f64,
    tokens: f64,
    updated_at: Option<f64>,
    /// Recent follow-up requests per poll (a running mean, see `FOLLOW_UP_SMOOTHING`).
    follow_ups_per_poll: f64,
}

impl RequestBudget {
    /// `burst` requests may go out back to back; on average `rate_per_sec`.
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        Self {
            rate_per_sec,
            capacity: burst.max(1.0),
            tokens: burst.max(1.0),
            updated_at: None,
            follow_ups_per_poll: 0.0,
        }
    }

    /// The tracker's share of a PSN budget of `requests` per `per`, keeping `command_reserve`
    /// (0.0 to 1.0) for interactive commands.
    pub fn tracker_rate(requests: u32, per: Duration, command_reserve: f64) -> f64 {
        let secs = per.as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        f64::from(requests) * (1.0 - command_reserve.clamp(0.0, 1.0)) / secs
    }

    pub fn rate_per_sec(&self) -> f64 {
        self.rate_per_sec
    }

    /// Changes the rate from `now` on (tokens earned so far are kept).
    pub fn set_rate(&mut self, now: f64, rate_per_sec: f64) {
        self.refill(now);
        self.rate_per_sec = rate_per_sec;
    }

    fn refill(&mut self, now: f64) {
        if let Some(at) = self.updated_at {
            if now > at {
                self.tokens = (self.tokens + (now - at) * self.rate_per_sec).min(self.capacity);
            }
        }
        self.updated_at = Some(self.updated_at.map_or(now, |at| at.max(now)));
    }

    /// When `requests` can be spent, `now` if already.
    pub fn ready_at(&mut self, now: f64, requests: f64) -> f64 {
        self.refill(now);
        if self.tokens >= requests {
            now
        } else if self.rate_per_sec > 0.0 {
            now + (requests - self.tokens) / self.rate_per_sec
        } else {
            f64::INFINITY
        }
    }

    /// Spends requests (after `ready_at` said so, or after the fact for follow-ups).
    pub fn spend(&mut self, now: f64, requests: f64) {
        self.refill(now);
        self.tokens -= requests;
    }

    /// Spends a poll's follow-up requests after the fact ([`PollOutcome::changed_titles`])
    /// and counts them into the recent follow-ups per poll that [`Self::poll_rate`] uses.
    /// Gives back `requests` spent beyond the share this bucket plans (borrowed from the
    /// commands' part): they must not hold back the requests the share still allows.
    pub fn refund(&mut self, now: f64, requests: u32) {
        self.refill(now);
        self.tokens = (self.tokens + f64::from(requests)).min(self.capacity);
    }

    pub fn charge_follow_ups(&mut self, now: f64, requests: u32) {
        let extra = f64::from(requests);
        self.spend(now, extra);
        self.follow_ups_per_poll =
            (1.0 - FOLLOW_UP_SMOOTHING) * self.follow_ups_per_poll + FOLLOW_UP_SMOOTHING * extra;
    }

    /// Polls per second the budget leaves after `other_rate` (presence sweeps), each poll
    /// bringing the recent follow-ups per poll on average.
    pub fn poll_rate(&self, other_rate: f64) -> f64 {
        ((self.rate_per_sec - other_rate).max(0.0) / (1.0 + self.follow_ups_per_poll.max(0.0)))
            .max(f64::MIN_POSITIVE)
    }
}

/// Priors for the earning-rate estimate. Defaults follow a typical player: a session on about
/// a third of days, about two hours long, a trophy about every 20 minutes while playing.
#[derive(Debug, Clone)]
pub struct ActivityPrior {
    pub sessions_per_day: f64,
    pub mean_session: Duration,
    pub mean_trophy_interval: Duration,
}

impl Default for ActivityPrior {
    fn default() -> Self {
        Self {
            sessions_per_day: 0.35,
            mean_session: Duration::from_secs(2 * 3600),
            mean_trophy_interval: Duration::from_secs(20 * 60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// The tracker's budget in requests per second (see [`RequestBudget::tracker_rate`]).
    pub rate_per_sec: f64,
    /// Requests that may go out back to back.
    pub burst: f64,
    /// `TRACKER_MAX_STALENESS`.
    pub max_staleness: Duration,
    /// Share of the poll rate a full staleness sweep may take when `max_staleness` is not
    /// affordable: the effective staleness is then `N / (floor_share · r_poll)`, and the
    /// rest of the polls follow activity. 1.0 would be round-robin.
    pub floor_share: f64,
    /// Share of the budget for presence sweeps.
    pub presence_share: f64,
    /// Presence sweeps never run more often than this.
    pub min_presence_period: Duration,
    /// Accounts whose presence was hidden are asked again after this long.
    pub hidden_recheck: Duration,
    /// How much more an account that presence shows playing weighs than one just seen earning.
    pub playing_boost: f64,
    pub prior: ActivityPrior,
}

impl ScheduleConfig {
    /// Defaults around a tracker budget (`rate_per_sec`) and `max_staleness`.
    pub fn new(rate_per_sec: f64, max_staleness: Duration) -> Self {
        Self {
            rate_per_sec,
            burst: 5.0,
            max_staleness,
            // Tuned with `cargo bench --bench tracker` (BENCHMARKS.md): a larger floor share
            // wastes polls on accounts presence shows offline, a smaller one stretches the
            // staleness of idle accounts without presence; presence sweeps every ~7 min
            // (N = 1000) still see a session well before its first trophy (mean 20 min).
            floor_share: 0.4,
            presence_share: 0.1,
            min_presence_period: Duration::from_secs(60),
            hidden_recheck: Duration::from_secs(6 * 3600),
            playing_boost: 4.0,
            prior: ActivityPrior::default(),
        }
    }

    /// The longest any of `n_accounts` goes unchecked when `poll_rate` polls per second are
    /// left after presence sweeps and follow-ups (see [`RequestBudget::poll_rate`]):
    /// `max(max_staleness, N / (floor_share · poll_rate))`.
    pub fn effective_staleness(&self, n_accounts: usize, poll_rate: f64) -> Duration {
        secs_to_duration(self.effective_staleness_secs(n_accounts, poll_rate))
    }

    /// [`Self::effective_staleness`] in seconds.
    fn effective_staleness_secs(&self, n_accounts: usize, poll_rate: f64) -> f64 {
        let floor_rate = poll_rate * self.floor_share.clamp(0.01, 1.0);
        let sweep = if n_accounts == 0 {
            0.0
        } else if floor_rate > 0.0 {
            n_accounts as f64 / floor_rate
        } else {
            f64::INFINITY
        };
        self.max_staleness.as_secs_f64().max(sweep)
    }
}

/// Weight of a recent poll's follow-up count in the running mean (about the last 100 polls).
const FOLLOW_UP_SMOOTHING: f64 = 0.01;

/// Accounts with little or no expected activity are planned at this share of the staleness
/// floor, so the floor is met by ordinary priority with room to spare for bursts of
/// activity, and accounts that fell due together spread out instead of queueing.
const FLOOR_TARGET: f64 = 0.85;

/// An account this close to the staleness floor (as a share of it) takes at least every
/// other poll: the safety net for when activity took more than planned.
const FLOOR_GUARD: f64 = 0.93;

/// An account this close to the staleness floor is polled before any other.
const FLOOR_HARD: f64 = 0.99;

/// Water-filling of the square-root rule under a staleness cap: the intervals
/// `min(c / w_i, cap)` whose poll rates sum to `poll_rate`, written over `weights` in place.
/// Accounts with weight 0 (or capped ones) get `cap`. Where even the cap is not affordable
/// (`N / cap > poll_rate`), every account gets `cap`.
fn water_fill(weights: &mut [f64], poll_rate: f64, cap: f64) {
    let cap_rate = if cap.is_finite() && cap > 0.0 {
        1.0 / cap
    } else {
        0.0
    };
    let total: f64 = weights.iter().sum();
    // c without caps; caps only add demand, so the answer is at least this. Each step
    // `c ← S(c) / (r − m(c)/cap)` (S: weight of the uncapped, m: count of the capped) stays
    // at or below the answer and reaches it in a few steps (the capped set only grows).
    let mut scale = total / poll_rate;
    for _ in 0..64 {
        let threshold = scale * cap_rate;
        let (mut uncapped_weight, mut capped) = (0.0, 0usize);
        for &w in weights.iter() {
            if w > threshold {
                uncapped_weight += w;
            } else {
                capped += 1;
            }
        }
        let left = poll_rate - capped as f64 * cap_rate;
        if left <= 0.0 || uncapped_weight <= 0.0 {
            scale = f64::INFINITY;
            break;
        }
        let next = uncapped_weight / left;
        if next <= scale * (1.0 + 1e-12) {
            scale = scale.max(next);
            break;
        }
        scale = next;
    }
    for w in weights.iter_mut() {
        let interval = if *w > 0.0 { scale / *w } else { f64::INFINITY };
        *w = interval.min(cap);
    }
}

/// Presence as last reported for one account.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PresenceState {
    /// Never asked, or not answered yet.
    Unknown,
    /// Left out of the answer: not visible to the bot's account.
    Hidden {
        seen_at: f64,
    },
    Offline {
        seen_at: f64,
    },
    Playing {
        seen_at: f64,
    },
}

/// What the adaptive scheduler knows about one account.
#[derive(Debug, Clone)]
pub struct AccountState {
    pub last_check: Option<f64>,
    /// Probability the account is in a play session, as of `belief_at`.
    pub playing_belief: f64,
    pub belief_at: f64,
    /// Detections by UTC hour of day, for the time-of-day prior.
    pub detections_by_hour: [f64; 24],
    pub presence: PresenceState,
    /// Untracked: kept so keys stay stable, but never polled or asked about.
    pub removed: bool,
    /// Presence showed the account playing, or its last-online time moved, since its last
    /// poll: trophies of that session may be waiting even once it shows offline.
    pub played_since_check: bool,
    /// The newest `lastOnlineDate` presence reported, and the one known when the account was
    /// last polled: a change between them is a session the poll has not seen the end of.
    pub last_online: Option<f64>,
    pub last_online_at_check: Option<f64>,
    /// Seconds the staleness floor counts this account as older than its last poll (see
    /// `record_poll`): set at its first poll only.
    pub floor_head_start: f64,
}

impl AccountState {
    fn new() -> Self {
        Self {
            last_check: None,
            playing_belief: 0.0,
            belief_at: 0.0,
            detections_by_hour: [0.0; 24],
            presence: PresenceState::Unknown,
            removed: false,
            played_since_check: false,
            last_online: None,
            last_online_at_check: None,
            floor_head_start: 0.0,
        }
    }
}

fn hour_of_day(t: f64) -> usize {
    // rem_euclid keeps times before the epoch in range; the cast cannot exceed 23.
    ((t / 3600.0).floor().rem_euclid(24.0)) as usize
}

/// The adaptive scheduler (see the module docs).
#[derive(Debug, Clone)]
pub struct AdaptiveScheduler {
    config: ScheduleConfig,
    budget: RequestBudget,
    accounts: Vec<AccountState>,
    pending_presence: Vec<Vec<AccountKey>>,
    last_presence_sweep: Option<f64>,
    scratch: Vec<f64>,
    /// The last poll was forced by the staleness floor.
    last_poll_was_floor: bool,
    /// The part of the rate the history backfill holds (see [`Self::set_backfill_share`]).
    backfill_share: f64,
}

impl AdaptiveScheduler {
    pub fn new(config: ScheduleConfig) -> Self {
        Self {
            budget: RequestBudget::new(config.rate_per_sec, config.burst),
            config,
            accounts: Vec::new(),
            pending_presence: Vec::new(),
            last_presence_sweep: None,
            scratch: Vec::new(),
            last_poll_was_floor: false,
            backfill_share: 0.0,
        }
    }

    /// `requests` of the last poll or presence batch were borrowed beyond the tracker's share
    /// (see [`RequestBudget::refund`]).
    pub fn refund_borrowed(&mut self, now: f64, requests: u32) {
        self.budget.refund(now, requests);
    }

    /// Plans polls on the tracker's rate less `share` (0.0 to 1.0), which the history
    /// backfill spends meanwhile (see `tracker::backfill`).
    pub fn set_backfill_share(&mut self, now: f64, share: f64) {
        self.backfill_share = share.clamp(0.0, 1.0);
        let rate = self.config.rate_per_sec * (1.0 - self.backfill_share);
        self.budget.set_rate(now, rate);
    }

    /// Plans on `rate_per_sec` from `now` on (this process's part of the PSN budget changed),
    /// the backfill's share still set aside.
    pub fn set_rate(&mut self, now: f64, rate_per_sec: f64) {
        self.config.rate_per_sec = rate_per_sec;
        self.set_backfill_share(now, self.backfill_share);
    }

    pub fn account(&self, account: AccountKey) -> Option<&AccountState> {
        self.accounts.get(account.0)
    }

    fn trophy_rate(&self) -> f64 {
        1.0 / self
            .config
            .prior
            .mean_trophy_interval
            .as_secs_f64()
            .max(1.0)
    }

    /// Accounts a sweep asks about: the visible ones, the never asked ones, and hidden ones
    /// due for a recheck.
    fn presence_candidates(&self, now: f64) -> Vec<AccountKey> {
        let recheck = self.config.hidden_recheck.as_secs_f64();
        self.accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| match a.presence {
                _ if a.removed => false,
                PresenceState::Hidden { seen_at } => now - seen_at >= recheck,
                _ => true,
            })
            .map(|(i, _)| AccountKey(i))
            .collect()
    }

    fn visible_count(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| !a.removed && !matches!(a.presence, PresenceState::Hidden { .. }))
            .count()
    }

    fn active_count(&self) -> usize {
        self.accounts.iter().filter(|a| !a.removed).count()
    }

    /// Seconds between presence sweeps: their share of the budget, never faster than the
    /// minimum period.
    fn presence_period(&self) -> f64 {
        let batches = self.visible_count().div_ceil(PRESENCE_BATCH) as f64;
        let share_rate = self.config.rate_per_sec * self.config.presence_share;
        let by_budget = if share_rate > 0.0 {
            batches / share_rate
        } else {
            f64::INFINITY
        };
        self.config.min_presence_period.as_secs_f64().max(by_budget)
    }

    /// Estimated trophies per second for an account at `now`.
    /// `presence_fresh_for`: how long a presence answer is trusted (passed in because it is
    /// computed over all accounts).
    fn earning_rate(&self, a: &AccountState, now: f64, presence_fresh_for: f64) -> f64 {
        let trophy_rate = self.trophy_rate();
        let fresh = presence_fresh_for;
        match a.presence {
            PresenceState::Playing { seen_at } if now - seen_at <= fresh => {
                return trophy_rate * self.config.playing_boost;
            }
            // The session just ended: one last poll collects what it earned since the last one.
            PresenceState::Offline { seen_at }
                if now - seen_at <= fresh && a.played_since_check =>
            {
                return trophy_rate * self.config.playing_boost;
            }
            // Offline per presence (and checked since it last played): nothing to find; only
            // the staleness floor applies.
            PresenceState::Offline { seen_at } if now - seen_at <= fresh => return 0.0,
            _ => {}
        }
        let prior = &self.config.prior;
        let session_secs = prior.mean_session.as_secs_f64().max(1.0);
        let trophies_per_session = session_secs * trophy_rate;
        let total: f64 = a.detections_by_hour.iter().sum();
        // Laplace-smoothed share of this hour among past detections, relative to uniform.
        let time_of_day = (a.detections_by_hour[hour_of_day(now)] + 1.0) * 24.0 / (total + 24.0);
        let idle_rate = prior.sessions_per_day / 86_400.0 * trophies_per_session * time_of_day;
        let belief = a.playing_belief * (-(now - a.belief_at).max(0.0) / session_secs).exp();
        belief * trophy_rate + idle_rate
    }

    /// Presence requests per second at the current sweep period.
    fn presence_rate(&self) -> f64 {
        let visible = self.visible_count();
        if visible == 0 {
            return 0.0;
        }
        visible.div_ceil(PRESENCE_BATCH) as f64 / self.presence_period()
    }

    /// Polls per second the budget leaves now.
    fn poll_rate(&self) -> f64 {
        self.budget.poll_rate(self.presence_rate())
    }

    /// The staleness floor for the accounts tracked now, in seconds.
    fn floor_secs(&self) -> f64 {
        self.config
            .effective_staleness_secs(self.active_count(), self.poll_rate())
    }

    /// An account whose session ended since its last poll (seen playing, or its last-online
    /// time moved), the longest unchecked first: its one poll goes before the plan's, since
    /// it is the likeliest to hold an unseen trophy and costs one poll per session.
    fn session_ended(&self) -> Option<usize> {
        self.accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                !a.removed
                    && a.played_since_check
                    && matches!(a.presence, PresenceState::Offline { .. })
            })
            .min_by(|(_, a), (_, b)| {
                let checked = |s: &AccountState| s.last_check.unwrap_or(f64::NEG_INFINITY);
                checked(a).total_cmp(&checked(b))
            })
            .map(|(i, _)| i)
    }

    /// Fills `scratch` with each account's target interval (seconds).
    fn compute_targets(&mut self, now: f64) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let presence_period = self.presence_period();
        let fresh = 2.0 * presence_period;
        scratch.extend(self.accounts.iter().map(|a| {
            if a.removed {
                0.0
            } else {
                self.earning_rate(a, now, fresh).sqrt()
            }
        }));
        // Removed accounts have weight 0 and would take a capped share: leave them out.
        let poll_rate = self.poll_rate();
        let floor = self.floor_secs();
        let mut active: Vec<f64> = self
            .accounts
            .iter()
            .zip(&scratch)
            .filter(|(a, _)| !a.removed)
            .map(|(_, &w)| w)
            .collect();
        water_fill(&mut active, poll_rate, floor * FLOOR_TARGET);
        let mut intervals = active.into_iter();
        for (a, w) in self.accounts.iter().zip(scratch.iter_mut()) {
            *w = if a.removed {
                f64::INFINITY
            } else {
                intervals.next().unwrap_or(floor * FLOOR_TARGET)
            };
        }
        self.scratch = scratch;
    }
}

impl PollScheduler for AdaptiveScheduler {
    fn add_account(&mut self) -> AccountKey {
        self.accounts.push(AccountState::new());
        AccountKey(self.accounts.len() - 1)
    }

    fn remove_account(&mut self, account: AccountKey) {
        if let Some(a) = self.accounts.get_mut(account.0) {
            a.removed = true;
        }
        self.pending_presence
            .iter_mut()
            .for_each(|batch| batch.retain(|k| *k != account));
        self.pending_presence.retain(|batch| !batch.is_empty());
    }

    fn next_decision(&mut self, now: f64) -> Decision {
        let ready = self.budget.ready_at(now, 1.0);
        let idle = self.active_count() == 0;
        if ready > now || idle {
            return Decision::WaitUntil(if idle { f64::INFINITY } else { ready });
        }
        if self.pending_presence.is_empty()
            && self
                .last_presence_sweep
                .is_none_or(|at| now - at >= self.presence_period())
        {
            let candidates = self.presence_candidates(now);
            self.last_presence_sweep = Some(now);
            self.pending_presence = candidates
                .chunks(PRESENCE_BATCH)
                .rev()
                .map(<[AccountKey]>::to_vec)
                .collect();
        }
        if let Some(batch) = self.pending_presence.pop() {
            self.budget.spend(now, 1.0);
            return Decision::PresenceBatch(batch);
        }
        self.compute_targets(now);
        let floor = self.floor_secs();
        let mut best: Option<(f64, usize)> = None;
        let mut oldest: Option<(f64, usize)> = None;
        for (i, (a, target)) in self.accounts.iter().zip(&self.scratch).enumerate() {
            if a.removed {
                continue;
            }
            let age = a
                .last_check
                .map_or(f64::INFINITY, |at| now - at + a.floor_head_start);
            let priority = age / target;
            if best.is_none_or(|(p, _)| priority > p) {
                best = Some((priority, i));
            }
            if oldest.is_none_or(|(o, _)| age > o) {
                oldest = Some((age, i));
            }
        }
        // The floor is a promise (`effective_staleness`), activity only a preference: an
        // account about to pass the floor goes first even when busier ones are behind. When
        // many near it together, every other poll still goes to an account behind its plan
        // until one is at the very edge, so a crunch slows the players instead of stopping
        // them.
        let behind_plan = best.is_some_and(|(priority, _)| priority >= 1.0);
        let floor_poll = match oldest {
            Some((age, i)) if age >= floor * FLOOR_HARD => Some(i),
            Some((age, i))
                if age >= floor * FLOOR_GUARD && !(self.last_poll_was_floor && behind_plan) =>
            {
                Some(i)
            }
            _ => None,
        };
        self.last_poll_was_floor = floor_poll.is_some();
        if let Some(i) = floor_poll.or_else(|| self.session_ended()) {
            best = Some((f64::INFINITY, i));
        }
        match best {
            Some((_, i)) => {
                self.budget.spend(now, 1.0);
                Decision::Poll(AccountKey(i))
            }
            None => Decision::WaitUntil(f64::INFINITY),
        }
    }

    fn record_poll(&mut self, account: AccountKey, now: f64, outcome: PollOutcome) {
        self.budget.charge_follow_ups(now, outcome.changed_titles);
        let floor = self.floor_secs();
        let prior = self.config.prior.clone();
        let trophy_rate = self.trophy_rate();
        let Some(a) = self.accounts.get_mut(account.0) else {
            return;
        };
        let session_secs = prior.mean_session.as_secs_f64().max(1.0);
        let decayed = a.playing_belief * (-(now - a.belief_at).max(0.0) / session_secs).exp();
        a.playing_belief = if outcome.new_trophies > 0 {
            a.detections_by_hour[hour_of_day(now)] += 1.0;
            1.0
        } else {
            // Bayes: a player in session would likely have earned something since last check.
            let gap = a.last_check.map_or(0.0, |at| (now - at).max(0.0));
            let quiet_if_playing = (-gap * trophy_rate).exp();
            let p = decayed * quiet_if_playing;
            p / (p + (1.0 - decayed)).max(f64::MIN_POSITIVE)
        };
        // Accounts added together (at start, or a big `/track add`) would come due for the
        // floor together and take every poll for a while; after its first poll each is made
        // due a different share of the floor sooner, spreading them over a whole floor period.
        a.floor_head_start = if a.last_check.is_none() {
            spread_share(account) * floor * FLOOR_TARGET
        } else {
            0.0
        };
        a.belief_at = now;
        a.last_check = Some(now);
        a.played_since_check = false;
        a.last_online_at_check = a.last_online;
    }

    fn record_presence(
        &mut self,
        now: f64,
        asked: &[AccountKey],
        answer: &[(AccountKey, ReportedPresence)],
    ) {
        for key in asked {
            if let Some(a) = self.accounts.get_mut(key.0) {
                a.presence = PresenceState::Hidden { seen_at: now };
            }
        }
        for (key, presence) in answer {
            if let Some(a) = self.accounts.get_mut(key.0) {
                a.presence = match presence {
                    ReportedPresence::OnlinePlaying => {
                        a.played_since_check = true;
                        PresenceState::Playing { seen_at: now }
                    }
                    ReportedPresence::Offline { last_online } => {
                        if let Some(at) = *last_online {
                            a.last_online = Some(a.last_online.map_or(at, |known| known.max(at)));
                        }
                        if went_online_since_check(a) {
                            a.played_since_check = true;
                        }
                        PresenceState::Offline { seen_at: now }
                    }
                    ReportedPresence::OnlineIdle => PresenceState::Offline { seen_at: now },
                };
            }
        }
    }

    fn effective_staleness(&self, n_accounts: usize) -> Duration {
        self.config
            .effective_staleness(n_accounts, self.poll_rate())
    }

    fn expected_interval(&self, account: AccountKey, now: f64) -> Duration {
        let mut copy = self.clone();
        copy.compute_targets(now);
        let secs = copy
            .scratch
            .get(account.0)
            .copied()
            .unwrap_or(f64::INFINITY);
        secs_to_duration(secs)
    }
}

/// PSN's clock and ours may differ a little: a last-online time this close before a poll may
/// still have been after it.
const CLOCK_SKEW_SECS: f64 = 60.0;

/// The account's last-online time moved since its last poll and is not clearly older than that
/// poll: it was online in between (not necessarily playing), so the poll may have missed what
/// it earned. Comparing with the value known at the poll, not only with the poll's time, keeps
/// clock differences from hiding a session.
fn went_online_since_check(a: &AccountState) -> bool {
    let (Some(last_online), Some(checked_at)) = (a.last_online, a.last_check) else {
        return false;
    };
    a.last_online_at_check != Some(last_online) && last_online > checked_at - CLOCK_SKEW_SECS
}

/// A share in [0, 1) per account, evenly spread whatever the number of accounts (the golden
/// ratio's low-discrepancy sequence).
fn spread_share(account: AccountKey) -> f64 {
    (account.0 as f64 * 0.618_033_988_749_895).fract()
}

fn secs_to_duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: f64 = 210.0 / 900.0;

    fn config(max_staleness_secs: u64) -> ScheduleConfig {
        ScheduleConfig::new(RATE, Duration::from_secs(max_staleness_secs))
    }

    /// Drives a scheduler in virtual time; `on_poll` says what each poll finds. Returns every
    /// request's time and the polls made.
    fn drive(
        sched: &mut dyn PollScheduler,
        until: f64,
        mut on_poll: impl FnMut(AccountKey, f64) -> PollOutcome,
        mut on_presence: impl FnMut(&[AccountKey], f64) -> Vec<(AccountKey, ReportedPresence)>,
    ) -> (Vec<f64>, Vec<(f64, AccountKey)>) {
        let (mut requests, mut polls) = (Vec::new(), Vec::new());
        let mut now = 0.0;
        while now < until {
            match sched.next_decision(now) {
                Decision::WaitUntil(t) => {
                    assert!(t > now);
                    now = t;
                }
                Decision::Poll(key) => {
                    let outcome = on_poll(key, now);
                    requests.extend(std::iter::repeat_n(
                        now,
                        1 + outcome.changed_titles as usize,
                    ));
                    polls.push((now, key));
                    sched.record_poll(key, now, outcome);
                }
                Decision::PresenceBatch(batch) => {
                    assert!(batch.len() <= PRESENCE_BATCH);
                    requests.push(now);
                    let answer = on_presence(&batch, now);
                    sched.record_presence(now, &batch, &answer);
                }
            }
        }
        (requests, polls)
    }

    /// A presence answer with every asked account offline, never seen online.
    fn all_offline(accounts: &[AccountKey]) -> Vec<(AccountKey, ReportedPresence)> {
        accounts
            .iter()
            .map(|&k| (k, ReportedPresence::Offline { last_online: None }))
            .collect()
    }

    #[test]
    fn budget_is_never_exceeded_over_any_window() {
        let cfg = config(1800);
        let mut sched = AdaptiveScheduler::new(cfg.clone());
        for _ in 0..50 {
            sched.add_account();
        }
        // Every third poll finds a changed title: follow-ups are charged too.
        let mut n = 0u32;
        let (requests, _) = drive(
            &mut sched,
            4.0 * 3600.0,
            |_, _| {
                n += 1;
                let changed = u32::from(n % 3 == 0);
                PollOutcome {
                    new_trophies: changed,
                    changed_titles: changed,
                }
            },
            |batch, _| all_offline(batch),
        );
        for window in [60.0, 900.0, 3600.0] {
            for (i, &start) in requests.iter().enumerate() {
                let count = requests[i..]
                    .iter()
                    .take_while(|&&t| t < start + window)
                    .count();
                // A burst, the rate, and one poll's follow-up charged after the fact.
                let allowed = cfg.burst + RATE * window + 1.0;
                assert!(
                    count as f64 <= allowed,
                    "{count} requests in {window}s from {start}, allowed {allowed}"
                );
            }
        }
        assert!(
            requests.len() as f64 > RATE * 4.0 * 3600.0 * 0.9,
            "budget is used"
        );
    }

    #[test]
    fn a_third_of_the_rate_plans_a_third_of_the_requests() {
        let cfg = config(1800);
        let mut sched = AdaptiveScheduler::new(cfg.clone());
        for _ in 0..50 {
            sched.add_account();
        }
        // Three processes on one credential: this one keeps to a third of the rate.
        sched.set_rate(0.0, RATE / 3.0);
        let hours = 4.0;
        let (requests, _) = drive(
            &mut sched,
            hours * 3600.0,
            |_, _| PollOutcome::default(),
            |batch, _| all_offline(batch),
        );
        let planned = RATE / 3.0 * hours * 3600.0;
        let sent = requests.len() as f64;
        assert!(
            sent <= planned + cfg.burst && sent > planned * 0.9,
            "{sent} requests on a third of the rate, about {planned} planned"
        );
    }

    #[test]
    fn staleness_bound_holds_when_affordable() {
        let mut sched = AdaptiveScheduler::new(config(600));
        let keys: Vec<_> = (0..20).map(|_| sched.add_account()).collect();
        // Account 0 earns on every poll; it must not starve the rest.
        let (_, polls) = drive(
            &mut sched,
            3.0 * 3600.0,
            |key, _| PollOutcome {
                new_trophies: u32::from(key == keys[0]),
                changed_titles: u32::from(key == keys[0]),
            },
            |_, _| Vec::new(),
        );
        assert_eq!(sched.effective_staleness(20), Duration::from_secs(600));
        for key in keys {
            let times: Vec<f64> = polls.iter().filter(|p| p.1 == key).map(|p| p.0).collect();
            assert!(!times.is_empty());
            for pair in times.windows(2) {
                assert!(
                    pair[1] - pair[0] <= 600.0,
                    "{key:?} waited {}",
                    pair[1] - pair[0]
                );
            }
        }
    }

    #[test]
    fn effective_staleness_is_at_least_the_sweep_time() {
        let sched = AdaptiveScheduler::new(config(1800));
        let n = 1000;
        assert!(sched.effective_staleness(n).as_secs_f64() >= n as f64 / RATE);
        assert_eq!(sched.effective_staleness(10), Duration::from_secs(1800));
    }

    #[test]
    fn an_active_account_is_polled_more_than_an_idle_one() {
        let mut sched = AdaptiveScheduler::new(config(1800));
        let keys: Vec<_> = (0..30).map(|_| sched.add_account()).collect();
        let active = keys[0];
        let (_, polls) = drive(
            &mut sched,
            2.0 * 3600.0,
            |key, _| PollOutcome {
                new_trophies: u32::from(key == active),
                changed_titles: u32::from(key == active),
            },
            |_, _| Vec::new(),
        );
        let count = |k: AccountKey| polls.iter().filter(|p| p.1 == k).count();
        assert!(
            count(active) > 2 * count(keys[1]),
            "{} vs {}",
            count(active),
            count(keys[1])
        );
        assert!(sched.expected_interval(active, 7200.0) < sched.expected_interval(keys[1], 7200.0));
    }

    #[test]
    fn presence_playing_accounts_are_polled_first() {
        let mut sched = AdaptiveScheduler::new(config(1800));
        let keys: Vec<_> = (0..200).map(|_| sched.add_account()).collect();
        let playing = keys[150];
        let mut now = 0.0;
        // Answer the first sweep; every account was due, the playing one must come first.
        loop {
            match sched.next_decision(now) {
                Decision::WaitUntil(t) => now = t,
                Decision::PresenceBatch(batch) => {
                    let answer: Vec<_> = batch
                        .iter()
                        .map(|&k| {
                            let p = if k == playing {
                                ReportedPresence::OnlinePlaying
                            } else {
                                ReportedPresence::Offline { last_online: None }
                            };
                            (k, p)
                        })
                        .collect();
                    sched.record_presence(now, &batch, &answer);
                }
                Decision::Poll(key) => {
                    // Never-checked accounts are due at once; mark them checked first.
                    if sched
                        .account(playing)
                        .is_some_and(|a| a.last_check.is_none())
                        && key != playing
                    {
                        sched.record_poll(key, now, PollOutcome::default());
                        continue;
                    }
                    assert_eq!(key, playing);
                    break;
                }
            }
        }
    }

    #[test]
    fn a_removed_account_is_never_polled_again() {
        let mut sched = AdaptiveScheduler::new(config(1800));
        let keys: Vec<_> = (0..3).map(|_| sched.add_account()).collect();
        sched.remove_account(keys[1]);
        let (_, polls) = drive(
            &mut sched,
            3_600.0,
            |_, _| PollOutcome::default(),
            |_, _| Vec::new(),
        );
        assert!(polls.iter().any(|p| p.1 == keys[0]));
        assert!(polls.iter().any(|p| p.1 == keys[2]));
        assert!(
            polls.iter().all(|p| p.1 != keys[1]),
            "removed account polled"
        );
    }

    #[test]
    fn water_filling_spends_exactly_the_poll_rate_and_respects_the_cap() {
        let rate = 0.2;
        let cap = 600.0;
        // Three busy accounts, many idle ones, two with nothing expected (weight 0).
        let mut weights = vec![0.06, 0.03, 0.03];
        weights.extend(std::iter::repeat_n(0.0005, 40));
        weights.extend([0.0, 0.0]);
        let original = weights.clone();
        water_fill(&mut weights, rate, cap);
        let spent: f64 = weights.iter().map(|t| 1.0 / t).sum();
        assert!(
            (spent - rate).abs() < 1e-9,
            "plan spends {spent}, budget {rate}"
        );
        assert!(weights.iter().all(|&t| t > 0.0 && t <= cap));
        assert_eq!(weights[43], cap, "no expected activity: planned at the cap");
        assert_eq!(weights[4], cap, "idle accounts fall to the cap here");
        // The square-root rule among the uncapped: interval inversely proportional to weight.
        assert!((weights[1] / weights[0] - original[0] / original[1]).abs() < 1e-9);
    }

    #[test]
    fn water_filling_gives_everyone_the_cap_when_even_the_cap_is_not_affordable() {
        let mut weights = vec![0.05, 0.01, 0.0];
        water_fill(&mut weights, 0.001, 600.0);
        assert_eq!(weights, vec![600.0; 3]);
    }

    #[test]
    fn effective_staleness_is_the_floor_share_of_the_poll_rate_when_the_budget_is_short() {
        let cfg = config(1800);
        let sched = AdaptiveScheduler::new(cfg.clone());
        // No presence visible yet and no follow-ups: the poll rate is the whole rate.
        let n = 1000;
        let expected = n as f64 / (cfg.floor_share * RATE);
        let got = sched.effective_staleness(n).as_secs_f64();
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        // Affordable: the configured value.
        let affordable = (cfg.floor_share * RATE * 1800.0) as usize;
        assert_eq!(
            sched.effective_staleness(affordable),
            Duration::from_secs(1800)
        );
    }

    #[test]
    fn follow_ups_and_presence_sweeps_lengthen_the_effective_staleness() {
        let mut sched = AdaptiveScheduler::new(config(60));
        let keys: Vec<_> = (0..500).map(|_| sched.add_account()).collect();
        // Every account's presence hidden: no sweeps to pay for.
        sched.record_presence(0.0, &keys, &[]);
        let before = sched.effective_staleness(keys.len());
        // Every account visible to presence: sweeps now cost part of the budget.
        sched.record_presence(0.0, &keys, &all_offline(&keys));
        let with_presence = sched.effective_staleness(keys.len());
        assert!(with_presence > before, "{with_presence:?} vs {before:?}");
        for (i, &key) in keys.iter().enumerate() {
            let outcome = PollOutcome {
                new_trophies: 1,
                changed_titles: 1,
            };
            sched.record_poll(key, i as f64, outcome);
        }
        let with_follow_ups = sched.effective_staleness(keys.len());
        assert!(
            with_follow_ups > with_presence,
            "{with_follow_ups:?} vs {with_presence:?}"
        );
    }

    #[test]
    fn the_floor_holds_when_the_budget_is_short_and_some_accounts_always_play() {
        let mut sched = AdaptiveScheduler::new(config(600));
        let keys: Vec<_> = (0..300).map(|_| sched.add_account()).collect();
        let players = &keys[..30];
        let floor = sched.effective_staleness(keys.len()).as_secs_f64();
        assert!(
            floor > 600.0,
            "the budget cannot give 10 min to 300 accounts"
        );
        // Thirty accounts play and earn all the time; the other 270 show offline. Every
        // account must still be checked within the effective staleness.
        let (_, polls) = drive(
            &mut sched,
            6.0 * floor,
            |key, _| {
                let earns = u32::from(players.contains(&key));
                PollOutcome {
                    new_trophies: earns,
                    changed_titles: earns,
                }
            },
            |batch, _| {
                batch
                    .iter()
                    .map(|&k| {
                        let p = if players.contains(&k) {
                            ReportedPresence::OnlinePlaying
                        } else {
                            ReportedPresence::Offline { last_online: None }
                        };
                        (k, p)
                    })
                    .collect()
            },
        );
        // The promise as it stands with the follow-ups the players cost.
        let floor = sched.effective_staleness(keys.len()).as_secs_f64();
        let one_request = 1.0 / RATE;
        for &key in &keys {
            let times: Vec<f64> = polls.iter().filter(|p| p.1 == key).map(|p| p.0).collect();
            for pair in times.windows(2) {
                assert!(
                    pair[1] - pair[0] <= floor + one_request,
                    "{key:?} waited {} > {floor}",
                    pair[1] - pair[0]
                );
            }
        }
        let count = |k: AccountKey| polls.iter().filter(|p| p.1 == k).count();
        assert!(
            count(players[0]) > 5 * count(keys[100]),
            "players get the spare budget: {} vs {}",
            count(players[0]),
            count(keys[100])
        );
    }

    /// The first poll of `short_player` after its session ended at `ended`, when presence
    /// sweeps report every account offline and, with `report_last_online`, that player's
    /// `lastOnlineDate` once the session is over.
    fn first_poll_after_a_short_session(report_last_online: bool) -> (f64, f64) {
        let mut sched = AdaptiveScheduler::new(config(600));
        let keys: Vec<_> = (0..200).map(|_| sched.add_account()).collect();
        // The first key gets no head start on the floor (`spread_share`): only the floor or
        // the last-online time brings its next poll.
        let short_player = keys[0];
        let floor = sched.effective_staleness(keys.len()).as_secs_f64();
        // A session too short for any sweep to see it playing, well after the start.
        let ended = 2.0 * floor + 10.0;
        let (_, polls) = drive(
            &mut sched,
            ended + floor,
            |_, _| PollOutcome::default(),
            |batch, now| {
                batch
                    .iter()
                    .map(|&k| {
                        let last_online = (k == short_player && now >= ended && report_last_online)
                            .then_some(ended);
                        (k, ReportedPresence::Offline { last_online })
                    })
                    .collect()
            },
        );
        let next = polls
            .iter()
            .find(|(t, k)| *k == short_player && *t >= ended)
            .map_or(f64::INFINITY, |(t, _)| *t);
        (ended, next)
    }

    #[test]
    fn a_session_no_sweep_saw_is_polled_soon_after_its_last_online_time_moves() {
        let (ended, next) = first_poll_after_a_short_session(true);
        let mut sched = AdaptiveScheduler::new(config(600));
        (0..200).for_each(|_| {
            sched.add_account();
        });
        let sweep = sched.presence_period();
        assert!(
            next - ended <= 2.0 * sweep + 60.0,
            "polled {:.0} s after the session (sweeps every {sweep:.0} s)",
            next - ended
        );
        // Without the last-online time only the staleness floor finds it: much later.
        let (ended, next_without) = first_poll_after_a_short_session(false);
        assert!(
            next_without - ended > 5.0 * sweep,
            "without lastOnlineDate it was polled after {:.0} s",
            next_without - ended
        );
    }

    #[test]
    fn a_last_online_time_already_seen_at_the_last_poll_asks_for_nothing_more() {
        let mut sched = AdaptiveScheduler::new(config(600));
        let key = sched.add_account();
        sched.record_presence(
            100.0,
            &[key],
            &[(
                key,
                ReportedPresence::Offline {
                    last_online: Some(50.0),
                },
            )],
        );
        sched.record_poll(key, 200.0, PollOutcome::default());
        sched.record_presence(
            300.0,
            &[key],
            &[(
                key,
                ReportedPresence::Offline {
                    last_online: Some(50.0),
                },
            )],
        );
        assert!(!sched.account(key).unwrap().played_since_check);
        // Moved, but to before the poll (beyond clock skew): the poll already saw that session.
        sched.record_presence(
            400.0,
            &[key],
            &[(
                key,
                ReportedPresence::Offline {
                    last_online: Some(120.0),
                },
            )],
        );
        assert!(!sched.account(key).unwrap().played_since_check);
        sched.record_presence(
            500.0,
            &[key],
            &[(
                key,
                ReportedPresence::Offline {
                    last_online: Some(450.0),
                },
            )],
        );
        assert!(sched.account(key).unwrap().played_since_check);
    }

    #[test]
    fn requests_borrowed_beyond_the_share_do_not_hold_back_the_next_one() {
        let mut sched = AdaptiveScheduler::new(config(600));
        let key = sched.add_account();
        // Spend the whole burst; the follow-ups of the last poll were borrowed.
        let mut now = 0.0;
        while let Decision::Poll(_) | Decision::PresenceBatch(_) = sched.next_decision(now) {
            now += 0.001;
        }
        sched.record_poll(
            key,
            now,
            PollOutcome {
                new_trophies: 0,
                changed_titles: 3,
            },
        );
        let Decision::WaitUntil(charged) = sched.next_decision(now) else {
            panic!("the burst is spent");
        };
        sched.refund_borrowed(now, 3);
        let Decision::WaitUntil(refunded) = sched.next_decision(now) else {
            panic!("the refund only pays back the follow-ups: the burst is still spent");
        };
        assert!(
            refunded < charged,
            "the refund brings the next request forward: {refunded} vs {charged}"
        );
    }

    #[test]
    fn accounts_falling_due_together_do_not_starve_a_player() {
        // All 600 accounts start together, so after the first sweep (N / r, about 48 min)
        // they would fall due for the floor together and take every poll (a crunch).
        let mut sched = AdaptiveScheduler::new(config(600));
        let keys: Vec<_> = (0..600).map(|_| sched.add_account()).collect();
        let player = keys[599];
        let floor = sched.effective_staleness(keys.len()).as_secs_f64();
        let (_, polls) = drive(
            &mut sched,
            4.0 * floor,
            |key, _| PollOutcome {
                new_trophies: u32::from(key == player),
                changed_titles: u32::from(key == player),
            },
            |batch, _| {
                batch
                    .iter()
                    .map(|&k| {
                        let p = if k == player {
                            ReportedPresence::OnlinePlaying
                        } else {
                            ReportedPresence::Offline { last_online: None }
                        };
                        (k, p)
                    })
                    .collect()
            },
        );
        let longest_after = |from: f64| {
            let times: Vec<f64> = polls
                .iter()
                .filter(|p| p.1 == player && p.0 > from)
                .map(|p| p.0)
                .collect();
            assert!(times.len() > 20, "player polled {} times", times.len());
            times
                .windows(2)
                .map(|pair| pair[1] - pair[0])
                .fold(0.0, f64::max)
        };
        // Spread over a floor period after their first polls, they never fall due together:
        // the player is polled as often after the first sweep as later on.
        let after_first_sweep = longest_after(floor);
        assert!(
            after_first_sweep < 60.0,
            "player waited {after_first_sweep} s after the first sweep"
        );
        let later = longest_after(2.0 * floor);
        assert!(later < 60.0, "player waited {later} s after it");
    }

    #[test]
    fn a_session_that_ended_gets_one_more_poll() {
        let mut sched = AdaptiveScheduler::new(config(3600));
        let keys: Vec<_> = (0..50).map(|_| sched.add_account()).collect();
        let (ended, never_played) = (keys[10], keys[20]);
        let mut now = 0.0;
        for &key in &keys {
            sched.record_poll(key, now, PollOutcome::default());
        }
        let everyone_offline = all_offline(&keys);
        // `ended` was seen playing, then offline before any poll caught its session's end.
        let mut playing = everyone_offline.clone();
        playing[10].1 = ReportedPresence::OnlinePlaying;
        now += 1.0;
        sched.record_presence(now, &keys, &playing);
        now += 1.0;
        sched.record_presence(now, &keys, &everyone_offline);
        assert!(
            sched.expected_interval(ended, now) < sched.expected_interval(never_played, now),
            "{:?} vs {:?}",
            sched.expected_interval(ended, now),
            sched.expected_interval(never_played, now)
        );
        let first_poll = loop {
            match sched.next_decision(now) {
                Decision::WaitUntil(t) => now = t,
                Decision::PresenceBatch(batch) => {
                    let answer = all_offline(&batch);
                    sched.record_presence(now, &batch, &answer);
                }
                Decision::Poll(key) => break key,
            }
        };
        assert_eq!(first_poll, ended);
        sched.record_poll(ended, now, PollOutcome::default());
        assert_eq!(
            sched.expected_interval(ended, now),
            sched.expected_interval(never_played, now),
            "checked after its session: back to the floor"
        );
    }

    #[test]
    fn with_every_account_removed_the_scheduler_waits() {
        let mut scheduler = AdaptiveScheduler::new(config(1800));
        let key = scheduler.add_account();
        scheduler.remove_account(key);
        assert_eq!(
            scheduler.next_decision(1_000.0),
            Decision::WaitUntil(f64::INFINITY)
        );
    }
}
