//! `/help`: for everyone, in servers and direct messages.

use crate::bot::data::{BotError, Context};
use crate::bot::respond::ReplyExt;
use crate::commands::help;

/// Every command with an example, what this server tracks, and your PSN link.
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), BotError> {
    // Only the database is asked: answered without a loading message.
    let _in_flight = ctx.data().in_flight.token();
    let result = help::run(
        &ctx.data().store,
        ctx.guild_id().map(|guild| guild.get()),
        ctx.author().id.get(),
    )
    .await;
    ctx.responder().now(result).await?;
    Ok(())
}
