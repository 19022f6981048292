//! `/healthz` against a real database: the `SELECT 1` check, and 503 when the database cannot
//! be reached (the rest of the report is unit-tested in `ops::health`).

use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use trophybot::ops::{healthcheck, Health, HealthcheckError, Metrics, Ops, OpsState};
use trophybot::store::Store;

use crate::support::db::TestDb;

fn ops_state(store: Store) -> OpsState {
    // Never asked anything here: the address only has to be well-formed.
    let config = psn::Config::new(
        psn::ApiKind::Modern,
        psn::Credential::Npsso(psn::Secret::new("npsso-never-sent")),
    )
    .with_base_url("http://127.0.0.1:9");
    OpsState {
        metrics: Metrics::new(),
        health: Health::new(),
        pool: trophybot::pool::Pool::single(psn::Client::new(config).expect("client")),
        store,
    }
}

async fn get_health(ops: &Ops) -> (u16, Value) {
    let answer = reqwest::get(format!("http://{}/healthz", ops.addr))
        .await
        .expect("/healthz answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("JSON health"))
}

async fn docker_healthcheck(ops: &Ops) -> Result<String, HealthcheckError> {
    let addr = ops.addr;
    tokio::task::spawn_blocking(move || healthcheck(addr))
        .await
        .expect("healthcheck runs")
}

#[tokio::test]
async fn a_reachable_database_is_ok_and_psn_trouble_is_degraded() {
    let (_db, store) = TestDb::migrated().await;
    let state = ops_state(store);
    let cancel = CancellationToken::new();
    let ops = Ops::start(
        "127.0.0.1:0".parse().unwrap(),
        state.clone(),
        None,
        cancel.clone(),
    )
    .await
    .expect("ops starts");
    state.health.set_discord_connected(true);
    assert_eq!(
        get_health(&ops).await,
        (
            200,
            json!({"status": "ok", "discord": "connected", "psn": "ok",
                   "database": "ok", "tasks": {}})
        )
    );
    docker_healthcheck(&ops).await.expect("healthy");

    state.health.note_psn(psn::Signal::CredentialRejected);
    assert_eq!(
        get_health(&ops).await,
        (
            200,
            json!({"status": "degraded", "discord": "connected", "psn": "credential_rejected",
                   "database": "ok", "tasks": {}})
        )
    );
    let body = docker_healthcheck(&ops).await.expect("degraded is healthy");
    assert!(body.contains("\"degraded\""), "{body}");

    cancel.cancel();
    ops.stopped().await;
}

#[tokio::test]
async fn an_unreachable_database_is_503() {
    // The server is up but the database is not there: every connection the pool tries fails.
    let db = TestDb::unused();
    let store = Store::connect_lazy(&db.url).expect("a valid URL");
    let state = ops_state(store);
    state.health.set_discord_connected(true);
    let cancel = CancellationToken::new();
    let ops = Ops::start(
        "127.0.0.1:0".parse().unwrap(),
        state.clone(),
        None,
        cancel.clone(),
    )
    .await
    .expect("ops starts");
    assert_eq!(
        get_health(&ops).await,
        (
            503,
            json!({"status": "unhealthy", "discord": "connected", "psn": "ok",
                   "database": "unreachable", "tasks": {}})
        )
    );
    let err = docker_healthcheck(&ops).await.expect_err("unhealthy");
    assert!(
        matches!(err, HealthcheckError::Unhealthy { status: 503, ref body } if body.contains("unreachable")),
        "{err}"
    );
    cancel.cancel();
    ops.stopped().await;
}

#[tokio::test(start_paused = true)]
async fn a_hung_database_is_unreachable_within_the_timeout() {
    // Accepts connections (the backlog does) but never answers the startup message.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("postgres://postgres@{}/hung", silent.local_addr().unwrap());
    let store = Store::connect_lazy(&url).expect("a valid URL");
    let started = tokio::time::Instant::now();
    assert!(!store.is_reachable(Duration::from_secs(2)).await);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the timeout: {:?}",
        started.elapsed()
    );
    drop(silent);
}
