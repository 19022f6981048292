//! Discord users linked to their PSN account (`/link`, `/unlink`).

use chrono::{DateTime, Utc};

use super::{snowflake_to_db, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkedAccount {
    pub account_id: String,
    pub online_id: String,
    /// When the user proved the account is theirs; `None` until then.
    pub verified_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Links `discord_user_id` to a PSN account, replacing any earlier link (which then has to
    /// be verified again).
    pub async fn link_user(
        &self,
        discord_user_id: u64,
        account_id: &str,
        online_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO linked_users (discord_user_id, account_id, online_id, linked_at)
             VALUES ($1, $2, $3, now())
             ON CONFLICT (discord_user_id) DO UPDATE
             SET account_id = EXCLUDED.account_id,
                 online_id = EXCLUDED.online_id,
                 verify_code = NULL,
                 verified_at = NULL,
                 linked_at = now()",
        )
        .bind(snowflake_to_db(discord_user_id))
        .bind(account_id)
        .bind(online_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes the user's link; `false` when there was none.
    pub async fn unlink_user(&self, discord_user_id: u64) -> Result<bool, StoreError> {
        let result = sqlx::query("DELETE FROM linked_users WHERE discord_user_id = $1")
            .bind(snowflake_to_db(discord_user_id))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() > 0)
    }

    /// The PSN account linked to `discord_user_id`, if any.
    pub async fn linked_account(
        &self,
        discord_user_id: u64,
    ) -> Result<Option<LinkedAccount>, StoreError> {
        let linked = sqlx::query_as(
            "SELECT account_id, online_id, verified_at FROM linked_users
             WHERE discord_user_id = $1",
        )
        .bind(snowflake_to_db(discord_user_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(linked)
    }
}
