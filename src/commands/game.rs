//! The `game` option: an npCommunicationId or a title name, resolved against the user's titles,
//! and its autocomplete.

use psn::{Account, NpService, OnlineId, TitleProgress};

use super::shares::cost;
use super::{Services, RECENT_TITLES};
use crate::errors::CommandError;
use crate::render::{title_names, NameStyle, NamedTitle};

/// Discord allows at most 25 autocomplete choices.
pub const MAX_CHOICES: usize = 25;
/// The longest `game` option: an autocomplete choice's value, or a name typed in full.
pub const GAME_TEXT_MAX: usize = crate::model::reply::limits::CHOICE_NAME;

/// One autocomplete choice: `value` is the npCommunicationId, so a picked choice resolves
/// without a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub name: String,
    pub value: String,
}

/// A title the `game` option resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct GameRef {
    pub np_communication_id: String,
    /// Known when the title came from the user's listing.
    pub service: Option<NpService>,
    pub name: Option<String>,
}

/// `NPWR12345_00`: four letters, five digits, underscore, two digits.
pub fn is_np_communication_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b[..4].iter().all(u8::is_ascii_alphabetic)
        && b[4..9].iter().all(u8::is_ascii_digit)
        && b[9] == b'_'
        && b[10..].iter().all(u8::is_ascii_digit)
}

/// Resolves `query` for `account`: an npCommunicationId as it is (the service taken from the
/// cached listing when it is there), else a name: case-insensitive exact first, then the closest
/// match, in a tracked player's stored library, else among the recent titles and then the whole
/// library only if needed.
pub async fn resolve_game(
    services: &Services,
    account: &Account,
    query: &str,
) -> Result<GameRef, CommandError> {
    let query = query.trim();
    if is_np_communication_id(query) {
        let id = query.to_ascii_uppercase();
        return Ok(GameRef {
            np_communication_id: id,
            service: None,
            name: None,
        });
    }
    let not_found = || CommandError::GameNotFound {
        online_id: account.online_id.clone(),
        query: query.to_string(),
    };
    if let Some(library) = services.stored_library(account).await {
        return exact_match(&library, query)
            .or_else(|| best_match(&library, query).map(|(_, found)| found))
            .ok_or_else(not_found);
    }
    let recent = services
        .client
        .recent_titles(account, RECENT_TITLES)
        .await?;
    if let Some(found) = exact_match(&recent, query) {
        return Ok(found);
    }
    let recent_best = best_match(&recent, query);
    if let Some((score, found)) = &recent_best {
        if *score >= GOOD_MATCH {
            return Ok(found.clone());
        }
    }
    // The listing was complete already when it held fewer titles than asked for. A library
    // longer than the command's cap allows is searched as far as it allows.
    if recent.len() >= RECENT_TITLES as usize {
        let (all, _) = services.library_within_cap(account).await?;
        if let Some(found) = exact_match(&all, query) {
            return Ok(found);
        }
        if let Some((score, found)) = best_match(&all, query) {
            if recent_best.as_ref().is_none_or(|(s, _)| score > *s) {
                return Ok(found);
            }
        }
    }
    recent_best.map(|(_, found)| found).ok_or_else(not_found)
}

/// The npCommunicationId [`resolve_game`] picks for `query` without asking PSN, when the caches
/// tell: an ID as it is, a name resolved as `resolve_game` resolves it among the cached recent
/// titles and, where it would search the library, the cached library. Spends nothing.
pub fn resolved_from_cache(services: &Services, account: &Account, query: &str) -> Option<String> {
    let query = query.trim();
    if is_np_communication_id(query) {
        return Some(query.to_ascii_uppercase());
    }
    let recent = services
        .client
        .cached_recent_titles(account, RECENT_TITLES)?;
    if let Some(found) = exact_match(&recent, query) {
        return Some(found.np_communication_id);
    }
    let recent_best = best_match(&recent, query);
    let found = match recent_best {
        Some((score, found)) if score >= GOOD_MATCH => Some(found),
        _ if recent.len() >= RECENT_TITLES as usize => {
            let all = services.client.cached_recent_titles(account, u32::MAX)?;
            exact_match(&all, query)
                .or_else(|| match best_match(&all, query) {
                    Some((score, found))
                        if recent_best.as_ref().is_none_or(|(s, _)| score > *s) =>
                    {
                        Some(found)
                    }
                    _ => None,
                })
                .or(recent_best.map(|(_, found)| found))
        }
        _ => recent_best.map(|(_, found)| found),
    };
    found.map(|game| game.np_communication_id)
}

