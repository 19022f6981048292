//! The tracker against the PSN simulator and a real PostgreSQL (a database per test): baseline,
//! detection, filters, the outbox, leases, privacy, untracking, and the loop itself.

use std::time::Duration;

use psn::{Account, TrophyType, UserTitleTrophies};
use psn_sim::{Sim, SimServer};
use tokio_util::sync::CancellationToken;
use trophybot::store::{CommitOutcome, Store};
use trophybot::tracker::poll::{poll_account, prepare_poll, PollTerms, LEASE};
use trophybot::tracker::titles::{load_title_definitions, spawn_title_saver};
use trophybot::tracker::{poll_once, spawn_tracker, PollResult, Signals, TrackerSettings};

use crate::support;
use crate::support::db::TestDb;

const OWNER: &str = "test-owner";
const GUILD_ALL: u64 = 1_000_000_000_000_000_001;
const GUILD_PLATINUM: u64 = 2;
const GUILD_NO_CHANNEL: u64 = 3;
const CHANNEL_ALL: u64 = 100;
const CHANNEL_PLATINUM: u64 = 200;

/// A database, the simulator and a client for it (the milestone tests use it too).
pub(crate) struct Env {
    _db: TestDb,
    pub(crate) store: Store,
    pub(crate) sim: Sim,
    _server: SimServer,
    pub(crate) client: psn::Client,
}

pub(crate) async fn env() -> Env {
    let (db, store) = TestDb::migrated().await;
    let (sim, server) = support::start_sim().await;
    let client = support::sim_client(&server.base_url);
    Env {
        _db: db,
        store,
        sim,
        _server: server,
        client,
    }
}

impl Env {
    /// A game `player` never played (one of sim_hunter's), and a non-platinum trophy of it.
    async fn unplayed_game(&self, player: &Account) -> (String, u32) {
        let played: Vec<String> = self
            .client
            .all_titles(player)
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.np_communication_id)
            .collect();
        let hunter = self.account("sim_hunter");
        let game = self
            .client
            .recent_titles(&hunter, 50)
            .await
            .unwrap()
            .into_iter()
            .find(|t| !played.contains(&t.np_communication_id) && t.service.is_some())
            .expect("a game the player never played");
        let trophies = self
            .client
            .user_trophies(&hunter, &game.np_communication_id)
            .await
            .unwrap();
        let trophy = trophies
            .trophies
            .iter()
            .find(|t| t.definition.kind != TrophyType::Platinum)
            .unwrap()
            .definition
            .id;
        (game.np_communication_id, trophy)
    }

    pub(crate) fn account(&self, online_id: &str) -> Account {
        Account {
            account_id: self.sim.account_id(online_id).expect("a simulated user"),
            online_id: online_id.to_string(),
        }
    }

    /// Test-only SQL: a guild tracks an account (a null channel means the guild's default).
    pub(crate) async fn track(&self, guild_id: u64, account: &Account, channel_id: Option<u64>) {
        sqlx::query(
            "INSERT INTO tracked_accounts (guild_id, account_id, online_id, channel_id, added_by)
             VALUES ($1, $2, $3, $4, 1)",
        )
        .bind(guild_id as i64)
        .bind(&account.account_id)
        .bind(&account.online_id)
        .bind(channel_id.map(|c| c as i64))
        .execute(self.store.pool())
        .await
        .expect("track");
    }

    async fn untrack(&self, account: &Account) {
        sqlx::query("DELETE FROM tracked_accounts WHERE account_id = $1")
            .bind(&account.account_id)
            .execute(self.store.pool())
            .await
            .expect("untrack");
    }

    async fn settings(&self, guild_id: u64, channel_id: Option<u64>, filter: &str) {
        sqlx::query(
            "INSERT INTO guild_settings (guild_id, announce_channel_id, filter_kind)
             VALUES ($1, $2, $3)",
        )
        .bind(guild_id as i64)
        .bind(channel_id.map(|c| c as i64))
        .bind(filter)
        .execute(self.store.pool())
        .await
        .expect("settings");
    }

    /// Guild 1 takes everything in its own channel for the account; guild 2 only platinums in
    /// its default channel; guild 3 tracks the account but has no channel at all.
    async fn three_guilds_track(&self, account: &Account) {
        self.track(GUILD_ALL, account, Some(CHANNEL_ALL)).await;
        self.settings(GUILD_PLATINUM, Some(CHANNEL_PLATINUM), "platinum")
            .await;
        self.track(GUILD_PLATINUM, account, None).await;
        self.track(GUILD_NO_CHANNEL, account, None).await;
        self.store.sync_account_state().await.expect("sync");
    }

    /// (guild, channel, payload, nonce) of every trophy announcement in the outbox, in insertion
    /// order (milestone posts, which have an event key, are tests/tracker/milestones.rs's).
    async fn outbox(&self) -> Vec<(u64, u64, String, String)> {
        let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "SELECT guild_id, channel_id, payload::text, nonce FROM outbox
             WHERE event_key IS NULL ORDER BY id",
        )
        .fetch_all(self.store.pool())
        .await
        .expect("outbox");
        rows.into_iter()
            .map(|(g, c, p, n)| (g as u64, c as u64, p, n))
            .collect()
    }

    async fn state_of(&self, account: &Account) -> Option<(bool, String, Option<String>)> {
        sqlx::query_as(
            "SELECT baseline_done, status, lease_owner FROM account_state WHERE account_id = $1",
        )
        .bind(&account.account_id)
        .fetch_optional(self.store.pool())
        .await
        .expect("account_state")
    }

    async fn count(&self, table: &str, account: &Account) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!(
            "SELECT count(*) FROM {table} WHERE account_id = $1"
        ))
        .bind(&account.account_id)
        .fetch_one(self.store.pool())
        .await
        .expect("count");
        n
    }

    pub(crate) async fn poll(&self, account: &Account) -> trophybot::tracker::PollReport {
        poll_once(&self.store, &self.client, &account.account_id, OWNER)
            .await
            .expect("poll")
    }

    /// API requests the simulator answered (sign-in and control requests left out).
    fn api_requests(&self) -> Vec<psn_sim::RecordedRequest> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| !r.path.starts_with("/api/authz") && !r.path.starts_with("/_sim"))
            .collect()
    }

    /// A title of the player with unearned base-game trophies (not the platinum), and them.
    async fn unearned(&self, account: &Account, skip: usize) -> (UserTitleTrophies, Vec<u32>) {
        let titles = self.client.all_titles(account).await.expect("titles");
        let mut found = 0;
        for title in titles {
            let trophies = self
                .client
                .user_trophies(account, &title.np_communication_id)
                .await
                .expect("trophies");
            let open: Vec<u32> = trophies
                .trophies
                .iter()
                .filter(|t| !t.earned && t.definition.kind != TrophyType::Platinum)
                .map(|t| t.definition.id)
                .collect();
            if open.len() >= 3 {
                if found == skip {
                    return (trophies, open);
                }
                found += 1;
            }
        }
        panic!("no title with three unearned trophies");
    }
}

