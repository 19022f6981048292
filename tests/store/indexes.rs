//! Every hot query on the tables that grow with use reads by index, checked on realistic row
//! counts: the store's own functions run against a database whose sessions log each executed
//! plan (`auto_explain`, sent to the client as a notice), and no plan may scan a big table
//! whole. The hot queries (one per store function run below):
//! - outbox: the deliverer's claim, attempt, sent, retry and failure updates, a broken
//!   channel's failure and its one report, the pending count, the retention prune, and a
//!   removed guild's undelivered rows;
//! - detected_trophies: `/leaderboard`'s period counts, the weekly recap's figures and an
//!   account's history;
//! - user_titles and account_title_state: the poll's reads and its commit, `/rarest`'s
//!   library, game autocomplete's bounded read of names, and the periodic state sync dropping
//!   untracked accounts;
//! - title_trophy_rates: `/rarest`'s stored library with its rates, saving rates and
//!   filled-in earned ids, and the rarest-ever milestone's lowest earned rate;
//! - `/trophy`: a server's title names, a title's holders with their earned state, and one
//!   trophy's rate.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use trophybot::store::{PollCommit, Store};

use crate::support::db::TestDb;

/// The tables whose size grows with history or libraries, not with the number of servers.
const BIG_TABLES: [&str; 5] = [
    "outbox",
    "detected_trophies",
    "user_titles",
    "account_title_state",
    "title_trophy_rates",
];
const ACCOUNTS: usize = 200;
const GUILDS: i64 = 50;
const CHANNELS: i64 = 500;
const TITLES_PER_ACCOUNT: usize = 50;
const OUTBOX_ROWS: i64 = 20_000;
/// Titles with stored rates (every player's titles among them), and trophies each.
const RATED_TITLES: usize = 2_000;
const TROPHIES_PER_TITLE: usize = 10;

