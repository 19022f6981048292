//! `/trophy`: who in this server has a trophy (stored data only, no PSN request).

use poise::serenity_prelude as serenity;

use super::options::{GameOption, TrophyOption};
use super::{choices_response, AUTOCOMPLETE_BUDGET};
use crate::bot::data::{BotError, Context};
use crate::bot::respond::{ReplyExt, Visibility};
use crate::commands::trophy::{self, TrophyInput};

/// The value typed so far in the option `name` of the command being completed.
fn typed_option(ctx: Context<'_>, name: &str) -> Option<String> {
    match ctx {
        poise::Context::Application(app) => app
            .interaction
            .data
            .options
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| o.value.as_str())
            .map(str::to_string),
        poise::Context::Prefix(_) => None,
    }
}

/// The server's language and the bot's default, in the order names are looked for.
async fn languages(ctx: Context<'_>, guild_id: u64) -> (Option<String>, String) {
    let data = ctx.data();
    let language = match data.store.guild_settings(guild_id).await {
        Ok(settings) => settings.language,
        Err(err) => {
            tracing::warn!(%err, guild_id, "could not read the server's language; using the default");
            None
        }
    };
    (language, data.services.client.language().to_string())
}

/// Games the server's tracked players own (stored libraries only).
async fn autocomplete_server_game(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let choices = match ctx.guild_id() {
        Some(guild) => tokio::time::timeout(
            AUTOCOMPLETE_BUDGET,
            trophy::game_choices(&ctx.data().store, guild.get(), partial),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default(),
        None => Vec::new(),
    };
    choices_response(choices)
}

/// The trophies of the game picked in `game` (stored definitions only).
async fn autocomplete_trophy(
    ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    let (Some(guild), Some(game)) = (ctx.guild_id(), typed_option(ctx, "game")) else {
        return choices_response(Vec::new());
    };
    let choices = tokio::time::timeout(AUTOCOMPLETE_BUDGET, async {
        let (language, default) = languages(ctx, guild.get()).await;
        let mut order = Vec::new();
        if let Some(language) = language.as_deref() {
            order.push(language);
        }
        order.push(default.as_str());
        trophy::trophy_choices(&ctx.data().store, guild.get(), &game, partial, &order).await
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    choices_response(choices)
}

/// Who in this server has a trophy, with the date each earned it, first first.
#[poise::command(slash_command, guild_only)]
pub async fn trophy(
    ctx: Context<'_>,
    #[description = "A game one of this server's tracked players owns"]
    #[autocomplete = "autocomplete_server_game"]
    game: GameOption,
    #[description = "One of the game's trophies"]
    #[autocomplete = "autocomplete_trophy"]
    trophy: TrophyOption,
) -> Result<(), BotError> {
    let Some(guild_id) = ctx.guild_id() else {
        return Ok(());
    };
    let (language, default_language) = languages(ctx, guild_id.get()).await;
    let input = TrophyInput {
        guild_id: guild_id.get(),
        game: game.0,
        trophy: trophy.0,
        language,
        default_language,
    };
    let work = trophy::run(&ctx.data().store, input);
    ctx.responder().after(Visibility::Everyone, work).await?;
    Ok(())
}
