//! `/link` and `/unlink`. Replies go only to the caller: a verification code is personal, and
//! nobody else needs to see someone (un)link.

use super::options::PsnUser;
use crate::bot::data::{BotError, Context};
use crate::bot::respond::{ReplyExt, Visibility};
use crate::commands::link;
use crate::commands::shares::cost;

/// Link your PSN account (commands then default to it), or check its verification.
#[poise::command(slash_command)]
pub async fn link(
    ctx: Context<'_>,
    #[description = "Your PSN online ID (leave it out to check your link's verification)"]
    user: Option<PsnUser>,
) -> Result<(), BotError> {
    let data = ctx.data();
    let user = user.map(|u| u.0);
    let admission = match data.admit(ctx.author().id, ctx.guild_id(), cost::LINK) {
        Ok(admission) => admission,
        Err(err) => {
            ctx.responder().now(Err(err)).await?;
            return Ok(());
        }
    };
    let services = data
        .services_for(data.services.clone(), user.as_ref(), cost::LINK)
        .metered(admission.meter());
    let work = async {
        let reply = link::link(&services, &data.store, ctx.author().id.get(), user.as_ref()).await;
        drop(admission);
        reply
    };
    ctx.responder().after(Visibility::OnlyCaller, work).await?;
    Ok(())
}

/// Remove the link between your Discord account and your PSN account.
#[poise::command(slash_command)]
pub async fn unlink(ctx: Context<'_>) -> Result<(), BotError> {
    // Only the database is asked: answered without a loading message.
    let _in_flight = ctx.data().in_flight.token();
    let result = link::unlink(&ctx.data().store, ctx.author().id.get()).await;
    ctx.responder().now(result).await?;
    Ok(())
}
