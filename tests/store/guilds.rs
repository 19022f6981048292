//! The guild side of the store (settings, tracked accounts, leaderboard, forgetting a guild)
//! against a real PostgreSQL, one database per test.

use chrono::{DateTime, TimeZone, Utc};
use trophybot::commands::settings::{chosen_filter, MIN_RARE_PERCENT};
use trophybot::model::TrackingStatus;
use trophybot::model::{AnnounceFilter, GuildSettings, MilestoneSettings, TrackedAccount};
use trophybot::store::{AddTracked, Store};

use crate::support::db::TestDb;

const GUILD: u64 = 100;
const OTHER_GUILD: u64 = 101;
/// Above i64::MAX: snowflakes keep their bits both ways.
const BIG_CHANNEL: u64 = u64::MAX - 5;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().expect("a timestamp")
}

fn tracked(
    guild_id: u64,
    account_id: &str,
    online_id: &str,
    channel: Option<u64>,
) -> TrackedAccount {
    TrackedAccount {
        guild_id,
        account_id: account_id.to_string(),
        online_id: online_id.to_string(),
        channel_id: channel,
        added_by: 42,
        added_at: at(1_700_000_000),
    }
}

async fn online_ids(store: &Store, guild: u64) -> Vec<String> {
    store
        .tracked_accounts(guild)
        .await
        .expect("list")
        .into_iter()
        .map(|v| v.account.online_id)
        .collect()
}

#[tokio::test]
async fn settings_default_then_round_trip() {
    let (_db, store) = TestDb::migrated().await;
    assert_eq!(
        store.guild_settings(GUILD).await.unwrap(),
        GuildSettings::defaults(GUILD)
    );
    let settings = GuildSettings {
        guild_id: GUILD,
        announce_channel_id: Some(BIG_CHANNEL),
        filter: AnnounceFilter::RarerThan(2.5),
        language: Some("fr-FR".to_string()),
        milestones: MilestoneSettings {
            platinum: false,
            level: true,
            completion: false,
            rarest: false,
        },
        cards: false,
    };
    store.set_guild_settings(&settings).await.unwrap();
    assert_eq!(store.guild_settings(GUILD).await.unwrap(), settings);
    let changed = GuildSettings {
        filter: AnnounceFilter::GoldAndUp,
        language: None,
        milestones: MilestoneSettings::default(),
        cards: true,
        ..settings
    };
    store.set_guild_settings(&changed).await.unwrap();
    assert_eq!(store.guild_settings(GUILD).await.unwrap(), changed);
}

#[tokio::test]
async fn the_smallest_accepted_rare_percent_is_stored() {
    let (_db, store) = TestDb::migrated().await;
    let filter = chosen_filter(None, Some(MIN_RARE_PERCENT))
        .unwrap()
        .expect("a filter");
    let settings = GuildSettings {
        filter,
        ..GuildSettings::defaults(GUILD)
    };
    store.set_guild_settings(&settings).await.unwrap();
    assert_eq!(store.guild_settings(GUILD).await.unwrap(), settings);
}

#[tokio::test]
async fn destinations_carry_each_guilds_language() {
    let (_db, store) = TestDb::migrated().await;
    for guild in [GUILD, OTHER_GUILD] {
        store
            .add_tracked_account(&tracked(guild, "111", "hunter", Some(7)), 25)
            .await
            .unwrap();
    }
    store
        .set_guild_settings(&GuildSettings {
            language: Some("fr-FR".to_string()),
            ..GuildSettings::defaults(GUILD)
        })
        .await
        .unwrap();
    let languages: Vec<(u64, Option<String>)> = store
        .destinations("111")
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.guild_id, d.language))
        .collect();
    assert_eq!(
        languages,
        vec![(GUILD, Some("fr-FR".to_string())), (OTHER_GUILD, None)]
    );
}

