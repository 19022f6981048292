//! The request budget shared by every clone of a client, split between the tracker and commands,
//! over tokio's clock (so `tokio::time::pause` drives it), and PSN's own 429 pause.
//!
//! # The split
//!
//! `PSN_RATE_LIMIT` allows `L` requests per window `W`; `TRACKER_COMMAND_RESERVE` (`r`) is the
//! commands' part. The budget is made of two sources whose sum never exceeds `L` in any window:
//!
//! - **The tracker's slots**: `S = ⌊(1 − r) · L⌋` per window, one at a time, evenly spaced
//!   (`(W + margin) / S` apart: governor's GCRA with a burst of one). A waiting tracker request always
//!   takes the next slot, so in a window in which tracker requests wait throughout it gets every
//!   slot that falls into it: at least `S − 1` (`⌊(1 − r) · L⌋ − 1`), whatever commands do. This
//!   is the rate the scheduler plans on (`tracker_rate`).
//! - **The command lane**: `R = L − S` grants in any window, a sliding log, taken at once when
//!   free, so a command on an idle budget never waits.
//!
//! Borrowing: a command takes a slot the tracker is not waiting for (before its own lane, which
//! keeps the lane for later); because slots come one at a time, a borrowed slot delays a tracker
//! request that arrives just after it by at most one slot spacing and never takes a later one.
//! With an idle tracker, commands therefore get `R` at once plus every slot: the whole `L`. The
//! tracker in turn may use the lane while no command waits, but at most half of it in any window,
//! so that a command arriving later still finds the lane open.
//!
//! **Idle work** (a `/rarest` fill-in) comes last: it takes only the command lane, never a
//! slot, and only while no command and no tracker request waits and the lane holds fewer than
//! half its grants, so the commands after it find at least half the lane open. On a busy budget
//! it simply waits.
//!
//! Both sources count a window as closed at both ends and `margin` longer than `W` (a
//! half the average spacing `W / 2L`, at most a second), so that requests that reach PSN a little
//! late or early never put `L + 1` into one of PSN's windows.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::{Clock, Reference};
use governor::middleware::NoOpMiddleware;
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

/// Who is asking: a command a user waits for, the tracker, or work nobody waits for (it uses
/// only command capacity left idle, see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    Interactive,
    Background,
    Idle,
}

/// The split's sizes, fixed at start (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Split {
    /// `W` plus the margin: the window both sources count in.
    window: Duration,
    /// The spacing of the tracker's slots; `None` when the reserve leaves it none.
    slot_interval: Option<Duration>,
    /// `R`: command-lane grants allowed in any window.
    lane: usize,
    /// The most lane grants the tracker may hold in any window.
    tracker_lane: usize,
    /// Idle work is granted only while the lane holds fewer grants than this (of anyone).
    idle_lane: usize,
}

impl Split {
    pub(crate) fn new(limit: RateLimit, command_reserve: f64) -> Split {
        let requests = limit.requests.max(1);
        let reserve = if command_reserve.is_finite() {
            command_reserve.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Floored, as the guarantee is; the float product of an exact share (0.7 · 300) may land
        // a hair under the integer.
        let slots = ((1.0 - reserve) * f64::from(requests) + 1e-9).floor() as u32;
        let slots = slots.min(requests);
        let margin = (limit.per / (2 * requests)).min(Duration::from_secs(1));
        let window = limit.per + margin;
        // One nanosecond more than `window / slots`, so a window holds at most `slots` of them
        // even when it starts and ends on one.
        let slot_interval = (slots > 0).then(|| window / slots + Duration::from_nanos(1));
        let lane = (requests - slots) as usize;
        // Half the lane, but all of a lane of one (else a tiny budget would leave the tracker
        // nothing when it has no slots).
        let tracker_lane = if lane >= 2 { lane / 2 } else { lane };
        Split {
            window,
            slot_interval,
            lane,
            tracker_lane,
            idle_lane: lane / 2,
        }
    }

    /// `S`: the tracker's slots per window.
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.slot_interval.map_or(0, |interval| {
            usize::try_from(self.window.as_nanos() / interval.as_nanos()).unwrap_or(usize::MAX) + 1
        })
    }
}

/// A point in tokio's (possibly paused) time, as governor needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct TokioInstant(Instant);

impl std::ops::Add<Nanos> for TokioInstant {
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

/// tokio's clock for governor, so `tokio::time::pause` drives the tracker's slots too.
#[derive(Debug, Clone, Copy, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = TokioInstant;
    fn now(&self) -> TokioInstant {
        TokioInstant(Instant::now())
    }
}

/// The tracker's slots: governor's GCRA with a burst of one, one slot every `slot_interval`.
type SlotLimiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>;

fn slot_limiter(interval: Duration) -> Option<SlotLimiter> {
    let quota = Quota::with_period(interval)?.allow_burst(std::num::NonZeroU32::MIN);
    Some(RateLimiter::direct_with_clock(quota, TokioClock))
}

