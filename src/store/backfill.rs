//! What the tracker's history backfill reads: the titles of tracked players' stored libraries
//! that have no earned state yet (`account_title_state`), newest first, and how complete each
//! player's history is. The backfill writes through [`Store::fill_in_earned_ids`], the same
//! guarded write as the `/rarest` fill-in.

use std::collections::HashMap;

use psn::TitleProgress;

use super::{corrupt, Store, StoreError};

/// One title waiting for its earned state.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillTitle {
    pub account_id: String,
    pub online_id: String,
    /// As the tracker last listed it (the earned state must match its last-update time).
    pub title: TitleProgress,
}

/// How much of a player's stored library has its earned state (with dates) stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct History {
    pub with_state: u32,
    pub titles: u32,
}

impl Store {
    /// Up to `limit` titles without an earned state, of players whose baseline is taken and
    /// whose trophy list was last seen public, the most recently updated first (across
    /// players: the newest titles are the likeliest to be earned by someone else tracked).
    /// Titles listed without a last-update time are left out: a state cannot be matched with
    /// their listing.
    pub async fn backfill_titles(&self, limit: usize) -> Result<Vec<BackfillTitle>, StoreError> {
        self.backfill_titles_of(None, limit).await
    }

    /// [`Store::backfill_titles`] of `accounts` only (`None`: every account): a pool's tracker
    /// lane fills in the history of the players its credential polls.
    pub async fn backfill_titles_of(
        &self,
        accounts: Option<&[String]>,
        limit: usize,
    ) -> Result<Vec<BackfillTitle>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT u.account_id, a.online_id, u.title::text
             FROM user_titles u
             JOIN account_state a ON a.account_id = u.account_id
             WHERE a.baseline_done AND a.status = 'ok' AND u.last_updated IS NOT NULL
               AND ($2::text[] IS NULL OR u.account_id = ANY($2))
               AND NOT EXISTS (SELECT 1 FROM account_title_state s
                               WHERE s.account_id = u.account_id
                                 AND s.np_communication_id = u.np_communication_id)
             ORDER BY u.last_updated DESC, u.account_id, u.np_communication_id
             LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(accounts)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(account_id, online_id, title)| {
                Ok(BackfillTitle {
                    account_id,
                    online_id,
                    title: serde_json::from_str(&title).map_err(corrupt("user title"))?,
                })
            })
            .collect()
    }

    /// Each of `account_ids`' history: dated titles in the stored library, and how many of
    /// them have their earned state stored (absent: nothing stored yet).
    pub async fn histories(
        &self,
        account_ids: &[String],
    ) -> Result<HashMap<String, History>, StoreError> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT u.account_id, count(*),
                    count(*) FILTER (WHERE EXISTS (
                        SELECT 1 FROM account_title_state s
                        WHERE s.account_id = u.account_id
                          AND s.np_communication_id = u.np_communication_id))
             FROM user_titles u
             WHERE u.account_id = ANY($1) AND u.last_updated IS NOT NULL
             GROUP BY u.account_id",
        )
        .bind(account_ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(account_id, titles, with_state)| {
                let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
                (
                    account_id,
                    History {
                        with_state: count(with_state),
                        titles: count(titles),
                    },
                )
            })
            .collect())
    }
}
