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
//! minute 36 one tracked player earns a trophy every 30 s, in turn (52 trophies); the latency
//! runs from the earn to the announcement in the server's channel. Virtual time: the numbers
//! do not depend on the machine (repeated runs agree to within a few seconds at p95). It needs
//! what `cargo test` needs (PostgreSQL on 127.0.0.1:5432, or `DATABASE_URL`); about 40 s.

// The parts of the tests' support this needs (the rest starts the bot's binary), as siblings.
#[path = "../tests/support/abuse.rs"]
#[allow(dead_code)]
mod abuse;
#[path = "../tests/support/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../tests/support/held_clock.rs"]
mod held_clock;

use std::time::Duration;

use abuse::{percentile, run, Lane, Outcome, Scenario};

const WINDOW: Duration = Duration::from_secs(15 * 60);

fn scenario(users: usize, max_staleness: Duration) -> Scenario {
    Scenario {
        tracked: 50,
        users,
        servers: 3,
        players_per_user: 2,
        run: WINDOW * 3 + Duration::from_secs(60),
        max_staleness,
        earn_every: Some(Duration::from_secs(30)),
        earn_from: Duration::from_secs(10 * 60),
        // Ten minutes before the end, so every trophy is found within the run.
        earn_until: WINDOW * 3 - Duration::from_secs(9 * 60),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn row(name: &str, outcome: &Outcome) -> (String, Duration) {
    let p50 = percentile(&outcome.posted, 50.0);
    let p95 = percentile(&outcome.posted, 95.0);
    let tracker = outcome.times(|lane| lane == Lane::Tracker).len();
    let commands = outcome.times(|lane| lane != Lane::Tracker).len();
    let line = format!(
        "| {name} | {} | {} | {} | {} | {} | {tracker} | {commands} |",
        outcome.posted.len(),
        outcome.unposted,
        secs(p50),
        secs(p95),
        secs(outcome.posted.iter().copied().max().unwrap_or_default()),
    );
    (line, p95)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    println!(
        "| case | posted | not posted | p50 | p95 | max | tracker requests | command requests |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (label, staleness) in [
        (
            "TRACKER_MAX_STALENESS=30m (default)",
            Duration::from_secs(30 * 60),
        ),
        (
            "TRACKER_MAX_STALENESS=60s (tracker saturated)",
            Duration::from_secs(60),
        ),
    ] {
        let mut p50s = Vec::new();
        for (case, users) in [("quiet", 0), ("abuse", 20)] {
            let outcome = runtime.block_on(run(&scenario(users, staleness)));
            assert_eq!(outcome.panics, 0, "a command panicked");
            let (line, _) = row(&format!("{label}, {case}"), &outcome);
            println!("{line}");
            p50s.push((
                percentile(&outcome.posted, 50.0),
                percentile(&outcome.posted, 95.0),
            ));
        }
        let ratio = |quiet: Duration, abuse: Duration| {
            abuse.as_secs_f64() / quiet.as_secs_f64().max(f64::EPSILON)
        };
        println!(
            "| {label}: abuse / quiet | | | {:.2}× | {:.2}× | | | |",
            ratio(p50s[0].0, p50s[1].0),
            ratio(p50s[0].1, p50s[1].1)
        );
    }
}
