//! What announcements' server context reads: the other tracked players of a server and their
//! stored earned states (with dates) of some titles.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::tracking::stored_earned;
use super::{snowflake_to_db, Store, StoreError};

/// One other tracked player of a server and one title.
#[derive(Debug, Clone, PartialEq)]
pub struct FellowTitle {
    pub account_id: String,
    pub online_id: String,
    pub np_communication_id: String,
    /// The stored library lists the title, or it is not known yet (first check pending).
    pub may_own: bool,
    /// The stored earned ids of the title; `None`: not stored (yet).
    pub earned: Option<Vec<u32>>,
    pub earned_at: BTreeMap<u32, DateTime<Utc>>,
}

/// A row of [`Store::fellow_titles`]: account, online ID, title, may own it, earned ids, dates.
type FellowRow = (String, String, String, bool, Option<String>, Option<String>);

impl Store {
    /// Every account `guild_id` tracks other than `account_id`, with each of `titles`: whether
    /// it may own it and its stored earned state. A fellow whose trophy list was not public at
    /// their last check (private, gone) counts as not checked: their stored state may be stale,
    /// and what a private list holds is not shown (the rule of [`Store::user_library_in_guild`]).
    /// One indexed read.
    pub async fn fellow_titles(
        &self,
        guild_id: u64,
        account_id: &str,
        titles: &[String],
    ) -> Result<Vec<FellowTitle>, StoreError> {
        let rows: Vec<FellowRow> = sqlx::query_as(
            "SELECT t.account_id, coalesce(a.online_id, t.online_id), x.id,
                        (u.account_id IS NOT NULL OR a.baseline_done IS NOT TRUE
                         OR a.status IS DISTINCT FROM 'ok'),
                        CASE WHEN a.status = 'ok' THEN s.earned::text END,
                        CASE WHEN a.status = 'ok' THEN s.earned_at::text END
                 FROM tracked_accounts t
                 CROSS JOIN UNNEST($3::text[]) AS x(id)
                 LEFT JOIN account_state a ON a.account_id = t.account_id
                 LEFT JOIN user_titles u
                        ON u.account_id = t.account_id AND u.np_communication_id = x.id
                 LEFT JOIN account_title_state s
                        ON s.account_id = t.account_id AND s.np_communication_id = x.id
                 WHERE t.guild_id = $1 AND t.account_id <> $2",
        )
        .bind(snowflake_to_db(guild_id))
        .bind(account_id)
        .bind(titles)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(account_id, online_id, np_communication_id, may_own, earned, earned_at)| {
                    let (earned, earned_at) =
                        stored_earned(earned.as_deref(), earned_at.as_deref())?;
                    Ok(FellowTitle {
                        account_id,
                        online_id,
                        np_communication_id,
                        may_own,
                        earned,
                        earned_at,
                    })
                },
            )
            .collect()
    }
}
