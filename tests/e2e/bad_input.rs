//! End to end: a fixed set of bad values through the real bot, and one server's tracking kept
//! out of another's reach. Every bad value gets an ephemeral error in words and changes
//! nothing; the bot stays up.

use discord_fake::InteractionEvent;
use serde_json::{json, Value};
use trophybot::model::GuildSettings;

use crate::admin::{elsewhere, tracked_ids};
use crate::support::bot::{
    int_opt, number_opt, opt, subcommand, text_of, Harness, ADMIN, CHANNEL, GUILD,
};

const OTHER_GUILD: u64 = 101;
const OTHER_CHANNEL: u64 = 250;
const OTHER_ADMIN: u64 = 350;

/// The choices an autocomplete answered with.
async fn choices(h: &Harness, ix: discord_fake::InteractionId) -> Vec<Value> {
    match h.discord.wait_for_response(ix).await.expect("answered") {
        InteractionEvent::Callback {
            data: Some(data), ..
        } => data["choices"].as_array().cloned().unwrap_or_default(),
        other => panic!("expected choices, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_values_get_an_ephemeral_error_and_change_nothing() {
    let h = Harness::start().await;
    let store = h.store().await;
    let long = "a".repeat(10_000);
    let cases: Vec<(&str, Value)> = vec![
        ("trophies", json!([opt("user", "no spaces!")])),
        ("trophies", json!([opt("user", &long)])),
        ("trophies", json!([opt("user", "\u{200b}sim_casual")])),
        ("trophies", json!([opt("user", "\u{202e}sim_casual")])),
        ("trophies", json!([opt("user", "@everyone")])),
        (
            "trophies",
            json!([opt("user", "sim_casual"), opt("game", &long)]),
        ),
        (
            "rarest",
            json!([opt("user", "sim_casual"), int_opt("count", 0)]),
        ),
        (
            "rarest",
            json!([opt("user", "sim_casual"), int_opt("count", 999)]),
        ),
        (
            "rarest",
            json!([opt("user", "sim_casual"), int_opt("count", -5)]),
        ),
        (
            "compare",
            json!([opt("user", "sim_casual"), opt("other", "SIM_CASUAL")]),
        ),
        ("settings", json!([number_opt("rare_percent", 0.001)])),
        ("settings", json!([number_opt("rare_percent", -3.0)])),
        ("settings", json!([number_opt("rare_percent", 1e9)])),
        ("settings", json!([int_opt("language", 999)])),
        ("settings", json!([int_opt("language", -1)])),
        ("track", subcommand("add", vec![opt("user", "bad user!")])),
        ("track", subcommand("remove", vec![opt("user", "nobody")])),
        ("track", subcommand("remove", vec![opt("user", &long)])),
        ("link", json!([opt("user", "bad!")])),
    ];
    for (command, options) in cases {
        let ix = h.slash(ADMIN, command, options.clone()).await;
        let (ephemeral, reply) = h.any_reply(ix).await;
        assert!(ephemeral, "/{command} {options}: {reply}");
        let title = reply["embeds"][0]["title"].as_str().unwrap_or_default();
        assert!(!title.is_empty(), "/{command} {options}: {reply}");
        assert!(
            !text_of(&reply).contains(&long),
            "a long value is not echoed whole: /{command}"
        );
    }

    assert!(tracked_ids(&store, GUILD).await.is_empty());
    assert_eq!(
        store.guild_settings(GUILD).await.expect("settings"),
        GuildSettings::defaults(GUILD)
    );
    assert!(
        trophybot::commands::link::linked_player(&store, ADMIN)
            .await
            .is_err(),
        "nothing linked"
    );
    let health = reqwest::get(format!("{}/healthz", h.ops_url()))
        .await
        .expect("health answers");
    assert_eq!(health.status(), 200, "the bot is still up");
}

#[tokio::test]
async fn one_server_can_neither_see_nor_change_anothers_tracking() {
    let other = elsewhere();
    let h = Harness::builder().guild(other).start().await;
    let store = h.store().await;
    let (_, there) = h
        .track_add_in(OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, "sim_hunter", None)
        .await;
    assert!(text_of(&there).contains("now tracking"), "{there}");
    let account_id = store.tracked_accounts(OTHER_GUILD).await.expect("tracked")[0]
        .account
        .account_id
        .clone();

    // This server's list and autocomplete know nothing of the other's account.
    let ix = h.slash(ADMIN, "track", subcommand("list", vec![])).await;
    let (_, list) = h.any_reply(ix).await;
    assert!(!text_of(&list).contains("sim_hunter"), "{list}");
    let ix = h
        .discord
        .send_autocomplete(
            GUILD,
            CHANNEL,
            ADMIN,
            "track",
            subcommand(
                "remove",
                vec![json!({"name": "user", "type": 3, "value": "sim", "focused": true})],
            ),
        )
        .await
        .expect("autocomplete dispatched");
    assert!(
        choices(&h, ix).await.is_empty(),
        "no other server's accounts"
    );

    // Removing it here, by name or by the account ID autocomplete would send, touches nothing.
    for user in ["sim_hunter", account_id.as_str()] {
        let ix = h
            .slash(
                ADMIN,
                "track",
                subcommand("remove", vec![opt("user", user)]),
            )
            .await;
        let (ephemeral, reply) = h.any_reply(ix).await;
        assert!(ephemeral, "{reply}");
        assert!(text_of(&reply).contains("not tracked"), "{reply}");
    }
    // Settings here are this server's own.
    // Choices travel by their index in the list.
    let french = psn::LANGUAGES
        .iter()
        .position(|(code, _)| *code == "fr-FR")
        .expect("French is offered");
    let ix = h
        .slash(
            ADMIN,
            "settings",
            json!([int_opt("language", french as i64)]),
        )
        .await;
    h.any_reply(ix).await;

    assert_eq!(tracked_ids(&store, OTHER_GUILD).await, vec!["sim_hunter"]);
    assert_eq!(
        store.guild_settings(OTHER_GUILD).await.expect("settings"),
        GuildSettings::defaults(OTHER_GUILD)
    );
    assert_eq!(
        store
            .guild_settings(GUILD)
            .await
            .expect("settings")
            .language
            .as_deref(),
        Some("fr-FR")
    );
}
