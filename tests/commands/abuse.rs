//! Issue 11's abuse scenario in virtual time (`support::abuse`): 20 Discord users in 3 servers
//! hammer `/rarest` across titles for three 15-minute windows of the default `300/15m` budget
//! while the real tracker (`spawn_tracker`, its background client, PostgreSQL) follows 50
//! players who keep earning trophies, and the simulator's request log judges. The second test
//! leaves the tracker idle: commands then borrow its share.

use std::time::Duration;

use crate::support::abuse::{
    fewest_in_any_window, most_in_any_window, run, Lane, Outcome, Scenario,
};

const WINDOW: Duration = Duration::from_secs(15 * 60);

fn scenario(tracked: usize) -> Scenario {
    Scenario {
        tracked,
        users: 20,
        servers: 3,
        players_per_user: 2,
        // Three whole windows and a little more.
        run: WINDOW * 3 + Duration::from_secs(60),
        // Lower than 50 players allow at the tracker's share (210 requests per window), so a
        // tracker request is always waiting: the condition of its guarantee.
        max_staleness: Duration::from_secs(60),
        // Tracked players earn trophies meanwhile (one every 15 s from minute 10 to 36), so
        // the tracker also fetches and announces what it finds.
        earn_every: (tracked > 0).then_some(Duration::from_secs(15)),
        earn_from: Duration::from_secs(10 * 60),
        earn_until: Duration::from_secs(36 * 60),
    }
}

/// Every request PSN saw was answered and belongs to someone; no user task panicked; every
/// refusal says "rate limit" and when to retry.
fn assert_clean(outcome: &Outcome) {
    assert!(
        outcome.rejected.is_empty(),
        "PSN refused some: {:?}",
        &outcome.rejected[..outcome.rejected.len().min(5)]
    );
    assert!(
        outcome.unattributed.is_empty(),
        "requests about nobody: {:?}",
        &outcome.unattributed[..outcome.unattributed.len().min(5)]
    );
    assert_eq!(outcome.panics, 0, "a command panicked");
    for answer in outcome.answers.iter().filter(|a| a.refused) {
        assert!(
            answer.text.to_lowercase().contains("rate limit"),
            "{}",
            answer.text
        );
        let retry = answer.text.split("<t:").nth(1).unwrap_or_default();
        let (seconds, rest) = retry.split_once(':').unwrap_or_default();
        assert!(
            seconds.parse::<i64>().is_ok() && rest.starts_with("R>"),
            "no retry time in {}",
            answer.text
        );
    }
    let answered = outcome.answers.iter().filter(|a| !a.refused).count();
    assert!(answered > 0, "no command was answered");
    let all: Vec<Duration> = outcome.times(|_| true);
    let most = most_in_any_window(&all, WINDOW);
    assert!(
        most <= outcome.limit.requests as usize,
        "{most} requests in one window"
    );
}

/// No user's and no server's requests exceed their share in any window.
fn assert_shares_kept(outcome: &Outcome, users: usize, servers: usize) {
    for user in 0..users {
        let times =
            outcome.times(|lane| matches!(lane, Lane::Command { user: u, .. } if u == user));
        let most = most_in_any_window(&times, WINDOW);
        assert!(
            most <= outcome.shares.user as usize,
            "user {user} caused {most} requests in one window (share {})",
            outcome.shares.user
        );
    }
    for server in 0..servers {
        let times =
            outcome.times(|lane| matches!(lane, Lane::Command { server: s, .. } if s == server));
        let most = most_in_any_window(&times, WINDOW);
        assert!(
            most <= outcome.shares.server as usize,
            "server {server} caused {most} requests in one window (share {})",
            outcome.shares.server
        );
    }
}

#[tokio::test(start_paused = true)]
async fn hammering_users_never_take_the_trackers_share_or_more_than_their_own() {
    let scenario = scenario(50);
    let outcome = run(&scenario).await;
    assert_clean(&outcome);
    assert_shares_kept(&outcome, scenario.users, scenario.servers);

    let tracker = outcome.times(|lane| lane == Lane::Tracker);
    let fewest = fewest_in_any_window(&tracker, WINDOW, scenario.run);
    let guaranteed = outcome.tracker_slots() - 1;
    assert!(
        fewest >= guaranteed,
        "the tracker got only {fewest} requests in one window (guaranteed {guaranteed})"
    );
    // And what it found reached Discord, every trophy.
    assert_eq!(outcome.unposted, 0, "trophies earned but never announced");
    assert_eq!(outcome.posted.len(), 104);
    // Both guards were reached: the shares (nothing spent) and the budget (too long a wait).
    let refused = outcome.answers.iter().filter(|a| a.refused).count();
    let by_share = outcome
        .answers
        .iter()
        .filter(|a| a.refused && a.text.contains("share of the bot's PSN requests"))
        .count();
    assert!(
        by_share > 0 && by_share < refused,
        "{by_share} of {refused} refusals by a share"
    );
    let commands = outcome.times(|lane| lane != Lane::Tracker);
    eprintln!(
        "tracker {} (fewest in a window {fewest}), commands {}, answers {} ({refused} refused, \
         {by_share} by a share)",
        tracker.len(),
        commands.len(),
        outcome.answers.len()
    );
}

#[tokio::test(start_paused = true)]
async fn with_an_idle_tracker_commands_borrow_its_share() {
    let scenario = scenario(0);
    let outcome = run(&scenario).await;
    assert_clean(&outcome);
    assert_shares_kept(&outcome, scenario.users, scenario.servers);

    // Two fixed limiters would hold commands to the reserve in every window.
    let reserve = outcome.limit.requests as usize - outcome.tracker_slots();
    let commands = outcome.times(|lane| lane != Lane::Tracker);
    for window in 0..3 {
        let (from, to) = (WINDOW * window, WINDOW * (window + 1));
        let within = commands.iter().filter(|t| **t >= from && **t < to).count();
        eprintln!("window {window}: commands {within}");
        assert!(
            within > reserve,
            "window {window}: commands got {within}, no more than the reserve of {reserve}"
        );
    }
}
