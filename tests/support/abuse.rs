//! The budget abuse scenario of issue 11, in virtual time, shared by `tests/commands/abuse.rs`
//! and `benches/abuse`: Discord users hammer `/rarest` across titles, each about PSN players of
//! their own, while the real tracker (`spawn_tracker`, its background client, a real
//! PostgreSQL) follows other players; everything PSN saw is then read back from the
//! simulator's request log.
//!
//! The path is production's: settings from `Config::from_vars` with the defaults (300 requests
//! per 15 minutes, 30 % for commands, the default shares), one PSN client whose background
//! clone the tracker uses, each command admitted against the shares, estimated and capped as
//! the bot's `/rarest` handler does (`bot/slash/rarest.rs`, `Data::admit`), and the real
//! deliverer posting the tracker's announcements to the fake Discord. Swapped: the addresses
//! (the simulator, a test database, the fake Discord), the clock (tokio's, paused; the
//! simulator's follows it, see `SimClock::Tokio`), and the interactions (the replies are kept
//! as the bot would send them, through `error_reply` for refusals).
//!
//! The database sits behind [`HeldClockDb`], so a query takes no virtual time and the run is
//! the same every time. Every request is told apart by whom it is about: each player in the
//! simulator's crowd has titles nobody else plays, so even a title's definitions name their
//! player, and through the player the user and server that asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use discord_fake::{FakeConfig, FakeDiscord, FakeGuild, RouteLimit};
use psn_sim::{RecordedRequest, Sim, SimClock, SimConfig};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use trophybot::bot::deliver::{spawn_deliverer, Deliverer};
use trophybot::commands::fill_in::FillIns;
use trophybot::commands::rarest::{self, RarestInput, DEFAULT_COUNT};
use trophybot::commands::shares::{cost, ShareLimits, Shares};
use trophybot::commands::Services;
use trophybot::config::{Config, Mode};
use trophybot::errors::{error_reply, CommandError};
use trophybot::model::tracking::TrackedAccount;
use trophybot::store::Store;
use trophybot::tracker::{spawn_tracker, Signals, TrackerSettings};

use super::db::TestDb;
use super::held_clock::HeldClockDb;

/// A user asks again this long after an answer: as fast as someone clicking through replies.
const THINK: Duration = Duration::from_secs(2);
/// And this long after a refusal: hammering, not waiting for the time the reply names.
const AFTER_REFUSAL: Duration = Duration::from_secs(5);
/// Server `n`'s announcement channel is `CHANNELS + n`.
const CHANNELS: u64 = 500;

#[derive(Debug, Clone)]
pub struct Scenario {
    /// Players the tracker follows (the simulator's first crowd players), spread over the servers.
    pub tracked: usize,
    /// Discord users hammering `/rarest` across titles, spread over the servers.
    pub users: usize,
    pub servers: usize,
    /// Players each user asks about in turn, nobody else's.
    pub players_per_user: usize,
    pub run: Duration,
    /// `TRACKER_MAX_STALENESS`.
    pub max_staleness: Duration,
    /// From `earn_from` until `earn_until`, every `earn_every` one tracked player (in turn)
    /// earns a trophy; [`Outcome::posted`] says how long each took to reach Discord.
    pub earn_every: Option<Duration>,
    pub earn_from: Duration,
    pub earn_until: Duration,
}

/// Who a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    Tracker,
    /// A command of this user (by index), in this server (by index).
    Command {
        user: usize,
        server: usize,
    },
}

/// One reply a user got, as the bot would send it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub user: usize,
    /// Turned away (by a share or the budget) rather than answered.
    pub refused: bool,
    /// The reply's JSON.
    pub text: String,
}

#[derive(Debug)]
pub struct Outcome {
    /// Every API request the simulator answered, by its time since the start.
    pub requests: Vec<(Duration, Lane)>,
    /// Requests the simulator did not answer with 200, or could not be told apart.
    pub rejected: Vec<RecordedRequest>,
    pub unattributed: Vec<RecordedRequest>,
    pub answers: Vec<Answer>,
    /// User tasks that panicked.
    pub panics: usize,
    /// Earn → announced in the server's channel, per earned trophy posted.
    pub posted: Vec<Duration>,
    /// Trophies earned but not posted by the end.
    pub unposted: usize,
    pub limit: psn::RateLimit,
    pub command_reserve: f64,
    pub shares: ShareLimits,
}

impl Outcome {
    /// The times of the requests whose lane `pick` accepts.
    pub fn times(&self, pick: impl Fn(Lane) -> bool) -> Vec<Duration> {
        self.requests
            .iter()
            .filter(|(_, lane)| pick(*lane))
            .map(|(at, _)| *at)
            .collect()
    }

