//! The benchmark's baseline: every account in turn, presence ignored. Built with the
//! benchmark and, for its tests, into the `tracker` test binary (`tests/tracker/baseline.rs`).

use std::time::Duration;

use trophybot::tracker::schedule::{
    AccountKey, Decision, PollOutcome, PollScheduler, ReportedPresence, RequestBudget,
    ScheduleConfig,
};

/// Round-robin over the tracked accounts under the same budget as the adaptive scheduler.
#[derive(Debug, Clone)]
pub struct RoundRobinScheduler {
    budget: RequestBudget,
    /// The caller's configuration with the whole poll rate on the staleness sweep.
    config: ScheduleConfig,
    /// Per key: still tracked.
    active: Vec<bool>,
    next: usize,
}

impl RoundRobinScheduler {
    pub fn new(config: &ScheduleConfig) -> Self {
        Self {
            budget: RequestBudget::new(config.rate_per_sec, config.burst),
            // Every poll is part of the sweep: a floor share of 1.0 is round-robin.
            config: ScheduleConfig {
                floor_share: 1.0,
                ..config.clone()
            },
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
        self.budget.charge_follow_ups(now, outcome.changed_titles);
    }

    fn record_presence(&mut self, _: f64, _: &[AccountKey], _: &[(AccountKey, ReportedPresence)]) {}

    fn effective_staleness(&self, n_accounts: usize) -> Duration {
        // No presence sweeps: the whole poll rate the budget leaves goes round.
        self.config
            .effective_staleness(n_accounts, self.budget.poll_rate(0.0))
    }

    fn expected_interval(&self, _account: AccountKey, _now: f64) -> Duration {
        self.effective_staleness(self.active.iter().filter(|a| **a).count())
    }
}
