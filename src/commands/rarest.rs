//! `/rarest user [game] [count]`: ranks with the user-level earned state (one request per title
//! with earned trophies) and fetches definitions only for the titles shown. Across titles it
//! ranks a tracked player's whole stored library (earned ids and rates from the database), else
//! their most recent titles. It can be held to a cap of PSN requests: it then ranks the titles
//! whose earned states are known plus the most promising others that fit, says how much it
//! covered, and leaves the rest for a fill-in ([`super::fill_in`]).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use psn::{
    Account, EarnedTrophy, NpService, OnlineId, Platform, TitleDefinition, TitleProgress,
    TrophyRate,
};
use tokio::task::JoinSet;

use super::game::resolve_game;
use super::shares::cost;
use super::{Services, RECENT_TITLES};
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render::{self, RareTrophy, RarestScope};
use crate::store::{RarestTitle, TitleState};

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
#[derive(Debug, Clone)]
pub(crate) struct TitleKey {
    pub(crate) np_communication_id: String,
    pub(crate) service: Option<NpService>,
    pub(crate) platforms: Vec<Platform>,
}

/// Where `/rarest` across titles looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Library {
    /// The player's most recent titles, as PSN lists them.
    Recent,
    /// A tracked player's whole library, as the tracker stored it (see
    /// [`Services::rarest_library`]).
    Stored,
}

/// A title of the library with earned trophies, and its earned state if known without a
/// request (the client's cache, or the store).
struct LibraryTitle {
    key: TitleKey,
    progress: u32,
    known: Option<Vec<EarnedTrophy>>,
}

/// What a capped `/rarest` across titles left uncovered, for a fill-in to fetch while the
/// budget is idle (see [`super::fill_in::FillIns`]), so that the next call covers more.
pub struct Rest {
    pub(crate) account: Account,
    pub(crate) library: Library,
    pub(crate) count: u8,
    /// The titles whose earned states were not fetched, most promising first.
    pub(crate) titles: Vec<TitleKey>,
    /// The trophies shown and those of titles left out for want of definitions: ranked with
    /// what the fill-in fetches, they tell whose definitions the next call shows.
    pub(crate) ranked: Vec<(TitleKey, EarnedTrophy)>,
}

impl Rest {
    /// The player the rest belongs to.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// How many titles are left to fetch.
    pub fn titles_left(&self) -> usize {
        self.titles.len()
    }
}

