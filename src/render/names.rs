//! Title names as autocomplete and replies show them. Titles may share a name (a game bought in
//! two regions, or on PS4 and PS5), so wherever titles are listed together one rule tells such
//! names apart: by platform, and by npCommunicationId too where even the platforms are the same.

use std::collections::{HashMap, HashSet};

use psn::{Platform, TitleProgress};

use super::markdown::escape_markdown;
use super::platforms_label;
use crate::model::reply::{limits, truncate};

/// A title's name in a reply, suffix included, is at most this long: it fits a field name
/// ([`limits::FIELD_NAME`]), and a message naming many games stays within its budget.
const REPLY_NAME_MAX: usize = 150;

/// A title as far as its name goes.
#[derive(Debug, Clone, Copy)]
pub struct NamedTitle<'a> {
    pub name: &'a str,
    pub platforms: &'a [Platform],
    pub np_communication_id: &'a str,
}

impl<'a> From<&'a TitleProgress> for NamedTitle<'a> {
    fn from(t: &'a TitleProgress) -> NamedTitle<'a> {
        NamedTitle {
            name: &t.name,
            platforms: &t.platforms,
            np_communication_id: &t.np_communication_id,
        }
    }
}

/// Where a name is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle {
    /// Embeds: markdown escaped, platforms always shown (`ASTRO BOT (PS5 · PC)`), the
    /// npCommunicationId where it is needed (`Italian Journey (PS5, NPWR12345_00)`).
    Reply,
    /// Autocomplete choices: plain text within Discord's limit, a suffix only where it is needed
    /// (`ASTRO BOT (PS5)`, `Eperon defend (PS4, NPWR00004_00)`).
    Choice,
}

/// What a name needs to be told apart from the others in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    Platforms,
    Id,
}

/// The names of `titles`, in order, told apart where they collide (case-insensitively): by
/// platform where titles share a name, and by npCommunicationId as well where they share the
/// platforms too. The same title listed twice (two of its trophies in `/rarest`) does not
/// collide with itself.
pub fn title_names<'a>(
    titles: impl IntoIterator<Item = NamedTitle<'a>>,
    style: NameStyle,
) -> Vec<String> {
    let titles: Vec<NamedTitle<'a>> = titles.into_iter().collect();
    let mut by_name: HashMap<String, HashSet<&str>> = HashMap::new();
    let mut by_platforms: HashMap<(String, &[Platform]), HashSet<&str>> = HashMap::new();
    for t in &titles {
        let name = t.name.to_lowercase();
        by_platforms
            .entry((name.clone(), t.platforms))
            .or_default()
            .insert(t.np_communication_id);
        by_name
            .entry(name)
            .or_default()
            .insert(t.np_communication_id);
    }
    titles
        .iter()
        .map(|t| {
            let name = t.name.to_lowercase();
            let needs = if by_platforms[&(name.clone(), t.platforms)].len() > 1 {
                Needs::Id
            } else if by_name[&name].len() > 1 {
                Needs::Platforms
            } else {
                Needs::Nothing
            };
            label(t, needs, style)
        })
        .collect()
}

/// One title's name in a reply, where no other title is listed beside it: escaped, with its
/// platforms.
pub fn title_name(name: &str, platforms: &[Platform]) -> String {
    let title = NamedTitle {
        name,
        platforms,
        np_communication_id: "",
    };
    label(&title, Needs::Nothing, NameStyle::Reply)
}

fn label(t: &NamedTitle<'_>, needs: Needs, style: NameStyle) -> String {
    let platforms = match style {
        NameStyle::Reply => platforms_label(t.platforms),
        NameStyle::Choice if needs == Needs::Nothing => String::new(),
        NameStyle::Choice => t
            .platforms
            .iter()
            .map(Platform::label)
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut parts = Vec::new();
    if !platforms.is_empty() {
        parts.push(platforms.as_str());
    }
    if needs == Needs::Id {
        parts.push(t.np_communication_id);
    }
    let suffix = if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    };
    let (name, max) = match style {
        NameStyle::Reply => (escape_markdown(t.name), REPLY_NAME_MAX),
        NameStyle::Choice => (t.name.to_string(), limits::CHOICE_NAME),
    };
    // The name gives way so that the suffix telling it apart stays whole.
    let room = max.saturating_sub(suffix.chars().count());
    truncate(&format!("{}{suffix}", truncate(&name, room)), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles() -> Vec<(&'static str, Vec<Platform>, &'static str)> {
        vec![
            ("Italian Journey", vec![Platform::Ps5], "NPWR00001_00"),
            ("Italian Journey", vec![Platform::Ps4], "NPWR00002_00"),
            ("ITALIAN JOURNEY", vec![Platform::Ps5], "NPWR00003_00"),
            ("Fall Guys", vec![Platform::Ps4], "NPWR00004_00"),
            // The same title again: no collision with itself.
            ("Fall Guys", vec![Platform::Ps4], "NPWR00004_00"),
            ("Ancient *Harbor*", vec![], "NPWR00005_00"),
        ]
    }

    fn names(style: NameStyle) -> Vec<String> {
        let titles = titles();
        title_names(
            titles.iter().map(|(name, platforms, id)| NamedTitle {
                name,
                platforms,
                np_communication_id: id,
            }),
            style,
        )
    }

    #[test]
    fn replies_show_platforms_and_the_id_where_platforms_collide_too() {
        assert_eq!(
            names(NameStyle::Reply),
            [
                "Italian Journey (PS5, NPWR00001_00)",
                "Italian Journey (PS4)",
                "ITALIAN JOURNEY (PS5, NPWR00003_00)",
                "Fall Guys (PS4)",
                "Fall Guys (PS4)",
                "Ancient \\*Harbor\\*",
            ]
        );
    }

    #[test]
    fn choices_show_a_suffix_only_where_names_collide() {
        assert_eq!(
            names(NameStyle::Choice),
            [
                "Italian Journey (PS5, NPWR00001_00)",
                "Italian Journey (PS4)",
                "ITALIAN JOURNEY (PS5, NPWR00003_00)",
                "Fall Guys",
                "Fall Guys",
                "Ancient *Harbor*",
            ]
        );
    }

    #[test]
    fn long_names_give_way_to_the_suffix() {
        let long = "x".repeat(300);
        let platforms = [Platform::Ps5, Platform::Vita, Platform::Pc];
        let twins = ["NPWR00001_00", "NPWR00002_00"].map(|id| NamedTitle {
            name: &long,
            platforms: &platforms,
            np_communication_id: id,
        });
        for name in title_names(twins, NameStyle::Choice) {
            assert!(name.chars().count() <= limits::CHOICE_NAME, "{name}");
            assert!(
                name.ends_with(" (PS5, PS Vita, PC, NPWR00001_00)") || name.ends_with("02_00)")
            );
        }
        for name in title_names(twins, NameStyle::Reply) {
            assert!(name.chars().count() <= REPLY_NAME_MAX, "{name}");
            assert!(
                name.ends_with(" (PS5 · PS Vita · PC, NPWR00001_00)") || name.ends_with("02_00)")
            );
        }
    }
}
