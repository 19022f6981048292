//! Keeps the outbox from growing without end: delivered announcements, and those given up on,
//! are deleted once older than `OUTBOX_RETENTION`, in bounded batches. Detected trophies are
//! kept: `/leaderboard`'s periods count them (see README, "Data kept").

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// How often the outbox is pruned (the first time at start).
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// Rows deleted per statement, so no prune holds locks or a transaction for long.
pub const PRUNE_BATCH: u32 = 1_000;

/// Prunes the outbox at start and every [`PRUNE_EVERY`] until `cancel`.
pub fn spawn_outbox_pruner(
    store: Store,
    retention: Duration,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            prune_outbox(&store, retention, &cancel).await;
            tokio::select! {
                _ = cancel.cancelled() => break,
                () = tokio::time::sleep(PRUNE_EVERY) => {}
            }
        }
    })
}

/// Deletes batch after batch until one comes back short; a database error ends this round
/// (the next one tries again).
async fn prune_outbox(store: &Store, retention: Duration, cancel: &CancellationToken) {
    let mut pruned = 0;
    while !cancel.is_cancelled() {
        match store.prune_outbox(retention, PRUNE_BATCH).await {
            Ok(count) => {
                pruned += count;
                if count < u64::from(PRUNE_BATCH) {
                    break;
                }
            }
            Err(err) => {
                tracing::warn!(%err, "could not prune the outbox");
                break;
            }
        }
    }
    if pruned > 0 {
        tracing::info!(
            pruned,
            retention_secs = retention.as_secs(),
            "old announcements pruned"
        );
    }
}
