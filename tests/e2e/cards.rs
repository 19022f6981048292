//! End to end: image cards with the real bot, the fake Discord, the PSN simulator (which serves
//! the icons) and a real database. A platinum arrives with a PNG card the embed shows; a server
//! with cards off gets text; a channel without Attach Files and a picture host that is down
//! still get their announcement, once.

use discord_fake::{MessageRecord, ATTACH_FILES};
use resvg::tiny_skia::Pixmap;
use serde_json::json;

use crate::support;
use crate::support::bot::{bool_opt, opt, text_of, wait_until, Harness, ADMIN, CHANNEL, GUILD};
use crate::tracking::{fast_tracker, other_guild, outbox, wait_for_baseline};

/// A player with no trophies yet, so every trophy they earn here is new.
const PLAYER: &str = "sim_empty";
const OTHER_GUILD: u64 = 140;
const OTHER_CHANNEL: u64 = 240;
const OTHER_ADMIN: u64 = 340;

/// One of sim_hunter's games without DLC, with every trophy but the platinum (which follows).
async fn platinum_game(h: &Harness) -> (String, Vec<u32>) {
    let client = support::sim_client(&h.sim_server.base_url);
    support::hunters_platinum_games(&client, 1, false)
        .await
        .remove(0)
}

async fn earn_platinum(h: &Harness) {
    let (game, trophies) = platinum_game(h).await;
    for trophy in trophies {
        h.sim.earn_trophy(PLAYER, &game, trophy).expect("earned");
    }
}

async fn all_delivered(h: &Harness) {
    wait_until("every post handled", || async {
        let rows = outbox(h).await;
        (!rows.is_empty() && rows.iter().all(|(_, sent, failed)| sent | failed)).then_some(())
    })
    .await;
}

/// The channel's announcement that carries the platinum (not the milestone post).
fn platinum_announcements(h: &Harness, channel: u64) -> Vec<MessageRecord> {
    h.discord
        .channel_messages(channel)
        .into_iter()
        .filter(|m| m.interaction.is_none())
        .filter(|m| text_of(&m.message["embeds"]).contains("has mastered a game"))
        .collect()
}

/// The message's card: a PNG (by signature and by decoding) of the platinum card's size, shown
/// by an embed.
fn assert_card(message: &MessageRecord) {
    assert_eq!(message.files.len(), 1, "one file");
    let card = &message.files[0];
    assert_eq!(card.filename, "card.png");
    assert!(
        card.bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "a PNG signature"
    );
    let picture = Pixmap::decode_png(&card.bytes).expect("a PNG that decodes");
    assert_eq!((picture.width(), picture.height()), (800, 400));
    let showing: Vec<_> = message.message["embeds"]
        .as_array()
        .expect("embeds")
        .iter()
        .filter(|e| e["image"]["url"] == json!("attachment://card.png"))
        .collect();
    assert_eq!(
        showing.len(),
        1,
        "one embed shows the card: {}",
        message.message
    );
    assert!(
        text_of(&showing[0]["title"]).contains("has mastered a game"),
        "the platinum's embed: {}",
        message.message
    );
}

/// Waits for the platinum with its card in CHANNEL, checks the card, then for every post.
async fn card_posted_in_channel(h: &Harness) {
    let with_card = h
        .discord
        .wait_for("the platinum with its card", |_| {
            platinum_announcements(h, CHANNEL)
                .into_iter()
                .find(|m| !m.files.is_empty())
        })
        .await
        .expect("the card");
    assert_card(&with_card);
    all_delivered(h).await;
}