#[tokio::test]
async fn the_cap_counts_new_accounts_only() {
    let (_db, store) = TestDb::migrated().await;
    let cap = 2;
    for (id, name) in [("1", "alpha"), ("2", "beta")] {
        assert_eq!(
            store
                .add_tracked_account(&tracked(GUILD, id, name, None), cap)
                .await
                .unwrap(),
            AddTracked::Added
        );
    }
    assert_eq!(
        store
            .add_tracked_account(&tracked(GUILD, "3", "gamma", None), cap)
            .await
            .unwrap(),
        AddTracked::CapReached { tracked: 2 }
    );
    // Another guild has a cap of its own.
    assert_eq!(
        store
            .add_tracked_account(&tracked(OTHER_GUILD, "3", "gamma", None), cap)
            .await
            .unwrap(),
        AddTracked::Added
    );
    // Re-adding at the cap updates the channel (and a new online ID) instead.
    assert_eq!(
        store
            .add_tracked_account(
                &tracked(GUILD, "1", "alpha_renamed", Some(BIG_CHANNEL)),
                cap
            )
            .await
            .unwrap(),
        AddTracked::Updated
    );
    let accounts = store.tracked_accounts(GUILD).await.unwrap();
    assert_eq!(accounts.len(), 2);
    let alpha = &accounts[0];
    assert_eq!(alpha.account.online_id, "alpha_renamed");
    assert_eq!(alpha.account.channel_id, Some(BIG_CHANNEL));
    assert_eq!(alpha.account.added_at, at(1_700_000_000));
    assert_eq!(
        alpha.status,
        TrackingStatus::Pending,
        "no tracker state yet"
    );
    assert_eq!(alpha.presence_visible, None);
    assert_eq!(store.tracked_account_count().await.unwrap(), 3);
}

#[tokio::test]
async fn concurrent_adds_never_exceed_the_cap() {
    let (_db, store) = TestDb::migrated().await;
    let adds = (0..8).map(|i| {
        let store = store.clone();
        async move {
            store
                .add_tracked_account(&tracked(GUILD, &i.to_string(), &format!("p{i}"), None), 3)
                .await
                .unwrap()
        }
    });
    let outcomes = futures_join_all(adds).await;
    assert_eq!(
        outcomes.iter().filter(|o| **o == AddTracked::Added).count(),
        3
    );
    assert_eq!(store.tracked_accounts(GUILD).await.unwrap().len(), 3);
}

/// Runs the futures concurrently on the test's runtime.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("the task"));
    }
    out
}

