//! End to end: tracking and announcements with the real bot, the fake Discord, the PSN
//! simulator and a real database. A tracked player earns trophies in the simulator; the bot's
//! tracker finds them and its deliverer posts them, exactly once, across a crash.

use std::sync::Arc;

use discord_fake::{FakeGuild, FakeUser, MessageRecord};
use poise::serenity_prelude as serenity;
use psn::TrophyType;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support;
use crate::support::bot::{
    bool_opt, int_opt, opt, text_of, wait_until, Harness, HarnessBuilder, ADMIN, CHANNEL, GUILD,
};

/// A second server that only wants platinums.
const PLATINUM_GUILD: u64 = 110;
const PLATINUM_CHANNEL: u64 = 210;
const PLATINUM_ADMIN: u64 = 310;
/// A third server whose announcement channel is deleted.
const DOOMED_GUILD: u64 = 120;
const DOOMED_CHANNEL: u64 = 220;
const DOOMED_ADMIN: u64 = 320;

pub(crate) const PLAYER: &str = "sim_casual";

/// The bot with a budget and staleness that make the tracker look every second or so.
pub(crate) fn fast_tracker() -> HarnessBuilder {
    // PSN (the simulator) allows what the bot is told it may spend.
    Harness::builder()
        .env("TRACKER_MAX_STALENESS", "1s")
        .env("PSN_RATE_LIMIT", "6000/1m")
        .sim_config(psn_sim::SimConfig {
            rate_limit: 6000,
            rate_window: std::time::Duration::from_secs(60),
            ..psn_sim::SimConfig::default()
        })
}

pub(crate) fn other_guild(id: u64, channel: u64, admin: u64, name: &str) -> FakeGuild {
    FakeGuild::new(id, name)
        .channel(channel, "trophies")
        .member(FakeUser::new(admin, "admin").with_manage_guild())
}

/// A title of the player with unearned base-game trophies, and those trophies' ids.
pub(crate) async fn open_trophies(h: &Harness, online_id: &str) -> (String, Vec<(u32, String)>) {
    let client = support::sim_client(&h.sim_server.base_url);
    let online_id = psn::OnlineId::parse(online_id).expect("a valid online ID");
    let account = client.resolve_user(&online_id).await.expect("a sim user");
    for title in client.all_titles(&account).await.expect("titles") {
        let trophies = client
            .user_trophies(&account, &title.np_communication_id)
            .await
            .expect("trophies");
        let has_platinum = trophies
            .trophies
            .iter()
            .any(|t| t.definition.kind == TrophyType::Platinum && !t.earned);
        let open: Vec<(u32, String)> = trophies
            .trophies
            .iter()
            .filter(|t| !t.earned && t.definition.kind != TrophyType::Platinum)
            .map(|t| (t.definition.id, t.definition.name.clone()))
            .collect();
        if has_platinum && open.len() >= 3 {
            return (title.np_communication_id, open);
        }
    }
    panic!("{online_id} has no title with a platinum and three open trophies");
}

/// Waits until the tracker stored the account's baseline.
pub(crate) async fn wait_for_baseline(h: &Harness, online_id: &str) {
    let account_id = h.sim.account_id(online_id).expect("a sim user");
    let store = h.store().await;
    wait_until("the baseline", || {
        let pool = store.pool().clone();
        let account_id = account_id.clone();
        async move {
            let done: Option<(bool,)> =
                sqlx::query_as("SELECT baseline_done FROM account_state WHERE account_id = $1")
                    .bind(&account_id)
                    .fetch_optional(&pool)
                    .await
                    .ok()
                    .flatten();
            done.filter(|(done,)| *done).map(|_| ())
        }
    })
    .await;
    store.close().await;
}

