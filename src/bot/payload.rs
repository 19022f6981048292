//! Turns the renderer's `Reply` into serenity's builders. Mentions are never parsed, anywhere.

use poise::serenity_prelude as serenity;

use crate::model::reply::{ButtonStyle, Embed, Reply};

/// No `@everyone`, role or user pings, ever: names from PSN may contain them.
pub fn no_mentions() -> serenity::CreateAllowedMentions {
    serenity::CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
        .replied_user(false)
}

fn embed(embed: &Embed) -> serenity::CreateEmbed {
    let mut out = serenity::CreateEmbed::new();
    if let Some(title) = &embed.title {
        out = out.title(title);
    }
    if let Some(description) = &embed.description {
        out = out.description(description);
    }
    if let Some(url) = &embed.url {
        out = out.url(url);
    }
    if let Some(color) = embed.color {
        out = out.color(color);
    }
    for field in &embed.fields {
        out = out.field(&field.name, &field.value, field.inline);
    }
    if let Some(footer) = &embed.footer {
        out = out.footer(serenity::CreateEmbedFooter::new(&footer.text));
    }
    if let Some(thumbnail) = &embed.thumbnail {
        out = out.thumbnail(&thumbnail.url);
    }
    if let Some(image) = &embed.image {
        out = out.image(&image.url);
    }
    if let Some(author) = &embed.author {
        out = out.author(serenity::CreateEmbedAuthor::new(&author.name));
    }
    if let Some(timestamp) = embed
        .timestamp
        .as_deref()
        .and_then(|t| serenity::Timestamp::parse(t).ok())
    {
        out = out.timestamp(timestamp);
    }
    out
}

pub fn embeds(reply: &Reply) -> Vec<serenity::CreateEmbed> {
    reply.embeds().iter().map(embed).collect()
}

fn attachments(reply: &Reply) -> Vec<serenity::CreateAttachment> {
    reply
        .attachments()
        .iter()
        .map(|file| serenity::CreateAttachment::bytes(file.bytes.clone(), &file.filename))
        .collect()
}

pub fn components(reply: &Reply) -> Vec<serenity::CreateActionRow> {
    reply
        .components()
        .iter()
        .map(|row| {
            serenity::CreateActionRow::Buttons(
                row.components
                    .iter()
                    .map(|button| {
                        serenity::CreateButton::new(&button.custom_id)
                            .label(&button.label)
                            .style(match button.style {
                                ButtonStyle::Primary => serenity::ButtonStyle::Primary,
                                ButtonStyle::Secondary => serenity::ButtonStyle::Secondary,
                                ButtonStyle::Success => serenity::ButtonStyle::Success,
                                ButtonStyle::Danger => serenity::ButtonStyle::Danger,
                            })
                            .disabled(button.disabled)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// A message the bot posts in a channel by itself (an announcement, a direct message).
pub fn channel_message(reply: &Reply) -> serenity::CreateMessage {
    let message = serenity::CreateMessage::new()
        .embeds(embeds(reply))
        .add_files(attachments(reply))
        .allowed_mentions(no_mentions());
    match reply.content() {
        Some(content) => message.content(content),
        None => message,
    }
}

/// The first answer to an interaction.
pub fn initial_response(reply: &Reply) -> serenity::CreateInteractionResponseMessage {
    serenity::CreateInteractionResponseMessage::new()
        .content(reply.content().unwrap_or_default())
        .embeds(embeds(reply))
        .components(components(reply))
        .add_files(attachments(reply))
        .ephemeral(reply.ephemeral())
        .allowed_mentions(no_mentions())
}

/// A follow-up only the caller sees: an error that must not land in the channel for everyone.
pub fn ephemeral_followup(reply: &Reply) -> serenity::CreateInteractionResponseFollowup {
    serenity::CreateInteractionResponseFollowup::new()
        .content(reply.content().unwrap_or_default())
        .embeds(embeds(reply))
        .ephemeral(true)
        .allowed_mentions(no_mentions())
}

/// The reply that replaces a deferred answer's loading message (or a page being turned).
pub fn edit_response(reply: &Reply) -> serenity::EditInteractionResponse {
    let edit = serenity::EditInteractionResponse::new()
        .content(reply.content().unwrap_or_default())
        .embeds(embeds(reply))
        .components(components(reply))
        .allowed_mentions(no_mentions());
    attachments(reply)
        .into_iter()
        .fold(edit, serenity::EditInteractionResponse::new_attachment)
}