    /// `⌊(1 − reserve) · limit⌋`: the tracker's slots per window.
    pub fn tracker_slots(&self) -> usize {
        ((1.0 - self.command_reserve) * f64::from(self.limit.requests) + 1e-9).floor() as usize
    }
}

/// The most of `times` in any window of length `window`, closed at both ends.
pub fn most_in_any_window(times: &[Duration], window: Duration) -> usize {
    times
        .iter()
        .map(|start| {
            let end = *start + window;
            times.iter().filter(|t| **t >= *start && **t <= end).count()
        })
        .max()
        .unwrap_or(0)
}

/// The fewest of `times` in any window of length `window` inside `[0, run]`: the count only
/// drops just after a request leaves, so those starts (and 0) are the ones to look at.
pub fn fewest_in_any_window(times: &[Duration], window: Duration, run: Duration) -> usize {
    std::iter::once(Duration::ZERO)
        .chain(times.iter().map(|t| *t + Duration::from_nanos(1)))
        .filter(|start| *start + window <= run)
        .map(|start| {
            let end = start + window;
            times.iter().filter(|t| **t >= start && **t <= end).count()
        })
        .min()
        .unwrap_or(0)
}

/// The `p`-th percentile (0–100) of `samples`, nearest rank.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `scenario` on tokio's clock, which the caller has paused; returns what PSN saw.
pub async fn run(scenario: &Scenario) -> Outcome {
    let players = scenario.tracked + scenario.users * scenario.players_per_user;
    let sim = Sim::new(SimConfig {
        crowd: players,
        clock: SimClock::Tokio,
        ..SimConfig::default()
    });
    let server = sim
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator serves");
    let db = TestDb::create().await;
    let held = HeldClockDb::start(&db.url).await;
    let config = production_config(&server.base_url, &held.url, scenario.max_staleness);
    let store = Store::connect(&config.database_url).await.expect("connect");
    store.migrate().await.expect("migrate");

    // Who each request can be about: the players' account IDs, online IDs and titles.
    let mut owners: HashMap<String, Lane> = HashMap::new();
    let online_id = psn_sim::crowd_online_id;
    let mut own = |n: usize, lane: Lane| {
        let id = online_id(n);
        owners.insert(sim.account_id(&id).expect("a crowd player"), lane);
        for title in sim.titles_of(&id).expect("a crowd player") {
            owners.insert(title, lane);
        }
        owners.insert(id, lane);
    };
    for n in 0..scenario.tracked {
        own(n, Lane::Tracker);
    }
    let asked = |user: usize| {
        (0..scenario.players_per_user)
            .map(move |k| scenario.tracked + user * scenario.players_per_user + k)
    };
    for user in 0..scenario.users {
        let lane = Lane::Command {
            user,
            server: user % scenario.servers,
        };
        for n in asked(user) {
            own(n, lane);
        }
    }
    for n in 0..scenario.tracked {
        let id = online_id(n);
        let account = TrackedAccount {
            guild_id: guild(n % scenario.servers),
            account_id: sim.account_id(&id).expect("a crowd player"),
            online_id: id,
            channel_id: Some(CHANNELS + (n % scenario.servers) as u64),
            added_by: 1,
            added_at: sim.now(),
        };
        store
            .add_tracked_account(&account, scenario.tracked)
            .await
            .expect("tracked");
    }

    let client = psn::Client::new(config.psn.clone()).expect("a client for the simulator");
    let services = Services::new(client.clone()).with_library(store.clone());
    let shares = Shares::new(config.command_shares);
    let signals = Signals::default();
    let cancel = CancellationToken::new();
    let fill_ins = FillIns::new(shares.clone(), TaskTracker::new(), cancel.clone());
    let start = Instant::now();
    let sim_start = sim.now();
    let end = start + scenario.run;
    let discord = FakeDiscord::start(FakeConfig {
        guilds: (0..scenario.servers)
            .map(|n| {
                FakeGuild::new(guild(n), format!("Server {n}"))
                    .channel(CHANNELS + n as u64, "trophies")
            })
            .collect(),
        // The fake counts Discord's per-channel limit on the wall clock, which a paused run
        // outpaces; posting is not what this scenario measures (as in tests/tracker/deliver.rs).
        message_create_limit: RouteLimit::new(1000, Duration::from_secs(5)),
        ..FakeConfig::default()
    })
    .await
    .expect("the fake Discord starts");
    let http = super::fake_http::unlimited_discord_http(&discord);
    let deliverer = spawn_deliverer(
        Deliverer::new(
            store.clone(),
            http,
            trophybot::ops::Metrics::new(),
            "abuse-deliverer",
        ),
        signals.clone(),
        cancel.clone(),
    );
    let tracker = spawn_tracker(
        store.clone(),
        client.background(),
        TrackerSettings {
            max_staleness: config.tracker_max_staleness,
            command_reserve: config.psn.command_reserve,
            rate_limit: config.psn.rate_limit,
            owner: "abuse-scenario".to_string(),
            failpoint: None,
            backfill_meter: psn::Meter::new(),
            processes: None,
        },
        signals.clone(),
        cancel.clone(),
    );

    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut users = JoinSet::new();
    for user in 0..scenario.users {
        let players: Vec<String> = asked(user).map(online_id).collect();
        let services = services.in_guild(Some(guild(user % scenario.servers)));
        let (shares, answers, fill_ins) = (shares.clone(), answers.clone(), fill_ins.clone());
        let server = guild(user % scenario.servers);
        users.spawn(async move {
            for player in players.iter().cycle() {
                if Instant::now() >= end {
                    break;
                }
                let answer = ask_rarest(&services, &shares, &fill_ins, user, server, player).await;
                let pause = if answer.refused { AFTER_REFUSAL } else { THINK };
                answers.lock().unwrap().push(answer);
                tokio::time::sleep(pause).await;
            }
        });
    }
    // Trophies earned and not yet announced, by account ID: when each was earned.
    let pending: Pending = Arc::default();
    let earner = scenario.earn_every.map(|every| {
        let (sim, tracked, pending) = (sim.clone(), scenario.tracked, pending.clone());
        let (first, last) = (start + scenario.earn_from, start + scenario.earn_until);
        tokio::spawn(async move {
            let mut earned = 0;
            let mut next = first;
            while next < last.min(end) {
                tokio::time::sleep_until(next).await;
                let player = online_id(earned % tracked);
                if earn_one(&sim, &player) {
                    let account = sim.account_id(&player).expect("a crowd player");
                    pending
                        .lock()
                        .unwrap()
                        .entry(account)
                        .or_default()
                        .push(Instant::now());
                    earned += 1;
                }
                next += every;
            }
            earned
        })
    });
    let watcher = {
        let pending = pending.clone();
        let online_ids: Vec<(String, String)> = (0..scenario.tracked)
            .map(|n| {
                (
                    online_id(n),
                    sim.account_id(&online_id(n)).expect("a player"),
                )
            })
            .collect();
        tokio::spawn(async move { watch_posts(&discord, &online_ids, &pending, end).await })
    };

    let mut panics = 0;
    while let Some(joined) = users.join_next().await {
        if joined.is_err_and(|err| err.is_panic()) {
            panics += 1;
        }
    }
    tokio::time::sleep_until(end).await;
    let posted = watcher.await.expect("the watcher ran");
    let earned = match earner {
        Some(earner) => earner.await.expect("the earner ran"),
        None => 0,
    };
    cancel.cancel();
    tracker.await.expect("the tracker stopped cleanly");
    deliverer.await.expect("the deliverer stopped cleanly");

    let mut outcome = Outcome {
        requests: Vec::new(),
        rejected: Vec::new(),
        unattributed: Vec::new(),
        answers: std::mem::take(&mut *answers.lock().unwrap()),
        panics,
        unposted: earned.saturating_sub(posted.len()),
        posted,
        limit: config.psn.rate_limit,
        command_reserve: config.psn.command_reserve,
        shares: config.command_shares,
    };
    let run_end = sim_start + chrono::Duration::from_std(scenario.run).expect("a short run");
    for request in sim.requests() {
        // Sign-in is not an API request: PSN's limit (and the budget) leave it out.
        if request.path.starts_with("/api/authz/") || request.at > run_end {
            continue;
        }
        if request.status != 200 {
            outcome.rejected.push(request.clone());
        }
        match lane_of(&request, &owners) {
            Some(lane) => outcome.requests.push((since(sim_start, request.at), lane)),
            None => outcome.unattributed.push(request),
        }
    }
    drop(store);
    drop(held);
    drop(db);
    outcome
}