#[tokio::test]
async fn a_platinum_arrives_with_its_card_and_a_server_with_cards_off_gets_text() {
    let h = fast_tracker()
        .guild(other_guild(
            OTHER_GUILD,
            OTHER_CHANNEL,
            OTHER_ADMIN,
            "No Cards",
        ))
        .start()
        .await;
    let ix = h
        .slash_in(
            OTHER_GUILD,
            OTHER_CHANNEL,
            OTHER_ADMIN,
            "settings",
            json!([bool_opt("cards", false)]),
        )
        .await;
    let (_, settings) = h.any_reply(ix).await;
    assert!(text_of(&settings).contains("off: text only"), "{settings}");
    for (guild, channel, admin) in [
        (GUILD, CHANNEL, ADMIN),
        (OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN),
    ] {
        let (_, reply) = h.track_add_in(guild, channel, admin, PLAYER, None).await;
        assert!(text_of(&reply).contains(PLAYER), "{reply}");
        assert!(!text_of(&reply).contains("attach files"), "{reply}");
    }
    wait_for_baseline(&h, PLAYER).await;
    earn_platinum(&h).await;

    card_posted_in_channel(&h).await;
    assert_eq!(platinum_announcements(&h, CHANNEL).len(), 1, "posted once");
    // What the card shows is stored with the announcement (never the PNG): the player's
    // first platinum, in the server with cards on and the one with them off alike.
    let store = h.store().await;
    let cards: Vec<(serde_json::Value,)> =
        sqlx::query_as("SELECT card FROM outbox WHERE card IS NOT NULL ORDER BY id")
            .fetch_all(store.pool())
            .await
            .expect("outbox cards");
    store.close().await;
    assert_eq!(cards.len(), 2, "{cards:?}");
    for (card,) in &cards {
        assert_eq!(card["kind"], json!("platinum"));
        assert_eq!(card["player"], json!(PLAYER));
        assert_eq!(card["nth"], json!(1));
        assert!(card.get("bytes").is_none());
    }
    let text_only = platinum_announcements(&h, OTHER_CHANNEL);
    assert_eq!(text_only.len(), 1, "announced there too");
    assert!(text_only[0].files.is_empty(), "cards are off there");
    assert!(text_only[0].message["embeds"]
        .as_array()
        .expect("embeds")
        .iter()
        .all(|e| e.get("image").is_none_or(|i| i.is_null())));
}

#[tokio::test]
async fn without_attach_files_or_pictures_the_announcement_still_goes_once() {
    let h = fast_tracker()
        .guild(other_guild(
            OTHER_GUILD,
            OTHER_CHANNEL,
            OTHER_ADMIN,
            "No Files",
        ))
        .start()
        .await;
    h.discord
        .deny_bot_in_channel(OTHER_CHANNEL, ATTACH_FILES)
        .expect("denied");
    // The admin is told where cards cannot go (the cache follows CHANNEL_UPDATE).
    wait_until("the refused permission seen", || async {
        let (_, reply) = h
            .track_add_in(OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, PLAYER, None)
            .await;
        text_of(&reply).contains("attach files").then_some(())
    })
    .await;
    let (_, reply) = h.track_add_in(GUILD, CHANNEL, ADMIN, PLAYER, None).await;
    assert!(!text_of(&reply).contains("attach files"), "{reply}");
    // The picture host is down: cards are drawn without their art.
    h.sim.inject(psn_sim::Fault::IconsDown);
    wait_for_baseline(&h, PLAYER).await;
    earn_platinum(&h).await;

    card_posted_in_channel(&h).await;

    // Without Attach Files: refused once with the card, then posted as text under that nonce.
    assert_refused_then_text_once(&h, OTHER_CHANNEL, 403);
}

