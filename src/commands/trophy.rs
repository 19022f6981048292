//! `/trophy game trophy`: who among this server's tracked players has a trophy, with the date
//! each earned it, first first. Answered from stored data only (the tracker's libraries, earned
//! states with dates, title definitions and rates), never asking PSN; only players tracked in
//! this server whose trophy list was last seen public are counted or named.

use std::collections::HashSet;

use psn::{TitleDefinition, TrophyDefinition};

use super::game::{
    choices_among, is_np_communication_id, Choice, MAX_CHOICES, STORED_CHOICES_SCAN,
};
use crate::errors::CommandError;
use crate::model::reply::{limits, truncate};
use crate::model::{Reply, TrophyEarner, TrophyHolders};
use crate::render::{self, NamedTitle};
use crate::store::{LibraryName, Store, TitleHolder};

/// What `/trophy` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrophyInput {
    pub guild_id: u64,
    /// An npCommunicationId (a picked choice) or a name.
    pub game: String,
    /// A trophy id (a picked choice) or a name.
    pub trophy: String,
    /// The server's language for names (`None`: the bot's default).
    pub language: Option<String>,
    pub default_language: String,
}

/// The server's game choices for what was typed: titles its tracked players own.
pub async fn game_choices(
    store: &Store,
    guild_id: u64,
    partial: &str,
) -> Result<Vec<Choice>, CommandError> {
    let names = store
        .guild_title_names(guild_id, STORED_CHOICES_SCAN)
        .await?;
    Ok(choices_among(&named(&names), partial))
}

fn named(names: &[LibraryName]) -> Vec<NamedTitle<'_>> {
    names
        .iter()
        .map(|n| NamedTitle {
            name: &n.name,
            platforms: &n.platforms,
            np_communication_id: &n.np_communication_id,
        })
        .collect()
}

/// The title `query` names among the server's titles: an npCommunicationId one of them owns,
/// else a name (exact, case-insensitive, then the best match as autocomplete ranks it).
async fn resolve_game(
    store: &Store,
    guild_id: u64,
    query: &str,
) -> Result<Option<String>, CommandError> {
    let query = query.trim();
    if is_np_communication_id(query) {
        return Ok(Some(query.to_ascii_uppercase()));
    }
    let names = store
        .guild_title_names(guild_id, STORED_CHOICES_SCAN)
        .await?;
    let lowered = query.to_lowercase();
    if let Some(exact) = names.iter().find(|n| n.name.to_lowercase() == lowered) {
        return Ok(Some(exact.np_communication_id.clone()));
    }
    Ok(choices_among(&named(&names), query)
        .into_iter()
        .next()
        .map(|choice| choice.value))
}

/// A game as `/trophy` reads it: who owns it here and its stored trophy list.
struct Game {
    holders: Vec<TitleHolder>,
    definition: Option<TitleDefinition>,
}

impl Game {
    /// Trophies someone in this server earned: a hidden one among them is shown unmasked.
    fn earned_here(&self) -> HashSet<u32> {
        self.holders
            .iter()
            .filter_map(|h| h.earned.as_ref())
            .flatten()
            .copied()
            .collect()
    }
}

/// The game `query` names, with its holders here and definition; `None` when no tracked player
/// of the server owns it.
async fn game(
    store: &Store,
    guild_id: u64,
    query: &str,
    languages: &[&str],
) -> Result<Option<(String, Game)>, CommandError> {
    let Some(id) = resolve_game(store, guild_id, query).await? else {
        return Ok(None);
    };
    let holders = store.title_holders_in_guild(guild_id, &id).await?;
    if holders.is_empty() {
        return Ok(None);
    }
    let definition = store.stored_title_definition(&id, languages).await?;
    Ok(Some((
        id,
        Game {
            holders,
            definition,
        },
    )))
}

/// A trophy's choice name: its name (or "Hidden trophy" while masked) and grade, plain text on
/// one line within Discord's 100 characters.
fn choice_name(trophy: &TrophyDefinition, masked: bool) -> String {
    let name = if masked {
        render::HIDDEN_NAME.to_string()
    } else {
        trophy
            .name
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let suffix = format!(" · {}", render::trophy_kind_label(trophy.kind));
    let room = limits::CHOICE_NAME.saturating_sub(suffix.chars().count());
    truncate(
        &format!("{}{suffix}", truncate(name.trim(), room)),
        limits::CHOICE_NAME,
    )
}

/// The trophy choices of the game typed in `game` for what was typed in `partial`: at most
/// [`MAX_CHOICES`], in the game's order, a hidden trophy nobody here earned masked (and found
/// only as "hidden"). Nothing for a game no tracked player here owns.
pub async fn trophy_choices(
    store: &Store,
    guild_id: u64,
    game_query: &str,
    partial: &str,
    languages: &[&str],
) -> Result<Vec<Choice>, CommandError> {
    let Some((_, game)) = game(store, guild_id, game_query, languages).await? else {
        return Ok(Vec::new());
    };
    let Some(definition) = &game.definition else {
        return Ok(Vec::new());
    };
    let earned_here = game.earned_here();
    let partial = partial.trim().to_lowercase();
    Ok(definition
        .trophies
        .iter()
        .map(|t| (t, t.hidden && !earned_here.contains(&t.id)))
        .map(|(t, masked)| choice_name(t, masked))
        .zip(&definition.trophies)
        .filter(|(name, _)| partial.is_empty() || name.to_lowercase().contains(&partial))
        .take(MAX_CHOICES)
        .map(|(name, t)| Choice {
            name,
            value: t.id.to_string(),
        })
        .collect())
}

/// The trophy `query` names in `definition`: an id, else a name (exact, then containing it,
/// case-insensitive). A hidden trophy nobody here earned is found by its id only: its name is a
/// spoiler.
fn resolve_trophy<'a>(
    definition: &'a TitleDefinition,
    query: &str,
    earned_here: &HashSet<u32>,
) -> Option<&'a TrophyDefinition> {
    let query = query.trim();
    if let Ok(id) = query.parse::<u32>() {
        return definition.trophies.iter().find(|t| t.id == id);
    }
    let lowered = query.to_lowercase();
    let named = || {
        definition
            .trophies
            .iter()
            .filter(|t| !t.hidden || earned_here.contains(&t.id))
    };
    named()
        .find(|t| t.name.to_lowercase() == lowered)
        .or_else(|| named().find(|t| t.name.to_lowercase().contains(&lowered)))
}

