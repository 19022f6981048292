//! The bot's own option types: each value is checked once, as Discord hands it over, and its
//! limits are declared to Discord from the same constants the checks use.

use std::borrow::Cow;

use poise::serenity_prelude as serenity;
use psn::OnlineId;

use crate::commands::game::GAME_TEXT_MAX;
use crate::commands::rarest::MAX_COUNT;
use crate::errors::CommandError;
use crate::model::FilterKind;

/// Why a value cannot be used, carried to the one error handler (`failures`), which answers
/// with this error's words.
fn refuse(error: CommandError, input: impl Into<String>) -> poise::SlashArgError {
    poise::SlashArgError::new_parse(Box::new(error), input.into())
}

/// The text of a string option.
fn text<'a>(value: &serenity::ResolvedValue<'a>) -> Option<&'a str> {
    match value {
        serenity::ResolvedValue::String(text) => Some(text),
        _ => None,
    }
}

/// A string option that is not a string: Discord's copy of the command is outdated.
fn not_a_string() -> poise::SlashArgError {
    poise::SlashArgError::new_command_structure_mismatch("expected a string")
}

/// A `user` or `other` option: a PSN online ID.
#[derive(Debug, Clone)]
pub struct PsnUser(pub OnlineId);

#[async_trait::async_trait]
impl poise::SlashArgument for PsnUser {
    async fn extract(
        _: &serenity::Context,
        _: &serenity::CommandInteraction,
        value: &serenity::ResolvedValue<'_>,
    ) -> Result<PsnUser, poise::SlashArgError> {
        let text = text(value).ok_or_else(not_a_string)?;
        OnlineId::parse(text)
            .map(PsnUser)
            .map_err(|err| refuse(err.into(), text))
    }

    fn create(builder: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
        // Discord's own check spares a round trip for the commonest typo: the length.
        builder
            .kind(serenity::CommandOptionType::String)
            .min_length(OnlineId::MIN_LEN as u16)
            .max_length(OnlineId::MAX_LEN as u16)
    }
}

/// A `game` option: a title's name or npCommunicationId, as typed or picked from autocomplete.
#[derive(Debug, Clone)]
pub struct GameOption(pub String);

#[async_trait::async_trait]
impl poise::SlashArgument for GameOption {
    async fn extract(
        _: &serenity::Context,
        _: &serenity::CommandInteraction,
        value: &serenity::ResolvedValue<'_>,
    ) -> Result<GameOption, poise::SlashArgError> {
        let text = text(value).ok_or_else(not_a_string)?;
        // Discord enforces the length for its own clients; a crafted request is held to it too.
        if text.chars().count() > GAME_TEXT_MAX {
            return Err(refuse(
                CommandError::BadOption(format!(
                    "`game` takes at most {GAME_TEXT_MAX} characters: a name or an npCommunicationId."
                )),
                text,
            ));
        }
        Ok(GameOption(text.to_string()))
    }

    fn create(builder: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
        builder
            .kind(serenity::CommandOptionType::String)
            .max_length(GAME_TEXT_MAX as u16)
    }
}

/// `/trophy trophy`: a trophy's id (a picked choice) or its name.
#[derive(Debug, Clone)]
pub struct TrophyOption(pub String);

#[async_trait::async_trait]
impl poise::SlashArgument for TrophyOption {
    async fn extract(
        _: &serenity::Context,
        _: &serenity::CommandInteraction,
        value: &serenity::ResolvedValue<'_>,
    ) -> Result<TrophyOption, poise::SlashArgError> {
        let text = text(value).ok_or_else(not_a_string)?;
        // An autocomplete choice's name is at most as long; a crafted request is held to it.
        if text.chars().count() > GAME_TEXT_MAX {
            return Err(refuse(
                CommandError::BadOption(format!(
                    "`trophy` takes at most {GAME_TEXT_MAX} characters: pick a trophy from the list."
                )),
                text,
            ));
        }
        Ok(TrophyOption(text.to_string()))
    }

