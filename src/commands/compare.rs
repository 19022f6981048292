//! `/compare user other [game]`.

use psn::{Account, OnlineId, UserTitleTrophies, UserTrophy};

use super::game::{resolve_game, resolved_from_cache, title_trophies_estimate};
use super::shares::cost;
use super::trophies::summary_if_available;
use super::{Services, RECENT_TITLES};
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render::{self, CompareSide};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareInput {
    pub user: OnlineId,
    pub other: OnlineId,
    pub game: Option<String>,
}

pub async fn run(services: &Services, input: CompareInput) -> Result<Reply, CommandError> {
    let account_a = services.client.resolve_user(&input.user).await?;
    let account_b = services.client.resolve_user(&input.other).await?;
    // Another spelling or an old name of the same account: nothing to compare, so nothing more
    // is asked of PSN.
    if account_a.account_id == account_b.account_id {
        return Err(CommandError::SameAccount {
            online_id: account_a.online_id,
        });
    }
    match input.game {
        None => {
            let mut a = side(services, account_a).await?;
            let mut b = side(services, account_b).await?;
            // A short recent list is a whole library: its shared titles are found in the other
            // user's whole library, not only among their most recent titles.
            // A library longer than the command's cap allows is searched as far as it allows,
            // and the reply says so.
            let whole = |side: &CompareSide| side.recent.len() < RECENT_TITLES as usize;
            let longer = match (whole(&a), whole(&b)) {
                (true, false) => Some(&mut b),
                (false, true) => Some(&mut a),
                _ => None,
            };
            if let Some(side) = longer {
                let (library, complete) = services.library_within_cap(&side.account).await?;
                side.recent = library;
                side.library_cut = !complete;
            }
            let card = crate::cards::compare_card(&a, &b);
            Ok(services.with_card(render::compare(&a, &b), card).await)
        }
        Some(game) => {
            // The game is looked up in the first user's titles, as autocomplete offers them.
            let game = resolve_game(services, &account_a, &game).await?;
            let a = services
                .client
                .user_trophies(&account_a, &game.np_communication_id)
                .await?;
            let b = match services
                .client
                .user_trophies(&account_b, &game.np_communication_id)
                .await
            {
                Ok(b) => b,
                // The other user never played it: they have earned none of its trophies.
                Err(psn::Error::TitleNotFound(_)) => nothing_earned(&a, account_b),
                Err(err) => return Err(err.into()),
            };
            Ok(render::compare_title(&a, &b))
        }
    }
}

/// The worst-case PSN requests of `/compare` as the client's caches stand: 0 when everything it
/// shows is cached ([`cost::COMPARE`] or [`cost::COMPARE_GAME`] cold; a library longer than one
/// page, 800 titles, searched for shared titles adds its pages, up to the cap).
pub fn estimate(services: &Services, input: &CompareInput) -> u32 {
    let lookups = services.lookup_cost(&input.user) + services.lookup_cost(&input.other);
    let a = services.client.cached_user(&input.user);
    let b = services.client.cached_user(&input.other);
    match &input.game {
        None => {
            let side = |account: Option<Account>| match account {
                Some(account) => services.listing_cost(&account) + services.summary_cost(&account),
                None => cost::LISTING + cost::SUMMARY,
            };
            lookups + side(a) + side(b)
        }
        Some(game) => {
            let (first, other_earned) = match &a {
                Some(a) => {
                    let other_earned = match (resolved_from_cache(services, a, game), &b) {
                        (Some(id), Some(b)) if services.client.has_earned_cached(b, &id) => 0,
                        _ => cost::EARNED,
                    };
                    (title_trophies_estimate(services, a, game), other_earned)
                }
                None => (
                    cost::LISTING + cost::DEFINITIONS + cost::EARNED,
                    cost::EARNED,
                ),
            };
            lookups + first + other_earned
        }
    }
}

async fn side(services: &Services, account: Account) -> Result<CompareSide, CommandError> {
    let recent = services
        .client
        .recent_titles(&account, RECENT_TITLES)
        .await?;
    let summary = summary_if_available(services, &account).await?;
    Ok(CompareSide {
        account,
        summary,
        recent,
        library_cut: false,
    })
}

fn nothing_earned(played: &UserTitleTrophies, account: Account) -> UserTitleTrophies {
    UserTitleTrophies {
        account,
        title: played.title.clone(),
        trophies: played
            .trophies
            .iter()
            .map(|t| UserTrophy {
                earned: false,
                earned_at: None,
                ..t.clone()
            })
            .collect(),
        last_updated: None,
    }
}
