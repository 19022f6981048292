//! The Discord application the data belongs to: stored at the first start, so a start with
//! another application's token is noticed before it acts on this bot's data.

use super::{snowflake_from_db, snowflake_to_db, Store, StoreError};

impl Store {
    /// The stored application ID, storing `application_id` first when none is stored (the first
    /// start). Of two first starts at once, the one that stores first wins; the other sees its ID.
    pub async fn claim_application_id(&self, application_id: u64) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO discord_application (id, application_id) VALUES (1, $1)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(snowflake_to_db(application_id))
        .execute(&mut *tx)
        .await?;
        let (stored,): (i64,) =
            sqlx::query_as("SELECT application_id FROM discord_application WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(snowflake_from_db(stored))
    }

    /// The stored application ID, if a bot has started on this database.
    pub async fn application_id(&self) -> Result<Option<u64>, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT application_id FROM discord_application WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id,)| snowflake_from_db(id)))
    }

    /// Replaces the stored application ID (the operator allowed the change).
    pub async fn save_application_id(&self, application_id: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO discord_application (id, application_id, updated_at)
             VALUES (1, $1, now())
             ON CONFLICT (id) DO UPDATE
             SET application_id = EXCLUDED.application_id, updated_at = now()",
        )
        .bind(snowflake_to_db(application_id))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
