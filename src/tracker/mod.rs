//! The tracker: watches PSN accounts and announces new trophies. `schedule` decides which PSN
//! requests to spend next under the tracker's share of the rate budget.

pub mod model;
pub mod schedule;

pub use model::{AnnounceFilter, GuildSettings, PlayerBatch, TitleEarnings, TrackedAccount};
