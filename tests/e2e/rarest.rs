//! `/rarest` across titles through the real binary: a capped call leaves the titles it did not
//! cover to a fill-in on idle capacity, charged to the member, and the next call covers every
//! recent title without a PSN request (counted in the simulator's request log).

use std::time::Duration;

use serde_json::json;

use crate::support::bot::{opt, text_of, wait_until, Harness, MEMBER};

/// The API requests the simulator served since the last reset (sign-in aside).
fn psn_requests(h: &Harness) -> usize {
    h.sim
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/api/authz") && !r.path.starts_with("/_sim"))
        .count()
}

#[tokio::test]
async fn a_capped_rarest_is_filled_in_and_the_next_call_asks_psn_nothing() {
    // A budget whose idle half of the command lane (450 of 3000 · 30 %) holds a whole fill-in,
    // and shares that leave it room: on the default budget it would span several windows.
    let h = Harness::builder()
        .env("PSN_RATE_LIMIT", "3000/10m")
        .env("COMMAND_SHARE_USER", "1000")
        .env("COMMAND_SHARE_SERVER", "2000")
        .sim_config(psn_sim::SimConfig {
            rate_limit: 3000,
            rate_window: Duration::from_secs(600),
            ..psn_sim::SimConfig::default()
        })
        // The fill-in's end is logged at info.
        .env("RUST_LOG", "warn,trophybot::commands::fill_in=info")
        .capture_output()
        .start()
        .await;
    let ask = || h.slash(MEMBER, "rarest", json!([opt("user", "sim_hunter")]));

    let (_, first) = h.any_reply(ask().await).await;
    let text = text_of(&first);
    assert!(
        text.contains("of their 50 most recent titles · ask again later to cover more"),
        "{text}"
    );
    let ended = wait_until("the fill-in to end", || async {
        h.bot_output()
            .lines()
            .find(|line| line.contains("rarest fill-in ended"))
            .map(str::to_string)
    })
    .await;
    assert!(ended.contains("Done"), "{ended}");

    h.sim.reset_requests();
    let (_, second) = h.any_reply(ask().await).await;
    let text = text_of(&second);
    assert!(
        text.contains("across their 50 most recent titles"),
        "{text}"
    );
    assert_eq!(
        psn_requests(&h),
        0,
        "everything came from what the fill-in fetched"
    );
}
