//! What each command costs in PSN requests as the bot runs it, counted in the simulator's
//! request log: estimated from the client's caches and held to its cap, for an untracked player
//! (no stored library). Cold is a fresh client's first run (sign-in apart); warm is the same
//! command again in the same process, until it asks PSN nothing (`/rarest` across titles covers
//! more titles each run). Shared by `tests/commands/costs.rs` (which asserts the caps) and
//! `cargo run --example command_costs` (which prints the table of BENCHMARKS.md).

use psn::OnlineId;
use psn_sim::Sim;
use trophybot::commands::compare::{self, CompareInput};
use trophybot::commands::game;
use trophybot::commands::page;
use trophybot::commands::rarest::{self, RarestInput, DEFAULT_COUNT};
use trophybot::commands::shares::cost;
use trophybot::commands::trophies::{self, TrophiesInput};
use trophybot::commands::{Services, RECENT_TITLES};
use trophybot::render::PageRef;

/// One run: what the command was estimated at before, and what it sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub estimate: u32,
    pub sent: usize,
}

/// One command's costs.
#[derive(Debug, Clone)]
pub struct Row {
    pub command: String,
    pub cap: u32,
    pub cold: Run,
    /// The first repeat that asked nothing, or the last one tried.
    pub warm: Run,
    /// Which run that was (2: the first repeat).
    pub warm_run: usize,
}

/// The most runs tried before giving up on a warm one.
const MAX_RUNS: usize = 12;

#[derive(Clone)]
enum Command {
    Trophies(TrophiesInput),
    Compare(CompareInput),
    Rarest(RarestInput),
    Page(PageRef),
    Autocomplete(OnlineId),
}

fn user(online_id: &str) -> OnlineId {
    OnlineId::parse(online_id).expect("a valid online ID")
}

/// Every command that reads PSN for any member, as the bot runs it. `/link` and `/track add`
/// are left out: they must see PSN as it is now (the verification code, whether the trophy
/// list is public), so they always ask (2 requests each, see the README).
pub async fn measure_all() -> Vec<Row> {
    let (sim, server) = super::start_sim().await;
    let (recent, biggest) = hunter_titles(&server.base_url).await;
    let hunter = user("sim_hunter");
    let trophies = |game: Option<&str>| {
        Command::Trophies(TrophiesInput {
            user: hunter.clone(),
            game: game.map(str::to_string),
        })
    };
    let compare = |game: Option<&str>| {
        Command::Compare(CompareInput {
            user: hunter.clone(),
            other: user("sim_casual"),
            game: game.map(str::to_string),
        })
    };
    let rarest = |game: Option<&str>| {
        Command::Rarest(RarestInput {
            user: hunter.clone(),
            game: game.map(str::to_string),
            count: DEFAULT_COUNT,
        })
    };
    let page = PageRef {
        online_id: "sim_hunter".to_string(),
        account_id: sim.account_id("sim_hunter").expect("sim_hunter's account"),
        np_communication_id: biggest.clone(),
        page: 1,
        invoker: Some(1),
    };
    let commands = [
        ("/trophies user:sim_hunter".to_string(), trophies(None)),
        (
            format!("/trophies user:sim_hunter game:{recent}"),
            trophies(Some(&recent)),
        ),
        (
            r#"/trophies user:sim_hunter game:"Frozen Harbor""#.to_string(),
            trophies(Some("Frozen Harbor")),
        ),
        (
            "/compare user:sim_hunter other:sim_casual".to_string(),
            compare(None),
        ),
        (
            r#"/compare user:sim_hunter other:sim_casual game:"ASTRO BOT (PS5)""#.to_string(),
            compare(Some("ASTRO BOT (PS5)")),
        ),
        ("/rarest user:sim_hunter".to_string(), rarest(None)),
        (
            r#"/rarest user:sim_hunter game:"ASTRO BOT""#.to_string(),
            rarest(Some("ASTRO BOT")),
        ),
        (
            format!("page button (page 2 of {biggest}, sim_hunter)"),
            Command::Page(page),
        ),
        (
            "`game` autocomplete (user:sim_hunter, typing \"fro\")".to_string(),
            Command::Autocomplete(hunter.clone()),
        ),
    ];
    let mut rows = Vec::new();
    for (label, command) in commands {
        // A fresh client each: empty caches, as after a restart.
        let services = Services::new(super::sim_client(&server.base_url));
        let mut runs = Vec::new();
        while runs.len() < MAX_RUNS {
            sim.reset_requests();
            let estimate = estimate(&services, &command).await;
            run(&services, &command).await;
            let run = Run {
                estimate,
                sent: api_requests(&sim),
            };
            runs.push(run);
            if runs.len() > 1 && run.sent == 0 {
                break;
            }
        }
        rows.push(Row {
            command: label,
            cap: cost::CAP,
            cold: runs[0],
            warm: *runs.last().expect("at least two runs"),
            warm_run: runs.len(),
        });
    }
    rows
}

/// The npCommunicationIds of sim_hunter's most recent title and of the one with the most
/// trophies (several pages), asked by a client of their own.
async fn hunter_titles(base_url: &str) -> (String, String) {
    let client = super::sim_client(base_url);
    let account = client
        .resolve_user(&user("sim_hunter"))
        .await
        .expect("sim_hunter");
    let titles = client
        .recent_titles(&account, RECENT_TITLES)
        .await
        .expect("sim_hunter's titles");
    let recent = titles[0].np_communication_id.clone();
    let biggest = titles
        .iter()
        .max_by_key(|t| t.defined.total())
        .expect("sim_hunter has titles")
        .np_communication_id
        .clone();
    (recent, biggest)
}

/// The API requests the simulator served since the last reset, sign-in apart.
pub fn api_requests(sim: &Sim) -> usize {
    sim.requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/api/authz") && !r.path.starts_with("/_sim"))
        .count()
}

/// The bot's estimate before it admits the command.
async fn estimate(services: &Services, command: &Command) -> u32 {
    match command {
        Command::Trophies(input) => trophies::estimate(services, input),
        Command::Compare(input) => compare::estimate(services, input),
        Command::Rarest(input) => rarest::estimate(services, input, cost::CAP).await,
        Command::Page(page_ref) => page::estimate(services, page_ref),
        Command::Autocomplete(player) => {
            match game::cached_choices(services, player, "fro").await {
                Some(_) => 0,
                None => cost::AUTOCOMPLETE,
            }
        }
    }
}

/// Runs the command as the bot does (held to its cap); it must answer.
async fn run(services: &Services, command: &Command) {
    let answered = match command.clone() {
        Command::Trophies(input) => trophies::run(services, input).await.map(drop),
        Command::Compare(input) => compare::run(services, input).await.map(drop),
        Command::Rarest(input) => rarest::run(services, input, Some(cost::CAP))
            .await
            .map(drop),
        Command::Page(page_ref) => page::redraw(services, page_ref).await.map(drop),
        Command::Autocomplete(player) => {
            let choices = game::autocomplete_game(services, &player, "fro").await;
            assert!(
                !choices.is_empty(),
                "sim_hunter has a title matching \"fro\""
            );
            Ok(())
        }
    };
    answered.expect("the command answers");
}
