//! poise's failures, every kind of them, answered through the one reply path in the words of
//! [`crate::errors`], and logged for the operator where they concern the bot.

use poise::FrameworkError;

use super::data::{BotError, Data};
use super::respond::ReplyExt;
use crate::errors::CommandError;

/// poise's `on_error`: answers the user politely (ephemeral where Discord still allows it).
pub async fn on_error(failure: FrameworkError<'_, Data, BotError>) {
    let Some(error) = user_error(&failure) else {
        return;
    };
    let Some(ctx) = failure.ctx() else {
        return;
    };
    if let Err(send_error) = ctx.responder().now(Err(error)).await {
        tracing::warn!(%send_error, "could not send an error reply");
    }
}

/// What the user is told, after logging what the operator should know; `None` when there is
/// nobody to answer.
fn user_error(failure: &FrameworkError<'_, Data, BotError>) -> Option<CommandError> {
    use FrameworkError as E;
    Some(match failure {
        E::Setup { error, .. } => {
            tracing::error!(%error, "bot setup failed");
            return None;
        }
        E::EventHandler { error, .. } => {
            tracing::warn!(%error, "event handler failed");
            return None;
        }
        E::Command { error, ctx, .. } => {
            tracing::warn!(command = %ctx.command().qualified_name, %error, "command failed");
            match error {
                BotError::ShuttingDown => CommandError::ShuttingDown,
                BotError::Discord(_)
                | BotError::Ops(_)
                | BotError::HttpClient(_)
                | BotError::Store(_)
                | BotError::ApplicationChanged { .. } => CommandError::Internal,
            }
        }
        E::CommandPanic { payload, ctx, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, panic = ?payload, "command panicked");
            CommandError::Internal
        }
        // The bot's own option types say what was wrong with the value.
        E::ArgumentParse { error, input, .. } => match error.downcast_ref::<CommandError>() {
            Some(known) => known.clone(),
            None => CommandError::UnreadableOption {
                input: input.clone(),
            },
        },
        E::CommandStructureMismatch { description, .. } => {
            tracing::warn!(%description, "Discord's command definition is out of date");
            CommandError::CommandOutdated
        }
        E::CooldownHit {
            remaining_cooldown, ..
        } => CommandError::Cooldown {
            wait_secs: remaining_cooldown.as_secs(),
        },
        E::MissingBotPermissions {
            missing_permissions,
            ..
        } => CommandError::BotLacksPermissions(missing_permissions.to_string()),
        E::MissingUserPermissions {
            missing_permissions,
            ..
        } => CommandError::MemberLacksPermissions(missing_permissions.map(|p| p.to_string())),
        E::NotAnOwner { .. } => CommandError::OwnerOnly,
        E::GuildOnly { .. } => CommandError::ServerOnly,
        E::DmOnly { .. } => CommandError::DirectMessagesOnly,
        E::NsfwOnly { .. } => CommandError::AgeRestrictedOnly,
        E::CommandCheckFailed { error, .. } => match error {
            Some(BotError::ShuttingDown) | None => CommandError::ShuttingDown,
            Some(error) => {
                tracing::warn!(%error, "command check failed");
                CommandError::Internal
            }
        },
        E::SubcommandRequired { .. } => CommandError::SubcommandRequired,
        E::PermissionFetchFailed { .. } => CommandError::PermissionsUnknown,
        E::UnknownInteraction { interaction, .. } => {
            tracing::warn!(command = %interaction.data.name, "unknown command; commands may still be registering");
            return None;
        }
        other => {
            tracing::warn!(error = %other, "unhandled poise error");
            return None;
        }
    })
}
