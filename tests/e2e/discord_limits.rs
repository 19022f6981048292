//! End to end on production's Discord path (HTTPS to `discord.com`, serenity's rate limiter on):
//! a channel rate-limited for long, a global 429 and a hung Discord neither flood Discord nor
//! hold one channel up behind another, and nothing is lost or posted twice.

use std::time::{Duration, Instant};

use discord_fake::{Fault, RecordedRequest, SEND_MESSAGES};

use crate::support::bot::{
    wait_until, DiscordPath, Harness, HarnessBuilder, ADMIN, CHANNEL, GUILD,
};
use crate::tracking::{
    announcements, fast_tracker, open_trophies, other_guild, outbox, track, wait_for_announcements,
    wait_for_baseline, PLAYER,
};

/// A second server with its own announcement channel.
const SECOND_GUILD: u64 = 130;
const SECOND_CHANNEL: u64 = 230;
const SECOND_ADMIN: u64 = 330;

fn posts_to(channel: u64) -> String {
    format!("/channels/{channel}/messages")
}

/// The bot's message creates in `channel`, as the fake received them.
fn post_requests(h: &Harness, channel: u64) -> Vec<RecordedRequest> {
    let path = posts_to(channel);
    h.discord
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .collect()
}

/// Both servers track [`PLAYER`], each in its own channel; returns once the baseline is in.
async fn two_servers(builder: HarnessBuilder) -> Harness {
    let h = builder
        .guild(other_guild(
            SECOND_GUILD,
            SECOND_CHANNEL,
            SECOND_ADMIN,
            "Second",
        ))
        .start()
        .await;
    assert_eq!(h.discord_path(), DiscordPath::Tls, "production's path");
    track(&h, GUILD, CHANNEL, ADMIN).await;
    track(&h, SECOND_GUILD, SECOND_CHANNEL, SECOND_ADMIN).await;
    wait_for_baseline(&h, PLAYER).await;
    h
}

/// Waits until every outbox row is sent, and checks each channel got exactly one announcement.
async fn each_channel_announced_once(h: &Harness, channels: &[u64]) {
    wait_until("every announcement marked sent", || async {
        let rows = outbox(h).await;
        (!rows.is_empty() && rows.iter().all(|(_, sent, _)| *sent)).then_some(())
    })
    .await;
    for channel in channels {
        assert_eq!(
            announcements(h, *channel).len(),
            1,
            "exactly one announcement in {channel}"
        );
    }
}

async fn metric(h: &Harness, series: &str) -> Option<String> {
    let text = reqwest::get(format!("{}/metrics", h.ops_url()))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.to_string())
        })
}

/// The rows go out in id order, the first server's first: a deliverer that posted one row
/// after the other would hold the second server's announcement behind the first's.
async fn first_row_is_the_first_servers(h: &Harness) {
    let rows = wait_until("both announcements queued", || async {
        let rows = outbox(h).await;
        (rows.len() == 2).then_some(rows)
    })
    .await;
    assert_eq!(rows[0].0, GUILD as i64, "{rows:?}");
}

#[tokio::test]
async fn a_channel_rate_limited_for_long_does_not_delay_another_channels_announcement() {
    let h = two_servers(fast_tracker()).await;
    // Below the 10 s that would hold every call: only this channel's route waits.
    let retry_after = 8.0;
    h.discord
        .inject_fault(Fault::rate_limited("POST", &posts_to(CHANNEL), retry_after));
    let (title, open) = open_trophies(&h, PLAYER).await;
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    first_row_is_the_first_servers(&h).await;

    h.discord
        .wait_for("the channel rate limited", |d| {
            d.requests()
                .iter()
                .any(|r| r.status == 429 && r.path == posts_to(CHANNEL))
                .then_some(())
        })
        .await
        .expect("the 429");
    wait_for_announcements(&h, SECOND_CHANNEL, 1).await;
    let limited = post_requests(&h, CHANNEL);
    assert_eq!(
        limited.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429],
        "the other server's announcement went out while this channel waits"
    );
    assert!(announcements(&h, CHANNEL).is_empty());

    wait_for_announcements(&h, CHANNEL, 1).await;
    let posts = post_requests(&h, CHANNEL);
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(
        posts[1].received - posts[0].received >= Duration::from_secs_f64(retry_after),
        "the route's retry_after was honoured"
    );
    each_channel_announced_once(&h, &[CHANNEL, SECOND_CHANNEL]).await;
}

