//! `/trophies user [game]`.

use psn::{Account, OnlineId, TrophySummary};

use super::game::resolve_game;
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
            Ok(render::profile(&account, summary.as_ref(), &recent))
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

/// The trophy summary, or `None` when PSN gave none although the titles could be read: the
/// profile then shows counts from the titles instead of failing. Failures that concern the
/// user or the bot as a whole are still errors.
pub(crate) async fn summary_if_available(
    services: &Services,
    account: &Account,
) -> Result<Option<TrophySummary>, CommandError> {
    match services.client.trophy_summary(account).await {
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
