//! `/compare`: two PSN accounts side by side.

use super::options::{GameOption, PsnUser};
use super::{answer_for_player, autocomplete_game};
use crate::bot::data::{BotError, Context};
use crate::commands::compare::{self, CompareInput};
use crate::commands::Services;
use psn::OnlineId;

/// Two PSN accounts side by side, or trophy by trophy in one game.
#[poise::command(slash_command)]
pub async fn compare(
    ctx: Context<'_>,
    // Discord wants required options before optional ones, so `other` comes first now that
    // `user` may be left out; options travel by name, so callers see no other change.
    #[description = "The other PSN online ID"] other: PsnUser,
    #[description = "PSN online ID (default: your linked account, see /link)"] user: Option<
        PsnUser,
    >,
    #[description = "A game both played: its name or npCommunicationId"]
    #[autocomplete = "autocomplete_game"]
    game: Option<GameOption>,
) -> Result<(), BotError> {
    let game = game.map(|g| g.0);
    let estimate_game = game.clone();
    let estimate_other = other.0.clone();
    // Estimated from what the client has cached: a warm `/compare` costs nothing.
    let estimate = move |services: &Services, user: &OnlineId| {
        let input = CompareInput {
            user: user.clone(),
            other: estimate_other,
            game: estimate_game,
        };
        compare::estimate(services, &input)
    };
    answer_for_player(
        ctx,
        user,
        move |services, user| std::future::ready(estimate(&services, &user)),
        |services, user| async move {
            let input = CompareInput {
                user,
                other: other.0,
                game,
            };
            compare::run(&services, input).await
        },
    )
    .await
}
