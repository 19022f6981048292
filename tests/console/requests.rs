//! How many PSN requests each command sends, cold (fresh client, empty caches) and warm (the
//! same command again in the same process). `cargo test --test console -- --ignored --nocapture
//! request_count_table` prints the table kept in BENCHMARKS.md.

use psn_sim::{Sim, SimServer};
use trophybot::commands::Services;
use trophybot::console::{execute, parse_command};
use trophybot::errors::CommandError;

use crate::support;

const COMMANDS: [&str; 7] = [
    "/trophies user:sim_hunter",
    "/trophies user:sim_hunter game:{id}",
    r#"/trophies user:sim_hunter game:"Frozen Harbor""#,
    "/compare user:sim_hunter other:sim_casual",
    r#"/compare user:sim_hunter other:sim_casual game:"ASTRO BOT""#,
    "/rarest user:sim_hunter",
    r#"/rarest user:sim_hunter game:"ASTRO BOT""#,
];

/// Requests of one command: sign-in (authorize and token) apart from the API requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Count {
    sign_in: usize,
    api: usize,
}

async fn start() -> (Sim, SimServer, Services) {
    let (sim, server) = support::start_sim().await;
    let services = Services::new(support::sim_client(&server.base_url));
    (sim, server, services)
}

async fn run_counted(sim: &Sim, services: &Services, command: &str) -> Count {
    sim.reset_requests();
    let invocation = parse_command(command).expect("valid command");
    execute(services, invocation)
        .await
        .expect("command succeeds");
    let requests = sim.requests();
    let sign_in = requests
        .iter()
        .filter(|r| r.path.starts_with("/api/authz/"))
        .count();
    Count {
        sign_in,
        api: requests.len() - sign_in,
    }
}

/// Cold then warm, each command in a fresh client.
/// `{id}` in a command stands for the npCommunicationId of sim_hunter's most recent title,
/// looked up in a world of its own (the same seed gives the same world).
async fn measure(command: &str) -> (Count, Count) {
    let command = if command.contains("{id}") {
        command.replace("{id}", &most_recent_title().await)
    } else {
        command.to_string()
    };
    let command = command.as_str();
    let (sim, _server, ctx) = start().await;
    let cold = run_counted(&sim, &ctx, command).await;
    let warm = run_counted(&sim, &ctx, command).await;
    (cold, warm)
}

async fn most_recent_title() -> String {
    let (_sim, _server, ctx) = start().await;
    let hunter = ctx
        .client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .expect("sim_hunter");
    let titles = ctx.client.recent_titles(&hunter, 1).await.expect("titles");
    titles
        .first()
        .map(|t| t.np_communication_id.clone())
        .expect("sim_hunter has titles")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_commands_are_served_from_the_caches() {
    let (cold, warm) = measure("/trophies user:sim_hunter game:{id}").await;
    assert_eq!(cold.sign_in, 2, "authorize and token, once");
    assert_eq!(warm.sign_in, 0);
    // Definitions and the user lookup are cached: only the user's earned state is asked again.
    assert!(warm.api < cold.api, "cold {cold:?}, warm {warm:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rarest_in_one_title_needs_no_listing() {
    let (cold, _) = measure("/rarest user:sim_hunter game:{id}").await;
    // User lookup, the title's definitions (groups and trophies), the user's earned state.
    assert!(cold.api <= 4, "{cold:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comparing_an_account_with_itself_costs_only_the_lookups() {
    let (sim, _server, services) = start().await;
    let invocation =
        parse_command("/compare user:sim_hunter other:SIM_HUNTER").expect("valid command");
    let err = execute(&services, invocation)
        .await
        .expect_err("the same account twice");
    assert!(
        matches!(err, CommandError::SameAccount { ref online_id } if online_id == "sim_hunter"),
        "{err:?}"
    );
    let asked: Vec<String> = sim
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|path| !path.starts_with("/api/authz/"))
        .collect();
    assert!(!asked.is_empty(), "the accounts are looked up");
    assert!(
        asked.iter().all(|path| path.contains("/userProfile/")),
        "nothing but lookups: {asked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints the request-count table for BENCHMARKS.md"]
async fn request_count_table() {
    println!("| command | cold: sign-in + API requests | warm: API requests |");
    println!("| --- | --- | --- |");
    for command in COMMANDS {
        let (cold, warm) = measure(command).await;
        println!(
            "| `{command}` | {} + {} | {} |",
            cold.sign_in, cold.api, warm.api
        );
    }
}