/// Outbox rows (guild, sent, failed) — what the deliverer did with each announcement.
pub(crate) async fn outbox(h: &Harness) -> Vec<(i64, bool, bool)> {
    let store = h.store().await;
    let rows = sqlx::query_as(
        "SELECT guild_id, sent_at IS NOT NULL, failed_reason IS NOT NULL FROM outbox ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .expect("outbox rows");
    store.close().await;
    rows
}

/// The bot's own posts in a channel (interaction replies such as `/track`'s left out).
pub(crate) fn announcements(h: &Harness, channel: u64) -> Vec<MessageRecord> {
    h.discord
        .channel_messages(channel)
        .into_iter()
        .filter(|m| m.interaction.is_none())
        .collect()
}

/// Waits until `channel` holds at least `count` announcements, and returns them.
pub(crate) async fn wait_for_announcements(
    h: &Harness,
    channel: u64,
    count: usize,
) -> Vec<MessageRecord> {
    h.discord
        .wait_for(&format!("{count} announcements in {channel}"), |d| {
            let posted: Vec<MessageRecord> = d
                .channel_messages(channel)
                .into_iter()
                .filter(|m| m.interaction.is_none())
                .collect();
            (posted.len() >= count).then_some(posted)
        })
        .await
        .expect("the announcements")
}

pub(crate) fn embeds_text(message: &MessageRecord) -> String {
    text_of(&message.message["embeds"])
}

pub(crate) async fn track(h: &Harness, guild: u64, channel: u64, admin: u64) {
    let (ephemeral, reply) = h.track_add_in(guild, channel, admin, PLAYER, None).await;
    assert!(ephemeral, "{reply}");
    assert!(
        text_of(&reply).contains("sim_casual"),
        "tracking confirmed: {reply}"
    );
}

#[tokio::test]
async fn a_tracked_players_trophies_are_announced_once_per_server_with_filters_honoured() {
    let h = fast_tracker()
        .guild(other_guild(
            PLATINUM_GUILD,
            PLATINUM_CHANNEL,
            PLATINUM_ADMIN,
            "Platinum Club",
        ))
        .guild(other_guild(
            DOOMED_GUILD,
            DOOMED_CHANNEL,
            DOOMED_ADMIN,
            "Doomed",
        ))
        .start()
        .await;

    // The platinum server announces platinums only (filter choice 2: "platinum only"). Both
    // servers leave milestone posts out: they are tests/e2e/milestones.rs's.
    let no_milestones = || {
        [
            "platinum_milestones",
            "level_milestones",
            "completion_milestones",
        ]
        .map(|name| bool_opt(name, false))
    };
    let mut options = vec![int_opt("filter", 2)];
    options.extend(no_milestones());
    let ix = h
        .slash_in(
            PLATINUM_GUILD,
            PLATINUM_CHANNEL,
            PLATINUM_ADMIN,
            "settings",
            json!(options),
        )
        .await;
    let (_, settings) = h.any_reply(ix).await;
    assert!(text_of(&settings).contains("platinum"), "{settings}");
    let ix = h
        .slash_in(GUILD, CHANNEL, ADMIN, "settings", json!(no_milestones()))
        .await;
    let (_, settings) = h.any_reply(ix).await;
    assert!(
        text_of(&settings).contains("game completed: off"),
        "{settings}"
    );

    track(&h, GUILD, CHANNEL, ADMIN).await;
    track(&h, PLATINUM_GUILD, PLATINUM_CHANNEL, PLATINUM_ADMIN).await;
    track(&h, DOOMED_GUILD, DOOMED_CHANNEL, DOOMED_ADMIN).await;
    wait_for_baseline(&h, PLAYER).await;
    h.discord
        .delete_channel(DOOMED_CHANNEL)
        .expect("the channel existed");

    // One ordinary trophy: the first server only; the platinum server's filter drops it.
    let (title, open) = open_trophies(&h, PLAYER).await;
    let (first_id, first_name) = &open[0];
    h.sim
        .earn_trophy(PLAYER, &title, *first_id)
        .expect("earned");
    let messages = wait_for_announcements(&h, CHANNEL, 1).await;
    assert_eq!(messages.len(), 1, "the baseline announced nothing");
    let text = embeds_text(&messages[0]);
    assert!(text.contains(&first_name.to_lowercase()), "{text}");
    assert!(text.contains("sim_casual"), "{text}");
    let mentions = messages[0].allowed_mentions.clone().unwrap_or_default();
    assert_eq!(mentions["parse"], json!([]), "announcements ping no one");

    // The deleted channel's announcement failed and its admin was told, once.
    let dm = h
        .discord
        .wait_for("a DM to the doomed server's admin", |d| {
            let dms = d.dm_messages(DOOMED_ADMIN);
            (!dms.is_empty()).then_some(dms)
        })
        .await
        .expect("the admin is told");
    assert!(text_of(&dm[0].message).contains("doomed"), "{:?}", dm[0]);

    // Every base trophy left: the player earns the platinum as well.
    for (id, _) in &open[1..] {
        h.sim.earn_trophy(PLAYER, &title, *id).expect("earned");
    }
    let platinum = wait_for_announcements(&h, PLATINUM_CHANNEL, 1).await;
    let text = embeds_text(&platinum[0]);
    assert!(text.contains("platinum"), "{text}");
    let main = h
        .discord
        .wait_for("the platinum in the first server", |d| {
            let messages: Vec<MessageRecord> = d
                .channel_messages(CHANNEL)
                .into_iter()
                .filter(|m| m.interaction.is_none())
                .collect();
            messages
                .iter()
                .any(|m| embeds_text(m).contains("platinum"))
                .then_some(messages)
        })
        .await
        .expect("the first server's platinum");

    // Everything is delivered or failed, and nothing twice.
    let rows = wait_until("every announcement handled", || async {
        let rows = outbox(&h).await;
        rows.iter()
            .all(|(_, sent, failed)| sent | failed)
            .then_some(rows)
    })
    .await;
    let sent = |guild: u64| {
        rows.iter()
            .filter(|(g, sent, _)| *g == guild as i64 && *sent)
            .count()
    };
    assert_eq!(announcements(&h, CHANNEL).len(), sent(GUILD));
    // Milestones the trophies made (a platinum count, the rarest trophy ever) may follow the
    // platinum's announcement; the trophies' own announcements were all there with it.
    let trophy_posts = |messages: &[MessageRecord]| {
        messages
            .iter()
            .filter(|m| !embeds_text(m).contains("reached a milestone"))
            .count()
    };
    assert_eq!(
        trophy_posts(&main),
        trophy_posts(&announcements(&h, CHANNEL))
    );
    // Milestones go to a server whatever its trophy filter.
    assert_eq!(
        trophy_posts(&announcements(&h, PLATINUM_CHANNEL)),
        1,
        "only the platinum"
    );
    assert!(rows
        .iter()
        .filter(|(g, _, _)| *g == DOOMED_GUILD as i64)
        .all(|(_, sent, failed)| !sent && *failed));
    assert_eq!(
        h.discord.dm_messages(DOOMED_ADMIN).len(),
        1,
        "one report only"
    );
}

#[tokio::test]
async fn a_crash_between_posting_and_marking_neither_loses_nor_repeats() {
    // One instance name across restarts, as a container keeps its own: the new process takes
    // back at once the leases the killed one held.
    let mut h = fast_tracker()
        .env("TROPHYBOT_INSTANCE", "bot-a")
        .env("TROPHYBOT_FAILPOINT", "deliver-after-post")
        .start()
        .await;
    track(&h, GUILD, CHANNEL, ADMIN).await;
    wait_for_baseline(&h, PLAYER).await;
    let (title, open) = open_trophies(&h, PLAYER).await;

    // Round 1: killed after the post; the restart retries within Discord's nonce window, and
    // Discord answers with the message it already has.
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    wait_for_announcements(&h, CHANNEL, 1).await;
    h.kill();
    assert_eq!(
        outbox(&h).await,
        [(GUILD as i64, false, false)],
        "not marked"
    );
    h.restart_with_env("TROPHYBOT_FAILPOINT", "").await;
    wait_until("the announcement marked sent", || async {
        let rows = outbox(&h).await;
        (rows == [(GUILD as i64, true, false)]).then_some(())
    })
    .await;
    assert_eq!(announcements(&h, CHANNEL).len(), 1, "no duplicate");

    // Round 2: killed again, and this time the nonce window has passed (the fake's clock and
    // the recorded attempt both move on): the bot finds its message in the channel instead.
    h.restart_with_env("TROPHYBOT_FAILPOINT", "deliver-after-post")
        .await;
    h.sim
        .earn_trophy(PLAYER, &title, open[1].0)
        .expect("earned");
    wait_for_announcements(&h, CHANNEL, 2).await;
    h.kill();
    h.discord
        .clock()
        .advance(std::time::Duration::from_secs(10 * 60));
    let store = h.store().await;
    sqlx::query("UPDATE outbox SET attempted_at = attempted_at - interval '10 minutes'")
        .execute(store.pool())
        .await
        .expect("age the attempt");
    store.close().await;
    h.restart_with_env("TROPHYBOT_FAILPOINT", "").await;
    wait_until("both announcements marked sent", || async {
        let rows = outbox(&h).await;
        (rows.len() == 2 && rows.iter().all(|(_, sent, _)| *sent)).then_some(())
    })
    .await;
    let messages = announcements(&h, CHANNEL);
    assert_eq!(messages.len(), 2, "found in history, not posted again");
    assert!(embeds_text(&messages[1]).contains(&open[1].1.to_lowercase()));

    // And the tracker carries on after the restarts.
    h.sim
        .earn_trophy(PLAYER, &title, open[2].0)
        .expect("earned");
    let messages = wait_for_announcements(&h, CHANNEL, 3).await;
    assert!(embeds_text(&messages[2]).contains(&open[2].1.to_lowercase()));
}

#[tokio::test]
async fn a_second_deliverer_on_the_same_database_posts_nothing_twice() {
    let h = fast_tracker().start().await;
    // A second deliverer (another process would do the same) competes for the bot's outbox.
    let store = h.store().await;
    let http = Arc::new(
        serenity::http::HttpBuilder::new(&h.discord.config().token)
            .proxy(h.discord.origin())
            .ratelimiter_disabled(true)
            .build(),
    );
    let stop = CancellationToken::new();
    let signals = trophybot::tracker::Signals::default();
    let second = trophybot::bot::deliver::Deliverer::new(
        store.clone(),
        http,
        trophybot::ops::Metrics::new(),
        "second-deliverer",
    );
    let second = trophybot::bot::deliver::spawn_deliverer(second, signals.clone(), stop.clone());

    track(&h, GUILD, CHANNEL, ADMIN).await;
    wait_for_baseline(&h, PLAYER).await;
    let (title, open) = open_trophies(&h, PLAYER).await;
    for (id, _) in &open {
        h.sim.earn_trophy(PLAYER, &title, *id).expect("earned");
        // Wake the second deliverer as often as the bot's own is woken.
        signals.outbox_ready.notify_one();
    }
    let rows = wait_until("every trophy announced and marked sent", || async {
        let rows = outbox(&h).await;
        let announced = announcements(&h, CHANNEL)
            .iter()
            .any(|m| embeds_text(m).contains("platinum"));
        (announced && rows.iter().all(|(_, sent, _)| *sent)).then_some(rows)
    })
    .await;
    assert_eq!(
        announcements(&h, CHANNEL).len(),
        rows.len(),
        "one message per announcement, whichever deliverer posted it"
    );
    stop.cancel();
    second.await.expect("the second deliverer stops");
    store.close().await;
}

/// A server that wants names in French.
const FRENCH_GUILD: u64 = 130;
const FRENCH_CHANNEL: u64 = 230;
const FRENCH_ADMIN: u64 = 330;

#[tokio::test]
async fn each_server_gets_the_announcement_once_in_its_own_language() {
    let h = fast_tracker()
        .guild(other_guild(
            FRENCH_GUILD,
            FRENCH_CHANNEL,
            FRENCH_ADMIN,
            "Club Français",
        ))
        .start()
        .await;

    // `/settings language`: choices travel by their index in the list.
    let french_choice = psn::LANGUAGES
        .iter()
        .position(|(code, _)| *code == "fr-FR")
        .expect("French is offered");
    let ix = h
        .slash_in(
            FRENCH_GUILD,
            FRENCH_CHANNEL,
            FRENCH_ADMIN,
            "settings",
            json!([int_opt("language", french_choice as i64)]),
        )
        .await;
    let (_, settings) = h.any_reply(ix).await;
    assert!(
        text_of(&settings).contains("français (fr-fr)"),
        "{settings}"
    );
    let ix = h.slash(ADMIN, "settings", json!([])).await;
    let (_, defaults) = h.any_reply(ix).await;
    assert!(
        text_of(&defaults).contains("english (uk) (en-gb), the bot's default"),
        "{defaults}"
    );

    track(&h, GUILD, CHANNEL, ADMIN).await;
    track(&h, FRENCH_GUILD, FRENCH_CHANNEL, FRENCH_ADMIN).await;
    wait_for_baseline(&h, PLAYER).await;

    let (title, open) = open_trophies(&h, PLAYER).await;
    let (trophy_id, english) = &open[0];
    let french_title = support::sim_client(&h.sim_server.base_url)
        .in_language("fr-FR")
        .title(&title, None)
        .await
        .expect("the title in French");
    let french = &french_title
        .trophies
        .iter()
        .find(|t| t.id == *trophy_id)
        .expect("the trophy in French")
        .name;
    assert_ne!(french, english);

    h.sim
        .earn_trophy(PLAYER, &title, *trophy_id)
        .expect("earned");
    let in_english = embeds_text(&wait_for_announcements(&h, CHANNEL, 1).await[0]);
    let in_french = embeds_text(&wait_for_announcements(&h, FRENCH_CHANNEL, 1).await[0]);
    assert!(in_english.contains(&english.to_lowercase()), "{in_english}");
    assert!(!in_english.contains(&french.to_lowercase()), "{in_english}");
    assert!(in_french.contains(&french.to_lowercase()), "{in_french}");
    assert!(
        in_french.contains(&french_title.name.to_lowercase()),
        "{in_french}"
    );
    assert!(!in_french.contains(&english.to_lowercase()), "{in_french}");

    // Each posted exactly once.
    wait_until("every announcement delivered", || async {
        let rows = outbox(&h).await;
        (rows.len() == 2 && rows.iter().all(|(_, sent, _)| *sent)).then_some(())
    })
    .await;
    assert_eq!(announcements(&h, CHANNEL).len(), 1);
    assert_eq!(announcements(&h, FRENCH_CHANNEL).len(), 1);

    // Commands in the French server answer in French too.
    let ix = h
        .slash_in(
            FRENCH_GUILD,
            FRENCH_CHANNEL,
            FRENCH_ADMIN,
            "trophies",
            json!([opt("user", PLAYER), opt("game", &title)]),
        )
        .await;
    let (_, list) = h.any_reply(ix).await;
    assert!(
        text_of(&list).contains(&french_title.name.to_lowercase()),
        "{list}"
    );
}

/// Two tracked players of one server earn the same trophy, one after the other: once the
/// history backfill has stored both libraries, the second announcement says "2nd in this
/// server" and names the first earner (by PSN's earned time).
/// The bot with a budget large enough for the backfill (a fifth of the tracker's share) to
/// store both players' libraries (hundreds of titles) within the test's patience.
fn backfilling_tracker() -> HarnessBuilder {
    Harness::builder()
        .env("TRACKER_MAX_STALENESS", "1s")
        .env("PSN_RATE_LIMIT", "60000/1m")
        .sim_config(psn_sim::SimConfig {
            rate_limit: 60000,
            rate_window: std::time::Duration::from_secs(60),
            ..psn_sim::SimConfig::default()
        })
}

/// sim_casual and sim_hunter tracked in the default server, and a title both own with a trophy
/// neither has, once the history backfill stored both players' earned trophies of it.
async fn shared_open_trophy(h: &Harness) -> (String, u32) {
    for player in ["sim_casual", "sim_hunter"] {
        let (ephemeral, reply) = h.track_add_in(GUILD, CHANNEL, ADMIN, player, None).await;
        assert!(ephemeral && text_of(&reply).contains(player), "{reply}");
        wait_for_baseline(h, player).await;
    }
    // A title both own with a trophy neither has.
    let client = support::sim_client(&h.sim_server.base_url);
    let account = |online_id: &str| psn::Account {
        account_id: h.sim.account_id(online_id).expect("a sim user"),
        online_id: online_id.to_string(),
    };
    let (casual, hunter) = (account("sim_casual"), account("sim_hunter"));
    // The backfill goes newest first: the shared title both updated most recently comes soon.
    let hunters: std::collections::HashMap<String, Option<chrono::DateTime<chrono::Utc>>> = client
        .all_titles(&hunter)
        .await
        .expect("titles")
        .into_iter()
        .map(|t| (t.np_communication_id, t.last_updated))
        .collect();
    let mut candidates: Vec<(Option<chrono::DateTime<chrono::Utc>>, String)> = client
        .all_titles(&casual)
        .await
        .expect("titles")
        .into_iter()
        .filter_map(|t| {
            let theirs = hunters.get(&t.np_communication_id)?;
            Some(((*theirs).min(t.last_updated), t.np_communication_id))
        })
        .collect();
    candidates.sort_by(|a, b| b.cmp(a));
    let mut shared = None;
    for (_, id) in candidates {
        let mine = client.user_trophies(&casual, &id).await.expect("trophies");
        let theirs = client.user_trophies(&hunter, &id).await.expect("trophies");
        let open = mine.trophies.iter().find(|t| {
            !t.earned
                && t.definition.kind != TrophyType::Platinum
                && theirs
                    .trophies
                    .iter()
                    .any(|u| u.definition.id == t.definition.id && !u.earned)
        });
        if let Some(trophy) = open {
            shared = Some((id, trophy.definition.id));
            break;
        }
    }
    let (title, trophy) = shared.expect("a shared title with an open trophy");

    // The history backfill has stored both players' history of it.
    let store = h.store().await;
    wait_until("the history backfill of the shared title", || {
        let pool = store.pool().clone();
        let title = title.clone();
        async move {
            let (stored,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM account_title_state WHERE np_communication_id = $1",
            )
            .bind(&title)
            .fetch_one(&pool)
            .await
            .ok()?;
            (stored == 2).then_some(())
        }
    })
    .await;
    store.close().await;
    (title, trophy)
}

#[tokio::test]
async fn the_second_earner_in_a_server_is_told_they_are_2nd_and_who_was_first() {
    let h = backfilling_tracker().start().await;
    let (title, trophy) = shared_open_trophy(&h).await;

    h.sim
        .earn_trophy("sim_casual", &title, trophy)
        .expect("earned");
    let first = wait_for_announcements(&h, CHANNEL, 1).await;
    let text = embeds_text(&first[0]);
    assert!(text.contains("1st"), "{text}");
    h.sim.advance_clock(std::time::Duration::from_secs(60));
    h.sim
        .earn_trophy("sim_hunter", &title, trophy)
        .expect("earned");
    let both = wait_for_announcements(&h, CHANNEL, 2).await;
    let text = embeds_text(&both[1]);
    assert!(text.contains("sim_hunter"), "{text}");
    assert!(text.contains("2nd"), "{text}");
    assert!(text.contains("also earned by **sim_casual**"), "{text}");
    let mentions = both[1].allowed_mentions.clone().unwrap_or_default();
    assert_eq!(mentions["parse"], json!([]), "announcements ping no one");
}

/// Waits until the tracker recorded `online_id`'s trophy list as `status` (`ok`, `private`).
async fn wait_for_status(h: &Harness, online_id: &str, status: &'static str) {
    let account_id = h.sim.account_id(online_id).expect("a sim user");
    let store = h.store().await;
    wait_until(&format!("{online_id} seen {status}"), || {
        let pool = store.pool().clone();
        let account_id = account_id.clone();
        async move {
            let seen: Option<(String,)> =
                sqlx::query_as("SELECT status FROM account_state WHERE account_id = $1")
                    .bind(&account_id)
                    .fetch_optional(&pool)
                    .await
                    .ok()
                    .flatten();
            seen.filter(|(seen,)| seen == status).map(|_| ())
        }
    })
    .await;
    store.close().await;
}

#[tokio::test]
async fn the_earlier_earner_detected_second_is_ranked_1st_by_psns_time() {
    let h = backfilling_tracker().start().await;
    let (title, trophy) = shared_open_trophy(&h).await;

    // sim_hunter earns it first, while their trophy list is private: the bot cannot see it.
    h.sim.set_private("sim_hunter", true).expect("private");
    wait_for_status(&h, "sim_hunter", "private").await;
    h.sim
        .earn_trophy("sim_hunter", &title, trophy)
        .expect("earned");
    // A minute later (PSN's time) sim_casual earns it, and is detected first.
    h.sim.advance_clock(std::time::Duration::from_secs(60));
    h.sim
        .earn_trophy("sim_casual", &title, trophy)
        .expect("earned");
    let first = wait_for_announcements(&h, CHANNEL, 1).await;
    let text = embeds_text(&first[0]);
    assert!(text.contains("sim_casual"), "{text}");
    // sim_hunter could not be checked: the rank is qualified, and the private player not named.
    assert!(
        text.contains("**1st** in this server, among players checked so far"),
        "{text}"
    );
    assert!(!text.contains("sim_hunter"), "{text}");

    // sim_hunter's list is public again: their trophy is found second, ranked by PSN's time.
    h.sim.set_private("sim_hunter", false).expect("public");
    let both = wait_for_announcements(&h, CHANNEL, 2).await;
    let text = embeds_text(&both[1]);
    assert!(text.contains("sim_hunter"), "{text}");
    assert!(text.contains("**1st** in this server to earn it"), "{text}");
    assert!(text.contains("also earned by **sim_casual**"), "{text}");
    assert!(!text.contains("2nd"), "{text}");
    assert_eq!(
        h.discord
            .channel_messages(CHANNEL)
            .iter()
            .filter(|m| m.interaction.is_none())
            .count(),
        2,
        "each earner announced once"
    );
}

/// The choices an autocomplete of `/trophy` answered with, for `options` (one focused).
async fn trophy_choices(h: &Harness, options: serde_json::Value) -> Vec<serde_json::Value> {
    let ix = h
        .discord
        .send_autocomplete(
            GUILD,
            CHANNEL,
            crate::support::bot::MEMBER,
            "trophy",
            options,
        )
        .await
        .expect("autocomplete dispatched");
    match h.discord.wait_for_response(ix).await.expect("answered") {
        discord_fake::InteractionEvent::Callback {
            data: Some(data), ..
        } => data["choices"].as_array().cloned().unwrap_or_default(),
        other => panic!("expected choices, got {other:?}"),
    }
}

#[tokio::test]
async fn trophy_lists_who_in_the_server_has_it_first_earner_first() {
    let h = backfilling_tracker().start().await;
    let (title, trophy) = shared_open_trophy(&h).await;
    h.sim
        .earn_trophy("sim_casual", &title, trophy)
        .expect("earned");
    wait_for_announcements(&h, CHANNEL, 1).await;
    h.sim.advance_clock(std::time::Duration::from_secs(60));
    h.sim
        .earn_trophy("sim_hunter", &title, trophy)
        .expect("earned");
    wait_for_announcements(&h, CHANNEL, 2).await;
    // The title's trophy list is stored as the tracker fetched it for the announcements.
    let store = h.store().await;
    wait_until("the title's definition stored", || {
        let pool = store.pool().clone();
        let title = title.clone();
        async move {
            let (stored,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM title_definitions WHERE np_communication_id = $1",
            )
            .bind(&title)
            .fetch_one(&pool)
            .await
            .ok()?;
            (stored > 0).then_some(())
        }
    })
    .await;

    // Autocomplete offers the server's games and the picked game's trophies.
    let focused =
        |name: &str, value: &str| json!({"name": name, "type": 3, "value": value, "focused": true});
    let games = trophy_choices(&h, json!([focused("game", "")])).await;
    assert!(
        games.iter().any(|c| c["value"] == json!(title)),
        "{title} in {games:?}"
    );
    assert!(games.len() <= 25);
    let trophies = trophy_choices(&h, json!([opt("game", &title), focused("trophy", "")])).await;
    assert!(
        trophies
            .iter()
            .any(|c| c["value"] == json!(trophy.to_string())),
        "{trophy} in {trophies:?}"
    );
    assert!(trophies
        .iter()
        .all(|c| c["name"].as_str().is_some_and(|n| n.chars().count() <= 100)));

    // The answer: both, first earner first, from stored data.
    let requests_before = h.sim.request_count();
    let ix = h
        .slash(
            crate::support::bot::MEMBER,
            "trophy",
            json!([opt("game", &title), opt("trophy", &trophy.to_string())]),
        )
        .await;
    let (ephemeral, reply) = h.any_reply(ix).await;
    assert!(!ephemeral, "{reply}");
    let text = text_of(&reply);
    let casual = text.find("1st **sim_casual**").expect(&text);
    let hunter = text.find("2nd **sim_hunter**").expect(&text);
    assert!(casual < hunter, "{text}");
    assert!(
        text.contains("2 of the 2 players here who own the game"),
        "{text}"
    );
    assert_eq!(
        h.sim
            .requests()
            .iter()
            .skip(requests_before)
            .filter(|r| r.path.contains(&title))
            .count(),
        0,
        "no PSN request about the title to answer"
    );

    // A game nobody here owns is a polite not found, only for the caller.
    let ix = h
        .slash(
            crate::support::bot::MEMBER,
            "trophy",
            json!([opt("game", "No Such Game Anywhere"), opt("trophy", "1")]),
        )
        .await;
    let (ephemeral, refused) = h.any_reply(ix).await;
    assert!(ephemeral, "{refused}");
    assert!(text_of(&refused).contains("game not found"), "{refused}");
    store.close().await;
}
