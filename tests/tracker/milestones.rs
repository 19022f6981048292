//! Milestones against the PSN simulator and a real PostgreSQL: queued with the poll that crossed
//! them, once per guild that wants them, never at the baseline, and never twice, even when the
//! same crossing is found again.

use std::time::Duration;

use psn::Account;
use trophybot::store::TrophyLevelRead;

use crate::poll::{env, Env};

const GUILD: u64 = 1_000_000_000_000_000_001;
const CHANNEL: u64 = 100;
/// A guild that turned platinum and completion milestones off.
const GUILD_QUIET: u64 = 2;
const CHANNEL_QUIET: u64 = 200;

/// A fresh environment in which `GUILD` tracks sim_empty (no trophies yet) with every
/// milestone on.
async fn tracked_player() -> (Env, Account) {
    let env = env().await;
    let player = env.account("sim_empty");
    env.track_with_milestones(GUILD, CHANNEL, &player, true, true)
        .await;
    (env, player)
}

impl Env {
    /// Test-only SQL: `guild` tracks `account` in `channel`, with the milestone switches given.
    async fn track_with_milestones(
        &self,
        guild: u64,
        channel: u64,
        account: &Account,
        platinum: bool,
        done: bool,
    ) {
        sqlx::query(
            "INSERT INTO guild_settings (guild_id, announce_channel_id, milestone_platinum,
                                         milestone_completion)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(guild as i64)
        .bind(channel as i64)
        .bind(platinum)
        .bind(done)
        .execute(self.store.pool())
        .await
        .expect("settings");
        self.track(guild, account, None).await;
        self.store.sync_account_state().await.expect("sync");
    }

    /// (guild, event key, payload) of every milestone post queued, in order.
    async fn milestones(&self) -> Vec<(u64, String, String)> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT guild_id, event_key, payload::text FROM outbox
             WHERE event_key IS NOT NULL ORDER BY id",
        )
        .fetch_all(self.store.pool())
        .await
        .expect("outbox");
        rows.into_iter().map(|(g, k, p)| (g as u64, k, p)).collect()
    }

    /// The event keys of the milestone posts queued, in order.
    async fn milestone_keys(&self) -> Vec<String> {
        self.milestones().await.into_iter().map(|m| m.1).collect()
    }

    /// The level-tier milestone posts queued, in order.
    async fn tier_milestones(&self) -> Vec<(u64, String, String)> {
        self.milestones()
            .await
            .into_iter()
            .filter(|m| m.1.contains(":tier:"))
            .collect()
    }

    /// The trophy level stored for `player`.
    async fn stored_level(&self, player: &Account) -> TrophyLevelRead {
        self.store
            .trophy_level(&player.account_id)
            .await
            .unwrap()
            .expect("stored")
    }

    async fn full_games(&self, count: usize, dlc: bool) -> Vec<(String, Vec<u32>)> {
        crate::support::hunters_platinum_games(&self.client, count, dlc).await
    }

    fn earn_all(&self, online_id: &str, games: &[(String, Vec<u32>)]) {
        self.sim.advance_clock(Duration::from_secs(60));
        for (game, trophies) in games {
            for trophy in trophies {
                self.sim
                    .earn_trophy(online_id, game, *trophy)
                    .expect("earn");
                self.sim.advance_clock(Duration::from_secs(10));
            }
        }
    }

    /// Trophy-summary requests the simulator answered.
    fn summary_requests(&self) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/trophySummary"))
            .count()
    }

    /// Trophy-summary requests the simulator answered for one poll of `player`.
    async fn summary_requests_of_poll(&self, player: &Account) -> usize {
        self.sim.reset_requests();
        self.poll(player).await;
        self.summary_requests()
    }
}

