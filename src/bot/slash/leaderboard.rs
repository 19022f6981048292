//! `/leaderboard`: for every member of a server.

use crate::bot::data::{BotError, Context};
use crate::bot::respond::{ReplyExt, Visibility};
use crate::commands::leaderboard;

/// The server's tracked players ranked by trophy points, platinums and this month's trophies.
#[poise::command(slash_command, guild_only)]
pub async fn leaderboard(ctx: Context<'_>) -> Result<(), BotError> {
    let Some(guild_id) = ctx.guild_id() else {
        return Ok(());
    };
    let (data, http) = (ctx.data(), ctx.http());
    // Deferred: showing a verified link may take a question to Discord per row.
    let work = leaderboard::run(&data.store, guild_id.get(), chrono::Utc::now(), |user| {
        data.members.is_member(http, guild_id.get(), user)
    });
    ctx.responder().after(Visibility::Everyone, work).await?;
    Ok(())
}
