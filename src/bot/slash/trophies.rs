//! `/trophies`: a profile, or one game's trophy list.

use super::options::{GameOption, PsnUser};
use super::{answer_for_player, autocomplete_game};
use crate::bot::data::{BotError, Context};
use crate::commands::trophies::{self, TrophiesInput};
use crate::commands::Services;
use psn::OnlineId;

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
    let game = game.map(|g| g.0);
    let estimate_game = game.clone();
    // Estimated from what the client has cached: a warm `/trophies` costs nothing.
    let estimate = move |services: &Services, user: &OnlineId| {
        let input = TrophiesInput {
            user: user.clone(),
            game: estimate_game,
        };
        trophies::estimate(services, &input)
    };
    answer_for_player(
        ctx,
        user,
        move |services, user| std::future::ready(estimate(&services, &user)),
        |services, user| async move {
            trophies::run(&services, TrophiesInput { user, game }).await
        },
    )
    .await
}
