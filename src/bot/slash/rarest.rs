//! `/rarest`: the rarest trophies someone has earned.

use super::options::{GameOption, PsnUser, TrophyCount};
use super::{answer_for_player, autocomplete_game};
use crate::bot::data::{BotError, Context};
use crate::commands::rarest::{self, RarestInput, DEFAULT_COUNT};
use crate::commands::shares::cost;
use crate::commands::Services;
use psn::OnlineId;

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
    let game = game.map(|g| g.0);
    let estimate_game = game.clone();
    // Across titles the command is held to the cap and estimated from what the client has
    // cached and the store holds: a warm `/rarest` costs nothing and is never refused for what
    // it would not spend.
    let estimate = move |services: Services, user: OnlineId| async move {
        let input = RarestInput {
            user,
            game: estimate_game,
            count,
        };
        rarest::estimate(&services, &input, cost::CAP).await
    };
    let fill_ins = ctx.data().fill_ins.clone();
    let (author, guild) = (ctx.author().id.get(), ctx.guild_id().map(|g| g.get()));
    answer_for_player(ctx, user, estimate, move |services, user| async move {
        let progress = rarest::run_progressive(
            &services,
            RarestInput { user, game, count },
            Some(cost::CAP),
        )
        .await?;
        // What the cap left is fetched on idle capacity, charged to the asker, for next time.
        if let Some(rest) = progress.rest {
            fill_ins.start(&services, rest, author, guild);
        }
        Ok(progress.reply)
    })
    .await
}
