//! Pure poll scheduling for the tracker: no I/O and no clock reads. Time is passed in as
//! seconds since the Unix epoch (`f64`), so the real loop and the benchmark's virtual clock
//! drive the same code.
//!
//! [`AdaptiveScheduler`] spends the budget on presence sweeps and on polls whose rate follows
//! the square root of each account's estimated trophy rate (the allocation that minimises the
//! mean detection delay of Poisson arrivals under a rate budget). [`RoundRobinScheduler`] has
//! the same interface and is the baseline.

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
    /// Titles whose earned state had to be fetched: one extra request each.
    pub changed_titles: u32,
}

/// Presence of one account as the `basicPresences` answer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportedPresence {
    Offline,
    /// Online (any) without a game: may start one soon, treated like offline.
    OnlineIdle,
    OnlinePlaying,
}

/// A scheduler's interface, shared by the adaptive one and the round-robin baseline.
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
    /// cannot give it (shown by `/track list`).
    fn effective_staleness(&self, n_accounts: usize) -> Duration;
    /// How often this account is expected to be checked right now (shown by `/track list`).
    fn expected_interval(&self, account: AccountKey, now: f64) -> Duration;
}

/// A token bucket over the tracker's share of the PSN budget. Tokens may go negative when a
/// poll's follow-up requests are charged after the fact; nothing is spent until they recover.
#[derive(Debug, Clone)]
pub struct RequestBudget {
    rate_per_sec: f64,
    capacity: f64,
    tokens: f64,
    updated_at: Option<f64>,
}

impl RequestBudget {
    /// `burst` requests may go out back to back; on average `rate_per_sec`.
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        Self {
            rate_per_sec,
            capacity: burst.max(1.0),
            tokens: burst.max(1.0),
            updated_at: None,
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
    /// Share of the budget the staleness floor may take when `max_staleness` is not
    /// affordable; the rest follows activity.
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
            floor_share: 0.5,
            presence_share: 0.2,
            min_presence_period: Duration::from_secs(60),
            hidden_recheck: Duration::from_secs(6 * 3600),
            playing_boost: 4.0,
            prior: ActivityPrior::default(),
        }
    }

    fn effective_staleness_secs(&self, n_accounts: usize) -> f64 {
        let floor_rate = self.rate_per_sec * self.floor_share.clamp(0.01, 1.0);
        let sweep = if floor_rate > 0.0 {
            n_accounts as f64 / floor_rate
        } else {
            f64::INFINITY
        };
        self.max_staleness.as_secs_f64().max(sweep)
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
    /// Recent follow-up requests per poll, so the poll rate left over is known.
    extra_per_poll: f64,
    scratch: Vec<f64>,
}