/// Grants of one kind within the last window, oldest first.
#[derive(Debug, Default)]
struct Log(VecDeque<Instant>);

impl Log {
    fn prune(&mut self, now: Instant, window: Duration) {
        // A grant counts while `now - grant <= window` (the window is closed at both ends).
        while self
            .0
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) > window)
        {
            self.0.pop_front();
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// When the log holds fewer than `capacity` again (`now` if it does).
    fn free_at(&self, capacity: usize, window: Duration, now: Instant) -> Instant {
        if self.0.len() < capacity {
            return now;
        }
        // The grant whose leaving makes room; a zero capacity never has room.
        match self
            .0
            .len()
            .checked_sub(capacity)
            .and_then(|i| self.0.get(i))
        {
            Some(&at) if capacity > 0 => at + window + Duration::from_nanos(1),
            _ => far_future(now),
        }
    }
}

fn far_future(now: Instant) -> Instant {
    now + MAX_PSN_WAIT * 4
}

/// Who waits and what was granted: everything one lock guards.
#[derive(Debug)]
struct Ledger {
    /// When the last tracker slot was granted (the slots themselves are governor's: this only
    /// tells `remaining` and a command's wake-up when the next one is due).
    last_slot: Option<Instant>,
    /// Every command-lane grant, whoever took it.
    lane: Log,
    /// The lane grants the tracker took.
    tracker_lane: Log,
    /// Every grant, of both sources: what this process spent of the current window.
    all: Log,
    tracker_waiting: usize,
    commands_waiting: usize,
}

/// Where a grant came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Slot,
    Lane,
}

/// Requests let out by the budget, by who asked.
#[derive(Debug, Default)]
pub(crate) struct LaneCounts {
    pub(crate) tracker: AtomicU64,
    pub(crate) command: AtomicU64,
    /// Of `tracker`, the grants borrowed from the command lane.
    pub(crate) tracker_borrowed: AtomicU64,
}

pub(crate) struct Budget {
    /// `PSN_RATE_LIMIT` and the command reserve, whole: [`Budget::share`] divides them.
    limit: RateLimit,
    command_reserve: f64,
    /// The split in force (this process's share of the limit) and its tracker slots.
    limits: std::sync::RwLock<Limits>,
    interactive_max_wait: Duration,
    ledger: Mutex<Ledger>,
    /// Signalled whenever a caller stops waiting: what another may take can have changed.
    changed: Notify,
    /// PSN said "not before": every caller waits until then.
    paused_until: Mutex<Option<Instant>>,
    /// A process that just joined others sends nothing until then (see [`Budget::hold_for`]).
    held_until: Mutex<Option<Instant>>,
    /// Into how many parts [`Budget::share`] last divided the limit.
    parts: AtomicU32,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) granted: LaneCounts,
}

/// The split in force and its slot limiter (`None` when the reserve leaves the tracker no
/// slots). Replaced whole when the share changes; always locked before the ledger.
struct Limits {
    /// This process's share of the limit, which the split divides.
    share: RateLimit,
    split: Split,
    slots: Option<SlotLimiter>,
}

impl Limits {
    fn new(limit: RateLimit, command_reserve: f64) -> Limits {
        let split = Split::new(limit, command_reserve);
        Limits {
            share: limit,
            split,
            slots: split.slot_interval.and_then(slot_limiter),
        }
    }
}

/// Counts a caller as waiting while it lives, also when its future is dropped mid-wait.
struct Waiting<'a> {
    budget: &'a Budget,
    priority: Priority,
}

impl<'a> Waiting<'a> {
    fn new(budget: &'a Budget, priority: Priority) -> Waiting<'a> {
        let mut ledger = budget.ledger();
        match priority {
            Priority::Interactive => ledger.commands_waiting += 1,
            Priority::Background => ledger.tracker_waiting += 1,
            // Nobody yields to idle work: it is not counted.
            Priority::Idle => {}
        }
        Waiting { budget, priority }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        {
            let mut ledger = self.budget.ledger();
            match self.priority {
                Priority::Interactive => ledger.commands_waiting -= 1,
                Priority::Background => ledger.tracker_waiting -= 1,
                Priority::Idle => {}
            }
        }
        self.budget.changed.notify_waiters();
    }
}

impl Budget {
    pub(crate) fn new(
        limit: RateLimit,
        command_reserve: f64,
        interactive_max_wait: Duration,
    ) -> Budget {
        Budget {
            limit,
            command_reserve,
            limits: std::sync::RwLock::new(Limits::new(limit, command_reserve)),
            interactive_max_wait,
            ledger: Mutex::new(Ledger {
                last_slot: None,
                lane: Log::default(),
                tracker_lane: Log::default(),
                all: Log::default(),
                tracker_waiting: 0,
                commands_waiting: 0,
            }),
            changed: Notify::new(),
            paused_until: Mutex::new(None),
            held_until: Mutex::new(None),
            parts: AtomicU32::new(1),
            rate_limited: AtomicU64::new(0),
            granted: LaneCounts::default(),
        }
    }

