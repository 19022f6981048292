//! Pure renderers: model values in, [`Reply`] out. No I/O, no clock, no PSN calls.

mod announce;
mod compare;
mod help;
mod leaderboard;
mod link;
pub mod markdown;
mod milestone;
mod names;
mod profile;
mod rarest;
mod recap;
mod title;
mod track;
mod trophy;

pub use announce::{
    announcements, announcements_in_server, delivery_problem, server_context_text, DeliveryFailure,
    REFERENCE_RESERVE,
};
pub use compare::{compare, compare_title, CompareSide};
pub use help::{
    help, Access, CallerLink, CommandHelp, HelpFor, ServerTracking, HELP_ACCOUNTS_SHOWN,
    HELP_COMMANDS,
};
pub use leaderboard::{leaderboard, LEADERBOARD_ROWS};
pub use link::{link, unlink, LinkOutcome};
pub use milestone::milestone;
pub use names::{title_name, title_names, NameStyle, NamedTitle};
pub use profile::profile;
pub use rarest::{rarest, RareTrophy, RarestScope};
pub use recap::{weekly_recap, RECAP_FIRSTS, RECAP_PLATINUMS, RECAP_PLAYERS};
pub use title::{title_page, PageRef, INVOKER_PLACEHOLDER, TROPHIES_PER_PAGE};
pub use track::{
    format_interval, settings, track_added, track_list, track_removed, BudgetView, CredentialView,
    TrackAdded, TrackList, TrophyListVisibility,
};
pub use trophy::{trophy_holders, HOLDERS_NAMED};

use chrono::{DateTime, Utc};
use psn::{Platform, Rarity, TrophyCounts, TrophyType};

use markdown::escape_markdown;

/// PlayStation blue, the colour of ordinary replies.
pub const COLOR_INFO: u32 = 0x0070D1;
/// The colour of a reply about a platinum or the rarest trophies.
pub const COLOR_PLATINUM: u32 = 0x9FB6CD;
/// The colour of error replies.
pub const COLOR_ERROR: u32 = 0xD13F3F;

/// What a hidden trophy shows until it is earned: its real name would be a spoiler.
pub const HIDDEN_NAME: &str = "Hidden trophy";
pub const HIDDEN_DETAIL: &str = "Keep playing to reveal it.";

pub fn trophy_emoji(kind: TrophyType) -> &'static str {
    match kind {
        TrophyType::Platinum => "🏆",
        TrophyType::Gold => "🥇",
        TrophyType::Silver => "🥈",
        TrophyType::Bronze => "🥉",
    }
}

/// The grade's name, as autocomplete choices show it.
pub fn trophy_kind_label(kind: TrophyType) -> &'static str {
    match kind {
        TrophyType::Platinum => "Platinum",
        TrophyType::Gold => "Gold",
        TrophyType::Silver => "Silver",
        TrophyType::Bronze => "Bronze",
    }
}

/// `🏆 1 · 🥇 2 · 🥈 10 · 🥉 1,033`
pub fn counts_line(counts: &TrophyCounts) -> String {
    [
        TrophyType::Platinum,
        TrophyType::Gold,
        TrophyType::Silver,
        TrophyType::Bronze,
    ]
    .into_iter()
    .map(|kind| format!("{} {}", trophy_emoji(kind), format_count(counts.get(kind))))
    .collect::<Vec<_>>()
    .join(" · ")
}

/// Trophies earned across `titles`: the counts shown when PSN gave no trophy summary.
pub fn earned_in(titles: &[psn::TitleProgress]) -> TrophyCounts {
    titles.iter().map(|t| t.earned).sum()
}

/// `▰▰▰▰▰▰▰▱▱▱ 75%`
pub fn progress_bar(percent: u32) -> String {
    const SEGMENTS: u32 = 10;
    let percent = percent.min(100);
    let filled = (percent * SEGMENTS + 50) / 100;
    format!(
        "{}{} {percent}%",
        "▰".repeat(filled as usize),
        "▱".repeat((SEGMENTS - filled) as usize)
    )
}

/// `PS5 · PC`; titles without a known platform show nothing.
pub fn platforms_label(platforms: &[Platform]) -> String {
    platforms
        .iter()
        .map(|p| escape_markdown(p.label()))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// `4.6% · Ultra Rare`, from the rate and PSN's tier (the tier alone when the rate is unknown).
pub fn rarity_label(rate: Option<f64>, rarity: Option<Rarity>) -> String {
    let rarity = rarity.or_else(|| rate.map(Rarity::from_earned_rate));
    match (rate, rarity) {
        (Some(rate), Some(rarity)) => format!("{} · {}", format_rate(rate), rarity.label()),
        (Some(rate), None) => format_rate(rate),
        (None, Some(rarity)) => rarity.label().to_string(),
        (None, None) => "rarity unknown".to_string(),
    }
}

pub fn format_rate(rate: f64) -> String {
    format!("{rate:.1}%")
}

pub fn format_date(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// `1st`, `22nd`, `1,000th`: a place or a count written as an ordinal, thousands grouped.
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{}{suffix}", format_count(n))
}

/// `2,575,185`: the one way replies write counts and points, thousands grouped.
pub fn format_count(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bar_rounds_to_segments() {
        assert_eq!(progress_bar(0), "▱▱▱▱▱▱▱▱▱▱ 0%");
        assert_eq!(progress_bar(75), "▰▰▰▰▰▰▰▰▱▱ 75%");
        assert_eq!(progress_bar(100), "▰▰▰▰▰▰▰▰▰▰ 100%");
        assert_eq!(progress_bar(250), "▰▰▰▰▰▰▰▰▰▰ 100%");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(format_count(0u32), "0");
        assert_eq!(format_count(999u32), "999");
        assert_eq!(format_count(1000u32), "1,000");
        assert_eq!(format_count(2_575_185u32), "2,575,185");
        assert_eq!(format_count(u32::MAX), "4,294,967,295");
        assert_eq!(format_count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn rarity_falls_back_to_the_rate_tier() {
        assert_eq!(rarity_label(Some(4.6), None), "4.6% · Ultra Rare");
        assert_eq!(rarity_label(Some(47.1), Some(Rarity::Rare)), "47.1% · Rare");
        assert_eq!(rarity_label(None, None), "rarity unknown");
    }
}
