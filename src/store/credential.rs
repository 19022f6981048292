//! The PSN refresh token, kept so a restart does not need a fresh NPSSO.

use chrono::{DateTime, Utc};
use psn::Secret;

use super::{Store, StoreError};

impl Store {
    /// Replaces the stored refresh token (there is only ever one).
    pub async fn save_refresh_token(
        &self,
        token: &Secret,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO psn_credential (id, refresh_token, expires_at, updated_at)
             VALUES (1, $1, $2, now())
             ON CONFLICT (id) DO UPDATE
             SET refresh_token = EXCLUDED.refresh_token,
                 expires_at = EXCLUDED.expires_at,
                 updated_at = now()",
        )
        .bind(token.expose())
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored refresh token and when it expires, if one was saved.
    pub async fn load_refresh_token(&self) -> Result<Option<(Secret, DateTime<Utc>)>, StoreError> {
        let row: Option<(String, DateTime<Utc>)> =
            sqlx::query_as("SELECT refresh_token, expires_at FROM psn_credential WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(token, expires_at)| (Secret::new(token), expires_at)))
    }
}