/// A `/rarest` answer, and what it left for a fill-in (a capped call across titles only).
pub struct Progress {
    pub reply: Reply,
    pub rest: Option<Rest>,
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

/// `/rarest`, answered (see [`run_progressive`]); what a cap left uncovered is left for later
/// calls.
pub async fn run(
    services: &Services,
    input: RarestInput,
    cap: Option<u32>,
) -> Result<Reply, CommandError> {
    Ok(run_progressive(services, input, cap).await?.reply)
}

/// `/rarest`. Across titles it ranks a tracked player's whole stored library (in a server that
/// tracks them, while their list was last seen public), else their most recent titles; held to
/// `cap` PSN requests it covers what is known without asking plus the most promising others
/// that fit, and returns the rest for a fill-in.
pub async fn run_progressive(
    services: &Services,
    input: RarestInput,
    cap: Option<u32>,
) -> Result<Progress, CommandError> {
    let input = RarestInput {
        count: count(i64::from(input.count))?,
        ..input
    };
    let lookup = lookup_cost(services, &input.user);
    let account = services.client.resolve_user(&input.user).await?;
    let mut definitions: HashMap<usize, TitleDefinition> = HashMap::new();
    // What is left of the cap for the shown trophies' definitions (`None`: no cap).
    let mut definitions_budget: Option<u32> = None;
    let mut uncovered: Vec<TitleKey> = Vec::new();
    let mut library_kind = None;
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
            let (library, listed, with_earned, listing) =
                match services.rarest_library(&account).await {
                    Some(stored) => {
                        let listed = stored.len();
                        let titles = stored_titles(services, &account, stored);
                        (Library::Stored, listed, titles, 0)
                    }
                    None => {
                        let listing = listing_cost(services, &account);
                        let recent = services
                            .client
                            .recent_titles(&account, RECENT_TITLES)
                            .await?;
                        let listed = recent.len();
                        let titles = recent_titles(services, &account, recent);
                        (Library::Recent, listed, titles, listing)
                    }
                };
            library_kind = Some(library);
            let plan = match cap {
                Some(cap) => {
                    let budget = cap.saturating_sub(lookup + listing);
                    let plan = plan_titles(&with_earned, budget);
                    let earned_cost = plan.fetch.len() as u32 * cost::EARNED;
                    definitions_budget = Some(budget.saturating_sub(earned_cost));
                    plan
                }
                None => Plan::everything(&with_earned),
            };
            uncovered = plan
                .left
                .iter()
                .map(|&i| with_earned[i].key.clone())
                .collect();
            let covered_count = with_earned.len() - plan.left.len();
            let scope = match library {
                Library::Recent => RarestScope::RecentTitles {
                    count: listed,
                    covered: listed - plan.left.len(),
                },
                Library::Stored => RarestScope::Library {
                    count: listed,
                    covered: listed - plan.left.len(),
                },
            };
            let left: HashSet<usize> = plan.left.iter().copied().collect();
            let mut titles = Vec::with_capacity(covered_count);
            let mut candidates = Vec::new();
            let mut to_fetch = Vec::new();
            for (index, title) in with_earned.into_iter().enumerate() {
                if left.contains(&index) {
                    continue;
                }
                let title_index = titles.len();
                match title.known {
                    Some(known) => candidates.extend(known.into_iter().map(|trophy| Candidate {
                        title_index,
                        trophy,
                    })),
                    None => to_fetch.push(title_index),
                }
                titles.push(title.key);
            }
            let fetched = earned_across(services, &account, &titles, &to_fetch).await?;
            if library == Library::Stored {
                let states: Vec<TitleState> = fetched
                    .iter()
                    .map(|(index, earned, updated)| {
                        title_state(&titles[*index].np_communication_id, *updated, earned)
                    })
                    .collect();
                services.keep_earned_ids(&account, &states).await;
            }
            candidates.extend(fetched.into_iter().flat_map(|(title_index, earned, _)| {
                earned.into_iter().map(move |trophy| Candidate {
                    title_index,
                    trophy,
                })
            }));
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
    let (left_out, mut earned): (Vec<Candidate>, Vec<Candidate>) = earned
        .into_iter()
        .partition(|c| dropped.contains(&c.title_index));
    earned.truncate(usize::from(input.count));
    match &mut scope {
        RarestScope::RecentTitles { covered, .. } | RarestScope::Library { covered, .. } => {
            *covered -= dropped.len();
        }
        RarestScope::Title { .. } => {}
    }
    let rest = match (library_kind, cap) {
        (Some(library), Some(_)) if !uncovered.is_empty() || !dropped.is_empty() => Some(Rest {
            account: account.clone(),
            library,
            count: input.count,
            titles: uncovered,
            ranked: earned
                .iter()
                .chain(&left_out)
                .map(|c| (titles[c.title_index].clone(), c.trophy.clone()))
                .collect(),
        }),
        _ => None,
    };

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
    Ok(Progress {
        reply: render::rarest(&account, &shown, &scope),
        rest,
    })
}

/// The recent titles with earned trophies, each with its earned state if the client has it.
fn recent_titles(
    services: &Services,
    account: &Account,
    recent: Vec<TitleProgress>,
) -> Vec<LibraryTitle> {
    recent
        .into_iter()
        .filter(|t| t.earned.total() > 0)
        .map(|t| LibraryTitle {
            known: services
                .client
                .cached_earned(account, &t.np_communication_id),
            progress: t.progress,
            key: key_of(t),
        })
        .collect()
}

/// A tracked player's stored titles with earned trophies, each with its earned state if the
/// client's cache holds it as of the stored listing, or the store holds its earned ids and
/// every one's rate.
fn stored_titles(
    services: &Services,
    account: &Account,
    stored: Vec<RarestTitle>,
) -> Vec<LibraryTitle> {
    stored
        .into_iter()
        .filter(|t| t.title.earned.total() > 0)
        .map(|t| {
            let cached = t.title.last_updated.and_then(|updated| {
                services
                    .client
                    .cached_earned_as_of(account, &t.title.np_communication_id, updated)
            });
            let known = cached.or_else(|| from_store(&t));
            LibraryTitle {
                known,
                progress: t.title.progress,
                key: key_of(t.title),
            }
        })
        .collect()
}

/// A fetched earned state as the tracker stores it.
pub(crate) fn title_state(
    np_communication_id: &str,
    last_updated: Option<DateTime<Utc>>,
    earned: &[EarnedTrophy],
) -> TitleState {
    let earned = earned.iter().filter(|t| t.earned);
    TitleState {
        np_communication_id: np_communication_id.to_string(),
        last_updated,
        earned: earned.clone().map(|t| t.id).collect(),
        earned_at: earned.filter_map(|t| Some((t.id, t.earned_at?))).collect(),
    }
}

/// A stored title's earned trophies, if its earned ids and all their rates are stored.
fn from_store(title: &RarestTitle) -> Option<Vec<EarnedTrophy>> {
    let ids = title.earned.as_ref().filter(|ids| !ids.is_empty())?;
    let rates: HashMap<u32, &TrophyRate> = title.rates.iter().map(|r| (r.id, r)).collect();
    ids.iter()
        .map(|id| {
            let rate = rates.get(id)?;
            Some(EarnedTrophy {
                id: *id,
                kind: rate.kind,
                hidden: false,
                earned: true,
                earned_at: title.earned_at.get(id).copied(),
                earned_rate: rate.earned_rate,
                rarity: rate.rarity,
            })
        })
        .collect()
}

fn key_of(title: TitleProgress) -> TitleKey {
    TitleKey {
        np_communication_id: title.np_communication_id,
        service: title.service,
        platforms: title.platforms,
    }
}

/// The worst-case PSN requests of `/rarest` as the caches (and, for a tracked player, the
/// store) stand now, never more than `cap` across titles (the command then holds itself to
/// it): 0 when everything it needs is known.
pub async fn estimate(services: &Services, input: &RarestInput, cap: u32) -> u32 {
    let lookup = lookup_cost(services, &input.user);
    let Some(account) = services.client.cached_user(&input.user) else {
        return match input.game {
            Some(_) => cost::RAREST_GAME,
            None => cap,
        };
    };
    match &input.game {
        // One game: as `/trophies` of that game, from what is cached.
        Some(game) => super::game::title_trophies_estimate(services, &account, game),
        None => {
            let titles = match services.rarest_library(&account).await {
                Some(stored) => stored_titles(services, &account, stored),
                None => match services
                    .client
                    .cached_recent_titles(&account, RECENT_TITLES)
                {
                    Some(recent) => recent_titles(services, &account, recent),
                    None => return cap,
                },
            };
            (lookup + uncapped_cost(services, &titles, input.count)).min(cap)
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

/// Which titles (indexes into the library's titles with earned trophies) a call fetches the
/// earned states of, and which it leaves for later.
struct Plan {
    fetch: Vec<usize>,
    /// Most promising first.
    left: Vec<usize>,
}

impl Plan {
    fn everything(titles: &[LibraryTitle]) -> Plan {
        Plan {
            fetch: (0..titles.len())
                .filter(|&i| titles[i].known.is_none())
                .collect(),
            left: Vec::new(),
        }
    }
}

/// The titles to rank within `budget` requests: every title whose earned state is known
/// (free), then unknown ones while their earned states fit and leave [`RESERVED_DEFINITIONS`]
/// titles' definitions for the trophies shown. Unknown titles go in order of the share of
/// their trophies the player earned, most first: a player's rarest trophies are the late, hard
/// ones (platinums, completion), found in the titles they took furthest rather than in those
/// they merely started; the library's recency breaks ties.
fn plan_titles(titles: &[LibraryTitle], budget: u32) -> Plan {
    let mut unknown: Vec<usize> = (0..titles.len())
        .filter(|&i| titles[i].known.is_none())
        .collect();
    // Stable: equal progress keeps the library's order, most recent first.
    unknown.sort_by_key(|&i| std::cmp::Reverse(titles[i].progress));
    let for_earned = budget.saturating_sub(RESERVED_DEFINITIONS * cost::DEFINITIONS);
    let affordable = ((for_earned / cost::EARNED) as usize).min(unknown.len());
    let left = unknown.split_off(affordable);
    Plan {
        fetch: unknown,
        left,
    }
}

/// What ranking all of `titles` costs at worst: the unknown earned states, and the
/// definitions of as many uncached titles as trophies are shown, from among the unknown titles
/// and those of the trophies the known earned states rank highest (new titles can only push
/// those down, never bring up others).
fn uncapped_cost(services: &Services, titles: &[LibraryTitle], shown: u8) -> u32 {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for (title_index, title) in titles.iter().enumerate() {
        match &title.known {
            Some(earned) => {
                known.extend(earned.iter().filter(|t| t.earned).map(|trophy| Candidate {
                    title_index,
                    trophy: trophy.clone(),
                }))
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
        .filter(|&&i| {
            !services
                .client
                .has_title_cached(&titles[i].key.np_communication_id)
        })
        .count()
        .min(usize::from(shown));
    earned + undefined as u32 * cost::DEFINITIONS
}

/// The earned state (and the last-update time it reflects) of each of `titles` at the indexes
/// `wanted`, a few requests at a time. A title PSN no longer knows is left out rather than
/// failing the whole ranking.
async fn earned_across(
    services: &Services,
    account: &Account,
    titles: &[TitleKey],
    wanted: &[usize],
) -> Result<Vec<(usize, Vec<EarnedTrophy>, Option<DateTime<Utc>>)>, CommandError> {
    let mut fetched = Vec::new();
    let mut pending = wanted.iter().map(|&i| (i, &titles[i]));
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
                let earned = client.earned_state(&account, &id, service).await;
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
            Ok((trophies, updated)) => fetched.push((title_index, trophies, updated)),
            Err(psn::Error::TitleNotFound(_)) => {}
            Err(err) => return Err(err.into()),
        }
    }
    // In the titles' order, whichever answered first.
    fetched.sort_by_key(|(index, _, _)| *index);
    Ok(fetched)
}

/// Rarest first (lowest earned rate; unknown rates last), then platinum before gold before
/// silver before bronze, then the earliest earned (unknown dates last); the title's recency and
/// the trophy ID make the order total.
fn rank(a: &Candidate, b: &Candidate) -> Ordering {
    rank_trophies(&a.trophy, &b.trophy)
        .then(a.title_index.cmp(&b.title_index))
        .then(a.trophy.id.cmp(&b.trophy.id))
}

/// [`rank`] without the tie-breaks that need the title.
pub(crate) fn rank_trophies(a: &EarnedTrophy, b: &EarnedTrophy) -> Ordering {
    let rate = |t: &EarnedTrophy| t.earned_rate.unwrap_or(f64::INFINITY);
    rate(a)
        .total_cmp(&rate(b))
        .then(a.kind.cmp(&b.kind))
        .then_with(|| match (a.earned_at, b.earned_at) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
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
