//! The one gate every Discord REST call of the process goes through, so the bot never floods
//! Discord (which bans a bot after 10,000 401, 403 and 429 answers in 10 minutes).
//!
//! - **Hold**: after a global 429, or any 429 whose `retry_after` is over [`HOLD_THRESHOLD`],
//!   every call waits until that time has passed. serenity's own limiter releases its global
//!   lock right after a global 429 and retries 429s without end; its rate-limit callback reports
//!   each 429 here (see `start.rs`), as does the bot's own 429 path (`send.rs`) when the limiter
//!   is off. Interaction answers are exempt: Discord does not count them against the global
//!   limit, and an interaction left waiting expires.
//! - **Bound**: at most [`MAX_IN_FLIGHT`] calls at once.
//! - **Timeout**: a call that takes longer than its timeout is given up (the caller retries
//!   later), so a hung or long rate-limited route never holds its caller forever.
//! - **Counting**: 401, 403 and 429 answers go to `trophybot_discord_invalid_requests_total`.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// A 429 asking for a longer wait than this holds every call of the process, not just its route.
pub const HOLD_THRESHOLD: Duration = Duration::from_secs(10);
/// The longest hold one answer can impose: a bigger `retry_after` (a misbehaving proxy, a
/// Cloudflare ban) is capped and logged, and the call after it finds out again.
pub const MAX_HOLD: Duration = Duration::from_secs(15 * 60);
/// Calls to Discord in flight at once, across the deliverer, the replies and the alerts.
pub const MAX_IN_FLIGHT: usize = 8;
/// How long one call may take, its limiter waits included (`DISCORD_CALL_TIMEOUT` sets it).
pub const CALL_TIMEOUT: Duration = crate::config::DEFAULT_DISCORD_CALL_TIMEOUT;

/// What a call is, for the hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// A call on the bot's own rate limits (posts, history, lookups): held during a hold.
    Rest,
    /// An interaction answer (callback, edit of the reply): not held, bounded and timed out.
    Interaction,
}

/// Cheap to clone; clones share the hold, the bound and the counters.
#[derive(Clone)]
pub struct DiscordGate {
    inner: Arc<Inner>,
}

struct Inner {
    held_until: Mutex<Option<Instant>>,
    in_flight: Semaphore,
    call_timeout: Duration,
    metrics: crate::ops::Metrics,
}

impl std::fmt::Debug for DiscordGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordGate")
            .field("held_until", &self.held_until())
            .field("call_timeout", &self.inner.call_timeout)
            .finish_non_exhaustive()
    }
}

impl DiscordGate {
    pub fn new(metrics: crate::ops::Metrics) -> DiscordGate {
        DiscordGate::with_limits(metrics, MAX_IN_FLIGHT, CALL_TIMEOUT)
    }

    pub fn with_limits(
        metrics: crate::ops::Metrics,
        max_in_flight: usize,
        call_timeout: Duration,
    ) -> DiscordGate {
        DiscordGate {
            inner: Arc::new(Inner {
                held_until: Mutex::new(None),
                in_flight: Semaphore::new(max_in_flight.max(1)),
                call_timeout,
                metrics,
            }),
        }
    }

    pub fn call_timeout(&self) -> Duration {
        self.inner.call_timeout
    }

    /// Until when every REST call waits, if a hold is on.
    pub fn held_until(&self) -> Option<Instant> {
        let held = *self
            .inner
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        held.filter(|until| *until > Instant::now())
    }

    /// A 429 answer seen (the bot's own path with the limiter off): counted, and a hold when it
    /// is global or longer than [`HOLD_THRESHOLD`].
    pub fn report_rate_limited(&self, retry_after: Duration, global: bool) {
        self.inner.metrics.record_discord_invalid_request(429);
        self.hold_if_long(retry_after, global);
    }

    /// A wait serenity's limiter reports (its rate-limit callback): after a 429, or before a
    /// request when the route's bucket is empty; serenity does not say which. A global one is
    /// always a 429. Counted as a wait (and a global one as a 429), and a hold as for a 429.
    pub fn report_limiter_wait(&self, wait: Duration, global: bool) {
        self.inner.metrics.record_discord_rate_limit_wait();
        if global {
            self.inner.metrics.record_discord_invalid_request(429);
        }
        self.hold_if_long(wait, global);
    }

    /// A hold when `wait` is global or longer than [`HOLD_THRESHOLD`]; a hold only ever grows.
    fn hold_if_long(&self, retry_after: Duration, global: bool) {
        if !global && retry_after <= HOLD_THRESHOLD {
            return;
        }
        let hold = if retry_after > MAX_HOLD {
            tracing::warn!(?retry_after, cap = ?MAX_HOLD, "Discord asked for a very long wait; capping it");
            MAX_HOLD
        } else {
            retry_after
        };
        let until = Instant::now() + hold;
        let mut held = self
            .inner
            .held_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if held.is_none_or(|current| current < until) {
            *held = Some(until);
            tracing::warn!(
                ?hold,
                global,
                "Discord rate limit: holding every Discord call until it passes"
            );
        }
    }

