//! Helpers shared by the integration tests. Each test binary uses only some of them.
#![allow(dead_code)]

pub mod abuse;
pub mod bot;
pub mod db;
pub mod held_clock;
pub mod proxy;
pub mod reliability;
pub mod render;

/// A simulator of the default world, served on a free port.
pub async fn start_sim() -> (psn_sim::Sim, psn_sim::SimServer) {
    let sim = psn_sim::Sim::new(psn_sim::SimConfig::default());
    let server = sim
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator serves");
    (sim, server)
}

/// Client settings for the simulator at `base_url` (modern API, the simulator's NPSSO).
pub fn sim_config(base_url: &str) -> psn::Config {
    psn::Config::new(
        psn::ApiKind::Modern,
        psn::Credential::Npsso(psn::Secret::new(psn_sim::SIM_NPSSO)),
    )
    .with_base_url(base_url)
}

/// A PSN client signed in to the simulator at `base_url`.
pub fn sim_client(base_url: &str) -> psn::Client {
    psn::Client::new(sim_config(base_url)).expect("a client for the simulator")
}
