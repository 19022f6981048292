//! `/leaderboard`: the server's tracked accounts ranked from what the tracker stored, without
//! any PSN request.

use chrono::{DateTime, Datelike, TimeZone, Utc};

use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render;
use crate::store::Store;

/// Midnight UTC on the first day of `now`'s month.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

pub async fn run(store: &Store, guild_id: u64, now: DateTime<Utc>) -> Result<Reply, CommandError> {
    let since = month_start(now);
    let rows = store.leaderboard(guild_id, since).await?;
    Ok(render::leaderboard(&rows, since))
}
