//! `/rarest`: the rarest trophies someone has earned.

use super::options::{GameOption, PsnUser, TrophyCount};
use super::{answer_for_player, autocomplete_game};
use crate::bot::data::{BotError, Context};
use crate::commands::rarest::{self, RarestInput, DEFAULT_COUNT};
use crate::commands::shares::cost;

/// The rarest trophies someone has earned.
#[poise::command(slash_command)]
pub async fn rarest(
    ctx: Context<'_>,
    #[description = "PSN online ID (default: your linked account, see /link)"] user: Option<
        PsnUser,
    >,
    #[description = "Only this game: its name or npCommunicationId"]
    #[autocomplete = "autocomplete_game"]
    game: Option<GameOption>,
    #[description = "How many trophies to show (default 10)"] count: Option<TrophyCount>,
) -> Result<(), BotError> {
    let count = count.map_or(DEFAULT_COUNT, |c| c.0);
    let estimate = match game {
        Some(_) => cost::RAREST_GAME,
        None => cost::RAREST_ACROSS_TITLES,
    };
    answer_for_player(ctx, user, estimate, |services, user| async move {
        let game = game.map(|g| g.0);
        rarest::run(&services, RarestInput { user, game, count }).await
    })
    .await
}
