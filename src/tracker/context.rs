//! Server context for announcements: where a newly detected trophy stands among the other
//! players the server tracks ("2nd in this server", "also earned by …"), from what is stored
//! (the earned states with dates the polls and the history backfill keep), without asking PSN.
//!
//! The rule: an announcement ranks its trophy by the time PSN says each player earned it,
//! among the server's tracked players whose stored state shows it at announcement time. A
//! player who earned it earlier but is detected later gets the rank PSN's time gives them
//! (often 1st), naming the one announced before; what was posted is not edited. While a fellow
//! player who owns the title has no stored state for it yet (their history is still being
//! backfilled, or their first check is pending), or their trophy list was private at their last
//! check (what they earned since cannot be seen, and is not shown), the rank is qualified as
//! "among players checked so far" and they are not named.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::model::{PlayerBatch, ServerContext, ServerContexts};
use crate::store::{FellowTitle, Store, StoreError};

/// One other tracked player who has the trophy, and when PSN says they earned it (`/trophy`
/// lists them in the same order).
pub use crate::model::TrophyEarner as Earner;

/// The context of a trophy earned at `earned_at` (PSN's time) given the fellows who have it,
/// how many fellows the server tracks, and whether each one who owns the title was checked.
pub fn rank_among(
    earned_at: Option<DateTime<Utc>>,
    mut earners: Vec<Earner>,
    fellows: u32,
    complete: bool,
) -> ServerContext {
    Earner::sort(&mut earners);
    let rank = match earned_at {
        // An undated earner could be before or after: no rank.
        Some(own) if earners.iter().all(|e| e.earned_at.is_some()) => {
            let before = earners
                .iter()
                .filter(|e| e.earned_at.is_some_and(|at| at < own))
                .count();
            Some(u32::try_from(before).unwrap_or(u32::MAX).saturating_add(1))
        }
        _ => None,
    };
    ServerContext {
        fellows,
        rank,
        complete,
        also: earners.into_iter().map(|e| e.online_id).collect(),
    }
}

/// The contexts in `guild_id` of every trophy in `batch`: one read of the fellows' stored
/// states of the batch's titles.
pub async fn server_contexts(
    store: &Store,
    guild_id: u64,
    batch: &PlayerBatch,
) -> Result<ServerContexts, StoreError> {
    let titles: Vec<String> = batch
        .titles
        .iter()
        .map(|t| t.np_communication_id.clone())
        .collect();
    let rows = store
        .fellow_titles(guild_id, &batch.account_id, &titles)
        .await?;
    Ok(contexts_from(batch, &rows))
}

/// [`server_contexts`] from the rows read.
pub fn contexts_from(batch: &PlayerBatch, rows: &[FellowTitle]) -> ServerContexts {
    let fellows: BTreeMap<&str, ()> = rows.iter().map(|r| (r.account_id.as_str(), ())).collect();
    let fellows = u32::try_from(fellows.len()).unwrap_or(u32::MAX);
    let mut by_title: HashMap<&str, Vec<&FellowTitle>> = HashMap::new();
    for row in rows {
        by_title
            .entry(row.np_communication_id.as_str())
            .or_default()
            .push(row);
    }
    let mut contexts = ServerContexts::new();
    for title in &batch.titles {
        let rows = by_title
            .get(title.np_communication_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        // A fellow who owns the title (or whose library is not known yet) without a state.
        let complete = rows.iter().all(|r| r.earned.is_some() || !r.may_own);
        for trophy in &title.trophies {
            let id = trophy.definition.id;
            let earners = rows
                .iter()
                .filter(|r| r.earned.as_ref().is_some_and(|ids| ids.contains(&id)))
                .map(|r| Earner {
                    online_id: r.online_id.clone(),
                    earned_at: r.earned_at.get(&id).copied(),
                })
                .collect();
            contexts.insert(
                (title.np_communication_id.clone(), id),
                rank_among(trophy.earned_at, earners, fellows, complete),
            );
        }
    }
    contexts
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(secs, 0).single()
    }

    fn earner(name: &str, secs: Option<i64>) -> Earner {
        Earner {
            online_id: name.into(),
            earned_at: secs.and_then(at),
        }
    }

    #[test]
    fn the_rank_follows_psns_earned_time_not_the_order_given() {
        let earners = vec![earner("late", Some(300)), earner("early", Some(100))];
        let context = rank_among(at(200), earners, 3, true);
        assert_eq!(context.rank, Some(2));
        assert_eq!(context.also, vec!["early", "late"]);
        assert!(context.complete);
        assert_eq!(
            rank_among(at(50), vec![earner("a", Some(100))], 1, true).rank,
            Some(1)
        );
    }

    #[test]
    fn an_undated_trophy_on_either_side_leaves_the_rank_out() {
        assert_eq!(
            rank_among(None, vec![earner("a", Some(1))], 1, true).rank,
            None
        );
        let context = rank_among(
            at(5),
            vec![earner("a", None), earner("b", Some(1))],
            2,
            true,
        );
        assert_eq!(context.rank, None);
        assert_eq!(context.also, vec!["b", "a"], "undated last");
    }

    #[test]
    fn nobody_else_with_it_is_first() {
        let context = rank_among(at(5), Vec::new(), 4, false);
        assert_eq!(context.rank, Some(1));
        assert!(context.also.is_empty());
        assert!(!context.complete);
    }
}