/// Answers `/trophy`. A game no tracked player here owns, or a trophy the game does not have,
/// is a polite **not found**; nothing is changed either way.
pub async fn run(store: &Store, input: TrophyInput) -> Result<Reply, CommandError> {
    let mut languages = Vec::new();
    if let Some(language) = input.language.as_deref() {
        languages.push(language);
    }
    languages.push(input.default_language.as_str());
    let not_found = || CommandError::ServerGameNotFound {
        query: truncate(input.game.trim(), limits::CHOICE_NAME),
    };
    let (id, game) = game(store, input.guild_id, &input.game, &languages)
        .await?
        .ok_or_else(not_found)?;
    let Some(definition) = &game.definition else {
        return Err(CommandError::TrophyNotFound {
            game: truncate(input.game.trim(), limits::CHOICE_NAME),
            query: truncate(input.trophy.trim(), limits::CHOICE_NAME),
            known: false,
        });
    };
    let earned_here = game.earned_here();
    let trophy = resolve_trophy(definition, &input.trophy, &earned_here).ok_or_else(|| {
        CommandError::TrophyNotFound {
            game: definition.name.clone(),
            query: truncate(input.trophy.trim(), limits::CHOICE_NAME),
            known: true,
        }
    })?;
    let mut earners: Vec<TrophyEarner> = game
        .holders
        .iter()
        .filter(|h| {
            h.earned
                .as_ref()
                .is_some_and(|ids| ids.contains(&trophy.id))
        })
        .map(|h| TrophyEarner {
            online_id: h.online_id.clone(),
            earned_at: h.earned_at.get(&trophy.id).copied(),
        })
        .collect();
    TrophyEarner::sort(&mut earners);
    let (earned_rate, rarity) = store.trophy_rate(&id, trophy.id).await?.unwrap_or_default();
    let holders = TrophyHolders {
        game_name: definition.name.clone(),
        platforms: definition.platforms.clone(),
        game_icon_url: definition.icon_url.clone(),
        trophy: trophy.clone(),
        masked: trophy.hidden && earners.is_empty(),
        earned_rate,
        rarity,
        owners: u32::try_from(game.holders.len()).unwrap_or(u32::MAX),
        complete: game.holders.iter().all(|h| h.earned.is_some()),
        earners,
    };
    Ok(render::trophy_holders(&holders))
}

#[cfg(test)]
mod tests {
    use super::*;
    use psn::TrophyType;

    fn trophy(id: u32, name: &str, hidden: bool) -> TrophyDefinition {
        TrophyDefinition {
            id,
            group_id: "default".into(),
            hidden,
            kind: TrophyType::Gold,
            name: name.into(),
            detail: String::new(),
            icon_url: None,
        }
    }

    fn definition() -> TitleDefinition {
        TitleDefinition {
            np_communication_id: "NPWR00001_00".into(),
            service: None,
            name: "Game".into(),
            detail: None,
            icon_url: None,
            platforms: vec![],
            defined: Default::default(),
            groups: vec![],
            trophies: vec![
                trophy(0, "Master of All", false),
                trophy(1, "Secret Ending", true),
                trophy(2, "First Steps", false),
            ],
        }
    }

    #[test]
    fn trophies_resolve_by_id_or_name_and_hidden_names_stay_secret() {
        let definition = definition();
        let none = HashSet::new();
        let found =
            |q: &str, earned: &HashSet<u32>| resolve_trophy(&definition, q, earned).map(|t| t.id);
        assert_eq!(found("2", &none), Some(2));
        assert_eq!(found("first steps", &none), Some(2));
        assert_eq!(found("master", &none), Some(0));
        assert_eq!(found("Secret Ending", &none), None, "a spoiler");
        assert_eq!(found("1", &none), Some(1), "by id it is found, masked");
        assert_eq!(found("secret", &HashSet::from([1])), Some(1));
        assert_eq!(found("99", &none), None);
        assert_eq!(found("zelda", &none), None);
    }

    #[test]
    fn choice_names_fit_discord_and_mask_spoilers() {
        let long = trophy(3, &format!("{}\nline", "x".repeat(200)), false);
        let name = choice_name(&long, false);
        assert!(name.chars().count() <= limits::CHOICE_NAME, "{name}");
        assert!(name.ends_with(" · Gold") && !name.contains('\n'), "{name}");
        assert_eq!(
            choice_name(&trophy(1, "Secret Ending", true), true),
            "Hidden trophy · Gold"
        );
    }
}
