//! The weekly recap against a real PostgreSQL: its schedule stored per server, the week's
//! figures from the trophies the tracker detected, and the scheduler's rounds queueing each
//! server's recap exactly once per week, also with two processes (two stores, two schedulers)
//! on one database. Times are passed in (`now`), never waited for.

use chrono::{DateTime, Utc, Weekday};
use chrono_tz::Tz;
use psn::TrophyType;
use tokio_util::sync::CancellationToken;
use trophybot::commands::leaderboard;
use trophybot::commands::settings::{self, RecapOptions, SettingsInput};
use trophybot::errors::CommandError;
use trophybot::model::recap::{latest_recap, RecapSchedule};
use trophybot::model::TrackedAccount;
use trophybot::model::{LeaderboardPeriod, RecapWeek, Reply, WeeklyRecap};
use trophybot::store::Store;
use trophybot::tracker::recap::{queue_due_recaps, spawn_recap_scheduler, RecapRound};
use trophybot::tracker::Signals;

use crate::support::db::TestDb;

const GUILD: u64 = 100;
const OTHER_GUILD: u64 = 101;
const CHANNEL: u64 = 555;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a date")
        .with_timezone(&Utc)
}

async fn track(store: &Store, guild_id: u64, account_id: &str, online_id: &str) {
    store
        .add_tracked_account(
            &TrackedAccount {
                guild_id,
                account_id: account_id.into(),
                online_id: online_id.into(),
                channel_id: Some(CHANNEL),
                added_by: 42,
                added_at: at("2026-11-01T00:00:00Z"),
            },
            25,
        )
        .await
        .expect("track");
}

/// A trophy the tracker detected: account, title, trophy id, kind, PSN's date (`None`: PSN
/// gave none) and when the tracker saw it.
type Detected<'a> = (&'a str, &'a str, i32, &'a str, Option<&'a str>, &'a str);

