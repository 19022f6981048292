//! The tracker: watches PSN accounts and writes announcements of new trophies to the outbox
//! (the bot's deliverer posts them). `schedule` decides which PSN requests to spend next under
//! the tracker's share of the rate budget.

pub mod backfill;
pub mod context;
pub mod engine;
pub mod milestones;
pub mod poll;
pub mod recap;
pub mod retention;
pub mod schedule;
pub mod titles;

pub use engine::{spawn_pool_tracker, spawn_tracker, TrackerSettings};
pub use poll::{poll_once, PollReport, PollResult, TrackerError};

use std::sync::Arc;

use tokio::sync::Notify;

/// Wake-ups between the commands, the tracker and the deliverer, so changes are acted on at
/// once instead of at the next periodic check.
#[derive(Clone, Default)]
pub struct Signals {
    /// Tracked accounts were added or removed (`/track`, a guild leaving).
    pub accounts_changed: Arc<Notify>,
    /// Announcements were written to the outbox.
    pub outbox_ready: Arc<Notify>,
}
