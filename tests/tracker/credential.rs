//! The PSN sign-in survives a restart: the refresh token is saved under the NPSSO's fingerprint
//! and used first by the next run.

use trophybot::credential::{restore_saved_sign_in, save_sign_in};

use crate::support;
use crate::support::db::TestDb;

fn authorize_requests(sim: &psn_sim::Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth/authorize"))
        .count()
}

#[tokio::test]
async fn a_restart_signs_in_with_the_saved_refresh_token() {
    let (_db, store) = TestDb::migrated().await;
    let (sim, server) = support::start_sim().await;

    let mut config = support::sim_config(&server.base_url);
    let fingerprint = restore_saved_sign_in(&store, &mut config)
        .await
        .expect("an NPSSO credential has a fingerprint");
    assert!(config.saved_refresh_token.is_none(), "nothing saved yet");
    let first_run = psn::Client::new(config).expect("client");
    first_run
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .expect("signed in");
    let mut last_saved = None;
    assert!(
        save_sign_in(&store, &first_run, &fingerprint, &mut last_saved)
            .await
            .expect("save")
    );
    assert!(
        !save_sign_in(&store, &first_run, &fingerprint, &mut last_saved)
            .await
            .expect("save"),
        "an unchanged token is not written again"
    );

    sim.reset_requests();
    let mut config = support::sim_config(&server.base_url);
    restore_saved_sign_in(&store, &mut config).await;
    assert!(config.saved_refresh_token.is_some());
    let second_run = psn::Client::new(config).expect("client");
    second_run
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .expect("signed in");
    assert_eq!(
        authorize_requests(&sim),
        0,
        "no NPSSO exchange after a restart"
    );

    let mut other_npsso = support::sim_config(&server.base_url);
    other_npsso.credential = psn::Credential::Npsso(psn::Secret::new("a-newer-npsso"));
    restore_saved_sign_in(&store, &mut other_npsso).await;
    assert!(
        other_npsso.saved_refresh_token.is_none(),
        "a token from another NPSSO is not used"
    );
    store.close().await;
}
