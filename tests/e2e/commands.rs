//! End to end: the real `trophybot run` binary (serenity + poise) against the fake Discord and
//! the PSN simulator. Tests assert the order of events and the payloads, never wall-clock time.

use std::process::Command;
use std::time::Duration;

use discord_fake::InteractionEvent;
use psn_sim::{Fault, SIM_NPSSO};
use serde_json::{json, Value};

use crate::support::bot::{
    is_ephemeral, next_page_button, opt, text_of, Harness, CALLBACK_AUTOCOMPLETE,
    CALLBACK_DEFERRED_UPDATE, CHANNEL, EPHEMERAL, GUILD, MEMBER, OTHER_MEMBER,
};

#[tokio::test]
async fn commands_answer_with_deferred_replies_within_discords_limits() {
    // With the default shares: a cold `/rarest` across titles is held to its cap, so it fits
    // a member's share next to a profile and a `/compare`.
    let h = Harness::start().await;

    let profile = h.profile_reply("sim_hunter").await;
    assert!(text_of(&profile).contains("sim_hunter"), "{profile}");
    assert!(!profile["embeds"].as_array().unwrap().is_empty());

    let rarest = h
        .deferred_reply(
            h.slash(
                MEMBER,
                "rarest",
                json!([opt("user", "sim_hunter"), {"name": "count", "type": 4, "value": 5}]),
            )
            .await,
        )
        .await;
    assert!(text_of(&rarest).contains("%"), "rarity shown: {rarest}");

    let compare = h
        .deferred_reply(
            h.slash(
                MEMBER,
                "compare",
                json!([opt("user", "sim_hunter"), opt("other", "sim_casual")]),
            )
            .await,
        )
        .await;
    let compare_text = text_of(&compare);
    assert!(compare_text.contains("sim_hunter") && compare_text.contains("sim_casual"));

    // Markdown and @everyone from PSN names arrive escaped and never ping. Asked by another
    // member: the default share (22 requests per 15 minutes) holds about one cold `/rarest`
    // and two other cold commands, which the member above has used.
    let markdown = h
        .deferred_reply(
            h.slash(
                OTHER_MEMBER,
                "trophies",
                json!([opt("user", "sim_markdown")]),
            )
            .await,
        )
        .await;
    assert!(!markdown.to_string().contains("@everyone"), "{markdown}");

    // Every request the bot made was accepted: no Discord limit was broken.
    let rejected: Vec<_> = h
        .discord
        .requests()
        .into_iter()
        .filter(|r| r.status >= 400)
        .collect();
    assert!(rejected.is_empty(), "rejected by Discord: {rejected:?}");
}

/// The option definitions Discord gets come from the bot's option types: Discord itself checks
/// an online ID's length and `count`'s range, and offers `game` choices.
#[tokio::test]
async fn options_are_registered_with_their_limits() {
    let h = Harness::start().await;
    let rarest = h
        .discord
        .commands(Some(GUILD))
        .into_iter()
        .find(|c| c["name"] == "rarest")
        .expect("/rarest registered");
    let option = |name: &str| -> Value {
        rarest["options"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("option {name} in {rarest}"))
    };
    let user = option("user");
    assert_eq!(
        (
            user["type"].as_u64(),
            user["min_length"].as_u64(),
            user["max_length"].as_u64()
        ),
        (Some(3), Some(3), Some(16))
    );
    let game = option("game");
    assert_eq!(game["autocomplete"], json!(true), "{game}");
    assert_eq!(game["max_length"].as_u64(), Some(100));
    let count = option("count");
    assert_eq!(
        (
            count["type"].as_u64(),
            count["min_value"].as_f64(),
            count["max_value"].as_f64()
        ),
        (Some(4), Some(1.0), Some(25.0))
    );
}

