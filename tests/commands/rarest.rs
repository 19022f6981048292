//! `/rarest` across titles held to its cap, as the bot runs it: against the PSN simulator, each
//! call's requests counted in a meter of its own (as the shares charge them); the fill-in of
//! what a cap left; and a tracked player's whole library ranked from the database.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trophybot::commands::fill_in::{Ended, FillIns, PATIENCE_WINDOWS};
use trophybot::commands::rarest::{self, RarestInput, DEFAULT_COUNT};
use trophybot::commands::shares::{cost, ShareLimits, Shares};
use trophybot::commands::{self, RECENT_TITLES};
use trophybot::model::reply::Reply;

use crate::support;
use crate::support::db::TestDb;

const ASKER: u64 = 300;
const GUILD: u64 = 100;

struct World {
    sim: psn_sim::Sim,
    server: psn_sim::SimServer,
    services: commands::Services,
}

async fn world() -> World {
    let (sim, server) = support::start_sim().await;
    let services = commands::Services::new(support::sim_client(&server.base_url));
    World {
        sim,
        server,
        services,
    }
}

/// A simulator (and, with [`roomy_client`], a client) whose budgets let a fill-in of the
/// hunter's whole library (400 titles) finish within one window: on the default `300/15m` a
/// fill-in gets half the command lane's 90 requests per window (see `psn::budget`'s tests), so
/// it would take many windows of real time.
async fn roomy_world() -> World {
    let sim = psn_sim::Sim::new(psn_sim::SimConfig {
        rate_limit: 100_000,
        ..psn_sim::SimConfig::default()
    });
    let server = sim
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator serves");
    let services = commands::Services::new(roomy_client(&server.base_url));
    World {
        sim,
        server,
        services,
    }
}

fn roomy_client(base_url: &str) -> psn::Client {
    let mut config = support::sim_config(base_url);
    config.rate_limit.requests = 10_000;
    psn::Client::new(config).expect("a client for the simulator")
}

/// Shares as the bot's defaults make them for `command_budget` requests per window.
fn default_shares(command_budget: u32) -> Shares {
    Shares::new(ShareLimits::defaults(
        command_budget,
        Duration::from_secs(15 * 60),
    ))
}

fn fill_ins(shares: &Shares) -> FillIns {
    FillIns::new(shares.clone(), TaskTracker::new(), CancellationToken::new())
}

/// API requests the simulator answered (sign-in and control requests left out).
fn api_requests(sim: &psn_sim::Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| !r.path.starts_with("/api/authz") && !r.path.starts_with("/_sim"))
        .count()
}

/// `GUILD` tracks the hunter and the tracker took his baseline (his whole library stored); his
/// account ID.
async fn track_the_hunter(
    world: &World,
    store: &trophybot::store::Store,
    client: &psn::Client,
) -> String {
    let account_id = world.sim.account_id("sim_hunter").expect("the hunter");
    sqlx::query(
        "INSERT INTO tracked_accounts (guild_id, account_id, online_id, added_by)
         VALUES ($1, $2, 'sim_hunter', 1)",
    )
    .bind(GUILD as i64)
    .bind(&account_id)
    .execute(store.pool())
    .await
    .expect("track");
    store.sync_account_state().await.expect("sync");
    let baseline = trophybot::tracker::poll_once(store, &client.background(), &account_id, "t")
        .await
        .expect("the baseline");
    assert_eq!(baseline.result, trophybot::tracker::PollResult::Baseline);
    account_id
}

fn hunter() -> RarestInput {
    RarestInput {
        user: psn::OnlineId::parse("sim_hunter").expect("a valid online ID"),
        game: None,
        count: DEFAULT_COUNT,
    }
}

impl World {
    /// One capped `/rarest` across the hunter's titles: the reply, the requests it sent, and
    /// what it was estimated at before.
    async fn rarest(&self) -> (Reply, u64, u32) {
        let (progress, sent, estimate) = capped(&self.services).await;
        (progress.reply, sent, estimate)
    }
}

/// One capped `/rarest` across the hunter's titles with `services`: the answer and what it left,
/// the requests it sent, and what it was estimated at before.
async fn capped(services: &commands::Services) -> (rarest::Progress, u64, u32) {
    let estimate = rarest::estimate(services, &hunter(), cost::CAP).await;
    let meter = psn::Meter::new();
    let progress =
        rarest::run_progressive(&services.metered(meter.clone()), hunter(), Some(cost::CAP))
            .await
            .expect("the hunter's rarest trophies");
    (progress, meter.count(), estimate)
}

