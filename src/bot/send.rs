//! Sending to Discord through the process's [`DiscordGate`] (hold, bound, timeout, counting).
//! With serenity's own rate limiter off (as with `DISCORD_API_URL`) the bot honours 429 itself
//! by retrying a few times with backoff; with the limiter on, serenity waits out 429s inside
//! the call and the gate's timeout bounds that.

use std::future::Future;
use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::discord_gate::{CallKind, DiscordGate};

const ATTEMPTS: u32 = 4;

fn is_rate_limited(err: &serenity::Error) -> bool {
    matches!(
        err,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(resp))
            if resp.status_code.as_u16() == 429
    )
}

/// Runs `op` through `gate`, retrying on 429. serenity's error drops the body's `retry_after`
/// and `global`, so the wait doubles from half a second, which covers Discord's usual
/// per-route resets; each 429 is reported to the gate as a route limit of that wait.
pub async fn with_retry<T, F, Fut>(
    gate: &DiscordGate,
    kind: CallKind,
    mut op: F,
) -> Result<T, serenity::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let mut wait = Duration::from_millis(500);
    let mut attempt = 1;
    loop {
        match gate.call(kind, op()).await {
            Err(err) if is_rate_limited(&err) => {
                gate.report_rate_limited(wait, false);
                if attempt >= ATTEMPTS {
                    return Err(err);
                }
                tracing::warn!(attempt, ?wait, "Discord answered 429; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            other => return other,
        }
    }
}
