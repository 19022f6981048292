//! The background side of the bot against the PSN simulator, the fake Discord and a real
//! PostgreSQL: the tracker's polls and loop, the outbox deliverer, and the saved PSN sign-in.

#[path = "../support/mod.rs"]
mod support;

mod credential;
mod deliver;
mod poll;
