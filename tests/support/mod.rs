//! Helpers shared by the integration tests. Each test binary uses only some of them.
#![allow(dead_code)]

pub mod db;

/// A PSN client signed in to the simulator at `base_url` (modern API).
pub fn sim_client(base_url: &str) -> psn::Client {
    let config = psn::Config::new(
        psn::ApiKind::Modern,
        psn::Credential::Npsso(psn::Secret::new(psn_sim::SIM_NPSSO)),
    )
    .with_base_url(base_url);
    psn::Client::new(config).expect("a client for the simulator")
}
