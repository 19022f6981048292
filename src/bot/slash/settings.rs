//! `/settings`: the server's announcement defaults, language, milestone posts and weekly recap
//! (Manage Server; see `admin`).

use poise::serenity_prelude as serenity;

use super::admin::{admin_guild, channel_facts};
use super::options::{PsnLanguage, RecapDay};
use crate::bot::data::{BotError, Context};
use crate::bot::respond::ReplyExt;
use crate::commands::settings::{self, MilestoneChoices, RecapOptions, SettingsInput};
use crate::model::FilterKind;

/// Time zones matching what was typed.
async fn autocomplete_time_zone(
    _ctx: Context<'_>,
    partial: &str,
) -> serenity::CreateAutocompleteResponse {
    super::choices_response(settings::time_zone_choices(partial, super::MAX_CHOICES))
}

/// This server's announcements, language, milestones and weekly recap; without options, shows them.
#[poise::command(slash_command, guild_only, default_member_permissions = "MANAGE_GUILD")]
// Each parameter is one of Discord's options for the command.
#[allow(clippy::too_many_arguments)]
pub async fn settings(
    ctx: Context<'_>,
    #[description = "The default channel for announcements"]
    #[channel_types("Text", "News")]
    channel: Option<serenity::ChannelId>,
    #[description = "Which trophies to announce"] filter: Option<FilterKind>,
    #[description = "For \"rarer than\": earned by fewer than this % of players (e.g. 5)"]
    #[min = 0.01] // settings::MIN_RARE_PERCENT
    #[max = 100]
    rare_percent: Option<f64>,
    #[description = "The language of trophy and game names in this server"] language: Option<
        PsnLanguage,
    >,
    #[description = "Post a player's 1st, 10th, 25th, 50th, 100th, 200th… platinum"]
    platinum_milestones: Option<bool>,
    #[description = "Post a player's new PSN trophy level tier (level 100, 200…)"]
    level_milestones: Option<bool>,
    #[description = "Post a game completed to 100 %, DLC included"] completion_milestones: Option<
        bool,
    >,
    #[description = "Post the rarest trophy a player has ever earned (once their history is in)"]
    rarest_milestones: Option<bool>,
    #[description = "Post a weekly recap of the server's trophies (on by default)"] recap: Option<
        bool,
    >,
    #[description = "The day the weekly recap is posted"] recap_day: Option<RecapDay>,
    #[description = "The hour (0-23) the weekly recap is posted, in time_zone"]
    #[min = 0]
    #[max = 23]
    recap_hour: Option<i64>,
    #[description = "The server's time zone, e.g. Europe/Berlin (recap and leaderboard weeks)"]
    #[autocomplete = "autocomplete_time_zone"]
    time_zone: Option<String>,
    #[description = "Image cards on platinums, /trophies and /compare (on by default)"]
    cards: Option<bool>,
) -> Result<(), BotError> {
    let Some(guild_id) = admin_guild(ctx).await? else {
        return Ok(());
    };
    let channel = match channel {
        Some(channel) => Some(channel_facts(ctx, guild_id, channel.get()).await),
        None => None,
    };
    // Whether cards can be attached where they go.
    let announce_channel = match (&channel, cards) {
        (None, Some(true) | None) => match ctx.data().store.guild_settings(guild_id.get()).await {
            Ok(stored) => match stored.announce_channel_id {
                Some(id) => Some(channel_facts(ctx, guild_id, id).await),
                None => None,
            },
            Err(_) => None,
        },
        _ => None,
    };
    let input = SettingsInput {
        guild_id: guild_id.get(),
        channel,
        filter,
        rare_percent,
        language: language.map(|l| l.0.to_string()),
        milestones: MilestoneChoices {
            platinum: platinum_milestones,
            level: level_milestones,
            completion: completion_milestones,
            rarest: rarest_milestones,
        },
        recap: RecapOptions {
            enabled: recap,
            weekday: recap_day.map(Into::into),
            hour: recap_hour,
            time_zone,
        },
        cards,
        announce_channel,
    };
    let default_language = ctx.data().services.client.language();
    let result = settings::run(&ctx.data().store, input, default_language).await;
    let changed = matches!(result, Ok((_, true)));
    ctx.responder().now(result.map(|(reply, _)| reply)).await?;
    if changed {
        ctx.data().signals.accounts_changed.notify_one();
    }
    Ok(())
}
