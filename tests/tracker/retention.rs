//! The outbox pruner against a real PostgreSQL: history past the retention goes, in batches;
//! recent history and pending announcements stay.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use trophybot::tracker::retention::{spawn_outbox_pruner, PRUNE_BATCH};

use crate::support::db::TestDb;

#[tokio::test]
async fn sent_and_failed_rows_past_the_retention_are_pruned_in_batches_pending_ones_stay() {
    let (_db, store) = TestDb::migrated().await;
    let old_sent = i64::from(PRUNE_BATCH) * 2 + 500;
    // Columns: created (days ago), sent (days ago), failed reason.
    let insert = |nonce_prefix: &'static str,
                  count: i64,
                  created: i32,
                  sent: Option<i32>,
                  failed: Option<&'static str>| {
        let pool = store.pool().clone();
        async move {
            sqlx::query(
                "INSERT INTO outbox (guild_id, channel_id, account_id, payload, nonce, created_at,
                                     sent_at, failed_reason)
                 SELECT 1, 2, 'acc', '{}'::jsonb, $1 || n, now() - make_interval(days => $2),
                        now() - make_interval(days => $3), $4
                 FROM generate_series(1, $5) n",
            )
            .bind(nonce_prefix)
            .bind(created)
            .bind(sent)
            .bind(failed)
            .bind(count)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    insert("old-sent-", old_sent, 40, Some(40), None).await;
    insert("new-sent-", 3, 2, Some(2), None).await;
    insert("old-failed-", 4, 40, None, Some("gone")).await;
    insert("new-failed-", 5, 2, None, Some("gone")).await;
    // Old yet never delivered (a long outage): not history, never pruned.
    insert("pending-", 6, 40, None, None).await;
    let count = |prefix: &'static str| {
        let pool = store.pool().clone();
        async move {
            let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM outbox WHERE nonce LIKE $1")
                .bind(format!("{prefix}%"))
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        }
    };

    let cancel = CancellationToken::new();
    let pruner = spawn_outbox_pruner(
        store.clone(),
        Duration::from_secs(30 * 86_400),
        cancel.clone(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while count("old-").await > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "old rows pruned at start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), pruner)
        .await
        .expect("the pruner stops when cancelled")
        .expect("no panic");
    assert_eq!(
        (
            count("new-sent-").await,
            count("new-failed-").await,
            count("pending-").await
        ),
        (3, 5, 6)
    );
}