    fn limits(&self) -> std::sync::RwLockReadGuard<'_, Limits> {
        self.limits.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps to one of `parts` equal shares of the whole limit (several processes on one
    /// credential, each with its share): the split is made again over `requests / parts`.
    /// What was granted in the current window still counts against the new split.
    pub(crate) fn share(&self, parts: u32) {
        self.share_less(parts, 0);
    }

    /// As [`Budget::share`], less `less` requests per window (what others may still spend of
    /// the current window beyond their parts); at least one request.
    pub(crate) fn share_less(&self, parts: u32, less: u32) {
        self.parts.store(parts.max(1), Ordering::Relaxed);
        let limit = RateLimit {
            requests: (self.limit.requests / parts.max(1))
                .saturating_sub(less)
                .max(1),
            per: self.limit.per,
        };
        let limits = Limits::new(limit, self.command_reserve);
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
        self.changed.notify_waiters();
    }

    /// The share of the limit in force (the whole limit until [`Budget::share`] divides it).
    pub(crate) fn current_share(&self) -> RateLimit {
        self.limits().share
    }

    /// Grants nothing for `wait`: a process that just joined waits until the others' grants
    /// of their larger shares left the window.
    pub(crate) fn hold_for(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_PSN_WAIT * 2);
        let mut held = self.held_until.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_none_or(|current| current < until) {
            *held = Some(until);
        }
    }

    /// Ends a hold early: the others are known to keep to their smaller shares already.
    pub(crate) fn lift_hold(&self) {
        *self.held_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.changed.notify_waiters();
    }

    /// Into how many parts the limit is divided now.
    pub(crate) fn parts(&self) -> u32 {
        self.parts.load(Ordering::Relaxed)
    }

    /// Requests granted within the current window (PSN's window plus the margin).
    pub(crate) fn granted_in_window(&self) -> u32 {
        let window = self.limits().split.window;
        let mut ledger = self.ledger();
        ledger.all.prune(Instant::now(), window);
        u32::try_from(ledger.all.len()).unwrap_or(u32::MAX)
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for one request's turn. Commands (interactive) fail fast with `RateLimited` when
    /// their turn is further than `interactive_max_wait` away; the tracker (background) and idle
    /// work wait as long as it takes (idle work is stopped by dropping the future).
    pub(crate) async fn acquire(&self, priority: Priority) -> Result<()> {
        let _waiting = Waiting::new(self, priority);
        let deadline = Instant::now() + self.interactive_max_wait;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let now = Instant::now();
            let next = match self.paused_until() {
                Some(until) => until,
                None => match self.try_grant(priority, now) {
                    Ok(()) => return Ok(()),
                    Err(next) => next,
                },
            };
            if priority == Priority::Interactive && next > deadline {
                return Err(rate_limited_after(next.saturating_duration_since(now)));
            }
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                () = &mut changed => {}
            }
        }
    }