    fn create(builder: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
        builder
            .kind(serenity::CommandOptionType::String)
            .max_length(GAME_TEXT_MAX as u16)
    }
}

/// `/rarest count`: 1 to [`MAX_COUNT`].
#[derive(Debug, Clone, Copy)]
pub struct TrophyCount(pub u8);

#[async_trait::async_trait]
impl poise::SlashArgument for TrophyCount {
    async fn extract(
        _: &serenity::Context,
        _: &serenity::CommandInteraction,
        value: &serenity::ResolvedValue<'_>,
    ) -> Result<TrophyCount, poise::SlashArgError> {
        let serenity::ResolvedValue::Integer(number) = value else {
            return Err(poise::SlashArgError::new_command_structure_mismatch(
                "expected an integer",
            ));
        };
        crate::commands::rarest::count(*number)
            .map(TrophyCount)
            .map_err(|err| refuse(err, number.to_string()))
    }

    fn create(builder: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
        builder
            .kind(serenity::CommandOptionType::Integer)
            .min_int_value(1)
            .max_int_value(u64::from(MAX_COUNT))
    }
}

/// `/settings filter`: the model's [`FilterKind`], offered as Discord choices by its labels.
impl poise::ChoiceParameter for FilterKind {
    fn list() -> Cow<'static, [poise::CommandParameterChoice]> {
        FilterKind::ALL
            .iter()
            .map(|kind| poise::CommandParameterChoice {
                name: Cow::Borrowed(kind.label()),
                localizations: Cow::Borrowed(&[]),
                __non_exhaustive: (),
            })
            .collect()
    }

    fn from_index(index: usize) -> Option<FilterKind> {
        FilterKind::ALL.get(index).copied()
    }

    fn from_name(name: &str) -> Option<FilterKind> {
        FilterKind::ALL
            .into_iter()
            .find(|kind| kind.label().eq_ignore_ascii_case(name))
    }

    fn name(&self) -> &'static str {
        self.label()
    }

    fn localized_name(&self, _locale: &str) -> Option<&'static str> {
        None
    }
}

/// `/settings language`: a language PSN serves names in, offered as Discord choices from
/// [`psn::LANGUAGES`] (`Français (fr-FR)`).
#[derive(Debug, Clone, Copy)]
pub struct PsnLanguage(pub &'static str);

impl poise::ChoiceParameter for PsnLanguage {
    fn list() -> Cow<'static, [poise::CommandParameterChoice]> {
        psn::LANGUAGES
            .iter()
            .map(|(code, label)| poise::CommandParameterChoice {
                name: Cow::Owned(format!("{label} ({code})")),
                localizations: Cow::Borrowed(&[]),
                __non_exhaustive: (),
            })
            .collect()
    }

    fn from_index(index: usize) -> Option<PsnLanguage> {
        psn::LANGUAGES.get(index).map(|(code, _)| PsnLanguage(code))
    }

    fn from_name(name: &str) -> Option<PsnLanguage> {
        psn::language(name).map(PsnLanguage)
    }

    fn name(&self) -> &'static str {
        self.0
    }

    fn localized_name(&self, _locale: &str) -> Option<&'static str> {
        None
    }
}

/// `/settings recap_day`: the day of the week the recap is posted.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum RecapDay {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl From<RecapDay> for chrono::Weekday {
    fn from(day: RecapDay) -> chrono::Weekday {
        match day {
            RecapDay::Monday => chrono::Weekday::Mon,
            RecapDay::Tuesday => chrono::Weekday::Tue,
            RecapDay::Wednesday => chrono::Weekday::Wed,
            RecapDay::Thursday => chrono::Weekday::Thu,
            RecapDay::Friday => chrono::Weekday::Fri,
            RecapDay::Saturday => chrono::Weekday::Sat,
            RecapDay::Sunday => chrono::Weekday::Sun,
        }
    }
}
