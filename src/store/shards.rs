//! Shard leases and process heartbeats: how several bot processes on one database split the
//! Discord shards (and, through the live processes, the tracker's accounts and PSN budgets).
//! The decisions live in [`crate::shards`]; here only the SQL.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::Row;

use super::{interval_secs, Store, StoreError};

/// A shard whose lease is live, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardHolder {
    pub shard: u32,
    pub holder: String,
}

/// What a process reports of its PSN budgets with each heartbeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetReport {
    /// Into how many parts it divides each credential's budget now (0: not yet).
    pub parts: u32,
    /// Requests it spent of the current window, per credential label.
    pub spent: BTreeMap<String, u32>,
}

/// A live process and its last report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveProcess {
    pub instance: String,
    pub budget: BudgetReport,
}

fn shard_from_db(id: i32) -> u32 {
    u32::try_from(id).unwrap_or(0)
}

fn shard_to_db(id: u32) -> i32 {
    i32::try_from(id).unwrap_or(i32::MAX)
}

impl Store {
    /// Renews `instance`'s heartbeat for `lease` with its budget `report`, forgets processes
    /// whose heartbeat ended, and returns the live processes, sorted by name, and whether
    /// `instance` just joined them (no live heartbeat of that name before: the others did not
    /// count it yet).
    pub async fn process_heartbeat(
        &self,
        instance: &str,
        lease: Duration,
        report: &BudgetReport,
    ) -> Result<(Vec<LiveProcess>, bool), StoreError> {
        // An expired row of this name counts as a new one: the others dropped it.
        let was_live: Option<bool> = sqlx::query_scalar(
            "SELECT expires_at > now() FROM process_heartbeats WHERE instance = $1",
        )
        .bind(instance)
        .fetch_optional(&self.pool)
        .await?;
        let spent = serde_json::to_string(&report.spent).unwrap_or_else(|_| "{}".to_string());
        sqlx::query(
            "INSERT INTO process_heartbeats (instance, expires_at, budget_parts, psn_spent)
             VALUES ($1, now() + make_interval(secs => $2), $3, $4::jsonb)
             ON CONFLICT (instance) DO UPDATE SET expires_at = EXCLUDED.expires_at,
                 budget_parts = EXCLUDED.budget_parts, psn_spent = EXCLUDED.psn_spent",
        )
        .bind(instance)
        .bind(interval_secs(lease))
        .bind(i32::try_from(report.parts).unwrap_or(i32::MAX))
        .bind(spent)
        .execute(&self.pool)
        .await?;
        // A process whose heartbeat ran out is gone (or cut off, and then its commits are
        // refused for the lost lease): its poll leases are free now, not minutes from now.
        sqlx::query(
            "WITH gone AS (
                 DELETE FROM process_heartbeats WHERE expires_at < now() RETURNING instance
             )
             UPDATE account_state SET lease_owner = NULL, lease_until = NULL
             FROM gone
             WHERE account_state.lease_owner = gone.instance
                OR starts_with(account_state.lease_owner, gone.instance || '/')",
        )
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query(
            "SELECT instance, budget_parts, psn_spent::text AS psn_spent
             FROM process_heartbeats ORDER BY instance",
        )
        .fetch_all(&self.pool)
        .await?;
        let live = rows
            .iter()
            .map(|row| {
                let spent: String = row.try_get("psn_spent")?;
                Ok(LiveProcess {
                    instance: row.try_get("instance")?,
                    budget: BudgetReport {
                        parts: u32::try_from(row.try_get::<i32, _>("budget_parts")?).unwrap_or(0),
                        // A report this version cannot read counts as none: the joiner waits.
                        spent: serde_json::from_str(&spent).unwrap_or_default(),
                    },
                })
            })
            .collect::<Result<Vec<LiveProcess>, StoreError>>()?;
        Ok((live, was_live != Some(true)))
    }

    /// Extends every lease `instance` still holds for a `total`-shard bot by `lease` from now,
    /// but those of shards in `except` (being handed over), and returns those shards. A shard
    /// missing from the answer is no longer this process's.
    pub async fn renew_shard_leases(
        &self,
        instance: &str,
        total: u32,
        lease: Duration,
        except: &[u32],
    ) -> Result<Vec<u32>, StoreError> {
        let except: Vec<i32> = except.iter().copied().map(shard_to_db).collect();
        let rows = sqlx::query(
            "UPDATE shard_leases SET expires_at = now() + make_interval(secs => $3)
             WHERE holder = $1 AND total = $2 AND expires_at > now()
               AND NOT (shard_id = ANY($4))
             RETURNING shard_id",
        )
        .bind(instance)
        .bind(shard_to_db(total))
        .bind(interval_secs(lease))
        .bind(except)
        .fetch_all(&self.pool)
        .await?;
        let mut shards = rows
            .iter()
            .map(|row| row.try_get::<i32, _>("shard_id").map(shard_from_db))
            .collect::<Result<Vec<_>, _>>()?;
        shards.sort_unstable();
        Ok(shards)
    }

    /// The shards whose lease is live, with their holders.
    pub async fn live_shard_leases(&self) -> Result<Vec<ShardHolder>, StoreError> {
        let rows = sqlx::query(
            "SELECT shard_id, holder FROM shard_leases WHERE expires_at > now() ORDER BY shard_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ShardHolder {
                    shard: shard_from_db(row.try_get("shard_id")?),
                    holder: row.try_get("holder")?,
                })
            })
            .collect()
    }

    /// Takes `shard`'s lease for `instance` when it is free or expired (or already this
    /// process's); `false` when another process holds it.
    pub async fn take_shard_lease(
        &self,
        instance: &str,
        shard: u32,
        total: u32,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let taken = sqlx::query(
            "INSERT INTO shard_leases (shard_id, total, holder, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))
             ON CONFLICT (shard_id) DO UPDATE
                 SET total = EXCLUDED.total, holder = EXCLUDED.holder,
                     expires_at = EXCLUDED.expires_at
                 WHERE shard_leases.expires_at <= now() OR shard_leases.holder = EXCLUDED.holder
             RETURNING shard_id",
        )
        .bind(shard_to_db(shard))
        .bind(shard_to_db(total))
        .bind(instance)
        .bind(interval_secs(lease))
        .fetch_optional(&self.pool)
        .await?;
        Ok(taken.is_some())
    }

    /// Gives up `instance`'s lease of `shard` (after the shard was closed), so another process
    /// may take it at once.
    pub async fn release_shard_lease(&self, instance: &str, shard: u32) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM shard_leases WHERE shard_id = $1 AND holder = $2")
            .bind(shard_to_db(shard))
            .bind(instance)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// On a clean shutdown (every shard closed): gives up all of `instance`'s leases and its
    /// heartbeat, so the others take over without waiting for the leases to run out.
    pub async fn leave_shards(&self, instance: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM shard_leases WHERE holder = $1")
            .bind(instance)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM process_heartbeats WHERE instance = $1")
            .bind(instance)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
