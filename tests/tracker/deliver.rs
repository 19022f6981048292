//! The outbox deliverer against a real PostgreSQL (one database per test) and the fake Discord:
//! each announcement is posted exactly once through crashes, Discord's nonce window, two
//! deliverers, broken channels and rate limits.

use std::sync::Arc;
use std::time::Duration;

use discord_fake::{
    FakeConfig, FakeDiscord, FakeGuild, FakeUser, Fault, MessageRecord, RouteLimit,
};
use psn::{Platform, Rarity, TrophyCounts, TrophyDefinition, TrophyType, UserTrophy};
use serde_json::Value;
use trophybot::bot::deliver::{reference, Deliverer, NONCE_WINDOW};
use trophybot::model::{AnnounceFilter, PlayerBatch, TitleEarnings};
use trophybot::render::announcements;
use trophybot::store::Store;

use crate::support::db::TestDb;

const GUILD_A: u64 = 100;
const CHANNEL_A: u64 = 110;
const ADMIN_A: u64 = 120;
const GUILD_B: u64 = 200;
const CHANNEL_B: u64 = 210;
const ADMIN_B: u64 = 220;
const OTHER_CHANNEL_B: u64 = 211;
/// Another bot in the servers, posting in the same channels.
const OTHER_BOT: u64 = 900;

struct Setup {
    // Dropped last: the database outlives the store's connections.
    store: Store,
    discord: FakeDiscord,
    http: Arc<serenity::http::Http>,
    _db: TestDb,
}

async fn setup() -> Setup {
    let (db, store) = TestDb::migrated().await;
    let discord = FakeDiscord::start(FakeConfig {
        guilds: vec![
            FakeGuild::new(GUILD_A, "Trophy Room")
                .channel(CHANNEL_A, "trophies")
                .member(FakeUser::new(ADMIN_A, "admin_a").with_manage_guild()),
            FakeGuild::new(GUILD_B, "Hunters")
                .channel(CHANNEL_B, "trophies")
                .channel(OTHER_CHANNEL_B, "more-trophies")
                .member(FakeUser::new(ADMIN_B, "admin_b").with_manage_guild()),
        ],
        // These tests are about the outbox, with faults injected where they need a 429; the
        // e2e suite runs the deliverer against Discord's own per-channel limit.
        message_create_limit: RouteLimit::new(1000, Duration::from_secs(5)),
        ..FakeConfig::default()
    })
    .await
    .expect("the fake Discord starts");
    let http = crate::support::fake_http::unlimited_discord_http(&discord);
    Setup {
        store,
        discord,
        http,
        _db: db,
    }
}

impl Setup {
    fn deliverer(&self, owner: &str) -> Deliverer {
        Deliverer::new(
            self.store.clone(),
            self.http.clone(),
            trophybot::ops::Metrics::new(),
            owner,
        )
    }