/// The worst-case PSN requests of resolving `query` for `account` and reading that title's
/// trophies (definitions and earned state), as the client's caches stand: 0 when all of it is
/// cached. A name the cached recent titles do not match well may need one more page of the
/// library (a longer library is held to the cap by [`resolve_game`]).
pub fn title_trophies_estimate(services: &Services, account: &Account, query: &str) -> u32 {
    if let Some(id) = resolved_from_cache(services, account, query) {
        return services.title_trophies_cost(account, &id);
    }
    let library = match services.client.cached_recent_titles(account, RECENT_TITLES) {
        Some(recent)
            if recent.len() < RECENT_TITLES as usize
                || services
                    .client
                    .cached_recent_titles(account, u32::MAX)
                    .is_some() =>
        {
            0
        }
        _ => cost::LISTING,
    };
    library + cost::DEFINITIONS + cost::EARNED
}

/// How many of a tracked player's stored titles, most recently updated first, autocomplete
/// searches per keystroke: a bounded read however big the library (the oldest titles of a
/// longer one are still found by typing the name in full, which `resolve_game` searches).
pub const STORED_CHOICES_SCAN: u32 = 2_000;

/// Autocomplete for the `game` option, asking PSN only when nothing is cached: see
/// [`cached_choices`] and [`fetch_for_choices`]. Any failure gives no choices (autocomplete
/// has no way to show an error).
pub async fn autocomplete_game(
    services: &Services,
    user_online_id: &OnlineId,
    partial: &str,
) -> Vec<Choice> {
    if let Some(choices) = cached_choices(services, user_online_id, partial).await {
        return choices;
    }
    if fetch_for_choices(services, user_online_id).await.is_err() {
        return Vec::new();
    }
    cached_choices(services, user_online_id, partial)
        .await
        .unwrap_or_default()
}

/// The `game` choices for `partial` without asking PSN: from a tracked player's stored library
/// (a bounded read, see [`STORED_CHOICES_SCAN`]), else from the player's recent titles as
/// listed within the last few minutes ([`psn::TYPED_TITLES_TTL`]): the best matches (the most
/// recent titles when `partial` is empty), names told apart by platform when two titles share
/// one. `None` when neither is at hand (or the player's account is not cached).
pub async fn cached_choices(
    services: &Services,
    user_online_id: &OnlineId,
    partial: &str,
) -> Option<Vec<Choice>> {
    let account = services.client.cached_user(user_online_id)?;
    if let Some(names) = services.stored_names(&account, STORED_CHOICES_SCAN).await {
        let titles: Vec<NamedTitle<'_>> = names
            .iter()
            .map(|n| NamedTitle {
                name: &n.name,
                platforms: &n.platforms,
                np_communication_id: &n.np_communication_id,
            })
            .collect();
        return Some(choices_among(&titles, partial));
    }
    let titles = services.client.typed_titles(&account, RECENT_TITLES)?;
    Some(choices(&titles, partial))
}

