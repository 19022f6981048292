//! `/leaderboard [period]`: the server's tracked accounts ranked from what the tracker stored,
//! without any PSN request: by all-time trophy points, or by the points earned this month or
//! this week (from the 1st or Monday, 00:00 in the server's time zone, `/settings time_zone`).

use std::future::Future;

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use crate::errors::CommandError;
use crate::model::recap::LeaderboardPeriod;
use crate::model::reply::Reply;
use crate::model::tracking::rank_by_period;
use crate::render;
use crate::store::Store;

/// Membership questions asked at once (each may be a Discord request).
const MEMBER_CHECKS_AT_ONCE: usize = 5;

/// The ranking of `guild_id` over `period`. A verified link names its Discord user only where
/// that user is a member (`is_member`, asked only for the rows shown): another server tracking
/// the same PSN account does not learn who owns it.
pub async fn run<F, Fut>(
    store: &Store,
    guild_id: u64,
    period: LeaderboardPeriod,
    now: DateTime<Utc>,
    is_member: F,
) -> Result<Reply, CommandError>
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = bool>,
{
    let time_zone = store.recap_schedule(guild_id).await?.time_zone;
    let since = period.since(time_zone, now);
    let mut rows = store.leaderboard(guild_id, since).await?;
    if period != LeaderboardPeriod::AllTime {
        rank_by_period(&mut rows);
    }
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
    Ok(render::leaderboard(&rows, period, since, time_zone))
}