#[tokio::test]
async fn remove_by_online_id_any_case_or_by_account_id() {
    let (_db, store) = TestDb::migrated().await;
    for (id, name) in [("111", "Hunter_X"), ("222", "casual")] {
        store
            .add_tracked_account(&tracked(GUILD, id, name, None), 25)
            .await
            .unwrap();
    }
    store
        .add_tracked_account(&tracked(OTHER_GUILD, "111", "Hunter_X", None), 25)
        .await
        .unwrap();
    let removed = store
        .remove_tracked_account(GUILD, " hunter_x ")
        .await
        .unwrap()
        .expect("removed");
    assert_eq!(removed.account_id, "111");
    assert_eq!(online_ids(&store, GUILD).await, vec!["casual"]);
    assert_eq!(
        online_ids(&store, OTHER_GUILD).await,
        vec!["Hunter_X"],
        "only the caller's guild"
    );
    assert!(store
        .remove_tracked_account(GUILD, "222")
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store.remove_tracked_account(GUILD, "casual").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn the_list_shows_what_the_tracker_found() {
    let (_db, store) = TestDb::migrated().await;
    store
        .add_tracked_account(&tracked(GUILD, "111", "zed", None), 25)
        .await
        .unwrap();
    store
        .add_tracked_account(&tracked(GUILD, "222", "Amy", None), 25)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO account_state (account_id, online_id, status, presence_visible,
                                    last_checked_at, next_check_at)
         VALUES ('111', 'zed', 'private', false, $1, $2)",
    )
    .bind(at(1_700_000_100))
    .bind(at(1_700_000_700))
    .execute(store.pool())
    .await
    .unwrap();
    let list = store.tracked_accounts(GUILD).await.unwrap();
    assert_eq!(
        list[0].account.online_id, "Amy",
        "sorted by online ID, any case"
    );
    assert_eq!(list[0].status, TrackingStatus::Pending);
    assert_eq!(list[1].status, TrackingStatus::Private);
    assert_eq!(list[1].presence_visible, Some(false));
    assert_eq!(list[1].last_checked_at, Some(at(1_700_000_100)));
    assert_eq!(list[1].next_check_at, Some(at(1_700_000_700)));
}

#[tokio::test]
async fn forgetting_a_guild_removes_only_that_guild() {
    let (_db, store) = TestDb::migrated().await;
    for guild in [GUILD, OTHER_GUILD] {
        store
            .add_tracked_account(&tracked(guild, "111", "hunter", None), 25)
            .await
            .unwrap();
        store
            .set_guild_settings(&GuildSettings {
                guild_id: guild,
                announce_channel_id: Some(7),
                filter: AnnounceFilter::PlatinumOnly,
                language: None,
                milestones: Default::default(),
                cards: true,
            })
            .await
            .unwrap();
    }
    // One pending and one delivered announcement per guild.
    for (guild, nonce, sent) in [
        (GUILD as i64, "a-pending", false),
        (GUILD as i64, "a-sent", true),
        (OTHER_GUILD as i64, "b-pending", false),
    ] {
        sqlx::query(
            "INSERT INTO outbox (guild_id, channel_id, account_id, payload, nonce, sent_at)
             VALUES ($1, 7, '111', '{}'::jsonb, $2, CASE WHEN $3 THEN now() END)",
        )
        .bind(guild)
        .bind(nonce)
        .bind(sent)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let forgotten = store.forget_guild(GUILD).await.unwrap();
    assert_eq!(forgotten.tracked_accounts, 1);
    assert_eq!(forgotten.pending_announcements, 1);
    assert!(online_ids(&store, GUILD).await.is_empty());
    assert_eq!(
        store.guild_settings(GUILD).await.unwrap(),
        GuildSettings::defaults(GUILD)
    );
    assert_eq!(online_ids(&store, OTHER_GUILD).await, vec!["hunter"]);
    assert_eq!(
        store.guild_settings(OTHER_GUILD).await.unwrap().filter,
        AnnounceFilter::PlatinumOnly
    );
    let nonces: Vec<(String,)> = sqlx::query_as("SELECT nonce FROM outbox ORDER BY nonce")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(
        nonces.into_iter().map(|(n,)| n).collect::<Vec<_>>(),
        vec!["a-sent", "b-pending"]
    );
}

#[tokio::test]
async fn the_leaderboard_ranks_points_then_platinums_then_this_month_and_unpolled_last() {
    let (_db, store) = TestDb::migrated().await;
    let accounts = [
        ("1", "unpolled"),
        ("2", "small"),
        ("3", "big"),
        ("4", "plat"),
        ("5", "tie_month"),
        ("7", "tie_quiet"),
        ("6", "other_guild_only"),
    ];
    for (id, name) in &accounts[..6] {
        store
            .add_tracked_account(&tracked(GUILD, id, name, None), 25)
            .await
            .unwrap();
    }
    store
        .add_tracked_account(&tracked(OTHER_GUILD, "6", "other_guild_only", None), 25)
        .await
        .unwrap();
    // "plat", "tie_month" and "tie_quiet" have the same points (300: 1 platinum or 20 bronze):
    // platinums break the tie, then this month's trophies.
    for (id, counts) in [
        ("2", r#"{"bronze":1,"silver":0,"gold":0,"platinum":0}"#),
        ("3", r#"{"bronze":0,"silver":0,"gold":10,"platinum":0}"#),
        ("4", r#"{"bronze":0,"silver":0,"gold":0,"platinum":1}"#),
        ("5", r#"{"bronze":20,"silver":0,"gold":0,"platinum":0}"#),
        ("6", r#"{"bronze":500,"silver":0,"gold":0,"platinum":0}"#),
        ("7", r#"{"bronze":20,"silver":0,"gold":0,"platinum":0}"#),
    ] {
        sqlx::query(
            "INSERT INTO account_state (account_id, online_id, earned_counts)
             VALUES ($1, 'x', $2::jsonb)",
        )
        .bind(id)
        .bind(counts)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let month_start = at(1_764_547_200); // 2025-12-01
                                         // "tie_month" earned 2 this month and 1 before; "plat" none.
    for (trophy, earned) in [(1, 1_764_547_300), (2, 1_764_600_000), (3, 1_764_000_000)] {
        sqlx::query(
            "INSERT INTO detected_trophies (account_id, np_communication_id, trophy_id, kind,
                                            earned_at)
             VALUES ('5', 'NPWR00001_00', $1, 'bronze', $2)",
        )
        .bind(trophy)
        .bind(at(earned))
        .execute(store.pool())
        .await
        .unwrap();
    }
    // A verified link shows; an unverified one does not.
    sqlx::query(
        "INSERT INTO linked_users (discord_user_id, account_id, online_id, verified_at)
         VALUES (9001, '3', 'big', now()), (9002, '2', 'small', NULL)",
    )
    .execute(store.pool())
    .await
    .unwrap();

    let board = store.leaderboard(GUILD, month_start).await.unwrap();
    let order: Vec<&str> = board.iter().map(|r| r.online_id.as_str()).collect();
    assert_eq!(
        order,
        vec!["big", "plat", "tie_month", "tie_quiet", "small", "unpolled"]
    );
    assert_eq!(board[0].points(), Some(900));
    assert_eq!(board[0].verified_discord_user, Some(9001));
    assert_eq!(
        board[4].verified_discord_user, None,
        "unverified links stay hidden"
    );
    assert_eq!(board[2].period.total(), 2);
    assert_eq!(board[3].period.total(), 0);
    assert_eq!(board[5].earned, None);
    assert_eq!(board[5].points(), None);
}

/// Game autocomplete's read of a stored library: the most recently updated titles first, at
/// most `limit` of them, names and platforms as stored; and only where `user_library_in_guild`
/// would show the library (a guild tracking the player, while their list is public).
#[tokio::test]
async fn library_names_are_bounded_most_recent_first_and_private_where_the_library_is() {
    let (_db, store) = TestDb::migrated().await;
    let pool = store.pool();
    sqlx::query(
        "INSERT INTO tracked_accounts (guild_id, account_id, online_id, added_by)
         VALUES ($1, 'acc-1', 'player_1', 42)",
    )
    .bind(GUILD as i64)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO account_state (account_id, online_id) VALUES ('acc-1', 'player_1')")
        .execute(pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO user_titles (account_id, np_communication_id, name, platform, last_updated, title)
         SELECT 'acc-1', 'NPWR' || lpad(t::text, 5, '0') || '_00', 'Game ' || t, 'PS4,PS5',
                CASE WHEN t < 30 THEN now() - make_interval(days => t) END, '{}'::jsonb
         FROM generate_series(1, 40) t",
    )
    .execute(pool)
    .await
    .unwrap();

    let names = store
        .library_names_in_guild("acc-1", GUILD, 5)
        .await
        .unwrap();
    let ids: Vec<&str> = names
        .iter()
        .map(|n| n.np_communication_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "NPWR00001_00",
            "NPWR00002_00",
            "NPWR00003_00",
            "NPWR00004_00",
            "NPWR00005_00"
        ]
    );
    assert_eq!(names[0].name, "Game 1");
    assert_eq!(names[0].platforms, [psn::Platform::Ps4, psn::Platform::Ps5]);
    // Titles never updated come last.
    let all = store
        .library_names_in_guild("acc-1", GUILD, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 40);
    assert_eq!(all[29].np_communication_id, "NPWR00030_00");

    assert!(
        store
            .library_names_in_guild("acc-1", OTHER_GUILD, 5)
            .await
            .unwrap()
            .is_empty(),
        "a guild not tracking the player"
    );
    sqlx::query("UPDATE account_state SET status = 'private' WHERE account_id = 'acc-1'")
        .execute(pool)
        .await
        .unwrap();
    assert!(
        store
            .library_names_in_guild("acc-1", GUILD, 5)
            .await
            .unwrap()
            .is_empty(),
        "a player whose list turned private"
    );
}

#[tokio::test]
async fn every_listener_hears_of_accounts_tracked_or_untracked_but_not_of_renames() {
    let (_db, store) = TestDb::migrated().await;
    let mut listener = store.listen_tracked_accounts().await.unwrap();
    store
        .add_tracked_account(&tracked(GUILD, "111", "hunter", None), 25)
        .await
        .unwrap();
    assert_eq!(next_payload(&mut listener).await, "", "an account tracked");
    // A re-add (channel or online ID changed) and a poll's rename change no account: no
    // notification, so the next one heard is the marker sent after them.
    store
        .add_tracked_account(&tracked(GUILD, "111", "hunter_renamed", Some(7)), 25)
        .await
        .unwrap();
    sqlx::query("UPDATE tracked_accounts SET online_id = 'hunter_again' WHERE account_id = '111'")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("SELECT pg_notify('trophybot_tracked_accounts', 'marker')")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(next_payload(&mut listener).await, "marker");
    store
        .remove_tracked_account(GUILD, "111")
        .await
        .unwrap()
        .expect("it was tracked");
    assert_eq!(
        next_payload(&mut listener).await,
        "",
        "an account untracked"
    );
}

/// The next notification's payload (an explicit signal; the limit is a safety net).
async fn next_payload(listener: &mut sqlx::postgres::PgListener) -> String {
    tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
        .await
        .expect("a notification")
        .expect("the listener")
        .payload()
        .to_string()
}
