//! Page buttons. Their `custom_id` carries everything needed to redraw a page, so pages survive
//! a restart; only the user who ran the command may turn them.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::{payload, send, Data};
use crate::commands;
use crate::errors::{error_reply, CommandError};
use crate::render::PageRef;

/// Discord lets a bot edit an interaction's reply for 15 minutes; the buttons go a minute before.
const BUTTON_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// Handles a button press if it is one of ours.
pub async fn on_component(
    http: &Arc<serenity::Http>,
    data: &Data,
    press: &serenity::ComponentInteraction,
) -> Result<(), serenity::Error> {
    let Some(page) = PageRef::parse(&press.data.custom_id) else {
        return Ok(());
    };
    if page.invoker != Some(press.user.id.get()) {
        let refusal = error_reply(&CommandError::BadOption(
            "Only the person who ran this command can turn its pages. Run the command yourself \
             to browse."
                .to_string(),
        ));
        return send::with_retry(|| {
            press.create_response(
                http,
                serenity::CreateInteractionResponse::Message(payload::initial_response(&refusal)),
            )
        })
        .await;
    }
    let _in_flight = data.in_flight.token();
    // Acknowledge first (PSN may be slow), then redraw in place.
    send::with_retry(|| {
        press.create_response(http, serenity::CreateInteractionResponse::Acknowledge)
    })
    .await?;
    let reply = match commands::page::redraw(&data.commands, &press.data.custom_id).await {
        Ok(reply) => commands::page::fill_invoker(reply, press.user.id.get()),
        Err(err) => error_reply(&err),
    };
    send::with_retry(|| press.edit_response(http, payload::edit_response(&reply))).await?;
    if !reply.components().is_empty() {
        expire_buttons(http.clone(), press.token.clone(), &data.background);
    }
    Ok(())
}

/// Removes the page buttons shortly before the interaction token that could edit them expires,
/// so nobody presses a button that can no longer work. Cancelled at shutdown (the buttons then
/// stay, and still work after a restart).
pub fn expire_buttons(http: Arc<serenity::Http>, token: String, background: &super::Background) {
    let cancel = background.cancel.clone();
    background.tracker.spawn(async move {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(BUTTON_LIFETIME) => {
                let edit = serenity::EditInteractionResponse::new()
                    .components(Vec::new())
                    .allowed_mentions(payload::no_mentions());
                if let Err(err) = http.edit_original_interaction_response(&token, &edit, Vec::new()).await {
                    tracing::debug!(%err, "could not remove expired page buttons");
                }
            }
        }
    });
}
