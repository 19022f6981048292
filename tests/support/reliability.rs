//! What a fault test measured, for `RELIABILITY.md`. With `TROPHYBOT_RELIABILITY_OUT` set (by
//! `cargo run --example reliability`), [`record`] writes one JSON file per test there; without
//! it, nothing is written. A test records what it saw before it asserts on it, so a failing run
//! still shows the numbers.

use std::time::Duration;

/// Where the measurements go; the one variable the tests read besides the harness's own.
pub const OUT_ENV: &str = "TROPHYBOT_RELIABILITY_OUT";

#[derive(Debug, Clone, serde::Serialize)]
pub struct Measured {
    /// The test's name as cargo lists it (`module::name`).
    pub test: &'static str,
    /// Announcements that should have been posted and were not.
    pub lost: usize,
    /// Announcements posted more than once.
    pub duplicated: usize,
    /// From the fault's end to the first thing working again (an announcement, an answer).
    pub recovery: Option<Duration>,
    /// What `/healthz` said while the fault lasted.
    pub health_during: Option<String>,
}

#[allow(
    clippy::disallowed_methods,
    reason = "a test-only switch of the report generator, not a setting of the program"
)]
pub fn record(measured: &Measured) {
    let Some(dir) = std::env::var_os(OUT_ENV) else {
        return;
    };
    let file =
        std::path::Path::new(&dir).join(format!("{}.json", measured.test.replace("::", "__")));
    let json = serde_json::to_string_pretty(measured).expect("measurements serialize");
    std::fs::write(&file, json).expect("the measurements are written");
}

/// `lost` and `duplicated` from how many times each expected announcement was posted.
pub fn losses(posted_per_announcement: &[usize]) -> (usize, usize) {
    let lost = posted_per_announcement.iter().filter(|&&n| n == 0).count();
    let duplicated = posted_per_announcement
        .iter()
        .map(|&n| n.saturating_sub(1))
        .sum();
    (lost, duplicated)
}
