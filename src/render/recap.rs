//! The weekly recap: one embed with the week's leaderboard, its platinums, its rarest trophy and
//! its server firsts. Sized to stay well inside Discord's limits whatever the names: at most
//! [`RECAP_PLAYERS`] players, [`RECAP_PLATINUMS`] platinums and [`RECAP_FIRSTS`] firsts are
//! listed, the rest counted.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::leaderboard::medal;
use super::{format_count, format_rate, trophy_emoji, COLOR_PLATINUM};
use crate::model::recap::{RecapFirst, RecapPlatinum, RecapPlayer, WeeklyRecap};
use crate::model::reply::{limits, truncate, Embed, Reply};
use crate::render::markdown::escape_markdown;
use psn::TrophyType;

/// Players ranked in the recap at most.
pub const RECAP_PLAYERS: usize = 10;
/// Platinums listed at most.
pub const RECAP_PLATINUMS: usize = 10;
/// Server firsts listed at most (the rarest); the rest are counted.
pub const RECAP_FIRSTS: usize = 5;
/// Characters of a game or trophy name kept (before escaping).
const NAME_CHARS: usize = 60;

fn name(text: &str) -> String {
    escape_markdown(&truncate(text, NAME_CHARS))
}

/// `Mon 23 Nov 09:00`, in the server's zone.
fn local(at: DateTime<Utc>, zone: Tz) -> String {
    at.with_timezone(&zone)
        .format("%a %-d %b %H:%M")
        .to_string()
}

/// Only the grades earned: `🏆 1 · 🥉 12`.
fn grades(player: &RecapPlayer) -> String {
    [
        TrophyType::Platinum,
        TrophyType::Gold,
        TrophyType::Silver,
        TrophyType::Bronze,
    ]
    .into_iter()
    .filter(|kind| player.earned.get(*kind) > 0)
    .map(|kind| {
        format!(
            "{} {}",
            trophy_emoji(kind),
            format_count(player.earned.get(kind))
        )
    })
    .collect::<Vec<_>>()
    .join(" · ")
}

fn player_line(rank: usize, player: &RecapPlayer) -> String {
    format!(
        "{} **{}** · {} pts · {}",
        medal(rank),
        escape_markdown(&player.online_id),
        format_count(player.earned.points()),
        grades(player)
    )
}

fn platinum_line(platinum: &RecapPlatinum, zone: Tz) -> String {
    format!(
        "{} **{}** · {} · {}",
        trophy_emoji(TrophyType::Platinum),
        escape_markdown(&platinum.online_id),
        name(&platinum.title_name),
        platinum.earned_at.with_timezone(&zone).format("%a %-d %b")
    )
}

fn first_line(first: &RecapFirst, zone: Tz) -> String {
    let trophy = first.trophy_name.as_deref().map_or_else(
        || "A trophy".to_string(),
        |trophy| format!("**{}**", name(trophy)),
    );
    format!(
        "{} {trophy} in {} · **{}** · {}",
        trophy_emoji(first.kind),
        name(&first.title_name),
        escape_markdown(&first.online_id),
        first.earned_at.with_timezone(&zone).format("%a %-d %b")
    )
}

/// Joins `lines` within `limit` characters, ending with "…and N more." for what is left out
/// (past `max` lines or the limit).
fn listed(lines: Vec<String>, max: usize, limit: usize) -> String {
    const MORE_ROOM: usize = 32;
    let mut out = String::new();
    let total = lines.len();
    for (index, line) in lines.into_iter().enumerate() {
        let fits = out.chars().count() + 1 + line.chars().count() <= limit - MORE_ROOM;
        if index == max || !fits {
            out.push_str(&format!(
                "\n…and {} more.",
                format_count((total - index) as u64)
            ));
            break;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

/// The recap's message, posted in the server's announcement channel. Nothing in it pings.
pub fn weekly_recap(recap: &WeeklyRecap) -> Reply {
    let zone = recap.time_zone;
    let total = recap
        .players
        .iter()
        .map(|player| player.earned.total())
        .sum::<u32>();
    let points = recap
        .players
        .iter()
        .map(|player| player.earned.points())
        .sum::<u32>();
    let summary = format!(
        "{} {} · {} points · {} {} · {} {}",
        format_count(total),
        if total == 1 { "trophy" } else { "trophies" },
        format_count(points),
        format_count(recap.players.len() as u64),
        if recap.players.len() == 1 {
            "player"
        } else {
            "players"
        },
        format_count(recap.platinums.len() as u64),
        if recap.platinums.len() == 1 {
            "platinum"
        } else {
            "platinums"
        },
    );
    let board = recap
        .players
        .iter()
        .enumerate()
        .map(|(index, player)| player_line(index + 1, player))
        .collect();
    let mut embed = Embed::new()
        .title("📅 Weekly trophy recap")
        .color(COLOR_PLATINUM)
        .description(format!(
            "{summary}\n\n{}",
            listed(board, RECAP_PLAYERS, limits::DESCRIPTION - 200)
        ));
    if !recap.platinums.is_empty() {
        let lines = recap
            .platinums
            .iter()
            .map(|platinum| platinum_line(platinum, zone))
            .collect();
        embed = embed.field(
            "Platinums",
            listed(lines, RECAP_PLATINUMS, limits::FIELD_VALUE),
            false,
        );
    }
    if let Some(rarest) = &recap.rarest {
        let trophy = rarest.trophy_name.as_deref().map_or_else(
            || "A trophy".to_string(),
            |trophy| format!("**{}**", name(trophy)),
        );
        embed = embed.field(
            "Rarest trophy of the week",
            format!(
                "{} {trophy} in {} · earned by {} of players on PSN\nby **{}**",
                trophy_emoji(rarest.kind),
                name(&rarest.title_name),
                format_rate(rarest.earned_rate),
                escape_markdown(&rarest.online_id)
            ),
            false,
        );
    }
    if !recap.firsts.is_empty() {
        let lines = recap
            .firsts
            .iter()
            .map(|first| first_line(first, zone))
            .collect();
        embed = embed.field(
            "Server firsts",
            listed(lines, RECAP_FIRSTS, limits::FIELD_VALUE),
            false,
        );
    }
    Reply::embed(embed.footer(format!(
        "{} – {} ({}). Points as PSN counts them: bronze 15, silver 30, gold 90, platinum 300. \
         Admins change it with /settings recap, recap_day, recap_hour and time_zone",
        local(recap.week.start, zone),
        local(recap.week.end, zone),
        zone.name()
    )))
}