fn guild(server: usize) -> u64 {
    1_000 + server as u64
}

/// The bot's settings as an operator would leave them, pointed at the simulator and the test
/// database.
pub fn production_config(sim_url: &str, database_url: &str, max_staleness: Duration) -> Config {
    let vars: HashMap<&str, String> = HashMap::from([
        ("DISCORD_TOKEN", "abuse-scenario-token".to_string()),
        ("DATABASE_URL", database_url.to_string()),
        ("PSN_NPSSO", psn_sim::SIM_NPSSO.to_string()),
        ("PSN_API_URL", sim_url.to_string()),
        ("PSN_AUTH_URL", sim_url.to_string()),
        ("PSN_PROFILE_URL", sim_url.to_string()),
        ("PSN_LEGACY_URL", sim_url.to_string()),
        (
            "TRACKER_MAX_STALENESS",
            format!("{}s", max_staleness.as_secs()),
        ),
    ]);
    Config::from_vars(Mode::Bot, |name| vars.get(name).cloned()).expect("valid settings")
}

/// One `/rarest` across titles about `player`, as the bot's handler runs it: estimated from the
/// caches, admitted against the user's and the server's shares, run held to the cap with a
/// client that charges what it sends to the admission, and what the cap left filled in on idle
/// capacity, charged to the same shares.
async fn ask_rarest(
    services: &Services,
    shares: &Shares,
    fill_ins: &FillIns,
    user: usize,
    server: u64,
    player: &str,
) -> Answer {
    let input = RarestInput {
        user: psn::OnlineId::parse(player).expect("a valid online ID"),
        game: None,
        count: DEFAULT_COUNT,
    };
    let estimate = rarest::estimate(services, &input, cost::CAP).await;
    let discord_user = 10_000 + user as u64;
    let replied = match shares.admit(discord_user, Some(server), estimate) {
        Ok(admission) => {
            let metered = services.metered(admission.meter());
            let progress = rarest::run_progressive(&metered, input, Some(cost::CAP)).await;
            drop(admission);
            progress.map(|progress| {
                if let Some(rest) = progress.rest {
                    fill_ins.start(&metered, rest, discord_user, Some(server));
                }
                progress.reply
            })
        }
        Err(refusal) => Err(CommandError::from(refusal)),
    };
    let (refused, reply) = match replied {
        Ok(reply) => (false, reply),
        Err(err) => (
            matches!(
                err,
                CommandError::ShareUsed { .. } | CommandError::Psn(psn::Error::RateLimited { .. })
            ),
            error_reply(&err),
        ),
    };
    Answer {
        user,
        refused,
        text: serde_json::to_string(&reply).expect("a reply serializes"),
    }
}

