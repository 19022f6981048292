//! The history backfill against the simulator and PostgreSQL: the real tracker in virtual time
//! (production's settings: 300 requests per 15 minutes, 30 % for commands) fills every title's
//! earned state, each player's newest first, within its slice of the tracker's budget, resumes after a
//! restart and never makes the poll announce old trophies; a step respects the poll lease and
//! never stores a state newer than the tracker's listing.

use std::collections::HashSet;
use std::time::Duration;

use psn_sim::{Sim, SimClock, SimConfig};
use tokio_util::sync::CancellationToken;
use trophybot::model::tracking::TrackedAccount;
use trophybot::store::Store;
use trophybot::tracker::backfill::{Backfill, Step, BACKFILL_BURST, BACKFILL_SHARE};
use trophybot::tracker::engine::TrackerSettings;
use trophybot::tracker::{poll_once, spawn_tracker, PollResult, Signals};

use crate::support;
use crate::support::abuse::{earn_one, production_config};
use crate::support::db::TestDb;
use crate::support::held_clock::HeldClockDb;

const GUILD: u64 = 7;
const CHANNEL: u64 = 70;

async fn track(store: &Store, sim: &Sim, online_id: &str) {
    let account = TrackedAccount {
        guild_id: GUILD,
        account_id: sim.account_id(online_id).expect("a simulated player"),
        online_id: online_id.to_string(),
        channel_id: Some(CHANNEL),
        added_by: 1,
        added_at: sim.now(),
    };
    store
        .add_tracked_account(&account, 10)
        .await
        .expect("tracked");
}

/// The (account, title) of an earned-state request in the simulator's log.
fn earned_state_request(path: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [.., "users", account, "npCommunicationIds", title, "trophyGroups", "all", "trophies"] => {
            Some((account.to_string(), title.to_string()))
        }
        _ => None,
    }
}

/// Dated titles of the stored libraries, newest first (the backfill's order).
async fn library_newest_first(store: &Store) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT account_id, np_communication_id FROM user_titles WHERE last_updated IS NOT NULL
         ORDER BY last_updated DESC, account_id, np_communication_id",
    )
    .fetch_all(store.pool())
    .await
    .expect("user titles")
}

async fn count(store: &Store, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(store.pool())
        .await
        .expect("a count");
    n
}

#[tokio::test(start_paused = true)]
async fn the_tracker_backfills_every_title_newest_first_within_its_slice_across_a_restart() {
    let sim = Sim::new(SimConfig {
        crowd: 2,
        clock: SimClock::Tokio,
        ..SimConfig::default()
    });
    let server = sim
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator serves");
    let db = TestDb::create().await;
    let held = HeldClockDb::start(&db.url).await;
    let config = production_config(&server.base_url, &held.url, Duration::from_secs(30 * 60));
    let store = Store::connect(&config.database_url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let players = [psn_sim::crowd_online_id(0), psn_sim::crowd_online_id(1)];
    for player in &players {
        track(&store, &sim, player).await;
    }
    let client = psn::Client::new(config.psn.clone()).expect("a client");
    let meter = psn::Meter::new();
    let settings = TrackerSettings {
        max_staleness: config.tracker_max_staleness,
        command_reserve: config.psn.command_reserve,
        rate_limit: config.psn.rate_limit,
        owner: "backfill-test".to_string(),
        failpoint: None,
        backfill_meter: meter.clone(),
        processes: None,
    };
    let run = |settings: TrackerSettings| {
        let cancel = CancellationToken::new();
        let handle = spawn_tracker(
            store.clone(),
            client.background(),
            settings,
            Signals::default(),
            cancel.clone(),
        );
        (cancel, handle)
    };

    // A quarter of an hour, then a restart.
    let start = tokio::time::Instant::now();
    let (cancel, handle) = run(settings.clone());
    tokio::time::sleep(Duration::from_secs(15 * 60)).await;
    cancel.cancel();
    handle.await.expect("the tracker stops");
    let expected = library_newest_first(&store).await;
    assert!(
        expected.len() >= 100,
        "two crowd libraries: {}",
        expected.len()
    );
    let halfway = count(&store, "SELECT count(*) FROM account_title_state").await;
    assert!(
        halfway > 0 && (halfway as usize) < expected.len(),
        "part of the history after 15 minutes: {halfway} of {}",
        expected.len()
    );

    // The second process finds the rest from the database alone.
    let (cancel, handle) = run(settings);
    let deadline = start + Duration::from_secs(4 * 3600);
    while !store
        .backfill_titles(1)
        .await
        .expect("backfill work")
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "backfill unfinished"
        );
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let filled_at = tokio::time::Instant::now();
    let histories = store
        .histories(&[
            sim.account_id(&players[0]).unwrap(),
            sim.account_id(&players[1]).unwrap(),
        ])
        .await
        .expect("histories");
    for history in histories.values() {
        assert_eq!(history.with_state, history.titles, "complete: {history:?}");
    }
    let dated = count(
        &store,
        "SELECT count(*) FROM account_title_state WHERE earned_at IS NOT NULL",
    )
    .await;
    assert_eq!(
        dated as usize,
        expected.len(),
        "every state carries its dates"
    );

    // Every title once (one fetch cut short by the restart at most), newest first.
    let log = sim.requests();
    let fetched: Vec<(String, String)> = log
        .iter()
        .filter_map(|r| earned_state_request(&r.path))
        .collect();
    let mut seen = HashSet::new();
    let first_fetches: Vec<(String, String)> = fetched
        .iter()
        .filter(|f| seen.insert((*f).clone()))
        .cloned()
        .collect();
    // Each player's titles newest first (a library joins the work once its baseline is in).
    for player in &players {
        let account = sim.account_id(player).unwrap();
        let mine = |titles: &[(String, String)]| -> Vec<(String, String)> {
            titles.iter().filter(|t| t.0 == account).cloned().collect()
        };
        assert_eq!(mine(&first_fetches), mine(&expected), "newest first");
    }
    assert_eq!(first_fetches.len(), expected.len(), "every title");
    assert!(
        fetched.len() <= expected.len() + 1,
        "{} fetches",
        fetched.len()
    );
    assert_eq!(
        meter.count() as usize,
        fetched.len(),
        "the metric counts them"
    );

    // Within its slice: at most 20 % of the tracker's rate (one request at once, then the
    // bucket's pace), read from the requests PSN saw.
    let tracker_rate = TrackerSettings::schedule_config(
        &config.psn.rate_limit,
        config.psn.command_reserve,
        config.tracker_max_staleness,
    )
    .rate_per_sec;
    let times: Vec<_> = log
        .iter()
        .filter(|r| earned_state_request(&r.path).is_some())
        .map(|r| r.at)
        .collect();
    let elapsed = (filled_at - start).as_secs_f64();
    let allowed = BACKFILL_SHARE * tracker_rate * elapsed + 2.0 * BACKFILL_BURST;
    assert!(
        (times.len() as f64) <= allowed,
        "{} backfill requests in {elapsed} s, allowed {allowed}",
        times.len()
    );
    // In every stretch too: its share of the time, plus a burst at each process's start (a
    // full bucket).
    let spacing = 1.0 / (BACKFILL_SHARE * tracker_rate);
    for (i, first) in times.iter().enumerate() {
        for (j, last) in times.iter().enumerate().skip(i + 1) {
            let span = (*last - *first).num_milliseconds() as f64 / 1000.0;
            assert!(
                (j - i) as f64 <= span / spacing + 2.0 * BACKFILL_BURST,
                "{} backfill requests in {span} s",
                j - i + 1
            );
        }
    }

    // Nothing announced, and the poll's diff stays exact: one new trophy, one announcement.
    let outbox = "SELECT count(*) FROM outbox";
    assert_eq!(
        count(&store, outbox).await,
        0,
        "the backfill announces nothing"
    );
    assert!(earn_one(&sim, &players[0]));
    tokio::time::sleep(Duration::from_secs(40 * 60)).await;
    assert_eq!(count(&store, outbox).await, 1, "only the new trophy");
    assert_eq!(
        count(&store, "SELECT count(*) FROM detected_trophies").await,
        1
    );
    cancel.cancel();
    handle.await.expect("the tracker stops");
}

