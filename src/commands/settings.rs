//! `/settings [channel] [filter] [rare_percent]`: the server's announcement defaults. Without
//! options it shows them.

use super::track::{check_channel, ChannelFacts};
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::model::{AnnounceFilter, FilterKind};
use crate::render;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq)]
pub struct SettingsInput {
    pub guild_id: u64,
    pub channel: Option<ChannelFacts>,
    pub filter: Option<FilterKind>,
    pub rare_percent: Option<f64>,
}

/// The filter the options ask for, `None` when they leave it unchanged. `rare_percent` alone
/// means "rarer than" that percentage.
pub fn chosen_filter(
    filter: Option<FilterKind>,
    rare_percent: Option<f64>,
) -> Result<Option<AnnounceFilter>, CommandError> {
    let percent = match rare_percent {
        Some(p) if !(p > 0.0 && p <= 100.0) => {
            return Err(CommandError::BadOption(
                "`rare_percent` must be more than 0 and at most 100.".to_string(),
            ))
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

/// Returns the reply and whether anything was changed.
pub async fn run(store: &Store, input: SettingsInput) -> Result<(Reply, bool), CommandError> {
    let filter = chosen_filter(input.filter, input.rare_percent)?;
    if let Some(channel) = &input.channel {
        check_channel(channel)?;
    }
    let mut settings = store.guild_settings(input.guild_id).await?;
    if input.channel.is_none() && filter.is_none() {
        return Ok((render::settings(&settings, false), false));
    }
    if let Some(channel) = input.channel {
        settings.announce_channel_id = Some(channel.channel_id);
    }
    if let Some(filter) = filter {
        settings.filter = filter;
    }
    store.set_guild_settings(&settings).await?;
    Ok((render::settings(&settings, true), true))
}
