//! What the tracker reads and writes: per-account state (with its lease), per-title earned
//! snapshots, the per-user title index, detected trophies, and the announcements it puts in the
//! outbox. A poll's results are written in one transaction ([`Store::commit_poll`]), so the
//! new state and its announcements exist together or not at all.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use psn::{TitleProgress, TrophyCounts, TrophyType};
use sqlx::Row;

use super::guilds::milestones_from_row;
use super::{corrupt, interval_secs, snowflake_from_db, snowflake_to_db, Store, StoreError};
use crate::model::{AnnounceFilter, MilestoneSettings};

/// A title's name as game autocomplete shows it (see [`Store::library_names_in_guild`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryName {
    pub np_communication_id: String,
    pub name: String,
    pub platforms: Vec<psn::Platform>,
}

/// One tracked account as the tracker's loop needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerAccount {
    pub account_id: String,
    pub online_id: String,
    pub baseline_done: bool,
}

/// An account's state, returned when its lease was claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedAccount {
    pub account_id: String,
    pub online_id: String,
    pub baseline_done: bool,
    /// The newest title update seen at the last poll.
    pub last_title_update: Option<DateTime<Utc>>,
}

/// The earned trophy ids of one title, as last fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleState {
    pub np_communication_id: String,
    /// The title's last-update time the ids reflect.
    pub last_updated: Option<DateTime<Utc>>,
    pub earned: Vec<u32>,
    /// When the earned trophies were earned, those PSN dates (for `/rarest`; the tracker
    /// compares ids only).
    pub earned_at: BTreeMap<u32, DateTime<Utc>>,
}

/// Where one guild wants an account's announcements, and which.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub guild_id: u64,
    /// The account's own channel in that guild, else the guild's announce channel; `None` when
    /// neither is set (nothing can be posted).
    pub channel_id: Option<u64>,
    pub filter: AnnounceFilter,
    /// The guild's language for names; `None` is the bot's default.
    pub language: Option<String>,
    pub milestones: MilestoneSettings,
}

/// A player's trophy level as PSN's trophy summary told it, with the points their stored title
/// listings added up to at that moment (so the points earned since can be told).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrophyLevelRead {
    pub level: u32,
    pub tier: u32,
    /// Per cent of the way to the next level.
    pub progress: Option<u32>,
    pub points: u64,
}

/// A trophy the tracker found newly earned.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedTrophy {
    pub np_communication_id: String,
    pub trophy_id: u32,
    pub kind: TrophyType,
    pub earned_at: Option<DateTime<Utc>>,
}

/// One announcement to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub guild_id: u64,
    pub channel_id: u64,
    /// The serialized `crate::model::reply::Reply`.
    pub payload: String,
    /// Discord's message nonce (at most 25 characters), unique per announcement.
    pub nonce: String,
    /// For a post that must exist at most once per server (a milestone): what it is about,
    /// unique per guild. `None` for a trophy announcement (its nonce is enough).
    pub event_key: Option<String>,
    /// The serialized `crate::cards::CardSpec` the deliverer draws and attaches, if any.
    pub card: Option<String>,
}

/// Everything one poll of one account writes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollCommit {
    pub account_id: String,
    /// The online ID the poll saw.
    pub online_id: String,
    /// When the account is expected to be checked next (for `/track list`).
    pub next_check_in: Duration,
    pub last_title_update: Option<DateTime<Utc>>,
    pub title_states: Vec<TitleState>,
    /// Listing rows for the per-user title index (upserted).
    pub user_titles: Vec<TitleProgress>,
    pub detected: Vec<DetectedTrophy>,
    pub outbox: Vec<OutboxEntry>,
    /// The trophy level, when this poll read it.
    pub trophy_level: Option<TrophyLevelRead>,
}

/// What [`Store::commit_poll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed {
        /// New outbox rows (a nonce already present inserts nothing).
        outbox_inserted: u64,
        detected_inserted: u64,
    },
    /// Another process holds the account's lease now: nothing was written.
    LeaseLost,
}

