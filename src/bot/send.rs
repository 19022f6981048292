//! Sending to Discord with serenity's own rate limiter off (as with `DISCORD_API_URL`): the bot
//! honours 429 itself by retrying a few times with backoff.

use std::future::Future;
use std::time::Duration;

use poise::serenity_prelude as serenity;

const ATTEMPTS: u32 = 4;

fn is_rate_limited(err: &serenity::Error) -> bool {
    matches!(
        err,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(resp))
            if resp.status_code.as_u16() == 429
    )
}

/// Runs `op`, retrying on 429. serenity's error drops the body's `retry_after`, so the wait
/// doubles from half a second, which covers Discord's usual per-route resets.
pub async fn with_retry<T, F, Fut>(mut op: F) -> Result<T, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let mut wait = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match op().await {
            Err(err) if attempt < ATTEMPTS && is_rate_limited(&err) => {
                tracing::warn!(attempt, ?wait, "Discord answered 429; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}
