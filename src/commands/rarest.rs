//! `/rarest user [game] [count]`: ranks with the user-level earned state (one request per title
//! with earned trophies) and fetches definitions only for the titles shown. Across titles it
//! can be held to a cap of PSN requests: it then ranks the titles whose earned states are
//! cached plus the most promising others that fit, and says how much it covered.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use psn::{Account, EarnedTrophy, NpService, OnlineId, Platform, TitleDefinition, TitleProgress};
use tokio::task::JoinSet;

use super::game::resolve_game;
use super::shares::cost;
use super::{Services, RECENT_TITLES};
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render::{self, RareTrophy, RarestScope};

/// How many trophies `/rarest` shows when `count` is left out, and at most (Discord shows the
/// range from the option's definition).
pub const DEFAULT_COUNT: u8 = 10;
pub const MAX_COUNT: u8 = 25;
/// Requests in flight at once when ranking across titles: quick, yet gentle on the budget.
const CONCURRENT_TITLES: usize = 4;
/// Held to a cap, how many titles' definitions a call keeps room for when it picks the titles
/// to fetch earned states of: the rest of the cap goes to covering more titles, and a shown
/// trophy whose title's definitions do not fit leaves that title for the next call.
const RESERVED_DEFINITIONS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RarestInput {
    pub user: OnlineId,
    pub game: Option<String>,
    /// 1 to [`MAX_COUNT`]: see [`count`].
    pub count: u8,
}

/// One title's earned trophies, before definitions are known.
struct Candidate {
    title_index: usize,
    trophy: EarnedTrophy,
}

/// A title taking part in the ranking.
struct TitleKey {
    np_communication_id: String,
    service: Option<NpService>,
    platforms: Vec<Platform>,
}

/// The `count` option checked: 1 to [`MAX_COUNT`].
pub fn count(value: i64) -> Result<u8, CommandError> {
    u8::try_from(value)
        .ok()
        .filter(|count| (1..=MAX_COUNT).contains(count))
        .ok_or_else(|| {
            CommandError::BadOption(format!("`count` must be between 1 and {MAX_COUNT}."))
        })
}

pub async fn run(
    services: &Services,
    input: RarestInput,
    cap: Option<u32>,
) -> Result<Reply, CommandError> {
    let input = RarestInput {
        count: count(i64::from(input.count))?,
        ..input
    };
    let lookup = lookup_cost(services, &input.user);
    let account = services.client.resolve_user(&input.user).await?;
    let mut definitions: HashMap<usize, TitleDefinition> = HashMap::new();
    // What is left of the cap for the shown trophies' definitions (`None`: no cap).
    let mut definitions_budget: Option<u32> = None;
    let (titles, candidates, mut scope) = match &input.game {
        Some(game) => {
            let game = resolve_game(services, &account, game).await?;
            let definition = services
                .client
                .title(&game.np_communication_id, game.service)
                .await?;
            let earned = services
                .client
                .earned_trophies(&account, &game.np_communication_id, definition.service)
                .await?;
            let scope = RarestScope::Title {
                name: definition.name.clone(),
            };
            let titles = vec![TitleKey {
                np_communication_id: game.np_communication_id,
                service: definition.service,
                platforms: definition.platforms.clone(),
            }];
            definitions.insert(0, definition);
            let candidates = earned
                .into_iter()
                .map(|trophy| Candidate {
                    title_index: 0,
                    trophy,
                })
                .collect();
            (titles, candidates, scope)
        }
        None => {
            let listing = listing_cost(services, &account);
            let recent = services
                .client
                .recent_titles(&account, RECENT_TITLES)
                .await?;
            let with_earned: Vec<&TitleProgress> =
                recent.iter().filter(|t| t.earned.total() > 0).collect();
            let covered = match cap {
                Some(cap) => {
                    let budget = cap.saturating_sub(lookup + listing);
                    let covered = plan_titles(services, &account, &with_earned, budget);
                    let earned_cost = earned_cost(services, &account, &with_earned, &covered);
                    definitions_budget = Some(budget.saturating_sub(earned_cost));
                    covered
                }
                None => (0..with_earned.len()).collect(),
            };
            let scope = RarestScope::RecentTitles {
                count: recent.len(),
                covered: recent.len() - (with_earned.len() - covered.len()),
            };
            let titles: Vec<TitleKey> = covered
                .iter()
                .map(|&i| TitleKey {
                    np_communication_id: with_earned[i].np_communication_id.clone(),
                    service: with_earned[i].service,
                    platforms: with_earned[i].platforms.clone(),
                })
                .collect();
            let candidates = earned_across(services, &account, &titles).await?;
            (titles, candidates, scope)
        }
    };
    let mut earned: Vec<Candidate> = candidates.into_iter().filter(|c| c.trophy.earned).collect();
    earned.sort_by(rank);
    // The shown trophies' definitions, within what is left of the cap: a title whose
    // definitions no longer fit leaves the ranking (its earned state stays cached, so the next
    // call ranks it at no cost), and the trophies behind it move up.
    let mut dropped = HashSet::new();
    loop {
        let missing = earned
            .iter()
            .filter(|c| !dropped.contains(&c.title_index))
            .take(usize::from(input.count))
            .map(|c| c.title_index)
            .find(|index| !definitions.contains_key(index));
        let Some(index) = missing else {
            break;
        };
        let key = &titles[index];
        if let Some(left) = definitions_budget.as_mut() {
            let price = if services.client.has_title_cached(&key.np_communication_id) {
                0
            } else {
                cost::DEFINITIONS
            };
            if price > *left {
                dropped.insert(index);
                continue;
            }
            *left -= price;
        }
        let definition = services
            .client
            .title(&key.np_communication_id, key.service)
            .await?;
        definitions.insert(index, definition);
    }
    earned.retain(|c| !dropped.contains(&c.title_index));
    earned.truncate(usize::from(input.count));
    if let RarestScope::RecentTitles { covered, .. } = &mut scope {
        *covered -= dropped.len();
    }

    let shown: Vec<RareTrophy> = earned
        .into_iter()
        .filter_map(|c| {
            let title = definitions.get(&c.title_index)?;
            let trophy = title.trophies.iter().find(|t| t.id == c.trophy.id)?.clone();
            let platforms = if title.platforms.is_empty() {
                titles[c.title_index].platforms.clone()
            } else {
                title.platforms.clone()
            };
            Some(RareTrophy {
                np_communication_id: title.np_communication_id.clone(),
                title_name: title.name.clone(),
                platforms,
                trophy,
                earned_at: c.trophy.earned_at,
                earned_rate: c.trophy.earned_rate,
                rarity: c.trophy.rarity,
            })
        })
        .collect();
    Ok(render::rarest(&account, &shown, &scope))
}

