//! `/rarest user [game] [count]`: ranks with the user-level earned state (one request per title
//! with earned trophies) and fetches definitions only for the titles shown.

use std::cmp::Ordering;
use std::collections::HashMap;

use psn::{Account, EarnedTrophy, NpService, OnlineId, Platform, TitleDefinition};
use tokio::task::JoinSet;

use super::game::resolve_game;
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

pub async fn run(services: &Services, input: RarestInput) -> Result<Reply, CommandError> {
    let input = RarestInput {
        count: count(i64::from(input.count))?,
        ..input
    };
    let account = services.client.resolve_user(&input.user).await?;
    let mut definitions: HashMap<usize, TitleDefinition> = HashMap::new();
    let (titles, candidates, scope) = match &input.game {
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
            let recent = services
                .client
                .recent_titles(&account, RECENT_TITLES)
                .await?;
            let scope = RarestScope::RecentTitles {
                count: recent.len(),
            };
            let titles: Vec<TitleKey> = recent
                .iter()
                .filter(|t| t.earned.total() > 0)
                .map(|t| TitleKey {
                    np_communication_id: t.np_communication_id.clone(),
                    service: t.service,
                    platforms: t.platforms.clone(),
                })
                .collect();
            let candidates = earned_across(services, &account, &titles).await?;
            (titles, candidates, scope)
        }
    };

    let mut earned: Vec<Candidate> = candidates.into_iter().filter(|c| c.trophy.earned).collect();
    earned.sort_by(rank);
    earned.truncate(usize::from(input.count));

    for candidate in &earned {
        if definitions.contains_key(&candidate.title_index) {
            continue;
        }
        let key = &titles[candidate.title_index];
        let definition = services
            .client
            .title(&key.np_communication_id, key.service)
            .await?;
        definitions.insert(candidate.title_index, definition);
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