#[tokio::test]
async fn a_first_platinum_and_a_completed_game_are_queued_once_where_wanted() {
    let (env, player) = tracked_player().await;
    env.track_with_milestones(GUILD_QUIET, CHANNEL_QUIET, &player, false, false)
        .await;
    env.poll(&player).await;
    assert!(env.milestones().await.is_empty(), "nothing at the baseline");

    let games = env.full_games(1, true).await;
    let game = &games[0].0;
    env.earn_all("sim_empty", &games);
    env.poll(&player).await;

    let account = &player.account_id;
    let queued = env.milestones().await;
    let keys: Vec<(u64, &str)> = queued.iter().map(|(g, k, _)| (*g, k.as_str())).collect();
    let platinum_key = format!("milestone:{account}:platinum:1");
    let complete_key = format!("milestone:{account}:complete:{game}");
    assert_eq!(
        keys,
        vec![
            (GUILD, platinum_key.as_str()),
            (GUILD, complete_key.as_str())
        ],
        "the guild that turned them off gets neither"
    );
    assert!(queued[0].2.contains("1st platinum"), "{}", queued[0].2);
    assert!(queued[1].2.contains("DLC included"), "{}", queued[1].2);
    let (nonces,): (Vec<String>,) = sqlx::query_as(
        "SELECT array_agg(nonce ORDER BY id) FROM outbox WHERE event_key IS NOT NULL",
    )
    .fetch_one(env.store.pool())
    .await
    .unwrap();
    assert!(nonces.iter().all(|n| n.len() <= 25 && n.starts_with('m')));

    // A quiet poll finds nothing; the same crossing found again (the stored state rewound, as
    // when a player hides a game and shows it again) queues nothing either.
    let report = env.poll(&player).await;
    assert_eq!(report.outbox_inserted, 0);
    for sql in [
        "DELETE FROM user_titles WHERE account_id = $1",
        "DELETE FROM account_title_state WHERE account_id = $1",
        "UPDATE account_state SET last_title_update = NULL, earned_counts =
             '{\"bronze\": 0, \"silver\": 0, \"gold\": 0, \"platinum\": 0}'::jsonb
         WHERE account_id = $1",
    ] {
        sqlx::query(sql)
            .bind(account)
            .execute(env.store.pool())
            .await
            .unwrap();
    }
    let report = env.poll(&player).await;
    assert!(report.new_trophies > 0, "found again: {report:?}");
    assert_eq!(report.outbox_inserted, 0, "{report:?}");
    assert_eq!(env.milestones().await.len(), 2, "still once each");
}

#[tokio::test]
async fn a_base_game_platinum_is_not_a_completion_until_the_dlc_is_done() {
    let (env, player) = tracked_player().await;
    env.poll(&player).await;
    let games = env.full_games(1, true).await;
    let (game, all) = &games[0];
    let hunter = env.account("sim_hunter");
    let definitions = env
        .client
        .user_trophies(&hunter, game)
        .await
        .expect("trophies");
    let (base, dlc): (Vec<u32>, Vec<u32>) = all.iter().partition(|id| {
        definitions
            .trophies
            .iter()
            .any(|t| t.definition.id == **id && t.definition.group_id == "default")
    });
    assert!(!dlc.is_empty(), "a game with DLC trophies");

    env.earn_all("sim_empty", &[(game.clone(), base)]);
    env.poll(&player).await;
    assert_eq!(
        env.milestone_keys().await,
        vec![format!("milestone:{}:platinum:1", player.account_id)]
    );

    env.earn_all("sim_empty", &[(game.clone(), dlc)]);
    env.poll(&player).await;
    assert_eq!(
        env.milestone_keys().await[1..],
        [format!("milestone:{}:complete:{game}", player.account_id)]
    );
}

#[tokio::test]
async fn a_new_level_tier_is_queued_once_and_psn_is_asked_only_near_it() {
    let (env, player) = tracked_player().await;
    assert_eq!(
        env.summary_requests_of_poll(&player).await,
        1,
        "the level is read at the baseline"
    );
    let read = env.stored_level(&player).await;
    assert_eq!((read.level, read.tier), (1, 1));

    // One game is far from level 100: PSN is not asked for the level.
    let games = env.full_games(12, false).await;
    env.earn_all("sim_empty", &games[..1]);
    assert_eq!(
        env.summary_requests_of_poll(&player).await,
        0,
        "far from the next tier"
    );

    // Enough games for level 100 (PSN's tier 2).
    let mut earned = 1;
    loop {
        let summary = env.client.trophy_summary(&player).await.unwrap();
        if summary.tier > Some(1) {
            break;
        }
        env.earn_all("sim_empty", &games[earned..=earned]);
        earned += 1;
    }
    assert_eq!(env.summary_requests_of_poll(&player).await, 1);
    let tier_key = format!("milestone:{}:tier:2", player.account_id);
    let tiers = env.tier_milestones().await;
    assert_eq!(tiers.len(), 1, "{tiers:?}");
    assert_eq!(tiers[0].1, tier_key);
    assert!(tiers[0].2.contains("Trophy level 1"), "{}", tiers[0].2);
    assert_eq!(env.stored_level(&player).await.tier, 2);

    // The next poll knows the new tier: nothing more.
    env.poll(&player).await;
    assert_eq!(env.tier_milestones().await.len(), 1);
}

