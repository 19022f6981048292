//! Posts that exist at most once per server (milestones, weekly recaps): the outbox's event key.

use std::time::Duration;

use trophybot::store::EventPost;

use crate::support::db::TestDb;

fn post(guild_id: u64, event_key: &str, nonce: &str) -> EventPost {
    EventPost {
        guild_id,
        channel_id: 20,
        account_id: String::new(),
        payload: r#"{"content":"recap"}"#.to_string(),
        nonce: nonce.to_string(),
        event_key: event_key.to_string(),
    }
}

#[tokio::test]
async fn an_event_is_queued_once_per_server_whoever_queues_it() {
    let (_db, store) = TestDb::migrated().await;
    assert!(store
        .enqueue_event(&post(1, "recap:2026-W48", "n1"))
        .await
        .unwrap());
    // A second process (or a restart) queueing the same event with any nonce: nothing.
    assert!(!store
        .enqueue_event(&post(1, "recap:2026-W48", "n2"))
        .await
        .unwrap());
    // Another server, or another week, is another event.
    assert!(store
        .enqueue_event(&post(2, "recap:2026-W48", "n3"))
        .await
        .unwrap());
    assert!(store
        .enqueue_event(&post(1, "recap:2026-W49", "n4"))
        .await
        .unwrap());
    assert_eq!(store.outbox_pending_count().await.unwrap(), 3);
}

#[tokio::test]
async fn a_delivered_event_outlives_the_retention_so_it_is_never_posted_again() {
    let (_db, store) = TestDb::migrated().await;
    assert!(store
        .enqueue_event(&post(1, "milestone:acc:platinum:100", "n1"))
        .await
        .unwrap());
    sqlx::query("UPDATE outbox SET sent_at = now() - interval '400 days', created_at = now() - interval '400 days'")
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(
        store
            .prune_outbox(Duration::from_secs(30 * 86_400), 100)
            .await
            .unwrap(),
        0
    );
    assert!(!store
        .enqueue_event(&post(1, "milestone:acc:platinum:100", "n2"))
        .await
        .unwrap());
}