fn earn(sim: &Sim, online_id: &str, title: &str, trophy: u32) {
    sim.earn_trophy(online_id, title, trophy).expect("earn");
}

#[tokio::test]
async fn the_baseline_announces_nothing_and_a_quiet_poll_costs_one_request() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.three_guilds_track(&casual).await;

    env.sim.reset_requests();
    let report = env.poll(&casual).await;
    assert_eq!(report.result, PollResult::Baseline);
    assert_eq!(report.new_trophies, 0);
    assert!(
        env.outbox().await.is_empty(),
        "nothing earned before is announced"
    );
    let (baseline_done, status, lease) = env.state_of(&casual).await.expect("state row");
    assert!(baseline_done);
    assert_eq!(status, "ok");
    assert_eq!(lease, None, "the lease is released");
    // The whole library is indexed for /rarest and autocomplete, and the totals are known.
    let library = env.client.all_titles(&casual).await.expect("titles");
    assert_eq!(
        env.count("user_titles", &casual).await,
        library.len() as i64
    );
    let indexed = env.store.user_library(&casual.account_id).await.unwrap();
    assert_eq!(indexed, library, "the same titles, most recent first");
    let summary = env.client.trophy_summary(&casual).await.expect("summary");
    assert_eq!(
        env.store.earned_counts(&casual.account_id).await.unwrap(),
        Some(summary.earned)
    );

    env.sim.reset_requests();
    let report = env.poll(&casual).await;
    assert_eq!(report.result, PollResult::Polled);
    assert_eq!((report.new_trophies, report.changed_titles), (0, 0));
    let requests = env.api_requests();
    assert_eq!(requests.len(), 1, "one small title page: {requests:?}");
    assert!(requests[0].path.ends_with("/trophyTitles"));
    assert!(requests[0]
        .query
        .as_deref()
        .unwrap_or("")
        .contains("limit=20"));
    assert!(env.outbox().await.is_empty());
}

#[tokio::test]
async fn an_earned_trophy_is_announced_once_in_each_guild_whose_filter_passes() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.three_guilds_track(&casual).await;
    env.poll(&casual).await;
    let (title, open) = env.unearned(&casual, 0).await;
    let id = title.title.np_communication_id.clone();

    env.sim.advance_clock(Duration::from_secs(60));
    earn(&env.sim, "sim_casual", &id, open[0]);
    env.sim.reset_requests();
    let report = env.poll(&casual).await;
    assert_eq!(report.result, PollResult::Polled);
    assert_eq!((report.new_trophies, report.changed_titles), (1, 1));
    assert_eq!(report.outbox_inserted, 1);
    // The cheap path: one title page, then only the changed title's earned state.
    let requests = env.api_requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[1].path.contains(&id));

    let outbox = env.outbox().await;
    assert_eq!(
        outbox.len(),
        1,
        "only the guild taking all trophies: {outbox:?}"
    );
    let (guild, channel, payload, nonce) = &outbox[0];
    assert_eq!((*guild, *channel), (GUILD_ALL, CHANNEL_ALL));
    let name = &title
        .trophies
        .iter()
        .find(|t| t.definition.id == open[0])
        .expect("the trophy")
        .definition
        .name;
    assert!(payload.contains(name.as_str()), "{payload}");
    assert!(nonce.len() <= 25 && nonce.is_ascii());
    let detected = env
        .store
        .detected_trophies(&casual.account_id)
        .await
        .unwrap();
    assert_eq!(detected.len(), 1);
    assert_eq!(
        (
            detected[0].np_communication_id.as_str(),
            detected[0].trophy_id
        ),
        (id.as_str(), open[0])
    );
    // The title's earned ids are stored with their dates (`/rarest` ranks and dates from them).
    let states = env
        .store
        .title_states(&casual.account_id, std::slice::from_ref(&id))
        .await
        .unwrap();
    let state = &states[&id];
    assert!(state.earned.contains(&open[0]));
    let dated = state.earned_at.get(&open[0]).copied();
    assert!(
        dated.is_some() && dated == detected[0].earned_at,
        "{state:?}"
    );

    // Polling again finds nothing new and writes nothing.
    let report = env.poll(&casual).await;
    assert_eq!((report.new_trophies, report.outbox_inserted), (0, 0));
    assert_eq!(env.outbox().await.len(), 1);
}