/// The worst-case PSN requests of `/rarest` as the caches stand now, never more than `cap`
/// across titles (the command then holds itself to it): 0 when everything it needs is cached.
pub fn estimate(services: &Services, input: &RarestInput, cap: u32) -> u32 {
    let lookup = lookup_cost(services, &input.user);
    let Some(account) = services.client.cached_user(&input.user) else {
        return match input.game {
            Some(_) => cost::RAREST_GAME,
            None => cap,
        };
    };
    match input.game {
        // One game: as cold unless its definitions and the earned state are cached, which a
        // game given by name cannot tell before it is resolved.
        Some(_) => cost::RAREST_GAME,
        None => {
            let Some(recent) = services
                .client
                .cached_recent_titles(&account, RECENT_TITLES)
            else {
                return cap;
            };
            let with_earned: Vec<&TitleProgress> =
                recent.iter().filter(|t| t.earned.total() > 0).collect();
            (lookup + uncapped_cost(services, &account, &with_earned, input.count)).min(cap)
        }
    }
}

/// One request for the online-ID lookup unless the client has it.
fn lookup_cost(services: &Services, user: &OnlineId) -> u32 {
    match services.client.cached_user(user) {
        Some(_) => 0,
        None => cost::LOOKUP,
    }
}

/// One request for the recent titles unless the client's page cache holds them.
fn listing_cost(services: &Services, account: &Account) -> u32 {
    match services.client.cached_recent_titles(account, RECENT_TITLES) {
        Some(_) => 0,
        None => cost::LISTING,
    }
}

/// The titles (indexes into `titles`) to rank within `budget` requests: every title whose
/// earned state is cached (free), then uncached ones while their earned states fit and leave
/// [`RESERVED_DEFINITIONS`] titles' definitions for the trophies shown. Uncached titles go in
/// order of the share of their trophies the player earned, most first: a player's rarest
/// trophies are the late, hard ones (platinums, completion), found in the titles they took
/// furthest rather than in those they merely started; the listing's recency breaks ties.
fn plan_titles(
    services: &Services,
    account: &Account,
    titles: &[&TitleProgress],
    budget: u32,
) -> Vec<usize> {
    let (mut chosen, mut uncached): (Vec<usize>, Vec<usize>) = (0..titles.len()).partition(|&i| {
        services
            .client
            .has_earned_cached(account, &titles[i].np_communication_id)
    });
    // Stable: equal progress keeps the listing's order, most recent first.
    uncached.sort_by_key(|&i| std::cmp::Reverse(titles[i].progress));
    let for_earned = budget.saturating_sub(RESERVED_DEFINITIONS * cost::DEFINITIONS);
    let affordable = (for_earned / cost::EARNED) as usize;
    chosen.extend(uncached.into_iter().take(affordable));
    chosen.sort_unstable();
    chosen
}

