//! Canary secrets: the real bot runs with distinctive values for every secret it holds (the
//! Discord token, the NPSSO, the access and refresh tokens PSN issues, the database password),
//! is driven through successes and failures, and none of them shows up in its output, a reply,
//! a message, `/metrics`, `/healthz`, the saved sign-in or a snapshot.

use std::path::Path;

use psn_sim::{Fault, SimConfig};
use serde_json::json;

use crate::support::bot::{opt, text_of, wait_until, Harness, CHANNEL, MEMBER};

const DISCORD_TOKEN: &str = "canary-discord-token-5e1f0c";
const NPSSO: &str = "canary-npsso-8d2b47";
const ACCESS_TOKEN_PREFIX: &str = "canary-access-3a9c61-";
const REFRESH_TOKEN_PREFIX: &str = "canary-refresh-b7e054-";
const DATABASE_PASSWORD: &str = "canary-db-password-4f6d";

const CANARIES: [&str; 5] = [
    DISCORD_TOKEN,
    NPSSO,
    ACCESS_TOKEN_PREFIX,
    REFRESH_TOKEN_PREFIX,
    DATABASE_PASSWORD,
];

fn assert_no_canary(place: &str, text: &str) {
    for canary in CANARIES {
        assert!(
            !text.contains(canary),
            "{canary} leaked into {place}: {text}"
        );
    }
}

const REJECTED_ALERT: &str = "PSN rejected the bot's credential";

/// The rejected-credential alerts posted to the operator channel.
fn rejection_alerts(discord: &discord_fake::FakeDiscord) -> usize {
    discord
        .channel_messages(CHANNEL)
        .into_iter()
        .filter(|m| m.message.to_string().contains(REJECTED_ALERT))
        .count()
}

#[tokio::test]
async fn canary_secrets_appear_in_no_log_reply_message_metric_or_saved_row() {
    let mut h = Harness::builder()
        .discord_token(DISCORD_TOKEN)
        .sim_config(SimConfig {
            npsso: NPSSO.to_string(),
            access_token_prefix: ACCESS_TOKEN_PREFIX.to_string(),
            refresh_token_prefix: REFRESH_TOKEN_PREFIX.to_string(),
            ..SimConfig::default()
        })
        .env("PSN_NPSSO", NPSSO)
        .env("OPS_ALERT_CHANNEL", &CHANNEL.to_string())
        // Everything the bot and its libraries say at debug level.
        .env("RUST_LOG", "debug")
        .database_password(DATABASE_PASSWORD)
        .capture_output()
        .start()
        .await;
    assert!(h.db.url.contains(DATABASE_PASSWORD));

    // Successes: the canary NPSSO signs in and the canary tokens are in use.
    let profile = h.profile_reply("sim_hunter").await;
    assert!(text_of(&profile).contains("sim_hunter"), "{profile}");
    let (_, tracked) = h.track_add("sim_casual").await;
    assert!(!text_of(&tracked).is_empty());
    assert!(
        h.sim
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/oauth/token")),
        "the bot holds issued tokens"
    );

    // Failures: a user PSN does not know, a bad option, then PSN rejects every credential.
    let unknown = h.profile_reply("nobody_here").await;
    assert!(text_of(&unknown).contains("not found"), "{unknown}");
    let bad = h
        .any_reply(
            h.slash(
                MEMBER,
                "rarest",
                json!([opt("user", "sim_hunter"), {"name": "count", "type": 4, "value": 99}]),
            )
            .await,
        )
        .await;
    assert!(!text_of(&bad.1).is_empty());
    h.sim.inject(Fault::RevokeTokens);
    h.sim.inject(Fault::RejectNpsso);
    let rejected = h.profile_reply("sim_casual").await;
    assert!(text_of(&rejected).contains("credential"), "{rejected}");
    wait_until("the operator alert", || async {
        (rejection_alerts(&h.discord) > 0).then_some(())
    })
    .await;

    // Turned away by the backoff: no sign-in, no second alert.
    let sign_ins_before = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth/authorize"))
        .count();
    // A player nothing is cached of (sim_hunter's profile would be answered from the caches).
    let again = h.profile_reply("sim_owner").await;
    assert!(text_of(&again).contains("credential"), "{again}");
    let sign_ins_after = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth/authorize"))
        .count();
    assert_eq!(sign_ins_before, sign_ins_after, "no sign-in per command");

    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", h.ops_url()))
        .send()
        .await
        .expect("/healthz answers")
        .text()
        .await
        .expect("a body");
    assert!(health.contains("credential_rejected"), "{health}");
    assert_no_canary("/healthz", &health);
    let metrics = http
        .get(format!("{}/metrics", h.ops_url()))
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("a body");
    assert_no_canary("/metrics", &metrics);

    // A clean stop saves the sign-in (sealed) and flushes the logs.
    assert_eq!(h.terminate().await.code(), Some(0));
    assert_eq!(
        rejection_alerts(&h.discord),
        1,
        "one alert for the rejection episode"
    );

    let output = h.bot_output();
    assert!(!output.is_empty(), "the bot's output was captured");
    assert_eq!(
        output.matches(REJECTED_ALERT).count(),
        1,
        "one error in the log: {output}"
    );
    assert_no_canary("the bot's output", &output);
    assert_no_canary(
        "the requests the fake Discord recorded (replies, edits, messages)",
        &format!("{:?}", h.discord.requests()),
    );
    assert_no_canary(
        "the messages the fake Discord holds",
        &format!("{:?}", h.discord.messages()),
    );

    let store = h.store().await;
    let rows: Vec<(String,)> = sqlx::query_as("SELECT t::text FROM psn_credential t")
        .fetch_all(store.pool())
        .await
        .expect("the saved sign-in");
    assert_eq!(rows.len(), 1, "the sign-in was saved");
    assert_no_canary("the saved sign-in", &rows[0].0);
    store.close().await;
}

