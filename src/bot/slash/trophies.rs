//! `/trophies`: a profile, or one game's trophy list.

use super::options::{GameOption, PsnUser};
use super::{answer_for_player, autocomplete_game};
use crate::bot::data::{BotError, Context};
use crate::commands::shares::cost;
use crate::commands::trophies::{self, TrophiesInput};

/// A PSN profile, or one game's trophy list.
#[poise::command(slash_command)]
pub async fn trophies(
    ctx: Context<'_>,
    #[description = "PSN online ID (default: your linked account, see /link)"] user: Option<
        PsnUser,
    >,
    #[description = "A game: its name or npCommunicationId (e.g. NPWR12345_00)"]
    #[autocomplete = "autocomplete_game"]
    game: Option<GameOption>,
) -> Result<(), BotError> {
    let estimate = match game {
        Some(_) => cost::TROPHIES_GAME,
        None => cost::TROPHIES_PROFILE,
    };
    answer_for_player(
        ctx,
        user,
        |_, _| std::future::ready(estimate),
        |services, user| async move {
            let game = game.map(|g| g.0);
            trophies::run(&services, TrophiesInput { user, game }).await
        },
    )
    .await
}
