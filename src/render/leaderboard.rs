//! `/leaderboard`: the server's tracked accounts, already ranked (by the store, or by the
//! period's points).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{format_count, trophy_emoji, COLOR_PLATINUM};
use crate::model::reply::{limits, Embed, Reply};
use crate::model::{LeaderboardPeriod, LeaderboardRow};
use crate::render::markdown::escape_markdown;
use psn::TrophyType;

/// Rows shown at most; the rest are counted.
pub const LEADERBOARD_ROWS: usize = 25;
/// Room kept in the description for the "and N more" line.
const MORE_LINE_ROOM: usize = 64;
/// What a server without tracked accounts is told (`/leaderboard`, `/help`).
pub(super) const NOBODY_TRACKED: &str =
    "This server tracks no PSN accounts yet. Server admins can add some with `/track add`.";

/// A ranking's place: a medal for the first three, the number after.
pub(super) fn medal(rank: usize) -> String {
    match rank {
        1 => "🥇".to_string(),
        2 => "🥈".to_string(),
        3 => "🥉".to_string(),
        n => format!("**{n}.**"),
    }
}

/// `this week`, `this month`.
fn period_name(period: LeaderboardPeriod) -> &'static str {
    match period {
        LeaderboardPeriod::ThisWeek => "this week",
        LeaderboardPeriod::AllTime | LeaderboardPeriod::ThisMonth => "this month",
    }
}

fn row_line(rank: usize, row: &LeaderboardRow, period: LeaderboardPeriod) -> String {
    let name = escape_markdown(&row.online_id);
    let linked = row
        .verified_discord_user
        .map(|user| format!(" (<@{user}> ✓)"))
        .unwrap_or_default();
    let totals = match row.earned {
        Some(earned) => format!(
            "{} pts · {} {} · {} trophies",
            format_count(earned.points()),
            trophy_emoji(TrophyType::Platinum),
            format_count(earned.platinum),
            format_count(earned.total())
        ),
        None => "not checked yet".to_string(),
    };
    if period == LeaderboardPeriod::AllTime {
        return format!(
            "{} **{name}**{linked}\n{totals} · {} this month",
            medal(rank),
            format_count(row.period.total())
        );
    }
    let all_time = row
        .points()
        .map(|points| format!(" · {} pts in all", format_count(points)))
        .unwrap_or_default();
    format!(
        "{} **{name}**{linked}\n{} pts {} · {} {} · {} {}{all_time}",
        medal(rank),
        format_count(row.period.points()),
        period_name(period),
        trophy_emoji(TrophyType::Platinum),
        format_count(row.period.platinum),
        format_count(row.period.total()),
        if row.period.total() == 1 {
            "trophy"
        } else {
            "trophies"
        },
    )
}

/// `rows` are ranked: by all-time points (then platinums, then the month's trophies), or by the
/// period's points (then its platinums and trophies). `since` is where the period (the month
/// for all time) starts, in `time_zone`.
pub fn leaderboard(
    rows: &[LeaderboardRow],
    period: LeaderboardPeriod,
    since: DateTime<Utc>,
    time_zone: Tz,
) -> Reply {
    let title = match period {
        LeaderboardPeriod::AllTime => "🏆 Trophy leaderboard",
        LeaderboardPeriod::ThisMonth => "🏆 Trophy leaderboard: this month",
        LeaderboardPeriod::ThisWeek => "🏆 Trophy leaderboard: this week",
    };
    let mut embed = Embed::new().title(title).color(COLOR_PLATINUM);
    if rows.is_empty() {
        embed = embed.description(NOBODY_TRACKED);
    } else {
        let mut description = String::new();
        let budget = limits::DESCRIPTION - MORE_LINE_ROOM;
        for (index, row) in rows.iter().enumerate() {
            let line = row_line(index + 1, row, period);
            if index == LEADERBOARD_ROWS || description.len() + 2 + line.len() > budget {
                description.push_str(&format!(
                    "\n\n…and {} more.",
                    format_count((rows.len() - index) as u64)
                ));
                break;
            }
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&line);
        }
        embed = embed.description(description);
    }
    let since = format!(
        "since {} 00:00, {}",
        since.with_timezone(&time_zone).format("%Y-%m-%d"),
        time_zone.name()
    );
    let ranking = match period {
        LeaderboardPeriod::AllTime => format!(
            "Ranked by trophy points, then platinums, then trophies earned this month ({since})."
        ),
        LeaderboardPeriod::ThisMonth | LeaderboardPeriod::ThisWeek => format!(
            "Ranked by trophy points earned {} ({since}; bronze 15, silver 30, gold 90, \
             platinum 300), then platinums, then trophies.",
            period_name(period)
        ),
    };
    Reply::embed(embed.footer(format!(
        "{ranking} ✓ marks a verified /link. Other periods: /leaderboard period"
    )))
}