/// Earns the first trophy `online_id` has not earned in their most recent title (the next
/// title when that one is complete). False when nothing is left to earn.
pub fn earn_one(sim: &Sim, online_id: &str) -> bool {
    let titles = sim.titles_of(online_id).expect("a crowd player");
    for title in titles {
        for trophy in 1.. {
            match sim.earn_trophy(online_id, &title, trophy) {
                Ok(()) => return true,
                Err(psn_sim::SimError::AlreadyEarned { .. }) => continue,
                Err(_) => break,
            }
        }
    }
    false
}

/// When trophies were earned that are not announced yet, by account ID.
type Pending = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

/// Watches the fake Discord until `end`: how long after its trophies were earned each
/// announcement was posted (one announcement carries all of an account's new trophies; it
/// names the player).
async fn watch_posts(
    discord: &FakeDiscord,
    players: &[(String, String)],
    pending: &Pending,
    end: Instant,
) -> Vec<Duration> {
    let mut posted = Vec::new();
    let mut seen = 0;
    loop {
        let waited = tokio::time::timeout_at(
            end,
            discord.wait_for("an announcement", |d| {
                let messages = d.messages();
                (messages.len() > seen).then_some(messages)
            }),
        )
        .await;
        let messages = match waited {
            Err(_) => break,
            // Nothing within the fake's own wait: look again.
            Ok(Err(_)) => continue,
            Ok(Ok(messages)) => messages,
        };
        for message in &messages[seen..] {
            // Names are markdown-escaped (`sim\_crowd\_000`).
            let text = message.message.to_string().replace('\\', "");
            for (online_id, account_id) in players {
                if text.contains(online_id.as_str()) {
                    let earned = pending.lock().unwrap().remove(account_id);
                    posted.extend(earned.into_iter().flatten().map(|at| at.elapsed()));
                }
            }
        }
        seen = messages.len();
    }
    posted
}

fn since(start: DateTime<Utc>, at: DateTime<Utc>) -> Duration {
    (at - start).to_std().unwrap_or_default()
}

/// Whose request this was: the first path segment (or presence's `accountIds`) naming a
/// player, an account or a title; presence sweeps are the tracker's.
fn lane_of(request: &RecordedRequest, owners: &HashMap<String, Lane>) -> Option<Lane> {
    if request.path.contains("basicPresences") {
        return Some(Lane::Tracker);
    }
    request
        .path
        .split('/')
        .find_map(|segment| owners.get(segment))
        .copied()
}
