//! The benchmark's round-robin baseline (`benches/tracker/round_robin.rs`), the same source
//! the benchmark builds.

#[path = "../../benches/tracker/round_robin.rs"]
mod round_robin;

use std::time::Duration;

use round_robin::RoundRobinScheduler;
use trophybot::tracker::schedule::{
    AccountKey, Decision, PollOutcome, PollScheduler, ScheduleConfig,
};

const RATE: f64 = 210.0 / 900.0;

fn config(max_staleness_secs: u64) -> ScheduleConfig {
    ScheduleConfig::new(RATE, Duration::from_secs(max_staleness_secs))
}

/// Drives the round-robin in virtual time until `until`, every poll finding nothing; returns
/// the accounts polled, in order.
fn polls(rr: &mut RoundRobinScheduler, until: f64) -> Vec<AccountKey> {
    let (mut now, mut polls) = (0.0, Vec::new());
    while now < until {
        match rr.next_decision(now) {
            Decision::WaitUntil(t) => {
                assert!(t > now);
                now = t;
            }
            Decision::Poll(key) => {
                polls.push(key);
                rr.record_poll(key, now, PollOutcome::default());
            }
            Decision::PresenceBatch(batch) => panic!("round-robin asked for presence: {batch:?}"),
        }
    }
    polls
}

#[test]
fn round_robin_visits_every_account_in_turn() {
    let mut rr = RoundRobinScheduler::new(&config(1800));
    let keys: Vec<_> = (0..5).map(|_| rr.add_account()).collect();
    let order: Vec<_> = polls(&mut rr, 100.0).into_iter().take(10).collect();
    assert_eq!(&order[..5], &keys[..]);
    assert_eq!(&order[5..10], &keys[..]);
}

#[test]
fn round_robin_never_polls_a_removed_account() {
    let mut rr = RoundRobinScheduler::new(&config(1800));
    let keys: Vec<_> = (0..3).map(|_| rr.add_account()).collect();
    rr.remove_account(keys[1]);
    let polls = polls(&mut rr, 3_600.0);
    assert!(polls.contains(&keys[0]));
    assert!(polls.contains(&keys[2]));
    assert!(!polls.contains(&keys[1]), "removed account polled");
}

#[test]
fn round_robin_sweeps_everyone_with_the_whole_poll_rate() {
    let rr = RoundRobinScheduler::new(&config(1800));
    let n = 1000;
    let sweep = rr.effective_staleness(n).as_secs_f64();
    assert!(sweep >= n as f64 / RATE - 1.0, "{sweep}");
    assert!((sweep - n as f64 / RATE).abs() < 1e-6, "{sweep}");
    // Affordable: the configured value.
    assert_eq!(rr.effective_staleness(10), Duration::from_secs(1800));
}