#[tokio::test]
async fn help_lists_every_registered_command_only_to_the_caller() {
    let h = Harness::start().await;
    let (ephemeral, added) = h.track_add("sim_casual").await;
    assert!(
        ephemeral && text_of(&added).contains("now tracking"),
        "{added}"
    );

    let help = h
        .immediate_reply(h.slash(MEMBER, "help", json!([])).await)
        .await;
    assert!(is_ephemeral(&help), "help is for the caller only: {help}");
    let text = text_of(&help);
    // Every command Discord was given, with its subcommands as `/track add|remove|list`.
    let registered = h.discord.commands(Some(GUILD));
    assert!(
        registered.iter().any(|c| c["name"] == "help"),
        "/help registered"
    );
    for command in &registered {
        let name = command["name"].as_str().unwrap_or_default();
        let subcommands: Vec<&str> = command["options"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|o| o["type"] == 1)
            .filter_map(|o| o["name"].as_str())
            .collect();
        let heading = if subcommands.is_empty() {
            format!("/{name}")
        } else {
            format!("/{name} {}", subcommands.join("|"))
        };
        assert!(
            text.contains(&format!("\"{heading}")),
            "{heading} in {help}"
        );
    }
    // What this server tracks, and that this member has no link yet.
    assert!(text.contains("sim_casual"), "{help}");
    assert!(text.contains("you have not linked"), "{help}");
}

