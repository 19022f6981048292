//! The PSN refresh token, kept so a restart does not need a fresh NPSSO. It is stored with a
//! fingerprint of the NPSSO it came from: after the operator configures a new NPSSO, a token from
//! the old one is not used.

use chrono::{DateTime, Utc};
use psn::Secret;

use super::{Store, StoreError};

impl Store {
    /// Replaces the stored refresh token (there is only ever one).
    pub async fn save_refresh_token(
        &self,
        token: &Secret,
        expires_at: DateTime<Utc>,
        npsso_fingerprint: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO psn_credential (id, refresh_token, expires_at, npsso_fingerprint, updated_at)
             VALUES (1, $1, $2, $3, now())
             ON CONFLICT (id) DO UPDATE
             SET refresh_token = EXCLUDED.refresh_token,
                 expires_at = EXCLUDED.expires_at,
                 npsso_fingerprint = EXCLUDED.npsso_fingerprint,
                 updated_at = now()",
        )
        .bind(token.expose())
        .bind(expires_at)
        .bind(npsso_fingerprint)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored refresh token and when it expires, if one was saved from the NPSSO with this
    /// fingerprint and has not expired.
    pub async fn load_refresh_token(
        &self,
        npsso_fingerprint: &str,
    ) -> Result<Option<(Secret, DateTime<Utc>)>, StoreError> {
        let row: Option<(String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT refresh_token, expires_at FROM psn_credential
             WHERE id = 1 AND npsso_fingerprint = $1 AND expires_at > now()",
        )
        .bind(npsso_fingerprint)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(token, expires_at)| (Secret::new(token), expires_at)))
    }
}
