//! Gateway events the bot acts on: page-button presses, leaving servers, and the gateway's
//! connection state for `/healthz`.

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
        serenity::FullEvent::ShardStageUpdate { event } => {
            let connected = event.new == serenity::ConnectionStage::Connected;
            if !connected {
                tracing::warn!(shard = %event.shard_id, stage = %event.new, "the gateway is not connected");
            } else if event.old != serenity::ConnectionStage::Connected {
                tracing::info!(shard = %event.shard_id, "the gateway is connected");
            }
            data.health.set_shard_connected(event.shard_id.0, connected);
        }
        serenity::FullEvent::Ready { .. } | serenity::FullEvent::Resume { .. } => {
            let shard = framework.serenity_context.shard_id.0;
            data.health.set_shard_connected(shard, true);
        }
        _ => {}
    }
    Ok(())
}

/// The bot left a guild (kicked, or the guild was deleted): forget its settings and tracking,
/// so nobody polls for it. An outage also sends GUILD_DELETE, with `unavailable` set: the
/// guild comes back, so nothing is removed then. This is the only place a guild is forgotten:
/// a READY that does not list a guild proves nothing (it may be another application's token).
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
