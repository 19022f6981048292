//! End to end: the real `trophybot run` binary against the fake Discord, the PSN simulator and a
//! database of its own (`support::bot`): the commands, the server-admin commands, `/link` and
//! tracking with announcements.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod bad_input;
mod commands;
mod faults;
mod link;
mod secrets;
mod tracking;