#[tokio::test]
async fn a_platinum_reaches_the_platinum_only_guild_and_a_catch_up_stays_one_message() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.three_guilds_track(&casual).await;
    env.poll(&casual).await;
    // A title with a platinum: earn every base-game trophy left; PSN adds the platinum.
    let titles = env.client.all_titles(&casual).await.unwrap();
    let mut platinum_title = None;
    for title in &titles {
        let trophies = env
            .client
            .user_trophies(&casual, &title.np_communication_id)
            .await
            .unwrap();
        if trophies
            .trophies
            .iter()
            .any(|t| t.definition.kind == TrophyType::Platinum)
        {
            platinum_title = Some(trophies);
            break;
        }
    }
    let title = platinum_title.expect("a title with a platinum");
    let id = title.title.np_communication_id.clone();
    let remaining: Vec<u32> = title
        .trophies
        .iter()
        .filter(|t| {
            !t.earned
                && t.definition.group_id == "default"
                && t.definition.kind != TrophyType::Platinum
        })
        .map(|t| t.definition.id)
        .collect();
    assert!(remaining.len() >= 2, "a catch-up of several trophies");
    env.sim.advance_clock(Duration::from_secs(60));
    for trophy in &remaining {
        earn(&env.sim, "sim_casual", &id, *trophy);
        env.sim.advance_clock(Duration::from_secs(30));
    }

    let report = env.poll(&casual).await;
    assert_eq!(
        report.new_trophies as usize,
        remaining.len() + 1,
        "with the platinum"
    );
    let outbox = env.outbox().await;
    let mut guilds: Vec<(u64, u64)> = outbox.iter().map(|(g, c, _, _)| (*g, *c)).collect();
    guilds.sort();
    assert_eq!(
        guilds,
        vec![(GUILD_PLATINUM, CHANNEL_PLATINUM), (GUILD_ALL, CHANNEL_ALL)],
        "one message per guild, however many trophies"
    );
    let platinum = title
        .trophies
        .iter()
        .find(|t| t.definition.kind == TrophyType::Platinum)
        .unwrap();
    let platinum_only = outbox
        .iter()
        .find(|(g, ..)| *g == GUILD_PLATINUM)
        .expect("the platinum-only guild's message");
    assert!(platinum_only.2.contains(platinum.definition.name.as_str()));
    let detected = env
        .store
        .detected_trophies(&casual.account_id)
        .await
        .unwrap();
    assert!(detected
        .iter()
        .any(|d| d.kind == TrophyType::Platinum && d.trophy_id == platinum.definition.id));
    assert_ne!(outbox[0].3, outbox[1].3, "nonces differ per guild");
}

#[tokio::test]
async fn trophies_across_titles_and_a_new_game_are_batched_into_one_message() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    env.poll(&casual).await;
    let (first, first_open) = env.unearned(&casual, 0).await;
    let (second, second_open) = env.unearned(&casual, 1).await;
    // A game sim_casual never played: first seen after the baseline.
    let (new_game, new_game_trophy) = env.unplayed_game(&casual).await;

    env.sim.advance_clock(Duration::from_secs(60));
    for trophy in &first_open[..3] {
        earn(
            &env.sim,
            "sim_casual",
            &first.title.np_communication_id,
            *trophy,
        );
    }
    for trophy in &second_open[..2] {
        earn(
            &env.sim,
            "sim_casual",
            &second.title.np_communication_id,
            *trophy,
        );
    }
    earn(&env.sim, "sim_casual", &new_game, new_game_trophy);

    let report = env.poll(&casual).await;
    assert_eq!(report.new_trophies, 6);
    assert_eq!(report.changed_titles, 3);
    assert_eq!(env.outbox().await.len(), 1, "a catch-up is one message");
    assert_eq!(
        env.store
            .detected_trophies(&casual.account_id)
            .await
            .unwrap()
            .len(),
        6
    );
    // The earned ids are stored now: the next trophy, earned in the same second as the last
    // poll saw, is found by id.
    earn(
        &env.sim,
        "sim_casual",
        &second.title.np_communication_id,
        second_open[2],
    );
    let report = env.poll(&casual).await;
    assert_eq!((report.new_trophies, report.changed_titles), (1, 1));
    let detected = env
        .store
        .detected_trophies(&casual.account_id)
        .await
        .unwrap();
    assert_eq!(detected.len(), 7);
    assert!(detected.iter().any(|d| d.trophy_id == second_open[2]
        && d.np_communication_id == second.title.np_communication_id));
}