    /// An account tracked in a guild, added by `admin`.
    async fn track(&self, guild: u64, account: &str, channel: u64, admin: u64) {
        sqlx::query(
            "INSERT INTO tracked_accounts (guild_id, account_id, online_id, channel_id, added_by)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(guild as i64)
        .bind(account)
        .bind(format!("player_{account}"))
        .bind(channel as i64)
        .bind(admin as i64)
        .execute(self.store.pool())
        .await
        .expect("tracking an account");
    }

    /// An outbox row as the tracker writes it; returns its id.
    async fn enqueue(&self, guild: u64, channel: u64, account: &str, nonce: &str) -> i64 {
        let payload = serde_json::to_string(&announcement(account, nonce)).expect("serializes");
        sqlx::query_scalar(
            "INSERT INTO outbox (guild_id, channel_id, account_id, payload, nonce)
             VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id",
        )
        .bind(guild as i64)
        .bind(channel as i64)
        .bind(account)
        .bind(payload)
        .bind(nonce)
        .fetch_one(self.store.pool())
        .await
        .expect("inserting an outbox row")
    }

    async fn row(&self, id: i64) -> RowState {
        let (sent, message_id, failed_reason, attempts): (bool, Option<i64>, Option<String>, i32) =
            sqlx::query_as(
                "SELECT sent_at IS NOT NULL, message_id, failed_reason, attempts
                 FROM outbox WHERE id = $1",
            )
            .bind(id)
            .fetch_one(self.store.pool())
            .await
            .expect("reading an outbox row");
        RowState {
            sent,
            message_id: message_id.map(|id| id as u64),
            failed_reason,
            attempts,
        }
    }

    async fn execute(&self, sql: &str) {
        sqlx::query(sql)
            .execute(self.store.pool())
            .await
            .expect("test SQL");
    }

    /// Moves every recorded attempt `by` into the past, as if that time had passed.
    async fn age_attempts(&self, by: Duration) {
        self.execute(&format!(
            "UPDATE outbox SET attempted_at = attempted_at - interval '{} seconds'",
            by.as_secs()
        ))
        .await;
    }

    /// `count` messages in `channel` by a member and by another bot, in turn.
    fn chatter(&self, channel: u64, count: usize, label: &str) {
        let member = FakeUser::new(ADMIN_A, "admin_a");
        let other_bot = FakeUser::new(OTHER_BOT, "other_bot");
        for i in 0..count {
            let (author, bot) = if i % 2 == 0 {
                (&member, false)
            } else {
                (&other_bot, true)
            };
            let body = serde_json::json!({
                "content": format!("{label} {i}"),
                "embeds": [{"title": "chatter", "footer": {"text": format!("{label} {i}")}}],
            });
            self.discord
                .post_as(channel, author, bot, &body)
                .expect("posting as someone else");
        }
    }

    fn history_reads(&self, channel: u64) -> usize {
        let path = format!("/channels/{channel}/messages");
        self.discord
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path == path)
            .count()
    }

    fn posts_to(&self, channel: u64) -> Vec<discord_fake::RecordedRequest> {
        let path = format!("/channels/{channel}/messages");
        self.discord
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == path)
            .collect()
    }
}

#[derive(Debug)]
struct RowState {
    sent: bool,
    message_id: Option<u64>,
    failed_reason: Option<String>,
    attempts: i32,
}

/// A one-trophy announcement; the trophy is named after the nonce so messages differ.
fn announcement(account: &str, nonce: &str) -> trophybot::model::reply::Reply {
    let batch = PlayerBatch {
        account_id: account.into(),
        online_id: format!("player_{account}"),
        titles: vec![TitleEarnings {
            np_communication_id: "NPWR12345_00".into(),
            title_name: "ASTRO BOT".into(),
            title_icon_url: None,
            platforms: vec![Platform::Ps5],
            trophies: vec![UserTrophy {
                definition: TrophyDefinition {
                    id: 3,
                    group_id: "default".into(),
                    hidden: false,
                    kind: TrophyType::Gold,
                    name: format!("Trophy {nonce}"),
                    detail: "Finish the thing.".into(),
                    icon_url: None,
                },
                earned: true,
                earned_at: None,
                earned_rate: Some(4.2),
                rarity: Some(Rarity::UltraRare),
            }],
            progress_after: 50,
            earned_after: TrophyCounts::default(),
            defined: TrophyCounts::default(),
        }],
    };
    announcements(&batch, &AnnounceFilter::All)
        .into_iter()
        .next()
        .expect("one announcement")
}

/// The reference a message carries in its last embed's footer.
fn reference_of(message: &MessageRecord) -> Option<String> {
    message.message["embeds"]
        .as_array()?
        .last()?
        .pointer("/footer/text")?
        .as_str()
        .map(str::to_string)
}

fn count_with_reference(messages: &[MessageRecord], nonce: &str) -> usize {
    let wanted = reference(nonce);
    messages
        .iter()
        .filter(|m| reference_of(m).is_some_and(|r| r.ends_with(&wanted)))
        .count()
}

