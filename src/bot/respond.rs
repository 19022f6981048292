//! The one way the bot answers an interaction, for slash commands and page buttons alike.
//! [`Responder`] keeps Discord's rules (acknowledge within 3 s, then edit the loading message;
//! files attached; no pings), turns failures into the words of [`crate::errors`], and counts
//! every outcome in the metrics.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use poise::serenity_prelude as serenity;

use super::data::{BotError, Context, Data};
use super::discord_gate::CallKind;
use super::{buttons, payload, send};
use crate::errors::{error_reply, CommandError};
use crate::model::Reply;
use crate::ops::CommandOutcome;

/// Who sees a deferred answer, chosen when it is deferred (Discord keeps it for the reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Everyone,
    OnlyCaller,
}

/// The interaction being answered.
#[derive(Clone, Copy)]
enum Interaction<'a> {
    Command(&'a serenity::CommandInteraction),
    Button(&'a serenity::ComponentInteraction),
    /// A prefix (message) command: the bot registers none, so there is nothing to answer.
    Prefix,
}

/// Answers one interaction. Errors are only for the caller: ephemeral when they are the first
/// answer, and after a public defer the loading message is removed and the error follows
/// ephemerally (a page being turned stays as it was).
pub struct Responder<'a> {
    http: &'a Arc<serenity::Http>,
    data: &'a Data,
    interaction: Interaction<'a>,
    /// Whether Discord has had its first answer (poise's flag for commands, so its own error
    /// handling knows too).
    acknowledged: &'a AtomicBool,
    /// The metrics label: the command's qualified name.
    label: String,
}

/// The reply path on poise's context: `ctx.responder().after(...)`.
pub trait ReplyExt<'a> {
    fn responder(self) -> Responder<'a>;
}

/// Stands in for poise's flag where there is no interaction.
static NEVER_ACKNOWLEDGED: AtomicBool = AtomicBool::new(false);

impl<'a> ReplyExt<'a> for Context<'a> {
    fn responder(self) -> Responder<'a> {
        let (interaction, acknowledged) = match self {
            poise::Context::Application(app) => (
                Interaction::Command(app.interaction),
                app.has_sent_initial_response,
            ),
            poise::Context::Prefix(_) => (Interaction::Prefix, &NEVER_ACKNOWLEDGED),
        };
        Responder {
            http: &self.serenity_context().http,
            data: self.data(),
            interaction,
            acknowledged,
            label: self.command().qualified_name.to_string(),
        }
    }
}