impl AdaptiveScheduler {
    pub fn new(config: ScheduleConfig) -> Self {
        Self {
            budget: RequestBudget::new(config.rate_per_sec, config.burst),
            config,
            accounts: Vec::new(),
            pending_presence: Vec::new(),
            last_presence_sweep: None,
            extra_per_poll: 0.0,
            scratch: Vec::new(),
        }
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
            // Offline per presence: nothing to find; only the staleness floor applies.
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

    /// Fills `scratch` with each account's target interval (seconds).
    fn compute_targets(&mut self, now: f64) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let presence_period = self.presence_period();
        let fresh = 2.0 * presence_period;
        scratch.extend(
            self.accounts
                .iter()
                .map(|a| {
                    if a.removed {
                        0.0
                    } else {
                        self.earning_rate(a, now, fresh).sqrt()
                    }
                }),
        );
        let visible = self.visible_count();
        let presence_rate = if visible > 0 {
            visible.div_ceil(PRESENCE_BATCH) as f64 / presence_period
        } else {
            0.0
        };
        let poll_rate = ((self.config.rate_per_sec - presence_rate).max(0.0)
            / (1.0 + self.extra_per_poll))
            .max(f64::MIN_POSITIVE);
        let weight_sum: f64 = scratch.iter().sum();
        let floor = self.config.effective_staleness_secs(self.active_count());
        for w in scratch.iter_mut() {
            // sqrt allocation: interval_i = sum(sqrt λ) / (r · sqrt λ_i), capped by the floor.
            let sqrt_interval = if *w > 0.0 {
                weight_sum / (poll_rate * *w)
            } else {
                f64::INFINITY
            };
            *w = sqrt_interval.min(floor);
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
            return Decision::WaitUntil(if idle {
                f64::INFINITY
            } else {
                ready
            });
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
        let mut best: Option<(f64, usize)> = None;
        for (i, (a, target)) in self.accounts.iter().zip(&self.scratch).enumerate() {
            if a.removed {
                continue;
            }
            let priority = match a.last_check {
                None => f64::INFINITY,
                Some(at) => (now - at) / target,
            };
            if best.is_none_or(|(p, _)| priority > p) {
                best = Some((priority, i));
            }
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
        let extra = f64::from(outcome.changed_titles);
        self.budget.spend(now, extra);
        self.extra_per_poll = 0.99 * self.extra_per_poll + 0.01 * extra;
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
        a.belief_at = now;
        a.last_check = Some(now);
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
                    ReportedPresence::OnlinePlaying => PresenceState::Playing { seen_at: now },
                    ReportedPresence::Offline | ReportedPresence::OnlineIdle => {
                        PresenceState::Offline { seen_at: now }
                    }
                };
            }
        }
    }

    fn effective_staleness(&self, n_accounts: usize) -> Duration {
        secs_to_duration(self.config.effective_staleness_secs(n_accounts))
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

fn secs_to_duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// The baseline: every account in turn, presence ignored.
#[derive(Debug, Clone)]
pub struct RoundRobinScheduler {
    budget: RequestBudget,
    max_staleness: Duration,
    /// Per key: still tracked.
    active: Vec<bool>,
    next: usize,
}

impl RoundRobinScheduler {
    pub fn new(config: &ScheduleConfig) -> Self {
        Self {
            budget: RequestBudget::new(config.rate_per_sec, config.burst),
            max_staleness: config.max_staleness,
            active: Vec::new(),
            next: 0,
        }
    }
}

impl PollScheduler for RoundRobinScheduler {
    fn add_account(&mut self) -> AccountKey {
        self.active.push(true);
        AccountKey(self.active.len() - 1)
    }

    fn remove_account(&mut self, account: AccountKey) {
        if let Some(active) = self.active.get_mut(account.0) {
            *active = false;
        }
    }

    fn next_decision(&mut self, now: f64) -> Decision {
        let n = self.active.len();
        let Some(offset) = (0..n).find(|i| self.active[(self.next + i) % n]) else {
            return Decision::WaitUntil(f64::INFINITY);
        };
        let ready = self.budget.ready_at(now, 1.0);
        if ready > now {
            return Decision::WaitUntil(ready);
        }
        self.budget.spend(now, 1.0);
        let key = AccountKey((self.next + offset) % n);
        self.next = (key.0 + 1) % n;
        Decision::Poll(key)
    }

    fn record_poll(&mut self, _account: AccountKey, now: f64, outcome: PollOutcome) {
        self.budget.spend(now, f64::from(outcome.changed_titles));
    }

    fn record_presence(&mut self, _: f64, _: &[AccountKey], _: &[(AccountKey, ReportedPresence)]) {}

    fn effective_staleness(&self, n_accounts: usize) -> Duration {
        let sweep = n_accounts as f64 / self.budget.rate_per_sec().max(f64::MIN_POSITIVE);
        secs_to_duration(self.max_staleness.as_secs_f64().max(sweep))
    }

    fn expected_interval(&self, _account: AccountKey, _now: f64) -> Duration {
        self.effective_staleness(self.active.iter().filter(|a| **a).count())
    }
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
            |batch, _| {
                batch
                    .iter()
                    .map(|&k| (k, ReportedPresence::Offline))
                    .collect()
            },
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
        let rr = RoundRobinScheduler::new(&config(1800));
        assert!(rr.effective_staleness(n).as_secs_f64() >= n as f64 / RATE - 1.0);
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
                                ReportedPresence::Offline
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
    fn round_robin_visits_every_account_in_turn() {
        let mut rr = RoundRobinScheduler::new(&config(1800));
        let keys: Vec<_> = (0..5).map(|_| rr.add_account()).collect();
        let (_, polls) = drive(
            &mut rr,
            100.0,
            |_, _| PollOutcome::default(),
            |_, _| Vec::new(),
        );
        let order: Vec<_> = polls.iter().map(|p| p.1).take(10).collect();
        assert_eq!(&order[..5], &keys[..]);
        assert_eq!(&order[5..10], &keys[..]);
    }

    #[test]
    fn a_removed_account_is_never_polled_again() {
        let mut adaptive = AdaptiveScheduler::new(config(1800));
        let mut rr = RoundRobinScheduler::new(&config(1800));
        let schedulers: [&mut dyn PollScheduler; 2] = [&mut adaptive, &mut rr];
        for scheduler in schedulers {
            let keys: Vec<_> = (0..3).map(|_| scheduler.add_account()).collect();
            scheduler.remove_account(keys[1]);
            let (_, polls) = drive(
                scheduler,
                3_600.0,
                |_, _| PollOutcome::default(),
                |_, _| Vec::new(),
            );
            assert!(polls.iter().any(|p| p.1 == keys[0]));
            assert!(polls.iter().any(|p| p.1 == keys[2]));
            assert!(polls.iter().all(|p| p.1 != keys[1]), "removed account polled");
        }
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