async fn detected(store: &Store, trophies: &[Detected<'_>]) {
    for &(account, title, trophy, kind, earned_at, detected_at) in trophies {
        sqlx::query(
            "INSERT INTO detected_trophies
                 (account_id, np_communication_id, trophy_id, kind, earned_at, detected_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(account)
        .bind(title)
        .bind(trophy)
        .bind(kind)
        .bind(earned_at.map(at))
        .bind(at(detected_at))
        .execute(store.pool())
        .await
        .expect("detected trophy");
    }
}

/// Two tracked players in `GUILD` (alice, bob) and one elsewhere, with trophies in and around
/// the week of Monday 2026-11-23 09:00 UTC to Monday 2026-11-30 09:00 UTC.
async fn seed_week(store: &Store) {
    track(store, GUILD, "1", "alice").await;
    track(store, GUILD, "2", "bob").await;
    track(store, OTHER_GUILD, "3", "carol").await;
    const ONE: &str = "NPWR00001_00";
    const TWO: &str = "NPWR00002_00";
    detected(
        store,
        &[
            // In the week: alice's platinum and a gold; bob's silver (no PSN date: detected
            // then) and a bronze.
            (
                "1",
                ONE,
                0,
                "platinum",
                Some("2026-11-25T12:00:00Z"),
                "2026-11-25T12:05:00Z",
            ),
            (
                "1",
                ONE,
                5,
                "gold",
                Some("2026-11-24T12:00:00Z"),
                "2026-11-24T12:05:00Z",
            ),
            ("2", TWO, 7, "silver", None, "2026-11-26T12:00:00Z"),
            (
                "2",
                TWO,
                8,
                "bronze",
                Some("2026-11-27T12:00:00Z"),
                "2026-11-27T12:05:00Z",
            ),
            // Outside it: a second before it starts, right at its end (detected inside), and
            // carol's in another server.
            (
                "1",
                ONE,
                1,
                "bronze",
                Some("2026-11-23T08:59:59Z"),
                "2026-11-24T00:00:00Z",
            ),
            (
                "1",
                ONE,
                2,
                "bronze",
                Some("2026-11-30T09:00:00Z"),
                "2026-11-30T09:01:00Z",
            ),
            (
                "3",
                TWO,
                9,
                "gold",
                Some("2026-11-25T12:00:00Z"),
                "2026-11-25T12:05:00Z",
            ),
        ],
    )
    .await;
    sqlx::query(
        "INSERT INTO title_trophy_rates (np_communication_id, trophy_id, kind, earned_rate) VALUES
             ('NPWR00001_00', 0, 'platinum', 10.0), ('NPWR00001_00', 5, 'gold', 2.5),
             ('NPWR00002_00', 7, 'silver', 0.4), ('NPWR00002_00', 8, 'bronze', 50.0),
             ('NPWR00002_00', 9, 'gold', 0.1), ('NPWR00001_00', 1, 'bronze', 0.01)",
    )
    .execute(store.pool())
    .await
    .expect("rates");
    sqlx::query(
        "INSERT INTO user_titles (account_id, np_communication_id, name, platform, title)
         VALUES ('1', 'NPWR00001_00', 'Game *One*', 'PS5', '{}'::jsonb)",
    )
    .execute(store.pool())
    .await
    .expect("library");
    // Bob's title is known from its definition only, in two languages.
    for (language, title, trophy) in [
        ("en-US", "Game Two", "Secret Silver"),
        ("fr-FR", "Jeu Deux", "Argent secret"),
    ] {
        let definition = serde_json::json!({
            "name": title,
            "trophies": [{"id": 7, "name": trophy}, {"id": 8, "name": "Bronze"}],
        });
        sqlx::query(
            "INSERT INTO title_definitions (np_communication_id, language, definition)
             VALUES ('NPWR00002_00', $1, $2)",
        )
        .bind(language)
        .bind(definition)
        .execute(store.pool())
        .await
        .expect("definition");
    }
}

/// `GUILD`'s recap of `week`, in UTC and `language`.
async fn recap_of(store: &Store, week: &RecapWeek, language: &str) -> WeeklyRecap {
    store
        .weekly_recap(GUILD, week, Tz::UTC, language)
        .await
        .unwrap()
}

/// The default schedule's recap due Monday 2026-11-30 09:00 UTC.
const DUE: &str = "2026-11-30T09:00:00Z";

/// One round of the recap scheduler at `now`, in the default language.
async fn queue_round(store: &Store, now: DateTime<Utc>) -> RecapRound {
    queue_due_recaps(store, "en-US", now).await.unwrap()
}

async fn recaps_in_outbox(store: &Store) -> Vec<(i64, String, serde_json::Value)> {
    sqlx::query_as(
        "SELECT guild_id, event_key, payload FROM outbox WHERE event_key LIKE 'recap:%'
         ORDER BY guild_id, event_key",
    )
    .fetch_all(store.pool())
    .await
    .expect("outbox")
}

#[tokio::test]
async fn the_schedule_defaults_to_monday_morning_utc_and_round_trips() {
    let (_db, store) = TestDb::migrated().await;
    assert_eq!(
        store.recap_schedule(GUILD).await.unwrap(),
        RecapSchedule::default()
    );
    let berlin = RecapSchedule {
        enabled: false,
        weekday: Weekday::Sun,
        hour: 20,
        time_zone: Tz::Europe__Berlin,
    };
    store.set_recap_schedule(GUILD, &berlin).await.unwrap();
    assert_eq!(store.recap_schedule(GUILD).await.unwrap(), berlin);
    // The other settings are kept, and they keep the schedule.
    let mut settings = store.guild_settings(GUILD).await.unwrap();
    settings.language = Some("fr-FR".into());
    store.set_guild_settings(&settings).await.unwrap();
    assert_eq!(store.recap_schedule(GUILD).await.unwrap(), berlin);
}

#[tokio::test]
async fn the_week_figures_come_from_the_server_s_detected_trophies() {
    let (_db, store) = TestDb::migrated().await;
    seed_week(&store).await;
    let week = latest_recap(&RecapSchedule::default(), at(DUE));
    let recap = recap_of(&store, &week, "en-US").await;
    let players: Vec<(&str, u32, u32)> = recap
        .players
        .iter()
        .map(|p| (p.online_id.as_str(), p.earned.points(), p.earned.total()))
        .collect();
    assert_eq!(players, vec![("alice", 390, 2), ("bob", 45, 2)]);
    assert_eq!(recap.platinums.len(), 1);
    assert_eq!(recap.platinums[0].online_id, "alice");
    assert_eq!(recap.platinums[0].title_name, "Game *One*");
    assert_eq!(recap.platinums[0].earned_at, at("2026-11-25T12:00:00Z"));
    // Carol's rarer gold is another server's; alice's 0.01 % bronze is from the week before.
    let rarest = recap.rarest.expect("a rarest trophy");
    assert_eq!(rarest.online_id, "bob");
    assert_eq!(rarest.kind, TrophyType::Silver);
    assert_eq!(rarest.earned_rate, 0.4);
    assert_eq!(rarest.title_name, "Game Two");
    assert_eq!(rarest.trophy_name.as_deref(), Some("Secret Silver"));
    // Names follow the server's language where a definition has it.
    let french = recap_of(&store, &week, "fr-FR").await;
    assert_eq!(
        french.rarest.unwrap().trophy_name.as_deref(),
        Some("Argent secret")
    );
    // A week without trophies is empty.
    let earlier = latest_recap(&RecapSchedule::default(), at("2026-11-10T00:00:00Z"));
    let empty = recap_of(&store, &earlier, "en-US").await;
    assert!(empty.is_empty() && empty.platinums.is_empty() && empty.rarest.is_none());
}

/// Test-only SQL: `account`'s first check is done, it owns `title`, and, with `earned`
/// (trophy ids with PSN dates, `None`: undated), its earned trophies of it are stored.
async fn owns(store: &Store, account: &str, title: &str, earned: Option<&[(u32, Option<&str>)]>) {
    sqlx::query(
        "INSERT INTO account_state (account_id, online_id, baseline_done) VALUES ($1, $1, true)
         ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(account)
    .execute(store.pool())
    .await
    .expect("account state");
    sqlx::query(
        "INSERT INTO user_titles (account_id, np_communication_id, name, platform, last_updated,
                                  title)
         VALUES ($1, $2, $2, 'PS5', now(), '{}'::jsonb)",
    )
    .bind(account)
    .bind(title)
    .execute(store.pool())
    .await
    .expect("user title");
    let Some(earned) = earned else {
        return;
    };
    let ids: Vec<u32> = earned.iter().map(|(id, _)| *id).collect();
    let dates: serde_json::Map<String, serde_json::Value> = earned
        .iter()
        .filter_map(|(id, date)| Some((id.to_string(), serde_json::json!((*date)?))))
        .collect();
    sqlx::query(
        "INSERT INTO account_title_state (account_id, np_communication_id, last_updated, earned,
                                          earned_at)
         VALUES ($1, $2, now(), $3::jsonb, $4::jsonb)",
    )
    .bind(account)
    .bind(title)
    .bind(serde_json::to_string(&ids).unwrap())
    .bind(serde_json::to_string(&dates).unwrap())
    .execute(store.pool())
    .await
    .expect("title state");
}

#[tokio::test]
async fn server_firsts_are_the_week_s_trophies_nobody_here_had_earlier_in_a_shared_game() {
    let (_db, store) = TestDb::migrated().await;
    const SHARED: &str = "NPWR00010_00";
    const ALICE_ONLY: &str = "NPWR00011_00";
    track(&store, GUILD, "1", "alice").await;
    track(&store, GUILD, "2", "bob").await;
    // alice: 5 (before bob's), 6 (after bob's), 7 (bob's is undated); a game only she owns.
    for (trophy, day) in [(5, "24"), (6, "25"), (7, "25")] {
        let earned = format!("2026-11-{day}T12:00:00Z");
        detected(
            &store,
            &[("1", SHARED, trophy, "gold", Some(&earned), &earned)],
        )
        .await;
    }
    let (alice_only_at, bobs_at) = ("2026-11-24T10:00:00Z", "2026-11-27T12:00:00Z");
    detected(
        &store,
        &[
            (
                "1",
                ALICE_ONLY,
                1,
                "gold",
                Some(alice_only_at),
                alice_only_at,
            ),
            // bob: 8, which alice does not have.
            ("2", SHARED, 8, "bronze", Some(bobs_at), bobs_at),
        ],
    )
    .await;
    let alice_state: &[(u32, Option<&str>)] = &[
        (5, Some("2026-11-24T12:00:00Z")),
        (6, Some("2026-11-25T12:00:00Z")),
        (7, Some("2026-11-25T12:00:00Z")),
    ];
    owns(&store, "1", SHARED, Some(alice_state)).await;
    owns(
        &store,
        "1",
        ALICE_ONLY,
        Some(&[(1, Some("2026-11-24T10:00:00Z"))]),
    )
    .await;
    let bob_state: &[(u32, Option<&str>)] = &[
        (5, Some("2026-11-26T12:00:00Z")),
        (6, Some("2026-11-20T12:00:00Z")),
        (7, None),
        (8, Some("2026-11-27T12:00:00Z")),
    ];
    owns(&store, "2", SHARED, Some(bob_state)).await;
    let week = latest_recap(&RecapSchedule::default(), at(DUE));
    let firsts = |recap: WeeklyRecap| -> Vec<(String, chrono::DateTime<Utc>)> {
        recap
            .firsts
            .into_iter()
            .map(|f| (f.online_id, f.earned_at))
            .collect()
    };
    let recap = recap_of(&store, &week, "en-US").await;
    assert_eq!(
        firsts(recap),
        vec![
            ("alice".to_string(), at("2026-11-24T12:00:00Z")),
            ("bob".to_string(), at("2026-11-27T12:00:00Z")),
        ],
        "alice's 6 was bob's first, 7 is not knowable (bob's is undated), her own game is no race"
    );

    // A third player who owns the game but whose history of it is not stored yet could have
    // earned any of them earlier: no first is claimed then.
    track(&store, GUILD, "3", "dave").await;
    owns(&store, "3", SHARED, None).await;
    let recap = recap_of(&store, &week, "en-US").await;
    assert!(recap.firsts.is_empty(), "{:?}", recap.firsts);
}

#[tokio::test]
async fn a_due_recap_is_queued_once_per_server_and_week_and_late_rather_than_never() {
    let (_db, store) = TestDb::migrated().await;
    seed_week(&store).await;
    // A minute before it is due, the latest recap is the week before's: alice's bronze of
    // Monday 08:59:59 is its only trophy in either server.
    let round = queue_round(&store, at("2026-11-30T08:59:00Z")).await;
    assert_eq!(
        round,
        RecapRound {
            queued: 1,
            empty: 1
        }
    );
    // The bot was down at 09:00 and starts on Thursday: this week's recaps go out, late.
    let round = queue_round(&store, at("2026-12-03T15:00:00Z")).await;
    assert_eq!(
        round,
        RecapRound {
            queued: 2,
            empty: 0
        }
    );
    // Restarts and later rounds of the same week add nothing.
    for now in [DUE, "2026-12-03T15:05:00Z", "2026-12-07T08:59:59Z"] {
        let round = queue_round(&store, at(now)).await;
        assert_eq!(round.queued, 0, "{now}");
    }
    let queued = recaps_in_outbox(&store).await;
    let keys: Vec<(i64, &str)> = queued.iter().map(|(g, k, _)| (*g, k.as_str())).collect();
    assert_eq!(
        keys,
        vec![
            (GUILD as i64, "recap:2026-W48"),
            (GUILD as i64, "recap:2026-W49"),
            (OTHER_GUILD as i64, "recap:2026-W49"),
        ]
    );
    let description = queued[1].2["embeds"][0]["description"].as_str().unwrap();
    assert!(
        description.starts_with("4 trophies · 435 points · 2 players · 1 platinum"),
        "{description}"
    );
    let nonces: Vec<String> = sqlx::query_scalar("SELECT nonce FROM outbox")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(nonces.iter().all(|nonce| nonce.len() <= 25), "{nonces:?}");
    // The next week holds alice's bronze of Monday 09:00 (a week starts at its due time);
    // carol's server had nothing more.
    let round = queue_round(&store, at("2026-12-07T09:00:00Z")).await;
    assert_eq!(
        round,
        RecapRound {
            queued: 1,
            empty: 1
        }
    );
}

#[tokio::test]
async fn a_server_with_its_recap_off_or_nowhere_to_post_gets_none() {
    let (_db, store) = TestDb::migrated().await;
    seed_week(&store).await;
    let off = RecapSchedule {
        enabled: false,
        ..RecapSchedule::default()
    };
    store.set_recap_schedule(GUILD, &off).await.unwrap();
    let round = queue_round(&store, at(DUE)).await;
    assert_eq!(
        round,
        RecapRound {
            queued: 1,
            empty: 0
        },
        "carol's server only"
    );
    let queued = recaps_in_outbox(&store).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].0, OTHER_GUILD as i64);
    // A server with neither an announcement channel nor a tracked account's channel: none.
    sqlx::query("UPDATE tracked_accounts SET channel_id = NULL")
        .execute(store.pool())
        .await
        .unwrap();
    let round = queue_round(&store, at("2026-12-07T09:00:00Z")).await;
    assert_eq!(round, RecapRound::default());
}

