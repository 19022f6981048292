//! The slash commands as poise sees them: read options, answer within Discord's 3 s, hand the
//! work to `crate::commands`, send what `render` made. No formatting here.

use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::{payload, send, BotError, Context};
use crate::commands::{self, compare::CompareInput, rarest::RarestInput, trophies::TrophiesInput};
use crate::errors::{error_reply, CommandError};
use crate::reply::Reply;

/// Discord drops autocomplete answers after 3 s; answer from what is quick to get before then.
const AUTOCOMPLETE_BUDGET: Duration = Duration::from_millis(2500);

/// A PSN profile, or one game's trophy list.
#[poise::command(slash_command)]
pub async fn trophies(
    ctx: Context<'_>,
    #[description = "PSN online ID (default: your linked account, see /link)"]
    #[min_length = 3]
    #[max_length = 16]
    user: Option<String>,
    #[description = "A game: its name or npCommunicationId (e.g. NPWR12345_00)"]
    #[autocomplete = "autocomplete_game"]
    #[max_length = 100]
    game: Option<String>,
) -> Result<(), BotError> {
    let Some(user) = required_user(ctx, user).await? else {
        return Ok(());
    };
    let input = TrophiesInput { user, game };
    answer(ctx, |data| async move {
        commands::trophies::run(&data, input).await
    })
    .await
}

/// Two PSN accounts side by side, or trophy by trophy in one game.
#[poise::command(slash_command)]
pub async fn compare(
    ctx: Context<'_>,
    // Discord wants required options before optional ones, so `other` comes first now that
    // `user` may be left out; options travel by name, so callers see no other change.
    #[description = "The other PSN online ID"]
    #[min_length = 3]
    #[max_length = 16]
    other: String,
    #[description = "PSN online ID (default: your linked account, see /link)"]
    #[min_length = 3]
    #[max_length = 16]
    user: Option<String>,
    #[description = "A game both played: its name or npCommunicationId"]
    #[autocomplete = "autocomplete_game"]
    #[max_length = 100]
    game: Option<String>,
) -> Result<(), BotError> {
    let Some(user) = required_user(ctx, user).await? else {
        return Ok(());
    };
    for id in [&user, &other] {
        if let Err(err) = psn::Client::validate_online_id(id.trim()) {
            return reply_now(ctx, error_reply(&err.into())).await;
        }
    }
    let input = CompareInput { user, other, game };
    answer(ctx, |data| async move {
        commands::compare::run(&data, input).await
    })
    .await
}

/// The rarest trophies someone has earned.
#[poise::command(slash_command)]
pub async fn rarest(
    ctx: Context<'_>,
    #[description = "PSN online ID (default: your linked account, see /link)"]
    #[min_length = 3]
    #[max_length = 16]
    user: Option<String>,
    #[description = "Only this game: its name or npCommunicationId"]
    #[autocomplete = "autocomplete_game"]
    #[max_length = 100]
    game: Option<String>,
    #[description = "How many trophies to show (1 to 25, default 10)"]
    #[min = 1]
    #[max = 25]
    count: Option<u8>,
) -> Result<(), BotError> {
    let Some(user) = required_user(ctx, user).await? else {
        return Ok(());
    };
    let input = RarestInput {
        user,
        game,
        count: count.unwrap_or(10).clamp(1, 25),
    };
    answer(ctx, |data| async move {
        commands::rarest::run(&data, input).await
    })
    .await
}

/// The `user` option, or the caller's linked PSN account when it is left out, checked before
/// anything is sent to PSN. `None` after answering the caller with an ephemeral explanation.
async fn required_user(ctx: Context<'_>, user: Option<String>) -> Result<Option<String>, BotError> {
    let caller = ctx.author().id.get();
    let user = match commands::link::user_or_linked(&ctx.data().store, caller, user).await {
        Ok(user) => user,
        Err(err) => {
            ctx.data().metrics.record_command(
                &ctx.command().qualified_name,
                crate::ops::CommandOutcome::UserError,
            );
            reply_now(ctx, error_reply(&err)).await?;
            return Ok(None);
        }
    };
    if let Err(err) = psn::Client::validate_online_id(&user) {
        reply_now(ctx, error_reply(&err.into())).await?;
        return Ok(None);
    }
    Ok(Some(user))
}

