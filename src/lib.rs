//! TrophyBot: PlayStation Network trophies in Discord. The binary (`main.rs`) is a thin CLI over
//! these modules.

pub mod bot;
pub mod cards;
pub mod commands;
pub mod config;
pub mod console;
pub mod credential;
pub mod errors;
pub mod failpoint;
pub mod model;
pub mod ops;
pub mod pool;
pub mod render;
pub mod shards;
pub mod shutdown;
pub mod store;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tracker;