#[tokio::test]
async fn a_row_is_posted_once_with_its_nonce_and_marked_sent() {
    let s = setup().await;
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-once").await;
    let deliverer = s.deliverer("one");

    let first = deliverer.deliver_pending().await.expect("a pass");
    assert_eq!((first.claimed, first.posted), (1, 1), "{first:?}");
    let messages = s.discord.channel_messages(CHANNEL_A);
    assert_eq!(messages.len(), 1);
    assert_eq!(count_with_reference(&messages, "n-once"), 1);
    let post = &s.posts_to(CHANNEL_A)[0];
    let body = post.body.clone().unwrap_or(Value::Null);
    assert_eq!(body["nonce"], "n-once");
    assert_eq!(body["enforce_nonce"], true);
    assert_eq!(body["allowed_mentions"]["parse"], serde_json::json!([]));
    let row = s.row(id).await;
    assert!(row.sent, "{row:?}");
    assert_eq!(row.message_id, Some(messages[0].message_id));
    assert_eq!(row.attempts, 1);

    let second = deliverer.deliver_pending().await.expect("a pass");
    assert_eq!(second.claimed, 0, "{second:?}");
    assert_eq!(s.posts_to(CHANNEL_A).len(), 1, "nothing posted again");
    assert_eq!(s.discord.channel_messages(CHANNEL_A).len(), 1);
}

/// Runs a pass with the failpoint armed and stops it ("kills" it) once the post reached Discord:
/// the row is then posted but not marked, as after a crash at the worst moment.
async fn crash_after_post(s: &Setup, owner: &str) {
    let already = s.discord.channel_messages(CHANNEL_A).len();
    let armed = s
        .deliverer(owner)
        .with_failpoint(Some(trophybot::failpoint::Failpoint::DeliverAfterPost));
    let pass = tokio::spawn(async move { armed.deliver_pending().await });
    s.discord
        .wait_for_channel_messages(CHANNEL_A, already + 1)
        .await
        .expect("the post reaches Discord");
    pass.abort();
    assert!(
        pass.await.is_err_and(|e| e.is_cancelled()),
        "the pass never finished"
    );
}

#[tokio::test]
async fn a_crash_between_post_and_mark_is_deduplicated_by_the_nonce() {
    let s = setup().await;
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-crash").await;
    crash_after_post(&s, "one").await;
    let row = s.row(id).await;
    assert!(!row.sent && row.attempts == 1, "{row:?}");

    // The restarted deliverer (same owner name) takes its claim back and retries at once.
    let restarted = s.deliverer("one");
    assert_eq!(restarted.take_over_own_claims().await.expect("release"), 1);
    let pass = restarted.deliver_pending().await.expect("a pass");
    assert_eq!(pass.posted, 1, "{pass:?}");

    assert_eq!(
        s.posts_to(CHANNEL_A).len(),
        2,
        "posted again, with the same nonce"
    );
    let messages = s.discord.channel_messages(CHANNEL_A);
    assert_eq!(messages.len(), 1, "Discord returned the first message");
    let row = s.row(id).await;
    assert!(row.sent, "{row:?}");
    assert_eq!(row.message_id, Some(messages[0].message_id));
}