#[tokio::test]
async fn the_rarest_trophy_ever_is_queued_once_the_history_is_complete_where_wanted() {
    let (env, player) = tracked_player().await;
    env.track_with_milestones(GUILD_QUIET, CHANNEL_QUIET, &player, true, true)
        .await;
    sqlx::query("UPDATE guild_settings SET milestone_rarest = false WHERE guild_id = $1")
        .bind(GUILD_QUIET as i64)
        .execute(env.store.pool())
        .await
        .unwrap();
    env.poll(&player).await;

    // Three trophies of one of sim_hunter's games, most earned first, each rarer than the last.
    let hunter = env.account("sim_hunter");
    let game = env.full_games(1, false).await.remove(0).0;
    let mut rated: Vec<(u32, f64)> = env
        .client
        .user_trophies(&hunter, &game)
        .await
        .unwrap()
        .trophies
        .iter()
        .filter_map(|t| Some((t.definition.id, t.earned_rate?)))
        .collect();
    rated.sort_by(|a, b| b.1.total_cmp(&a.1));
    rated.dedup_by(|a, b| a.1 == b.1);
    assert!(rated.len() >= 3, "distinct rates: {rated:?}");
    let (common, middle, rarest) = (rated[0], rated[rated.len() / 2], rated[rated.len() - 1]);
    let earn = |trophy: u32| {
        env.sim.advance_clock(Duration::from_secs(60));
        env.sim
            .earn_trophy("sim_empty", &game, trophy)
            .expect("earn");
    };
    let poll = || async {
        let report = env.poll(&player).await;
        // The rates the poll fetched, stored as the bot's title saver stores them.
        trophybot::tracker::titles::save_fetched(&env.store, &env.client).await;
        report
    };

    // The first trophy ever: nothing before it to beat.
    earn(common.0);
    poll().await;
    assert!(env.milestones().await.is_empty());

    // A rarer one while a title of the library has no stored state yet (the backfill is not
    // done): not knowable, so nothing.
    sqlx::query(
        "INSERT INTO user_titles (account_id, np_communication_id, name, platform, last_updated,
                                  title)
         SELECT account_id, 'NPWR99999_00', name, platform, last_updated,
                jsonb_set(title, '{npCommunicationId}', '\"NPWR99999_00\"')
         FROM user_titles WHERE account_id = $1 LIMIT 1",
    )
    .bind(&player.account_id)
    .execute(env.store.pool())
    .await
    .expect("a title not backfilled yet");
    earn(middle.0);
    poll().await;
    assert!(
        env.milestones().await.is_empty(),
        "the history is incomplete"
    );

    // History complete: the rarest yet is announced, once, where it is wanted.
    sqlx::query("DELETE FROM user_titles WHERE np_communication_id = 'NPWR99999_00'")
        .execute(env.store.pool())
        .await
        .unwrap();
    earn(rarest.0);
    poll().await;
    let queued = env.milestones().await;
    let key = format!("milestone:{}:rarest:{game}:{}", player.account_id, rarest.0);
    let keys: Vec<(u64, &str)> = queued.iter().map(|(g, k, _)| (*g, k.as_str())).collect();
    assert_eq!(keys, vec![(GUILD, key.as_str())], "not where it is off");
    assert!(
        queued[0].2.contains("rarest trophy they have ever earned"),
        "{}",
        queued[0].2
    );
    assert_eq!(env.poll(&player).await.outbox_inserted, 0, "once");
}
