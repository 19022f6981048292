//! Shared helpers for the client's integration tests.

#![allow(dead_code)] // each test file uses its own subset

use std::path::PathBuf;
use std::time::Duration;

use psn::{ApiKind, Config, Credential, Secret};
use psn_replay::{Replay, ReplayServer};

/// A replay server for the named recordings of `fixtures/psn` (or, with a `support/`
/// prefix, of this folder).
pub async fn replay(cassettes: &[&str]) -> ReplayServer {
    let paths: Vec<PathBuf> = cassettes
        .iter()
        .map(|name| match name.strip_prefix("support/") {
            Some(own) => {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support")).join(own)
            }
            None => Replay::fixtures_dir().join("psn").join(name),
        })
        .collect();
    Replay::from_cassettes(&paths)
        .expect("cassettes load")
        .serve()
        .await
        .expect("replay server starts")
}

/// A modern-API client configuration with every host at `base_url`.
pub fn config(base_url: &str, credential: Credential) -> Config {
    let mut config = Config::new(ApiKind::Modern, credential).with_base_url(base_url);
    config.request_timeout = Duration::from_secs(5);
    config
}

/// The recordings carry no Authorization header: any bearer will do.
pub fn bearer() -> Credential {
    Credential::Bearer(Secret::new("recorded-bearer"))
}
