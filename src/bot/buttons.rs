//! Page buttons. Their `custom_id` carries everything needed to redraw a page, so pages survive
//! a restart; only the member who ran the command may turn them, and only with a button that is
//! on the message (a client can send any `custom_id`, naming any account).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::data::{Background, BotError, Data};
use super::payload;
use super::respond::{Responder, Visibility};
use crate::commands;
use crate::errors::CommandError;
use crate::render::PageRef;

/// Discord lets a bot edit an interaction's reply for 15 minutes; the buttons go a minute before.
const LIFETIME: Duration = Duration::from_secs(14 * 60);

/// Answers a button press if it is one of ours.
pub async fn on_press(
    http: &Arc<serenity::Http>,
    data: &Data,
    press: &serenity::ComponentInteraction,
) -> Result<(), BotError> {
    let Some(page) = PageRef::parse(&press.data.custom_id) else {
        return Ok(());
    };
    let acknowledged = AtomicBool::new(false);
    let responder = Responder::for_button(http, data, press, &acknowledged);
    if !is_on_message(&press.message, &press.data.custom_id) {
        tracing::warn!(user = %press.user.id, "refused a button press not on its message");
        responder.now(Err(CommandError::ForgedButton)).await?;
        return Ok(());
    }
    if page.invoker != Some(press.user.id.get()) {
        responder.now(Err(CommandError::NotYourButtons)).await?;
        return Ok(());
    }
    // Estimated from what is cached: a page whose trophies the command (or the last press)
    // left in the cache costs nothing; one that is not still costs its requests.
    let services = data.services_in(press.guild_id).await;
    // The player's credential when it has room, as for the command that drew the first page.
    let services =
        data.services_for_account(services, &page.account_id, commands::shares::cost::CAP);
    let estimate = commands::page::estimate(&services, &page);
    let admission = match data.admit(press.user.id, press.guild_id, estimate) {
        Ok(admission) => admission,
        Err(err) => {
            responder.now(Err(err)).await?;
            return Ok(());
        }
    };
    let redraw = async {
        let reply = commands::page::redraw(&services.metered(admission.meter()), page).await;
        drop(admission);
        reply
    };
    responder.after(Visibility::Everyone, redraw).await?;
    Ok(())
}

/// Whether `custom_id` is one of the buttons the bot put on `message`: Discord sends the message
/// as it is, so only these ids were issued by the bot.
fn is_on_message(message: &serenity::Message, custom_id: &str) -> bool {
    message
        .components
        .iter()
        .flat_map(|row| &row.components)
        .any(|component| {
            matches!(
                component,
                serenity::ActionRowComponent::Button(serenity::Button {
                    data: serenity::ButtonKind::NonLink { custom_id: id, .. },
                    ..
                }) if id == custom_id
            )
        })
}

/// Removes the page buttons shortly before the interaction token that could edit them expires,
/// so nobody presses a button that can no longer work. Cancelled at shutdown (the buttons then
/// stay, and still work after a restart).
pub fn expire_later(
    http: Arc<serenity::Http>,
    gate: super::discord_gate::DiscordGate,
    token: String,
    background: &Background,
) {
    let cancel = background.cancel.clone();
    background.tasks.spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(LIFETIME) => {
                let edit = serenity::EditInteractionResponse::new()
                    .components(Vec::new())
                    .allowed_mentions(payload::no_mentions());
                let removal = http.edit_original_interaction_response(&token, &edit, Vec::new());
                if let Err(err) = gate.call(super::discord_gate::CallKind::Interaction, removal).await {
                    tracing::debug!(%err, "could not remove expired page buttons");
                }
            }
        }
    });
}
