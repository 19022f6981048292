//! The saved PSN sign-in is sealed: the row holds a nonce and a ciphertext that only the NPSSO's
//! key opens, one row per credential.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, TimeZone, Utc};
use hkdf::Hkdf;
use psn::Secret;
use sha2::Sha256;
use trophybot::credential::{npsso_fingerprint, open_refresh_token, seal_refresh_token};
use trophybot::store::{SealedCredential, Store};

use crate::support::db::TestDb;

const NPSSO: &str = "npsso-canary-7f3e";
const TOKEN: &str = "refresh-canary-91ab";

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .expect("valid timestamp")
}

async fn save(store: &Store, npsso: &str, token: &str, expires_at: DateTime<Utc>) {
    let npsso = Secret::new(npsso);
    let sealed = seal_refresh_token(&npsso, &Secret::new(token), expires_at).expect("seal");
    store
        .save_sealed_credential(&npsso_fingerprint(&npsso), &sealed)
        .await
        .expect("save");
}

async fn load(store: &Store, npsso: &str) -> Option<SealedCredential> {
    store
        .load_sealed_credential(&npsso_fingerprint(&Secret::new(npsso)))
        .await
        .expect("load")
}

/// Every stored byte of every row, as PostgreSQL's text output (bytea as hex) and raw bytes.
async fn stored_rows(store: &Store) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    sqlx::query_as("SELECT t::text, nonce, sealed_refresh_token FROM psn_credential t")
        .fetch_all(store.pool())
        .await
        .expect("read rows")
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test]
async fn a_saved_sign_in_round_trips_and_the_row_holds_no_plaintext() {
    let (_db, store) = TestDb::migrated().await;
    assert!(load(&store, NPSSO).await.is_none());

    save(&store, NPSSO, "first-token", at(1_800_000_000)).await;
    save(&store, NPSSO, TOKEN, at(1_900_000_000)).await;

    let sealed = load(&store, NPSSO).await.expect("a saved sign-in");
    assert_eq!(sealed.expires_at, at(1_900_000_000));
    let token = open_refresh_token(&Secret::new(NPSSO), &sealed).expect("opens");
    assert_eq!(token.expose(), TOKEN);

    let rows = stored_rows(&store).await;
    assert_eq!(rows.len(), 1, "one row per credential, replaced on save");
    let (text, nonce, ciphertext) = &rows[0];
    for secret in [TOKEN, "first-token", NPSSO, "canary"] {
        assert!(!text.contains(secret), "{secret} in the row: {text}");
        assert!(!holds(nonce, secret) && !holds(ciphertext, secret));
    }
    assert!(text.contains(&npsso_fingerprint(&Secret::new(NPSSO))));
}

#[tokio::test]
async fn the_row_alone_or_another_npsso_cannot_open_the_token() {
    let (_db, store) = TestDb::migrated().await;
    save(&store, NPSSO, TOKEN, at(1_900_000_000)).await;
    let sealed = load(&store, NPSSO).await.expect("a saved sign-in");
    let fingerprint = npsso_fingerprint(&Secret::new(NPSSO));

    assert!(open_refresh_token(&Secret::new("another-npsso"), &sealed).is_none());
    // Everything the row holds, tried as the secret, as the key, and through the key's
    // derivation: nothing opens it.
    assert!(open_refresh_token(&Secret::new(fingerprint.clone()), &sealed).is_none());
    let fingerprint_bytes: Vec<u8> = (0..fingerprint.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&fingerprint[i..i + 2], 16).expect("hex"))
        .collect();
    let mut derived = [0u8; 32];
    Hkdf::<Sha256>::new(None, &fingerprint_bytes)
        .expand(b"trophybot psn refresh token sealing key v1", &mut derived)
        .expect("hkdf");
    for key in [fingerprint_bytes.as_slice(), &derived] {
        let cipher = XChaCha20Poly1305::new_from_slice(key).expect("a 32-byte key");
        for aad in [fingerprint.as_bytes(), b""] {
            let opened = cipher.decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad,
                },
            );
            assert!(opened.is_err(), "the row alone opened the token");
        }
    }
}

#[tokio::test]
async fn each_credential_has_its_own_row_bound_to_its_fingerprint() {
    let (_db, store) = TestDb::migrated().await;
    save(&store, "npsso-a", "token-a", at(1_900_000_000)).await;
    save(&store, "npsso-b", "token-b", at(1_900_000_000)).await;
    assert_eq!(stored_rows(&store).await.len(), 2);
    let a = load(&store, "npsso-a").await.expect("a");
    let b = load(&store, "npsso-b").await.expect("b");
    assert_eq!(
        open_refresh_token(&Secret::new("npsso-a"), &a).map(|t| t.expose().to_owned()),
        Some("token-a".to_owned())
    );
    assert_eq!(
        open_refresh_token(&Secret::new("npsso-b"), &b).map(|t| t.expose().to_owned()),
        Some("token-b".to_owned())
    );
    assert!(open_refresh_token(&Secret::new("npsso-b"), &a).is_none());
    assert!(load(&store, "npsso-c").await.is_none());
}

#[tokio::test]
async fn a_tampered_or_expired_row_does_not_open() {
    let (_db, store) = TestDb::migrated().await;
    save(&store, NPSSO, TOKEN, at(1_900_000_000)).await;
    let sealed = load(&store, NPSSO).await.expect("a saved sign-in");
    let npsso = Secret::new(NPSSO);
    let mut flipped = sealed.clone();
    flipped.ciphertext[0] ^= 1;
    assert!(open_refresh_token(&npsso, &flipped).is_none());
    let mut other_nonce = sealed.clone();
    other_nonce.nonce[0] ^= 1;
    assert!(open_refresh_token(&npsso, &other_nonce).is_none());
    let mut short_nonce = sealed.clone();
    short_nonce.nonce.truncate(12);
    assert!(open_refresh_token(&npsso, &short_nonce).is_none());
    assert!(open_refresh_token(&npsso, &sealed).is_some());

    save(&store, NPSSO, TOKEN, at(1_000_000_000)).await;
    assert!(load(&store, NPSSO).await.is_none(), "an expired token");
}

/// A database from before sealing held the token in plain text under `id = 1`: the migration
/// drops it rather than keep it.
#[tokio::test]
async fn the_migration_drops_plaintext_tokens() {
    let db = TestDb::create().await;
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    let mut before_sealing = sqlx::migrate!("./migrations");
    before_sealing.migrations = before_sealing
        .migrations
        .iter()
        .filter(|m| m.version < 20261129000004)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before_sealing.run(&pool).await.expect("old migrations");
    sqlx::query(
        "INSERT INTO psn_credential (id, refresh_token, expires_at, npsso_fingerprint)
         VALUES (1, $1, now() + interval '30 days', 'old-fingerprint')",
    )
    .bind(TOKEN)
    .execute(&pool)
    .await
    .expect("an old plaintext row");
    pool.close().await;

    let store = Store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    assert!(stored_rows(&store).await.is_empty());
    let (columns,): (String,) = sqlx::query_as(
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
         FROM information_schema.columns WHERE table_name = 'psn_credential'",
    )
    .fetch_one(store.pool())
    .await
    .expect("columns");
    assert_eq!(
        columns,
        "npsso_fingerprint,nonce,sealed_refresh_token,expires_at,updated_at"
    );
    store.close().await;
}
