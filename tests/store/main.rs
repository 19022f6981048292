//! The PostgreSQL store against a real server (found by `support::db`), one database per test:
//! connecting and migrating, PSN data, guilds and linked accounts.

#[path = "../support/mod.rs"]
mod support;

mod basics;
mod credential;
mod events;
mod guilds;
mod health;
mod indexes;
mod links;
mod rates;
mod recap;
mod shards;
mod trophy;
