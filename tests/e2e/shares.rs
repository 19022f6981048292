//! Fair shares of the PSN budget through the real binary: a member past their share, and a
//! server past its, are told "rate limit" and when to retry (only they see it), and nothing is
//! asked of PSN for what was refused; what the caches answer costs nothing and is never
//! refused. Counted in the simulator's request log.

use std::time::Duration;

use discord_fake::InteractionEvent;
use serde_json::{json, Value};

use crate::support::bot::{
    is_ephemeral, next_page_button, opt, text_of, wait_until, Harness, CALLBACK_DEFERRED_UPDATE,
    CHANNEL, GUILD, MEMBER, OTHER_MEMBER,
};

/// The share window (`PSN_RATE_LIMIT`'s): long enough that nothing leaves it during the test.
const WINDOW: Duration = Duration::from_secs(600);
const USER_SHARE: usize = 6;
const SERVER_SHARE: usize = 10;

/// The API requests the simulator served since the last reset (sign-in aside).
fn psn_requests(h: &Harness) -> usize {
    h.sim
        .requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/api/authz") && !r.path.starts_with("/_sim"))
        .count()
}

/// Runs `/trophies user:…` as `member` for each of `players` in turn (each cold: a lookup, a
/// listing and a summary) until one is refused: the commands answered, the PSN requests they
/// cost, and the refusal.
async fn spam_until_refused(h: &Harness, member: u64, players: &[&str]) -> (usize, usize, Value) {
    let mut spent = 0;
    for (answered, player) in players.iter().enumerate() {
        h.sim.reset_requests();
        let ix = h
            .slash(member, "trophies", json!([opt("user", player)]))
            .await;
        let (ephemeral, reply) = h.any_reply(ix).await;
        let text = text_of(&reply);
        if text.contains("rate limit") {
            assert!(ephemeral, "a refusal is for the caller only: {reply}");
            assert_eq!(psn_requests(h), 0, "nothing is spent on a refused command");
            return (answered, spent, reply);
        }
        assert!(!ephemeral && text.contains(player), "{reply}");
        spent += psn_requests(h);
    }
    panic!("member {member} was never refused");
}

/// The choices a `game` keystroke of `member` typing in `/trophies user:player` gets.
async fn game_choices(h: &Harness, member: u64, player: &str) -> Vec<Value> {
    let ix = h
        .discord
        .send_autocomplete(
            GUILD,
            CHANNEL,
            member,
            "trophies",
            json!([opt("user", player), {"name": "game", "type": 3, "value": "a", "focused": true}]),
        )
        .await
        .expect("autocomplete dispatched");
    match h.discord.wait_for_response(ix).await.expect("answered") {
        InteractionEvent::Callback {
            data: Some(data), ..
        } => data["choices"].as_array().cloned().unwrap_or_default(),
        other => panic!("expected choices, got {other:?}"),
    }
}

