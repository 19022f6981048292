//! `game` autocomplete against the simulator: at most 25 choices from the cached recent titles.

use psn::OnlineId;
use trophybot::commands::{autocomplete_game, Services};

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn choices_come_from_the_cached_recent_titles() {
    let (sim, server) = support::start_sim().await;
    let services = Services::new(support::sim_client(&server.base_url));
    let hunter = OnlineId::parse("sim_hunter").expect("valid");

    let all = autocomplete_game(&services, &hunter, "").await;
    assert_eq!(all.len(), 25);
    assert!(all
        .iter()
        .all(|c| c.value.len() == 12 && c.name.chars().count() <= 100));

    // Typing part of a listed name finds it first; no request is sent for it.
    let wanted = &all[3];
    let partial: String = wanted
        .name
        .chars()
        .take(6)
        .collect::<String>()
        .to_lowercase();
    let before = sim.request_count();
    let found = autocomplete_game(&services, &hunter, &partial).await;
    assert_eq!(sim.request_count(), before, "served from the caches");
    assert!(
        found.iter().any(|c| c.value == wanted.value),
        "{partial}: {found:?}"
    );
    assert!(found.len() <= 25);

    // Failures give no choices rather than an error.
    let private = OnlineId::parse("sim_private").expect("valid");
    assert!(autocomplete_game(&services, &private, "a").await.is_empty());
}
