//! `/leaderboard`: the server's tracked accounts, already ranked by the store.

use chrono::{DateTime, Utc};

use super::{format_count, format_date, trophy_emoji, COLOR_PLATINUM};
use crate::model::reply::{limits, Embed, Reply};
use crate::model::LeaderboardRow;
use crate::render::markdown::escape_markdown;
use psn::TrophyType;

/// Rows shown at most; the rest are counted.
pub const LEADERBOARD_ROWS: usize = 25;
/// Room kept in the description for the "and N more" line.
const MORE_LINE_ROOM: usize = 64;
/// What a server without tracked accounts is told (`/leaderboard`, `/help`).
pub(super) const NOBODY_TRACKED: &str =
    "This server tracks no PSN accounts yet. Server admins can add some with `/track add`.";

fn medal(rank: usize) -> String {
    match rank {
        1 => "🥇".to_string(),
        2 => "🥈".to_string(),
        3 => "🥉".to_string(),
        n => format!("**{n}.**"),
    }
}

fn row_line(rank: usize, row: &LeaderboardRow) -> String {
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
    format!(
        "{} **{name}**{linked}\n{totals} · {} this month",
        medal(rank),
        format_count(row.this_month)
    )
}

/// `rows` are ranked (points, platinums, this month's trophies); `month_start` names the month.
pub fn leaderboard(rows: &[LeaderboardRow], month_start: DateTime<Utc>) -> Reply {
    let mut embed = Embed::new()
        .title("🏆 Trophy leaderboard")
        .color(COLOR_PLATINUM);
    if rows.is_empty() {
        embed = embed.description(NOBODY_TRACKED);
    } else {
        let mut description = String::new();
        let budget = limits::DESCRIPTION - MORE_LINE_ROOM;
        for (index, row) in rows.iter().enumerate() {
            let line = row_line(index + 1, row);
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
    Reply::embed(embed.footer(format!(
        "Ranked by trophy points, then platinums, then trophies earned this month (since {}). \
         ✓ marks a verified /link.",
        format_date(month_start)
    )))
}