#[tokio::test]
async fn a_step_waits_for_the_poll_lease_and_never_stores_a_state_newer_than_the_listing() {
    let (_db, store) = TestDb::migrated().await;
    let (sim, _server) = support::start_sim().await;
    let client = support::sim_client(&_server.base_url);
    track(&store, &sim, "sim_casual").await;
    store.sync_account_state().await.expect("sync");
    let account = sim.account_id("sim_casual").unwrap();
    let baseline = poll_once(&store, &client, &account, "owner").await.unwrap();
    assert_eq!(baseline.result, PollResult::Baseline);
    let newest = store.backfill_titles(1).await.unwrap().remove(0);

    // Another process holds the account: nothing asked, nothing written.
    store
        .claim_account(&account, "other", Duration::from_secs(60))
        .await
        .unwrap()
        .expect("claimed");
    let mut backfill = Backfill::new(1000.0, psn::Meter::new());
    let never = CancellationToken::new();
    sim.reset_requests();
    let step = backfill
        .step(&store, &client, "owner", 0.0, &never)
        .await
        .unwrap();
    assert_eq!(step, Step::Nothing);
    assert_eq!(sim.request_count(), 0);
    store.release_account(&account, "other").await.unwrap();

    // The player earns in the newest title after the listing was stored: its state would hold
    // a trophy the poll has yet to announce, so it is not stored.
    sim.advance_clock(Duration::from_secs(60));
    let title = &newest.title.np_communication_id;
    let trophy = (1..)
        .find(|id| sim.earn_trophy("sim_casual", title, *id).is_ok())
        .unwrap();
    let mut backfill = Backfill::new(1000.0, psn::Meter::new());
    let step = backfill
        .step(&store, &client, "owner", 0.0, &never)
        .await
        .unwrap();
    assert_eq!(step, Step::Fetched { written: false });
    assert!(store
        .title_states(&account, std::slice::from_ref(title))
        .await
        .unwrap()
        .is_empty());
    // The next title is stored; the tried one is not asked again.
    let step = backfill
        .step(&store, &client, "owner", 100.0, &never)
        .await
        .unwrap();
    assert_eq!(step, Step::Fetched { written: true });
    let fetched: Vec<_> = sim
        .requests()
        .iter()
        .filter_map(|r| earned_state_request(&r.path))
        .collect();
    assert_eq!(fetched.len(), 2);
    assert_ne!(&fetched[1].1, title);

    // The poll announces exactly the trophy earned.
    let report = poll_once(&store, &client, &account, "owner").await.unwrap();
    assert_eq!(report.new_trophies, 1);
    let (detected,): (i32,) = sqlx::query_as("SELECT trophy_id FROM detected_trophies")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(detected as u32, trophy);
}
