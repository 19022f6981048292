//! Each server's tracking: its announcement settings and the PSN accounts it follows, what
//! `/track list` and `/leaderboard` read back, and forgetting a server the bot left.
//!
//! Only `guild_settings` and `tracked_accounts` are written here (and a forgotten guild's
//! pending outbox rows deleted); the tracker creates and drops `account_state` rows itself on
//! its next sync, which callers trigger with `Signals::accounts_changed`. A trigger tells every
//! process on the database of added and removed accounts ([`Store::listen_tracked_accounts`]).

use chrono::{DateTime, Utc};
use psn::TrophyCounts;
use sqlx::Row;

use super::{snowflake_from_db, snowflake_to_db, Store, StoreError};
use crate::model::{
    AnnounceFilter, GuildSettings, LeaderboardRow, MilestoneSettings, TrackedAccount,
    TrackedAccountView, TrackingStatus,
};

/// The stored `account_state.status`; a state a newer version wrote reads as `Ok`.
fn status_from_db(status: Option<&str>) -> TrackingStatus {
    match status {
        None => TrackingStatus::Pending,
        Some("private") => TrackingStatus::Private,
        Some("gone") => TrackingStatus::Gone,
        Some(_) => TrackingStatus::Ok,
    }
}

/// The channel the `tracked_accounts_changed` trigger notifies on.
const TRACKED_ACCOUNTS_CHANNEL: &str = "trophybot_tracked_accounts";

/// What adding an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddTracked {
    Added,
    /// The guild already tracked the account: its channel and online ID were updated.
    Updated,
    /// The guild is at its cap; nothing changed.
    CapReached {
        tracked: usize,
    },
}

/// What forgetting a guild removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForgottenGuild {
    pub tracked_accounts: u64,
    pub pending_announcements: u64,
}

const TRACKED_COLUMNS: &str = "t.guild_id, t.account_id, t.online_id, t.channel_id, t.added_by, \
                               t.added_at";

fn tracked_from_row(row: &sqlx::postgres::PgRow) -> Result<TrackedAccount, sqlx::Error> {
    Ok(TrackedAccount {
        guild_id: snowflake_from_db(row.try_get("guild_id")?),
        account_id: row.try_get("account_id")?,
        online_id: row.try_get("online_id")?,
        channel_id: row
            .try_get::<Option<i64>, _>("channel_id")?
            .map(snowflake_from_db),
        added_by: snowflake_from_db(row.try_get("added_by")?),
        added_at: row.try_get("added_at")?,
    })
}

/// A guild's milestone switches from a row with `milestone_*` columns (NULL, from an outer
/// join of a guild without settings, means on).
pub(super) fn milestones_from_row(
    row: &sqlx::postgres::PgRow,
) -> Result<MilestoneSettings, sqlx::Error> {
    let on = |column: &str| -> Result<bool, sqlx::Error> {
        Ok(row.try_get::<Option<bool>, _>(column)?.unwrap_or(true))
    };
    Ok(MilestoneSettings {
        platinum: on("milestone_platinum")?,
        level: on("milestone_level")?,
        completion: on("milestone_completion")?,
        rarest: on("milestone_rarest")?,
    })
}

/// A `count(*)` column as a count.
fn count(row: &sqlx::postgres::PgRow, column: &str) -> Result<u32, sqlx::Error> {
    Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(u32::MAX))
}