/// What the tracker found out about an account without a successful poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Ok,
    /// The trophy list is private.
    Private,
    /// PSN does not know the account any more.
    Gone,
}

impl AccountStatus {
    fn as_db(self) -> &'static str {
        match self {
            AccountStatus::Ok => "ok",
            AccountStatus::Private => "private",
            AccountStatus::Gone => "gone",
        }
    }
}

/// An `account_title_state` row: title, last update, earned ids and dates (JSON).
type TitleStateRow = (String, Option<DateTime<Utc>>, String, Option<String>);

/// `account_state`'s trophy level columns: level, tier, progress, points.
type TrophyLevelRow = (Option<i32>, Option<i32>, Option<i32>, Option<i64>);

/// The stored `earned_at` object (null for rows from before it: no dates).
pub(super) fn earned_dates(json: Option<&str>) -> Result<BTreeMap<u32, DateTime<Utc>>, StoreError> {
    json.map_or(Ok(BTreeMap::new()), |json| {
        serde_json::from_str(json).map_err(corrupt("earned trophy dates"))
    })
}

/// A stored earned state as `earned::text` and `earned_at::text` read it: the earned ids
/// (`None`: not stored yet) and their dates.
pub(super) type StoredEarned = (Option<Vec<u32>>, BTreeMap<u32, DateTime<Utc>>);

/// Parses [`StoredEarned`] from the two JSON columns.
pub(super) fn stored_earned(
    earned: Option<&str>,
    earned_at: Option<&str>,
) -> Result<StoredEarned, StoreError> {
    let earned = earned
        .map(serde_json::from_str)
        .transpose()
        .map_err(corrupt("earned trophy ids"))?;
    Ok((earned, earned_dates(earned_at)?))
}

/// A stored title name row (`np_communication_id, name, platform`) as autocomplete shows it.
pub(super) fn library_name(
    (np_communication_id, name, platform): (String, String, String),
) -> LibraryName {
    LibraryName {
        np_communication_id,
        name,
        platforms: psn::Platform::parse_list(&platform),
    }
}

pub(super) fn trophy_kind_from_db(kind: &str) -> TrophyType {
    match kind {
        "platinum" => TrophyType::Platinum,
        "gold" => TrophyType::Gold,
        "silver" => TrophyType::Silver,
        _ => TrophyType::Bronze,
    }
}

