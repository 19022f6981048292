//! The fault suite, end to end: the real bot with a tracked player, a fault injected into PSN,
//! Discord or the database while the player earns a trophy, then the fault lifted. Each test
//! checks that the announcement is posted exactly once, that the bot recovers by itself, and
//! what `/healthz` says meanwhile; it records those figures for `RELIABILITY.md`
//! (`cargo run --example reliability`).

use std::time::{Duration, Instant};

use discord_fake::Fault as DiscordFault;
use psn_sim::Fault as PsnFault;
use serde_json::{json, Value};
use trophybot::failpoint::Failpoint;

use crate::support::bot::{subcommand, wait_until, Harness, ADMIN, CHANNEL, GUILD, MEMBER};
use crate::support::proxy::TcpProxy;
use crate::support::reliability::{losses, record, Measured};
use crate::tracking::{
    announcements, embeds_text, fast_tracker, open_trophies, outbox, track, wait_for_baseline,
    PLAYER,
};

/// `/healthz`: its status code and body.
async fn health(h: &Harness) -> (u16, Value) {
    match reqwest::get(format!("{}/healthz", h.ops_url())).await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Waits until `/healthz` says what `broken` looks for, and returns it in words.
async fn wait_for_health(h: &Harness, what: &str, broken: impl Fn(u16, &Value) -> bool) -> String {
    wait_until(what, || async {
        let (status, body) = health(h).await;
        broken(status, &body)
            .then(|| format!("{status} {}", body["status"].as_str().unwrap_or("?")))
    })
    .await
}

/// How many of the channel's announcements name each trophy.
fn posted_per_trophy(h: &Harness, trophy_names: &[String]) -> Vec<usize> {
    let posted = announcements(h, CHANNEL);
    trophy_names
        .iter()
        .map(|name| {
            let name = name.to_lowercase();
            posted
                .iter()
                .filter(|m| embeds_text(m).contains(&name))
                .count()
        })
        .collect()
}

/// Waits until every outbox row is marked sent (nothing left that could post again).
async fn wait_for_outbox_done(h: &Harness, rows: usize) {
    wait_until("every announcement marked sent", || async {
        let rows_now = outbox(h).await;
        (rows_now.len() >= rows && rows_now.iter().all(|(_, sent, _)| *sent)).then_some(())
    })
    .await;
}

/// A tracked player with a baseline, ready for a trophy: the open trophies of one title.
async fn tracked_player(h: &Harness) -> (String, Vec<(u32, String)>) {
    track(h, GUILD, CHANNEL, ADMIN).await;
    wait_for_baseline(h, PLAYER).await;
    open_trophies(h, PLAYER).await
}

/// The trophy is earned during the fault; once it is lifted, it is announced once.
async fn announced_once_after(
    h: &Harness,
    test: &'static str,
    trophy: &(u32, String),
    healed: Instant,
    health_during: Option<String>,
) {
    let announced = wait_until("the announcement", || async {
        (posted_per_trophy(h, std::slice::from_ref(&trophy.1))[0] > 0).then(Instant::now)
    })
    .await;
    wait_for_outbox_done(h, 1).await;
    let (lost, duplicated) = losses(&posted_per_trophy(h, std::slice::from_ref(&trophy.1)));
    record(&Measured {
        test,
        lost,
        duplicated,
        recovery: Some(announced.saturating_duration_since(healed)),
        health_during,
    });
    assert_eq!((lost, duplicated), (0, 0), "announced exactly once");
}

fn degraded(status: u16, body: &Value) -> bool {
    status == 200 && body["status"] == "degraded"
}

/// PSN in trouble (`fault`) while a trophy is earned: `/healthz` says degraded, and once PSN is
/// well again the trophy is announced once.
async fn psn_trouble_degrades_then_recovers(test: &'static str, fault: PsnFault) {
    let h = fast_tracker().start().await;
    let (title, open) = tracked_player(&h).await;
    h.sim.inject(fault);
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    let during = wait_for_health(&h, "health degraded by PSN's trouble", degraded).await;
    h.sim.clear_faults();
    let healed = Instant::now();
    announced_once_after(&h, test, &open[0], healed, Some(during)).await;
}

#[tokio::test]
async fn psn_rate_limit_storm() {
    // Every request answers 429 (with PSN's next-available time) until the storm is lifted.
    let storm = PsnFault::RateLimited {
        for_: Duration::from_secs(3),
    };
    psn_trouble_degrades_then_recovers("faults::psn_rate_limit_storm", storm).await;
}

#[tokio::test]
async fn psn_server_error_burst() {
    let burst = PsnFault::ServerError { count: 1000 };
    psn_trouble_degrades_then_recovers("faults::psn_server_error_burst", burst).await;
}

#[tokio::test]
async fn psn_access_token_expires_mid_run() {
    let h = fast_tracker().start().await;
    let (title, open) = tracked_player(&h).await;
    let refreshes_before = refresh_grants(&h);
    // PSN's clock moves past the access token's hour: the next request is refused with 401.
    h.sim.advance_clock(Duration::from_secs(2 * 3600));
    let healed = Instant::now();
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    announced_once_after(
        &h,
        "faults::psn_access_token_expires_mid_run",
        &open[0],
        healed,
        None,
    )
    .await;
    assert!(
        refresh_grants(&h) > refreshes_before,
        "the bot renewed its access token with the refresh token"
    );
}

#[tokio::test]
async fn psn_refresh_token_rejected_mid_run() {
    let h = fast_tracker().start().await;
    let (title, open) = tracked_player(&h).await;
    let authorizations_before = npsso_sign_ins(&h);
    // Every token PSN issued is revoked: the refresh is refused, the NPSSO signs in again.
    h.sim.inject(PsnFault::RevokeTokens);
    let healed = Instant::now();
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    announced_once_after(
        &h,
        "faults::psn_refresh_token_rejected_mid_run",
        &open[0],
        healed,
        None,
    )
    .await;
    assert!(
        npsso_sign_ins(&h) > authorizations_before,
        "signed in again with the NPSSO"
    );
}

/// Token requests that used the refresh token.
fn refresh_grants(h: &Harness) -> usize {
    h.sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/token") && r.status == 200)
        .count()
}

/// NPSSO exchanges (the authorize step).
fn npsso_sign_ins(h: &Harness) -> usize {
    h.sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/authorize"))
        .count()
}

#[tokio::test]
async fn discord_server_errors_on_post() {
    let h = fast_tracker().start().await;
    let (title, open) = tracked_player(&h).await;
    let path = format!("/channels/{CHANNEL}/messages");
    for _ in 0..2 {
        h.discord
            .inject_fault(DiscordFault::server_error("POST", &path, 503));
    }
    let started = Instant::now();
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    let during = format!("{} {}", health(&h).await.0, health(&h).await.1["status"]);
    announced_once_after(
        &h,
        "faults::discord_server_errors_on_post",
        &open[0],
        started,
        Some(during),
    )
    .await;
    let failed_posts = h
        .discord
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(&path) && r.status == 503)
        .count();
    assert_eq!(failed_posts, 2, "each 503 was answered and retried");
}

