//! Rendering, pure (no I/O): insta snapshots of every reply, admin reply, help and
//! announcement (in `snapshots/`), and property tests that everything stays within Discord's
//! limits.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod announce;
mod help;
mod limits;
mod link;
mod milestones;
mod recap;
mod replies;
mod trophy;
