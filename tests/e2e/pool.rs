//! A pool of PSN credentials end to end: the real bot with three NPSSOs against the simulator,
//! which keeps a rate-limit bucket per credential and names the credential of each request.
//! Each credential stays within its own budget, polls and asks presence for its own accounts
//! only, and a credential PSN rejects leaves the pool with one operator alert while its players
//! are still announced through the others.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use psn_sim::{Fault, RecordedRequest, SimClock, SimConfig, SIM_NPSSO};
use trophybot::credential::npsso_fingerprint;
use trophybot::pool::rendezvous;

use crate::support::bot::{text_of, wait_until, Harness, CHANNEL};
use crate::tracking::{embeds_text, open_trophies, wait_for_baseline};

const NPSSOS: [&str; 3] = [
    SIM_NPSSO,
    // Chosen so the simulator's twelve crowd players spread 3, 6 and 3 over the pool.
    "sim-npsso-pool-second-08",
    "sim-npsso-pool-third-08",
];
/// Each credential's budget, the bot's `PSN_RATE_LIMIT` and the simulator's alike.
const LIMIT: usize = 600;
const WINDOW: Duration = Duration::from_secs(60);
const PLAYERS: usize = 12;

/// Which credential (index) the pool assigns `account_id` to among `live`.
fn assigned(account_id: &str, live: &[usize]) -> usize {
    let prints: Vec<String> = NPSSOS
        .iter()
        .map(|npsso| npsso_fingerprint(&psn::Secret::new(*npsso)))
        .collect();
    rendezvous(account_id, live.iter().map(|&i| (i, prints[i].as_str()))).expect("a credential")
}

