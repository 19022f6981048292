//! `/link` and `/unlink` as poise sees them. Replies go only to the caller: a verification code
//! is personal, and nobody else needs to see someone (un)link.

use super::commands::{answer_as, reply_now, Visibility};
use super::{BotError, Context};
use crate::commands;
use crate::errors::error_reply;
use crate::ops::CommandOutcome;

/// Link your PSN account (commands then default to it), or check its verification.
#[poise::command(slash_command)]
pub async fn link(
    ctx: Context<'_>,
    #[description = "Your PSN online ID (leave it out to check your link's verification)"]
    #[min_length = 3]
    #[max_length = 16]
    user: Option<String>,
) -> Result<(), BotError> {
    let user = user.map(|u| u.trim().to_string());
    if let Some(user) = &user {
        // A malformed ID is answered at once, before the loading message.
        if let Err(err) = psn::Client::validate_online_id(user) {
            return reply_now(ctx, error_reply(&err.into())).await;
        }
    }
    let caller = ctx.author().id.get();
    let store = ctx.data().store.clone();
    answer_as(ctx, Visibility::OnlyCaller, |commands| async move {
        commands::link::link(&commands, &store, caller, user.as_deref()).await
    })
    .await
}

/// Remove the link between your Discord account and your PSN account.
#[poise::command(slash_command)]
pub async fn unlink(ctx: Context<'_>) -> Result<(), BotError> {
    // Only the database is asked (quick, and no PSN health to note): answered without a
    // loading message.
    let _in_flight = ctx.data().in_flight.token();
    let result = commands::link::unlink(&ctx.data().store, ctx.author().id.get()).await;
    let outcome = match &result {
        Ok(_) => CommandOutcome::Ok,
        Err(_) => CommandOutcome::UserError,
    };
    ctx.data()
        .metrics
        .record_command(&ctx.command().qualified_name, outcome);
    reply_now(ctx, result.unwrap_or_else(|err| error_reply(&err))).await
}