#[tokio::test]
async fn two_processes_queue_one_recap() {
    let (db, store) = TestDb::migrated().await;
    seed_week(&store).await;
    let other = Store::connect(&db.url)
        .await
        .expect("a second process's store");
    for _ in 0..5 {
        let (a, b) = tokio::join!(queue_round(&store, at(DUE)), queue_round(&other, at(DUE)),);
        assert!(a.queued + b.queued <= 2, "one per server at most");
    }
    let keys: Vec<(i64, String)> = recaps_in_outbox(&store)
        .await
        .into_iter()
        .map(|(guild, key, _)| (guild, key))
        .collect();
    assert_eq!(
        keys,
        vec![
            (GUILD as i64, "recap:2026-W49".to_string()),
            (OTHER_GUILD as i64, "recap:2026-W49".to_string())
        ]
    );
}

/// The scheduler task as the bot spawns it, twice on one database: the first round of one of
/// them queues this week's recap (wall-clock `now`), the other's finds it there.
#[tokio::test]
async fn two_scheduler_tasks_post_the_week_once() {
    let (db, store) = TestDb::migrated().await;
    track(&store, GUILD, "1", "alice").await;
    let now = Utc::now();
    let week = latest_recap(&RecapSchedule::default(), now);
    let earned = (week.start + chrono::Duration::hours(1)).to_rfc3339();
    detected(
        &store,
        &[("1", "NPWR00001_00", 3, "gold", Some(&earned), &earned)],
    )
    .await;
    let cancel = CancellationToken::new();
    let signals = [Signals::default(), Signals::default()];
    let tasks = [
        spawn_recap_scheduler(
            store.clone(),
            "en-US".into(),
            signals[0].clone(),
            cancel.clone(),
        ),
        spawn_recap_scheduler(
            Store::connect(&db.url).await.unwrap(),
            "en-US".into(),
            signals[1].clone(),
            cancel.clone(),
        ),
    ];
    tokio::select! {
        () = signals[0].outbox_ready.notified() => {}
        () = signals[1].outbox_ready.notified() => {}
    }
    cancel.cancel();
    for task in tasks {
        task.await.expect("the scheduler stops on cancel");
    }
    let queued = recaps_in_outbox(&store).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].1, week.event_key);
}