/// The account IDs a request is about: the trophy API's user, or presence's batch.
pub(crate) fn accounts_asked(request: &RecordedRequest) -> Vec<String> {
    if request.path.ends_with("basicPresences") {
        let query = request.query.clone().unwrap_or_default();
        return url::form_urlencoded::parse(query.as_bytes())
            .filter(|(k, _)| k == "accountIds")
            .flat_map(|(_, v)| v.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    let segments: Vec<&str> = request.path.split('/').collect();
    match segments.iter().position(|s| *s == "users") {
        Some(at) if request.path.starts_with("/api/trophy/") => segments
            .get(at + 1)
            .map(|id| vec![id.to_string()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The most requests of one credential answered within any sliding `window`.
pub(crate) fn busiest_window(times: &[DateTime<Utc>], window: Duration) -> usize {
    let window = chrono::Duration::from_std(window).expect("a window");
    (0..times.len())
        .map(|start| {
            times[start..]
                .iter()
                .take_while(|t| **t - times[start] < window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn rejection_alerts(h: &Harness) -> Vec<String> {
    h.discord
        .channel_messages(CHANNEL)
        .into_iter()
        .map(|m| m.message.to_string())
        .filter(|text| text.contains("PSN rejected the bot's credential"))
        .collect()
}

#[tokio::test]
async fn each_credential_polls_its_own_players_within_its_budget_and_a_rejected_one_leaves() {
    let h = Harness::builder()
        .env("PSN_NPSSO", &NPSSOS.join(","))
        .env("PSN_RATE_LIMIT", &format!("{LIMIT}/1m"))
        .env("TRACKER_MAX_STALENESS", "1s")
        .env("OPS_ALERT_CHANNEL", &CHANNEL.to_string())
        .sim_config(SimConfig {
            rate_limit: LIMIT as u32,
            rate_window: WINDOW,
            more_npssos: NPSSOS[1..].iter().map(|s| s.to_string()).collect(),
            crowd: PLAYERS,
            // Request times in real time, so the log's sliding windows are PSN's.
            clock: SimClock::Tokio,
            ..SimConfig::default()
        })
        .start()
        .await;

    let players: Vec<String> = (0..PLAYERS).map(psn_sim::crowd_online_id).collect();
    let mut credential_of = HashMap::new();
    for player in &players {
        let (ephemeral, reply) = h.track_add(player).await;
        assert!(
            ephemeral && text_of(&reply).contains(player.as_str()),
            "{reply}"
        );
        let account_id = h.sim.account_id(player).expect("a crowd player");
        credential_of.insert(account_id.clone(), assigned(&account_id, &[0, 1, 2]));
    }
    for credential in 0..3 {
        assert!(
            credential_of.values().any(|c| *c == credential),
            "the players spread over all three credentials: {credential_of:?}"
        );
    }
    // From here on only the tracker asks PSN about the players (the `/track add` commands took
    // the credential with the most room).
    let tracked_at = h.sim.now();
    for player in &players {
        wait_for_baseline(&h, player).await;
    }

    // Every request about a tracked player goes out with its credential: the tracker's polls
    // and backfill since the players were added, and every presence sweep (a lane sweeps as
    // soon as it has accounts).
    wait_until("presence asked with every credential", || async {
        let presence: Vec<Option<usize>> = h
            .sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("basicPresences") && r.status == 200)
            .map(|r| r.credential)
            .collect();
        (0..3).all(|c| presence.contains(&Some(c))).then_some(())
    })
    .await;
    let requests = h.sim.requests();
    let mut asked = 0;
    let trackers = requests.iter().filter(|r| {
        r.credential.is_some() && (r.at > tracked_at || r.path.ends_with("basicPresences"))
    });
    for request in trackers {
        for account_id in accounts_asked(request) {
            if let Some(expected) = credential_of.get(&account_id) {
                asked += 1;
                assert_eq!(
                    request.credential,
                    Some(*expected),
                    "{} {:?} asked with another credential",
                    request.path,
                    request.query
                );
            }
        }
    }
    assert!(asked > 0, "the tracker asked about its players");

    // The rejected credential: psn-2 (index 1). One of its players earns a trophy meanwhile.
    let moved = players
        .iter()
        .find(|p| credential_of[&h.sim.account_id(p).expect("a player")] == 1)
        .expect("a player of psn-2")
        .clone();
    let (title, open) = open_trophies(&h, &moved).await;
    h.sim.inject(Fault::RejectCredential { index: 1 });
    let alert = wait_until("the operator alert for psn-2", || async {
        rejection_alerts(&h).first().cloned()
    })
    .await;
    assert!(alert.contains("credential psn-2"), "{alert}");
    for npsso in NPSSOS {
        assert!(!alert.contains(npsso), "the alert names no secret: {alert}");
    }
    h.sim
        .earn_trophy(&moved, &title, open[0].0)
        .expect("earned");
    let trophy = open[0].1.to_lowercase();
    h.discord
        .wait_for("the moved player's trophy announced", |d| {
            d.channel_messages(CHANNEL)
                .iter()
                .any(|m| embeds_text(m).to_lowercase().contains(&trophy))
                .then_some(())
        })
        .await
        .expect("the announcement");
    // The moved player is now polled by the credential the hashing gives among the other two.
    let moved_id = h.sim.account_id(&moved).expect("a player");
    let heir = assigned(&moved_id, &[0, 2]);
    let polled_by: Vec<Option<usize>> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.status == 200 && accounts_asked(r).contains(&moved_id))
        .map(|r| r.credential)
        .collect();
    assert!(polled_by.contains(&Some(heir)), "{polled_by:?}");
    // One alert for the episode, though psn-2's lane and sign-in kept being turned away.
    assert_eq!(rejection_alerts(&h).len(), 1);
    // The others carry on: the health report does not call the bot's credential rejected.
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", h.ops_url()))
        .await
        .expect("/healthz answers")
        .json()
        .await
        .expect("a JSON report");
    assert_ne!(health["psn"], "credential_rejected", "{health}");
    // The metrics show each credential by its label, psn-2 unhealthy, and no secret.
    let metrics = reqwest::get(format!("{}/metrics", h.ops_url()))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("the exposition");
    for (label, healthy) in [("psn-1", 1), ("psn-2", 0), ("psn-3", 1)] {
        let line = format!("trophybot_psn_credential_healthy{{credential=\"{label}\"}} {healthy}");
        assert!(metrics.contains(&line), "{line} in {metrics}");
        let requests =
            format!("trophybot_psn_credential_requests_total{{credential=\"{label}\"}} ");
        let sent: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(requests.as_str()))
            .and_then(|n| n.parse().ok())
            .expect("a request count per credential");
        assert!(sent > 0, "{label} sent requests");
    }
    for npsso in NPSSOS {
        assert!(!metrics.contains(npsso), "no secret in the metrics");
    }

    // No credential went over its own budget, and PSN never had to say so.
    let all = h.sim.requests();
    assert!(all.iter().all(|r| r.status != 429), "no 429 from PSN");
    for credential in 0..3 {
        let times: Vec<DateTime<Utc>> = all
            .iter()
            .filter(|r| r.credential == Some(credential))
            .map(|r| r.at)
            .collect();
        assert!(
            busiest_window(&times, WINDOW) <= LIMIT,
            "psn-{}",
            credential + 1
        );
    }
}
