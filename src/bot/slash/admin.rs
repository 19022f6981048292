//! What the server-admin commands (`/track`, `/settings`) share. They need Manage Server twice
//! over: Discord hides them from other members (`default_member_permissions`), and the member's
//! permissions in the interaction are checked again here, because server owners can override
//! what Discord shows. Their replies go only to the caller.

use poise::serenity_prelude as serenity;

use crate::bot::data::{BotError, Context};
use crate::bot::respond::ReplyExt;
use crate::commands::track::ChannelFacts;
use crate::errors::CommandError;

/// What the bot needs in an announcement channel, with the names Discord shows. Reading the
/// history lets the deliverer find an announcement it posted just before a crash.
const NEEDED_PERMISSIONS: [(serenity::Permissions, &str); 4] = [
    (serenity::Permissions::VIEW_CHANNEL, "View Channel"),
    (serenity::Permissions::SEND_MESSAGES, "Send Messages"),
    (serenity::Permissions::EMBED_LINKS, "Embed Links"),
    (
        serenity::Permissions::READ_MESSAGE_HISTORY,
        "Read Message History",
    ),
];

/// The guild of an admin command, after checking the member may manage it; `None` once the
/// caller was told why not.
pub async fn admin_guild(ctx: Context<'_>) -> Result<Option<serenity::GuildId>, BotError> {
    let Some(guild_id) = ctx.guild_id() else {
        return Ok(None);
    };
    if !member_can_manage(ctx) {
        tracing::info!(command = %ctx.command().qualified_name, user = %ctx.author().id, "refused: no Manage Server");
        ctx.responder()
            .now(Err(CommandError::NeedsManageServer))
            .await?;
        return Ok(None);
    }
    Ok(Some(guild_id))
}

/// Manage Server (or Administrator) in the member's permissions as Discord computed them for
/// this interaction.
pub fn member_can_manage(ctx: Context<'_>) -> bool {
    let poise::Context::Application(app) = ctx else {
        return false;
    };
    app.interaction
        .member
        .as_ref()
        .and_then(|member| member.permissions)
        .is_some_and(|p| p.manage_guild() || p.administrator())
}

/// The channel as the bot sees it, from the cache (filled by GUILD_CREATE): whether it is a
/// text channel of this guild, and which needed permissions the bot lacks there (roles and
/// channel overwrites applied).
pub async fn channel_facts(
    ctx: Context<'_>,
    guild_id: serenity::GuildId,
    channel: u64,
) -> ChannelFacts {
    let unusable = ChannelFacts {
        channel_id: channel,
        in_guild: false,
        is_text: false,
        missing_permissions: Vec::new(),
        can_attach_files: false,
    };
    // Snowflakes are never 0; a stored 0 would be damage, not a channel.
    let Some(channel_id) = std::num::NonZeroU64::new(channel).map(serenity::ChannelId::from) else {
        return unusable;
    };
    let bot_id = ctx.cache().current_user().id;
    let cached_member = ctx
        .cache()
        .guild(guild_id)
        .and_then(|guild| guild.members.get(&bot_id).cloned());
    let member = match cached_member {
        Some(member) => Some(member),
        // The cache may not hold the bot's member (e.g. right after joining): ask Discord.
        None => guild_id.member(ctx, bot_id).await.ok(),
    };
    let Some(guild) = ctx.cache().guild(guild_id) else {
        return unusable;
    };
    let Some(channel) = guild.channels.get(&channel_id) else {
        return unusable;
    };
    let is_text = matches!(
        channel.kind,
        serenity::ChannelType::Text | serenity::ChannelType::News
    );
    let permissions = member
        .map(|member| guild.user_permissions_in(channel, &member))
        .unwrap_or_else(serenity::Permissions::empty);
    ChannelFacts {
        channel_id: channel_id.get(),
        in_guild: true,
        is_text,
        missing_permissions: NEEDED_PERMISSIONS
            .iter()
            .filter(|(permission, _)| !permissions.contains(*permission))
            .map(|(_, name)| *name)
            .collect(),
        can_attach_files: permissions.attach_files(),
    }
}