fn settings_input(recap: RecapOptions, language: Option<&str>) -> SettingsInput {
    SettingsInput {
        guild_id: GUILD,
        channel: None,
        filter: None,
        rare_percent: None,
        language: language.map(str::to_string),
        milestones: Default::default(),
        recap,
        cards: None,
        announce_channel: None,
    }
}

/// `/settings` saves the recap options, and a bad one changes nothing, not even the options
/// given beside it.
#[tokio::test]
async fn settings_save_the_recap_and_a_bad_time_zone_changes_nothing() {
    let (_db, store) = TestDb::migrated().await;
    let options = RecapOptions {
        enabled: Some(true),
        weekday: Some(Weekday::Sun),
        hour: Some(20),
        time_zone: Some("Europe/Berlin".into()),
    };
    let (reply, changed) = settings::run(&store, settings_input(options, None), "en-GB")
        .await
        .unwrap();
    assert!(changed);
    let shown = serde_json::to_string(&reply).unwrap();
    assert!(
        shown.contains("On: Sundays at 20:00 (Europe/Berlin)"),
        "{shown}"
    );
    let saved = store.recap_schedule(GUILD).await.unwrap();
    assert_eq!(
        (saved.weekday, saved.hour, saved.time_zone),
        (Weekday::Sun, 20, Tz::Europe__Berlin)
    );

    let bad = RecapOptions {
        enabled: Some(false),
        time_zone: Some("Europe/Atlantis".into()),
        ..RecapOptions::default()
    };
    let refused = settings::run(&store, settings_input(bad, Some("fr-FR")), "en-GB").await;
    assert!(
        matches!(refused, Err(CommandError::BadOption(_))),
        "{refused:?}"
    );
    assert_eq!(store.recap_schedule(GUILD).await.unwrap(), saved);
    assert_eq!(store.guild_settings(GUILD).await.unwrap().language, None);
}