#[tokio::test]
async fn a_hidden_trophy_is_revealed_once_earned() {
    let env = env().await;
    let hunter = env.account("sim_hunter");
    env.track(GUILD_ALL, &hunter, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    env.poll(&hunter).await;
    let mut found = None;
    for title in env.client.recent_titles(&hunter, 60).await.unwrap() {
        let trophies = env
            .client
            .user_trophies(&hunter, &title.np_communication_id)
            .await
            .unwrap();
        if let Some(hidden) = trophies
            .trophies
            .iter()
            .find(|t| t.definition.hidden && !t.earned && t.definition.kind != TrophyType::Platinum)
        {
            found = Some((title.np_communication_id.clone(), hidden.definition.clone()));
            break;
        }
    }
    let (id, hidden) = found.expect("an unearned hidden trophy");
    env.sim.advance_clock(Duration::from_secs(60));
    earn(&env.sim, "sim_hunter", &id, hidden.id);
    let report = env.poll(&hunter).await;
    assert_eq!(report.new_trophies, 1);
    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 1);
    assert!(
        outbox[0].2.contains(hidden.name.as_str()),
        "{}",
        outbox[0].2
    );
}

#[tokio::test]
async fn two_pollers_on_one_database_never_duplicate_an_announcement() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    env.poll(&casual).await;
    let (title, open) = env.unearned(&casual, 0).await;
    env.sim.advance_clock(Duration::from_secs(60));
    earn(
        &env.sim,
        "sim_casual",
        &title.title.np_communication_id,
        open[0],
    );

    // Poller A claims and prepares, then stalls past its lease; B takes over and commits.
    let claimed = env
        .store
        .claim_account(&casual.account_id, "poller-a", LEASE)
        .await
        .unwrap()
        .expect("A claims");
    assert!(
        env.store
            .claim_account(&casual.account_id, "poller-b", LEASE)
            .await
            .unwrap()
            .is_none(),
        "B cannot claim while A holds the lease"
    );
    let prepared_a = prepare_poll(&env.store, &env.client, &claimed, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(prepared_a.report.new_trophies, 1);
    sqlx::query("UPDATE account_state SET lease_until = now() - interval '1 second'")
        .execute(env.store.pool())
        .await
        .unwrap();
    let b = poll_once(&env.store, &env.client, &casual.account_id, "poller-b")
        .await
        .unwrap();
    assert_eq!((b.new_trophies, b.outbox_inserted), (1, 1));
    // A's late commit is refused: the lease is B's (released since, so no one's).
    assert_eq!(
        env.store
            .commit_poll("poller-a", &prepared_a.commit)
            .await
            .unwrap(),
        CommitOutcome::LeaseLost
    );
    assert_eq!(env.outbox().await.len(), 1);

    // Both at once on the next trophy: one claims, the other skips or finds nothing.
    earn(
        &env.sim,
        "sim_casual",
        &title.title.np_communication_id,
        open[1],
    );
    env.sim.advance_clock(Duration::from_secs(60));
    let (a, b) = tokio::join!(
        poll_once(&env.store, &env.client, &casual.account_id, "poller-a"),
        poll_once(&env.store, &env.client, &casual.account_id, "poller-b"),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.new_trophies + b.new_trophies, 1, "{a:?} {b:?}");
    assert_eq!(env.outbox().await.len(), 2);
    // Even a commit of the same trophies again (same nonces) inserts nothing.
    let again = env
        .store
        .claim_account(&casual.account_id, "poller-a", LEASE)
        .await
        .unwrap()
        .unwrap();
    let mut replay = prepared_a.commit.clone();
    replay.account_id = again.account_id;
    assert_eq!(
        env.store.commit_poll("poller-a", &replay).await.unwrap(),
        CommitOutcome::Committed {
            outbox_inserted: 0,
            detected_inserted: 0
        }
    );
    assert_eq!(env.outbox().await.len(), 2);
}

#[tokio::test]
async fn a_stopping_tracker_gives_its_leases_back() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    let claim = |owner: &'static str| env.store.claim_account(&casual.account_id, owner, LEASE);
    assert!(claim("old-process").await.unwrap().is_some());
    assert!(claim("new-process").await.unwrap().is_none());
    assert_eq!(env.store.release_leases("new-process").await.unwrap(), 0);
    assert_eq!(env.store.release_leases("old-process").await.unwrap(), 1);
    assert!(claim("new-process").await.unwrap().is_some());
}

