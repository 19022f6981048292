//! End to end: the real `trophybot run` binary against the fake Discord, the PSN simulator and a
//! database of its own (`support::bot`): the commands, the server-admin commands, `/link` and
//! tracking with announcements, and Discord's rate limits and a hung Discord on production's
//! REST path.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod bad_input;
mod budget;
mod cards;
mod commands;
mod discord_limits;
mod faults;
mod link;
mod milestones;
mod pool;
mod rarest;
mod recap;
mod secrets;
mod shards;
mod shares;
mod tracking;
