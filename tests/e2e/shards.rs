//! Three `trophybot run` processes on one database against the fakes: the bot's three shards
//! are leased one per process (each prefers its own with `SHARDS`), the fake Discord routes
//! each guild's events to its shard's connection, and the processes split the tracked players
//! and the PSN budget. Killing one process moves its shard and its players to the others
//! within the lease, and nothing is polled by two processes or posted twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use discord_fake::{FakeDiscord, FakeError, MessageRecord, ShardStatus};
use psn_sim::{RecordedRequest, SimClock, SimConfig};

use crate::pool::{accounts_asked, busiest_window};
use crate::support::bot::{default_guild, text_of, Harness, SecondBot, ADMIN, CHANNEL, GUILD};
use crate::tracking::{embeds_text, open_trophies, other_guild, wait_for_baseline};

const SHARDS: u32 = 3;
/// Short, so the test sees a lease run out; renewals come every third of it.
const LEASE: Duration = Duration::from_secs(9);
/// The credential's budget, the bot's `PSN_RATE_LIMIT` and the simulator's alike.
const LIMIT: usize = 1200;
const WINDOW: Duration = Duration::from_secs(60);
const PLAYERS_PER_GUILD: usize = 4;

/// One guild per shard: Discord puts a guild on shard `(guild_id >> 22) % shards`.
struct Server {
    guild: u64,
    channel: u64,
    admin: u64,
}

const SERVERS: [Server; 3] = [
    Server {
        guild: GUILD,
        channel: CHANNEL,
        admin: ADMIN,
    },
    Server {
        guild: (1 << 22) | 100,
        channel: 211,
        admin: 411,
    },
    Server {
        guild: (2 << 22) | 100,
        channel: 212,
        admin: 412,
    },
];

/// Waits on the fake through several of its wait limits: the lease must run out first.
async fn wait_through_lease<T>(
    discord: &FakeDiscord,
    what: &str,
    mut probe: impl FnMut(&FakeDiscord) -> Option<T>,
) -> T {
    for _ in 0..4 {
        match discord.wait_for(what, &mut probe).await {
            Ok(found) => return found,
            Err(FakeError::Timeout(_)) => continue,
            Err(error) => panic!("{what}: {error}"),
        }
    }
    panic!("{what}: not within four wait limits")
}

/// The bot's own posts in a channel (interaction replies left out).
fn posts(discord: &FakeDiscord, channel: u64) -> Vec<MessageRecord> {
    discord
        .channel_messages(channel)
        .into_iter()
        .filter(|m| m.interaction.is_none())
        .collect()
}

/// What each server's channel is to announce: (player, trophy) pairs.
type Expected = BTreeMap<u64, Vec<(String, String)>>;

/// Times each expected trophy was announced in its server's channel.
fn announced(discord: &FakeDiscord, expected: &Expected) -> BTreeMap<String, usize> {
    let mut times = BTreeMap::new();
    for (channel, trophies) in expected {
        let texts: Vec<String> = posts(discord, *channel)
            .iter()
            // Names from PSN are shown escaped in text: read them without the escapes.
            .map(|m| embeds_text(m).replace('\\', "").to_lowercase())
            .collect();
        for (player, trophy) in trophies {
            let (player_lower, trophy_lower) = (player.to_lowercase(), trophy.to_lowercase());
            let count = texts
                .iter()
                .filter(|t| t.contains(&player_lower) && t.contains(&trophy_lower))
                .count();
            times.insert(format!("{channel}: {player}'s {trophy}"), count);
        }
    }
    times
}

/// Waits until every expected trophy was announced, then checks each was announced once.
async fn assert_each_announced_once(h: &Harness, expected: &Expected) {
    let all_there = |d: &FakeDiscord| {
        let times = announced(d, expected);
        times.values().all(|n| *n > 0).then_some(times)
    };
    let mut times = None;
    for _ in 0..4 {
        if let Ok(found) = h
            .discord
            .wait_for("every trophy announced", all_there)
            .await
        {
            times = Some(found);
            break;
        }
    }
    let times = times.unwrap_or_else(|| {
        let missing: Vec<String> = announced(&h.discord, expected)
            .into_iter()
            .filter(|(_, n)| *n == 0)
            .map(|(what, _)| what)
            .collect();
        panic!("not announced within four wait limits: {missing:?}")
    });
    let twice: Vec<_> = times.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "announced more than once: {twice:?}");
}

