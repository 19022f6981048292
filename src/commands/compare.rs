//! `/compare user other [game]`.

use psn::{Account, OnlineId, UserTitleTrophies, UserTrophy};

use super::game::resolve_game;
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
            let whole = |side: &CompareSide| side.recent.len() < RECENT_TITLES as usize;
            if whole(&a) && !whole(&b) {
                b.recent = services.client.all_titles(&b.account).await?;
            } else if whole(&b) && !whole(&a) {
                a.recent = services.client.all_titles(&a.account).await?;
            }
            Ok(render::compare(&a, &b))
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
