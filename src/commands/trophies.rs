//! `/trophies user [game]`.

use psn::{Account, TrophySummary};

use super::game::resolve_game;
use super::{Ctx, RECENT_TITLES};
use crate::errors::CommandError;
use crate::render;
use crate::reply::Reply;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrophiesInput {
    pub user: String,
    pub game: Option<String>,
}

pub async fn run(ctx: &Ctx, input: TrophiesInput) -> Result<Reply, CommandError> {
    let account = ctx.account(&input.user).await?;
    match input.game {
        None => {
            let recent = ctx.client.recent_titles(&account, RECENT_TITLES).await?;
            let summary = summary_if_available(ctx, &account).await?;
            Ok(render::profile(&account, summary.as_ref(), &recent))
        }
        Some(game) => {
            let game = resolve_game(ctx, &account, &game).await?;
            let trophies = ctx
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
    ctx: &Ctx,
    account: &Account,
) -> Result<Option<TrophySummary>, CommandError> {
    match ctx.client.trophy_summary(account).await {
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
