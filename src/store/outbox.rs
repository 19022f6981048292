//! The outbox from the deliverer's side: claiming due announcements under a lease, recording an
//! attempt before posting, marking them sent or failed, backing off, and the one report per
//! broken channel. The tracker writes the rows (`tracking.rs`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{interval_secs, snowflake_from_db, snowflake_to_db, Store, StoreError};

/// A post that exists at most once per server, whatever queues it (see [`Store::enqueue_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPost {
    pub guild_id: u64,
    pub channel_id: u64,
    /// The player it is about; empty for a post about the whole server (a recap).
    pub account_id: String,
    /// The serialized `crate::model::reply::Reply`.
    pub payload: String,
    /// Discord's message nonce (at most 25 characters).
    pub nonce: String,
    /// What it is about, unique per server (e.g. `recap:2026-W48`).
    pub event_key: String,
}

/// One announcement a deliverer claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub guild_id: u64,
    pub channel_id: u64,
    pub account_id: String,
    /// The serialized `crate::model::reply::Reply`.
    pub payload: serde_json::Value,
    /// The card to draw and attach (a serialized `crate::cards::CardSpec`), if any.
    pub card: Option<serde_json::Value>,
    pub nonce: String,
    pub created_at: DateTime<Utc>,
    /// When the earliest trophy of the message was earned, if the tracker recorded it.
    pub earned_at: Option<DateTime<Utc>>,
    /// How long ago (by the database's clock) the post that may already have reached Discord
    /// was attempted, as of the claim; `None` if never. Whether it is past the nonce window is
    /// decided again right before posting ([`Store::begin_outbox_attempt`]).
    pub attempted_ago: Option<Duration>,
    pub attempts: i32,
}

/// What [`Store::begin_outbox_attempt`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptStart {
    /// The attempt is on record and the lease renewed: post now.
    Recorded,
    /// Nothing recorded: the earlier attempt was this long ago, past the nonce window.
    PastWindow(Duration),
    /// The row is no longer the owner's, or no longer pending.
    Lost,
}

/// Whom to tell that a channel stopped taking announcements, and about which players.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReport {
    /// The Discord users who added the affected accounts, without repeats.
    pub admins: Vec<u64>,
    /// The online IDs of the affected accounts, without repeats.
    pub online_ids: Vec<String>,
}

fn outbox_row(row: &sqlx::postgres::PgRow) -> Result<OutboxRow, sqlx::Error> {
    let attempted_ago: Option<f64> = row.try_get("attempted_ago")?;
    Ok(OutboxRow {
        id: row.try_get("id")?,
        guild_id: snowflake_from_db(row.try_get("guild_id")?),
        channel_id: snowflake_from_db(row.try_get("channel_id")?),
        account_id: row.try_get("account_id")?,
        payload: row.try_get("payload")?,
        card: row.try_get("card")?,
        nonce: row.try_get("nonce")?,
        created_at: row.try_get("created_at")?,
        earned_at: row.try_get("earned_at")?,
        // A clock step backwards could make the age negative: that is "just now".
        attempted_ago: attempted_ago.map(|secs| Duration::from_secs_f64(secs.max(0.0))),
        attempts: row.try_get("attempts")?,
    })
}

