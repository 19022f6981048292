//! Counts of what the client did, for metrics and the request-count benchmark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::budget::Budget;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests actually sent (API, profile and sign-in), retries included.
    pub requests_sent: u64,
    /// API requests the budget let out to the tracker (`Client::background`), retries included.
    pub tracker_requests: u64,
    /// Of `tracker_requests`, those borrowed from the commands' part while no command waited:
    /// beyond the tracker's share, so its scheduler does not count them against its plan.
    pub tracker_borrowed: u64,
    /// API requests the budget let out to commands (every other clone), retries included.
    pub command_requests: u64,
    /// Sign-in requests (NPSSO exchange, token refresh): PSN does not count them in the budget.
    pub sign_in_requests: u64,
    /// 429 answers seen.
    pub rate_limited: u64,
    /// Requests the budget would let out at once now.
    pub budget_remaining: u32,
    /// Answers served from the client's caches instead of PSN.
    pub cache_hits: u64,
    pub cache_misses: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests_sent: AtomicU64,
    sign_ins: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
}

impl Counters {
    pub(crate) fn sent(&self) {
        self.requests_sent.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn sent_sign_in(&self) {
        self.sent();
        self.sign_ins.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn hit(&self) {
        self.cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn miss(&self) {
        self.cache_misses.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn snapshot(&self, budget: &Budget) -> ClientStats {
        ClientStats {
            requests_sent: self.requests_sent.load(Ordering::Relaxed),
            tracker_requests: budget.granted.tracker.load(Ordering::Relaxed),
            tracker_borrowed: budget.granted.tracker_borrowed.load(Ordering::Relaxed),
            command_requests: budget.granted.command.load(Ordering::Relaxed),
            sign_in_requests: self.sign_ins.load(Ordering::Relaxed),
            rate_limited: budget.rate_limited.load(Ordering::Relaxed),
            budget_remaining: budget.remaining(),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
            cache_misses: self.cache_misses.load(Ordering::Relaxed),
        }
    }
}

/// Counts the API requests sent on behalf of one caller (a command, a keystroke, a button
/// press), retries included and cache hits not, so the caller can be charged what it really
/// cost. Clones share the count. See [`crate::Client::metered`].
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<AtomicU64>);

impl Meter {
    pub fn new() -> Meter {
        Meter::default()
    }

    /// API requests sent through clients carrying this meter so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn sent(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}
