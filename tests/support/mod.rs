//! Helpers shared by the integration tests. Each test binary uses only some of them.
#![allow(dead_code)]

pub mod abuse;
pub mod bot;
pub mod costs;
pub mod db;
pub mod fake_http;
pub mod held_clock;
pub mod proxy;
pub mod reliability;
pub mod render;
mod sim;

// Each test binary uses only some of them, as of the modules above.
#[allow(unused_imports)]
pub use sim::{hunters_platinum_games, sim_client, sim_config, start_sim};
