//! Keeping the PSN sign-in across restarts: the client's refresh token is saved in the database
//! and tried first at the next start, so a restart needs no NPSSO exchange.
//!
//! The token is sealed with XChaCha20-Poly1305 under a key derived from the NPSSO (HKDF-SHA256
//! with its own label), with a fresh random nonce per write. The row is keyed by the NPSSO's
//! fingerprint, derived from it under another label: the database holds neither the NPSSO nor
//! anything that yields the key, so the stored row alone opens no token. A new NPSSO in the
//! configuration has another fingerprint, so it takes effect at once.

use std::time::Duration;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::{DateTime, Utc};
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use crate::store::{SealedCredential, Store, StoreError};

/// How often the client's refresh token is compared with the saved one.
const SAVE_INTERVAL: Duration = Duration::from_secs(60);

/// HKDF labels: one secret, two unrelated outputs, so the stored fingerprint tells nothing of
/// the key.
const FINGERPRINT_LABEL: &[u8] = b"trophybot psn npsso fingerprint v1";
const SEALING_KEY_LABEL: &[u8] = b"trophybot psn refresh token sealing key v1";

/// XChaCha20-Poly1305's nonce: 24 bytes, so random nonces never repeat in practice.
const NONCE_LEN: usize = 24;

/// 32 bytes derived from the NPSSO under `label`.
fn derive(npsso: &psn::Secret, label: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // HKDF-SHA256 refuses only outputs over 255 × 32 bytes.
    let _ = Hkdf::<Sha256>::new(None, npsso.expose().as_bytes()).expand(label, &mut out);
    out
}

/// A one-way fingerprint of the NPSSO (hex): tells credentials apart without storing the NPSSO
/// or the sealing key.
pub fn npsso_fingerprint(npsso: &psn::Secret) -> String {
    derive(npsso, FINGERPRINT_LABEL)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn cipher(npsso: &psn::Secret) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&derive(npsso, SEALING_KEY_LABEL).into())
}

/// Seals `token` under this NPSSO's key, bound to its fingerprint (a row copied under another
/// fingerprint does not open). `None` only if the cipher refuses, which it does not for a
/// token's length.
pub fn seal_refresh_token(
    npsso: &psn::Secret,
    token: &psn::Secret,
    expires_at: DateTime<Utc>,
) -> Option<SealedCredential> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::thread_rng().fill_bytes(&mut nonce);
    let fingerprint = npsso_fingerprint(npsso);
    let ciphertext = cipher(npsso)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: token.expose().as_bytes(),
                aad: fingerprint.as_bytes(),
            },
        )
        .ok()?;
    Some(SealedCredential {
        nonce: nonce.to_vec(),
        ciphertext,
        expires_at,
    })
}

/// The refresh token in `sealed`, or `None` when this NPSSO's key does not open it (another
/// NPSSO, or a row that was changed).
pub fn open_refresh_token(npsso: &psn::Secret, sealed: &SealedCredential) -> Option<psn::Secret> {
    if sealed.nonce.len() != NONCE_LEN {
        return None;
    }
    let fingerprint = npsso_fingerprint(npsso);
    let plain = cipher(npsso)
        .decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: fingerprint.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok().map(psn::Secret::new)
}

/// Puts the refresh token saved from this NPSSO, if any, into `config`. Returns the NPSSO, under
/// whose key and fingerprint later tokens are saved (`None` for credentials that are not an
/// NPSSO: a bearer or a refresh token given directly is not managed here). A saved token that
/// does not open is forgotten, and the client signs in with the NPSSO.
pub async fn restore_saved_sign_in(store: &Store, config: &mut psn::Config) -> Option<psn::Secret> {
    let psn::Credential::Npsso(npsso) = &config.credential else {
        return None;
    };
    let npsso = npsso.clone();
    let fingerprint = npsso_fingerprint(&npsso);
    match store.load_sealed_credential(&fingerprint).await {
        Ok(Some(sealed)) => match open_refresh_token(&npsso, &sealed) {
            Some(token) => {
                tracing::info!("signing in to PSN with the refresh token saved by an earlier run");
                config.saved_refresh_token = Some(token);
            }
            None => {
                tracing::warn!(
                    "the saved PSN sign-in does not open with this NPSSO's key (the row was \
                     changed); forgetting it and signing in with the NPSSO"
                );
                if let Err(err) = store.forget_sealed_credential(&fingerprint).await {
                    tracing::warn!(%err, "could not forget the unreadable PSN sign-in");
                }
            }
        },
        Ok(None) => {}
        Err(err) => tracing::warn!(%err, "could not read the saved PSN sign-in"),
    }
    Some(npsso)
}

/// Saves the client's refresh token, sealed, when it differs from `last_saved`. Returns whether
/// it did.
pub async fn save_sign_in(
    store: &Store,
    client: &psn::Client,
    npsso: &psn::Secret,
    last_saved: &mut Option<psn::Secret>,
) -> Result<bool, StoreError> {
    let Some((token, expires_at)) = client.refresh_token() else {
        return Ok(false);
    };
    if last_saved.as_ref() == Some(&token) {
        return Ok(false);
    }
    let Some(sealed) = seal_refresh_token(npsso, &token, expires_at) else {
        return Ok(false);
    };
    store
        .save_sealed_credential(&npsso_fingerprint(npsso), &sealed)
        .await?;
    *last_saved = Some(token);
    Ok(true)
}

/// Saves the refresh token every [`SAVE_INTERVAL`] while it changes, and once more on cancel.
pub fn spawn_sign_in_saver(
    store: Store,
    client: psn::Client,
    npsso: psn::Secret,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_saved = None;
        let mut ticks = tokio::time::interval(SAVE_INTERVAL);
        loop {
            let stopping = tokio::select! {
                _ = ticks.tick() => false,
                () = cancel.cancelled() => true,
            };
            if let Err(err) = save_sign_in(&store, &client, &npsso, &mut last_saved).await {
                tracing::warn!(%err, "could not save the PSN sign-in");
            }
            if stopping {
                break;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn npsso(s: &str) -> psn::Secret {
        psn::Secret::new(s)
    }

    #[test]
    fn fingerprints_are_stable_distinct_and_hide_the_npsso() {
        let a = npsso_fingerprint(&npsso("npsso-one"));
        assert_eq!(a, npsso_fingerprint(&npsso("npsso-one")));
        assert_ne!(a, npsso_fingerprint(&npsso("npsso-two")));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("npsso"));
    }

    #[test]
    fn the_fingerprint_is_neither_a_plain_hash_nor_the_key() {
        let secret = npsso("npsso-one");
        let fingerprint = npsso_fingerprint(&secret);
        let plain_hash: String = Sha256::digest(b"npsso-one")
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_ne!(fingerprint, plain_hash);
        let key: String = derive(&secret, SEALING_KEY_LABEL)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_ne!(fingerprint, key);
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let secret = npsso("npsso-one");
        let token = psn::Secret::new("refresh-token");
        let a = seal_refresh_token(&secret, &token, Utc::now()).expect("seal");
        let b = seal_refresh_token(&secret, &token, Utc::now()).expect("seal");
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert_eq!(open_refresh_token(&secret, &a), Some(token.clone()));
        assert_eq!(open_refresh_token(&secret, &b), Some(token));
    }
}