/// `trophybot run` and `trophybot migrate` with a `DATABASE_URL` that does not parse or cannot
/// connect fail with a clear message that never shows the password.
#[tokio::test]
async fn a_bad_database_url_is_reported_without_its_password() {
    let h = Harness::builder()
        .discord_token(DISCORD_TOKEN)
        .env("PSN_NPSSO", NPSSO)
        .capture_output()
        .start()
        .await;
    let pw = DATABASE_PASSWORD;
    let unparsable = [
        format!("postgres://postgres:{pw}@127.0.0.1:notaport/canary_never_created"),
        format!("postgres://postgres:{pw}#x@127.0.0.1/canary_never_created"),
        format!("postgres://postgres:{pw}@[::1/canary_never_created"),
        format!("postgres:/postgres:{pw}@127.0.0.1/canary_never_created"),
        format!("postgres:postgres:{pw}@127.0.0.1/canary_never_created"),
        format!("postgres://postgres:{pw}@127.0.0.1/canary_never_created?sslmode=bogus"),
        format!("mysql://postgres:{pw}@127.0.0.1/canary_never_created"),
        pw.to_string(),
    ];
    // Port 1 refuses connections.
    let unreachable = format!("postgres://postgres:{pw}@127.0.0.1:1/canary_never_created");
    for url in unparsable.iter().chain([&unreachable]) {
        for subcommand in ["run", "migrate"] {
            let output = h.run_to_exit(subcommand, &[("DATABASE_URL", url)]).await;
            let printed = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert_ne!(
                output.status.code(),
                Some(0),
                "{subcommand} {url}: {printed}"
            );
            assert!(
                printed.to_lowercase().contains("database"),
                "{subcommand} {url} names the problem: {printed}"
            );
            assert_no_canary(&format!("`trophybot {subcommand}` with {url:?}"), &printed);
        }
    }
    let store = h.store().await;
    let (created,): (bool,) =
        sqlx::query_as("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname LIKE '%canary%')")
            .fetch_one(store.pool())
            .await
            .expect("list databases");
    assert!(!created, "no bad URL reached a database");
    store.close().await;
}

/// Snapshots are reviewed and committed: none may hold a secret, canary or real.
#[test]
fn no_snapshot_holds_a_canary() {
    fn visit(dir: &Path, inside_snapshots: bool, checked: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                let snapshots = inside_snapshots || path.ends_with("snapshots");
                visit(&path, snapshots, checked);
            } else if inside_snapshots {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                assert_no_canary(&path.display().to_string(), &text);
                assert!(!text.contains(psn_sim::SIM_NPSSO), "{}", path.display());
                *checked += 1;
            }
        }
    }
    let mut checked = 0;
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
        false,
        &mut checked,
    );
    assert!(checked > 0, "snapshot files were found and read");
}