/// A command answered after a gateway fault: the bot is back on the gateway.
async fn answers_a_command(h: &Harness) {
    let ix = h.slash(MEMBER, "help", json!([])).await;
    let (_, reply) = h.any_reply(ix).await;
    assert!(
        !reply["embeds"].as_array().is_none_or(Vec::is_empty),
        "{reply}"
    );
}

/// After a gateway fault (`inject`) the bot is back by itself (`back` holds on its session
/// counts: READYs, RESUMEs): it answers a command and announces a trophy once. Returns the
/// harness for more checks.
async fn gateway_fault_recovers(
    test: &'static str,
    inject: impl FnOnce(&Harness),
    what: &str,
    back: impl Fn((u64, u64), (u64, u64)) -> bool,
) -> Harness {
    let h = fast_tracker().start().await;
    let (title, open) = tracked_player(&h).await;
    let before = h.discord.session_counts();
    inject(&h);
    let healed = Instant::now();
    h.discord
        .wait_for(what, |d| back(before, d.session_counts()).then_some(()))
        .await
        .expect("the bot is back on the gateway");
    answers_a_command(&h).await;
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    announced_once_after(&h, test, &open[0], healed, None).await;
    h
}

#[tokio::test]
async fn discord_gateway_reconnect_resumes() {
    gateway_fault_recovers(
        "faults::discord_gateway_reconnect_resumes",
        |h| h.discord.request_reconnect().expect("op 7 sent"),
        "a RESUME",
        |before, now| now.1 > before.1,
    )
    .await;
}

#[tokio::test]
async fn discord_gateway_invalid_session_identifies_again() {
    let h = gateway_fault_recovers(
        "faults::discord_gateway_invalid_session_identifies_again",
        |h| h.discord.invalidate_session(false).expect("op 9 sent"),
        "a new IDENTIFY",
        |before, now| now.0 > before.0,
    )
    .await;
    let store = h.store().await;
    assert_eq!(
        store.tracked_accounts(GUILD).await.expect("tracked").len(),
        1,
        "a new session forgets nothing"
    );
}

