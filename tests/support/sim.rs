//! The PSN simulator and a client signed in to it, as every test (and the cost example) starts
//! them.

/// A simulator of the default world, served on a free port.
pub async fn start_sim() -> (psn_sim::Sim, psn_sim::SimServer) {
    let sim = psn_sim::Sim::new(psn_sim::SimConfig::default());
    let server = sim
        .serve(([127, 0, 0, 1], 0).into())
        .await
        .expect("the simulator serves");
    (sim, server)
}

/// Client settings for the simulator at `base_url` (modern API, the simulator's NPSSO).
pub fn sim_config(base_url: &str) -> psn::Config {
    psn::Config::new(
        psn::ApiKind::Modern,
        psn::Credential::Npsso(psn::Secret::new(psn_sim::SIM_NPSSO)),
    )
    .with_base_url(base_url)
}

/// A PSN client signed in to the simulator at `base_url`.
pub fn sim_client(base_url: &str) -> psn::Client {
    psn::Client::new(sim_config(base_url)).expect("a client for the simulator")
}

/// `count` of sim_hunter's games with a platinum and (as asked) with or without DLC: their ids
/// and every trophy but the platinum (which the simulator, as PSN, adds after the last base-game
/// one), read through `client`. Earning them gives the player a platinum, and without DLC a
/// completed game.
pub async fn hunters_platinum_games(
    client: &psn::Client,
    count: usize,
    dlc: bool,
) -> Vec<(String, Vec<u32>)> {
    let hunter = psn::OnlineId::parse("sim_hunter").expect("a valid online ID");
    let hunter = client.resolve_user(&hunter).await.expect("a sim user");
    let mut games = Vec::new();
    for title in client.all_titles(&hunter).await.expect("titles") {
        if title.has_groups != dlc || title.defined.platinum == 0 || title.service.is_none() {
            continue;
        }
        let trophies = client
            .user_trophies(&hunter, &title.np_communication_id)
            .await
            .expect("trophies");
        let ids = trophies
            .trophies
            .iter()
            .filter(|t| t.definition.kind != psn::TrophyType::Platinum)
            .map(|t| t.definition.id)
            .collect();
        games.push((title.np_communication_id, ids));
        if games.len() == count {
            return games;
        }
    }
    panic!("sim_hunter has fewer than {count} such games");
}
