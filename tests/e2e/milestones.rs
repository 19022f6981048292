//! End to end: milestone posts with the real bot, the fake Discord, the PSN simulator and a real
//! database. A tracked player's first platinum and first completed game are posted once each,
//! only where `/settings` leaves them on, and never again after a restart.

use discord_fake::MessageRecord;
use serde_json::json;

use crate::support;
use crate::support::bot::{bool_opt, text_of, wait_until, Harness, ADMIN, CHANNEL, GUILD};
use crate::tracking::{
    embeds_text, fast_tracker, other_guild, outbox, wait_for_announcements, wait_for_baseline,
};

/// A server that turned platinum and completion milestones off.
const QUIET_GUILD: u64 = 130;
const QUIET_CHANNEL: u64 = 230;
const QUIET_ADMIN: u64 = 330;

/// A player with no trophies yet: their first platinum is a milestone.
const PLAYER: &str = "sim_empty";

/// `count` of sim_hunter's games without DLC that have a platinum, each with every trophy but
/// the platinum.
async fn games(h: &Harness, count: usize) -> Vec<(String, Vec<u32>)> {
    let client = support::sim_client(&h.sim_server.base_url);
    support::hunters_platinum_games(&client, count, false).await
}

/// Waits until the deliverer handled every outbox row.
async fn all_delivered(h: &Harness) {
    wait_until("every post handled", || async {
        let rows = outbox(h).await;
        rows.iter()
            .all(|(_, sent, failed)| sent | failed)
            .then_some(())
    })
    .await;
}

fn posts_saying(messages: &[MessageRecord], words: &str) -> usize {
    messages
        .iter()
        .filter(|m| m.interaction.is_none() && embeds_text(m).contains(words))
        .count()
}

#[tokio::test]
async fn a_first_platinum_is_posted_once_where_wanted_and_never_again_after_a_restart() {
    let mut h = fast_tracker()
        .guild(other_guild(
            QUIET_GUILD,
            QUIET_CHANNEL,
            QUIET_ADMIN,
            "Quiet",
        ))
        .start()
        .await;
    let ix = h
        .slash_in(
            QUIET_GUILD,
            QUIET_CHANNEL,
            QUIET_ADMIN,
            "settings",
            json!([
                bool_opt("platinum_milestones", false),
                bool_opt("completion_milestones", false)
            ]),
        )
        .await;
    let (_, settings) = h.any_reply(ix).await;
    let settings = text_of(&settings);
    assert!(
        settings.contains("nth platinum: off") && settings.contains("game completed: off"),
        "{settings}"
    );
    assert!(settings.contains("new level tier: on"), "{settings}");

    for (guild, channel, admin) in [
        (GUILD, CHANNEL, ADMIN),
        (QUIET_GUILD, QUIET_CHANNEL, QUIET_ADMIN),
    ] {
        let (_, reply) = h.track_add_in(guild, channel, admin, PLAYER, None).await;
        assert!(text_of(&reply).contains(PLAYER), "{reply}");
    }
    wait_for_baseline(&h, PLAYER).await;

    let games = games(&h, 2).await;
    let (game, trophies) = &games[0];
    for trophy in trophies {
        h.sim.earn_trophy(PLAYER, game, *trophy).expect("earned");
    }
    let posted = h
        .discord
        .wait_for("the milestones", |d| {
            let messages = d.channel_messages(CHANNEL);
            (posts_saying(&messages, "1st platinum") == 1
                && posts_saying(&messages, "game completed") == 1)
                .then_some(messages)
        })
        .await
        .expect("the milestone posts");
    let milestone = posted
        .iter()
        .find(|m| embeds_text(m).contains("1st platinum"))
        .expect("posted");
    assert!(embeds_text(milestone).contains("sim_empty"));
    let mentions = milestone.allowed_mentions.clone().unwrap_or_default();
    assert_eq!(mentions["parse"], json!([]), "milestones ping no one");
    all_delivered(&h).await;
    let quiet = h.discord.channel_messages(QUIET_CHANNEL);
    assert!(
        posts_saying(&quiet, "1st platinum") == 0 && posts_saying(&quiet, "game completed") == 0,
        "the quiet server turned them off: {:?}",
        quiet.iter().map(embeds_text).collect::<Vec<_>>()
    );
    assert!(
        posts_saying(&quiet, "sim_empty") > 0,
        "trophies are still announced there"
    );

    // After a restart the tracker goes on; a new trophy is announced, the milestones are not
    // posted again. (A clean stop: a killed process's poll lease would hold the player for
    // its five minutes.)
    let status = h.terminate().await;
    assert!(status.success(), "a clean exit: {status:?}");
    h.restart().await;
    let before = h
        .discord
        .channel_messages(CHANNEL)
        .iter()
        .filter(|m| m.interaction.is_none())
        .count();
    let (next_game, next_trophies) = &games[1];
    // Later than the first game's trophies, as a trophy earned another day would be.
    h.sim.advance_clock(std::time::Duration::from_secs(60));
    h.sim
        .earn_trophy(PLAYER, next_game, next_trophies[0])
        .expect("earned");
    wait_for_announcements(&h, CHANNEL, before + 1).await;
    all_delivered(&h).await;
    let messages = h.discord.channel_messages(CHANNEL);
    assert_eq!(posts_saying(&messages, "1st platinum"), 1);
    assert_eq!(posts_saying(&messages, "game completed"), 1);
    let store = h.store().await;
    let (keys,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM outbox WHERE event_key LIKE 'milestone:%'")
            .fetch_one(store.pool())
            .await
            .expect("outbox");
    store.close().await;
    assert_eq!(keys, 2, "one platinum and one completion, in one server");
}
