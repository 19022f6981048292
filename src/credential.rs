//! Keeping the PSN sign-in across restarts: the client's refresh token is saved in the database
//! and tried first at the next start, so a restart needs no NPSSO exchange. Tokens are tied to a
//! fingerprint of the NPSSO they came from, so configuring a new NPSSO takes effect at once.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError};

/// How often the client's refresh token is compared with the saved one.
const SAVE_INTERVAL: Duration = Duration::from_secs(60);

/// A one-way fingerprint of the NPSSO (hex SHA-256): tells tokens of different NPSSOs apart
/// without storing the NPSSO.
pub fn npsso_fingerprint(npsso: &psn::Secret) -> String {
    Sha256::digest(npsso.expose().as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Puts the refresh token saved from this NPSSO, if any, into `config`. Returns the NPSSO's
/// fingerprint, under which later tokens are saved (`None` for credentials that are not an
/// NPSSO: a bearer or a refresh token given directly is not managed here).
pub async fn restore_saved_sign_in(store: &Store, config: &mut psn::Config) -> Option<String> {
    let psn::Credential::Npsso(npsso) = &config.credential else {
        return None;
    };
    let fingerprint = npsso_fingerprint(npsso);
    match store.load_refresh_token(&fingerprint).await {
        Ok(Some((token, _))) => {
            tracing::info!("signing in to PSN with the refresh token saved by an earlier run");
            config.saved_refresh_token = Some(token);
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(%err, "could not read the saved PSN sign-in"),
    }
    Some(fingerprint)
}

/// Saves the client's refresh token when it differs from `last_saved`. Returns whether it did.
pub async fn save_sign_in(
    store: &Store,
    client: &psn::Client,
    fingerprint: &str,
    last_saved: &mut Option<psn::Secret>,
) -> Result<bool, StoreError> {
    let Some((token, expires_at)) = client.refresh_token() else {
        return Ok(false);
    };
    if last_saved.as_ref() == Some(&token) {
        return Ok(false);
    }
    store
        .save_refresh_token(&token, expires_at, fingerprint)
        .await?;
    *last_saved = Some(token);
    Ok(true)
}

/// Saves the refresh token every [`SAVE_INTERVAL`] while it changes, and once more on cancel.
pub fn spawn_sign_in_saver(
    store: Store,
    client: psn::Client,
    fingerprint: String,
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
            if let Err(err) = save_sign_in(&store, &client, &fingerprint, &mut last_saved).await {
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

    #[test]
    fn fingerprints_are_stable_distinct_and_hide_the_npsso() {
        let a = npsso_fingerprint(&psn::Secret::new("npsso-one"));
        assert_eq!(a, npsso_fingerprint(&psn::Secret::new("npsso-one")));
        assert_ne!(a, npsso_fingerprint(&psn::Secret::new("npsso-two")));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("npsso"));
    }
}