/// Waits until the process serving `ops_url` may send to PSN: a process joining others holds
/// its budget until every other one divides by the new count.
async fn wait_until_sending(ops_url: String) {
    let sending = async {
        loop {
            let metrics = match reqwest::get(format!("{ops_url}/metrics")).await {
                Ok(answer) => answer.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let remaining = metrics
                .lines()
                .find_map(|l| l.strip_prefix("trophybot_psn_budget_remaining "))
                .and_then(|n| n.parse::<u64>().ok());
            if remaining.is_some_and(|n| n > 0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // A few lease renewals; the limit is a safety net for a loaded machine.
    tokio::time::timeout(LEASE * 6, sending)
        .await
        .expect("the process sends to PSN within a few renewals");
}

/// Each shard's record, when every shard is connected.
fn all_connected(discord: &FakeDiscord) -> Option<Vec<ShardStatus>> {
    let shards = discord.shards();
    let connected = shards.len() == SHARDS as usize && shards.iter().all(|s| s.connected);
    connected.then_some(shards)
}

/// Every process's access token asked about each account, in the order asked (tracker
/// requests only: those after `since`).
fn tokens_per_account(
    requests: &[RecordedRequest],
    since: chrono::DateTime<chrono::Utc>,
) -> BTreeMap<String, Vec<u64>> {
    let mut tokens: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for request in requests.iter().filter(|r| r.at > since && r.status == 200) {
        let Some(token) = request.access_token else {
            continue;
        };
        for account in accounts_asked(request) {
            tokens.entry(account).or_default().push(token);
        }
    }
    tokens
}

/// Whether an account went back to a process it had left: two processes taking turns.
fn taken_in_turns(tokens: &[u64]) -> bool {
    let mut left: BTreeSet<u64> = BTreeSet::new();
    for pair in tokens.windows(2) {
        if pair[0] != pair[1] {
            if left.contains(&pair[1]) {
                return true;
            }
            left.insert(pair[0]);
        }
    }
    false
}

#[tokio::test]
async fn three_processes_split_shards_players_and_budget_and_a_killed_ones_move_to_the_others() {
    let players: Vec<String> = (0..SERVERS.len() * PLAYERS_PER_GUILD)
        .map(psn_sim::crowd_online_id)
        .collect();
    let lease = format!("{}s", LEASE.as_secs());
    let mut builder = Harness::builder()
        .only_guilds(vec![default_guild()])
        .env("SHARD_COUNT", &SHARDS.to_string())
        .env("SHARDS", "0")
        .env("SHARD_LEASE", &lease)
        .env("PSN_RATE_LIMIT", &format!("{LIMIT}/1m"))
        .env("TRACKER_MAX_STALENESS", "1s")
        .sim_config(SimConfig {
            rate_limit: LIMIT as u32,
            rate_window: WINDOW,
            crowd: players.len(),
            // Request times in real time, so the log's sliding windows are PSN's.
            clock: SimClock::Tokio,
            ..SimConfig::default()
        });
    for (n, server) in SERVERS.iter().enumerate().skip(1) {
        let name = format!("Shard {n} server");
        builder = builder.guild(other_guild(
            server.guild,
            server.channel,
            server.admin,
            &name,
        ));
    }
    // bot-main holds shard 0 (and registers the commands); the others start at once, before
    // bot-main has run a whole lease and would take shards it does not prefer.
    let h = builder.start().await;
    let mut others: Vec<SecondBot> = ["1", "2"]
        .iter()
        .map(|shard| h.spawn_bot_named(&format!("bot-{shard}"), &[("SHARDS", shard)]))
        .collect();

    let shards = wait_through_lease(&h.discord, "every shard connected", all_connected).await;
    for shard in &shards {
        assert_eq!(
            (shard.total, shard.identifies, shard.overlaps),
            (SHARDS, 1, 0),
            "each shard connected exactly once: {shards:?}"
        );
    }
    let store = h.store().await;
    let holders: Vec<(u32, String)> = store
        .live_shard_leases()
        .await
        .expect("the leases")
        .into_iter()
        .map(|l| (l.shard, l.holder))
        .collect();
    assert_eq!(
        holders,
        vec![
            (0, "bot-main".to_string()),
            (1, "bot-1".to_string()),
            (2, "bot-2".to_string())
        ]
    );

    // The newcomers send to PSN once bot-main (and each other) divide the budget by three:
    // within a few renewals, not a whole window.
    for ops_url in [h.ops_url()]
        .into_iter()
        .chain(others.iter().map(SecondBot::ops_url))
    {
        wait_until_sending(ops_url).await;
    }

    // The trophies to earn, asked before tracking (the test's own client signs in anew).
    let mut open = BTreeMap::new();
    for player in &players {
        open.insert(player.clone(), open_trophies(&h, player).await);
    }

    // Each server tracks four players; each command is answered by its shard's process.
    for (server, group) in SERVERS.iter().zip(players.chunks(PLAYERS_PER_GUILD)) {
        for player in group {
            let (ephemeral, reply) = h
                .track_add_in(server.guild, server.channel, server.admin, player, None)
                .await;
            assert!(
                ephemeral && text_of(&reply).contains(player.as_str()),
                "{reply}"
            );
        }
    }
    let tracked_at = h.sim.now();
    for player in &players {
        wait_for_baseline(&h, player).await;
    }
    // Each round every player earns a trophy; the expected posts are those of every round so far.
    let earn = |round: usize| {
        let mut expected = Expected::new();
        for (server, group) in SERVERS.iter().zip(players.chunks(PLAYERS_PER_GUILD)) {
            for player in group {
                let (title, trophies) = &open[player];
                h.sim
                    .earn_trophy(player, title, trophies[round].0)
                    .expect("earned");
                let names = trophies[..=round]
                    .iter()
                    .map(|(_, name)| (player.clone(), name.clone()));
                expected.entry(server.channel).or_default().extend(names);
            }
        }
        expected
    };
    let expected = earn(0);
    assert_each_announced_once(&h, &expected).await;
    let before_kill = h.sim.requests();
    let killed_at = h.sim.now();

    // bot-2 dies without a word: its shard and its players wait for its leases to run out.
    others[1].kill();
    let shards = wait_through_lease(&h.discord, "shard 2 connected again", |d| {
        all_connected(d).filter(|shards| shards[2].identifies == 2)
    })
    .await;
    let moved_after = h.sim.now() - killed_at;
    eprintln!(
        "shard 2 moved {} ms after the kill",
        moved_after.num_milliseconds()
    );
    assert!(
        moved_after.to_std().expect("after the kill") < LEASE * 3,
        "the shard moved within the lease and a renewal or two: {moved_after}"
    );
    assert!(
        shards.iter().all(|s| s.overlaps == 0),
        "never two processes on one shard: {shards:?}"
    );
    assert_eq!(
        shards.iter().map(|s| s.identifies).collect::<Vec<_>>(),
        vec![1, 1, 2],
        "only the dead process's shard connected again"
    );
    let heir = store
        .live_shard_leases()
        .await
        .expect("the leases")
        .into_iter()
        .find(|l| l.shard == 2)
        .expect("shard 2 leased")
        .holder;
    assert!(["bot-main", "bot-1"].contains(&heir.as_str()), "{heir}");

    // Every player earns again: the dead process's players and server are served by the heirs.
    // The fake counts Discord's per-channel post limit (5 per 5 s) on its own clock: a new
    // window for the next four posts per channel.
    h.discord.clock().advance(Duration::from_secs(5));
    let expected = earn(1);
    assert_each_announced_once(&h, &expected).await;

    // Polls: each player asked about by one process at a time, never back and forth; the
    // dead process's players were asked about by another after the kill.
    let requests = h.sim.requests();
    let before = tokens_per_account(&before_kill, tracked_at);
    let after = tokens_per_account(&requests, killed_at);
    let dead_token = before
        .values()
        .flatten()
        .copied()
        .collect::<BTreeSet<u64>>()
        .into_iter()
        .find(|token| !after.values().flatten().any(|t| t == token))
        .expect("the killed process's access token asked before the kill only");
    let mut moved = 0;
    for (account, tokens) in &tokens_per_account(&requests, tracked_at) {
        assert!(
            !taken_in_turns(tokens),
            "{account} polled by processes in turns: {tokens:?}"
        );
        if before.get(account).and_then(|t| t.last()) == Some(&dead_token) {
            let heirs = &after[account];
            assert!(heirs.iter().all(|t| *t != dead_token), "{account}");
            moved += 1;
        }
    }
    assert!(moved > 0, "the killed process polled players of its own");

    // The one credential never went over its budget, summed over the processes.
    assert!(requests.iter().all(|r| r.status != 429), "no 429 from PSN");
    let times: Vec<_> = requests
        .iter()
        .filter(|r| r.credential == Some(0))
        .map(|r| r.at)
        .collect();
    assert!(busiest_window(&times, WINDOW) <= LIMIT);
    store.close().await;
    drop(others);
}
