//! Saved PSN sign-ins, one row per credential keyed by its NPSSO's fingerprint. The store keeps
//! only what `crate::credential` sealed: a nonce and a ciphertext it cannot open.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};

/// A refresh token as stored: sealed under a key only its NPSSO gives.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedCredential {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Replaces the sealed refresh token saved for the credential with this fingerprint.
    pub async fn save_sealed_credential(
        &self,
        npsso_fingerprint: &str,
        sealed: &SealedCredential,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO psn_credential
                 (npsso_fingerprint, nonce, sealed_refresh_token, expires_at, updated_at)
             VALUES ($1, $2, $3, $4, now())
             ON CONFLICT (npsso_fingerprint) DO UPDATE
             SET nonce = EXCLUDED.nonce,
                 sealed_refresh_token = EXCLUDED.sealed_refresh_token,
                 expires_at = EXCLUDED.expires_at,
                 updated_at = now()",
        )
        .bind(npsso_fingerprint)
        .bind(&sealed.nonce)
        .bind(&sealed.ciphertext)
        .bind(sealed.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The sealed refresh token saved for the credential with this fingerprint, if it has not
    /// expired.
    pub async fn load_sealed_credential(
        &self,
        npsso_fingerprint: &str,
    ) -> Result<Option<SealedCredential>, StoreError> {
        let row: Option<(Vec<u8>, Vec<u8>, DateTime<Utc>)> = sqlx::query_as(
            "SELECT nonce, sealed_refresh_token, expires_at FROM psn_credential
             WHERE npsso_fingerprint = $1 AND expires_at > now()",
        )
        .bind(npsso_fingerprint)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(nonce, ciphertext, expires_at)| SealedCredential {
            nonce,
            ciphertext,
            expires_at,
        }))
    }

    /// Forgets the sign-in saved for this credential (one that can no longer be opened).
    pub async fn forget_sealed_credential(
        &self,
        npsso_fingerprint: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM psn_credential WHERE npsso_fingerprint = $1")
            .bind(npsso_fingerprint)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