#[tokio::test]
async fn past_the_nonce_window_the_announcement_is_found_in_the_channel() {
    let s = setup().await;
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-late").await;
    crash_after_post(&s, "one").await;

    // Three minutes later, for Discord and for the database alike.
    let later = NONCE_WINDOW + Duration::from_secs(60);
    s.discord.clock().advance(later);
    s.execute(&format!(
        "UPDATE outbox SET attempted_at = attempted_at - interval '{} seconds'",
        later.as_secs()
    ))
    .await;

    let restarted = s.deliverer("one");
    restarted.take_over_own_claims().await.expect("release");
    let pass = restarted.deliver_pending().await.expect("a pass");
    assert_eq!((pass.found, pass.posted), (1, 0), "{pass:?}");
    assert_eq!(s.posts_to(CHANNEL_A).len(), 1, "not posted again");
    let history_reads = s
        .discord
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == format!("/channels/{CHANNEL_A}/messages"))
        .count();
    assert_eq!(history_reads, 1);
    let messages = s.discord.channel_messages(CHANNEL_A);
    assert_eq!(messages.len(), 1);
    let row = s.row(id).await;
    assert!(row.sent, "{row:?}");
    assert_eq!(row.message_id, Some(messages[0].message_id));
}

#[tokio::test]
async fn past_the_nonce_window_a_busy_channel_is_paged_back_to_the_announcement() {
    let s = setup().await;
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-busy").await;
    // A busy channel: more than a page of messages by others just before the attempt (inside
    // the search's slack) and more than a page after the announcement.
    s.chatter(CHANNEL_A, 120, "earlier");
    crash_after_post(&s, "one").await;
    s.chatter(CHANNEL_A, 130, "later");
    let announcement = s
        .discord
        .channel_messages(CHANNEL_A)
        .into_iter()
        .find(|m| reference_of(m).is_some_and(|r| r.ends_with(&reference("n-busy"))))
        .expect("the announcement reached Discord");

    let later = NONCE_WINDOW + Duration::from_secs(60);
    s.discord.clock().advance(later);
    s.age_attempts(later).await;

    let restarted = s.deliverer("one");
    restarted.take_over_own_claims().await.expect("release");
    let pass = restarted.deliver_pending().await.expect("a pass");
    assert_eq!((pass.found, pass.posted), (1, 0), "{pass:?}");
    assert_eq!(s.posts_to(CHANNEL_A).len(), 1, "not posted again");
    let messages = s.discord.channel_messages(CHANNEL_A);
    assert_eq!(messages.len(), 251);
    assert_eq!(count_with_reference(&messages, "n-busy"), 1);
    assert_eq!(s.history_reads(CHANNEL_A), 2, "paged back 100 at a time");
    let row = s.row(id).await;
    assert!(row.sent, "{row:?}");
    assert_eq!(row.message_id, Some(announcement.message_id));
}

#[tokio::test]
async fn another_authors_message_with_the_reference_is_not_the_announcement() {
    let s = setup().await;
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-copy").await;
    // An attempt on record three minutes ago whose post never reached Discord.
    let later = NONCE_WINDOW + Duration::from_secs(60);
    s.execute(&format!(
        "UPDATE outbox SET attempts = 1, attempted_at = now() - interval '{} seconds'",
        later.as_secs()
    ))
    .await;
    s.discord.clock().advance(later);
    // Another bot and a member carry the same footer text.
    let copy = serde_json::json!({
        "embeds": [{"title": "copied", "footer": {"text": format!("quoted · {}", reference("n-copy"))}}],
    });
    s.discord
        .post_as(
            CHANNEL_A,
            &FakeUser::new(OTHER_BOT, "other_bot"),
            true,
            &copy,
        )
        .expect("another bot posts");
    s.discord
        .post_as(CHANNEL_A, &FakeUser::new(ADMIN_A, "admin_a"), false, &copy)
        .expect("a member posts");

    let pass = s.deliverer("one").deliver_pending().await.expect("a pass");
    assert_eq!((pass.found, pass.posted), (0, 1), "{pass:?}");
    assert_eq!(s.posts_to(CHANNEL_A).len(), 1, "ours posted once");
    let bot_id = s.discord.config().bot.id.to_string();
    let ours: Vec<MessageRecord> = s
        .discord
        .channel_messages(CHANNEL_A)
        .into_iter()
        .filter(|m| m.message["author"]["id"].as_str() == Some(bot_id.as_str()))
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(count_with_reference(&ours, "n-copy"), 1);
    let row = s.row(id).await;
    assert!(row.sent, "{row:?}");
    assert_eq!(row.message_id, Some(ours[0].message_id));
    assert_eq!(row.attempts, 2);
}