    /// Grants one request now if the split allows it, else says when to look again.
    fn try_grant(&self, priority: Priority, now: Instant) -> std::result::Result<(), Instant> {
        let limits = self.limits();
        let split = limits.split;
        let mut ledger = self.ledger();
        ledger.lane.prune(now, split.window);
        ledger.tracker_lane.prune(now, split.window);
        let never = far_future(now);
        // A waiting tracker request always gets the next slot: a command takes one only when
        // none waits. Asking governor takes the slot when it is due.
        let may_take_slot = match priority {
            Priority::Background => true,
            Priority::Interactive => ledger.tracker_waiting == 0,
            Priority::Idle => false,
        };
        // A limiter made again for a new share knows nothing of the last slot: the spacing
        // from it holds all the same.
        let slot_due = Self::next_slot_due(split, &ledger, now);
        let (slot_taken, slot_at) = match (&limits.slots, split.slot_interval) {
            (Some(_), Some(_)) if may_take_slot && slot_due > now => (false, slot_due),
            (Some(slots), Some(_)) if may_take_slot => match slots.check() {
                Ok(()) => (true, now),
                Err(not_until) => (false, not_until.earliest_possible().0.max(now)),
            },
            // The waiting tracker takes the next slot; the one after may be free.
            (Some(_), Some(interval)) if priority != Priority::Idle => (false, slot_due + interval),
            _ => (false, never),
        };
        let lane_open = ledger.lane.len() < split.lane;
        let source = if slot_taken {
            Some(Source::Slot)
        } else {
            match priority {
                Priority::Background => {
                    let may_borrow = ledger.commands_waiting == 0
                        && ledger.tracker_lane.len() < split.tracker_lane;
                    (lane_open && may_borrow).then_some(Source::Lane)
                }
                Priority::Interactive => lane_open.then_some(Source::Lane),
                Priority::Idle => {
                    let idle = ledger.commands_waiting == 0
                        && ledger.tracker_waiting == 0
                        && ledger.lane.len() < split.idle_lane;
                    idle.then_some(Source::Lane)
                }
            }
        };
        if source.is_some() {
            ledger.all.prune(now, split.window);
            ledger.all.0.push_back(now);
        }
        match source {
            Some(Source::Slot) => ledger.last_slot = Some(now),
            Some(Source::Lane) => {
                ledger.lane.0.push_back(now);
                if priority == Priority::Background {
                    ledger.tracker_lane.0.push_back(now);
                }
            }
            None => {}
        }
        if source.is_some() {
            // Idle work is command work: it is counted in the command lane.
            let counter = match priority {
                Priority::Background => &self.granted.tracker,
                Priority::Interactive | Priority::Idle => &self.granted.command,
            };
            counter.fetch_add(1, Ordering::Relaxed);
            if priority == Priority::Background && source == Some(Source::Lane) {
                self.granted
                    .tracker_borrowed
                    .fetch_add(1, Ordering::Relaxed);
            }
            return Ok(());
        }

        // When to look again: the earliest time a source could open for this caller.
        let lane_at =
            match priority {
                Priority::Interactive => ledger.lane.free_at(split.lane, split.window, now),
                // While commands wait the tracker never borrows; it looks again when they are done.
                Priority::Background if ledger.commands_waiting > 0 => never,
                Priority::Background => ledger.lane.free_at(split.lane, split.window, now).max(
                    ledger
                        .tracker_lane
                        .free_at(split.tracker_lane, split.window, now),
                ),
                // Waiters of the other kinds wake it when they stop waiting (`changed`).
                Priority::Idle if ledger.commands_waiting + ledger.tracker_waiting > 0 => never,
                Priority::Idle => ledger.lane.free_at(split.idle_lane, split.window, now),
            };
        // Never `now` itself: a wait that cannot end at once must not spin.
        Err(slot_at.min(lane_at).max(now + Duration::from_millis(1)))
    }

    /// When the next tracker slot is due, from the last one granted (governor decides; this is
    /// for a wake-up time and `remaining`).
    fn next_slot_due(split: Split, ledger: &Ledger, now: Instant) -> Instant {
        match (ledger.last_slot, split.slot_interval) {
            (Some(last), Some(interval)) => (last + interval).max(now),
            _ => now,
        }
    }

