//! The request budget shared by every clone of a client: governor's GCRA over tokio's clock (so
//! `tokio::time::pause` drives it), interactive callers before background ones, and PSN's own 429
//! pause.

use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::{Clock, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::RateLimit;
use crate::error::{Error, Result};

/// The longest wait PSN may impose. A 429 asking for more (a broken header, an old `Date`) would
/// otherwise stop every request for years; after this long the client asks again, and a PSN
/// that still refuses answers 429 again at the cost of one request.
pub(crate) const MAX_PSN_WAIT: Duration = Duration::from_secs(15 * 60);

/// The wait PSN asked for (`asked_secs`, named by `what`), at most `MAX_PSN_WAIT`; logged when cut.
pub(crate) fn cap_psn_wait(what: &str, asked_secs: u64) -> Duration {
    let asked = Duration::from_secs(asked_secs);
    if asked > MAX_PSN_WAIT {
        tracing::warn!(
            what,
            asked_secs,
            capped_secs = MAX_PSN_WAIT.as_secs(),
            "PSN asked for a wait longer than the cap; waiting the cap"
        );
        return MAX_PSN_WAIT;
    }
    asked
}

/// A point in tokio's (possibly paused) time, as governor needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TokioInstant(Instant);

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;
    fn add(self, other: Nanos) -> TokioInstant {
        TokioInstant(self.0 + Duration::from(other))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        self.0.saturating_duration_since(earlier.0).into()
    }
    fn saturating_sub(&self, duration: Nanos) -> Self {
        TokioInstant(
            self.0
                .checked_sub(Duration::from(duration))
                .unwrap_or(self.0),
        )
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokioClock;

impl Clock for TokioClock {
    type Instant = TokioInstant;
    fn now(&self) -> TokioInstant {
        TokioInstant(Instant::now())
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, StateInformationMiddleware>;

/// Who is asking: a command a user waits for, or the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    Interactive,
    Background,
}

pub(crate) struct Budget {
    limiter: Limiter,
    quota: Quota,
    interactive_max_wait: Duration,
    interactive_waiting: AtomicUsize,
    interactive_done: Notify,
    /// PSN said "not before": every caller waits until then.
    paused_until: Mutex<Option<Instant>>,
    /// The burst capacity seen at the last grant, to report what is left.
    last_remaining: Mutex<(u32, Instant)>,
    pub(crate) rate_limited: AtomicU64,
}

/// The quota that never lets more than `limit.requests` through in any window of `limit.per`.
///
/// GCRA lets through its burst at once and then one request per replenish interval, so in any
/// window of length W it admits at most `burst + W / interval`. A third of the budget is the burst
/// (commands answer at once after a quiet spell) and the rest refills evenly over the window:
/// `burst + (requests - burst)` = `requests`. One request is held back from the refill, because a
/// window that starts on a grant and ends on one counts both ends.
pub(crate) fn quota_for(limit: RateLimit) -> Quota {
    let requests = limit.requests.max(2);
    let burst = (requests / 3).max(1);
    let refill = (requests - burst).saturating_sub(1).max(1);
    let interval = limit.per / refill;
    let quota = Quota::with_period(interval.max(Duration::from_nanos(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
    quota.allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN))
}

impl Budget {
    pub(crate) fn new(limit: RateLimit, interactive_max_wait: Duration) -> Budget {
        let quota = quota_for(limit);
        Budget {
            limiter: RateLimiter::direct_with_clock(quota, TokioClock)
                .with_middleware::<StateInformationMiddleware>(),
            quota,
            interactive_max_wait,
            interactive_waiting: AtomicUsize::new(0),
            interactive_done: Notify::new(),
            paused_until: Mutex::new(None),
            last_remaining: Mutex::new((quota.burst_size().get(), Instant::now())),
            rate_limited: AtomicU64::new(0),
        }
    }

    /// Waits for one request's turn. Interactive callers fail fast with `RateLimited` when the
    /// wait would exceed `interactive_max_wait`; background callers wait as long as it takes, and
    /// let any waiting interactive caller go first.
    pub(crate) async fn acquire(&self, priority: Priority) -> Result<()> {
        match priority {
            Priority::Interactive => {
                self.interactive_waiting.fetch_add(1, Ordering::SeqCst);
                let result = self.acquire_interactive().await;
                if self.interactive_waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
                    self.interactive_done.notify_waiters();
                }
                result
            }
            Priority::Background => self.acquire_background().await,
        }
    }

    async fn acquire_interactive(&self) -> Result<()> {
        loop {
            let now = Instant::now();
            if let Some(until) = self.paused_until() {
                let wait = until.saturating_duration_since(now);
                if wait > self.interactive_max_wait {
                    return Err(rate_limited_after(wait));
                }
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.limiter.check() {
                Ok(snapshot) => {
                    self.note_remaining(snapshot.remaining_burst_capacity());
                    return Ok(());
                }
                Err(not_until) => {
                    let wait = not_until.wait_time_from(TokioInstant(now));
                    if wait > self.interactive_max_wait {
                        return Err(rate_limited_after(wait));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn acquire_background(&self) -> Result<()> {
        loop {
            // Registering before checking the count means a wake-up between the two is not lost.
            let interactive_done = self.interactive_done.notified();
            if self.interactive_waiting.load(Ordering::SeqCst) > 0 {
                interactive_done.await;
                continue;
            }
            if let Some(until) = self.paused_until() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.limiter.check() {
                Ok(snapshot) => {
                    self.note_remaining(snapshot.remaining_burst_capacity());
                    return Ok(());
                }
                Err(not_until) => {
                    tokio::time::sleep(not_until.wait_time_from(TokioInstant(Instant::now())))
                        .await;
                }
            }
        }
    }

    fn paused_until(&self) -> Option<Instant> {
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        match *paused {
            Some(until) if until > Instant::now() => Some(until),
            Some(_) => {
                *paused = None;
                None
            }
            None => None,
        }
    }

    /// PSN answered 429: nobody sends anything for `wait` (at most `MAX_PSN_WAIT`).
    pub(crate) fn pause_for(&self, wait: Duration) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let until = now
            .checked_add(wait.min(MAX_PSN_WAIT))
            .unwrap_or(now + MAX_PSN_WAIT);
        let mut paused = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    fn note_remaining(&self, remaining: u32) {
        *self
            .last_remaining
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = (remaining, Instant::now());
    }

    /// Requests that could go out at once now (the burst capacity refilled since the last grant).
    pub(crate) fn remaining(&self) -> u32 {
        if self.paused_until().is_some() {
            return 0;
        }
        let (remaining, at) = *self
            .last_remaining
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let interval = self.quota.replenish_interval().as_nanos().max(1);
        let refilled = at.elapsed().as_nanos() / interval;
        let burst = self.quota.burst_size().get();
        u32::try_from(u128::from(remaining) + refilled)
            .unwrap_or(burst)
            .min(burst)
    }
}

/// `RateLimited` with the wall-clock time the wait ends.
pub(crate) fn rate_limited_after(wait: Duration) -> Error {
    let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    let retry_at: DateTime<Utc> = Utc::now()
        .checked_add_signed(wait)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    Error::RateLimited { retry_at }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn limit(requests: u32, secs: u64) -> RateLimit {
        RateLimit {
            requests,
            per: Duration::from_secs(secs),
        }
    }

    fn max_in_any_window(grants: &[Duration], window: Duration) -> usize {
        grants
            .iter()
            .map(|start| {
                grants
                    .iter()
                    .filter(|t| **t >= *start && **t <= *start + window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn background_callers_never_exceed_the_budget_in_any_window() {
        for (requests, secs) in [(10, 60), (300, 900), (5, 3600), (2, 10)] {
            let budget = Budget::new(limit(requests, secs), Duration::from_secs(5));
            let start = Instant::now();
            let mut grants = Vec::new();
            for _ in 0..(requests * 3) {
                budget.acquire(Priority::Background).await.unwrap();
                grants.push(start.elapsed());
            }
            let most = max_in_any_window(&grants, Duration::from_secs(secs));
            assert!(
                most <= requests as usize,
                "{requests}/{secs}s: {most} in one window"
            );
            // The budget is not wasted either: the first window holds most of it.
            assert!(
                most * 10 >= requests as usize * 8,
                "{requests}/{secs}s: only {most}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn interactive_caller_gets_rate_limited_when_the_wait_is_long() {
        let budget = Budget::new(limit(3, 60), Duration::from_secs(5));
        budget.acquire(Priority::Interactive).await.unwrap();
        let before = Utc::now();
        let err = budget.acquire(Priority::Interactive).await.unwrap_err();
        let Error::RateLimited { retry_at } = err else {
            panic!("expected RateLimited, got {err:?}");
        };
        // 3/60s: burst 1, then one per 60 s: the next grant is a minute away.
        let wait = retry_at - before;
        assert!(wait > chrono::Duration::seconds(50), "{wait}");
        assert!(wait <= chrono::Duration::seconds(61), "{wait}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pause_holds_every_caller() {
        let budget = Arc::new(Budget::new(limit(100, 60), Duration::from_secs(5)));
        budget.pause_for(Duration::from_secs(30));
        assert_eq!(budget.remaining(), 0);
        assert!(matches!(
            budget.acquire(Priority::Interactive).await,
            Err(Error::RateLimited { .. })
        ));
        let start = Instant::now();
        budget.acquire(Priority::Background).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(30));
        assert_eq!(budget.rate_limited.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_time_itself_does_not_panic() {
        let budget = Budget::new(limit(100, 60), Duration::from_secs(5));
        budget.pause_for(Duration::MAX);
        budget.pause_for(Duration::from_secs(i64::MAX as u64));
        assert_eq!(budget.remaining(), 0);
        assert!(matches!(
            budget.acquire(Priority::Interactive).await,
            Err(Error::RateLimited { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn interactive_callers_go_before_background_ones() {
        let budget = Arc::new(Budget::new(limit(4, 40), Duration::from_secs(60)));
        // Spend the burst so that everyone queues.
        while budget.remaining() > 0 {
            budget.acquire(Priority::Background).await.unwrap();
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let background = {
            let (budget, order) = (budget.clone(), order.clone());
            tokio::spawn(async move {
                budget.acquire(Priority::Background).await.unwrap();
                order.lock().unwrap().push("background");
            })
        };
        tokio::task::yield_now().await;
        let interactive = {
            let (budget, order) = (budget.clone(), order.clone());
            tokio::spawn(async move {
                budget.acquire(Priority::Interactive).await.unwrap();
                order.lock().unwrap().push("interactive");
            })
        };
        background.await.unwrap();
        interactive.await.unwrap();
        assert_eq!(*order.lock().unwrap(), vec!["interactive", "background"]);
    }
}
