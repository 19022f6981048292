//! Linked accounts in PostgreSQL: verification codes, verifying, relinking, and who is linked to
//! an account. Each test has a database of its own.

use trophybot::store::{LinkedAccount, VERIFY_CODE_PREFIX};

use crate::support::db::TestDb;

/// Above i64::MAX: stored as the same 64 bits, read back unchanged.
const BIG_USER: u64 = u64::MAX - 41;
const USER: u64 = 80_351_110_224_678_912;

#[tokio::test]
async fn a_new_link_has_a_fresh_code_that_stays_until_the_link_changes() {
    let (_db, store) = TestDb::migrated().await;
    let code = store
        .link_user(USER, "2721516955383196192", "ikemenzi")
        .await
        .expect("link");
    assert!(code.starts_with(VERIFY_CODE_PREFIX), "{code}");
    assert_eq!(
        store.verify_code(USER).await.expect("code"),
        Some(code.clone()),
        "asking again gives the same code"
    );

    let relinked = store
        .link_user(USER, "6515971742264256071", "VaultTec-Co")
        .await
        .expect("relink");
    assert_ne!(relinked, code, "another account needs another code");
    assert_eq!(store.verify_code(USER).await.expect("code"), Some(relinked));
    assert_eq!(store.verify_code(BIG_USER).await.expect("no link"), None);
}

#[tokio::test]
async fn a_link_without_a_code_gets_one_when_asked() {
    let (_db, store) = TestDb::migrated().await;
    store.link_user(USER, "42", "someone").await.expect("link");
    // As a link stored before codes existed: no code yet.
    sqlx::query("UPDATE linked_users SET verify_code = NULL")
        .execute(store.pool())
        .await
        .expect("clear the code");
    let code = store
        .verify_code(USER)
        .await
        .expect("code")
        .expect("a link");
    assert!(code.starts_with(VERIFY_CODE_PREFIX), "{code}");
    assert_eq!(store.verify_code(USER).await.expect("code"), Some(code));
}

#[tokio::test]
async fn verifying_needs_the_same_account_and_survives_until_a_relink() {
    let (_db, store) = TestDb::migrated().await;
    store
        .link_user(BIG_USER, "42", "old_name")
        .await
        .expect("link");
    assert!(
        !store
            .mark_link_verified(BIG_USER, "43", "someone_else")
            .await
            .expect("verify"),
        "a check of another account verifies nothing"
    );
    assert_eq!(
        store.linked_account(BIG_USER).await.expect("lookup"),
        Some(LinkedAccount {
            account_id: "42".into(),
            online_id: "old_name".into(),
            verified_at: None,
        })
    );

    assert!(store
        .mark_link_verified(BIG_USER, "42", "new_name")
        .await
        .expect("verify"));
    let verified = store
        .linked_account(BIG_USER)
        .await
        .expect("lookup")
        .expect("linked");
    assert_eq!(
        verified.online_id, "new_name",
        "the current online ID is kept"
    );
    let first_verified_at = verified.verified_at.expect("verified");

    // Verifying again keeps the first time.
    assert!(store
        .mark_link_verified(BIG_USER, "42", "new_name")
        .await
        .expect("verify again"));
    assert_eq!(
        store
            .linked_account(BIG_USER)
            .await
            .expect("lookup")
            .and_then(|l| l.verified_at),
        Some(first_verified_at)
    );

    // Linking the same account again starts over: a new code, not verified.
    store
        .link_user(BIG_USER, "42", "new_name")
        .await
        .expect("relink");
    assert_eq!(
        store
            .linked_account(BIG_USER)
            .await
            .expect("lookup")
            .and_then(|l| l.verified_at),
        None
    );
}

#[tokio::test]
async fn removing_a_link_returns_what_it_named() {
    let (_db, store) = TestDb::migrated().await;
    assert_eq!(store.remove_link(USER).await.expect("remove"), None);
    store.link_user(USER, "42", "someone").await.expect("link");
    store
        .link_user(BIG_USER, "42", "someone")
        .await
        .expect("link");
    let removed = store.remove_link(USER).await.expect("remove");
    assert_eq!(removed.map(|l| l.online_id), Some("someone".to_string()));
    assert_eq!(store.linked_account(USER).await.expect("lookup"), None);
    assert!(
        store
            .linked_account(BIG_USER)
            .await
            .expect("lookup")
            .is_some(),
        "another user's link stays"
    );
    assert!(store
        .remove_link(USER)
        .await
        .expect("unlink again")
        .is_none());
}
