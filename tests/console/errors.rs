//! PSN failures, from the simulator's faults through the real client to the words users read.

use std::time::Duration;

use psn::Client;
use psn_sim::{Fault, Sim, SimServer, SIM_NPSSO};
use trophybot::commands::Services;
use trophybot::console::{execute, parse_command};
use trophybot::errors::error_reply;

use crate::support;

async fn start() -> (Sim, SimServer, Services) {
    let (sim, server) = support::start_sim().await;
    let mut config = support::sim_config(&server.base_url);
    // Retries of a 503 stay quick.
    config.request_timeout = Duration::from_secs(2);
    let services = Services::new(Client::new(config).expect("client"));
    (sim, server, services)
}

/// Runs `command` and returns the error reply as lower-case JSON.
async fn error_words(services: &Services, command: &str) -> String {
    let invocation = parse_command(command).expect("valid command");
    let err = execute(services, invocation)
        .await
        .expect_err("the command fails");
    assert_eq!(err.exit_code(), 1);
    let reply = error_reply(&err);
    assert!(reply.ephemeral());
    serde_json::to_string(&reply)
        .unwrap_or_default()
        .to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_npsso_says_credential_without_the_secret() {
    let (sim, _server, ctx) = start().await;
    sim.inject(Fault::RejectNpsso);
    let words = error_words(&ctx, "/trophies user:sim_hunter").await;
    assert!(words.contains("credential"), "{words}");
    assert!(!words.contains(&SIM_NPSSO.to_lowercase()), "{words}");
}

/// After a rejection, commands answer at once from the backoff: no sign-in per command, the
/// pattern that gets a PSN account locked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rejected_npsso_commands_say_credential_without_signing_in() {
    let (sim, _server, ctx) = start().await;
    sim.inject(Fault::RejectNpsso);
    let sign_ins = || {
        sim.requests()
            .iter()
            .filter(|r| r.path.ends_with("/oauth/authorize"))
            .count()
    };
    assert!(error_words(&ctx, "/trophies user:sim_hunter")
        .await
        .contains("credential"));
    assert_eq!(sign_ins(), 1);
    for command in [
        "/trophies user:sim_casual",
        "/compare user:sim_hunter other:sim_casual",
        "/rarest user:sim_hunter",
        "/trophies user:sim_hunter",
    ] {
        let words = error_words(&ctx, command).await;
        assert!(words.contains("credential"), "{command}: {words}");
    }
    assert_eq!(sign_ins(), 1, "no sign-in until the backoff has passed");
    assert_eq!(sim.request_count(), 1, "nothing else was sent to PSN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psn_rate_limit_says_when_to_retry() {
    let (sim, _server, ctx) = start().await;
    sim.inject(Fault::RateLimited {
        for_: Duration::from_secs(3600),
    });
    let words = error_words(&ctx, "/trophies user:sim_hunter").await;
    assert!(words.contains("rate limit"), "{words}");
    assert!(words.contains(" utc") && words.contains("<t:"), "{words}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psn_errors_say_unavailable() {
    let (sim, _server, ctx) = start().await;
    sim.inject(Fault::ServerError { count: 1000 });
    let words = error_words(&ctx, "/trophies user:sim_hunter").await;
    assert!(words.contains("unavailable"), "{words}");
}
