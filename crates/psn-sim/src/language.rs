//! Names in the language asked for, as PSN serves them: `Accept-Language` on the modern API,
//! `npLanguage` on the legacy one. English for `en*` and anything unknown, French for `fr*`.
//! Applied to whole answers in one place (`http.rs`), so every endpoint agrees.

use serde_json::Value;

use crate::world::{Words, ADJECTIVES, NOUNS, PHRASES, TROPHY_OBJECTS, TROPHY_VERBS};

/// The answer fields that hold names or details.
const NAME_KEYS: &[&str] = &[
    "trophyTitleName",
    "trophyTitleDetail",
    "trophyGroupName",
    "trophyGroupDetail",
    "trophyName",
    "trophyDetail",
    "titleName",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Language {
    English,
    French,
}

impl Language {
    /// From a language tag or an `Accept-Language` value (its first tag decides).
    pub(crate) fn from_tag(tag: Option<&str>) -> Language {
        let first = tag
            .and_then(|t| t.split([',', ';']).next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if first == "fr" || first.starts_with("fr-") {
            Language::French
        } else {
            Language::English
        }
    }
}

/// Rewrites every name field of an answer into `language`.
pub(crate) fn localize(body: &mut Value, language: Language) {
    if language == Language::English {
        return;
    }
    match body {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if NAME_KEYS.contains(&key.as_str()) => {
                        *text = french(text);
                    }
                    other => localize(other, language),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| localize(item, language)),
        _ => {}
    }
}

/// The French of a generated name: known words and phrases translated where they stand as
/// whole words, an "adjective noun" title turned round as French has it ("Horizon Écarlate").
/// Anything else (brands such as ASTRO BOT, the markdown titles) stays as it is, as on PSN.
pub(crate) fn french(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    let mut at_boundary = true;
    while let Some(c) = rest.chars().next() {
        if at_boundary {
            if let Some((translated, used)) = title_pair(rest).or_else(|| phrase(rest)) {
                out.push_str(&translated);
                rest = &rest[used..];
                at_boundary = false;
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        at_boundary = !c.is_alphanumeric();
    }
    out
}

/// `word` at the start of `text`, ending at a word boundary: the length it takes.
fn starts_with_word(text: &str, word: &str) -> Option<usize> {
    let after = text.strip_prefix(word)?;
    match after.chars().next() {
        Some(c) if c.is_alphanumeric() => None,
        _ => Some(word.len()),
    }
}

/// An "adjective noun" title name at the start of `text`, in French order and agreement.
fn title_pair(text: &str) -> Option<(String, usize)> {
    ADJECTIVES
        .iter()
        .find_map(|(adjective, masculine, feminine)| {
            let after = text.strip_prefix(adjective)?.strip_prefix(' ')?;
            NOUNS.iter().find_map(|(noun, noun_fr, is_feminine)| {
                let used = starts_with_word(after, noun)?;
                let adjective_fr = if *is_feminine { feminine } else { masculine };
                Some((
                    format!("{noun_fr} {adjective_fr}"),
                    adjective.len() + 1 + used,
                ))
            })
        })
}

/// The longest known word or phrase at the start of `text` (title names are whole pairs, see
/// [`title_pair`]).
fn phrase(text: &str) -> Option<(String, usize)> {
    let tables: [&[Words]; 3] = [PHRASES, TROPHY_VERBS, TROPHY_OBJECTS];
    tables
        .iter()
        .flat_map(|table| table.iter())
        .filter_map(|(english, french)| {
            starts_with_word(text, english).map(|used| (french.to_string(), used))
        })
        .max_by_key(|(_, used)| *used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_names_read_in_french_and_brands_stay() {
        assert_eq!(french("Crimson Horizon"), "Horizon Écarlate");
        assert_eq!(
            french("Crimson Horizon Trophy Set"),
            "Horizon Écarlate Ensemble de trophées"
        );
        assert_eq!(french("Lost Crown Platinum"), "Couronne Perdue Platine");
        assert_eq!(french("Lost Horizon"), "Horizon Perdu");
        assert_eq!(french("Obtain all trophies."), "Obtenir tous les trophées.");
        assert_eq!(french("Defeat the Warden."), "Vaincre le Gardien.");
        assert_eq!(french("Escape Chapter 4"), "Fuir Chapitre 4");
        assert_eq!(
            french("Additional trophies for Iron Garden"),
            "Trophées supplémentaires pour Jardin de Fer"
        );
        assert_eq!(french("ASTRO BOT Platinum"), "ASTRO BOT Platine");
        assert_eq!(french("ASTRO BOT"), "ASTRO BOT");
        assert_eq!(french("Winning"), "Winning", "whole words only");
        assert_eq!(french("@everyone look at this"), "@everyone look at this");
    }

    #[test]
    fn only_name_fields_change_and_only_for_french() {
        let body = json!({
            "trophyTitleName": "Lost Crown",
            "npCommunicationId": "Lost Crown",
            "trophies": [{"trophyName": "Find the Archive", "trophyType": "gold"}],
        });
        let mut french_body = body.clone();
        localize(&mut french_body, Language::from_tag(Some("fr-FR,fr;q=0.9")));
        assert_eq!(
            french_body,
            json!({
                "trophyTitleName": "Couronne Perdue",
                "npCommunicationId": "Lost Crown",
                "trophies": [{"trophyName": "Trouver les Archives", "trophyType": "gold"}],
            })
        );
        for tag in [Some("en-GB"), Some("de-DE"), None] {
            let mut same = body.clone();
            localize(&mut same, Language::from_tag(tag));
            assert_eq!(same, body, "{tag:?}");
        }
    }
}