#[tokio::test]
async fn a_row_claimed_inside_the_window_but_sent_after_it_searches_the_history() {
    let s = setup().await;
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-slow").await;
    crash_after_post(&s, "one").await;
    // When the restarted deliverer claims the row, the crashed attempt is seconds old: inside
    // the window. The claim itself moves the attempt three minutes into the past (a trigger),
    // as if the row then waited that long for its turn: the window passes between the claim
    // and the send, and only a decision at send time sees it.
    let later = NONCE_WINDOW + Duration::from_secs(60);
    s.execute(&format!(
        "CREATE FUNCTION age_slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             UPDATE outbox SET attempted_at = attempted_at - interval '{} seconds'
             WHERE id = {id};
             RETURN NULL;
         END $$",
        later.as_secs()
    ))
    .await;
    s.execute(&format!(
        "CREATE TRIGGER age_slow_row AFTER UPDATE OF claimed_by ON outbox
         FOR EACH ROW WHEN (NEW.id = {id} AND NEW.claimed_by IS NOT NULL)
         EXECUTE FUNCTION age_slow_row()"
    ))
    .await;
    // Discord's nonce window has passed as well.
    s.discord.clock().advance(later);

    let restarted = s.deliverer("one");
    restarted.take_over_own_claims().await.expect("release");
    let pass = restarted.deliver_pending().await.expect("a pass");
    assert_eq!(pass.claimed, 1, "{pass:?}");
    assert_eq!((pass.found, pass.posted), (1, 0), "{pass:?}");
    assert_eq!(s.posts_to(CHANNEL_A).len(), 1, "not posted again");
    let messages = s.discord.channel_messages(CHANNEL_A);
    assert_eq!(count_with_reference(&messages, "n-slow"), 1);
    assert_eq!(messages.len(), 1);
    assert_eq!(s.history_reads(CHANNEL_A), 1);
    let row = s.row(id).await;
    assert!(row.sent, "{row:?}");
    assert_eq!(row.message_id, Some(messages[0].message_id));
}