#[tokio::test]
async fn a_global_429_holds_every_discord_call_until_it_passes() {
    // One player per server, so the second server's announcement comes due during the hold.
    let other_player = "sim_hunter";
    let h = fast_tracker()
        .guild(other_guild(
            SECOND_GUILD,
            SECOND_CHANNEL,
            SECOND_ADMIN,
            "Second",
        ))
        .start()
        .await;
    track(&h, GUILD, CHANNEL, ADMIN).await;
    let (ephemeral, reply) = h
        .track_add_in(
            SECOND_GUILD,
            SECOND_CHANNEL,
            SECOND_ADMIN,
            other_player,
            None,
        )
        .await;
    assert!(ephemeral, "{reply}");
    wait_for_baseline(&h, PLAYER).await;
    wait_for_baseline(&h, other_player).await;

    let hold = Duration::from_secs(8);
    h.discord.inject_fault(Fault::globally_rate_limited(
        &posts_to(CHANNEL),
        hold.as_secs_f64(),
    ));
    let (title, open) = open_trophies(&h, PLAYER).await;
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    let limited_at = h
        .discord
        .wait_for("the global 429", |d| {
            d.requests()
                .into_iter()
                .find(|r| r.status == 429)
                .map(|r| r.received)
        })
        .await
        .expect("the global 429");

    let (title, open) = open_trophies(&h, other_player).await;
    h.sim
        .earn_trophy(other_player, &title, open[0].0)
        .expect("earned");
    wait_until("the second announcement queued", || async {
        (outbox(&h).await.len() == 2).then_some(())
    })
    .await;
    assert!(
        limited_at.elapsed() < hold,
        "the second announcement came due during the hold"
    );

    let second = wait_for_announcements(&h, SECOND_CHANNEL, 1).await;
    assert_eq!(second.len(), 1);
    let rest_after_429: Vec<RecordedRequest> = h
        .discord
        .requests()
        .into_iter()
        .filter(|r| r.received > limited_at && !r.path.starts_with("/interactions"))
        .filter(|r| !r.path.starts_with("/webhooks"))
        .collect();
    assert!(!rest_after_429.is_empty());
    for request in &rest_after_429 {
        assert!(
            request.received - limited_at >= hold,
            "{} {} reached Discord {:?} into the global hold",
            request.method,
            request.path,
            request.received - limited_at
        );
    }
    each_channel_announced_once(&h, &[CHANNEL, SECOND_CHANNEL]).await;
    assert_eq!(
        metric(
            &h,
            "trophybot_discord_invalid_requests_total{status=\"429\"}"
        )
        .await
        .as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn a_hung_channel_is_timed_out_and_retried_without_a_duplicate() {
    let call_timeout = Duration::from_secs(3);
    let h = two_servers(fast_tracker().env("DISCORD_CALL_TIMEOUT", "3s")).await;
    h.discord
        .inject_fault(Fault::hang("POST", &posts_to(CHANNEL)));
    let (title, open) = open_trophies(&h, PLAYER).await;
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    first_row_is_the_first_servers(&h).await;

    wait_for_announcements(&h, SECOND_CHANNEL, 1).await;
    assert!(announcements(&h, CHANNEL).is_empty());
    let hung_at = h
        .discord
        .wait_for("the hung post", |d| {
            d.requests()
                .into_iter()
                .find(|r| r.status == 0 && r.path == posts_to(CHANNEL))
                .map(|r| r.received)
        })
        .await
        .expect("the hung post");
    let second_at = post_requests(&h, SECOND_CHANNEL)[0].received;
    assert!(
        second_at < hung_at + call_timeout,
        "the other server's announcement did not wait for the hung post to time out"
    );
    wait_for_announcements(&h, CHANNEL, 1).await;
    let posts = post_requests(&h, CHANNEL);
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [0, 200],
        "the hung post, then the retry"
    );
    assert_eq!(
        posts[0].body.as_ref().map(|b| b["nonce"].clone()),
        posts[1].body.as_ref().map(|b| b["nonce"].clone()),
        "retried with the same nonce"
    );
    assert!(posts[1].received - posts[0].received >= call_timeout);
    each_channel_announced_once(&h, &[CHANNEL, SECOND_CHANNEL]).await;
}

#[tokio::test]
async fn forbidden_answers_are_counted_in_the_metric() {
    let h = fast_tracker().start().await;
    track(&h, GUILD, CHANNEL, ADMIN).await;
    wait_for_baseline(&h, PLAYER).await;
    let series = "trophybot_discord_invalid_requests_total{status=\"403\"}";
    assert_eq!(metric(&h, series).await.as_deref(), Some("0"));
    h.discord
        .deny_bot_in_channel(CHANNEL, SEND_MESSAGES)
        .expect("denied");
    let (title, open) = open_trophies(&h, PLAYER).await;
    h.sim
        .earn_trophy(PLAYER, &title, open[0].0)
        .expect("earned");
    wait_until("the 403 counted", || async {
        (metric(&h, series).await.as_deref() == Some("1")).then_some(())
    })
    .await;
    let started = Instant::now();
    assert!(post_requests(&h, CHANNEL).iter().all(|r| r.status == 403));
    assert!(started.elapsed() < Duration::from_secs(1));
}
