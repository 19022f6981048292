//! `/settings [channel] [filter] [rare_percent] [language] [platinum_milestones]
//! [level_milestones] [completion_milestones] [rarest_milestones] [recap] [recap_day] [recap_hour] [time_zone]`: the
//! server's announcement defaults, the language of names, which milestone posts it wants and the
//! weekly recap. Without options it shows them.

use super::track::{check_channel, ChannelFacts};
use crate::errors::CommandError;
use crate::model::recap::{parse_time_zone, RecapSchedule};
use crate::model::reply::Reply;
use crate::model::{AnnounceFilter, FilterKind, GuildSettings, MilestoneSettings};
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
    pub recap: RecapOptions,
    /// `cards`: image cards on or off; `None` leaves it.
    pub cards: Option<bool>,
    /// The server's announce channel as the bot sees it, when `channel` is not given (to say
    /// whether cards can be attached there).
    pub announce_channel: Option<ChannelFacts>,
}

/// The milestone switches an admin set; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MilestoneChoices {
    pub platinum: Option<bool>,
    pub level: Option<bool>,
    pub completion: Option<bool>,
    pub rarest: Option<bool>,
}

impl MilestoneChoices {
    fn any(&self) -> bool {
        self.platinum.is_some()
            || self.level.is_some()
            || self.completion.is_some()
            || self.rarest.is_some()
    }

    fn apply(&self, settings: &mut MilestoneSettings) {
        settings.platinum = self.platinum.unwrap_or(settings.platinum);
        settings.level = self.level.unwrap_or(settings.level);
        settings.completion = self.completion.unwrap_or(settings.completion);
        settings.rarest = self.rarest.unwrap_or(settings.rarest);
    }
}

/// The weekly recap's options, each left unchanged when `None`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecapOptions {
    pub enabled: Option<bool>,
    pub weekday: Option<chrono::Weekday>,
    /// 0–23; anything else is refused.
    pub hour: Option<i64>,
    /// An IANA name; anything else is refused.
    pub time_zone: Option<String>,
}

impl RecapOptions {
    fn is_empty(&self) -> bool {
        *self == RecapOptions::default()
    }
}

/// `current` with the recap options applied, or why they cannot be.
pub fn chosen_recap(
    current: RecapSchedule,
    options: &RecapOptions,
) -> Result<RecapSchedule, CommandError> {
    let mut schedule = current;
    if let Some(hour) = options.hour {
        schedule.hour = u8::try_from(hour)
            .ok()
            .filter(|hour| *hour < 24)
            .ok_or_else(|| {
                CommandError::BadOption(
                    "`recap_hour` is an hour of the day from 0 to 23, e.g. `18` for 6 pm."
                        .to_string(),
                )
            })?;
    }
    if let Some(name) = &options.time_zone {
        schedule.time_zone = parse_time_zone(name).ok_or_else(|| {
            // Shown back in code style: no backticks of its own, and not too long.
            let shown: String = name.chars().filter(|c| *c != '`').take(40).collect();
            CommandError::BadOption(format!(
                "`{shown}` is not a time zone name I know: use an IANA name such as \
                 `Europe/Berlin`, `America/New_York` or `UTC` (the list offers them as you type)."
            ))
        })?;
    }
    if let Some(enabled) = options.enabled {
        schedule.enabled = enabled;
    }
    if let Some(weekday) = options.weekday {
        schedule.weekday = weekday;
    }
    Ok(schedule)
}

/// Time zone names containing what was typed (any case), at most `limit`, shortest first
/// (`Europe/Berlin` before `Europe/Busingen` for "ber").
pub fn time_zone_choices(partial: &str, limit: usize) -> Vec<super::game::Choice> {
    let partial = partial.trim().to_lowercase();
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|zone| zone.name())
        .filter(|name| name.to_lowercase().contains(&partial))
        .collect();
    names.sort_by_key(|name| (name.len(), *name));
    names
        .into_iter()
        .take(limit)
        .map(|name| super::game::Choice {
            name: name.to_string(),
            value: name.to_string(),
        })
        .collect()
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
    let current = store.recap_schedule(input.guild_id).await?;
    // Checked before anything is saved: a bad option changes nothing.
    let recap = chosen_recap(current, &input.recap)?;
    if input.channel.is_none()
        && filter.is_none()
        && language.is_none()
        && !input.milestones.any()
        && input.recap.is_empty()
        && input.cards.is_none()
    {
        return Ok((
            with_attach_note(
                render::settings(&settings, &recap, false, default_language),
                &settings,
                input.channel.as_ref().or(input.announce_channel.as_ref()),
            ),
            false,
        ));
    }
    let attach_check = input.channel.clone().or(input.announce_channel.clone());
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
    if let Some(cards) = input.cards {
        settings.cards = cards;
    }
    store.set_guild_settings(&settings).await?;
    if recap != current {
        store.set_recap_schedule(input.guild_id, &recap).await?;
    }
    Ok((
        with_attach_note(
            render::settings(&settings, &recap, true, default_language),
            &settings,
            attach_check.as_ref(),
        ),
        true,
    ))
}

/// The reply with a word on Attach Files when cards are on and the channel lacks it.
fn with_attach_note(
    reply: Reply,
    settings: &GuildSettings,
    channel: Option<&ChannelFacts>,
) -> Reply {
    match channel {
        Some(facts) if settings.cards && facts.in_guild && !facts.can_attach_files => {
            render::with_note(reply, &render::attach_files_note(facts.channel_id))
        }
        _ => reply,
    }
}