    /// Waits while a hold is on (a hold set meanwhile is waited for too).
    pub async fn wait_for_hold(&self) {
        while let Some(until) = self.held_until() {
            tokio::time::sleep_until(until).await;
        }
    }

    /// Runs one Discord call through the gate: waits for a hold (REST calls), takes one of the
    /// in-flight places, and gives up after the call timeout (an `Io` error of kind `TimedOut`).
    /// 401, 403 and 429 answers are counted.
    pub async fn call<T, Fut>(&self, kind: CallKind, call: Fut) -> Result<T, serenity::Error>
    where
        Fut: Future<Output = Result<T, serenity::Error>>,
    {
        if kind == CallKind::Rest {
            self.wait_for_hold().await;
        }
        // The semaphore is never closed, so the permit always comes.
        let _permit = self.inner.in_flight.acquire().await;
        let result = match tokio::time::timeout(self.inner.call_timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(self.inner.call_timeout)),
        };
        if let Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))) =
            &result
        {
            // A 429 that reaches here comes from the bot's own path, which reports it.
            if let status @ (401 | 403) = response.status_code.as_u16() {
                self.inner.metrics.record_discord_invalid_request(status);
            }
        }
        result
    }
}

/// Hands serenity's rate-limit reports to the gate once the client runs: serenity's
/// `ClientBuilder` replaces the limiter's callback with one that tells its event handlers.
pub struct LimiterReports(pub DiscordGate);

#[async_trait::async_trait]
impl serenity::EventHandler for LimiterReports {
    async fn ratelimit(&self, info: serenity::RatelimitInfo) {
        self.0.report_limiter_wait(info.timeout, info.global);
    }
}

/// The error a call that took too long ends with.
fn timed_out(after: Duration) -> serenity::Error {
    serenity::Error::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("Discord did not answer within {after:?}"),
    ))
}

/// Whether `err` is a call given up by the gate's timeout.
pub fn is_timeout(err: &serenity::Error) -> bool {
    matches!(err, serenity::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> (DiscordGate, crate::ops::Metrics) {
        let metrics = crate::ops::Metrics::new();
        (
            DiscordGate::with_limits(metrics.clone(), 2, Duration::from_secs(30)),
            metrics,
        )
    }

    async fn ok_call() -> Result<Instant, serenity::Error> {
        Ok(Instant::now())
    }

    #[tokio::test(start_paused = true)]
    async fn a_global_429_holds_every_rest_call_until_it_passes() {
        let (gate, metrics) = gate();
        let start = Instant::now();
        gate.report_rate_limited(Duration::from_secs(3), true);
        let ran_at = gate.call(CallKind::Rest, ok_call()).await.expect("runs");
        assert_eq!(ran_at - start, Duration::from_secs(3));
        assert_eq!(metrics.discord_invalid_requests(429), 1);
        // Past the hold, no wait.
        let again = gate.call(CallKind::Rest, ok_call()).await.expect("runs");
        assert_eq!(again, ran_at);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_route_429_holds_nothing_but_a_long_one_holds_everything() {
        let (gate, metrics) = gate();
        let start = Instant::now();
        gate.report_rate_limited(Duration::from_secs(5), false);
        assert_eq!(gate.held_until(), None);
        assert_eq!(
            gate.call(CallKind::Rest, ok_call()).await.expect("runs"),
            start
        );
        gate.report_rate_limited(Duration::from_secs(60), false);
        // A shorter one later does not shorten the hold.
        gate.report_limiter_wait(Duration::from_secs(20), true);
        assert_eq!(
            gate.call(CallKind::Rest, ok_call()).await.expect("runs") - start,
            Duration::from_secs(60)
        );
        assert_eq!(metrics.discord_invalid_requests(429), 3);
        assert_eq!(metrics.discord_rate_limit_waits(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn interaction_answers_are_not_held() {
        let (gate, _) = gate();
        let start = Instant::now();
        gate.report_rate_limited(Duration::from_secs(30), true);
        assert_eq!(
            gate.call(CallKind::Interaction, ok_call())
                .await
                .expect("runs"),
            start
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_is_capped() {
        let (gate, _) = gate();
        let start = Instant::now();
        gate.report_rate_limited(Duration::from_secs(u64::MAX / 4), true);
        assert_eq!(gate.held_until(), Some(start + MAX_HOLD));
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_hangs_is_given_up_after_the_timeout() {
        let (gate, _) = gate();
        let start = Instant::now();
        let result: Result<(), _> = gate
            .call(CallKind::Rest, std::future::pending::<Result<(), _>>())
            .await;
        let err = result.expect_err("timed out");
        assert!(is_timeout(&err), "{err}");
        assert_eq!(Instant::now() - start, Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_than_the_bound_run_at_once() {
        let (gate, _) = gate();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let running = running.clone();
            let most = most.clone();
            let gate = gate.clone();
            calls.spawn(async move {
                gate.call(CallKind::Rest, async {
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    Ok::<(), serenity::Error>(())
                })
                .await
            });
        }
        let start = Instant::now();
        while let Some(result) = calls.join_next().await {
            result.expect("joined").expect("runs");
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }
}
