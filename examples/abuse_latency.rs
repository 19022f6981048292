//! The tracker's earn → post latency with and without users hammering `/rarest`, in one run,
//! in virtual time (issue 11's benchmark; written up in BENCHMARKS.md, never asserted).
//!
//! ```text
//! cargo run --example abuse_latency
//! ```
//!
//! Each case is `tests/support/abuse.rs`'s scenario: the real tracker following 50 players on
//! the default `300/15m` budget and the real deliverer posting to the fake Discord, against the
//! simulator and PostgreSQL, on tokio's paused clock; "abuse" adds 20 users in 3 servers
//! hammering `/rarest` across titles. From minute 10 (the baselines are taken by then) to
//! minute 36 one tracked player earns a trophy every 30 s (52 trophies), or every 15 s (104),
//! in turn; the latency runs from the earn to the announcement in the server's channel. With
//! the default `TRACKER_MAX_STALENESS` and with 60 s (more checks than the tracker's share
//! allows: it always has work). Virtual time: the numbers do not depend on the machine
//! (repeated runs agree to within a few seconds at p95). It needs what `cargo test` needs
//! (PostgreSQL on 127.0.0.1:5432, or `DATABASE_URL`); about 80 s.

// The parts of the tests' support this needs (the rest starts the bot's binary), as siblings.
#[path = "../tests/support/abuse.rs"]
#[allow(dead_code)]
mod abuse;
#[path = "../tests/support/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../tests/support/fake_http.rs"]
mod fake_http;
#[path = "../tests/support/held_clock.rs"]
mod held_clock;

use std::time::Duration;

use abuse::{fewest_in_any_window, percentile, run, Lane, Outcome, Scenario};

const WINDOW: Duration = Duration::from_secs(15 * 60);
const RUN: Duration = Duration::from_secs(3 * 15 * 60 + 60);

fn scenario(users: usize, max_staleness: Duration, earn_every: Duration) -> Scenario {
    Scenario {
        tracked: 50,
        users,
        servers: 3,
        players_per_user: 2,
        run: RUN,
        max_staleness,
        earn_every: Some(earn_every),
        earn_from: Duration::from_secs(10 * 60),
        // Ten minutes before the end, so every trophy is found within the run.
        earn_until: WINDOW * 3 - Duration::from_secs(9 * 60),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The table row of one case (with the tracker's fewest requests in any 15-minute window).
fn row(name: &str, outcome: &Outcome) -> String {
    let p50 = percentile(&outcome.posted, 50.0);
    let p95 = percentile(&outcome.posted, 95.0);
    let tracker = outcome.times(|lane| lane == Lane::Tracker);
    let fewest = fewest_in_any_window(&tracker, WINDOW, RUN);
    let commands = outcome.times(|lane| lane != Lane::Tracker).len();
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} ({fewest}) | {commands} |",
        outcome.posted.len(),
        outcome.unposted,
        secs(p50),
        secs(p95),
        secs(outcome.posted.iter().copied().max().unwrap_or_default()),
        tracker.len(),
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    println!(
        "| case | posted | not posted | p50 | p95 | max | tracker requests (fewest in a window) | command requests |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (label, staleness) in [
        ("default staleness (30m)", Duration::from_secs(30 * 60)),
        ("staleness 60s (tracker saturated)", Duration::from_secs(60)),
    ] {
        for earn_every in [Duration::from_secs(30), Duration::from_secs(15)] {
            let label = format!("{label}, a trophy every {} s", earn_every.as_secs());
            let mut percentiles = Vec::new();
            for (case, users) in [("quiet", 0), ("abuse", 20)] {
                let outcome = runtime.block_on(run(&scenario(users, staleness, earn_every)));
                assert_eq!(outcome.panics, 0, "a command panicked");
                let line = row(&format!("{label}: {case}"), &outcome);
                println!("{line}");
                percentiles.push((
                    percentile(&outcome.posted, 50.0),
                    percentile(&outcome.posted, 95.0),
                ));
            }
            let ratio = |quiet: Duration, abuse: Duration| {
                abuse.as_secs_f64() / quiet.as_secs_f64().max(f64::EPSILON)
            };
            println!(
                "| {label}: abuse / quiet | | | {:.2}× | {:.2}× | | | |",
                ratio(percentiles[0].0, percentiles[1].0),
                ratio(percentiles[0].1, percentiles[1].1)
            );
        }
    }
}