#[tokio::test]
async fn database_goes_down_mid_run() {
    let mut h = fast_tracker().start().await;
    // The bot reaches PostgreSQL through a proxy the test can cut, as a restart would.
    let upstream = url::Url::parse(&h.db.url).expect("the database URL");
    let upstream_addr = format!(
        "{}:{}",
        upstream.host_str().expect("a host"),
        upstream.port().unwrap_or(5432)
    );
    let upstream_addr = tokio::net::lookup_host(upstream_addr)
        .await
        .expect("the database's address")
        .next()
        .expect("an address");
    let proxy = TcpProxy::start(upstream_addr).await;
    let mut through_proxy = upstream.clone();
    through_proxy
        .set_port(Some(proxy.addr().port()))
        .expect("a port");
    through_proxy.set_host(Some("127.0.0.1")).expect("a host");
    h.restart_with_env("DATABASE_URL", through_proxy.as_str())
        .await;
    let (title, open) = tracked_player(&h).await;

    proxy.cut();
    let during = wait_for_health(&h, "503 while the database is down", |status, _| {
        status == 503
    })
    .await;
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    // A command while the database is down: an answer in words, not silence.
    let ix = h.slash(ADMIN, "track", subcommand("list", vec![])).await;
    let (ephemeral, reply) = h.any_reply(ix).await;
    assert!(ephemeral, "{reply}");
    proxy.restore();
    let healed = Instant::now();
    announced_once_after(
        &h,
        "faults::database_goes_down_mid_run",
        &open[0],
        healed,
        Some(during),
    )
    .await;
    wait_for_health(&h, "200 once the database is back", |status, _| {
        status == 200
    })
    .await;
}

#[tokio::test]
async fn sigterm_while_a_post_is_rate_limited() {
    let mut h = fast_tracker()
        .env("TROPHYBOT_INSTANCE", "bot-a")
        .start()
        .await;
    let (title, open) = tracked_player(&h).await;
    let path = format!("/channels/{CHANNEL}/messages");
    h.discord
        .inject_fault(DiscordFault::rate_limited("POST", &path, 5.0));
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    h.discord
        .wait_for("the rate-limited post", |d| {
            d.requests()
                .iter()
                .any(|r| r.method == "POST" && r.path.ends_with(&path) && r.status == 429)
                .then_some(())
        })
        .await
        .expect("the deliverer tried");
    let status = h.terminate().await;
    assert!(status.success(), "a clean exit: {status:?}");
    h.restart().await;
    let healed = Instant::now();
    announced_once_after(
        &h,
        "faults::sigterm_while_a_post_is_rate_limited",
        &open[0],
        healed,
        None,
    )
    .await;
}

/// Killed (SIGKILL) at `point` on a trophy's way from poll to post, then started again
/// without the hook: the trophy is announced exactly once.
async fn killed_at(point: Failpoint, test: &'static str) {
    let mut h = fast_tracker()
        .env("TROPHYBOT_INSTANCE", "bot-a")
        .env("TROPHYBOT_FAILPOINT", point.name())
        .capture_output()
        .start()
        .await;
    let (title, open) = tracked_player(&h).await;
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    let reached = format!("failpoint {} reached", point.name());
    wait_until(&reached, || async {
        h.bot_output().contains(&reached).then_some(())
    })
    .await;
    h.kill();
    h.restart_with_env("TROPHYBOT_FAILPOINT", "").await;
    let healed = Instant::now();
    announced_once_after(&h, test, &open[0], healed, None).await;
}

#[tokio::test]
async fn sigkill_before_the_poll_commits() {
    killed_at(
        Failpoint::PollBeforeCommit,
        "faults::sigkill_before_the_poll_commits",
    )
    .await;
}

#[tokio::test]
async fn sigkill_after_the_poll_commits() {
    killed_at(
        Failpoint::PollAfterCommit,
        "faults::sigkill_after_the_poll_commits",
    )
    .await;
}

#[tokio::test]
async fn sigkill_after_the_claim() {
    killed_at(
        Failpoint::DeliverAfterClaim,
        "faults::sigkill_after_the_claim",
    )
    .await;
}

#[tokio::test]
async fn sigkill_before_the_post() {
    killed_at(
        Failpoint::DeliverBeforePost,
        "faults::sigkill_before_the_post",
    )
    .await;
}

#[tokio::test]
async fn sigkill_after_the_post() {
    killed_at(
        Failpoint::DeliverAfterPost,
        "faults::sigkill_after_the_post",
    )
    .await;
}

#[tokio::test]
async fn sigkill_after_the_mark() {
    killed_at(
        Failpoint::DeliverAfterMark,
        "faults::sigkill_after_the_mark",
    )
    .await;
}
