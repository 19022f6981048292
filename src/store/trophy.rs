//! What `/trophy` reads: the titles a server's tracked players own, who of them holds a title
//! (with their stored earned states and dates), and a title's stored definition. Every read
//! follows the rule of [`Store::user_library_in_guild`]: players tracked in the server whose
//! trophy list was last seen public, nobody else.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use psn::TitleDefinition;

use super::tracking::{library_name, stored_earned, LibraryName};
use super::{corrupt, snowflake_to_db, Store, StoreError};

/// One tracked player of a server who owns a title, with their stored earned state of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleHolder {
    pub online_id: String,
    /// The stored earned ids; `None` while the title's earned state is not stored yet (the
    /// history backfill has not reached it).
    pub earned: Option<Vec<u32>>,
    pub earned_at: BTreeMap<u32, DateTime<Utc>>,
}

impl Store {
    /// The titles the players `guild_id` tracks own (trophy list last seen public), the most
    /// recently played first, at most `limit`: game autocomplete and name resolution for
    /// `/trophy`. Names as the tracker stored them (the bot's default language).
    pub async fn guild_title_names(
        &self,
        guild_id: u64,
        limit: u32,
    ) -> Result<Vec<LibraryName>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT u.np_communication_id, min(u.name), min(u.platform)
             FROM tracked_accounts t
             JOIN account_state a ON a.account_id = t.account_id AND a.status = 'ok'
             JOIN user_titles u ON u.account_id = t.account_id
             WHERE t.guild_id = $1
             GROUP BY u.np_communication_id
             ORDER BY max(u.last_updated) DESC NULLS LAST, u.np_communication_id
             LIMIT $2",
        )
        .bind(snowflake_to_db(guild_id))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(library_name).collect())
    }

    /// Every player `guild_id` tracks who owns `np_communication_id` (stored library; trophy list
    /// last seen public), with their stored earned state of it. One indexed read.
    pub async fn title_holders_in_guild(
        &self,
        guild_id: u64,
        np_communication_id: &str,
    ) -> Result<Vec<TitleHolder>, StoreError> {
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT coalesce(a.online_id, t.online_id), s.earned::text, s.earned_at::text
             FROM tracked_accounts t
             JOIN account_state a ON a.account_id = t.account_id AND a.status = 'ok'
             JOIN user_titles u
               ON u.account_id = t.account_id AND u.np_communication_id = $2
             LEFT JOIN account_title_state s
               ON s.account_id = t.account_id AND s.np_communication_id = $2
             WHERE t.guild_id = $1
             ORDER BY t.account_id",
        )
        .bind(snowflake_to_db(guild_id))
        .bind(np_communication_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(online_id, earned, earned_at)| {
                let (earned, earned_at) = stored_earned(earned.as_deref(), earned_at.as_deref())?;
                Ok(TitleHolder {
                    online_id,
                    earned,
                    earned_at,
                })
            })
            .collect()
    }

    /// A title's stored definition, in the first of `languages` it is stored in, else in any
    /// language stored (names in another language beat no answer). `None`: never fetched.
    pub async fn stored_title_definition(
        &self,
        np_communication_id: &str,
        languages: &[&str],
    ) -> Result<Option<TitleDefinition>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT language, definition::text FROM title_definitions
             WHERE np_communication_id = $1",
        )
        .bind(np_communication_id)
        .fetch_all(&self.pool)
        .await?;
        let preference = |language: &str| {
            languages
                .iter()
                .position(|l| *l == language)
                .unwrap_or(languages.len())
        };
        rows.into_iter()
            .min_by(|(a, _), (b, _)| preference(a).cmp(&preference(b)).then(a.cmp(b)))
            .map(|(_, json)| serde_json::from_str(&json).map_err(corrupt("title definition")))
            .transpose()
    }
}

impl Store {
    /// One trophy's earned rate and PSN rarity tier as last stored (see `title_trophy_rates`).
    pub async fn trophy_rate(
        &self,
        np_communication_id: &str,
        trophy_id: u32,
    ) -> Result<Option<(Option<f64>, Option<psn::Rarity>)>, StoreError> {
        let row: Option<(Option<f64>, Option<i16>)> = sqlx::query_as(
            "SELECT earned_rate, rarity FROM title_trophy_rates
             WHERE np_communication_id = $1 AND trophy_id = $2",
        )
        .bind(np_communication_id)
        .bind(i32::try_from(trophy_id).unwrap_or(i32::MAX))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(rate, rarity)| {
            (
                rate,
                rarity.and_then(|code| psn::Rarity::from_code(code.into())),
            )
        }))
    }
}
