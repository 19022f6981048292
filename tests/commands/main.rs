//! The command logic without Discord: the pure parts of the server-admin commands, and `/link`
//! and `/unlink` against the PSN simulator and a database of their own.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod link;
