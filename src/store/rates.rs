//! What `/rarest` ranks a tracked player's stored library with: each title's trophies' earned
//! rates (saved as the PSN client fetches earned states), and the player's earned ids
//! (`account_title_state`, the tracker's, which a command may fill in for titles the tracker has
//! not read yet).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use psn::{Rarity, TitleProgress, TitleRates, TrophyRate};

use super::tracking::{earned_dates, trophy_kind_from_db};
use super::{corrupt, snowflake_to_db, Store, StoreError, TitleState};

/// One title of a tracked player's stored library, for `/rarest`.
#[derive(Debug, Clone, PartialEq)]
pub struct RarestTitle {
    /// As the tracker last listed it.
    pub title: TitleProgress,
    /// The earned trophy ids stored for it, when they reflect that listing (`None`: not known).
    pub earned: Option<Vec<u32>>,
    /// When those were earned, where stored.
    pub earned_at: BTreeMap<u32, DateTime<Utc>>,
    /// The stored rates of those earned trophies (a trophy without one is missing).
    pub rates: Vec<TrophyRate>,
}

/// A `title_trophy_rates` row: title, trophy, kind, earned rate, rarity code.
type RateRow = (String, i32, String, Option<f64>, Option<i16>);

impl Store {
    /// Upserts titles' earned rates in one statement; a title's rates are replaced trophy by
    /// trophy (PSN's rates drift as players earn them).
    pub async fn save_trophy_rates(&self, titles: &[TitleRates]) -> Result<(), StoreError> {
        // One row per trophy: an upsert may not touch the same row twice in one statement.
        let mut unique: HashMap<(&str, u32), &TrophyRate> = HashMap::new();
        for title in titles {
            for trophy in &title.trophies {
                unique.insert((title.np_communication_id.as_str(), trophy.id), trophy);
            }
        }
        let mut ids = Vec::with_capacity(unique.len());
        let mut trophies = Vec::with_capacity(unique.len());
        let mut kinds = Vec::with_capacity(unique.len());
        let mut earned_rates = Vec::with_capacity(unique.len());
        let mut rarities = Vec::with_capacity(unique.len());
        for ((id, trophy_id), trophy) in unique {
            ids.push(id.to_string());
            trophies.push(i32::try_from(trophy_id).unwrap_or(i32::MAX));
            kinds.push(trophy.kind.as_str().to_string());
            earned_rates.push(trophy.earned_rate);
            rarities.push(trophy.rarity.map(Rarity::code));
        }
        sqlx::query(
            "INSERT INTO title_trophy_rates
                 (np_communication_id, trophy_id, kind, earned_rate, rarity, updated_at)
             SELECT id, trophy, kind, rate, rarity, now()
             FROM UNNEST($1::text[], $2::int4[], $3::text[], $4::float8[], $5::int2[])
                  AS t(id, trophy, kind, rate, rarity)
             ON CONFLICT (np_communication_id, trophy_id) DO UPDATE
             SET kind = EXCLUDED.kind,
                 earned_rate = EXCLUDED.earned_rate,
                 rarity = EXCLUDED.rarity,
                 updated_at = EXCLUDED.updated_at",
        )
        .bind(ids)
        .bind(trophies)
        .bind(kinds)
        .bind(earned_rates)
        .bind(rarities)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A tracked player's whole stored library for `/rarest`, most recently updated first,
    /// under the rule of [`Store::user_library_in_guild`] (tracked in `guild_id`, trophy list
    /// last seen public; empty otherwise): each title with its stored earned ids and their
    /// rates. Two indexed reads, whatever the library's size.
    pub async fn rarest_library_in_guild(
        &self,
        account_id: &str,
        guild_id: u64,
    ) -> Result<Vec<RarestTitle>, StoreError> {
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT u.title::text, s.earned::text, s.earned_at::text FROM user_titles u
             LEFT JOIN account_title_state s
                    ON s.account_id = u.account_id
                   AND s.np_communication_id = u.np_communication_id
                   AND s.last_updated IS NOT DISTINCT FROM u.last_updated
             WHERE u.account_id = $1
               AND EXISTS (SELECT 1 FROM tracked_accounts t
                           WHERE t.guild_id = $2 AND t.account_id = $1)
               AND EXISTS (SELECT 1 FROM account_state a
                           WHERE a.account_id = $1 AND a.status = 'ok')
             ORDER BY u.last_updated DESC NULLS LAST, u.np_communication_id",
        )
        .bind(account_id)
        .bind(snowflake_to_db(guild_id))
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let rate_rows: Vec<RateRow> = sqlx::query_as(
            "SELECT r.np_communication_id, r.trophy_id, r.kind, r.earned_rate, r.rarity
             FROM account_title_state s
             JOIN title_trophy_rates r
               ON r.np_communication_id = s.np_communication_id
              AND s.earned @> to_jsonb(r.trophy_id)
             WHERE s.account_id = $1",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        let mut rates: HashMap<String, Vec<TrophyRate>> = HashMap::new();
        for (id, trophy_id, kind, earned_rate, rarity) in rate_rows {
            rates.entry(id).or_default().push(TrophyRate {
                id: u32::try_from(trophy_id).unwrap_or_default(),
                kind: trophy_kind_from_db(&kind),
                earned_rate,
                rarity: rarity.and_then(|code| Rarity::from_code(code.into())),
            });
        }
        rows.into_iter()
            .map(|(title, earned, earned_at)| {
                let title: TitleProgress =
                    serde_json::from_str(&title).map_err(corrupt("user title"))?;
                let earned: Option<Vec<u32>> = earned
                    .map(|ids| serde_json::from_str(&ids))
                    .transpose()
                    .map_err(corrupt("earned trophy ids"))?;
                let rates = match earned {
                    Some(_) => rates.remove(&title.np_communication_id).unwrap_or_default(),
                    None => Vec::new(),
                };
                Ok(RarestTitle {
                    title,
                    earned,
                    earned_at: earned_dates(earned_at.as_deref())?,
                    rates,
                })
            })
            .collect()
    }

    /// Stores a tracked player's earned ids of titles the tracker has not read yet, fetched by
    /// a command: only where the tracker's stored listing shows the same last-update time (so
    /// the ids are exactly what the tracker would have stored, and its next look at the title
    /// finds as new what is new), and never over ids the tracker stored. Returns the rows
    /// written.
    pub async fn fill_in_earned_ids(
        &self,
        account_id: &str,
        titles: &[TitleState],
    ) -> Result<u64, StoreError> {
        let mut ids = Vec::with_capacity(titles.len());
        let mut updated = Vec::with_capacity(titles.len());
        let mut earned = Vec::with_capacity(titles.len());
        let mut earned_at = Vec::with_capacity(titles.len());
        // A state without a last-update time cannot be matched with the listing.
        for state in titles.iter().filter(|s| s.last_updated.is_some()) {
            ids.push(state.np_communication_id.clone());
            updated.push(state.last_updated);
            earned
                .push(serde_json::to_string(&state.earned).map_err(corrupt("earned trophy ids"))?);
            earned_at.push(
                serde_json::to_string(&state.earned_at).map_err(corrupt("earned trophy dates"))?,
            );
        }
        let written = sqlx::query(
            "INSERT INTO account_title_state
                 (account_id, np_communication_id, last_updated, earned, earned_at)
             SELECT $1, t.id, t.updated, t.earned::jsonb, t.earned_at::jsonb
             FROM UNNEST($2::text[], $3::timestamptz[], $4::text[], $5::text[])
                  AS t(id, updated, earned, earned_at)
             JOIN user_titles u
               ON u.account_id = $1 AND u.np_communication_id = t.id
              AND u.last_updated = t.updated
             WHERE EXISTS (SELECT 1 FROM account_state a WHERE a.account_id = $1)
             ON CONFLICT (account_id, np_communication_id) DO NOTHING",
        )
        .bind(account_id)
        .bind(ids)
        .bind(updated)
        .bind(earned)
        .bind(earned_at)
        .execute(&self.pool)
        .await?;
        Ok(written.rows_affected())
    }
}

impl Store {
    /// The lowest PSN earned rate among every trophy the stored earned states say `account_id`
    /// earned, for the "rarest ever" milestone; `None` when none is stored, or when some earned
    /// trophy has no stored rate (the rarest one could be among them, so it is not knowable).
    pub async fn rarest_earned_rate(&self, account_id: &str) -> Result<Option<f64>, StoreError> {
        let (lowest, earned, unrated): (Option<f64>, i64, i64) = sqlx::query_as(
            "SELECT min(r.earned_rate), count(*), count(*) FILTER (WHERE r.earned_rate IS NULL)
             FROM account_title_state s
             CROSS JOIN LATERAL jsonb_array_elements(s.earned) AS e(id)
             LEFT JOIN title_trophy_rates r
                    ON r.np_communication_id = s.np_communication_id
                   AND r.trophy_id = (e.id)::int
             WHERE s.account_id = $1",
        )
        .bind(account_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(lowest.filter(|_| earned > 0 && unrated == 0))
    }
}
