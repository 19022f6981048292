//! The server-admin commands as poise sees them: `/track add|remove|list`, `/settings`, and the
//! public `/leaderboard`. Admin commands need Manage Server twice over: Discord hides them from
//! other members (`default_member_permissions`), and the member's permissions in the
//! interaction are checked again here, because server owners can override what Discord shows.
//! Their replies are ephemeral. The logic is in `crate::commands::{track, settings,
//! leaderboard}`; this file only reads Discord (options, the cache) and sends replies.

use std::future::Future;
use std::sync::atomic::Ordering;

use poise::serenity_prelude as serenity;

use super::commands::{record, reply_now};
use super::{payload, send, BotError, Context};
use crate::commands::settings::{FilterChoice, SettingsInput};
use crate::commands::track::{self, ChannelFacts, TrackAddInput};
use crate::errors::{error_reply, CommandError};
use crate::reply::Reply;

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
    #[description = "PSN online ID"]
    #[min_length = 3]
    #[max_length = 16]
    user: String,
    #[description = "Where to announce (default: the server's announce channel, else this one)"]
    #[channel_types("Text", "News")]
    channel: Option<serenity::ChannelId>,
) -> Result<(), BotError> {
    let Some(guild_id) = admin_guild(ctx).await? else {
        return Ok(());
    };
    let user = user.trim().to_string();
    if let Err(err) = psn::Client::validate_online_id(&user) {
        return reply_result(ctx, Err(err.into())).await;
    }
    let data = ctx.data();
    let settings = match data.store.guild_settings(guild_id.get()).await {
        Ok(settings) => settings,
        Err(err) => return reply_result(ctx, Err(err.into())).await,
    };
    let (check, stored_channel) = track::announce_target(
        channel.map(|c| c.get()),
        settings.announce_channel_id,
        ctx.channel_id().get(),
    );
    let facts = channel_facts(ctx, guild_id, check).await;
    if let Err(err) = track::check_channel(&facts) {
        return reply_result(ctx, Err(err)).await;
    }
    let input = TrackAddInput {
        guild_id: guild_id.get(),
        user,
        channel: facts,
        stored_channel,
        added_by: ctx.author().id.get(),
    };
    let work = track::add(
        &data.commands,
        &data.store,
        &data.tracking,
        input,
        chrono::Utc::now(),
    );
    let changed = answer_ephemeral(ctx, work).await?;
    if changed {
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
    let work = track::remove(&ctx.data().store, guild_id.get(), &user);
    let changed = answer_ephemeral(ctx, work).await?;
    if changed {
        ctx.data().signals.accounts_changed.notify_one();
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
    answer_ephemeral(
        ctx,
        track::list(&data.store, &data.tracking, guild_id.get()),
    )
    .await?;
    Ok(())
}

/// Which trophies are announced (`/settings filter`).
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum FilterOption {
    #[name = "all trophies"]
    All,
    #[name = "gold and up"]
    GoldAndUp,
    #[name = "platinum only"]
    PlatinumOnly,
    #[name = "rarer than rare_percent"]
    Rare,
}

impl From<FilterOption> for FilterChoice {
    fn from(option: FilterOption) -> FilterChoice {
        match option {
            FilterOption::All => FilterChoice::All,
            FilterOption::GoldAndUp => FilterChoice::GoldAndUp,
            FilterOption::PlatinumOnly => FilterChoice::PlatinumOnly,
            FilterOption::Rare => FilterChoice::Rare,
        }
    }
}

/// This server's announcement defaults; without options, shows them.
#[poise::command(slash_command, guild_only, default_member_permissions = "MANAGE_GUILD")]
pub async fn settings(
    ctx: Context<'_>,
    #[description = "The default channel for announcements"]
    #[channel_types("Text", "News")]
    channel: Option<serenity::ChannelId>,
    #[description = "Which trophies to announce"] filter: Option<FilterOption>,
    #[description = "For \"rarer than\": earned by fewer than this % of players (e.g. 5)"]
    #[min = 0.01]
    #[max = 100]
    rare_percent: Option<f64>,
) -> Result<(), BotError> {
    let Some(guild_id) = admin_guild(ctx).await? else {
        return Ok(());
    };
    let channel = match channel {
        Some(channel) => Some(channel_facts(ctx, guild_id, channel.get()).await),
        None => None,
    };
    let input = SettingsInput {
        guild_id: guild_id.get(),
        channel,
        filter: filter.map(FilterChoice::from),
        rare_percent,
    };
    let result = crate::commands::settings::run(&ctx.data().store, input).await;
    let changed = matches!(result, Ok((_, true)));
    reply_result(ctx, result.map(|(reply, _)| reply)).await?;
    if changed {
        ctx.data().signals.accounts_changed.notify_one();
    }
    Ok(())
}

/// The server's tracked players ranked by trophy points, platinums and this month's trophies.
#[poise::command(slash_command, guild_only)]
pub async fn leaderboard(ctx: Context<'_>) -> Result<(), BotError> {
    let Some(guild_id) = ctx.guild_id() else {
        return Ok(());
    };
    let result =
        crate::commands::leaderboard::run(&ctx.data().store, guild_id.get(), chrono::Utc::now())
            .await;
    reply_result(ctx, result).await
}

/// The guild of an admin command, after checking the member may manage it; `None` once the
/// caller was told why not.
async fn admin_guild(ctx: Context<'_>) -> Result<Option<serenity::GuildId>, BotError> {
    let Some(guild_id) = ctx.guild_id() else {
        return Ok(None);
    };
    if !member_can_manage(ctx) {
        tracing::info!(command = %ctx.command().qualified_name, user = %ctx.author().id, "refused: no Manage Server");
        reply_result(ctx, Err(CommandError::NeedsManageServer)).await?;
        return Ok(None);
    }
    Ok(Some(guild_id))
}

/// Manage Server (or Administrator) in the member's permissions as Discord computed them for
/// this interaction.
fn member_can_manage(ctx: Context<'_>) -> bool {
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
async fn channel_facts(
    ctx: Context<'_>,
    guild_id: serenity::GuildId,
    channel: u64,
) -> ChannelFacts {
    let unusable = ChannelFacts {
        channel_id: channel,
        in_guild: false,
        is_text: false,
        missing_permissions: Vec::new(),
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
    }
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
    serenity::CreateAutocompleteResponse::new().set_choices(
        choices
            .into_iter()
            .map(|c| serenity::AutocompleteChoice::new(c.name, c.value))
            .collect(),
    )
}

/// Answers at once with `result`'s reply or error, counted in the metrics.
async fn reply_result(
    ctx: Context<'_>,
    result: Result<Reply, CommandError>,
) -> Result<(), BotError> {
    record(ctx, result.as_ref().map(|_| ()));
    let reply = result.unwrap_or_else(|err| error_reply(&err));
    reply_now(ctx, reply).await
}

/// Defers ephemerally (PSN or the database may take longer than Discord's 3 s), runs `work`
/// and replaces the loading message. Returns whether the work succeeded (and so changed what it
/// was asked to change).
async fn answer_ephemeral(
    ctx: Context<'_>,
    work: impl Future<Output = Result<Reply, CommandError>>,
) -> Result<bool, BotError> {
    let poise::Context::Application(app) = ctx else {
        return Ok(false);
    };
    let _in_flight = ctx.data().in_flight.token();
    send::with_retry(|| app.interaction.defer_ephemeral(ctx.http())).await?;
    app.has_sent_initial_response.store(true, Ordering::SeqCst);
    let result = work.await;
    record(ctx, result.as_ref().map(|_| ()));
    let succeeded = result.is_ok();
    let reply = result.unwrap_or_else(|err| {
        tracing::info!(command = %ctx.command().qualified_name, error = %err, "command failed");
        error_reply(&err)
    });
    send::with_retry(|| {
        app.interaction
            .edit_response(ctx.http(), payload::edit_response(&reply))
    })
    .await?;
    Ok(succeeded)
}