/// Asks PSN for what [`cached_choices`] needs: the player's lookup and recent titles (at most
/// [`cost::AUTOCOMPLETE`] requests; they stay cached for the following keystrokes and the
/// command).
pub async fn fetch_for_choices(
    services: &Services,
    user_online_id: &OnlineId,
) -> Result<(), CommandError> {
    let account = services.client.resolve_user(user_online_id).await?;
    if services.stored_library_is_shown(&account).await {
        return Ok(());
    }
    services
        .client
        .recent_titles(&account, RECENT_TITLES)
        .await?;
    Ok(())
}

/// The autocomplete choices for `partial` among `titles` (pure, so it is tested directly).
pub fn choices(titles: &[TitleProgress], partial: &str) -> Vec<Choice> {
    let titles: Vec<NamedTitle<'_>> = titles.iter().map(NamedTitle::from).collect();
    choices_among(&titles, partial)
}

pub(crate) fn choices_among(titles: &[NamedTitle<'_>], partial: &str) -> Vec<Choice> {
    let names = title_names(titles.iter().copied(), NameStyle::Choice);
    let partial = normalize(partial);
    let mut scored: Vec<(u32, usize)> = titles
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            if partial.is_empty() {
                Some((0, i))
            } else {
                score(&normalize(&names[i]), &partial)
                    .or_else(|| score(&normalize(t.name), &partial))
                    .map(|s| (s, i))
            }
        })
        .collect();
    // Stable: among equal scores the most recent title comes first.
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    scored
        .into_iter()
        .take(MAX_CHOICES)
        .map(|(_, i)| Choice {
            name: names[i].clone(),
            value: titles[i].np_communication_id.to_string(),
        })
        .collect()
}

/// Each title's name as autocomplete shows it: told apart where titles share one, by the rule
/// every reply follows.
fn display_names(titles: &[TitleProgress]) -> Vec<String> {
    title_names(titles.iter().map(NamedTitle::from), NameStyle::Choice)
}

fn to_ref(t: &TitleProgress) -> GameRef {
    GameRef {
        np_communication_id: t.np_communication_id.clone(),
        service: t.service,
        name: Some(t.name.clone()),
    }
}

/// Case-insensitive exact name (or name with its platform suffix, as autocomplete shows it);
/// the most recent title wins a tie.
fn exact_match(titles: &[TitleProgress], query: &str) -> Option<GameRef> {
    let query = query.to_lowercase();
    titles
        .iter()
        .find(|t| t.name.to_lowercase() == query)
        .or_else(|| {
            let names = display_names(titles);
            titles
                .iter()
                .zip(&names)
                .find(|(_, name)| name.to_lowercase() == query)
                .map(|(t, _)| t)
        })
        .map(to_ref)
}

/// A match at least this good is taken from the recent titles without searching the library.
const GOOD_MATCH: u32 = SCORE_SUBSTRING;
const SCORE_EXACT: u32 = 100;
const SCORE_PREFIX: u32 = 80;
const SCORE_SUBSTRING: u32 = 60;
const SCORE_WORDS: u32 = 40;
const SCORE_SUBSEQUENCE: u32 = 20;

fn best_match(titles: &[TitleProgress], query: &str) -> Option<(u32, GameRef)> {
    let query = normalize(query);
    if query.is_empty() {
        return None;
    }
    let mut best: Option<(u32, &TitleProgress)> = None;
    for t in titles {
        if let Some(s) = score(&normalize(&t.name), &query) {
            if best.is_none_or(|(b, _)| s > b) {
                best = Some((s, t));
            }
        }
    }
    best.map(|(s, t)| (s, to_ref(t)))
}

/// Lowercase letters and digits, words separated by single spaces: "Pokémon™: Légendes" and
/// "pokemon legendes" compare equal apart from accents.
fn normalize(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(fold_accent)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The unaccented letter for the accented Latin letters common in game names, so "pokemon"
/// finds "Pokémon".
fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => c,
    }
}

