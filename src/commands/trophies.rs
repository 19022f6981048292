//! `/trophies user [game]`.

use psn::{Account, OnlineId, TrophySummary};

use super::game::{resolve_game, title_trophies_estimate};
use super::shares::cost;
use super::{Services, RECENT_TITLES};
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrophiesInput {
    pub user: OnlineId,
    pub game: Option<String>,
}

pub async fn run(services: &Services, input: TrophiesInput) -> Result<Reply, CommandError> {
    let account = services.client.resolve_user(&input.user).await?;
    match input.game {
        None => {
            let recent = services
                .client
                .recent_titles(&account, RECENT_TITLES)
                .await?;
            let summary = summary_if_available(services, &account).await?;
            let reply = render::profile(&account, summary.as_ref(), &recent);
            let card = crate::cards::profile_card(&account, summary.as_ref(), &recent);
            Ok(services.with_card(reply, card).await)
        }
        Some(game) => {
            let game = resolve_game(services, &account, &game).await?;
            let trophies = services
                .client
                .user_trophies(&account, &game.np_communication_id)
                .await?;
            Ok(render::title_page(&trophies, 0))
        }
    }
}

/// The worst-case PSN requests of `/trophies` as the client's caches stand: 0 when everything
/// it shows is cached (at most [`cost::TROPHIES_GAME`] cold, a library longer than 800 titles
/// searched by name aside, which the cap bounds).
pub fn estimate(services: &Services, input: &TrophiesInput) -> u32 {
    let Some(account) = services.client.cached_user(&input.user) else {
        return match input.game {
            Some(_) => cost::TROPHIES_GAME,
            None => cost::TROPHIES_PROFILE,
        };
    };
    match &input.game {
        None => services.listing_cost(&account) + services.summary_cost(&account),
        Some(game) => title_trophies_estimate(services, &account, game),
    }
}

/// The trophy summary, or `None` when PSN gave none although the titles could be read: the
/// profile then shows counts from the titles instead of failing. Failures that concern the
/// user or the bot as a whole are still errors.
pub(crate) async fn summary_if_available(
    services: &Services,
    account: &Account,
) -> Result<Option<TrophySummary>, CommandError> {
    match services.client.recent_trophy_summary(account).await {
        Ok(summary) => Ok(Some(summary)),
        Err(
            err @ (psn::Error::Private(_)
            | psn::Error::RateLimited { .. }
            | psn::Error::Credential(_)
            | psn::Error::InvalidOnlineId(_)),
        ) => Err(err.into()),
        Err(err) => {
            tracing::warn!(%err, online_id = %account.online_id, "no trophy summary; showing counts from the titles");
            Ok(None)
        }
    }
}
