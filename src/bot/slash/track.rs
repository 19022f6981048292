//! `/track add|remove|list`: which PSN accounts this server follows, and where their new
//! trophies are announced (Manage Server; see `admin`).

use poise::serenity_prelude as serenity;

use super::admin::{admin_guild, channel_facts, member_can_manage};
use super::choices_response;
use super::options::PsnUser;
use crate::bot::data::{BotError, Context};
use crate::bot::respond::{ReplyExt, Visibility};
use crate::commands::shares::cost;
use crate::commands::track::{self, TrackAddInput};

/// Which PSN accounts this server follows, and where their new trophies are announced.
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommands("track_add", "track_remove", "track_list"),
    subcommand_required
)]
pub async fn track(_ctx: Context<'_>) -> Result<(), BotError> {
    // Discord never invokes a command that has subcommands by itself.
    Ok(())
}

/// Follow a PSN account: its new trophies are announced in this server.
#[poise::command(
    slash_command,
    rename = "add",
    guild_only,
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn track_add(
    ctx: Context<'_>,
    #[description = "PSN online ID"] user: PsnUser,
    #[description = "Where to announce (default: the server's announce channel, else this one)"]
    #[channel_types("Text", "News")]
    channel: Option<serenity::ChannelId>,
) -> Result<(), BotError> {
    let Some(guild_id) = admin_guild(ctx).await? else {
        return Ok(());
    };
    let data = ctx.data();
    let responder = ctx.responder();
    let settings = match data.store.guild_settings(guild_id.get()).await {
        Ok(settings) => settings,
        Err(err) => {
            responder.now(Err(err.into())).await?;
            return Ok(());
        }
    };
    let (check, stored_channel) = track::announce_target(
        channel.map(|c| c.get()),
        settings.announce_channel_id,
        ctx.channel_id().get(),
    );
    let facts = channel_facts(ctx, guild_id, check).await;
    if let Err(err) = track::check_channel(&facts) {
        responder.now(Err(err)).await?;
        return Ok(());
    }
    let input = TrackAddInput {
        guild_id: guild_id.get(),
        user: user.0,
        channel: facts,
        stored_channel,
        added_by: ctx.author().id.get(),
    };
    let admission = match data.admit(ctx.author().id, Some(guild_id), cost::TRACK_ADD) {
        Ok(admission) => admission,
        Err(err) => {
            responder.now(Err(err)).await?;
            return Ok(());
        }
    };
    let services = data
        .services_for(data.services.clone(), Some(&input.user), cost::TRACK_ADD)
        .metered(admission.meter());
    let work = async {
        let reply = track::add(
            &services,
            &data.store,
            &data.tracking,
            input,
            chrono::Utc::now(),
        )
        .await;
        drop(admission);
        reply
    };
    if responder.after(Visibility::OnlyCaller, work).await? {
        data.signals.accounts_changed.notify_one();
    }
    Ok(())
}

/// Stop following a PSN account in this server.
#[poise::command(
    slash_command,
    rename = "remove",
    guild_only,
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn track_remove(
    ctx: Context<'_>,
    #[description = "A tracked PSN online ID"]
    #[autocomplete = "autocomplete_tracked"]
    #[max_length = 100]
    user: String,
) -> Result<(), BotError> {
    let Some(guild_id) = admin_guild(ctx).await? else {
        return Ok(());
    };
    let data = ctx.data();
    let work = track::remove(&data.store, guild_id.get(), &user);
    if ctx.responder().after(Visibility::OnlyCaller, work).await? {
        data.signals.accounts_changed.notify_one();
    }
    Ok(())
}

/// The PSN accounts this server follows, how often each is checked, and which get the fast path.
#[poise::command(
    slash_command,
    rename = "list",
    guild_only,
    default_member_permissions = "MANAGE_GUILD"
)]
pub async fn track_list(ctx: Context<'_>) -> Result<(), BotError> {
    let Some(guild_id) = admin_guild(ctx).await? else {
        return Ok(());
    };
    let data = ctx.data();
    let standing = data.shares.standing(guild_id.get());
    let work = track::list(
        &data.store,
        &data.tracking,
        standing,
        &data.pool,
        guild_id.get(),
    );
    ctx.responder().after(Visibility::OnlyCaller, work).await?;
    Ok(())
}

/// `/track remove` choices: this server's tracked accounts (admins only).
async fn autocomplete_tracked(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let choices = match ctx.guild_id() {
        Some(guild_id) if member_can_manage(ctx) => {
            track::autocomplete_tracked(&ctx.data().store, guild_id.get(), partial)
                .await
                .unwrap_or_else(|err| {
                    tracing::warn!(%err, "tracked accounts autocomplete failed");
                    Vec::new()
                })
        }
        _ => Vec::new(),
    };
    choices_response(choices)
}