fn footer(reply: &Reply) -> String {
    let embed = &reply.embeds()[0];
    embed
        .footer
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default()
}

/// How many of the recent titles the footer says were covered (all of them when it says
/// "Across their … most recent titles").
fn covered(reply: &Reply) -> usize {
    let footer = footer(reply);
    if let Some(rest) = footer.strip_prefix("Covers ") {
        let covered = rest.split(' ').next().expect("a number after \"Covers\"");
        return covered.parse().expect("a count of covered titles");
    }
    assert_eq!(
        footer,
        format!("Across their {RECENT_TITLES} most recent titles")
    );
    RECENT_TITLES as usize
}

#[tokio::test]
async fn a_cold_rarest_across_a_big_library_stays_within_its_cap_and_says_what_it_covered() {
    let world = world().await;
    let (reply, sent, estimate) = world.rarest().await;
    assert_eq!(
        estimate,
        cost::CAP,
        "nothing cached: the cap is the worst case"
    );
    assert!(sent > 0 && sent <= u64::from(cost::CAP), "sent {sent}");
    let first = covered(&reply);
    assert!(
        footer(&reply).ends_with(&format!(
            "of their {RECENT_TITLES} most recent titles · ask again later to cover more"
        )),
        "{}",
        footer(&reply)
    );
    assert!(
        first > 0 && first < RECENT_TITLES as usize,
        "covered {first}"
    );
    assert!(
        reply.embeds()[0]
            .description
            .as_deref()
            .is_some_and(|d| d.contains("**1.**")),
        "a ranking from what was covered"
    );

    // Each call covers more, as the client's cache now holds what the last one fetched.
    let (again, sent, estimate) = world.rarest().await;
    assert!(estimate <= cost::CAP && sent <= u64::from(cost::CAP));
    assert!(covered(&again) > first, "{} after {first}", covered(&again));
}

#[tokio::test]
async fn a_fully_cached_rarest_across_titles_is_estimated_at_and_costs_nothing() {
    let world = world().await;
    let mut calls = 0;
    loop {
        let (reply, sent, estimate) = world.rarest().await;
        assert!(sent <= u64::from(cost::CAP) && estimate <= cost::CAP);
        calls += 1;
        if covered(&reply) == RECENT_TITLES as usize {
            break;
        }
        assert!(
            calls < 10,
            "still not covering every title after {calls} calls"
        );
    }
    let (reply, sent, estimate) = world.rarest().await;
    assert_eq!((estimate, sent), (0, 0), "warm: nothing to ask PSN");
    assert_eq!(covered(&reply), RECENT_TITLES as usize);
}

#[tokio::test]
async fn a_fill_in_covers_what_the_cap_left_and_the_next_call_costs_nothing() {
    let world = world().await;
    let services = commands::Services::new(roomy_client(&world.server.base_url));
    let shares = default_shares(1_000);
    let fill_ins = fill_ins(&shares);
    let (first, sent, _) = capped(&services).await;
    assert!(sent <= u64::from(cost::CAP), "sent {sent}");
    let first_covered = covered(&first.reply);
    assert!(first_covered < RECENT_TITLES as usize, "{first_covered}");
    let rest = first
        .rest
        .expect("a capped call leaves the rest for a fill-in");
    let (again, _, _) = capped(&services).await;
    let second = again.rest.expect("a second call leaves a rest too");

    let before = api_requests(&world.sim);
    let running = fill_ins
        .start(&services, rest, ASKER, Some(GUILD))
        .expect("no fill-in runs for the hunter yet");
    assert!(
        fill_ins
            .start(&services, second, ASKER, Some(GUILD))
            .is_none(),
        "one fill-in per player at a time"
    );
    let report = running.await.expect("the fill-in ran");
    assert_eq!(report.ended, Ended::Done, "{report:?}");
    assert!(report.earned_states > 0, "{report:?}");
    // Every request it sent was charged to the asker and the server (the sim counts them).
    let filled_in = api_requests(&world.sim) - before;
    assert!(filled_in > 0);
    assert_eq!(shares.user_used(ASKER) as usize, filled_in);
    assert_eq!(shares.server_used(GUILD) as usize, filled_in);

    // The next call covers every recent title and asks PSN nothing, not even definitions.
    let before = api_requests(&world.sim);
    let (next, sent, estimate) = capped(&services).await;
    assert_eq!(covered(&next.reply), RECENT_TITLES as usize);
    assert_eq!((sent, estimate), (0, 0));
    assert_eq!(
        api_requests(&world.sim),
        before,
        "the simulator saw nothing"
    );
    assert!(next.rest.is_none(), "nothing left to fill in");
    // And it ranks as the console's uncapped call does.
    let uncapped = rarest::run(&services, hunter(), None)
        .await
        .expect("rarest");
    assert_eq!(next.reply, uncapped);
}