/// The requests for the earned states of `chosen` of `titles` that the client has not cached.
fn earned_cost(
    services: &Services,
    account: &Account,
    titles: &[&TitleProgress],
    chosen: &[usize],
) -> u32 {
    let uncached = chosen
        .iter()
        .filter(|&&i| {
            !services
                .client
                .has_earned_cached(account, &titles[i].np_communication_id)
        })
        .count();
    uncached as u32 * cost::EARNED
}

/// What ranking all of `titles` costs at worst: the uncached earned states, and the
/// definitions of as many uncached titles as trophies are shown, from among the uncached
/// titles and those of the trophies the cached earned states rank highest (new titles can only
/// push those down, never bring up others).
fn uncapped_cost(
    services: &Services,
    account: &Account,
    titles: &[&TitleProgress],
    shown: u8,
) -> u32 {
    let client = &services.client;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for (title_index, title) in titles.iter().enumerate() {
        match client.cached_earned(account, &title.np_communication_id) {
            Some(earned) => {
                known.extend(
                    earned
                        .into_iter()
                        .filter(|t| t.earned)
                        .map(|trophy| Candidate {
                            title_index,
                            trophy,
                        }),
                )
            }
            None => unknown.push(title_index),
        }
    }
    known.sort_by(rank);
    let earned = unknown.len() as u32 * cost::EARNED;
    let mut may_show: Vec<usize> = known
        .iter()
        .take(usize::from(shown))
        .map(|c| c.title_index)
        .chain(unknown)
        .collect();
    may_show.sort_unstable();
    may_show.dedup();
    let undefined = may_show
        .iter()
        .filter(|&&i| !client.has_title_cached(&titles[i].np_communication_id))
        .count()
        .min(usize::from(shown));
    earned + undefined as u32 * cost::DEFINITIONS
}

/// The earned state of every title in `titles`, a few requests at a time. A title PSN no
/// longer knows is left out rather than failing the whole ranking.
async fn earned_across(
    services: &Services,
    account: &Account,
    titles: &[TitleKey],
) -> Result<Vec<Candidate>, CommandError> {
    let mut candidates = Vec::new();
    let mut pending = titles.iter().enumerate();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < CONCURRENT_TITLES {
            let Some((title_index, key)) = pending.next() else {
                break;
            };
            let client = services.client.clone();
            let account = account.clone();
            let id = key.np_communication_id.clone();
            let service = key.service;
            in_flight.spawn(async move {
                let earned = client.earned_trophies(&account, &id, service).await;
                (title_index, earned)
            });
        }
        let Some(done) = in_flight.join_next().await else {
            break;
        };
        let (title_index, earned) = done.map_err(|err| {
            CommandError::Psn(psn::Error::Unavailable(format!(
                "request task failed: {err}"
            )))
        })?;
        match earned {
            Ok(trophies) => candidates.extend(trophies.into_iter().map(|trophy| Candidate {
                title_index,
                trophy,
            })),
            Err(psn::Error::TitleNotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(candidates)
}

/// Rarest first (lowest earned rate; unknown rates last), then platinum before gold before
/// silver before bronze, then the earliest earned (unknown dates last); the title's recency and
/// the trophy ID make the order total.
fn rank(a: &Candidate, b: &Candidate) -> Ordering {
    let rate = |c: &Candidate| c.trophy.earned_rate.unwrap_or(f64::INFINITY);
    rate(a)
        .total_cmp(&rate(b))
        .then(a.trophy.kind.cmp(&b.trophy.kind))
        .then_with(|| match (a.trophy.earned_at, b.trophy.earned_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then(a.title_index.cmp(&b.title_index))
        .then(a.trophy.id.cmp(&b.trophy.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use psn::TrophyType;

    fn candidate(id: u32, rate: Option<f64>, kind: TrophyType, day: Option<u32>) -> Candidate {
        Candidate {
            title_index: 0,
            trophy: EarnedTrophy {
                id,
                kind,
                hidden: false,
                earned: true,
                earned_at: day.map(|d| Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0).unwrap()),
                earned_rate: rate,
                rarity: None,
            },
        }
    }

    #[test]
    fn ranks_by_rate_then_type_then_earliest() {
        let mut all = [
            candidate(1, Some(10.0), TrophyType::Bronze, Some(1)),
            candidate(2, Some(2.0), TrophyType::Gold, Some(5)),
            candidate(3, Some(2.0), TrophyType::Platinum, Some(9)),
            candidate(4, Some(2.0), TrophyType::Gold, Some(3)),
            candidate(5, None, TrophyType::Platinum, Some(1)),
            candidate(6, Some(2.0), TrophyType::Gold, None),
        ];
        all.sort_by(rank);
        let ids: Vec<u32> = all.iter().map(|c| c.trophy.id).collect();
        assert_eq!(ids, [3, 4, 2, 6, 1, 5]);
    }
}
