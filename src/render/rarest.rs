use chrono::{DateTime, Utc};
use psn::{Account, Platform, Rarity, TrophyDefinition};

use super::{
    format_date, rarity_label, title_names, trophy_emoji, NameStyle, NamedTitle, COLOR_PLATINUM,
};
use crate::model::reply::{truncate, Embed, Reply};
use crate::render::markdown::escape_markdown;

/// One earned trophy in the `/rarest` ranking, with the title it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct RareTrophy {
    /// Tells titles of the same name apart.
    pub np_communication_id: String,
    pub title_name: String,
    pub platforms: Vec<Platform>,
    pub trophy: TrophyDefinition,
    pub earned_at: Option<DateTime<Utc>>,
    pub earned_rate: Option<f64>,
    pub rarity: Option<Rarity>,
}

/// Where `/rarest` looked, named in the footer.
#[derive(Debug, Clone, PartialEq)]
pub enum RarestScope {
    Title {
        name: String,
    },
    /// The `count` most recent titles, of which `covered` took part in the ranking (a command
    /// held to its cap leaves the rest for a later call, which the cache makes cheaper).
    RecentTitles {
        count: usize,
        covered: usize,
    },
    /// A tracked player's whole stored library of `count` titles, of which `covered` took part
    /// (the rest is being filled in).
    Library {
        count: usize,
        covered: usize,
    },
}

/// `/rarest`: `trophies` already ranked, rarest first.
pub fn rarest(account: &Account, trophies: &[RareTrophy], scope: &RarestScope) -> Reply {
    let mut embed = Embed::new()
        .title(format!(
            "{}'s rarest trophies",
            escape_markdown(&account.online_id)
        ))
        .color(COLOR_PLATINUM);
    if trophies.is_empty() {
        embed = embed.description("No earned trophies here yet.");
    } else {
        let titles = title_names(
            trophies.iter().map(|t| NamedTitle {
                name: &t.title_name,
                platforms: &t.platforms,
                np_communication_id: &t.np_communication_id,
            }),
            NameStyle::Reply,
        );
        let lines: Vec<String> = trophies
            .iter()
            .zip(titles)
            .enumerate()
            .map(|(i, (t, title))| {
                let earned = t
                    .earned_at
                    .map_or_else(|| "date unknown".to_string(), format_date);
                format!(
                    "**{}.** {} **{}** — {}\n{} · earned {earned}",
                    i + 1,
                    trophy_emoji(t.trophy.kind),
                    escape_markdown(&truncate(&t.trophy.name, 80)),
                    title,
                    rarity_label(t.earned_rate, t.rarity)
                )
            })
            .collect();
        embed = embed
            .description(lines.join("\n"))
            .thumbnail(trophies.first().and_then(|t| t.trophy.icon_url.clone()));
    }
    let footer = match scope {
        RarestScope::Title { name } => format!("In {name}"),
        RarestScope::RecentTitles { count: 0, .. } => "They have no titles yet".to_string(),
        RarestScope::RecentTitles { count, covered } if covered < count => format!(
            "Covers {covered} of their {count} most recent titles · ask again later to cover more"
        ),
        RarestScope::RecentTitles { count: 1, .. } => "In their most recent title".to_string(),
        RarestScope::RecentTitles { count, .. } => {
            format!("Across their {count} most recent titles")
        }
        RarestScope::Library { count, covered } if covered < count => {
            format!("Covers {covered} of their {count} titles · ask again later to cover more")
        }
        RarestScope::Library { count: 1, .. } => "In their only title".to_string(),
        RarestScope::Library { count, .. } => format!("Across all their {count} titles"),
    };
    Reply::embed(embed.footer(footer))
}
