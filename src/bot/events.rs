//! Gateway events the bot acts on: page-button presses, and leaving servers.

use poise::serenity_prelude as serenity;

use super::buttons;
use super::data::{BotError, Data};

/// poise's `event_handler`.
pub async fn on_event(
    framework: poise::FrameworkContext<'_, Data, BotError>,
    event: &serenity::FullEvent,
) -> Result<(), BotError> {
    let data = framework.user_data;
    match event {
        serenity::FullEvent::InteractionCreate {
            interaction: serenity::Interaction::Component(press),
        } if !data.is_shutting_down() => {
            buttons::on_press(&framework.serenity_context.http, data, press).await?;
        }
        serenity::FullEvent::GuildDelete { incomplete, .. } => {
            guild_deleted(data, incomplete).await;
        }
        serenity::FullEvent::Ready { data_about_bot } => {
            forget_departed_guilds(data, data_about_bot).await;
        }
        _ => {}
    }
    Ok(())
}

/// The bot left a guild (kicked, or the guild was deleted): forget its settings and tracking,
/// so nobody polls for it. An outage also sends GUILD_DELETE, with `unavailable` set: the
/// guild comes back, so nothing is removed then.
async fn guild_deleted(data: &Data, guild: &serenity::UnavailableGuild) {
    if guild.unavailable {
        tracing::info!(guild = %guild.id, "guild unavailable (Discord outage); keeping its tracking");
        return;
    }
    match data.store.forget_guild(guild.id.get()).await {
        Ok(forgotten) => {
            tracing::info!(
                guild = %guild.id,
                tracked_accounts = forgotten.tracked_accounts,
                pending_announcements = forgotten.pending_announcements,
                "left a guild; forgot its tracking"
            );
            data.signals.accounts_changed.notify_one();
        }
        Err(error) => {
            tracing::error!(guild = %guild.id, %error, "could not forget a guild the bot left")
        }
    }
}

/// Forgets the guilds the bot was removed from while it was not connected (no GUILD_DELETE
/// reached it): READY lists every guild the bot is in. With several shards each READY lists
/// only its own guilds, so nothing is concluded then.
async fn forget_departed_guilds(data: &Data, ready: &serenity::Ready) {
    if ready.shard.is_some_and(|shard| shard.total > 1) {
        return;
    }
    let present: std::collections::HashSet<u64> = ready.guilds.iter().map(|g| g.id.get()).collect();
    let known = match data.store.guilds_with_tracking().await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "could not check for guilds the bot left while offline");
            return;
        }
    };
    let mut forgot_any = false;
    for guild in known.into_iter().filter(|g| !present.contains(g)) {
        match data.store.forget_guild(guild).await {
            Ok(forgotten) => {
                forgot_any = true;
                tracing::info!(
                    guild,
                    tracked_accounts = forgotten.tracked_accounts,
                    "the bot left this guild while offline; forgot its tracking"
                );
            }
            Err(error) => tracing::warn!(guild, %error, "could not forget a departed guild"),
        }
    }
    if forgot_any {
        data.signals.accounts_changed.notify_one();
    }
}