impl<'a> Responder<'a> {
    /// For a page-button press; `acknowledged` starts false and lives as long as the handler.
    pub fn for_button(
        http: &'a Arc<serenity::Http>,
        data: &'a Data,
        press: &'a serenity::ComponentInteraction,
        acknowledged: &'a AtomicBool,
    ) -> Responder<'a> {
        Responder {
            http,
            data,
            interaction: Interaction::Button(press),
            acknowledged,
            label: "page-button".to_string(),
        }
    }

    /// Answers at once: what is quick (the database) and errors known before any slow work.
    /// Returns whether `result` was a success.
    pub async fn now(&self, result: Result<Reply, CommandError>) -> Result<bool, BotError> {
        let succeeded = result.is_ok();
        let reply = self.outcome(result);
        self.send(&reply).await?;
        Ok(succeeded)
    }

    /// Defers (PSN can take longer than Discord's 3 s), runs `work`, and replaces the loading
    /// message with its reply or error. Returns whether the work succeeded (and so changed what
    /// it was asked to change). Shutdown waits for it.
    pub async fn after(
        &self,
        visibility: Visibility,
        work: impl Future<Output = Result<Reply, CommandError>>,
    ) -> Result<bool, BotError> {
        let _in_flight = self.data.in_flight.token();
        self.defer(visibility).await?;
        // The command's work is the big part of this future: on the heap, not the stack.
        let result = Box::pin(work).await;
        let succeeded = result.is_ok();
        let reply = self.outcome(result);
        let seen_by_everyone = match self.interaction {
            Interaction::Button(_) => true,
            Interaction::Command(_) | Interaction::Prefix => visibility == Visibility::Everyone,
        };
        if !succeeded && seen_by_everyone {
            Box::pin(self.send_to_caller_only(&reply)).await?;
            return Ok(false);
        }
        Box::pin(self.send(&reply)).await?;
        if let Some(token) = self.token().filter(|_| !reply.components().is_empty()) {
            buttons::expire_later(
                self.http.clone(),
                self.data.discord.clone(),
                token.to_string(),
                &self.data.background,
            );
        }
        Ok(succeeded)
    }

    /// Counts the outcome and makes the reply: page buttons carry the user who may turn them.
    fn outcome(&self, result: Result<Reply, CommandError>) -> Reply {
        let data = self.data;
        let outcome = match &result {
            Ok(_) => CommandOutcome::Ok,
            Err(CommandError::Internal | CommandError::ShuttingDown) => CommandOutcome::Failed,
            Err(_) => CommandOutcome::UserError,
        };
        data.metrics.record_command(&self.label, outcome);
        match result {
            Ok(reply) => match self.user() {
                Some(user) => crate::commands::page::fill_invoker(reply, user.get()),
                None => reply,
            },
            Err(err) => {
                tracing::info!(command = %self.label, error = %err, "answered with an error");
                error_reply(&err)
            }
        }
    }

    async fn defer(&self, visibility: Visibility) -> Result<(), BotError> {
        let response = match (self.interaction, visibility) {
            // A button's answer edits the message it is on.
            (Interaction::Button(_), _) => serenity::CreateInteractionResponse::Acknowledge,
            (Interaction::Command(_) | Interaction::Prefix, Visibility::Everyone) => {
                serenity::CreateInteractionResponse::Defer(
                    serenity::CreateInteractionResponseMessage::new(),
                )
            }
            (Interaction::Command(_) | Interaction::Prefix, Visibility::OnlyCaller) => {
                serenity::CreateInteractionResponse::Defer(
                    serenity::CreateInteractionResponseMessage::new().ephemeral(true),
                )
            }
        };
        send::with_retry(&self.data.discord, CallKind::Interaction, || {
            self.create_response(response.clone())
        })
        .await?;
        self.acknowledged.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The first answer, or an edit of the loading message once Discord has had one.
    async fn send(&self, reply: &Reply) -> Result<(), BotError> {
        if self.acknowledged.load(Ordering::SeqCst) {
            send::with_retry(&self.data.discord, CallKind::Interaction, || {
                self.edit_response(payload::edit_response(reply))
            })
            .await?;
        } else {
            let message = payload::initial_response(reply);
            send::with_retry(&self.data.discord, CallKind::Interaction, || {
                self.create_response(serenity::CreateInteractionResponse::Message(
                    message.clone(),
                ))
            })
            .await?;
            self.acknowledged.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// An error after a public defer: the loading message goes (a page stays), and the error
    /// follows where only the caller sees it.
    async fn send_to_caller_only(&self, reply: &Reply) -> Result<(), BotError> {
        let followup = payload::ephemeral_followup(reply);
        match self.interaction {
            Interaction::Command(command) => {
                send::with_retry(&self.data.discord, CallKind::Interaction, || {
                    command.delete_response(self.http)
                })
                .await?;
                send::with_retry(&self.data.discord, CallKind::Interaction, || {
                    command.create_followup(self.http, followup.clone())
                })
                .await?;
            }
            Interaction::Button(press) => {
                send::with_retry(&self.data.discord, CallKind::Interaction, || {
                    press.create_followup(self.http, followup.clone())
                })
                .await?;
            }
            Interaction::Prefix => unanswerable(),
        }
        Ok(())
    }

    #[allow(clippy::disallowed_methods, reason = "the reply path itself")]
    async fn create_response(
        &self,
        response: serenity::CreateInteractionResponse,
    ) -> Result<(), serenity::Error> {
        match self.interaction {
            Interaction::Command(command) => command.create_response(self.http, response).await,
            Interaction::Button(press) => press.create_response(self.http, response).await,
            Interaction::Prefix => {
                unanswerable();
                Ok(())
            }
        }
    }

    #[allow(clippy::disallowed_methods, reason = "the reply path itself")]
    async fn edit_response(
        &self,
        edit: serenity::EditInteractionResponse,
    ) -> Result<(), serenity::Error> {
        match self.interaction {
            Interaction::Command(command) => {
                command.edit_response(self.http, edit).await.map(|_| ())
            }
            Interaction::Button(press) => press.edit_response(self.http, edit).await.map(|_| ()),
            Interaction::Prefix => {
                unanswerable();
                Ok(())
            }
        }
    }

    fn user(&self) -> Option<serenity::UserId> {
        match self.interaction {
            Interaction::Command(command) => Some(command.user.id),
            Interaction::Button(press) => Some(press.user.id),
            Interaction::Prefix => None,
        }
    }

    fn token(&self) -> Option<&str> {
        match self.interaction {
            Interaction::Command(command) => Some(&command.token),
            Interaction::Button(press) => Some(&press.token),
            Interaction::Prefix => None,
        }
    }
}

fn unanswerable() {
    tracing::warn!("a prefix command reached the bot, which registers none; not answered");
}
