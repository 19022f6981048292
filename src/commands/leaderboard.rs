//! `/leaderboard`: the server's tracked accounts ranked from what the tracker stored, without
//! any PSN request.

use std::future::Future;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use futures::stream::{self, StreamExt};

use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render;
use crate::store::Store;

/// Membership questions asked at once (each may be a Discord request).
const MEMBER_CHECKS_AT_ONCE: usize = 5;

/// Midnight UTC on the first day of `now`'s month.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// The ranking of `guild_id`. A verified link names its Discord user only where that user is a
/// member (`is_member`, asked only for the rows shown): another server tracking the same PSN
/// account does not learn who owns it.
pub async fn run<F, Fut>(
    store: &Store,
    guild_id: u64,
    now: DateTime<Utc>,
    is_member: F,
) -> Result<Reply, CommandError>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool>,
{
    let since = month_start(now);
    let mut rows = store.leaderboard(guild_id, since).await?;
    let shown = rows.len().min(render::LEADERBOARD_ROWS);
    let linked: Vec<(usize, u64)> = rows[..shown]
        .iter()
        .enumerate()
        .filter_map(|(index, row)| row.verified_discord_user.map(|user| (index, user)))
        .collect();
    let strangers: Vec<usize> = stream::iter(linked)
        .map(|(index, user)| {
            let member = is_member(user);
            async move { (!member.await).then_some(index) }
        })
        .buffer_unordered(MEMBER_CHECKS_AT_ONCE)
        .filter_map(std::future::ready)
        .collect()
        .await;
    for index in strangers {
        rows[index].verified_discord_user = None;
    }
    for row in rows.iter_mut().skip(shown) {
        row.verified_discord_user = None;
    }
    Ok(render::leaderboard(&rows, since))
}
