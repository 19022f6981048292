use psn::{Account, TitleProgress, TrophySummary};

use super::{
    counts_line, earned_in, format_count, progress_bar, title_names, NameStyle, NamedTitle,
    COLOR_INFO,
};
use crate::model::reply::{Embed, Reply};
use crate::render::markdown::escape_markdown;

/// How many recent titles the profile lists.
pub const PROFILE_TITLES: usize = 10;

/// `/trophies` without a game. `summary` is `None` when PSN did not give one; the counts are then
/// summed from the listed titles and the footer says so.
pub fn profile(
    account: &Account,
    summary: Option<&TrophySummary>,
    recent: &[TitleProgress],
) -> Reply {
    let name = escape_markdown(&account.online_id);
    let mut embed = Embed::new()
        .title(format!("{name}'s trophies"))
        .color(COLOR_INFO);

    let (earned, from_titles) = match summary {
        Some(summary) => (summary.earned, false),
        None => (earned_in(recent), true),
    };

    let level = match summary.and_then(|s| s.level) {
        Some(level) => match summary.and_then(|s| s.level_progress) {
            Some(progress) => format!("Level **{level}** · {}", progress_bar(progress)),
            None => format!("Level **{level}**"),
        },
        None => "Level unknown".to_string(),
    };
    embed = embed.description(format!(
        "{level}\n{}\n**{}** trophies · **{}** points",
        counts_line(&earned),
        format_count(earned.total()),
        format_count(earned.points())
    ));

    if recent.is_empty() {
        embed = embed.field("Recent titles", "No trophies yet.", false);
    }
    let shown = &recent[..recent.len().min(PROFILE_TITLES)];
    let names = title_names(shown.iter().map(NamedTitle::from), NameStyle::Reply);
    for (title, name) in shown.iter().zip(names) {
        embed = embed.field(
            name,
            format!(
                "{} · {}",
                progress_bar(title.progress),
                counts_line(&title.earned)
            ),
            false,
        );
    }
    embed = embed.thumbnail(recent.first().and_then(|t| t.icon_url.clone()));
    let footer = if from_titles {
        format!(
            "Counts from the {} most recent titles (no trophy summary from PSN)",
            recent.len()
        )
    } else {
        format!("PSN account {}", account.account_id)
    };
    Reply::embed(embed.footer(footer))
}