/// The `<t:UNIX:R>` a refusal names (`text_of` lower-cases).
fn retry_at(reply: &Value) -> i64 {
    let text = text_of(reply);
    text.split("<t:")
        .nth(1)
        .and_then(|rest| rest.split(":r>").next())
        .and_then(|unix| unix.parse().ok())
        .unwrap_or_else(|| panic!("no <t:UNIX:R> in {text}"))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_spamming_member_is_refused_at_their_share_and_the_server_at_its() {
    let h = Harness::builder()
        .env("PSN_RATE_LIMIT", "600/10m")
        .env("COMMAND_SHARE_USER", &USER_SHARE.to_string())
        .env("COMMAND_SHARE_SERVER", &SERVER_SHARE.to_string())
        .start()
        .await;

    let started = now();
    let (answered, member_spent, refusal) =
        spam_until_refused(&h, MEMBER, &["sim_hunter", "sim_casual", "sim_owner"]).await;
    let text = text_of(&refusal);
    assert!(answered >= 1, "the first commands are answered");
    assert!(text.contains("you have used your share"), "{text}");
    assert!(member_spent <= USER_SHARE, "{member_spent} requests");
    // Retry once the first command's requests leave the window.
    let retry = retry_at(&refusal);
    assert!(
        (started + 1..=now() + WINDOW.as_secs() as i64 + 1).contains(&retry),
        "{retry} vs {started}"
    );

    // What the caches hold costs nothing, so it is answered past the share: the same command
    // again, and `game` choices of a player whose titles were just listed.
    h.sim.reset_requests();
    let ix = h
        .slash(MEMBER, "trophies", json!([opt("user", "sim_hunter")]))
        .await;
    let (ephemeral, reply) = h.any_reply(ix).await;
    assert!(
        !ephemeral && text_of(&reply).contains("sim_hunter"),
        "{reply}"
    );
    assert!(!game_choices(&h, MEMBER, "sim_casual").await.is_empty());
    assert_eq!(psn_requests(&h), 0, "answered from the caches");
    // Typing in `game` for a player nothing is cached of would ask PSN (a lookup and a
    // listing): past the share it offers nothing and asks nothing.
    assert!(game_choices(&h, MEMBER, "sim_newname").await.is_empty());
    assert_eq!(psn_requests(&h), 0, "nothing spent on a refused keystroke");

    // Another member of the same server still gets answers, until the server's share is used.
    let (answered, other_spent, refusal) =
        spam_until_refused(&h, OTHER_MEMBER, &["sim_owner", "sim_newname", "sim_empty"]).await;
    let text = text_of(&refusal);
    assert!(answered >= 1, "another member is answered: {text}");
    assert!(text.contains("this server has used its share"), "{text}");
    assert!(
        member_spent + other_spent <= SERVER_SHARE,
        "{member_spent} + {other_spent} requests"
    );
    assert!(retry_at(&refusal) <= now() + WINDOW.as_secs() as i64 + 1);

    let metrics = reqwest::get(format!("{}/metrics", h.ops_url()))
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("metrics text");
    for (reason, count) in [("user_share", 2), ("server_share", 1)] {
        let series = format!("trophybot_command_refusals_total{{reason=\"{reason}\"}} {count}");
        assert!(
            metrics.lines().any(|l| l == series),
            "{series} in {metrics}"
        );
    }
}

/// A page whose trophies are cached costs nothing and is turned past the share; after a
/// restart (empty caches) the same button costs the page's requests, and past the share it is
/// refused to the presser alone and spends nothing.
#[tokio::test]
async fn a_page_button_past_the_share_is_refused_to_the_presser_alone_and_spends_nothing() {
    let mut h = Harness::builder()
        .env("PSN_RATE_LIMIT", "600/10m")
        .env("COMMAND_SHARE_USER", &USER_SHARE.to_string())
        .start()
        .await;
    let title = h.biggest_title("sim_hunter").await;
    h.sim.reset_requests();
    let ix = h
        .slash(
            MEMBER,
            "trophies",
            json!([opt("user", "sim_hunter"), opt("game", &title)]),
        )
        .await;
    let page1 = h.deferred_reply(ix).await;
    // A cold game: the lookup, the title's definitions (2) and the earned state at least.
    let spent = psn_requests(&h);
    assert!(
        spent + 3 > USER_SHARE,
        "{spent} requests leave room for a cold page"
    );
    let message_id = h.reply_message_id(ix);

    // Warm: the command left the title's trophies in the cache.
    h.sim.reset_requests();
    let press = h
        .discord
        .send_button_click(GUILD, MEMBER, message_id, &next_page_button(&page1))
        .await
        .expect("press dispatched");
    let log = h
        .discord
        .wait_for_interaction_events(press, 2)
        .await
        .expect("the press is answered");
    assert!(
        matches!(
            log[0],
            InteractionEvent::Callback {
                kind: CALLBACK_DEFERRED_UPDATE,
                ..
            }
        ),
        "{log:?}"
    );
    let InteractionEvent::EditOriginal { body: page2, .. } = &log[1] else {
        panic!("page redrawn in place: {log:?}");
    };
    assert_ne!(page2["embeds"], page1["embeds"]);
    assert_eq!(psn_requests(&h), 0, "a cached page costs nothing");

    // Cold after a restart; the member's share used by two other players' profiles.
    h.restart().await;
    let (answered, _, _) =
        spam_until_refused(&h, MEMBER, &["sim_casual", "sim_owner", "sim_newname"]).await;
    assert_eq!(answered, 2);
    let page2 = h
        .discord
        .messages()
        .into_iter()
        .find(|m| m.message_id == message_id)
        .expect("the page")
        .message;
    h.sim.reset_requests();
    let press = h
        .discord
        .send_button_click(GUILD, MEMBER, message_id, &next_page_button(&page2))
        .await
        .expect("press dispatched");
    let refusal = h.immediate_reply(press).await;
    assert!(is_ephemeral(&refusal), "{refusal}");
    assert!(text_of(&refusal).contains("rate limit"), "{refusal}");
    retry_at(&refusal);
    assert_eq!(psn_requests(&h), 0, "nothing spent on a refused press");
    // The page stays as it was.
    let message = h
        .discord
        .messages()
        .into_iter()
        .find(|m| m.message_id == message_id)
        .expect("the page");
    assert_eq!(message.message["components"], page2["components"]);
    assert_eq!(message.message["embeds"], page2["embeds"]);
}

/// Typing in `game` asks PSN once (the player's lookup and listing), then answers the following
/// keystrokes and the command from what that fetched; another player's titles, not cached, are
/// not fetched again within the member's interval (no choices, nothing spent), while another
/// member's keystrokes have their own.
#[tokio::test]
async fn typing_in_game_asks_psn_once_per_member_per_interval() {
    let h = Harness::builder()
        .env("PSN_RATE_LIMIT", "600/10m")
        .start()
        .await;
    h.sim.reset_requests();
    let first = game_choices(&h, MEMBER, "sim_hunter").await;
    assert!(!first.is_empty());
    let fetched = psn_requests(&h);
    assert!((1..=2).contains(&fetched), "{fetched} requests");

    h.sim.reset_requests();
    assert_eq!(game_choices(&h, MEMBER, "sim_hunter").await, first);
    assert!(game_choices(&h, MEMBER, "sim_casual").await.is_empty());
    assert_eq!(
        psn_requests(&h),
        0,
        "keystrokes within the interval ask nothing"
    );

    // The command the choice was picked for needs no listing either: the title's definitions
    // and the earned state (3) at most.
    let picked = first[0]["value"]
        .as_str()
        .expect("a choice's value")
        .to_string();
    let ix = h
        .slash(
            MEMBER,
            "trophies",
            json!([opt("user", "sim_hunter"), opt("game", &picked)]),
        )
        .await;
    h.deferred_reply(ix).await;
    assert!(psn_requests(&h) <= 3, "{} requests", psn_requests(&h));

    h.sim.reset_requests();
    assert!(!game_choices(&h, OTHER_MEMBER, "sim_casual")
        .await
        .is_empty());
    assert!(psn_requests(&h) > 0, "another member's first fetch");
}

/// A keystroke never waits on a slow PSN past Discord's 3 s: while the player's listing hangs
/// it is answered without choices, and the fetch goes on, so a later keystroke has the titles
/// without asking again.
#[tokio::test]
async fn a_keystroke_does_not_wait_for_a_hung_psn_and_the_fetch_lands_for_the_next() {
    let h = Harness::builder()
        .env("PSN_RATE_LIMIT", "600/10m")
        .start()
        .await;
    h.sim.reset_requests();
    // The first request (the lookup) never answers; the client times it out and asks again.
    h.sim.inject(psn_sim::Fault::Timeout { count: 1 });
    assert!(game_choices(&h, MEMBER, "sim_hunter").await.is_empty());
    wait_until("the listing fetched in the background", || async {
        h.sim
            .requests()
            .iter()
            .any(|r| r.path.contains("/trophyTitles") && r.status == 200)
            .then_some(())
    })
    .await;
    let asked = psn_requests(&h);
    // The bot caches the listing a moment after the simulator answered it.
    wait_until("a keystroke with the fetched titles", || async {
        (!game_choices(&h, MEMBER, "sim_hunter").await.is_empty()).then_some(())
    })
    .await;
    assert_eq!(psn_requests(&h), asked, "later keystrokes ask nothing");
}
