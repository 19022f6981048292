//! End to end: the weekly recap through the real binary, the fake Discord and the simulator.
//! The bot runs on the wall clock, so the test does not wait for a due hour: it seeds
//! `detected_trophies` inside the recap week that is already due (the seven days up to the
//! latest chosen day and hour, computed with the bot's own rule) and starts the bot, whose
//! scheduler looks for due recaps at start. The recap is posted once, and not again after
//! restarts. `/leaderboard period` answers in the server's time zone.

use chrono::Utc;
use discord_fake::{FakeGuild, FakeUser, MessageRecord};
use serde_json::json;
use trophybot::model::recap::{latest_recap, parse_time_zone, RecapSchedule};

use crate::support::bot::{
    assert_no_mentions, int_opt, opt, text_of, wait_until, Harness, ADMIN, CHANNEL, GUILD, MEMBER,
};

const OTHER_GUILD: u64 = 101;
const OTHER_CHANNEL: u64 = 201;
/// `recap_day`'s choice index (Monday is 0).
const SUNDAY: i64 = 6;
/// `/leaderboard period`'s choice index (all time, this month, this week).
const THIS_WEEK: i64 = 2;
const RECAP_TITLE: &str = "📅 Weekly trophy recap";

fn recaps(h: &Harness, channel: u64) -> Vec<MessageRecord> {
    h.discord
        .channel_messages(channel)
        .into_iter()
        .filter(|m| m.message["embeds"][0]["title"] == RECAP_TITLE)
        .collect()
}

async fn wait_for_recap(h: &Harness, channel: u64) -> MessageRecord {
    h.discord
        .wait_for("a weekly recap", |_| recaps(h, channel).into_iter().next())
        .await
        .expect("the recap is posted")
}

/// The bot with a second server (`OTHER_GUILD`) where `ADMIN` may manage the server.
async fn start_with_second_server() -> Harness {
    Harness::builder()
        .guild(
            FakeGuild::new(OTHER_GUILD, "Second Room")
                .channel(OTHER_CHANNEL, "news")
                .member(FakeUser::new(ADMIN, "admin").with_manage_guild()),
        )
        .start()
        .await
}

/// `/track add sim_hunter` in `GUILD`, which the bot confirms.
async fn track_hunter(h: &Harness) {
    let (_, tracked) = h.track_add("sim_hunter").await;
    assert!(text_of(&tracked).contains("sim_hunter"), "{tracked}");
}

/// Test-only SQL: `OTHER_GUILD` tracks sim_hunter (`account_id`) too.
async fn track_in_second_server(store: &trophybot::store::Store, account_id: &str) {
    sqlx::query(
        "INSERT INTO tracked_accounts (guild_id, account_id, online_id, added_by)
         VALUES ($1, $2, 'sim_hunter', $3)",
    )
    .bind(OTHER_GUILD as i64)
    .bind(account_id)
    .bind(ADMIN as i64)
    .execute(store.pool())
    .await
    .expect("tracked");
}

/// Test-only SQL: `guild` posts to `channel` and wants its recap on Sundays in Berlin.
async fn recap_on_sundays_in_berlin(store: &trophybot::store::Store, guild: u64, channel: u64) {
    sqlx::query(
        "INSERT INTO guild_settings (guild_id, announce_channel_id, time_zone, recap_weekday)
         VALUES ($1, $2, 'Europe/Berlin', 7)
         ON CONFLICT (guild_id) DO UPDATE
         SET announce_channel_id = EXCLUDED.announce_channel_id,
             time_zone = EXCLUDED.time_zone, recap_weekday = EXCLUDED.recap_weekday",
    )
    .bind(guild as i64)
    .bind(channel as i64)
    .execute(store.pool())
    .await
    .expect("settings");
}

/// A platinum and a rare gold of the server's tracked player (sim_hunter) inside the week that
/// is due now in Berlin on Sundays at 09:00, in a game named with markdown: the week and the
/// player's account id.
async fn seed_due_week(store: &trophybot::store::Store) -> (trophybot::model::RecapWeek, String) {
    let schedule = RecapSchedule {
        weekday: chrono::Weekday::Sun,
        time_zone: parse_time_zone("Europe/Berlin").expect("a zone"),
        ..RecapSchedule::default()
    };
    let week = latest_recap(&schedule, Utc::now());
    let (account_id,): (String,) =
        sqlx::query_as("SELECT account_id FROM tracked_accounts WHERE guild_id = $1")
            .bind(GUILD as i64)
            .fetch_one(store.pool())
            .await
            .expect("the tracked account");
    for (trophy, kind, hours) in [(0, "platinum", 1), (7, "gold", 2)] {
        sqlx::query(
            "INSERT INTO detected_trophies
                 (account_id, np_communication_id, trophy_id, kind, earned_at, detected_at)
             VALUES ($1, 'NPWR90000_00', $2, $3, $4, $4)",
        )
        .bind(&account_id)
        .bind(trophy)
        .bind(kind)
        .bind(week.start + chrono::Duration::hours(hours))
        .execute(store.pool())
        .await
        .expect("seeded");
    }
    sqlx::query(
        "INSERT INTO title_trophy_rates (np_communication_id, trophy_id, kind, earned_rate)
         VALUES ('NPWR90000_00', 0, 'platinum', 4.0), ('NPWR90000_00', 7, 'gold', 1.5)",
    )
    .execute(store.pool())
    .await
    .expect("rates");
    sqlx::query(
        "INSERT INTO user_titles (account_id, np_communication_id, name, platform, title)
         VALUES ($1, 'NPWR90000_00', 'Recap *Quest*', 'PS5', '{}'::jsonb)",
    )
    .bind(&account_id)
    .execute(store.pool())
    .await
    .expect("title");

    (week, account_id)
}

