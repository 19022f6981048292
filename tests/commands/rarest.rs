//! `/rarest` across titles held to its cap, as the bot runs it: against the PSN simulator, each
//! call's requests counted in a meter of its own (as the shares charge them).

use trophybot::commands::rarest::{self, RarestInput, DEFAULT_COUNT};
use trophybot::commands::shares::cost;
use trophybot::commands::{self, RECENT_TITLES};
use trophybot::model::reply::Reply;

use crate::support;

struct World {
    _server: psn_sim::SimServer,
    services: commands::Services,
}

async fn world() -> World {
    let (_sim, server) = support::start_sim().await;
    let services = commands::Services::new(support::sim_client(&server.base_url));
    World {
        _server: server,
        services,
    }
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
        let estimate = rarest::estimate(&self.services, &hunter(), cost::CAP);
        let meter = psn::Meter::new();
        let reply = rarest::run(
            &self.services.metered(meter.clone()),
            hunter(),
            Some(cost::CAP),
        )
        .await
        .expect("the hunter's rarest trophies");
        (reply, meter.count(), estimate)
    }
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