#[tokio::test(start_paused = true)]
async fn a_fill_in_waits_for_the_shares_to_free_room_and_gives_up_after_its_patience() {
    let world = world().await;
    let services = commands::Services::new(roomy_client(&world.server.base_url));
    // The default shares on `300/15m`: a member 22, a server 45. The fill-in leaves the member
    // one command (15) and the server half, so it gets a few requests per window at most.
    let shares = default_shares(90);
    let limits = shares.limits();
    let (first, _, _) = capped(&services).await;
    let before = api_requests(&world.sim);
    let started = tokio::time::Instant::now();
    let report = fill_ins(&shares)
        .start(&services, first.rest.expect("a rest"), ASKER, Some(GUILD))
        .expect("started")
        .await
        .expect("ran");
    // Waiting for the window to free room, it went on past what one window spares.
    let sent = api_requests(&world.sim) - before;
    let one_window = (limits.user - cost::CAP) as usize;
    assert!(
        sent > one_window,
        "sent {sent}, what one window spares: {one_window}"
    );
    assert!(
        started.elapsed() > limits.window,
        "it waited for the window: {:?}",
        started.elapsed()
    );
    match report.ended {
        Ended::Done => {}
        Ended::ShareUsed => assert!(started.elapsed() >= limits.window * PATIENCE_WINDOWS),
        other => panic!("ended {other:?}"),
    }
    // What it left is the asker's own: a command of a whole cap still fits.
    assert!(shares.user_used(ASKER) <= limits.user - cost::CAP);
    assert!(shares.admit(ASKER, Some(GUILD), cost::CAP).is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_fill_in_with_no_room_ever_gives_up_after_its_patience_and_at_shutdown() {
    let world = world().await;
    let services = commands::Services::new(roomy_client(&world.server.base_url));
    // The smallest shares: a member 15 and a server 15, all of which a fill-in must leave.
    let shares = default_shares(0);
    let (first, _, _) = capped(&services).await;
    let before = api_requests(&world.sim);
    let started = tokio::time::Instant::now();
    let report = fill_ins(&shares)
        .start(&services, first.rest.expect("a rest"), ASKER, Some(GUILD))
        .expect("started")
        .await
        .expect("ran");
    assert_eq!(report.ended, Ended::ShareUsed, "{report:?}");
    assert_eq!(
        api_requests(&world.sim),
        before,
        "nothing to spare, nothing sent"
    );
    assert!(started.elapsed() <= shares.limits().window * PATIENCE_WINDOWS);

    // Cancelled (the bot shutting down): nothing more is sent.
    let (second, _, _) = capped(&services).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let before = api_requests(&world.sim);
    let report = FillIns::new(default_shares(1_000), TaskTracker::new(), cancel)
        .start(&services, second.rest.expect("a rest"), ASKER, None)
        .expect("started")
        .await
        .expect("ran");
    assert_eq!(report.ended, Ended::Cancelled);
    assert_eq!(api_requests(&world.sim), before);
}

#[tokio::test]
async fn a_tracked_players_whole_library_is_ranked_from_the_database() {
    let world = roomy_world().await;
    let (_db, store) = TestDb::migrated().await;
    let client = roomy_client(&world.server.base_url);
    let account_id = track_the_hunter(&world, &store, &client).await;
    let library = store
        .user_library(&account_id)
        .await
        .expect("library")
        .len();
    assert!(library > RECENT_TITLES as usize, "{library} titles");
    let tracked = commands::Services::new(client.clone())
        .with_library(store.clone())
        .in_guild(Some(GUILD));

    // Capped: as much of the whole library as fits, and the footer says how much of it.
    let (first, sent, _) = capped(&tracked).await;
    assert!(sent <= u64::from(cost::CAP));
    let text = footer(&first.reply);
    assert!(
        text.ends_with(&format!(
            "of their {library} titles · ask again later to cover more"
        )),
        "{text}"
    );
    let shares = default_shares(10_000);
    let report = fill_ins(&shares)
        .start(&tracked, first.rest.expect("a rest"), ASKER, Some(GUILD))
        .expect("started")
        .await
        .expect("ran");
    assert_eq!(report.ended, Ended::Done, "{report:?}");
    // What the saver does with what the client fetched: definitions and earned rates.
    trophybot::tracker::titles::save_fetched(&store, &client).await;

    // Warm: the whole library, and the simulator sees no request.
    let before = api_requests(&world.sim);
    let (warm, sent, estimate) = capped(&tracked).await;
    assert_eq!(estimate, 0, "estimated from the database too");
    assert_eq!(
        footer(&warm.reply),
        format!("Across all their {library} titles")
    );
    assert_eq!((sent, api_requests(&world.sim) - before), (0, 0));
    assert!(warm.rest.is_none());

    // After a restart (a new client, definitions loaded from the database as at start): the
    // earned ids and rates come from the database; only the online ID is looked up again.
    let restarted = roomy_client(&world.server.base_url);
    trophybot::tracker::titles::load_title_definitions(&store, &restarted).await;
    let services = commands::Services::new(restarted)
        .with_library(store.clone())
        .in_guild(Some(GUILD));
    let before = api_requests(&world.sim);
    let (cold, sent, _) = capped(&services).await;
    assert_eq!(sent, 1, "the online-ID lookup");
    assert_eq!(api_requests(&world.sim) - before, 1);
    assert_eq!(cold.reply, warm.reply, "the same answer, dates included");

    // Elsewhere (a server not tracking the player, a DM) it is their recent titles, from PSN.
    let (elsewhere, _, _) = capped(&tracked.in_guild(None)).await;
    assert!(footer(&elsewhere.reply).contains("most recent titles"));
}

/// The console's uncapped run covers every recent title in one call, and answers as the
/// capped one does once that has covered them all.
#[tokio::test]
async fn without_a_cap_every_recent_title_is_covered_at_once() {
    let world = world().await;
    let reply = rarest::run(&world.services, hunter(), None)
        .await
        .expect("the hunter's rarest trophies");
    assert_eq!(covered(&reply), RECENT_TITLES as usize);
    let (capped, sent, _) = world.rarest().await;
    assert_eq!(sent, 0);
    assert_eq!(capped, reply);
}

/// The requests of each capped `/rarest` across sim_hunter's titles in one process, until it
/// covers every recent title, for BENCHMARKS.md: `cargo test --test commands -- --ignored
/// --nocapture rarest_cost_table`.
#[tokio::test]
#[ignore = "prints a table for BENCHMARKS.md"]
async fn rarest_cost_table() {
    let world = world().await;
    for call in 1..=12 {
        let (reply, sent, estimate) = world.rarest().await;
        println!(
            "call {call}: estimated {estimate}, sent {sent}, covers {} of {RECENT_TITLES}",
            covered(&reply)
        );
        if covered(&reply) == RECENT_TITLES as usize && sent == 0 {
            break;
        }
    }
}

/// What a fill-in costs and what it buys, for BENCHMARKS.md: sim_hunter's 50 recent titles
/// (untracked) and their whole tracked library of 400, each a cold capped call, its fill-in,
/// then the next call: `cargo test --test commands -- --ignored --nocapture rarest_fill_in_table`.
#[tokio::test]
#[ignore = "prints a table for BENCHMARKS.md"]
async fn rarest_fill_in_table() {
    let world = roomy_world().await;
    let (_db, store) = TestDb::migrated().await;
    let client = roomy_client(&world.server.base_url);
    track_the_hunter(&world, &store, &client).await;
    let untracked = commands::Services::new(roomy_client(&world.server.base_url));
    let tracked = commands::Services::new(client.clone())
        .with_library(store.clone())
        .in_guild(Some(GUILD));
    for (name, services) in [("recent titles", untracked), ("tracked library", tracked)] {
        let (first, sent, estimate) = capped(&services).await;
        println!(
            "{name}: call 1 estimated {estimate}, sent {sent}: {}",
            footer(&first.reply)
        );
        let before = api_requests(&world.sim);
        let report = fill_ins(&default_shares(10_000))
            .start(&services, first.rest.expect("a rest"), ASKER, Some(GUILD))
            .expect("started")
            .await
            .expect("ran");
        println!(
            "{name}: fill-in sent {} ({} earned states, {} definitions), {:?}",
            api_requests(&world.sim) - before,
            report.earned_states,
            report.definitions,
            report.ended
        );
        trophybot::tracker::titles::save_fetched(&store, &client).await;
        let (next, sent, estimate) = capped(&services).await;
        println!(
            "{name}: call 2 estimated {estimate}, sent {sent}: {}",
            footer(&next.reply)
        );
    }
}
