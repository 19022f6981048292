//! The PSN client's title definition cache, saved so it survives restarts.

use std::collections::BTreeMap;

use psn::TitleDefinition;

use super::{corrupt, Store, StoreError};

impl Store {
    /// Upserts the definitions in one statement. The definition is stored as JSON: it is only
    /// ever read back whole.
    pub async fn save_title_definitions(
        &self,
        titles: &[TitleDefinition],
        language: &str,
    ) -> Result<(), StoreError> {
        // One row per title: an upsert may not touch the same row twice in one statement.
        let unique: BTreeMap<&str, &TitleDefinition> = titles
            .iter()
            .map(|title| (title.np_communication_id.as_str(), title))
            .collect();
        let mut ids = Vec::with_capacity(unique.len());
        let mut services = Vec::with_capacity(unique.len());
        let mut definitions = Vec::with_capacity(unique.len());
        for (id, title) in unique {
            ids.push(id.to_string());
            services.push(title.service.map(|service| service.as_str().to_string()));
            definitions.push(serde_json::to_string(title).map_err(corrupt("title definition"))?);
        }
        // jsonb travels as text (the sqlx `json` feature is not needed for that).
        sqlx::query(
            "INSERT INTO title_definitions
                 (np_communication_id, language, service, definition, fetched_at)
             SELECT id, $4, service, definition::jsonb, now()
             FROM UNNEST($1::text[], $2::text[], $3::text[]) AS t(id, service, definition)
             ON CONFLICT (np_communication_id, language) DO UPDATE
             SET service = EXCLUDED.service,
                 definition = EXCLUDED.definition,
                 fetched_at = EXCLUDED.fetched_at",
        )
        .bind(ids)
        .bind(services)
        .bind(definitions)
        .bind(language)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The languages definitions are stored in.
    pub async fn title_definition_languages(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT DISTINCT language FROM title_definitions ORDER BY language")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(language,)| language).collect())
    }

    /// Every stored definition in `language`, ordered by npCommunicationId.
    pub async fn load_title_definitions(
        &self,
        language: &str,
    ) -> Result<Vec<TitleDefinition>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT definition::text FROM title_definitions
             WHERE language = $1 ORDER BY np_communication_id",
        )
        .bind(language)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(json,)| serde_json::from_str(&json).map_err(corrupt("title definition")))
            .collect()
    }
}
