//! End to end: `/link`, verification through the PSN "About me", `user` defaulting to the
//! linked account, and `/unlink`, with the real bot against the fake Discord and the simulator.

use discord_fake::InteractionEvent;
use serde_json::{json, Value};

use crate::support;
use crate::support::bot::{opt, text_of, Harness, CALLBACK_AUTOCOMPLETE, MEMBER, OTHER_MEMBER};

fn embed_title(body: &Value) -> &str {
    body["embeds"][0]["title"].as_str().unwrap_or_default()
}

/// The code the `/link` reply asks to put in "About me".
fn verification_code(body: &Value) -> String {
    body["embeds"][0]["fields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["name"] == "Verification code")
        .and_then(|f| f["value"].as_str())
        .map(|v| v.trim_matches('`').to_string())
        .unwrap_or_else(|| panic!("no verification code in {body}"))
}

#[tokio::test]
async fn link_verify_use_the_default_and_unlink() {
    let h = Harness::start().await;

    // Registered with `other` before the now optional `user`: Discord wants required first.
    let compare = h
        .discord
        .commands(Some(support::bot::GUILD))
        .into_iter()
        .find(|c| c["name"] == "compare")
        .expect("/compare registered");
    let options: Vec<(&str, bool)> = compare["options"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["name"].as_str().unwrap_or_default(),
                o["required"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(options, [("other", true), ("user", false), ("game", false)]);

    // Without a link, leaving out `user` is answered at once, only to the caller.
    let ix = h.slash(MEMBER, "trophies", json!([])).await;
    let (ephemeral, body) = h.any_reply(ix).await;
    assert!(ephemeral, "{body}");
    assert_eq!(embed_title(&body), "No linked PSN account");

    let ix = h
        .slash(MEMBER, "link", json!([opt("user", "sim_casual")]))
        .await;
    let (ephemeral, linked) = h.deferred(ix).await;
    assert!(ephemeral, "the code is for the caller only: {linked}");
    assert_eq!(embed_title(&linked), "Linked to sim\\_casual");
    let code = verification_code(&linked);

    // The link is used at once, verified or not.
    let ix = h.slash(MEMBER, "trophies", json!([])).await;
    let (ephemeral, profile) = h.deferred(ix).await;
    assert!(!ephemeral);
    assert_eq!(embed_title(&profile), "sim\\_casual's trophies");
    // A given user wins over the link.
    let ix = h
        .slash(MEMBER, "trophies", json!([opt("user", "sim_hunter")]))
        .await;
    let other = h.deferred_reply(ix).await;
    assert_eq!(embed_title(&other), "sim\\_hunter's trophies");

    let ix = h
        .slash(MEMBER, "compare", json!([opt("other", "sim_hunter")]))
        .await;
    let compared = h.deferred_reply(ix).await;
    assert_eq!(embed_title(&compared), "sim\\_casual vs sim\\_hunter");

    // Autocomplete without `user` offers the linked account's titles (sim_casual has 5).
    let ix = h
        .discord
        .send_autocomplete(
            support::bot::GUILD,
            support::bot::CHANNEL,
            MEMBER,
            "rarest",
            json!([{"name": "game", "type": 3, "value": "", "focused": true}]),
        )
        .await
        .expect("autocomplete dispatched");
    match h.discord.wait_for_response(ix).await.expect("answered") {
        InteractionEvent::Callback {
            kind: CALLBACK_AUTOCOMPLETE,
            data: Some(data),
            ..
        } => {
            let choices = data["choices"].as_array().map_or(0, Vec::len);
            assert_eq!(choices, 5, "{data}");
        }
        other => panic!("expected autocomplete choices, got {other:?}"),
    }

    // Someone else's link is not theirs.
    let ix = h.slash(OTHER_MEMBER, "rarest", json!([])).await;
    let (_, body) = h.any_reply(ix).await;
    assert_eq!(embed_title(&body), "No linked PSN account");

    // Not in "About me" yet, then saved there.
    let ix = h.slash(MEMBER, "link", json!([])).await;
    let (ephemeral, pending) = h.deferred(ix).await;
    assert!(ephemeral);
    assert_eq!(embed_title(&pending), "Not verified yet");
    assert_eq!(verification_code(&pending), code);

    h.sim
        .set_about_me("sim_casual", &format!("hi! {code}"))
        .expect("a sim user");
    let ix = h
        .slash(MEMBER, "link", json!([opt("user", "sim_casual")]))
        .await;
    let (ephemeral, verified) = h.deferred(ix).await;
    assert!(ephemeral);
    assert_eq!(embed_title(&verified), "Verified", "{verified}");
    let stored = h
        .store()
        .await
        .linked_account(MEMBER)
        .await
        .expect("the bot's database")
        .expect("linked");
    assert!(stored.verified_at.is_some());

    let ix = h.slash(MEMBER, "unlink", json!([])).await;
    let (ephemeral, unlinked) = h.any_reply(ix).await;
    assert!(ephemeral);
    assert_eq!(embed_title(&unlinked), "Unlinked");
    assert!(text_of(&unlinked).contains("sim_casual"), "{unlinked}");

    let ix = h.slash(MEMBER, "unlink", json!([])).await;
    let (_, again) = h.any_reply(ix).await;
    assert_eq!(embed_title(&again), "Nothing to unlink");
}

#[tokio::test]
async fn link_checks_the_id_before_asking_psn() {
    let h = Harness::start().await;
    let ix = h.slash(MEMBER, "link", json!([opt("user", "1bad")])).await;
    let body = h.immediate_reply(ix).await;
    assert!(support::bot::is_ephemeral(&body));
    assert!(
        text_of(&body).contains("not a valid psn online id"),
        "{body}"
    );

    let ix = h
        .slash(MEMBER, "link", json!([opt("user", "nobody_here")]))
        .await;
    let (ephemeral, body) = h.deferred(ix).await;
    assert!(ephemeral);
    assert!(text_of(&body).contains("not found"), "{body}");
    let stored = h
        .store()
        .await
        .linked_account(MEMBER)
        .await
        .expect("the bot's database");
    assert_eq!(stored, None);
}