/// `/leaderboard period: this week` ranks by the points earned since Monday 00:00 in the
/// server's time zone; all time keeps PSN's totals first.
#[tokio::test]
async fn the_leaderboard_ranks_the_week_in_the_server_s_time_zone() {
    let (_db, store) = TestDb::migrated().await;
    seed_week(&store).await;
    // Alice has far more points in all; bob earns a gold early on Monday in Berlin (Sunday
    // 23:30 UTC), which only Berlin's week counts.
    for (id, counts) in [
        ("1", r#"{"bronze":100,"silver":10,"gold":5,"platinum":3}"#),
        ("2", r#"{"bronze":10,"silver":0,"gold":1,"platinum":0}"#),
    ] {
        sqlx::query("INSERT INTO account_state (account_id, online_id, earned_counts) VALUES ($1, 'x', $2::jsonb)")
            .bind(id)
            .bind(counts)
            .execute(store.pool())
            .await
            .unwrap();
    }
    detected(
        &store,
        &[(
            "2",
            "NPWR00002_00",
            20,
            "gold",
            Some("2026-12-06T23:30:00Z"),
            "2026-12-06T23:35:00Z",
        )],
    )
    .await;
    let now = at("2026-12-07T10:00:00Z");
    let order = |reply: &Reply| {
        let description = reply.embeds()[0].description.clone().unwrap_or_default();
        let alice = description.find("alice").expect("alice listed");
        let bob = description.find("bob").expect("bob listed");
        (alice < bob, description)
    };
    let all_time = leaderboard_at(&store, LeaderboardPeriod::AllTime, now).await;
    assert!(order(&all_time).0, "alice leads all time");
    // In UTC the gold was earned last week: nobody earned anything this week.
    let utc_week = leaderboard_at(&store, LeaderboardPeriod::ThisWeek, now).await;
    let (alice_first, description) = order(&utc_week);
    assert!(
        alice_first && description.contains("0 pts this week"),
        "{description}"
    );
    let berlin = RecapSchedule {
        time_zone: Tz::Europe__Berlin,
        ..RecapSchedule::default()
    };
    store.set_recap_schedule(GUILD, &berlin).await.unwrap();
    let berlin_week = leaderboard_at(&store, LeaderboardPeriod::ThisWeek, now).await;
    let (alice_first, description) = order(&berlin_week);
    assert!(
        !alice_first,
        "bob's Monday gold leads Berlin's week: {description}"
    );
    assert!(description.contains("90 pts this week"), "{description}");
    let footer = serde_json::to_string(&berlin_week.embeds()[0].footer).unwrap();
    assert!(
        footer.contains("since 2026-12-07 00:00, Europe/Berlin"),
        "{footer}"
    );
}

/// `GUILD`'s leaderboard for `period` at `now`, every tracked player still a member.
async fn leaderboard_at(store: &Store, period: LeaderboardPeriod, now: DateTime<Utc>) -> Reply {
    leaderboard::run(store, GUILD, period, now, |_| async { true })
        .await
        .unwrap()
}

/// `/settings cards` turns image cards off and on; with cards on, a channel where the bot may
/// not attach files is pointed out, and one where it may is not.
#[tokio::test]
async fn settings_switch_cards_and_point_out_a_channel_without_attach_files() {
    use trophybot::commands::track::ChannelFacts;
    let (_db, store) = TestDb::migrated().await;
    assert!(
        store.guild_settings(GUILD).await.unwrap().cards,
        "on by default"
    );
    let facts = |can_attach_files| ChannelFacts {
        channel_id: 200,
        in_guild: true,
        is_text: true,
        missing_permissions: Vec::new(),
        can_attach_files,
    };
    let run = |cards: Option<bool>, channel: Option<ChannelFacts>| {
        let store = store.clone();
        async move {
            let input = SettingsInput {
                cards,
                channel,
                ..settings_input(RecapOptions::default(), None)
            };
            let (reply, _) = settings::run(&store, input, "en-GB").await.unwrap();
            serde_json::to_string(&reply).unwrap()
        }
    };
    let off = run(Some(false), Some(facts(false))).await;
    assert!(off.contains("Off: text only"), "{off}");
    assert!(!off.contains("Attach Files"), "cards are off: {off}");
    assert!(!store.guild_settings(GUILD).await.unwrap().cards);
    let on = run(Some(true), Some(facts(false))).await;
    assert!(on.contains("I can't attach files in <#200>"), "{on}");
    assert!(store.guild_settings(GUILD).await.unwrap().cards);
    let fine = run(None, Some(facts(true))).await;
    assert!(!fine.contains("attach files"), "{fine}");
}