#[tokio::test]
async fn like_discord_the_fake_keeps_nonces_out_of_the_history() {
    let s = setup().await;
    s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-hist").await;
    s.deliverer("one").deliver_pending().await.expect("a pass");
    let history = s
        .http
        .get_messages(
            serenity::model::id::ChannelId::new(CHANNEL_A),
            None,
            Some(50),
        )
        .await
        .expect("history");
    assert_eq!(history.len(), 1);
    assert!(history[0].nonce.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliverers_post_each_announcement_exactly_once() {
    let s = setup().await;
    let mut nonces = Vec::new();
    for i in 0..30 {
        let (guild, channel) = match i % 3 {
            0 => (GUILD_A, CHANNEL_A),
            1 => (GUILD_B, CHANNEL_B),
            _ => (GUILD_B, OTHER_CHANNEL_B),
        };
        let nonce = format!("n-two-{i}");
        s.enqueue(guild, channel, &format!("acc{i}"), &nonce).await;
        nonces.push(nonce);
    }
    let alpha = s.deliverer("alpha");
    let beta = s.deliverer("beta");
    let mut passes = 0;
    while s.store.outbox_pending_count().await.expect("count") > 0 {
        passes += 1;
        assert!(passes <= 20, "the outbox does not drain");
        let (a, b) = tokio::join!(alpha.deliver_pending(), beta.deliver_pending());
        a.expect("alpha's pass");
        b.expect("beta's pass");
    }
    let messages = s.discord.messages();
    assert_eq!(messages.len(), nonces.len());
    for nonce in &nonces {
        assert_eq!(count_with_reference(&messages, nonce), 1, "{nonce}");
    }
    let posts = s
        .discord
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, nonces.len(), "no row was even tried twice");
}

#[tokio::test]
async fn a_deleted_channel_fails_its_rows_tells_the_admin_once_and_blocks_no_one() {
    let s = setup().await;
    s.track(GUILD_A, "acc1", CHANNEL_A, ADMIN_A).await;
    s.track(GUILD_B, "acc2", CHANNEL_B, ADMIN_B).await;
    let gone_first = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-gone-1").await;
    let gone_second = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-gone-2").await;
    let elsewhere = s.enqueue(GUILD_B, CHANNEL_B, "acc2", "n-fine").await;
    s.discord.delete_channel(CHANNEL_A).expect("deleting");

    let pass = s.deliverer("one").deliver_pending().await.expect("a pass");
    assert_eq!((pass.failed, pass.posted), (2, 1), "{pass:?}");
    for id in [gone_first, gone_second] {
        let row = s.row(id).await;
        assert!(!row.sent, "{row:?}");
        assert!(
            row.failed_reason.as_deref().unwrap_or("").contains("10003"),
            "{row:?}"
        );
    }
    assert_eq!(
        s.posts_to(CHANNEL_A).len(),
        1,
        "the channel's other row is not tried"
    );
    assert!(s.row(elsewhere).await.sent);
    assert_eq!(s.discord.channel_messages(CHANNEL_B).len(), 1);

    let dms = s.discord.dm_messages(ADMIN_A);
    assert_eq!(dms.len(), 1, "the admin who added the account is told");
    let told = dms[0].message["embeds"][0]["description"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        told.contains(&format!("<#{CHANNEL_A}> on **Trophy Room**")),
        "{told}"
    );
    assert!(told.contains("no longer exists"), "{told}");
    assert!(told.contains("player\\_acc1"), "{told}");
    assert_eq!(
        dms[0].allowed_mentions.as_ref().map(|m| &m["parse"]),
        Some(&serde_json::json!([]))
    );
    assert!(s.discord.dm_messages(ADMIN_B).is_empty());

    // A later announcement for the same channel fails too, without a second message.
    let later = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-gone-3").await;
    s.deliverer("one").deliver_pending().await.expect("a pass");
    assert!(s.row(later).await.failed_reason.is_some());
    assert_eq!(s.discord.dm_messages(ADMIN_A).len(), 1, "reported once");
}

#[tokio::test]
async fn a_forbidden_channel_is_reported_as_such() {
    let s = setup().await;
    s.track(GUILD_B, "acc2", CHANNEL_B, ADMIN_B).await;
    let id = s.enqueue(GUILD_B, CHANNEL_B, "acc2", "n-denied").await;
    let fine = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-allowed").await;
    s.discord
        .deny_bot_in_channel(CHANNEL_B, discord_fake::SEND_MESSAGES)
        .expect("denying");

    s.deliverer("one").deliver_pending().await.expect("a pass");
    let row = s.row(id).await;
    assert!(
        row.failed_reason.as_deref().unwrap_or("").contains("50013"),
        "{row:?}"
    );
    assert!(s.row(fine).await.sent);
    let dms = s.discord.dm_messages(ADMIN_B);
    assert_eq!(dms.len(), 1);
    let told = dms[0].message["embeds"][0]["description"]
        .as_str()
        .unwrap_or("");
    assert!(told.contains("I may not post there"), "{told}");
}

#[tokio::test]
async fn a_rate_limited_post_is_retried_later_in_order_without_holding_up_others() {
    let s = setup().await;
    let first = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-429-1").await;
    let second = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-429-2").await;
    let other = s.enqueue(GUILD_B, CHANNEL_B, "acc2", "n-429-other").await;
    s.discord.inject_fault(Fault::rate_limited(
        "POST",
        &format!("/channels/{CHANNEL_A}/messages"),
        1.0,
    ));
    let deliverer = s.deliverer("one");

    let pass = deliverer.deliver_pending().await.expect("a pass");
    assert_eq!((pass.retried, pass.posted), (2, 1), "{pass:?}");
    assert!(s.discord.channel_messages(CHANNEL_A).is_empty());
    assert!(s.row(other).await.sent, "the other guild is not held up");
    assert_eq!(
        s.posts_to(CHANNEL_A).len(),
        1,
        "the second row waits its turn"
    );

    // Within the backoff nothing is tried.
    let waiting = deliverer.deliver_pending().await.expect("a pass");
    assert_eq!(waiting.claimed, 0, "{waiting:?}");

    // The backoff has passed.
    s.execute("UPDATE outbox SET next_attempt_at = now() WHERE sent_at IS NULL")
        .await;
    let retry = deliverer.deliver_pending().await.expect("a pass");
    assert_eq!(retry.posted, 2, "{retry:?}");
    let messages = s.discord.channel_messages(CHANNEL_A);
    assert_eq!(messages.len(), 2);
    assert!(reference_of(&messages[0]).is_some_and(|r| r.ends_with(&reference("n-429-1"))));
    assert!(reference_of(&messages[1]).is_some_and(|r| r.ends_with(&reference("n-429-2"))));
    assert!(s.row(first).await.sent && s.row(second).await.sent);
    assert_eq!(
        s.posts_to(CHANNEL_A).len(),
        3,
        "one 429, then one post each"
    );
}

#[tokio::test]
async fn the_deliverer_loop_delivers_and_stops_cleanly_when_cancelled() {
    let s = setup().await;
    let signals = trophybot::tracker::Signals::default();
    let cancel = tokio_util::sync::CancellationToken::new();
    let metrics = trophybot::ops::Metrics::new();
    let deliverer = Deliverer::new(s.store.clone(), s.http.clone(), metrics.clone(), "looper");
    let running =
        trophybot::bot::deliver::spawn_deliverer(deliverer, signals.clone(), cancel.clone());
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-loop").await;
    signals.outbox_ready.notify_one();
    s.discord
        .wait_for_channel_messages(CHANNEL_A, 1)
        .await
        .expect("the loop posts");
    cancel.cancel();
    running.await.expect("the loop ends cleanly");
    // Cancelled perhaps between post and mark: a later pass settles it without a second message.
    s.deliverer("looper")
        .deliver_pending()
        .await
        .expect("a pass");
    assert!(s.row(id).await.sent);
    assert_eq!(s.discord.channel_messages(CHANNEL_A).len(), 1);
}

/// When the row's lease runs out, on the database's clock.
async fn claimed_until(store: &Store, id: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT claimed_until FROM outbox WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await
        .expect("the row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_in_flight_keeps_its_lease_renewed_so_nobody_else_takes_the_row() {
    let s = setup().await;
    let id = s.enqueue(GUILD_A, CHANNEL_A, "acc1", "n-renew").await;
    s.discord.inject_fault(Fault::hang(
        "POST",
        &format!("/channels/{CHANNEL_A}/messages"),
    ));
    let hung = s.deliverer("slow");
    let pass = tokio::spawn(async move { hung.deliver_pending().await });
    s.discord
        .wait_for("the post in flight", |d| {
            d.requests().iter().any(|r| r.status == 0).then_some(())
        })
        .await
        .expect("the hung post");
    let first = claimed_until(&s.store, id).await.expect("claimed");
    let renewed = crate::support::bot::wait_until("the lease renewed", || async {
        claimed_until(&s.store, id)
            .await
            .filter(|until| *until > first)
    })
    .await;
    assert!(renewed > first);
    // Another deliverer finds nothing to claim while the post is in flight.
    let other = s
        .deliverer("other")
        .deliver_pending()
        .await
        .expect("a pass");
    assert_eq!(other.claimed, 0, "{other:?}");
    pass.abort();
}