#[tokio::test]
async fn the_weekly_recap_is_posted_once_per_server_and_week() {
    let mut h = start_with_second_server().await;
    // The server's time zone and day through /settings; a bad zone is refused politely.
    let ix = h
        .slash(ADMIN, "settings", json!([opt("time_zone", "Mars/Olympus")]))
        .await;
    let (ephemeral, refused) = h.any_reply(ix).await;
    assert!(ephemeral, "{refused}");
    assert!(
        text_of(&refused).contains("not a time zone name"),
        "{refused}"
    );
    let ix = h
        .slash(
            ADMIN,
            "settings",
            json!([
                opt("time_zone", "Europe/Berlin"),
                int_opt("recap_day", SUNDAY)
            ]),
        )
        .await;
    let (_, saved) = h.any_reply(ix).await;
    assert!(
        text_of(&saved).contains("on: sundays at 09:00 (europe/berlin)"),
        "{saved}"
    );
    track_hunter(&h).await;

    let store = h.store().await;
    let (week, account_id) = seed_due_week(&store).await;
    // The bot starts again and finds the recap due.
    h.restart().await;
    let recap = wait_for_recap(&h, CHANNEL).await;
    assert_no_mentions(&json!({"allowed_mentions": recap.allowed_mentions}));
    let text = text_of(&recap.message["embeds"]);
    assert!(
        text.contains("2 trophies · 390 points · 1 player · 1 platinum"),
        "{text}"
    );
    assert!(text.contains("recap *quest*"), "escaped title: {text}");
    assert!(
        text.contains("1.5% of players"),
        "the rarest is the gold: {text}"
    );
    assert!(text.contains("europe/berlin"), "{text}");
    let (event_key,): (String,) = sqlx::query_as(
        "SELECT event_key FROM outbox WHERE guild_id = $1 AND event_key LIKE 'recap:%'",
    )
    .bind(GUILD as i64)
    .fetch_one(store.pool())
    .await
    .expect("the recap's outbox row");
    assert_eq!(event_key, week.event_key);

    // Another server starts tracking the same player; after another restart its recap comes,
    // and the first server's is not posted again (the same round looked at it first).
    recap_on_sundays_in_berlin(&store, OTHER_GUILD, OTHER_CHANNEL).await;
    track_in_second_server(&store, &account_id).await;
    h.restart().await;
    wait_for_recap(&h, OTHER_CHANNEL).await;
    both_recaps_sent(&store).await;
    assert_eq!(recaps(&h, CHANNEL).len(), 1, "once per server and week");
    assert_eq!(recaps(&h, OTHER_CHANNEL).len(), 1);

    // `/leaderboard period: this week` dates its week in the server's zone.
    let ix = h
        .slash(MEMBER, "leaderboard", json!([int_opt("period", THIS_WEEK)]))
        .await;
    let (ephemeral, board) = h.any_reply(ix).await;
    assert!(!ephemeral);
    let board = text_of(&board);
    assert!(board.contains("trophy leaderboard: this week"), "{board}");
    assert!(board.contains("europe/berlin"), "{board}");
}

#[tokio::test]
async fn two_bot_processes_on_one_database_post_each_server_s_recap_once() {
    let mut h = start_with_second_server().await;
    track_hunter(&h).await;
    let store = h.store().await;
    let (week, account_id) = seed_due_week(&store).await;
    // Both servers track the player and want their recap on Sundays in Berlin.
    track_in_second_server(&store, &account_id).await;
    for (guild, channel) in [(GUILD, CHANNEL), (OTHER_GUILD, OTHER_CHANNEL)] {
        recap_on_sundays_in_berlin(&store, guild, channel).await;
    }

    // Two processes start together on the database: both schedulers find both recaps due at
    // start, both deliverers look for work.
    h.kill();
    let mut second = h.spawn_second_bot();
    h.restart().await;
    both_recaps_sent(&store).await;
    for channel in [CHANNEL, OTHER_CHANNEL] {
        let posted = recaps(&h, channel);
        assert_eq!(posted.len(), 1, "once in {channel}");
        let text = text_of(&posted[0].message["embeds"]);
        assert!(
            text.contains("2 trophies · 390 points · 1 player · 1 platinum"),
            "{text}"
        );
        assert!(
            text.contains("1.5% of players"),
            "the rarest is the gold: {text}"
        );
        assert!(text.contains("europe/berlin"), "{text}");
    }
    let keys: Vec<(i64, String)> = sqlx::query_as(
        "SELECT guild_id, event_key FROM outbox WHERE event_key LIKE 'recap:%' ORDER BY guild_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("the recaps' rows");
    assert_eq!(
        keys,
        vec![
            (GUILD as i64, week.event_key.clone()),
            (OTHER_GUILD as i64, week.event_key.clone())
        ],
        "one row per server and week"
    );
    // Both ran the whole time, the second sharing the one gateway session the fake holds.
    assert!(second.is_running(), "the second process is still running");
    assert!(h
        .bot
        .as_mut()
        .is_some_and(|bot| matches!(bot.try_wait(), Ok(None))));
    drop(second);
}

/// Waits until both servers' recaps are marked sent in the outbox.
async fn both_recaps_sent(store: &trophybot::store::Store) {
    wait_until("both recaps marked sent", || async {
        let sent: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE event_key LIKE 'recap:%' AND sent_at IS NOT NULL",
        )
        .fetch_one(store.pool())
        .await
        .ok()?;
        (sent == 2).then_some(())
    })
    .await;
}
