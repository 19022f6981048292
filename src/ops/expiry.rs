//! The PSN refresh token lives about two months; after that the bot cannot sign in until the
//! operator sets a new `PSN_NPSSO`. This watcher warns well before that happens.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Level;

use super::Metrics;

/// How often the refresh token's expiry is checked.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// Warn this long before the refresh token expires...
const WARN_BEFORE: chrono::TimeDelta = chrono::TimeDelta::days(7);
/// ...and raise an error this long before.
const ERROR_BEFORE: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// Posts an operator alert where people will see it (the bot wires it to a Discord channel).
pub type AlertHook = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What to tell the operator about a refresh token expiring at `expires_at`, if anything: a
/// warning under 7 days, an error under 1 day or once expired. The text never holds the token.
pub fn expiry_warning(now: DateTime<Utc>, expires_at: DateTime<Utc>) -> Option<(Level, String)> {
    let remaining = expires_at - now;
    let when = expires_at.format("%Y-%m-%d %H:%M UTC");
    let action = "sign in to PlayStation again and set a new PSN_NPSSO, then restart the bot";
    if remaining <= chrono::TimeDelta::zero() {
        Some((
            Level::ERROR,
            format!("the PSN refresh token expired at {when}: {action}"),
        ))
    } else if remaining < ERROR_BEFORE {
        let hours = remaining.num_hours();
        let span = if hours < 1 {
            "less than an hour".to_string()
        } else {
            plural(hours, "hour")
        };
        Some((
            Level::ERROR,
            format!("the PSN refresh token expires in {span} (at {when}): {action}"),
        ))
    } else if remaining < WARN_BEFORE {
        Some((
            Level::WARN,
            format!(
                "the PSN refresh token expires in {} (at {when}): {action}",
                plural(remaining.num_days(), "day")
            ),
        ))
    } else {
        None
    }
}

fn plural(n: i64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// Checks the refresh token every hour until `cancel`: exports its remaining life as a gauge,
/// logs a warning or error as it nears expiry, and posts to `alert` when the level rises (not
/// every hour: once at warning, once more at error).
pub fn spawn_refresh_token_watch(
    client: psn::Client,
    credential: String,
    metrics: Metrics,
    alert: Option<AlertHook>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(CHECK_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut alerted: Option<Level> = None;
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let expires_at = client.refresh_token().map(|(_, expires_at)| expires_at);
            let warning = check_refresh_token(Utc::now(), &credential, expires_at, &metrics);
            let Some((level, message)) = warning else {
                alerted = None;
                continue;
            };
            if level == Level::ERROR {
                tracing::error!("{message}");
            } else {
                tracing::warn!("{message}");
            }
            // Level orders ERROR below WARN: "more severe" is "less than".
            if alerted.is_none_or(|previous| level < previous) {
                alerted = Some(level);
                if let Some(alert) = &alert {
                    alert(message).await;
                }
            }
        }
    })
}

/// One check of the credential labelled `credential`: updates its expiry gauge and says what
/// to tell the operator.
pub fn check_refresh_token(
    now: DateTime<Utc>,
    credential: &str,
    expires_at: Option<DateTime<Utc>>,
    metrics: &Metrics,
) -> Option<(Level, String)> {
    metrics.set_refresh_token_expires_in(credential, expires_at.map(|at| (at - now).num_seconds()));
    expiry_warning(now, expires_at?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_while_more_than_a_week_remains() {
        assert_eq!(expiry_warning(now(), now() + TimeDelta::days(60)), None);
        assert_eq!(expiry_warning(now(), now() + TimeDelta::days(7)), None);
    }

    #[test]
    fn warns_in_the_last_week() {
        let (level, text) =
            expiry_warning(now(), now() + TimeDelta::days(5) + TimeDelta::hours(3)).unwrap();
        assert_eq!(level, Level::WARN);
        assert!(text.contains("expires in 5 days"), "{text}");
        assert!(text.contains("2026-11-29 15:00 UTC"), "{text}");
        assert!(text.contains("PSN_NPSSO"), "{text}");
    }

    #[test]
    fn errors_in_the_last_day_and_once_expired() {
        let (level, text) = expiry_warning(now(), now() + TimeDelta::hours(23)).unwrap();
        assert_eq!(level, Level::ERROR);
        assert!(text.contains("expires in 23 hours"), "{text}");

        let (level, text) = expiry_warning(now(), now() + TimeDelta::minutes(10)).unwrap();
        assert_eq!(level, Level::ERROR);
        assert!(text.contains("less than an hour"), "{text}");

        let (level, text) = expiry_warning(now(), now() - TimeDelta::hours(1)).unwrap();
        assert_eq!(level, Level::ERROR);
        assert!(text.contains("expired at 2026-11-24 11:00 UTC"), "{text}");
    }

    #[test]
    fn a_check_exports_the_remaining_seconds() {
        let metrics = Metrics::new();
        let stats = psn::ClientStats::default();
        assert_eq!(check_refresh_token(now(), "psn-1", None, &metrics), None);
        assert!(!metrics
            .render(&stats)
            .contains("\ntrophybot_psn_refresh_token_expires_in_seconds "));

        let warning =
            check_refresh_token(now(), "psn-1", Some(now() + TimeDelta::days(2)), &metrics);
        assert_eq!(warning.map(|(level, _)| level), Some(Level::WARN));
        assert!(metrics
            .render(&stats)
            .contains("\ntrophybot_psn_refresh_token_expires_in_seconds 172800\n"));
    }
}