/// Collects the plans the server sends as notices.
#[derive(Clone, Default)]
struct Plans(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Plans {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn fill(store: &Store) {
    let pool = store.pool();
    let statements = [
        format!(
            "INSERT INTO tracked_accounts (guild_id, account_id, online_id, channel_id, added_by)
             SELECT a % {GUILDS}, 'acc-' || a, 'player_' || a, a % {CHANNELS}, 1
             FROM generate_series(1, {ACCOUNTS}) a"
        ),
        "INSERT INTO account_state (account_id, online_id, baseline_done)
         SELECT account_id, online_id, true FROM tracked_accounts"
            .to_string(),
        format!(
            "INSERT INTO user_titles
                 (account_id, np_communication_id, name, platform, progress, last_updated, title)
             SELECT 'acc-' || a, 'NPWR' || lpad(t::text, 5, '0') || '_00', 'Game ' || t, 'PS5',
                    t % 100, now() - make_interval(days => t),
                    jsonb_build_object(
                        'np_communication_id', 'NPWR' || lpad(t::text, 5, '0') || '_00',
                        'service', NULL, 'name', 'Game ' || t, 'detail', NULL,
                        'icon_url', NULL, 'platforms', '[]'::jsonb, 'has_groups', false,
                        'defined', '{{\"bronze\": 1, \"silver\": 0, \"gold\": 0, \"platinum\": 0}}'::jsonb,
                        'earned', '{{\"bronze\": 1, \"silver\": 0, \"gold\": 0, \"platinum\": 0}}'::jsonb,
                        'progress', t % 100, 'hidden', false, 'last_updated', NULL)
             FROM generate_series(1, {ACCOUNTS}) a, generate_series(1, {TITLES_PER_ACCOUNT}) t"
        ),
        "INSERT INTO account_title_state (account_id, np_communication_id, last_updated, earned)
         SELECT account_id, np_communication_id, last_updated, '[1, 2, 3]'::jsonb
         FROM user_titles"
            .to_string(),
        format!(
            "INSERT INTO title_trophy_rates (np_communication_id, trophy_id, kind, earned_rate)
             SELECT 'NPWR' || lpad(t::text, 5, '0') || '_00', n, 'bronze', n * 3.5
             FROM generate_series(1, {RATED_TITLES}) t, generate_series(1, {TROPHIES_PER_TITLE}) n"
        ),
        "INSERT INTO detected_trophies
             (account_id, np_communication_id, trophy_id, kind, earned_at, detected_at)
         SELECT account_id, np_communication_id, 1, 'bronze', last_updated, last_updated
         FROM user_titles"
            .to_string(),
        // Mostly history (sent over 60 days), some given up on, a few pending.
        format!(
            "INSERT INTO outbox (guild_id, channel_id, account_id, payload, nonce, created_at,
                                 sent_at, failed_reason, next_attempt_at)
             SELECT n % {GUILDS}, n % {CHANNELS}, 'acc-' || (n % {ACCOUNTS} + 1), '{{}}'::jsonb,
                    'n' || n, now() - make_interval(mins => ({OUTBOX_ROWS} - n)::int * 4),
                    CASE WHEN n % 100 < 97 AND n < {OUTBOX_ROWS} - 50
                         THEN now() - make_interval(mins => ({OUTBOX_ROWS} - n)::int * 4) END,
                    CASE WHEN n % 100 >= 97 AND n < {OUTBOX_ROWS} - 50 THEN 'gone' END,
                    now() - interval '1 minute'
             FROM generate_series(1, {OUTBOX_ROWS}) n"
        ),
        "ANALYZE".to_string(),
    ];
    for statement in statements {
        sqlx::query(&statement)
            .execute(pool)
            .await
            .expect(&statement);
    }
}

#[tokio::test]
async fn hot_queries_never_scan_a_big_table_whole() {
    let (db, store) = TestDb::migrated().await;
    fill(&store).await;
    for setting in [
        "session_preload_libraries = 'auto_explain'",
        "auto_explain.log_min_duration = 0",
        "auto_explain.log_level = 'notice'",
    ] {
        sqlx::query(&format!("ALTER DATABASE \"{}\" SET {setting}", db.name))
            .execute(store.pool())
            .await
            .expect(setting);
    }
    store.close().await;

    let plans = Plans::default();
    let writer = plans.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("sqlx::postgres::notice=info")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // This test's thread only (a current-thread runtime): other tests' queries stay out.
    let _guard = tracing::subscriber::set_default(subscriber);
    let store = Store::connect(&db.url).await.expect("connect");

    let lease = Duration::from_secs(10);
    let claimed = store.claim_outbox("deliverer", lease, 25).await.unwrap();
    assert!(!claimed.is_empty(), "pending rows are claimed");
    let row = &claimed[0];
    store
        .begin_outbox_attempt(row.id, "deliverer", lease, Duration::from_secs(60), false)
        .await
        .unwrap();
    store
        .mark_outbox_sent(row.id, "deliverer", 42)
        .await
        .unwrap();
    if let Some(next) = claimed.get(1) {
        store
            .release_outbox_row(next.id, "deliverer", lease, "429")
            .await
            .unwrap();
        store.fail_outbox_row(next.id, "rejected").await.unwrap();
    }
    store.release_outbox_claims("deliverer").await.unwrap();
    let last = claimed.last().unwrap();
    store
        .fail_channel_outbox(last.channel_id, "gone")
        .await
        .unwrap();
    store
        .claim_channel_report(last.guild_id, last.channel_id)
        .await
        .unwrap();
    store.outbox_pending_count().await.unwrap();
    let pruned = store
        .prune_outbox(Duration::from_secs(30 * 86_400), 1_000)
        .await
        .unwrap();
    assert!(pruned > 0, "there is history past 30 days to prune");
    store.forget_guild(3).await.unwrap();

    let month_start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    store.leaderboard(7, month_start).await.unwrap();
    // The weekly recap's round: the servers, the outbox's key, a week's figures (the week up
    // to now holds the trophies detected over the last days).
    let week = trophybot::model::recap::latest_recap(
        &trophybot::model::RecapSchedule::default(),
        Utc::now(),
    );
    store.recap_guilds().await.unwrap();
    store.has_event(7, &week.event_key).await.unwrap();
    let recap = store
        .weekly_recap(7, &week, chrono_tz::Tz::UTC, "en-US")
        .await
        .unwrap();
    assert!(
        !recap.is_empty() && recap.rarest.is_some(),
        "every query ran"
    );
    store.detected_trophies("acc-7").await.unwrap();
    let ids: Vec<String> = (1..=5).map(|t| format!("NPWR{t:05}_00")).collect();
    store.title_states("acc-7", &ids).await.unwrap();
    store.user_titles_of("acc-7", &ids).await.unwrap();
    assert_eq!(
        store.user_library("acc-7").await.unwrap().len(),
        TITLES_PER_ACCOUNT
    );
    assert_eq!(
        store
            .library_names_in_guild("acc-7", 7, 20)
            .await
            .unwrap()
            .len(),
        20
    );
    let rarest = store.rarest_library_in_guild("acc-7", 7).await.unwrap();
    assert_eq!(rarest.len(), TITLES_PER_ACCOUNT);
    assert_eq!(
        rarest[0].rates.len(),
        3,
        "the rates of the three earned trophies"
    );
    // The rarest-ever milestone: the lowest rate among everything the player earned.
    assert_eq!(store.rarest_earned_rate("acc-7").await.unwrap(), Some(3.5));
    // `/trophy`: the server's names, the title's holders, the trophy's rate.
    assert_eq!(store.guild_title_names(7, 25).await.unwrap().len(), 25);
    assert_eq!(
        store
            .title_holders_in_guild(7, &ids[0])
            .await
            .unwrap()
            .len(),
        ACCOUNTS / GUILDS as usize
    );
    assert_eq!(
        store.trophy_rate(&ids[0], 2).await.unwrap(),
        Some((Some(7.0), None))
    );
    store
        .save_trophy_rates(&[psn::TitleRates {
            np_communication_id: ids[0].clone(),
            trophies: vec![psn::TrophyRate {
                id: 1,
                kind: psn::TrophyType::Bronze,
                earned_rate: Some(2.0),
                rarity: None,
            }],
        }])
        .await
        .unwrap();
    store
        .fill_in_earned_ids(
            "acc-8",
            &[trophybot::store::TitleState {
                np_communication_id: ids[0].clone(),
                last_updated: Some(Utc::now()),
                earned: vec![1],
                earned_at: Default::default(),
            }],
        )
        .await
        .unwrap();
    store.destinations("acc-7").await.unwrap();
    let claimed = store
        .claim_account("acc-7", "tracker", lease)
        .await
        .unwrap();
    assert!(claimed.is_some());
    store
        .commit_poll(
            "tracker",
            &PollCommit {
                account_id: "acc-7".into(),
                online_id: "player_7".into(),
                ..PollCommit::default()
            },
        )
        .await
        .unwrap();
    sqlx::query("DELETE FROM tracked_accounts WHERE account_id = 'acc-9'")
        .execute(store.pool())
        .await
        .unwrap();
    // acc-9 and the accounts of the forgotten guild 3.
    assert_eq!(store.sync_account_state().await.unwrap(), (0, 5));
    store.close().await;

    let text = String::from_utf8(plans.0.lock().unwrap().clone()).unwrap();
    let explained = text.matches("Query Text:").count();
    assert!(explained >= 20, "each query's plan was logged:\n{text}");
    for table in BIG_TABLES {
        let scan = format!("Seq Scan on {table} ");
        assert!(!text.contains(&scan), "{scan}in:\n{text}");
    }
    // Game autocomplete reads names in order from the index alone, however long the library.
    assert!(
        text.contains("Index Only Scan using user_titles_recent"),
        "autocomplete's read in:\n{text}"
    );
}