/// How well `query` matches `name` (both normalized); `None` when it is not close at all.
fn score(name: &str, query: &str) -> Option<u32> {
    if name == query {
        return Some(SCORE_EXACT);
    }
    if name.starts_with(query) {
        return Some(SCORE_PREFIX);
    }
    if name.contains(query) {
        return Some(SCORE_SUBSTRING);
    }
    let words: Vec<&str> = name.split(' ').collect();
    if query
        .split(' ')
        .all(|q| words.iter().any(|w| w.starts_with(q)))
    {
        return Some(SCORE_WORDS);
    }
    let compact: String = query.chars().filter(|c| *c != ' ').collect();
    if compact.chars().count() >= 3 && is_subsequence(&compact, name) {
        return Some(SCORE_SUBSEQUENCE);
    }
    None
}

fn is_subsequence(needle: &str, haystack: &str) -> bool {
    let mut hay = haystack.chars();
    needle.chars().all(|n| hay.any(|h| h == n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::title_progress;
    use psn::Platform;

    fn title(id: &str, name: &str, platforms: &str) -> TitleProgress {
        TitleProgress {
            np_communication_id: id.to_string(),
            service: Some(NpService::Trophy2),
            name: name.to_string(),
            platforms: Platform::parse_list(platforms),
            ..title_progress()
        }
    }

    fn library() -> Vec<TitleProgress> {
        vec![
            title("NPWR00001_00", "ASTRO BOT", "PS5"),
            title("NPWR00002_00", "Fall Guys", "PS4"),
            title("NPWR00003_00", "ASTRO BOT", "PS4"),
            title("NPWR00004_00", "Eperon defend", "PS4"),
            title("NPWR00005_00", "Eperon defend", "PS4"),
            title("NPWR00006_00", "Monster Hunter Wilds", "PS5"),
            title("NPWR00007_00", "Pokémon ✨ Légendes", "PS5"),
        ]
    }

    #[test]
    fn recognizes_np_communication_ids() {
        assert!(is_np_communication_id("NPWR08964_00"));
        assert!(is_np_communication_id("npwr08964_00"));
        assert!(!is_np_communication_id("NPWR0896_00"));
        assert!(!is_np_communication_id("Fall Guys"));
    }

    #[test]
    fn shared_names_get_a_platform_suffix() {
        let names: Vec<String> = choices(&library(), "")
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            [
                "ASTRO BOT (PS5)",
                "Fall Guys",
                "ASTRO BOT (PS4)",
                "Eperon defend (PS4, NPWR00004_00)",
                "Eperon defend (PS4, NPWR00005_00)",
                "Monster Hunter Wilds",
                "Pokémon ✨ Légendes",
            ]
        );
    }

    #[test]
    fn autocomplete_ranks_prefix_before_fuzzy() {
        let found = choices(&library(), "mhw");
        assert_eq!(found[0].value, "NPWR00006_00", "{found:?}");
        assert!(choices(&library(), "zelda").is_empty());
        let found = choices(&library(), "hunt");
        assert_eq!(found[0].value, "NPWR00006_00");
        let found = choices(&library(), "astro");
        assert_eq!(found.len(), 2);
        let found = choices(&library(), "fll gys");
        assert_eq!(found[0].value, "NPWR00002_00");
    }

    #[test]
    fn exact_then_closest() {
        let titles = library();
        assert_eq!(
            exact_match(&titles, "fall guys").map(|g| g.np_communication_id),
            Some("NPWR00002_00".to_string())
        );
        assert_eq!(
            exact_match(&titles, "astro bot (ps4)").map(|g| g.np_communication_id),
            Some("NPWR00003_00".to_string())
        );
        assert_eq!(
            best_match(&titles, "monster").map(|(_, g)| g.np_communication_id),
            Some("NPWR00006_00".to_string())
        );
        assert!(best_match(&titles, "zelda").is_none());
        assert_eq!(
            best_match(&titles, "pokemon legendes").map(|(s, g)| (s, g.np_communication_id)),
            Some((SCORE_EXACT, "NPWR00007_00".to_string()))
        );
    }
}
