//! Draws one card of each kind from the PSN simulator's data (sim_hunter, sim_casual), writes
//! them to `docs/cards/*.png` (the README's pictures), and prints BENCHMARKS.md's "Image cards"
//! table: the time to draw each card (median and slowest of 30, pictures already fetched) and
//! its PNG size.
//!
//! ```text
//! cargo run --release --example cards
//! ```

#[path = "../tests/support/sim.rs"]
#[allow(
    dead_code,
    reason = "the tests use more of the simulator helpers than this"
)]
mod sim;

use std::time::{Duration, Instant};

use sim::{sim_client, start_sim};
use trophybot::cards::{self, CardSpec, IconFetcher};

const RUNS: usize = 30;

#[tokio::main]
async fn main() {
    let (_sim, server) = start_sim().await;
    let client = sim_client(&server.base_url);
    let online_id = |name: &str| psn::OnlineId::parse(name).expect("a valid online ID");
    let hunter = client
        .resolve_user(&online_id("sim_hunter"))
        .await
        .expect("sim_hunter");
    let casual = client
        .resolve_user(&online_id("sim_casual"))
        .await
        .expect("sim_casual");
    let side = |account: psn::Account| {
        let client = client.clone();
        async move {
            trophybot::render::CompareSide {
                summary: client.trophy_summary(&account).await.ok(),
                // The whole library, as `/compare` searches it for shared titles.
                recent: client.all_titles(&account).await.expect("titles"),
                account,
                library_cut: false,
            }
        }
    };
    let (a, b) = (side(hunter.clone()).await, side(casual).await);

    // sim_hunter's most recent platinum, announced as the tracker would.
    let titles = client.all_titles(&hunter).await.expect("titles");
    let mut platinum = None;
    for title in titles.iter().filter(|t| t.earned.platinum > 0) {
        let trophies = client
            .user_trophies(&hunter, &title.np_communication_id)
            .await
            .expect("trophies");
        let Some(trophy) = trophies
            .trophies
            .into_iter()
            .find(|t| t.definition.kind == psn::TrophyType::Platinum && t.earned)
        else {
            continue;
        };
        let earnings = trophybot::model::TitleEarnings {
            np_communication_id: title.np_communication_id.clone(),
            title_name: title.name.clone(),
            title_icon_url: title.icon_url.clone(),
            platforms: title.platforms.clone(),
            trophies: vec![trophy.clone()],
            progress_after: title.progress,
            earned_after: title.earned,
            defined: title.defined,
        };
        let count = a.summary.as_ref().map(|s| s.earned.platinum);
        platinum = Some(cards::platinum_card(
            &hunter.online_id,
            &earnings,
            &trophy,
            count,
        ));
        break;
    }
    let platinum = platinum.expect("sim_hunter has a platinum");

    let kinds: [(&str, CardSpec); 3] = [
        ("platinum", platinum),
        (
            "profile",
            cards::profile_card(&a.account, a.summary.as_ref(), &a.recent),
        ),
        ("compare", cards::compare_card(&a, &b)),
    ];
    let host = server.base_url.trim_start_matches("http://").to_string();
    let fetcher = IconFetcher::new(vec![host]);
    println!("| card | size (px) | PNG size | draw time, median | slowest of {RUNS} |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, spec) in kinds {
        let icons = fetcher.fetch_all(&spec.icon_urls()).await;
        let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
        let mut png = None;
        for _ in 0..RUNS {
            let start = Instant::now();
            png = Some(cards::render(&spec, &icons).expect("the card draws"));
            times.push(start.elapsed());
        }
        let png = png.expect("drawn");
        times.sort();
        std::fs::write(format!("docs/cards/{name}.png"), &png.bytes).expect("written");
        println!(
            "| {name} | {}×{} | {:.0} kB | {:.1} ms | {:.1} ms |",
            png.width,
            png.height,
            png.bytes.len() as f64 / 1024.0,
            times[RUNS / 2].as_secs_f64() * 1000.0,
            times[RUNS - 1].as_secs_f64() * 1000.0
        );
    }
}