    /// Until when nothing is granted: PSN's "not before" or a joining process's hold.
    fn paused_until(&self) -> Option<Instant> {
        let now = Instant::now();
        let live = |slot: &Mutex<Option<Instant>>| {
            let mut until = slot.lock().unwrap_or_else(|p| p.into_inner());
            if until.is_some_and(|at| at <= now) {
                *until = None;
            }
            *until
        };
        live(&self.paused_until).max(live(&self.held_until))
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

    /// Requests that could go out at once now: the command lane's free room and the tracker's
    /// slot if it is due.
    pub(crate) fn remaining(&self) -> u32 {
        if self.paused_until().is_some() {
            return 0;
        }
        let now = Instant::now();
        let limits = self.limits();
        let split = limits.split;
        let mut ledger = self.ledger();
        ledger.lane.prune(now, split.window);
        let due = Self::next_slot_due(split, &ledger, now);
        let slot = u32::from(limits.slots.is_some() && now >= due);
        let lane = split.lane.saturating_sub(ledger.lane.len());
        u32::try_from(lane).unwrap_or(u32::MAX).saturating_add(slot)
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

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Who {
        Tracker,
        Command,
        Idle,
    }

    /// The most grants in any window of length `window`, closed at both ends.
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

    /// The fewest of `grants` in any window of length `window` inside `[0, run]`: the count only
    /// drops just after a grant leaves, so those starts (and 0) are the ones to look at.
    fn min_in_any_window(grants: &[Duration], window: Duration, run: Duration) -> usize {
        std::iter::once(Duration::ZERO)
            .chain(grants.iter().map(|g| *g + Duration::from_nanos(1)))
            .filter(|start| *start + window <= run)
            .map(|start| {
                grants
                    .iter()
                    .filter(|t| **t >= start && **t <= start + window)
                    .count()
            })
            .min()
            .expect("the run is longer than a window")
    }

    fn of(grants: &[(Duration, Who)], who: Who) -> Vec<Duration> {
        grants
            .iter()
            .filter(|(_, w)| *w == who)
            .map(|(t, _)| *t)
            .collect()
    }

    /// `trackers` tracker callers asking back to back (so one always waits), `commands` users
    /// firing commands (again a second after a refusal) and `idle` fill-ins asking back to back,
    /// for `run`: every grant, by whom.
    async fn hammer(
        budget: Arc<Budget>,
        trackers: usize,
        commands: usize,
        idle: usize,
        run: Duration,
    ) -> Vec<(Duration, Who)> {
        let start = Instant::now();
        let end = start + run;
        let grants = Arc::new(Mutex::new(Vec::new()));
        let mut callers = tokio::task::JoinSet::new();
        let record = move |grants: &Arc<Mutex<Vec<(Duration, Who)>>>, who| {
            let now = Instant::now();
            if now <= end {
                grants.lock().unwrap().push((now - start, who));
            }
        };
        // Callers that wait as long as it takes: the tracker and idle work.
        let patient = std::iter::repeat_n((Priority::Background, Who::Tracker), trackers)
            .chain(std::iter::repeat_n((Priority::Idle, Who::Idle), idle));
        for (priority, who) in patient {
            let (budget, grants) = (budget.clone(), grants.clone());
            callers.spawn(async move {
                loop {
                    budget.acquire(priority).await.unwrap();
                    record(&grants, who);
                }
            });
        }
        for _ in 0..commands {
            let (budget, grants) = (budget.clone(), grants.clone());
            callers.spawn(async move {
                loop {
                    match budget.acquire(Priority::Interactive).await {
                        Ok(()) => record(&grants, Who::Command),
                        Err(Error::RateLimited { .. }) => {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                        Err(other) => panic!("{other:?}"),
                    }
                }
            });
        }
        tokio::time::sleep_until(end).await;
        callers.abort_all();
        while callers.join_next().await.is_some() {}
        let grants = grants.lock().unwrap().clone();
        grants
    }

    /// Three processes on one credential of `requests` per `secs`: two running, each keeping to
    /// half, and a newcomer not yet dividing.
    fn two_running_and_a_newcomer(requests: u32, secs: u64) -> [Arc<Budget>; 3] {
        let budget = || {
            Arc::new(Budget::new(
                limit(requests, secs),
                0.3,
                Duration::from_secs(5),
            ))
        };
        let [a, b, c] = [budget(), budget(), budget()];
        a.share(2);
        b.share(2);
        [a, b, c]
    }

    /// [`hammer`] from `at` until `end`, its grants timed from the start.
    async fn hammer_from(budget: Arc<Budget>, at: Duration, end: Duration) -> Vec<Duration> {
        tokio::time::sleep(at).await;
        hammer(budget, 2, 5, 0, end - at)
            .await
            .into_iter()
            .map(|(t, _)| t + at)
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_joiner_lifting_its_hold_early_keeps_the_sum_within_the_budget() {
        let (requests, secs) = (30, 60);
        let window = Duration::from_secs(secs);
        let [a, b, c] = two_running_and_a_newcomer(requests, secs);
        let joins_at = window + window / 3;
        let run = window * 4;
        // The two running processes are lightly used: a request every 20 s each, well within
        // their parts, so the newcomer need not wait a whole window.
        let light = |budget: Arc<Budget>| async move {
            let start = Instant::now();
            let mut grants = Vec::new();
            while start.elapsed() < run {
                budget.acquire(Priority::Background).await.unwrap();
                grants.push(start.elapsed());
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
            grants
        };
        // As the share keeper does: the others divide by three a renewal later; the newcomer
        // then sends at once, keeping clear of what they spent this window, and takes its
        // whole part a window later.
        let reshare = {
            let (a, b, c) = (a.clone(), b.clone(), c.clone());
            async move {
                tokio::time::sleep(joins_at).await;
                c.hold_for(window + Duration::from_secs(8));
                c.share(3);
                tokio::time::sleep(Duration::from_secs(4)).await;
                a.share(3);
                b.share(3);
                tokio::time::sleep(Duration::from_secs(4)).await;
                let spent = a.granted_in_window() + b.granted_in_window();
                assert!(spent < requests / 3, "{spent} spent: room is left");
                c.share_less(3, spent);
                c.lift_hold();
                tokio::time::sleep(window).await;
                c.share(3);
            }
        };
        let late = hammer_from(c.clone(), joins_at, run);
        let ((), first, second, third) =
            tokio::join!(reshare, light(a.clone()), light(b.clone()), late);
        let mut all: Vec<Duration> = first.iter().chain(&second).copied().collect();
        all.extend(third.iter().copied());
        all.sort();
        let most = max_in_any_window(&all, window);
        assert!(most <= requests as usize, "{most} in one window");
        assert!(
            third.iter().any(|t| *t < joins_at + window / 2),
            "the newcomer sent well before a whole window: {third:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn processes_sharing_a_credential_never_exceed_it_together() {
        let (requests, secs) = (30, 60);
        let window = Duration::from_secs(secs);
        let [a, b, c] = two_running_and_a_newcomer(requests, secs);
        assert_eq!(
            c.current_share(),
            limit(requests, secs),
            "the whole until divided"
        );
        assert_eq!(a.current_share(), limit(requests / 2, secs));
        let joins_at = window + window / 3;
        let run = window * 4;
        // The third process joins: it holds its budget while the others take their smaller
        // shares at their next renewal (a few seconds later) and until what they took of
        // their larger shares left the window; then it keeps to a third itself.
        let reshare = {
            let (a, b, c) = (a.clone(), b.clone(), c.clone());
            async move {
                tokio::time::sleep(joins_at).await;
                c.hold_for(window + Duration::from_secs(8));
                c.share(3);
                tokio::time::sleep(Duration::from_secs(4)).await;
                a.share(3);
                b.share(3);
            }
        };
        let late = hammer_from(c.clone(), joins_at, run);
        let ((), first, second, third) = tokio::join!(
            reshare,
            hammer(a.clone(), 2, 5, 0, run),
            hammer(b.clone(), 2, 5, 0, run),
            late,
        );
        let mut all: Vec<Duration> = first.iter().chain(&second).map(|(t, _)| *t).collect();
        all.extend(third.iter().copied());
        all.sort();
        let most = max_in_any_window(&all, window);
        assert!(most <= requests as usize, "{most} in one window");
        let thirds: Vec<Duration> = first
            .iter()
            .map(|(t, _)| *t)
            .filter(|t| *t > joins_at + window)
            .collect();
        let most = max_in_any_window(&thirds, window);
        assert!(
            most <= (requests / 3) as usize,
            "one process took {most} of a third"
        );
        assert!(!third.is_empty(), "the third process got its share too");
    }

    /// `⌊(1 − reserve) · requests⌋ − 1`, from integers: reserve is `percent`/100.
    fn guaranteed(requests: u32, percent: u32) -> usize {
        ((requests * (100 - percent)) / 100) as usize - 1
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_lifted_early_lets_requests_out_and_grants_are_counted_per_window() {
        let budget = Budget::new(limit(30, 60), 0.3, Duration::from_secs(5));
        budget.share(3);
        assert_eq!(budget.parts(), 3);
        budget.hold_for(Duration::from_secs(90));
        assert!(
            budget.acquire(Priority::Interactive).await.is_err(),
            "held: a command is told to retry later"
        );
        budget.lift_hold();
        budget.acquire(Priority::Interactive).await.unwrap();
        budget.acquire(Priority::Background).await.unwrap();
        assert_eq!(budget.granted_in_window(), 2);
        // A 429's pause is PSN's, not the hold's: lifting the hold leaves it.
        budget.pause_for(Duration::from_secs(30));
        budget.lift_hold();
        assert!(budget.acquire(Priority::Interactive).await.is_err());
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(budget.granted_in_window(), 0, "the grants left the window");
    }

    #[tokio::test(start_paused = true)]
    async fn hammering_commands_never_take_the_trackers_share() {
        for (requests, secs, percent) in [(300, 900, 30), (30, 60, 30), (100, 60, 50), (7, 60, 20)]
        {
            let window = Duration::from_secs(secs);
            let budget = Arc::new(Budget::new(
                limit(requests, secs),
                f64::from(percent) / 100.0,
                Duration::from_secs(5),
            ));
            let run = window * 3 + window / 2;
            let grants = hammer(budget.clone(), 3, 20, 0, run).await;
            let all: Vec<Duration> = grants.iter().map(|(t, _)| *t).collect();
            let tracker = of(&grants, Who::Tracker);
            let commands = of(&grants, Who::Command);
            let case = format!("{requests}/{secs}s, reserve {percent}%");

            let fewest = min_in_any_window(&tracker, window, run);
            assert!(
                fewest >= guaranteed(requests, percent),
                "{case}: the tracker got only {fewest} in one window"
            );
            let most = max_in_any_window(&all, window);
            assert!(most <= requests as usize, "{case}: {most} in one window");
            // Commands still get their lane: its whole size in each of the run's windows.
            let lane = requests as usize - guaranteed(requests, percent) - 1;
            assert!(
                commands.len() >= lane * 3,
                "{case}: commands got {}",
                commands.len()
            );
            assert_eq!(
                budget.granted.tracker.load(Ordering::Relaxed) as usize,
                tracker.len(),
                "{case}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn with_an_idle_tracker_commands_borrow_its_share() {
        for (requests, secs, percent) in [(300, 900, 30), (30, 60, 30), (100, 60, 50)] {
            let window = Duration::from_secs(secs);
            let budget = Arc::new(Budget::new(
                limit(requests, secs),
                f64::from(percent) / 100.0,
                Duration::from_secs(5),
            ));
            let run = window * 3;
            let grants = hammer(budget.clone(), 0, 20, 0, run).await;
            let all: Vec<Duration> = grants.iter().map(|(t, _)| *t).collect();
            let case = format!("{requests}/{secs}s, reserve {percent}%");
            // Two fixed limiters would stop commands at the reserve, 3 · (L − S) here.
            assert!(
                all.len() + 3 >= requests as usize * 3,
                "{case}: commands got only {} of {} in three windows",
                all.len(),
                requests * 3
            );
            let most = max_in_any_window(&all, window);
            assert!(most <= requests as usize, "{case}: {most} in one window");
            assert_eq!(
                budget.granted.command.load(Ordering::Relaxed) as usize,
                all.len()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_work_takes_only_the_free_half_of_the_lane_and_never_a_slot() {
        for (requests, secs, percent) in [(30, 60, 30), (300, 900, 30), (100, 60, 50)] {
            let window = Duration::from_secs(secs);
            let budget = Arc::new(Budget::new(
                limit(requests, secs),
                f64::from(percent) / 100.0,
                Duration::from_secs(5),
            ));
            let case = format!("{requests}/{secs}s, reserve {percent}%");
            let lane = requests as usize - guaranteed(requests, percent) - 1;
            // Alone on the budget, idle work gets half the lane per window and nothing more:
            // the tracker's slots stay unused.
            let run = window * 3;
            let grants = hammer(budget.clone(), 0, 0, 2, run).await;
            let idle = of(&grants, Who::Idle);
            assert_eq!(max_in_any_window(&idle, window), lane / 2, "{case}");
            assert!(idle.len() >= lane / 2 * 3, "{case}: only {}", idle.len());
            assert_eq!(budget.granted.tracker.load(Ordering::Relaxed), 0, "{case}");

            // Right after it, a command still finds the other half of the lane open at once.
            let asked = Instant::now();
            for _ in 0..(lane - lane / 2) {
                budget.acquire(Priority::Interactive).await.unwrap();
            }
            assert_eq!(asked.elapsed(), Duration::ZERO, "{case}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_work_takes_nothing_from_a_hammered_budget() {
        for (requests, secs, percent) in [(300, 900, 30), (30, 60, 30)] {
            let window = Duration::from_secs(secs);
            let budget = Arc::new(Budget::new(
                limit(requests, secs),
                f64::from(percent) / 100.0,
                Duration::from_secs(5),
            ));
            let run = window * 3 + window / 2;
            let grants = hammer(budget.clone(), 3, 20, 3, run).await;
            let case = format!("{requests}/{secs}s, reserve {percent}%");
            let tracker = of(&grants, Who::Tracker);
            let commands = of(&grants, Who::Command);
            let idle = of(&grants, Who::Idle);
            let fewest = min_in_any_window(&tracker, window, run);
            assert!(
                fewest >= guaranteed(requests, percent),
                "{case}: the tracker got only {fewest} in one window"
            );
            let lane = requests as usize - guaranteed(requests, percent) - 1;
            assert!(
                commands.len() >= lane * 3,
                "{case}: commands got {}",
                commands.len()
            );
            let all: Vec<Duration> = grants.iter().map(|(t, _)| *t).collect();
            assert!(
                max_in_any_window(&all, window) <= requests as usize,
                "{case}"
            );
            // Commands and the tracker keep the lane busy: nothing is idle.
            assert!(
                idle.len() <= lane / 2,
                "{case}: idle work got {}",
                idle.len()
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn idle_work_waits_while_a_command_or_the_tracker_waits() {
        // 10/60s at 30%: seven slots and a lane of three, of which idle work may fill one.
        let budget = Budget::new(limit(10, 60), 0.3, Duration::from_secs(5));
        for waiting in [Priority::Interactive, Priority::Background] {
            let someone = Waiting::new(&budget, waiting);
            assert!(
                budget.try_grant(Priority::Idle, Instant::now()).is_err(),
                "{waiting:?} waits"
            );
            drop(someone);
        }
        assert!(budget.try_grant(Priority::Idle, Instant::now()).is_ok());
        assert!(
            budget.try_grant(Priority::Idle, Instant::now()).is_err(),
            "half the lane (one of three) is all idle work may hold"
        );
        assert_eq!(budget.granted.command.load(Ordering::Relaxed), 1);
        assert_eq!(budget.granted.tracker.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn each_lane_goes_first_on_its_own_source() {
        // 10/60s at 30%: seven slots 8.6 s apart and a lane of three.
        let budget = Budget::new(limit(10, 60), 0.3, Duration::from_secs(5));
        for _ in 0..4 {
            budget.acquire(Priority::Interactive).await.unwrap();
        }
        assert_eq!(budget.remaining(), 0, "the slot and the lane are spent");
        tokio::time::advance(Duration::from_secs(9)).await;
        let tracker = Waiting::new(&budget, Priority::Background);
        assert!(
            budget
                .try_grant(Priority::Interactive, Instant::now())
                .is_err(),
            "a command never takes a slot a tracker request waits for"
        );
        assert!(budget
            .try_grant(Priority::Background, Instant::now())
            .is_ok());
        drop(tracker);

        // The lane is free again after a window; a waiting command keeps the tracker off it.
        tokio::time::advance(Duration::from_secs(61)).await;
        let tracker = Waiting::new(&budget, Priority::Background);
        assert!(
            budget
                .try_grant(Priority::Background, Instant::now())
                .is_ok(),
            "its slot"
        );
        let command = Waiting::new(&budget, Priority::Interactive);
        assert!(
            budget
                .try_grant(Priority::Background, Instant::now())
                .is_err(),
            "the tracker never borrows the lane while a command waits"
        );
        drop(command);
        assert!(
            budget
                .try_grant(Priority::Background, Instant::now())
                .is_ok(),
            "the lane"
        );
        drop(tracker);
        assert_eq!(budget.granted.tracker.load(Ordering::Relaxed), 3);
        assert_eq!(budget.granted.command.load(Ordering::Relaxed), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_command_on_an_idle_budget_is_granted_at_once() {
        let budget = Arc::new(Budget::new(limit(300, 900), 0.3, Duration::from_secs(5)));
        let start = Instant::now();
        budget.acquire(Priority::Interactive).await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);

        // A busy tracker (its slots and all it may borrow of the lane) adds no wait either.
        let busy = {
            let budget = budget.clone();
            tokio::spawn(async move {
                loop {
                    budget.acquire(Priority::Background).await.unwrap();
                }
            })
        };
        tokio::time::sleep(Duration::from_secs(120)).await;
        let granted_to_tracker = budget.granted.tracker.load(Ordering::Relaxed);
        assert!(granted_to_tracker > 45, "{granted_to_tracker}");
        for _ in 0..10 {
            let asked = Instant::now();
            budget.acquire(Priority::Interactive).await.unwrap();
            assert_eq!(asked.elapsed(), Duration::ZERO);
        }
        busy.abort();
    }

    #[test]
    fn the_split_adds_up_to_the_limit() {
        for (requests, percent) in [(300, 30), (30, 30), (1, 30), (2, 0), (10, 100), (5, 70)] {
            let split = Split::new(limit(requests, 60), f64::from(percent) / 100.0);
            let slots = (requests * (100 - percent) / 100) as usize;
            assert_eq!(split.slots(), slots, "{requests} at {percent}%");
            assert_eq!(split.slots() + split.lane, requests as usize);
        }
        // Not a number is no reserve, not a panic.
        assert_eq!(Split::new(limit(10, 60), f64::NAN).lane, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_tracker_alone_never_exceeds_the_budget_and_gets_its_share() {
        for (requests, secs) in [(10, 60), (300, 900), (5, 3600), (2, 10)] {
            let budget = Budget::new(limit(requests, secs), 0.3, Duration::from_secs(5));
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
            let share = (requests * 7 / 10) as usize;
            assert!(most >= share, "{requests}/{secs}s: only {most}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_command_gets_rate_limited_when_the_wait_is_long() {
        // 2/60s at 50%: one slot and a lane of one.
        let budget = Budget::new(limit(2, 60), 0.5, Duration::from_secs(5));
        budget.acquire(Priority::Interactive).await.unwrap();
        budget.acquire(Priority::Interactive).await.unwrap();
        let before = Utc::now();
        let err = budget.acquire(Priority::Interactive).await.unwrap_err();
        let Error::RateLimited { retry_at } = err else {
            panic!("expected RateLimited, got {err:?}");
        };
        let wait = retry_at - before;
        assert!(wait > chrono::Duration::seconds(50), "{wait}");
        assert!(wait <= chrono::Duration::seconds(62), "{wait}");
        // A refused command was never counted as waiting: the tracker may borrow at once.
        assert_eq!(budget.ledger().commands_waiting, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_wait_is_no_longer_counted() {
        let budget = Arc::new(Budget::new(limit(10, 60), 0.3, Duration::from_secs(3600)));
        // The slot and the lane of three.
        for _ in 0..4 {
            budget.acquire(Priority::Interactive).await.unwrap();
        }
        assert_eq!(budget.remaining(), 0);
        let waiting = {
            let budget = budget.clone();
            tokio::spawn(async move { budget.acquire(Priority::Interactive).await })
        };
        tokio::task::yield_now().await;
        assert_eq!(budget.ledger().commands_waiting, 1);
        waiting.abort();
        let _ = waiting.await;
        assert_eq!(budget.ledger().commands_waiting, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pause_holds_every_caller() {
        let budget = Arc::new(Budget::new(limit(100, 60), 0.3, Duration::from_secs(5)));
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
        let budget = Budget::new(limit(100, 60), 0.3, Duration::from_secs(5));
        budget.pause_for(Duration::MAX);
        budget.pause_for(Duration::from_secs(i64::MAX as u64));
        assert_eq!(budget.remaining(), 0);
        assert!(matches!(
            budget.acquire(Priority::Interactive).await,
            Err(Error::RateLimited { .. })
        ));
    }
}
