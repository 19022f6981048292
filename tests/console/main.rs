//! The console and the command logic it shares with the bot: the built binary against the PSN
//! simulator and the recorded PSN answers, autocomplete, PSN failures as users read them, and
//! the PSN requests each command sends.

#[path = "../support/mod.rs"]
mod support;

mod autocomplete;
mod cli;
mod errors;
mod replay;
mod requests;
