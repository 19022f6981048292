//! `Client::profile` against the PSN simulator: the "About me" text, always fresh.

use psn::{ApiKind, Client, Config, Credential, Error, Secret};
use psn_sim::{Sim, SimConfig, SimServer, SIM_NPSSO};

async fn start() -> (Sim, SimServer, Client) {
    let sim = Sim::new(SimConfig::default());
    let server = sim
        .serve("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the simulator starts");
    let config = Config::new(ApiKind::Modern, Credential::Npsso(Secret::new(SIM_NPSSO)))
        .with_base_url(&server.base_url);
    let client = Client::new(config).expect("a client");
    (sim, server, client)
}

fn profile_requests(sim: &Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.ends_with("/profiles"))
        .count()
}

#[tokio::test]
async fn the_profile_is_asked_again_each_time_so_a_new_about_me_is_seen() {
    let (sim, _server, client) = start().await;
    let before = client
        .profile(&psn::OnlineId::parse("SIM_HUNTER").unwrap())
        .await
        .expect("a profile");
    assert_eq!(before.account.online_id, "sim_hunter");
    assert_eq!(before.about_me.as_deref(), Some("Platinum or nothing."));

    sim.set_about_me("sim_hunter", "code TB-ABCDEF here")
        .expect("a known user");
    let after = client
        .profile(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .expect("a profile");
    assert_eq!(after.about_me.as_deref(), Some("code TB-ABCDEF here"));
    assert_eq!(after.account, before.account);
    assert_eq!(
        profile_requests(&sim),
        2,
        "the profile itself is never cached"
    );

    sim.set_about_me("sim_hunter", "").expect("a known user");
    let emptied = client
        .profile(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .expect("a profile");
    assert_eq!(emptied.about_me, None);
}

#[tokio::test]
async fn a_renamed_user_shows_the_current_id_and_unknown_ones_are_not_found() {
    let (_sim, _server, client) = start().await;
    let renamed = client
        .profile(&psn::OnlineId::parse("sim_renamed").unwrap())
        .await
        .expect("a profile");
    assert_eq!(renamed.account.online_id, "sim_newname");
    assert!(matches!(
        client.profile(&psn::OnlineId::parse("nobody_here").unwrap()).await,
        Err(Error::UserNotFound(id)) if id == "nobody_here"
    ));
    assert!(matches!(
        psn::OnlineId::parse("no"),
        Err(Error::InvalidOnlineId(_))
    ));
}
