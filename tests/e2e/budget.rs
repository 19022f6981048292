//! The PSN budget's split through the real binary, on a scaled budget: one member firing
//! `/rarest` across titles again and again (shares set high, so only the split stands between
//! them and the tracker) does not hold up a tracked player's announcement.

use std::time::Duration;

use serde_json::json;

use crate::support::bot::{opt, text_of, Harness, ADMIN, CHANNEL, GUILD, MEMBER};
use crate::tracking::{open_trophies, track, wait_for_announcements, wait_for_baseline, PLAYER};

/// Requests per minute, for PSN (the simulator) and the bot alike.
const PER_MINUTE: u32 = 120;
/// Cold `/rarest` across titles, each up to its cap of 15: together the whole minute's budget.
const SPAM: usize = 8;

#[tokio::test]
async fn a_tracked_trophy_is_announced_promptly_while_a_member_spams_rarest() {
    let h = Harness::builder()
        .env("TRACKER_MAX_STALENESS", "1s")
        .env("PSN_RATE_LIMIT", &format!("{PER_MINUTE}/60s"))
        .env("COMMAND_SHARE_USER", &PER_MINUTE.to_string())
        .env("COMMAND_SHARE_SERVER", &PER_MINUTE.to_string())
        .sim_config(psn_sim::SimConfig {
            rate_limit: PER_MINUTE,
            rate_window: Duration::from_secs(60),
            ..psn_sim::SimConfig::default()
        })
        .start()
        .await;
    track(&h, GUILD, CHANNEL, ADMIN).await;
    wait_for_baseline(&h, PLAYER).await;
    let (title, open) = open_trophies(&h, PLAYER).await;

    let mut spam = Vec::new();
    for _ in 0..SPAM {
        spam.push(
            h.slash(MEMBER, "rarest", json!([opt("user", "sim_hunter")]))
                .await,
        );
    }
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    // Before the commands had the budget to themselves, this waited for all of them (about a
    // minute at this budget); the tracker's slots now bring it within seconds.
    let posted = wait_for_announcements(&h, CHANNEL, 1).await;
    assert_eq!(posted.len(), 1);

    // Every spammed command was answered in words (a ranking, or the budget's retry time).
    for ix in spam {
        let (_, reply) = h.any_reply(ix).await;
        let text = text_of(&reply);
        assert!(
            text.contains("sim_hunter") || text.contains("rate limit"),
            "{reply}"
        );
    }
    assert!(
        h.sim.requests().iter().all(|r| r.status != 429),
        "the bot kept within PSN's limit"
    );
}