#[tokio::test]
async fn pages_turn_for_the_invoker_only_and_autocomplete_offers_titles() {
    let h = Harness::start().await;

    let ix = h
        .discord
        .send_autocomplete(
            GUILD,
            CHANNEL,
            MEMBER,
            "trophies",
            json!([opt("user", "sim_hunter"), {"name": "game", "type": 3, "value": "a", "focused": true}]),
        )
        .await
        .unwrap();
    match h.discord.wait_for_response(ix).await.unwrap() {
        InteractionEvent::Callback {
            kind,
            data: Some(data),
            ..
        } => {
            assert_eq!(kind, CALLBACK_AUTOCOMPLETE);
            let choices = data["choices"].as_array().expect("choices").clone();
            assert!(!choices.is_empty() && choices.len() <= 25, "{data}");
        }
        other => panic!("expected autocomplete choices, got {other:?}"),
    }

    // A big title's trophy list has page buttons.
    let title = h.biggest_title("sim_hunter").await;
    let ix = h
        .slash(
            MEMBER,
            "trophies",
            json!([opt("user", "sim_hunter"), opt("game", &title)]),
        )
        .await;
    let page1 = h.deferred_reply(ix).await;
    let next = next_page_button(&page1);
    let message_id = h.reply_message_id(ix);

    // Someone else cannot turn the pages.
    let press = h
        .discord
        .send_button_click(GUILD, OTHER_MEMBER, message_id, &next)
        .await
        .unwrap();
    let refusal = h.immediate_reply(press).await;
    assert_eq!(
        refusal["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
        EPHEMERAL
    );
    assert!(text_of(&refusal).contains("only the person"));

    // The invoker can.
    let press = h
        .discord
        .send_button_click(GUILD, MEMBER, message_id, &next)
        .await
        .unwrap();
    let log = h
        .discord
        .wait_for_interaction_events(press, 2)
        .await
        .unwrap();
    assert!(matches!(
        log[0],
        InteractionEvent::Callback {
            kind: CALLBACK_DEFERRED_UPDATE,
            ..
        }
    ));
    let InteractionEvent::EditOriginal { body, .. } = &log[1] else {
        panic!("page redrawn in place: {log:?}");
    };
    assert_ne!(
        body["embeds"], page1["embeds"],
        "page 2 differs from page 1"
    );
}

#[tokio::test]
async fn a_page_button_not_on_the_message_is_refused_without_asking_psn() {
    let h = Harness::start().await;
    let title = h.biggest_title("sim_hunter").await;
    let ix = h
        .slash(
            MEMBER,
            "trophies",
            json!([opt("user", "sim_hunter"), opt("game", &title)]),
        )
        .await;
    let page1 = h.deferred_reply(ix).await;
    let genuine = page1["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap_or_else(|| panic!("page buttons: {page1}"))
        .to_string();
    let message_id = h
        .discord
        .messages()
        .into_iter()
        .find(|m| m.interaction == Some(ix))
        .expect("the reply message")
        .message_id;

    // The presser's own id, but another account: `trophies:{onlineId}:{accountId}:...`.
    let victim = h.sim.account_id("sim_casual").expect("a sim user");
    let mut parts: Vec<&str> = genuine.split(':').collect();
    parts[1] = "sim_casual";
    parts[2] = &victim;
    let forged = parts.join(":");
    h.sim.reset_requests();

    let press = h
        .discord
        .send_button_click(GUILD, MEMBER, message_id, &forged)
        .await
        .unwrap();
    let refusal = h.immediate_reply(press).await;
    assert!(is_ephemeral(&refusal), "{refusal}");
    assert!(text_of(&refusal).contains("not valid"), "{refusal}");
    let asked: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.contains(&victim))
        .collect();
    assert!(
        asked.is_empty(),
        "no PSN request for the forged account: {asked:?}"
    );
}

#[tokio::test]
async fn user_errors_are_explained_in_the_contracts_words() {
    let h = Harness::start().await;

    // Known before any request: answered at once, ephemerally.
    let invalid = h
        .immediate_reply(
            h.slash(MEMBER, "trophies", json!([opt("user", "no spaces!")]))
                .await,
        )
        .await;
    assert_eq!(
        invalid["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
        EPHEMERAL
    );
    assert!(
        text_of(&invalid).contains("not a valid psn online id"),
        "{invalid}"
    );

    let private = h.profile_reply("sim_private").await;
    assert!(text_of(&private).contains("private"), "{private}");

    let unknown = h.profile_reply("nobody_here").await;
    assert!(text_of(&unknown).contains("not found"), "{unknown}");
}

#[tokio::test]
async fn a_psn_outage_is_told_to_the_caller_only() {
    let h = Harness::start().await;
    h.sim.inject(Fault::ServerError { count: 1000 });
    let outage = h.profile_reply("sim_casual").await;
    assert!(text_of(&outage).contains("unavailable"), "{outage}");
}

#[tokio::test]
async fn a_rate_limited_psn_names_the_retry_time() {
    let h = Harness::start().await;
    h.sim.inject(Fault::RateLimited {
        for_: Duration::from_secs(600),
    });
    let before = chrono::Utc::now().timestamp();
    let limited = h.profile_reply("sim_hunter").await;
    let after = chrono::Utc::now().timestamp();
    let text = text_of(&limited);
    assert!(text.contains("rate limit"), "{limited}");
    // PSN's answer says "in ten minutes" (under the 15-minute cap) on its own clock; the user is
    // told the wall-clock time.
    let retry_at: i64 = text
        .split("<t:")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a Discord timestamp names the retry time: {limited}"));
    assert!(
        (before + 600..=after + 601).contains(&retry_at),
        "retry in ten minutes: {retry_at} not in {}..={}",
        before + 600,
        after + 601
    );
}

#[tokio::test]
async fn sigterm_stops_the_bot_cleanly() {
    let mut h = Harness::start().await;
    let exit = h.terminate().await;
    assert_eq!(exit.code(), Some(0), "exit 0 after SIGTERM");
}

#[tokio::test]
async fn health_and_metrics_answer_while_the_bot_runs() {
    let h = Harness::start().await;
    let profile = h.profile_reply("sim_hunter").await;
    assert!(text_of(&profile).contains("sim_hunter"), "{profile}");

    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", h.ops_url()))
        .send()
        .await
        .expect("/healthz answers");
    assert_eq!(health.status().as_u16(), 200, "healthy while connected");
    assert_eq!(
        health.json::<Value>().await.expect("JSON health"),
        json!({"status": "ok", "discord": "connected", "psn": "ok", "database": "ok",
               "tasks": {"deliverer": "running", "pruner": "running", "recaps": "running", "tracker": "running"}})
    );

    let metrics = http
        .get(format!("{}/metrics", h.ops_url()))
        .send()
        .await
        .expect("/metrics answers");
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().await.expect("metrics text");
    let value = |series: &str| -> Option<f64> {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                (name == series).then(|| value.parse().ok())?
            })
    };
    let command_lane = "trophybot_psn_requests_total{lane=\"command\"}";
    let requests = value(command_lane).unwrap_or_else(|| panic!("{command_lane} in {text}"));
    assert!(requests > 0.0, "the command asked PSN in its lane: {text}");
    for lane in ["tracker", "sign_in"] {
        let series = format!("trophybot_psn_requests_total{{lane=\"{lane}\"}}");
        assert!(value(&series).is_some(), "{series} in {text}");
    }
    assert_eq!(
        value("trophybot_commands_total{command=\"trophies\",outcome=\"ok\"}"),
        Some(1.0),
        "the command was counted: {text}"
    );
    // The secrets the bot runs with never show up in what it exposes.
    assert!(!text.contains(SIM_NPSSO) && !text.contains(&h.discord.config().token));
}

