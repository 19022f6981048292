//! The background side of the bot against the PSN simulator, the fake Discord and a real
//! PostgreSQL: the tracker's polls and loop, the outbox deliverer, and the saved PSN sign-in;
//! and the scheduling benchmark's round-robin baseline.

#[path = "../support/mod.rs"]
mod support;

mod backfill;
mod baseline;
mod context;
mod credential;
mod deliver;
mod milestones;
mod poll;
mod retention;
