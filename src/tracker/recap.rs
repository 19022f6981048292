//! The weekly recap's scheduler: every [`RECAP_CHECK_EVERY`] (the first time at start) it
//! queues, for each server whose latest recap is due and not yet in its outbox, the recap of
//! the seven days up to that due time. A bot that was down when a recap was due posts it on
//! its next start within the week after (late rather than never); the next due time replaces
//! it. The outbox's event key (`recap:2026-W48`, unique per server) makes it exactly once
//! whichever process, or how many, queue it. Weeks without trophies queue nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::poll::announcement_nonce;
use super::Signals;
use crate::model::recap::latest_recap;
use crate::render;
use crate::store::{EventPost, Store, StoreError};

/// How often due recaps are looked for: a recap goes out within this much of its hour.
pub const RECAP_CHECK_EVERY: Duration = Duration::from_secs(300);

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecapRound {
    /// Recaps this round put in the outbox.
    pub queued: usize,
    /// Servers whose due week had no trophies.
    pub empty: usize,
}

/// Queues the recaps due at `now`. `default_language` names titles for servers that chose no
/// language. A server without an announcement channel (nor a channel its tracked accounts
/// announce in) gets none.
pub async fn queue_due_recaps(
    store: &Store,
    default_language: &str,
    now: DateTime<Utc>,
) -> Result<RecapRound, StoreError> {
    let mut round = RecapRound::default();
    for guild in store.recap_guilds().await? {
        let Some(channel_id) = guild.channel_id else {
            continue;
        };
        let week = latest_recap(&guild.schedule, now);
        // Cheap check first: most rounds find the week's recap already queued.
        if store.has_event(guild.guild_id, &week.event_key).await? {
            continue;
        }
        let language = guild.language.as_deref().unwrap_or(default_language);
        let recap = store
            .weekly_recap(guild.guild_id, &week, guild.schedule.time_zone, language)
            .await?;
        if recap.is_empty() {
            round.empty += 1;
            continue;
        }
        let payload = serde_json::to_string(&render::weekly_recap(&recap)).map_err(|source| {
            StoreError::Corrupt {
                what: "weekly recap",
                source,
            }
        })?;
        let post = EventPost {
            guild_id: guild.guild_id,
            channel_id,
            account_id: String::new(),
            payload,
            // The key is not an account id (those are digits): no announcement shares it.
            nonce: announcement_nonce(
                guild.guild_id,
                "recap",
                std::slice::from_ref(&week.event_key),
                0,
            ),
            event_key: week.event_key.clone(),
        };
        if store.enqueue_event(&post).await? {
            tracing::info!(guild = guild.guild_id, week = %week.event_key, "weekly recap queued");
            round.queued += 1;
        }
    }
    Ok(round)
}

/// Looks for due recaps at start and every [`RECAP_CHECK_EVERY`] until `cancel`, waking the
/// deliverer when it queued one.
pub fn spawn_recap_scheduler(
    store: Store,
    default_language: String,
    signals: Signals,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match queue_due_recaps(&store, &default_language, Utc::now()).await {
                Ok(round) if round.queued > 0 => signals.outbox_ready.notify_one(),
                Ok(_) => {}
                // The next round tries again; the event key keeps it from doubling.
                Err(err) => tracing::warn!(%err, "could not queue weekly recaps"),
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                () = tokio::time::sleep(RECAP_CHECK_EVERY) => {}
            }
        }
    })
}