#[test]
fn run_with_bad_settings_exits_2_listing_every_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = "npsso-that-must-never-be-printed";
    let out = Command::new(env!("CARGO_BIN_EXE_trophybot"))
        .arg("run")
        .env_clear()
        .current_dir(dir.path())
        .env("PSN_API", "legacy")
        .env("PSN_TOKEN", secret)
        .env("PSN_RATE_LIMIT", "lots")
        .env("DISCORD_API_URL", "not a url")
        .env("DISCORD_API_ADDR", "discord.local")
        .env("DISCORD_EXTRA_CA", dir.path().join("missing.pem"))
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for problem in [
        "DISCORD_TOKEN",
        "PSN_RATE_LIMIT",
        "DISCORD_API_URL",
        "DISCORD_API_ADDR",
        "DISCORD_EXTRA_CA",
        "legacy",
    ] {
        assert!(stderr.contains(problem), "{problem} named in: {stderr}");
    }
    assert!(!stderr.contains(secret), "no secret printed: {stderr}");
    assert!(out.stdout.is_empty());
}

/// On production's path serenity's limiter waits out the 429; on `DISCORD_API_URL` (limiter
/// off) the bot's own retry does, and counts it in the metric.
#[tokio::test]
async fn a_rate_limited_discord_reply_is_retried() {
    let h = Harness::start().await;
    rate_limited_reply_is_retried(&h).await;
}

#[tokio::test]
async fn a_rate_limited_discord_reply_is_retried_by_the_bot_itself_over_plain_http() {
    let h = Harness::builder().plain_http_discord().start().await;
    rate_limited_reply_is_retried(&h).await;
    let metrics = reqwest::get(format!("{}/metrics", h.ops_url()))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    assert!(
        metrics.contains("trophybot_discord_invalid_requests_total{status=\"429\"} 1"),
        "{metrics}"
    );
}

async fn rate_limited_reply_is_retried(h: &Harness) {
    h.discord
        .inject_fault(discord_fake::Fault::rate_limited("PATCH", "/webhooks", 0.2));
    let reply = h.profile_reply("sim_casual").await;
    assert!(text_of(&reply).contains("sim_casual"), "{reply}");
    let edits: Vec<u16> = h
        .discord
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.starts_with("/webhooks"))
        .map(|r| r.status)
        .collect();
    assert_eq!(
        edits.first(),
        Some(&429),
        "the first edit was rate limited: {edits:?}"
    );
    assert!(
        edits.iter().skip(1).any(|s| *s < 300),
        "then retried: {edits:?}"
    );
}

#[tokio::test]
async fn title_definitions_fetched_for_a_command_survive_a_crash() {
    let mut h = Harness::start().await;
    let title = h.biggest_title("sim_hunter").await;
    let trophies = json!([opt("user", "sim_hunter"), opt("game", &title)]);
    let ix = h.slash(MEMBER, "trophies", trophies.clone()).await;
    let first = h.deferred_reply(ix).await;
    assert!(text_of(&first).contains("page 1"), "{first}");
    let store = h.store().await;
    let pool = store.pool().clone();
    crate::support::bot::wait_until("the definition in the database", || {
        let pool = pool.clone();
        async move {
            let (saved,): (i64,) = sqlx::query_as("SELECT count(*) FROM title_definitions")
                .fetch_one(&pool)
                .await
                .ok()?;
            (saved > 0).then_some(())
        }
    })
    .await;

    // SIGKILL: no shutdown path runs. The next process answers from the saved definition.
    h.restart().await;
    h.sim.reset_requests();
    let ix = h.slash(MEMBER, "trophies", trophies).await;
    let again = h.deferred_reply(ix).await;
    assert!(text_of(&again).contains("page 1"), "{again}");
    let definition_requests: Vec<String> = h
        .sim
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|path| path.contains("/npCommunicationIds/") && !path.contains("/users/"))
        .collect();
    assert!(
        definition_requests.is_empty(),
        "definitions asked again: {definition_requests:?}"
    );
}
