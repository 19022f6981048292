//! The PSN sign-in survives a restart: the refresh token is saved sealed under the NPSSO's
//! fingerprint and used first by the next run; a saved sign-in that does not open costs one NPSSO
//! sign-in, never an error.

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
    let npsso = restore_saved_sign_in(&store, &mut config)
        .await
        .expect("an NPSSO credential is managed");
    assert!(config.saved_refresh_token.is_none(), "nothing saved yet");
    let first_run = psn::Client::new(config).expect("client");
    first_run
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .expect("signed in");
    let mut last_saved = None;
    assert!(save_sign_in(&store, &first_run, &npsso, &mut last_saved)
        .await
        .expect("save"));
    assert!(
        !save_sign_in(&store, &first_run, &npsso, &mut last_saved)
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

#[tokio::test]
async fn a_tampered_saved_sign_in_is_forgotten_and_the_npsso_signs_in_again() {
    let (_db, store) = TestDb::migrated().await;
    let (sim, server) = support::start_sim().await;
    let mut config = support::sim_config(&server.base_url);
    let npsso = restore_saved_sign_in(&store, &mut config)
        .await
        .expect("an NPSSO credential is managed");
    let first_run = psn::Client::new(config).expect("client");
    first_run
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .expect("signed in");
    save_sign_in(&store, &first_run, &npsso, &mut None)
        .await
        .expect("save");

    sqlx::query(
        "UPDATE psn_credential
         SET sealed_refresh_token = set_byte(sealed_refresh_token, 0,
                                             get_byte(sealed_refresh_token, 0) # 1)",
    )
    .execute(store.pool())
    .await
    .expect("tamper");

    sim.reset_requests();
    let mut config = support::sim_config(&server.base_url);
    restore_saved_sign_in(&store, &mut config).await;
    assert!(
        config.saved_refresh_token.is_none(),
        "a tampered row is not used"
    );
    let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM psn_credential")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(rows, 0, "the row that does not open is forgotten");
    let second_run = psn::Client::new(config).expect("client");
    second_run
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .expect("the NPSSO signs in");
    assert_eq!(authorize_requests(&sim), 1, "one NPSSO sign-in");
    assert!(save_sign_in(&store, &second_run, &npsso, &mut None)
        .await
        .expect("save"));

    let mut config = support::sim_config(&server.base_url);
    restore_saved_sign_in(&store, &mut config).await;
    assert!(
        config.saved_refresh_token.is_some(),
        "the fresh sign-in is saved and opens at the next start"
    );
    store.close().await;
}