#[tokio::test]
async fn a_private_account_is_marked_private_and_keeps_being_polled() {
    let env = env().await;
    let private = env.account("sim_private");
    env.track(GUILD_ALL, &private, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    for _ in 0..2 {
        let report = env.poll(&private).await;
        assert_eq!(report.result, PollResult::Private);
        let (baseline_done, status, lease) = env.state_of(&private).await.unwrap();
        assert_eq!(
            (baseline_done, status.as_str(), lease),
            (false, "private", None)
        );
    }
}

#[tokio::test]
async fn a_failed_poll_is_counted_and_releases_the_lease() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    env.poll(&casual).await;
    // One more 503 than the client retries (its first attempt and three retries).
    env.sim.inject(psn_sim::Fault::ServerError { count: 4 });
    let failed = poll_once(&env.store, &env.client, &casual.account_id, OWNER).await;
    assert!(
        matches!(
            failed,
            Err(trophybot::tracker::TrackerError::Psn(
                psn::Error::Unavailable(_)
            ))
        ),
        "{failed:?}"
    );
    let (errors, last_error, lease): (i32, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT consecutive_errors, last_error, lease_owner FROM account_state
         WHERE account_id = $1",
    )
    .bind(&casual.account_id)
    .fetch_one(env.store.pool())
    .await
    .unwrap();
    assert_eq!(errors, 1);
    assert!(last_error.is_some_and(|e| e.contains("unavailable")));
    assert_eq!(lease, None, "another poller may try at once");
    // The faults are used up: the next poll succeeds and clears the count.
    assert_eq!(env.poll(&casual).await.result, PollResult::Polled);
    let (errors,): (i32,) =
        sqlx::query_as("SELECT consecutive_errors FROM account_state WHERE account_id = $1")
            .bind(&casual.account_id)
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    assert_eq!(errors, 0);
}