impl Store {
    /// Makes `account_state` follow `tracked_accounts`: a row for every tracked account (baseline
    /// pending), none for an account no guild tracks any more (its snapshots and title index go
    /// with it). Returns how many rows were added and removed.
    pub async fn sync_account_state(&self) -> Result<(u64, u64), StoreError> {
        let mut tx = self.pool.begin().await?;
        let added = sqlx::query(
            "INSERT INTO account_state (account_id, online_id)
             SELECT DISTINCT ON (account_id) account_id, online_id FROM tracked_accounts
             ORDER BY account_id, added_at DESC
             ON CONFLICT (account_id) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        // The title index goes with the state, read by account (it holds a whole library per
        // account, so a search for orphans would read it all).
        let removed: Vec<String> = sqlx::query_scalar(
            "DELETE FROM account_state s
             WHERE NOT EXISTS (SELECT 1 FROM tracked_accounts t WHERE t.account_id = s.account_id)
             RETURNING account_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        if !removed.is_empty() {
            sqlx::query("DELETE FROM user_titles WHERE account_id = ANY($1)")
                .bind(&removed)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((
            added.rows_affected(),
            u64::try_from(removed.len()).unwrap_or(u64::MAX),
        ))
    }

    /// Every account the tracker polls, baseline pending first, then by account ID.
    pub async fn tracker_accounts(&self) -> Result<Vec<TrackerAccount>, StoreError> {
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT account_id, online_id, baseline_done FROM account_state
             ORDER BY baseline_done, account_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(account_id, online_id, baseline_done)| TrackerAccount {
                account_id,
                online_id,
                baseline_done,
            })
            .collect())
    }

    /// Claims the account for `owner` for `lease`: granted when no one holds it, the holder's
    /// lease ran out, or `owner` already holds it. `None` when another process holds it (or the
    /// account is not tracked).
    pub async fn claim_account(
        &self,
        account_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedAccount>, StoreError> {
        let row: Option<(String, String, bool, Option<DateTime<Utc>>)> = sqlx::query_as(
            "UPDATE account_state
             SET lease_owner = $2, lease_until = now() + make_interval(secs => $3)
             WHERE account_id = $1
               AND (lease_owner IS NULL OR lease_until IS NULL OR lease_until < now()
                    OR lease_owner = $2)
             RETURNING account_id, online_id, baseline_done, last_title_update",
        )
        .bind(account_id)
        .bind(owner)
        .bind(interval_secs(lease))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(
            |(account_id, online_id, baseline_done, last_title_update)| ClaimedAccount {
                account_id,
                online_id,
                baseline_done,
                last_title_update,
            },
        ))
    }

    /// Extends `owner`'s lease to `lease` from now; false when `owner` no longer holds it
    /// (another process claimed the account after the lease ran out, or it is untracked).
    pub async fn renew_account_lease(
        &self,
        account_id: &str,
        owner: &str,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let renewed = sqlx::query(
            "UPDATE account_state SET lease_until = now() + make_interval(secs => $3)
             WHERE account_id = $1 AND lease_owner = $2",
        )
        .bind(account_id)
        .bind(owner)
        .bind(interval_secs(lease))
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    /// Gives the lease back (only when `owner` holds it).
    pub async fn release_account(&self, account_id: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE account_state SET lease_owner = NULL, lease_until = NULL
             WHERE account_id = $1 AND lease_owner = $2",
        )
        .bind(account_id)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives back every lease `owner` holds (a tracker stopping mid-poll), so the next process
    /// need not wait for them to run out.
    pub async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let released = sqlx::query(
            "UPDATE account_state SET lease_owner = NULL, lease_until = NULL
             WHERE lease_owner = $1",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(released.rows_affected())
    }

    /// The stored earned ids of the given titles of an account (titles never fetched are absent).
    pub async fn title_states(
        &self,
        account_id: &str,
        np_communication_ids: &[String],
    ) -> Result<HashMap<String, TitleState>, StoreError> {
        let rows: Vec<TitleStateRow> = sqlx::query_as(
            "SELECT np_communication_id, last_updated, earned::text, earned_at::text
             FROM account_title_state
             WHERE account_id = $1 AND np_communication_id = ANY($2)",
        )
        .bind(account_id)
        .bind(np_communication_ids)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(np_communication_id, last_updated, earned, earned_at)| {
                let earned: Vec<u32> =
                    serde_json::from_str(&earned).map_err(corrupt("earned trophy ids"))?;
                Ok((
                    np_communication_id.clone(),
                    TitleState {
                        np_communication_id,
                        last_updated,
                        earned,
                        earned_at: earned_dates(earned_at.as_deref())?,
                    },
                ))
            })
            .collect()
    }

    /// The account's indexed titles among `np_communication_ids`, as last listed.
    pub async fn user_titles_of(
        &self,
        account_id: &str,
        np_communication_ids: &[String],
    ) -> Result<HashMap<String, TitleProgress>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT title::text FROM user_titles
             WHERE account_id = $1 AND np_communication_id = ANY($2)",
        )
        .bind(account_id)
        .bind(np_communication_ids)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(json,)| {
                let title: TitleProgress =
                    serde_json::from_str(&json).map_err(corrupt("user title"))?;
                Ok((title.np_communication_id.clone(), title))
            })
            .collect()
    }

    /// A tracked player's whole library as last listed, most recently updated first: `/rarest`
    /// and game autocomplete can use it without asking PSN. Empty before the baseline.
    pub async fn user_library(&self, account_id: &str) -> Result<Vec<TitleProgress>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT title::text FROM user_titles WHERE account_id = $1
             ORDER BY last_updated DESC NULLS LAST, np_communication_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(json,)| serde_json::from_str(&json).map_err(corrupt("user title")))
            .collect()
    }

    /// [`Store::user_library`] where it may be shown: in a guild that tracks the player, and
    /// only while the tracker last found their trophy list public (a player who turned private,
    /// or whose account is gone, is not listed from what was stored before). Empty otherwise.
    pub async fn user_library_in_guild(
        &self,
        account_id: &str,
        guild_id: u64,
    ) -> Result<Vec<TitleProgress>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT u.title::text FROM user_titles u
             WHERE u.account_id = $1
               AND EXISTS (SELECT 1 FROM tracked_accounts t
                           WHERE t.guild_id = $2 AND t.account_id = $1)
               AND EXISTS (SELECT 1 FROM account_state s
                           WHERE s.account_id = $1 AND s.status = 'ok')
             ORDER BY u.last_updated DESC NULLS LAST, u.np_communication_id",
        )
        .bind(account_id)
        .bind(snowflake_to_db(guild_id))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(json,)| serde_json::from_str(&json).map_err(corrupt("user title")))
            .collect()
    }

    /// The names game autocomplete offers from a tracked player's stored library, under the
    /// privacy rule of [`Store::user_library_in_guild`]: the `limit` most recently updated
    /// titles, without parsing the stored listings (an index-only read of
    /// `user_titles_recent`, so a keystroke costs the same for a library of ten or ten thousand
    /// titles). Empty where that rule says so.
    pub async fn library_names_in_guild(
        &self,
        account_id: &str,
        guild_id: u64,
        limit: u32,
    ) -> Result<Vec<LibraryName>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT u.np_communication_id, u.name, u.platform FROM user_titles u
             WHERE u.account_id = $1
               AND EXISTS (SELECT 1 FROM tracked_accounts t
                           WHERE t.guild_id = $2 AND t.account_id = $1)
               AND EXISTS (SELECT 1 FROM account_state s
                           WHERE s.account_id = $1 AND s.status = 'ok')
             ORDER BY u.last_updated DESC NULLS LAST, u.np_communication_id
             LIMIT $3",
        )
        .bind(account_id)
        .bind(snowflake_to_db(guild_id))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(library_name).collect())
    }

    /// The guilds tracking an account, with each one's channel for it and its filter.
    pub async fn destinations(&self, account_id: &str) -> Result<Vec<Destination>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.guild_id, COALESCE(t.channel_id, g.announce_channel_id) AS channel_id,
                    COALESCE(g.filter_kind, 'all') AS filter_kind, g.rare_threshold, g.language,
                    g.milestone_platinum, g.milestone_level, g.milestone_completion,
                    g.milestone_rarest
             FROM tracked_accounts t
             LEFT JOIN guild_settings g ON g.guild_id = t.guild_id
             WHERE t.account_id = $1
             ORDER BY t.guild_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("filter_kind")?;
                Ok(Destination {
                    guild_id: snowflake_from_db(row.try_get("guild_id")?),
                    channel_id: row
                        .try_get::<Option<i64>, _>("channel_id")?
                        .map(snowflake_from_db),
                    filter: AnnounceFilter::from_db(&kind, row.try_get("rare_threshold")?),
                    language: row.try_get("language")?,
                    milestones: milestones_from_row(row)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Writes a poll's results in one transaction, after checking under a row lock that
    /// `owner` still holds the account's lease; releases the lease. Outbox rows whose nonce
    /// exists already, and trophies detected before, are not inserted again.
    pub async fn commit_poll(
        &self,
        owner: &str,
        commit: &PollCommit,
    ) -> Result<CommitOutcome, StoreError> {
        let mut tx = self.pool.begin().await?;
        let holder: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT lease_owner FROM account_state WHERE account_id = $1 FOR UPDATE",
        )
        .bind(&commit.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        if holder.and_then(|(owner,)| owner).as_deref() != Some(owner) {
            tx.rollback().await?;
            return Ok(CommitOutcome::LeaseLost);
        }

        if !commit.title_states.is_empty() {
            let mut ids = Vec::new();
            let mut updated = Vec::new();
            let mut earned = Vec::new();
            let mut earned_at = Vec::new();
            for state in &commit.title_states {
                ids.push(state.np_communication_id.clone());
                updated.push(state.last_updated);
                earned.push(
                    serde_json::to_string(&state.earned).map_err(corrupt("earned trophy ids"))?,
                );
                earned_at.push(
                    serde_json::to_string(&state.earned_at)
                        .map_err(corrupt("earned trophy dates"))?,
                );
            }
            sqlx::query(
                "INSERT INTO account_title_state
                     (account_id, np_communication_id, last_updated, earned, earned_at)
                 SELECT $1, id, updated, earned::jsonb, earned_at::jsonb
                 FROM UNNEST($2::text[], $3::timestamptz[], $4::text[], $5::text[])
                      AS t(id, updated, earned, earned_at)
                 ON CONFLICT (account_id, np_communication_id) DO UPDATE
                 SET last_updated = EXCLUDED.last_updated, earned = EXCLUDED.earned,
                     earned_at = EXCLUDED.earned_at",
            )
            .bind(&commit.account_id)
            .bind(ids)
            .bind(updated)
            .bind(earned)
            .bind(earned_at)
            .execute(&mut *tx)
            .await?;
        }

        if !commit.user_titles.is_empty() {
            // One row per title: an upsert may not touch a row twice in one statement.
            let mut unique: HashMap<&str, &TitleProgress> = HashMap::new();
            for title in &commit.user_titles {
                unique.insert(&title.np_communication_id, title);
            }
            let (mut ids, mut names, mut platforms, mut progress, mut updated, mut json) =
                (vec![], vec![], vec![], vec![], vec![], vec![]);
            for (id, title) in unique {
                ids.push(id.to_string());
                names.push(title.name.clone());
                platforms.push(
                    title
                        .platforms
                        .iter()
                        .map(|p| p.label().to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                );
                progress.push(i16::try_from(title.progress.min(100)).unwrap_or(100));
                updated.push(title.last_updated);
                json.push(serde_json::to_string(title).map_err(corrupt("user title"))?);
            }
            sqlx::query(
                "INSERT INTO user_titles
                     (account_id, np_communication_id, name, platform, progress, last_updated,
                      title)
                 SELECT $1, id, name, platform, progress, updated, title::jsonb
                 FROM UNNEST($2::text[], $3::text[], $4::text[], $5::smallint[],
                             $6::timestamptz[], $7::text[])
                      AS t(id, name, platform, progress, updated, title)
                 ON CONFLICT (account_id, np_communication_id) DO UPDATE
                 SET name = EXCLUDED.name, platform = EXCLUDED.platform,
                     progress = EXCLUDED.progress, last_updated = EXCLUDED.last_updated,
                     title = EXCLUDED.title",
            )
            .bind(&commit.account_id)
            .bind(ids)
            .bind(names)
            .bind(platforms)
            .bind(progress)
            .bind(updated)
            .bind(json)
            .execute(&mut *tx)
            .await?;
        }

        let mut detected_inserted = 0;
        if !commit.detected.is_empty() {
            let mut ids = Vec::new();
            let mut trophies = Vec::new();
            let mut kinds = Vec::new();
            let mut earned_at = Vec::new();
            for trophy in &commit.detected {
                ids.push(trophy.np_communication_id.clone());
                trophies.push(i32::try_from(trophy.trophy_id).unwrap_or(i32::MAX));
                kinds.push(trophy.kind.as_str().to_string());
                earned_at.push(trophy.earned_at);
            }
            detected_inserted = sqlx::query(
                "INSERT INTO detected_trophies
                     (account_id, np_communication_id, trophy_id, kind, earned_at)
                 SELECT $1, id, trophy, kind, earned
                 FROM UNNEST($2::text[], $3::int[], $4::text[], $5::timestamptz[])
                      AS t(id, trophy, kind, earned)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&commit.account_id)
            .bind(ids)
            .bind(trophies)
            .bind(kinds)
            .bind(earned_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }

        let mut outbox_inserted = 0;
        if !commit.outbox.is_empty() {
            let mut guilds = Vec::new();
            let mut channels = Vec::new();
            let mut payloads = Vec::new();
            let mut nonces = Vec::new();
            let mut event_keys = Vec::new();
            let mut cards = Vec::new();
            for entry in &commit.outbox {
                guilds.push(snowflake_to_db(entry.guild_id));
                channels.push(snowflake_to_db(entry.channel_id));
                payloads.push(entry.payload.clone());
                nonces.push(entry.nonce.clone());
                event_keys.push(entry.event_key.clone());
                cards.push(entry.card.clone());
            }
            // WITH ORDINALITY keeps the messages of one batch in order of their ids. A row
            // whose nonce or event key exists already is left out (no conflict target: either).
            outbox_inserted = sqlx::query(
                "INSERT INTO outbox
                     (guild_id, channel_id, account_id, payload, nonce, event_key, card)
                 SELECT guild, channel, $1, payload::jsonb, nonce, event_key, card::jsonb
                 FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                             $7::text[])
                      WITH ORDINALITY AS t(guild, channel, payload, nonce, event_key, card, n)
                 ORDER BY n
                 ON CONFLICT DO NOTHING",
            )
            .bind(&commit.account_id)
            .bind(guilds)
            .bind(channels)
            .bind(payloads)
            .bind(nonces)
            .bind(event_keys)
            .bind(cards)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }

        // A rename seen by the poll reaches every guild's list.
        sqlx::query(
            "UPDATE tracked_accounts SET online_id = $2
             WHERE account_id = $1 AND online_id <> $2",
        )
        .bind(&commit.account_id)
        .bind(&commit.online_id)
        .execute(&mut *tx)
        .await?;

        // The player's totals follow the title index, which holds the whole library once
        // the baseline is taken.
        sqlx::query(
            "UPDATE account_state
             SET online_id = $2,
                 last_checked_at = now(),
                 next_check_at = now() + make_interval(secs => $3),
                 last_title_update = GREATEST(last_title_update, $4),
                 baseline_done = true,
                 earned_counts = (
                     SELECT jsonb_build_object(
                         'bronze', COALESCE(sum((title->'earned'->>'bronze')::bigint), 0),
                         'silver', COALESCE(sum((title->'earned'->>'silver')::bigint), 0),
                         'gold', COALESCE(sum((title->'earned'->>'gold')::bigint), 0),
                         'platinum', COALESCE(sum((title->'earned'->>'platinum')::bigint), 0))
                     FROM user_titles WHERE account_id = $1),
                 detected_count = detected_count + $5,
                 status = 'ok',
                 consecutive_errors = 0,
                 last_error = NULL,
                 lease_owner = NULL,
                 lease_until = NULL,
                 updated_at = now()
             WHERE account_id = $1",
        )
        .bind(&commit.account_id)
        .bind(&commit.online_id)
        .bind(interval_secs(commit.next_check_in))
        .bind(commit.last_title_update)
        .bind(i64::try_from(detected_inserted).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?;
        if let Some(read) = commit.trophy_level {
            sqlx::query(
                "UPDATE account_state
                 SET trophy_level = $2, trophy_tier = $3, level_progress = $4, level_points = $5
                 WHERE account_id = $1",
            )
            .bind(&commit.account_id)
            .bind(i32::try_from(read.level).unwrap_or(i32::MAX))
            .bind(i32::try_from(read.tier).unwrap_or(i32::MAX))
            .bind(read.progress.map(|p| i32::try_from(p).unwrap_or(i32::MAX)))
            .bind(i64::try_from(read.points).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(CommitOutcome::Committed {
            outbox_inserted,
            detected_inserted,
        })
    }

    /// Records a poll that found the account private or gone (not an error to retry sooner):
    /// the status, the check times, and the lease released.
    pub async fn set_account_status(
        &self,
        account_id: &str,
        owner: &str,
        status: AccountStatus,
        next_check_in: Duration,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE account_state
             SET status = $3,
                 last_checked_at = now(),
                 next_check_at = now() + make_interval(secs => $4),
                 consecutive_errors = 0,
                 last_error = NULL,
                 lease_owner = NULL,
                 lease_until = NULL,
                 updated_at = now()
             WHERE account_id = $1 AND (lease_owner IS NULL OR lease_owner = $2)",
        )
        .bind(account_id)
        .bind(owner)
        .bind(status.as_db())
        .bind(interval_secs(next_check_in))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Counts a failed poll (the message must hold no secret) and releases the lease.
    pub async fn record_poll_error(
        &self,
        account_id: &str,
        owner: &str,
        message: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE account_state
             SET consecutive_errors = consecutive_errors + 1,
                 last_error = $3,
                 lease_owner = NULL,
                 lease_until = NULL,
                 updated_at = now()
             WHERE account_id = $1 AND (lease_owner IS NULL OR lease_owner = $2)",
        )
        .bind(account_id)
        .bind(owner)
        .bind(message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records whose presence the bot's PSN account can see (the fast path) and whose not.
    pub async fn record_presence_visibility(
        &self,
        visible: &[String],
        hidden: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE account_state
             SET presence_visible = (account_id = ANY($1)), updated_at = now()
             WHERE account_id = ANY($1) OR account_id = ANY($2)",
        )
        .bind(visible)
        .bind(hidden)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The player's totals as of the last poll (`None` before the baseline).
    pub async fn earned_counts(
        &self,
        account_id: &str,
    ) -> Result<Option<TrophyCounts>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT earned_counts::text FROM account_state WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
        row.and_then(|(json,)| json)
            .map(|json| serde_json::from_str(&json).map_err(corrupt("earned counts")))
            .transpose()
    }

    /// The player's trophy level as last read (`None` before the first read).
    pub async fn trophy_level(
        &self,
        account_id: &str,
    ) -> Result<Option<TrophyLevelRead>, StoreError> {
        let row: Option<TrophyLevelRow> = sqlx::query_as(
            "SELECT trophy_level, trophy_tier, level_progress, level_points FROM account_state
             WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some((Some(level), Some(tier), progress, Some(points))) => Some(TrophyLevelRead {
                level: u32::try_from(level).unwrap_or(0),
                tier: u32::try_from(tier).unwrap_or(0),
                progress: progress.and_then(|p| u32::try_from(p).ok()),
                points: u64::try_from(points).unwrap_or(0),
            }),
            _ => None,
        })
    }

    /// Trophies the tracker detected for an account, oldest detection first (for checks and
    /// history).
    pub async fn detected_trophies(
        &self,
        account_id: &str,
    ) -> Result<Vec<DetectedTrophy>, StoreError> {
        let rows: Vec<(String, i32, String, Option<DateTime<Utc>>)> = sqlx::query_as(
            "SELECT np_communication_id, trophy_id, kind, earned_at FROM detected_trophies
             WHERE account_id = $1 ORDER BY detected_at, np_communication_id, trophy_id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(np_communication_id, trophy_id, kind, earned_at)| DetectedTrophy {
                    np_communication_id,
                    trophy_id: u32::try_from(trophy_id).unwrap_or(0),
                    kind: trophy_kind_from_db(&kind),
                    earned_at,
                },
            )
            .collect())
    }
}
