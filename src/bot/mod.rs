//! The bot on Discord: serenity + poise over `crate::commands`, and the deliverer that posts
//! the tracker's announcements. Replies never ping anyone; SIGTERM/Ctrl-C shut down cleanly.
//!
//! - `start`: `trophybot run`, wiring everything together;
//! - `slash`: the slash commands, one file per family, with the bot's option types;
//! - `respond`: the one reply path (defer, edit, attachments, error words, metrics);
//! - `failures`: poise's `on_error`; `events`: gateway events; `buttons`: page buttons;
//! - `members`: whether a user is a member of a server (asked of Discord, remembered);
//! - `deliver`: the outbox deliverer; `payload` and `send`: serenity's builders and 429 retries;
//! - `discord_gate`: the one gate of Discord REST calls (hold after long 429s, bound, timeout);
//! - `typing`: how often a member's autocomplete keystrokes may ask PSN; `share_report`: the
//!   command shares' use in the metrics and the log.

mod buttons;
mod data;
pub mod deliver;
pub mod discord_gate;
mod events;
mod failures;
mod members;
mod payload;
mod respond;
mod send;
mod share_report;
mod slash;
mod start;
mod typing;

pub use data::{BotError, Data};
pub use start::run_from_env;