impl Store {
    /// Claims up to `limit` due announcements for `owner` until `lease` from now, oldest first,
    /// and commits, so the posting happens outside any transaction. Rows held by a live lease,
    /// waiting for a backoff, or behind an earlier row of the same channel that is, are left
    /// alone (a channel's announcements go out in order); rows locked by a concurrent claim are
    /// skipped, not waited for.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.claim_outbox_on_shards(owner, lease, limit, None).await
    }

    /// [`Store::claim_outbox`], only of guilds on `shards` (the shards held, of the bot's
    /// total) by Discord's `(guild_id >> 22) % total`; rows without a guild (0) go with shard 0.
    pub async fn claim_outbox_on_shards(
        &self,
        owner: &str,
        lease: Duration,
        limit: i64,
        shards: Option<(&[u32], u32)>,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let (held, total) = match shards {
            Some((held, total)) => (
                Some(held.iter().map(|s| i64::from(*s)).collect::<Vec<_>>()),
                i64::from(total.max(1)),
            ),
            None => (None, 1),
        };
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT o.id FROM outbox o
                 WHERE o.sent_at IS NULL AND o.failed_reason IS NULL
                   AND o.next_attempt_at <= now()
                   AND (o.claimed_until IS NULL OR o.claimed_until < now())
                   -- Snowflakes are stored as bigint bit for bit: the mask keeps the shift's
                   -- 42 timestamp bits whatever the sign.
                   AND ($4::int8[] IS NULL
                        OR ((o.guild_id >> 22) & 4398046511103) % $5 = ANY($4::int8[]))
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox e
                       WHERE e.channel_id = o.channel_id AND e.id < o.id
                         AND e.sent_at IS NULL AND e.failed_reason IS NULL
                         AND (e.next_attempt_at > now() OR e.claimed_until >= now())
                   )
                 ORDER BY o.id
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE outbox o
             SET claimed_by = $1, claimed_until = now() + make_interval(secs => $2)
             FROM due WHERE o.id = due.id
             RETURNING o.id, o.guild_id, o.channel_id, o.account_id, o.payload, o.card, o.nonce,
                       o.created_at, o.earned_at, o.attempts,
                       EXTRACT(EPOCH FROM now() - o.attempted_at)::float8 AS attempted_ago",
        )
        .bind(owner)
        .bind(interval_secs(lease))
        .bind(limit)
        .bind(held)
        .bind(total)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = rows.iter().map(outbox_row).collect::<Result<Vec<_>, _>>()?;
        // RETURNING has no order of its own.
        claimed.sort_by_key(|row| row.id);
        Ok(claimed)
    }

    /// Gives up every claim `owner` holds: a deliverer starting under the name of one that
    /// stopped (crashed) takes its rows back at once instead of waiting for the leases to end.
    pub async fn release_outbox_claims(&self, owner: &str) -> Result<u64, StoreError> {
        let released = sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL
             WHERE claimed_by = $1 AND sent_at IS NULL AND failed_reason IS NULL",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(released)
    }

    /// Records an attempt before posting (its own commit, so a crash right after the post still
    /// leaves the attempt on record) and renews the lease, deciding at this moment, just before
    /// the post, whether an earlier attempt is past `nonce_window`: then nothing is recorded and
    /// [`AttemptStart::PastWindow`] says how long ago it was, for the caller to search the
    /// channel's history first. After that search (`history_searched`) the attempt is recorded
    /// whatever its age, with a new attempt time: it dates the post Discord's nonce may still
    /// deduplicate; otherwise an earlier attempt's time is kept.
    pub async fn begin_outbox_attempt(
        &self,
        id: i64,
        owner: &str,
        lease: Duration,
        nonce_window: Duration,
        history_searched: bool,
    ) -> Result<AttemptStart, StoreError> {
        let row: Option<(bool, Option<f64>)> = sqlx::query_as(
            "WITH target AS (
                 SELECT id,
                        ($5 OR attempted_at IS NULL
                            OR now() - attempted_at <= make_interval(secs => $4)) AS recordable,
                        EXTRACT(EPOCH FROM now() - attempted_at)::float8 AS attempted_ago
                 FROM outbox
                 WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL AND failed_reason IS NULL
                 FOR UPDATE
             ),
             recorded AS (
                 UPDATE outbox o
                 SET attempts = o.attempts + 1,
                     attempted_at = CASE WHEN $5 OR o.attempted_at IS NULL THEN now()
                                         ELSE o.attempted_at END,
                     claimed_until = now() + make_interval(secs => $3)
                 FROM target t
                 WHERE o.id = t.id AND t.recordable
                 RETURNING o.id
             )
             SELECT recordable, attempted_ago FROM target",
        )
        .bind(id)
        .bind(owner)
        .bind(interval_secs(lease))
        .bind(interval_secs(nonce_window))
        .bind(history_searched)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => AttemptStart::Lost,
            Some((true, _)) => AttemptStart::Recorded,
            // A clock step backwards could make the age negative: that is "just now".
            Some((false, ago)) => {
                AttemptStart::PastWindow(Duration::from_secs_f64(ago.unwrap_or(0.0).max(0.0)))
            }
        })
    }

    /// Marks the announcement posted as `message_id`, only while `owner` still holds it. False
    /// when another deliverer took it over (it then finds the same message by nonce or in the
    /// channel's history) or it was already marked.
    pub async fn mark_outbox_sent(
        &self,
        id: i64,
        owner: &str,
        message_id: u64,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE outbox
             SET sent_at = now(), message_id = $3, claimed_by = NULL, claimed_until = NULL,
                 last_error = NULL
             WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(snowflake_to_db(message_id))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Extends `owner`'s leases on the rows `ids` that it still holds and that are still pending
    /// to `lease` from now, while their post or history search is in flight. Returns how many
    /// it renewed.
    pub async fn renew_outbox_claims(
        &self,
        ids: &[i64],
        owner: &str,
        lease: Duration,
    ) -> Result<u64, StoreError> {
        let renewed = sqlx::query(
            "UPDATE outbox SET claimed_until = now() + make_interval(secs => $3)
             WHERE id = ANY($1) AND claimed_by = $2
               AND sent_at IS NULL AND failed_reason IS NULL",
        )
        .bind(ids)
        .bind(owner)
        .bind(interval_secs(lease))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(renewed)
    }

    /// Hands the row back to be tried again in `retry_in`, noting why.
    pub async fn release_outbox_row(
        &self,
        id: i64,
        owner: &str,
        retry_in: Duration,
        error: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox
             SET claimed_by = NULL, claimed_until = NULL, last_error = $4,
                 next_attempt_at = now() + make_interval(secs => $3)
             WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(interval_secs(retry_in))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up on one announcement that Discord will never take (a payload it rejects).
    pub async fn fail_outbox_row(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET failed_reason = $2, claimed_by = NULL, claimed_until = NULL
             WHERE id = $1 AND sent_at IS NULL AND failed_reason IS NULL",
        )
        .bind(id)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up on every pending announcement of a channel that is gone or forbidden; returns
    /// how many.
    pub async fn fail_channel_outbox(
        &self,
        channel_id: u64,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let failed = sqlx::query(
            "UPDATE outbox SET failed_reason = $2, claimed_by = NULL, claimed_until = NULL
             WHERE channel_id = $1 AND sent_at IS NULL AND failed_reason IS NULL",
        )
        .bind(snowflake_to_db(channel_id))
        .bind(reason)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(failed)
    }

    /// Takes the one report about a broken channel of a guild: `Some` (whom to tell) for exactly
    /// one caller per breakage, `None` when it was already reported and nothing was posted
    /// there successfully since, or when there is nothing failed to report.
    pub async fn claim_channel_report(
        &self,
        guild_id: u64,
        channel_id: u64,
    ) -> Result<Option<ChannelReport>, StoreError> {
        let guild = snowflake_to_db(guild_id);
        let channel = snowflake_to_db(channel_id);
        let mut tx = self.pool.begin().await?;
        // Serialises concurrent deliverers deciding about the same channel.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(channel)
            .execute(&mut *tx)
            .await?;
        let already: bool = sqlx::query_scalar(
            "SELECT EXISTS (
                 SELECT 1 FROM outbox r
                 WHERE r.guild_id = $1 AND r.channel_id = $2 AND r.failed_reason IS NOT NULL
                   AND r.reported_at IS NOT NULL
                   AND r.reported_at > COALESCE(
                       (SELECT max(s.sent_at) FROM outbox s WHERE s.channel_id = $2),
                       '-infinity'::timestamptz)
             )",
        )
        .bind(guild)
        .bind(channel)
        .fetch_one(&mut *tx)
        .await?;
        if already {
            tx.commit().await?;
            return Ok(None);
        }
        let accounts: Vec<String> = sqlx::query_scalar(
            "UPDATE outbox SET reported_at = now()
             WHERE guild_id = $1 AND channel_id = $2
               AND failed_reason IS NOT NULL AND reported_at IS NULL
             RETURNING account_id",
        )
        .bind(guild)
        .bind(channel)
        .fetch_all(&mut *tx)
        .await?;
        if accounts.is_empty() {
            tx.commit().await?;
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT DISTINCT added_by, online_id FROM tracked_accounts
             WHERE guild_id = $1 AND account_id = ANY($2)
             ORDER BY online_id",
        )
        .bind(guild)
        .bind(&accounts)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut report = ChannelReport {
            admins: Vec::new(),
            online_ids: Vec::new(),
        };
        for row in rows {
            let admin = snowflake_from_db(row.try_get("added_by")?);
            let online_id: String = row.try_get("online_id")?;
            if !report.admins.contains(&admin) {
                report.admins.push(admin);
            }
            if !report.online_ids.contains(&online_id) {
                report.online_ids.push(online_id);
            }
        }
        Ok(Some(report))
    }

    /// Deletes up to `batch` rows delivered, and up to `batch` given up on, more than
    /// `retention` ago, oldest first; returns how many. Pending rows are never touched, nor
    /// rows with an event key (they keep a milestone or recap from being posted twice).
    pub async fn prune_outbox(&self, retention: Duration, batch: u32) -> Result<u64, StoreError> {
        let pruned = sqlx::query(
            // An array of ids (not `IN (subquery)`) deletes through the primary key, never
            // by a join over the whole table.
            "DELETE FROM outbox WHERE id = ANY(ARRAY(
                 (SELECT id FROM outbox
                  WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => $1)
                    AND event_key IS NULL
                  ORDER BY sent_at LIMIT $2)
                 UNION ALL
                 (SELECT id FROM outbox
                  WHERE failed_reason IS NOT NULL
                    AND created_at < now() - make_interval(secs => $1)
                    AND event_key IS NULL
                  ORDER BY created_at LIMIT $2)))",
        )
        .bind(interval_secs(retention))
        .bind(i64::from(batch))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(pruned)
    }

    /// Queues a post that must exist at most once per server (a milestone, a weekly recap),
    /// whichever process queues it and however often. True when queued, false when this
    /// server has it already.
    pub async fn enqueue_event(&self, post: &EventPost) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO outbox (guild_id, channel_id, account_id, payload, nonce, event_key)
             VALUES ($1, $2, $3, $4::jsonb, $5, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(snowflake_to_db(post.guild_id))
        .bind(snowflake_to_db(post.channel_id))
        .bind(&post.account_id)
        .bind(&post.payload)
        .bind(&post.nonce)
        .bind(&post.event_key)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Announcements neither sent nor given up on: the outbox depth metric.
    pub async fn outbox_pending_count(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_reason IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
