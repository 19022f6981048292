//! The command logic without Discord: the pure parts of the server-admin commands, `/link`
//! and `/unlink` against the PSN simulator and a database of their own, and `/help` from the
//! store.

#[path = "../support/mod.rs"]
mod support;

mod abuse;
mod admin;
mod costs;
mod fuzz;
mod help;
mod link;
mod rarest;
