//! `/trophy`: who in this server has a trophy, first earner first, with the date each earned
//! it. Names are escaped and never ping (replies allow no mentions).

use super::markdown::escape_markdown;
use super::{format_count, format_date, ordinal, rarity_label, title_name, trophy_emoji};
use super::{COLOR_INFO, COLOR_PLATINUM, HIDDEN_DETAIL, HIDDEN_NAME};
use crate::model::reply::{truncate, Embed, Reply};
use crate::model::TrophyHolders;

/// Earners listed by name; the rest are counted ("and 12 more"). Twenty short lines stay far
/// within an embed's description.
pub const HOLDERS_NAMED: usize = 20;
const PLAYER_MAX: usize = 40;
const DETAIL_MAX: usize = 300;

/// The reply to `/trophy`.
pub fn trophy_holders(holders: &TrophyHolders) -> Reply {
    let trophy = &holders.trophy;
    let (name, detail) = if holders.masked {
        (HIDDEN_NAME.to_string(), HIDDEN_DETAIL.to_string())
    } else {
        (
            escape_markdown(&truncate(&trophy.name, 200)),
            escape_markdown(&truncate(&trophy.detail, DETAIL_MAX)),
        )
    };
    let mut lines = Vec::new();
    if !detail.trim().is_empty() {
        lines.push(format!("*{}*", detail.trim()));
        lines.push(String::new());
    }
    if holders.earners.is_empty() {
        lines.push("Nobody in this server has earned it yet.".to_string());
    }
    for (index, earner) in holders.earners.iter().take(HOLDERS_NAMED).enumerate() {
        let player = escape_markdown(&truncate(&earner.online_id, PLAYER_MAX));
        let when = earner
            .earned_at
            .map_or_else(|| "date unknown".to_string(), format_date);
        let place = u32::try_from(index + 1).unwrap_or(u32::MAX);
        lines.push(format!("{} **{player}** · {when}", ordinal(place)));
    }
    let more = holders.earners.len().saturating_sub(HOLDERS_NAMED);
    if more > 0 {
        lines.push(format!("… and {} more", format_count(more as u64)));
    }
    let owners = holders.owners;
    let mut standing = format!(
        "{} of the {} {} here who own the game",
        format_count(holders.earners.len() as u64),
        format_count(owners),
        if owners == 1 { "player" } else { "players" },
    );
    if !holders.complete {
        standing.push_str(", among players checked so far");
    }
    let icon = if holders.masked {
        holders.game_icon_url.clone()
    } else {
        trophy
            .icon_url
            .clone()
            .or_else(|| holders.game_icon_url.clone())
    };
    let color = match trophy.kind {
        psn::TrophyType::Platinum => COLOR_PLATINUM,
        _ => COLOR_INFO,
    };
    let embed = Embed::new()
        .author(truncate(&holders.game_name, 200))
        .title(format!("{} {name}", trophy_emoji(trophy.kind)))
        .description(lines.join("\n"))
        .field("Earned by", standing, false)
        .field(
            "Rarity",
            rarity_label(holders.earned_rate, holders.rarity),
            true,
        )
        .field(
            "Game",
            title_name(&holders.game_name, &holders.platforms),
            true,
        )
        .thumbnail(icon)
        .footer("Tracked players of this server with a public trophy list; dates are PSN's")
        .color(color);
    Reply::embed(embed)
}