/// Answers at once (used for errors known before any PSN request: ephemeral).
pub(super) async fn reply_now(ctx: Context<'_>, reply: Reply) -> Result<(), BotError> {
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    send::with_retry(|| {
        app.interaction.create_response(
            ctx.http(),
            serenity::CreateInteractionResponse::Message(payload::initial_response(&reply)),
        )
    })
    .await?;
    app.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Who sees a command's answer, chosen when it is deferred (Discord keeps it for the reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Visibility {
    Everyone,
    OnlyCaller,
}

/// Defers publicly (PSN may take longer than Discord's 3 s), runs the command, and replaces the
/// loading message with the reply or the error.
async fn answer<F, Fut>(ctx: Context<'_>, work: F) -> Result<(), BotError>
where
    F: FnOnce(commands::Ctx) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, CommandError>>,
{
    answer_as(ctx, Visibility::Everyone, work).await
}

/// Defers (for everyone or only the caller), runs the command, and replaces the loading message
/// with the reply or the error.
pub(super) async fn answer_as<F, Fut>(
    ctx: Context<'_>,
    visibility: Visibility,
    work: F,
) -> Result<(), BotError>
where
    F: FnOnce(commands::Ctx) -> Fut,
    Fut: std::future::Future<Output = Result<Reply, CommandError>>,
{
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    let _in_flight = ctx.data().in_flight.token();
    match visibility {
        Visibility::Everyone => send::with_retry(|| app.interaction.defer(ctx.http())).await?,
        Visibility::OnlyCaller => {
            send::with_retry(|| app.interaction.defer_ephemeral(ctx.http())).await?
        }
    }
    app.has_sent_initial_response
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let result = work(ctx.data().commands.clone()).await;
    record(ctx, result.as_ref().map(|_| ()));
    if result.is_ok() {
        // The answer came through PSN (or its caches): PSN counts as working.
        ctx.data().health.note_psn_ok();
    }
    let reply = match result {
        Ok(reply) => commands::page::fill_invoker(reply, ctx.author().id.get()),
        Err(err) => {
            tracing::info!(command = %ctx.command().name, error = %err, "command failed");
            error_reply(&err)
        }
    };
    let has_pages = !reply.components().is_empty();
    send::with_retry(|| {
        app.interaction
            .edit_response(ctx.http(), payload::edit_response(&reply))
    })
    .await?;
    if has_pages {
        super::pages::expire_buttons(
            ctx.serenity_context().http.clone(),
            app.interaction.token.clone(),
            &ctx.data().background,
        );
    }
    Ok(())
}

/// Counts the command in the metrics, and notes PSN's health when it failed.
pub(super) fn record(ctx: Context<'_>, result: Result<(), &CommandError>) {
    let data = ctx.data();
    let outcome = match result {
        Ok(()) => crate::ops::CommandOutcome::Ok,
        Err(err) => {
            if let CommandError::Psn(psn_error) = err {
                data.health.note_psn_error(psn_error);
            }
            crate::ops::CommandOutcome::UserError
        }
    };
    data.metrics
        .record_command(&ctx.command().qualified_name, outcome);
}

/// `game` choices: the titles of the `user` typed so far, from the client's cache where it can.
async fn autocomplete_game(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let poise::Context::Application(app) = ctx else {
        return serenity::CreateAutocompleteResponse::new();
    };
    let user = app
        .interaction
        .data
        .options
        .iter()
        .find(|o| o.name == "user")
        .and_then(|o| match &o.value {
            serenity::CommandDataOptionValue::String(s) => Some(s.trim().to_string()),
            _ => None,
        });
    let caller = ctx.author().id.get();
    let choices = tokio::time::timeout(AUTOCOMPLETE_BUDGET, async {
        // Without `user`, the command runs for the caller's linked account: offer its titles.
        let user = commands::link::user_or_linked(&ctx.data().store, caller, user)
            .await
            .ok()?;
        Some(commands::autocomplete_game(&ctx.data().commands, &user, partial).await)
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    serenity::CreateAutocompleteResponse::new().set_choices(
        choices
            .into_iter()
            .take(25)
            .map(|c| serenity::AutocompleteChoice::new(c.name, c.value))
            .collect(),
    )
}
