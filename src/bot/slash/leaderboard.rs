//! `/leaderboard`: for every member of a server.

use crate::bot::data::{BotError, Context};
use crate::bot::respond::ReplyExt;
use crate::commands::leaderboard;

/// The server's tracked players ranked by trophy points, platinums and this month's trophies.
#[poise::command(slash_command, guild_only)]
pub async fn leaderboard(ctx: Context<'_>) -> Result<(), BotError> {
    let Some(guild_id) = ctx.guild_id() else {
        return Ok(());
    };
    let result = leaderboard::run(&ctx.data().store, guild_id.get(), chrono::Utc::now()).await;
    ctx.responder().now(result).await?;
    Ok(())
}