impl Store {
    /// The guild's settings, or the defaults when it never changed them.
    pub async fn guild_settings(&self, guild_id: u64) -> Result<GuildSettings, StoreError> {
        let row = sqlx::query(
            "SELECT announce_channel_id, filter_kind, rare_threshold, language,
                    milestone_platinum, milestone_level, milestone_completion, milestone_rarest,
                    cards_enabled
             FROM guild_settings WHERE guild_id = $1",
        )
        .bind(snowflake_to_db(guild_id))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(GuildSettings::defaults(guild_id));
        };
        let kind: String = row.try_get("filter_kind")?;
        Ok(GuildSettings {
            guild_id,
            announce_channel_id: row
                .try_get::<Option<i64>, _>("announce_channel_id")?
                .map(snowflake_from_db),
            filter: AnnounceFilter::from_db(&kind, row.try_get("rare_threshold")?),
            language: row.try_get("language")?,
            milestones: milestones_from_row(&row)?,
            cards: row.try_get("cards_enabled")?,
        })
    }

    /// Stores the guild's settings, replacing earlier ones.
    pub async fn set_guild_settings(&self, settings: &GuildSettings) -> Result<(), StoreError> {
        let (kind, threshold) = settings.filter.to_db();
        sqlx::query(
            "INSERT INTO guild_settings
                 (guild_id, announce_channel_id, filter_kind, rare_threshold, language,
                  milestone_platinum, milestone_level, milestone_completion, milestone_rarest,
                  cards_enabled)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (guild_id) DO UPDATE
             SET announce_channel_id = EXCLUDED.announce_channel_id,
                 filter_kind = EXCLUDED.filter_kind,
                 rare_threshold = EXCLUDED.rare_threshold,
                 language = EXCLUDED.language,
                 milestone_platinum = EXCLUDED.milestone_platinum,
                 milestone_level = EXCLUDED.milestone_level,
                 milestone_completion = EXCLUDED.milestone_completion,
                 milestone_rarest = EXCLUDED.milestone_rarest,
                 cards_enabled = EXCLUDED.cards_enabled,
                 updated_at = now()",
        )
        .bind(snowflake_to_db(settings.guild_id))
        .bind(settings.announce_channel_id.map(snowflake_to_db))
        .bind(kind)
        .bind(threshold)
        .bind(&settings.language)
        .bind(settings.milestones.platinum)
        .bind(settings.milestones.level)
        .bind(settings.milestones.completion)
        .bind(settings.milestones.rarest)
        .bind(settings.cards)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A listener that hears of every account a server starts or stops tracking, through any
    /// process on the database (it holds one pooled connection while it lives).
    pub async fn listen_tracked_accounts(&self) -> Result<sqlx::postgres::PgListener, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(TRACKED_ACCOUNTS_CHANNEL).await?;
        Ok(listener)
    }

    /// Tracks `account` in its guild, unless the guild already tracks `cap` other accounts.
    /// Re-adding an account the guild tracks updates its channel and online ID. Concurrent adds
    /// to one guild are serialised on its settings row, so the cap holds.
    pub async fn add_tracked_account(
        &self,
        account: &TrackedAccount,
        cap: usize,
    ) -> Result<AddTracked, StoreError> {
        let guild = snowflake_to_db(account.guild_id);
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO guild_settings (guild_id) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(guild)
            .execute(&mut *tx)
            .await?;
        sqlx::query("SELECT 1 FROM guild_settings WHERE guild_id = $1 FOR UPDATE")
            .bind(guild)
            .execute(&mut *tx)
            .await?;
        let updated = sqlx::query(
            "UPDATE tracked_accounts SET channel_id = $3, online_id = $4
             WHERE guild_id = $1 AND account_id = $2",
        )
        .bind(guild)
        .bind(&account.account_id)
        .bind(account.channel_id.map(snowflake_to_db))
        .bind(&account.online_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() > 0 {
            tx.commit().await?;
            return Ok(AddTracked::Updated);
        }
        let (tracked,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM tracked_accounts WHERE guild_id = $1")
                .bind(guild)
                .fetch_one(&mut *tx)
                .await?;
        let tracked = usize::try_from(tracked).unwrap_or(usize::MAX);
        if tracked >= cap {
            tx.rollback().await?;
            return Ok(AddTracked::CapReached { tracked });
        }
        sqlx::query(
            "INSERT INTO tracked_accounts
                 (guild_id, account_id, online_id, channel_id, added_by, added_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(guild)
        .bind(&account.account_id)
        .bind(&account.online_id)
        .bind(account.channel_id.map(snowflake_to_db))
        .bind(snowflake_to_db(account.added_by))
        .bind(account.added_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(AddTracked::Added)
    }

    /// Stops the guild tracking `user`: an account ID, or an online ID (case-insensitive, as
    /// last seen). Returns what was removed, `None` when the guild did not track it.
    pub async fn remove_tracked_account(
        &self,
        guild_id: u64,
        user: &str,
    ) -> Result<Option<TrackedAccount>, StoreError> {
        let user = user.trim();
        let row = sqlx::query(&format!(
            "DELETE FROM tracked_accounts t
             WHERE t.guild_id = $1 AND (t.account_id = $2 OR lower(t.online_id) = lower($2))
             RETURNING {TRACKED_COLUMNS}"
        ))
        .bind(snowflake_to_db(guild_id))
        .bind(user)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(tracked_from_row).transpose()?)
    }

    /// The guild's tracked accounts by online ID, with what the tracker knows of each (nothing
    /// before its first sync).
    pub async fn tracked_accounts(
        &self,
        guild_id: u64,
    ) -> Result<Vec<TrackedAccountView>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {TRACKED_COLUMNS}, s.status, s.presence_visible, s.last_checked_at,
                    s.next_check_at
             FROM tracked_accounts t
             LEFT JOIN account_state s ON s.account_id = t.account_id
             WHERE t.guild_id = $1
             ORDER BY lower(t.online_id), t.account_id"
        ))
        .bind(snowflake_to_db(guild_id))
        .fetch_all(&self.pool)
        .await?;
        let ids: Vec<String> = rows
            .iter()
            .map(|row| row.try_get("account_id"))
            .collect::<Result<_, sqlx::Error>>()?;
        let histories = self.histories(&ids).await?;
        rows.iter()
            .map(|row| {
                let account_id: String = row.try_get("account_id")?;
                Ok(TrackedAccountView {
                    history: histories.get(&account_id).map(|h| (h.with_state, h.titles)),
                    account: tracked_from_row(row)?,
                    status: status_from_db(row.try_get::<Option<String>, _>("status")?.as_deref()),
                    presence_visible: row.try_get("presence_visible")?,
                    last_checked_at: row.try_get("last_checked_at")?,
                    next_check_at: row.try_get("next_check_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// How many distinct PSN accounts all guilds together track: what the tracker polls.
    pub async fn tracked_account_count(&self) -> Result<usize, StoreError> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(DISTINCT account_id) FROM tracked_accounts")
                .fetch_one(&self.pool)
                .await?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// Removes everything of a guild the bot left: settings, tracked accounts and the
    /// announcements still waiting for it (delivered ones stay as history).
    pub async fn forget_guild(&self, guild_id: u64) -> Result<ForgottenGuild, StoreError> {
        let guild = snowflake_to_db(guild_id);
        let mut tx = self.pool.begin().await?;
        let tracked = sqlx::query("DELETE FROM tracked_accounts WHERE guild_id = $1")
            .bind(guild)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM guild_settings WHERE guild_id = $1")
            .bind(guild)
            .execute(&mut *tx)
            .await?;
        let pending = sqlx::query("DELETE FROM outbox WHERE guild_id = $1 AND sent_at IS NULL")
            .bind(guild)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ForgottenGuild {
            tracked_accounts: tracked.rows_affected(),
            pending_announcements: pending.rows_affected(),
        })
    }

    /// The guild's tracked accounts ranked for `/leaderboard`: trophy points, then platinums,
    /// then trophies since `since`, then online ID; accounts not polled yet come last. Each
    /// row counts the trophies earned since `since` by grade.
    pub async fn leaderboard(
        &self,
        guild_id: u64,
        since: DateTime<Utc>,
    ) -> Result<Vec<LeaderboardRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.account_id, t.online_id, s.earned_counts, p.bronze, p.silver, p.gold,
                    p.platinum,
                    (SELECT min(l.discord_user_id) FROM linked_users l
                     WHERE l.account_id = t.account_id AND l.verified_at IS NOT NULL)
                        AS verified_by
             FROM tracked_accounts t
             LEFT JOIN account_state s ON s.account_id = t.account_id
             CROSS JOIN LATERAL (
                 SELECT count(*) FILTER (WHERE d.kind = 'bronze') AS bronze,
                        count(*) FILTER (WHERE d.kind = 'silver') AS silver,
                        count(*) FILTER (WHERE d.kind = 'gold') AS gold,
                        count(*) FILTER (WHERE d.kind = 'platinum') AS platinum
                 FROM detected_trophies d
                 WHERE d.account_id = t.account_id
                   AND coalesce(d.earned_at, d.detected_at) >= $2
             ) p
             WHERE t.guild_id = $1",
        )
        .bind(snowflake_to_db(guild_id))
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut board = rows
            .iter()
            .map(|row| {
                let account_id: String = row.try_get("account_id")?;
                let earned = row
                    .try_get::<Option<serde_json::Value>, _>("earned_counts")?
                    .and_then(|json| {
                        serde_json::from_value::<TrophyCounts>(json)
                            .map_err(|err| {
                                // One unreadable row must not take the whole board down.
                                tracing::warn!(%err, %account_id, "unreadable earned_counts");
                            })
                            .ok()
                    });
                Ok(LeaderboardRow {
                    online_id: row.try_get("online_id")?,
                    earned,
                    period: TrophyCounts {
                        bronze: count(row, "bronze")?,
                        silver: count(row, "silver")?,
                        gold: count(row, "gold")?,
                        platinum: count(row, "platinum")?,
                    },
                    verified_discord_user: row
                        .try_get::<Option<i64>, _>("verified_by")?
                        .map(snowflake_from_db),
                    account_id,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        board.sort_by(|a, b| {
            let key = |r: &LeaderboardRow| {
                (
                    std::cmp::Reverse(r.points()),
                    std::cmp::Reverse(r.earned.map(|e| e.platinum)),
                    std::cmp::Reverse(r.period.total()),
                )
            };
            // `Reverse(None)` sorts after every `Reverse(Some(_))`: unknown totals go last.
            key(a)
                .cmp(&key(b))
                .then_with(|| a.online_id.to_lowercase().cmp(&b.online_id.to_lowercase()))
        });
        Ok(board)
    }
}
