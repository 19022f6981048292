//! `/settings [channel] [filter] [rare_percent] [language] [platinum_milestones]
//! [level_milestones] [completion_milestones]`: the server's announcement defaults, the language
//! of names and which milestone posts it wants. Without options it shows them.

use super::track::{check_channel, ChannelFacts};
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::model::{AnnounceFilter, FilterKind, MilestoneSettings};
use crate::render;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq)]
pub struct SettingsInput {
    pub guild_id: u64,
    pub channel: Option<ChannelFacts>,
    pub filter: Option<FilterKind>,
    pub rare_percent: Option<f64>,
    /// A language code; only those of `psn::LANGUAGES` are accepted.
    pub language: Option<String>,
    pub milestones: MilestoneChoices,
}

/// The milestone switches an admin set; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MilestoneChoices {
    pub platinum: Option<bool>,
    pub level: Option<bool>,
    pub completion: Option<bool>,
}

impl MilestoneChoices {
    fn any(&self) -> bool {
        self.platinum.is_some() || self.level.is_some() || self.completion.is_some()
    }

    fn apply(&self, settings: &mut MilestoneSettings) {
        settings.platinum = self.platinum.unwrap_or(settings.platinum);
        settings.level = self.level.unwrap_or(settings.level);
        settings.completion = self.completion.unwrap_or(settings.completion);
    }
}

/// The language the option asks for, spelled as listed; `None` when it is left unchanged.
pub fn chosen_language(language: Option<&str>) -> Result<Option<&'static str>, CommandError> {
    match language {
        None => Ok(None),
        Some(code) => psn::language(code).map(Some).ok_or_else(|| {
            CommandError::BadOption(format!(
                "PSN does not serve names in `{code}`: pick one of the listed languages."
            ))
        }),
    }
}

/// The smallest `rare_percent`: values are kept to two decimals, and the column must stay above
/// 0. The slash option's `#[min]` (a literal) says the same.
pub const MIN_RARE_PERCENT: f64 = 0.01;

/// The filter the options ask for, `None` when they leave it unchanged. `rare_percent` alone
/// means "rarer than" that percentage.
pub fn chosen_filter(
    filter: Option<FilterKind>,
    rare_percent: Option<f64>,
) -> Result<Option<AnnounceFilter>, CommandError> {
    let percent = match rare_percent {
        // Below the minimum a value would round to 0, which the column's CHECK refuses.
        Some(p) if !(MIN_RARE_PERCENT..=100.0).contains(&p) => {
            return Err(CommandError::BadOption(format!(
                "`rare_percent` must be at least {MIN_RARE_PERCENT} and at most 100."
            )))
        }
        // The column is a `real`; the rounding keeps what admins typed readable.
        Some(p) => Some(((p * 100.0).round() / 100.0) as f32),
        None => None,
    };
    match (filter, percent) {
        (None, None) => Ok(None),
        (Some(FilterKind::RarerThan) | None, Some(percent)) => {
            Ok(Some(AnnounceFilter::RarerThan(percent)))
        }
        (Some(FilterKind::RarerThan), None) => Err(CommandError::BadOption(
            "The **rarer than** filter needs `rare_percent`, e.g. `rare_percent: 5` for trophies \
             fewer than 5 % of players earned."
                .to_string(),
        )),
        (Some(_), Some(_)) => Err(CommandError::BadOption(
            "`rare_percent` only goes with the **rarer than** filter.".to_string(),
        )),
        (Some(FilterKind::All), None) => Ok(Some(AnnounceFilter::All)),
        (Some(FilterKind::GoldAndUp), None) => Ok(Some(AnnounceFilter::GoldAndUp)),
        (Some(FilterKind::PlatinumOnly), None) => Ok(Some(AnnounceFilter::PlatinumOnly)),
    }
}

/// Returns the reply and whether anything was changed. `default_language` is the bot's
/// (`PSN_LANGUAGE`), shown for servers that chose none.
pub async fn run(
    store: &Store,
    input: SettingsInput,
    default_language: &str,
) -> Result<(Reply, bool), CommandError> {
    let filter = chosen_filter(input.filter, input.rare_percent)?;
    let language = chosen_language(input.language.as_deref())?;
    if let Some(channel) = &input.channel {
        check_channel(channel)?;
    }
    let mut settings = store.guild_settings(input.guild_id).await?;
    if input.channel.is_none() && filter.is_none() && language.is_none() && !input.milestones.any()
    {
        return Ok((render::settings(&settings, false, default_language), false));
    }
    if let Some(channel) = input.channel {
        settings.announce_channel_id = Some(channel.channel_id);
    }
    if let Some(filter) = filter {
        settings.filter = filter;
    }
    if let Some(language) = language {
        settings.language = Some(language.to_string());
    }
    input.milestones.apply(&mut settings.milestones);
    store.set_guild_settings(&settings).await?;
    Ok((render::settings(&settings, true, default_language), true))
}