#[tokio::test]
async fn an_unknown_account_is_marked_gone() {
    let env = env().await;
    let gone = Account {
        account_id: "1234567890123456789".to_string(),
        online_id: "nobody_here".to_string(),
    };
    env.track(GUILD_ALL, &gone, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    let report = env.poll(&gone).await;
    assert_eq!(report.result, PollResult::Gone);
    assert_eq!(env.state_of(&gone).await.unwrap().1, "gone");
}

#[tokio::test]
async fn a_renamed_player_is_polled_by_account_and_shown_with_the_new_name() {
    let env = env().await;
    let renamed = env.account("sim_renamed");
    env.track(GUILD_ALL, &renamed, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    assert_eq!(env.poll(&renamed).await.result, PollResult::Baseline);
    let (online_id,): (String,) =
        sqlx::query_as("SELECT online_id FROM tracked_accounts WHERE account_id = $1")
            .bind(&renamed.account_id)
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    assert_eq!(online_id, "sim_newname");
}

#[tokio::test]
async fn an_account_nobody_tracks_loses_its_state() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.three_guilds_track(&casual).await;
    env.poll(&casual).await;
    let (title, open) = env.unearned(&casual, 0).await;
    env.sim.advance_clock(Duration::from_secs(60));
    earn(
        &env.sim,
        "sim_casual",
        &title.title.np_communication_id,
        open[0],
    );
    env.poll(&casual).await;
    assert!(env.count("account_title_state", &casual).await > 0);

    env.untrack(&casual).await;
    assert_eq!(env.store.sync_account_state().await.unwrap(), (0, 1));
    assert!(env.state_of(&casual).await.is_none());
    assert_eq!(env.count("account_title_state", &casual).await, 0);
    assert_eq!(env.count("user_titles", &casual).await, 0);
    assert!(env.store.tracker_accounts().await.unwrap().is_empty());
    assert_eq!(
        env.poll(&casual).await.result,
        PollResult::Skipped,
        "an untracked account is not polled"
    );
}

/// Re-checks `probe` until it holds (the database is not observable otherwise), up to a bound.
async fn wait_for<F, Fut>(what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !probe().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_loop_takes_a_newly_tracked_accounts_baseline_and_announces_its_trophies() {
    let env = env().await;
    let signals = Signals::default();
    let cancel = CancellationToken::new();
    let settings = TrackerSettings {
        max_staleness: Duration::from_secs(60),
        command_reserve: 0.3,
        // A generous budget: the loop polls again within milliseconds.
        rate_limit: psn::RateLimit {
            requests: 6000,
            per: Duration::from_secs(60),
        },
        owner: "loop-test".to_string(),
        failpoint: None,
        backfill_meter: psn::Meter::new(),
        processes: None,
    };
    // Tracked before the start: the first presence sweep asks about both.
    let hunter = env.account("sim_hunter");
    let private = env.account("sim_private");
    env.track(GUILD_ALL, &hunter, Some(CHANNEL_ALL)).await;
    env.track(GUILD_ALL, &private, Some(CHANNEL_ALL)).await;
    let handle = spawn_tracker(
        env.store.clone(),
        env.client.background(),
        settings,
        signals.clone(),
        cancel.clone(),
    );
    // The fast path is known per account: hunter's presence is visible, private's hidden.
    wait_for("presence visibility", || async {
        let visible: Vec<(String, Option<bool>)> =
            sqlx::query_as("SELECT account_id, presence_visible FROM account_state")
                .fetch_all(env.store.pool())
                .await
                .unwrap();
        visible.contains(&(hunter.account_id.clone(), Some(true)))
            && visible.contains(&(private.account_id.clone(), Some(false)))
    })
    .await;
    wait_for("the private account's status", || async {
        env.state_of(&private)
            .await
            .is_some_and(|(_, status, _)| status == "private")
    })
    .await;

    // Tracked while running: the signal brings it in well before the periodic re-read.
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    signals.accounts_changed.notify_one();
    wait_for("the baseline", || async {
        env.state_of(&casual).await.is_some_and(|(done, _, _)| done)
    })
    .await;
    assert!(env.outbox().await.is_empty(), "baselines announce nothing");

    let (title, open) = env.unearned(&casual, 0).await;
    let outbox_ready = signals.outbox_ready.notified();
    env.sim.advance_clock(Duration::from_secs(60));
    earn(
        &env.sim,
        "sim_casual",
        &title.title.np_communication_id,
        open[0],
    );
    tokio::time::timeout(Duration::from_secs(20), outbox_ready)
        .await
        .expect("the deliverer is woken");
    assert_eq!(env.outbox().await.len(), 1);

    // Untracking reaches the loop through the same signal.
    env.untrack(&casual).await;
    signals.accounts_changed.notify_one();
    wait_for("the state to go", || async {
        env.state_of(&casual).await.is_none()
    })
    .await;

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(20), handle)
        .await
        .expect("the loop stops when cancelled")
        .expect("the loop does not panic");
    let (held,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM account_state WHERE lease_owner IS NOT NULL")
            .fetch_one(env.store.pool())
            .await
            .unwrap();
    assert_eq!(held, 0, "no lease outlives the loop");
    assert_eq!(env.outbox().await.len(), 1, "nothing announced twice");
}

#[tokio::test]
async fn game_names_of_a_tracked_player_resolve_over_the_stored_library_without_psn() {
    let env = env().await;
    let hunter = env.account("sim_hunter");
    env.track(GUILD_ALL, &hunter, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.expect("sync");
    assert_eq!(env.poll(&hunter).await.result, PollResult::Baseline);
    let library = env.store.user_library(&hunter.account_id).await.unwrap();
    assert!(
        library.len() > 50,
        "a library longer than one page: {}",
        library.len()
    );
    // The oldest title: outside the 50 most recent that commands otherwise look at.
    let oldest = library.last().expect("titles").clone();

    let services = trophybot::commands::Services::new(support::sim_client(&env._server.base_url))
        .with_library(env.store.clone())
        .in_guild(Some(GUILD_ALL));
    services
        .client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .expect("user");
    env.sim.reset_requests();
    let hunter_id = psn::OnlineId::parse("sim_hunter").expect("valid");
    let choices = trophybot::commands::autocomplete_game(&services, &hunter_id, &oldest.name).await;
    assert!(
        choices
            .iter()
            .any(|c| c.value == oldest.np_communication_id),
        "{choices:?}"
    );
    assert!(choices.len() <= 25);
    let found = trophybot::commands::game::resolve_game(&services, &hunter, &oldest.name)
        .await
        .expect("found in the stored library");
    assert_eq!(found.np_communication_id, oldest.np_communication_id);
    assert!(
        env.api_requests().is_empty(),
        "no PSN request: {:?}",
        env.api_requests()
    );
}

#[tokio::test]
async fn each_guild_gets_names_in_its_language_with_the_same_nonces() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.track(GUILD_PLATINUM, &casual, Some(CHANNEL_PLATINUM))
        .await;
    sqlx::query("INSERT INTO guild_settings (guild_id, language) VALUES ($1, 'fr-FR')")
        .bind(GUILD_ALL as i64)
        .execute(env.store.pool())
        .await
        .expect("a French guild");
    env.store.sync_account_state().await.expect("sync");
    env.poll(&casual).await;
    let (title, open) = env.unearned(&casual, 0).await;
    let id = title.title.np_communication_id.clone();

    env.sim.advance_clock(Duration::from_secs(60));
    earn(&env.sim, "sim_casual", &id, open[0]);
    env.sim.reset_requests();
    let report = env.poll(&casual).await;
    assert_eq!((report.new_trophies, report.outbox_inserted), (1, 2));
    // The listing and the earned state, then the title's French definitions (trophies and
    // groups), asked once for the French guild.
    let requests = env.api_requests();
    assert_eq!(requests.len(), 4, "{requests:?}");
    assert_eq!(report.requests, 4);

    let english = &title
        .trophies
        .iter()
        .find(|t| t.definition.id == open[0])
        .expect("the trophy")
        .definition
        .name;
    env.sim.reset_requests();
    let french_title = env
        .client
        .in_language("fr-FR")
        .title(&id, None)
        .await
        .expect("French definitions");
    assert!(env.api_requests().is_empty(), "cached per language");
    let french = &french_title
        .trophies
        .iter()
        .find(|t| t.id == open[0])
        .expect("the trophy in French")
        .name;
    assert_ne!(french, english);

    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    for (guild, _, payload, nonce) in &outbox {
        let (wanted, unwanted) = if *guild == GUILD_ALL {
            (french, english)
        } else {
            (english, french)
        };
        assert!(payload.contains(wanted.as_str()), "{guild}: {payload}");
        assert!(!payload.contains(unwanted.as_str()), "{guild}: {payload}");
        if *guild == GUILD_ALL {
            assert!(payload.contains(&french_title.name), "{payload}");
        }
        // The language changes the words, never which announcement it is.
        let trophies = vec![format!("{id}:{}", open[0])];
        assert_eq!(
            nonce,
            &trophybot::tracker::poll::announcement_nonce(*guild, &casual.account_id, &trophies, 0)
        );
    }

    // The next trophy of the same title: its French definitions come from the cache.
    env.sim.advance_clock(Duration::from_secs(60));
    earn(&env.sim, "sim_casual", &id, open[1]);
    env.sim.reset_requests();
    let report = env.poll(&casual).await;
    assert_eq!((report.new_trophies, report.outbox_inserted), (1, 2));
    assert_eq!(env.api_requests().len(), 2, "{:?}", env.api_requests());
}

/// Issue 10: a title whose trophies answer 404 for one poll is skipped; the trophies earned in
/// it before another title's newer update must still be announced once it answers again.
async fn a_title_skipped_for_a_404_is_announced_next_poll(listed_before: bool) {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    assert_eq!(env.poll(&casual).await.result, PollResult::Baseline);
    let (other, other_open) = env.unearned(&casual, 0).await;
    let (skipped_id, skipped_trophy) = if listed_before {
        // Known from the baseline listing, its earned ids never fetched.
        let (title, open) = env.unearned(&casual, 1).await;
        (title.title.np_communication_id, open[0])
    } else {
        // A game sim_casual never played: first listed after the baseline.
        env.unplayed_game(&casual).await
    };

    // The skipped title's trophy first, then one in another title a minute later.
    env.sim.advance_clock(Duration::from_secs(60));
    earn(&env.sim, "sim_casual", &skipped_id, skipped_trophy);
    env.sim.advance_clock(Duration::from_secs(60));
    earn(
        &env.sim,
        "sim_casual",
        &other.title.np_communication_id,
        other_open[0],
    );
    env.sim.inject(psn_sim::Fault::TitleTrophiesNotFound {
        np_communication_id: skipped_id.clone(),
    });

    let report = env.poll(&casual).await;
    assert_eq!(report.result, PollResult::Polled);
    assert_eq!((report.new_trophies, report.changed_titles), (1, 1));
    assert_eq!(report.outbox_inserted, 1);
    let detected = env
        .store
        .detected_trophies(&casual.account_id)
        .await
        .unwrap();
    assert_eq!(detected.len(), 1);
    assert_eq!(
        (
            detected[0].np_communication_id.as_str(),
            detected[0].trophy_id
        ),
        (other.title.np_communication_id.as_str(), other_open[0])
    );

    env.sim.clear_faults();
    let report = env.poll(&casual).await;
    assert_eq!(
        (report.new_trophies, report.changed_titles),
        (1, 1),
        "the skipped title's trophy is announced once it answers"
    );
    assert_eq!(report.outbox_inserted, 1);
    let detected = env
        .store
        .detected_trophies(&casual.account_id)
        .await
        .unwrap();
    assert_eq!(detected.len(), 2);
    assert!(detected
        .iter()
        .any(|d| d.np_communication_id == skipped_id && d.trophy_id == skipped_trophy));

    // Nothing twice: a quiet poll finds nothing, and there is one message per poll.
    let report = env.poll(&casual).await;
    assert_eq!((report.new_trophies, report.changed_titles), (0, 0));
    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 2, "{outbox:?}");
    assert_eq!(
        env.store
            .detected_trophies(&casual.account_id)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_new_title_skipped_for_a_404_is_announced_next_poll() {
    a_title_skipped_for_a_404_is_announced_next_poll(false).await;
}

#[tokio::test]
async fn a_listed_title_skipped_for_a_404_is_announced_next_poll() {
    a_title_skipped_for_a_404_is_announced_next_poll(true).await;
}

#[tokio::test]
async fn a_long_poll_renews_its_lease_and_stops_once_another_process_took_it() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    env.poll(&casual).await;
    let lease_of = || async {
        let row: (Option<String>, Option<chrono::DateTime<chrono::Utc>>) =
            sqlx::query_as("SELECT lease_owner, lease_until FROM account_state")
                .fetch_one(env.store.pool())
                .await
                .unwrap();
        row
    };

    // Every PSN request now hangs, so the poll stays in flight (a slow PSN).
    env.sim.inject(psn_sim::Fault::Timeout { count: 1_000 });
    let lease = Duration::from_secs(2);
    let poll = {
        let (store, client, id) = (
            env.store.clone(),
            env.client.clone(),
            casual.account_id.clone(),
        );
        tokio::spawn(async move {
            let never = CancellationToken::new();
            poll_account(
                &store,
                &client,
                &id,
                "slow-poller",
                PollTerms {
                    lease,
                    ..PollTerms::default()
                },
                &never,
            )
            .await
        })
    };
    wait_for("the claim", || async {
        lease_of().await.0.as_deref() == Some("slow-poller")
    })
    .await;
    let first_until = lease_of().await.1.expect("a claimed lease has an end");
    wait_for("a renewal", || async {
        lease_of().await.1.is_some_and(|until| until > first_until)
    })
    .await;
    assert!(
        env.store
            .claim_account(&casual.account_id, "other-process", lease)
            .await
            .unwrap()
            .is_none(),
        "a renewed lease keeps the account to its poller"
    );

    // Another process takes the account over (as after a lease that ran out): the next
    // renewal notices, and the poll stops without waiting for PSN.
    sqlx::query("UPDATE account_state SET lease_owner = 'other-process'")
        .execute(env.store.pool())
        .await
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .expect("the poll stops at the next renewal, not when PSN answers")
        .expect("no panic")
        .expect("a lost lease is a result, not an error");
    assert_eq!(report.result, PollResult::LeaseLost);
    assert_eq!(
        lease_of().await.0.as_deref(),
        Some("other-process"),
        "the new holder's lease is left alone"
    );
}

#[tokio::test]
async fn definitions_a_poll_fetches_are_in_the_database_without_a_clean_stop() {
    let env = env().await;
    let casual = env.account("sim_casual");
    env.track(GUILD_ALL, &casual, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.unwrap();
    env.poll(&casual).await;
    let (title, open) = env.unearned(&casual, 0).await;
    let id = title.title.np_communication_id.clone();
    env.sim.advance_clock(Duration::from_secs(60));
    earn(&env.sim, "sim_casual", &id, open[0]);

    // A process of its own, its cache empty as after a start; the announcement needs the
    // title's definition, so the poll fetches it.
    let process = support::sim_client(&env._server.base_url);
    let saver = spawn_title_saver(env.store.clone(), process.clone(), CancellationToken::new());
    let report = poll_once(&env.store, &process, &casual.account_id, OWNER)
        .await
        .unwrap();
    assert_eq!(report.new_trophies, 1);
    wait_for("the definition in the database", || async {
        env.store
            .load_title_definitions(process.language())
            .await
            .unwrap()
            .iter()
            .any(|t| t.np_communication_id == id)
    })
    .await;
    // The process dies: no shutdown path runs. The next one starts with the definition.
    saver.abort();
    drop(process);
    let next = support::sim_client(&env._server.base_url);
    load_title_definitions(&env.store, &next).await;
    assert!(next
        .cached_titles()
        .iter()
        .any(|(_, t)| t.np_communication_id == id));
}

#[tokio::test]
async fn a_stored_library_is_listed_only_in_a_tracking_guild_and_not_once_the_player_is_private() {
    let env = env().await;
    let hunter = env.account("sim_hunter");
    env.track(GUILD_ALL, &hunter, Some(CHANNEL_ALL)).await;
    env.store.sync_account_state().await.expect("sync");
    assert_eq!(env.poll(&hunter).await.result, PollResult::Baseline);
    // The oldest title: only the stored library has it (PSN's recent titles do not).
    let oldest = env
        .store
        .user_library(&hunter.account_id)
        .await
        .unwrap()
        .last()
        .expect("titles")
        .clone();
    let hunter_id = psn::OnlineId::parse("sim_hunter").expect("valid");
    let library = trophybot::commands::Services::new(support::sim_client(&env._server.base_url))
        .with_library(env.store.clone());
    let offers_oldest = |guild: Option<u64>| {
        let services = library.in_guild(guild);
        let (hunter_id, oldest) = (hunter_id.clone(), oldest.clone());
        async move {
            trophybot::commands::autocomplete_game(&services, &hunter_id, &oldest.name)
                .await
                .iter()
                .any(|c| c.value == oldest.np_communication_id)
        }
    };
    assert!(
        offers_oldest(Some(GUILD_ALL)).await,
        "the tracking guild sees it"
    );
    assert!(
        !offers_oldest(Some(GUILD_PLATINUM)).await,
        "a guild not tracking the player gets PSN's recent titles, not the stored library"
    );
    assert!(!offers_oldest(None).await, "nor does a DM");
    // The player turns private; the tracker's next check sees it.
    env.sim.set_private("sim_hunter", true).expect("known user");
    env.sim.advance_clock(Duration::from_secs(60));
    assert_eq!(env.poll(&hunter).await.result, PollResult::Private);
    assert!(
        !offers_oldest(Some(GUILD_ALL)).await,
        "a private player's stored library is no longer listed, even where tracked"
    );
    // A client whose page cache (a minute) holds nothing from before.
    let fresh = trophybot::commands::Services::new(support::sim_client(&env._server.base_url))
        .with_library(env.store.clone())
        .in_guild(Some(GUILD_ALL));
    assert!(
        trophybot::commands::autocomplete_game(&fresh, &hunter_id, "")
            .await
            .is_empty(),
        "PSN answers nothing for a private player"
    );

    // Public again: the next check lists it again.
    env.sim
        .set_private("sim_hunter", false)
        .expect("known user");
    env.sim.advance_clock(Duration::from_secs(60));
    assert_eq!(env.poll(&hunter).await.result, PollResult::Polled);
    assert!(offers_oldest(Some(GUILD_ALL)).await);
}