/// The channel's platinum post was refused once with its card (`status`), then went as text,
/// once, under the same nonce, and the channel shows one announcement without files.
fn assert_refused_then_text_once(h: &Harness, channel: u64, status: u16) {
    let path = format!("/channels/{channel}/messages");
    let posts: Vec<_> = h
        .discord
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .collect();
    let refused: Vec<_> = posts.iter().filter(|r| r.status == status).collect();
    assert_eq!(refused.len(), 1, "one refused post: {posts:?}");
    let nonce = refused[0].body.as_ref().expect("a payload")["nonce"].clone();
    let accepted: Vec<_> = posts
        .iter()
        .filter(|r| r.status == 200)
        .filter(|r| r.body.as_ref().is_some_and(|b| b["nonce"] == nonce))
        .collect();
    assert_eq!(accepted.len(), 1, "the text went once under the same nonce");
    // At once: the text is the very next post to the channel after the refusal.
    let refused_at = posts
        .iter()
        .position(|r| r.status == status)
        .expect("refused");
    assert_eq!(
        posts.get(refused_at + 1).map(|r| r.status),
        Some(200),
        "the text follows the refusal: {posts:?}"
    );
    let posted = platinum_announcements(h, channel);
    assert_eq!(posted.len(), 1, "announced once");
    assert!(posted[0].files.is_empty());
}

#[tokio::test]
async fn a_card_over_the_servers_upload_limit_is_refused_and_the_text_goes_at_once() {
    // A server whose upload limit (it depends on the boost tier) is below any card's size.
    let h = fast_tracker()
        .guild(
            other_guild(OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, "Small Uploads")
                .upload_limit(1024),
        )
        .start()
        .await;
    let (_, reply) = h
        .track_add_in(OTHER_GUILD, OTHER_CHANNEL, OTHER_ADMIN, PLAYER, None)
        .await;
    assert!(text_of(&reply).contains(PLAYER), "{reply}");
    wait_for_baseline(&h, PLAYER).await;
    earn_platinum(&h).await;
    h.discord
        .wait_for("the platinum as text", |_| {
            platinum_announcements(&h, OTHER_CHANNEL).into_iter().next()
        })
        .await
        .expect("the announcement");
    all_delivered(&h).await;

    assert_refused_then_text_once(&h, OTHER_CHANNEL, 413);
    let refused = h
        .discord
        .requests()
        .into_iter()
        .find(|r| r.status == 413)
        .expect("the refused post");
    assert!(
        text_of(&refused.body.expect("a payload")["embeds"]).contains("has mastered a game"),
        "the refused post was the platinum with its card"
    );
}

/// The files of the message that answered `ix`.
fn reply_files(h: &Harness, ix: discord_fake::InteractionId) -> Vec<discord_fake::UploadedFile> {
    h.discord
        .messages()
        .into_iter()
        .find(|m| m.interaction == Some(ix))
        .map(|m| m.files)
        .unwrap_or_default()
}

#[tokio::test]
async fn trophies_and_compare_carry_their_card_unless_the_server_turned_cards_off() {
    let h = Harness::builder().start().await;
    for (name, options) in [
        ("trophies", json!([opt("user", "sim_hunter")])),
        (
            "compare",
            json!([opt("user", "sim_hunter"), opt("other", "sim_casual")]),
        ),
    ] {
        let ix = h.slash(ADMIN, name, options).await;
        let (_, reply) = h.any_reply(ix).await;
        assert_eq!(
            reply["embeds"][0]["image"]["url"],
            json!("attachment://card.png"),
            "/{name}: {reply}"
        );
        let files = reply_files(&h, ix);
        assert_eq!(files.len(), 1, "/{name}");
        let picture = Pixmap::decode_png(&files[0].bytes).expect("a PNG that decodes");
        assert_eq!(picture.width(), 800);
    }

    let ix = h
        .slash(ADMIN, "settings", json!([bool_opt("cards", false)]))
        .await;
    h.any_reply(ix).await;
    let ix = h
        .slash(ADMIN, "trophies", json!([opt("user", "sim_hunter")]))
        .await;
    let (_, reply) = h.any_reply(ix).await;
    assert!(text_of(&reply).contains("sim_hunter's trophies"), "{reply}");
    assert!(
        reply["embeds"][0].get("image").is_none_or(|i| i.is_null()),
        "{reply}"
    );
    assert!(reply_files(&h, ix).is_empty(), "cards are off");
}
