//! Milestone posts: a player's Nth platinum, a new trophy level tier, a game completed to 100 %,
//! the rarest trophy they have ever earned.
//! One short embed each, in the announcement channel: a celebration, not a report.

use psn::TrophyType;

use super::{counts_line, format_count, format_rate, title_name, trophy_emoji, COLOR_PLATINUM};
use crate::model::reply::{truncate, Embed, Reply};
use crate::model::{Milestone, MilestoneGame, MilestoneKind};
use crate::render::markdown::escape_markdown;

/// The gold of a milestone post (a completed game, a new tier).
pub const COLOR_MILESTONE: u32 = 0xE6B422;
const PLAYER_MAX: usize = 40;
const TROPHY_MAX: usize = 200;

/// The trophy colour PSN gives a level tier: bronze 1–3, silver 4–6, gold 7–9, platinum 10.
fn tier_kind(tier: u32) -> TrophyType {
    match tier {
        0..=3 => TrophyType::Bronze,
        4..=6 => TrophyType::Silver,
        7..=9 => TrophyType::Gold,
        _ => TrophyType::Platinum,
    }
}

fn game_label(game: &MilestoneGame) -> String {
    title_name(&game.name, &game.platforms)
}

/// The post for one milestone (no mentions: the player's name is text).
pub fn milestone(milestone: &Milestone) -> Reply {
    let plain = truncate(&milestone.online_id, PLAYER_MAX);
    let player = escape_markdown(&plain);
    let embed = match &milestone.kind {
        MilestoneKind::Platinum { count, game } => {
            let nth = super::ordinal(*count);
            let description = match game {
                Some(game) => format!(
                    "🎉 **{player}** just earned their **{nth} platinum**, with **{}**!",
                    game_label(game)
                ),
                None => format!("🎉 **{player}** just earned their **{nth} platinum**!"),
            };
            let first = if *count == 1 {
                "The first of many, we hope."
            } else {
                "A trophy hunter's milestone."
            };
            Embed::new()
                .author(format!("{plain} reached a milestone"))
                .title(format!("🏆 {nth} platinum!"))
                .description(format!("{description}\n{first}"))
                .thumbnail(game.as_ref().and_then(|g| g.icon_url.clone()))
                .color(COLOR_PLATINUM)
        }
        MilestoneKind::Level { level, tier } => Embed::new()
            .author(format!("{plain} reached a milestone"))
            .title(format!("⭐ Trophy level {}!", format_count(*level)))
            .description(format!(
                "🎉 **{player}** reached trophy level **{}**: a new tier, {} tier {tier} of 10.",
                format_count(*level),
                trophy_emoji(tier_kind(*tier)),
            ))
            .color(COLOR_MILESTONE),
        MilestoneKind::Completion { game, trophies } => Embed::new()
            .author(format!("{plain} reached a milestone"))
            .title("💯 Game completed!")
            .description(format!(
                "🎉 **{player}** earned every trophy of **{}**, DLC included.",
                game_label(game)
            ))
            .field(
                format!("{} trophies", format_count(trophies.total())),
                counts_line(trophies),
                false,
            )
            .thumbnail(game.icon_url.clone())
            .color(COLOR_MILESTONE),
        MilestoneKind::Rarest {
            game,
            trophy_name,
            kind,
            earned_rate,
            previous_rate,
            ..
        } => Embed::new()
            .author(format!("{plain} reached a milestone"))
            .title("💎 Their rarest trophy ever!")
            .description(format!(
                "🎉 **{player}** just earned the rarest trophy they have ever earned: {} **{}** \
                 in **{}**.",
                trophy_emoji(*kind),
                escape_markdown(&truncate(trophy_name, TROPHY_MAX)),
                game_label(game)
            ))
            .field(
                "Earned by",
                format!(
                    "{} of players on PSN (their rarest before: {})",
                    format_rate(*earned_rate),
                    format_rate(*previous_rate)
                ),
                false,
            )
            .thumbnail(game.icon_url.clone())
            .color(COLOR_PLATINUM),
    };
    let embed = match milestone.reached_at {
        Some(at) => embed.timestamp(at),
        None => embed,
    };
    Reply::new(None, vec![embed], Vec::new(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_read_as_english() {
        let cases = [
            (1, "1st"),
            (2, "2nd"),
            (3, "3rd"),
            (4, "4th"),
            (10, "10th"),
            (11, "11th"),
            (12, "12th"),
            (13, "13th"),
            (21, "21st"),
            (25, "25th"),
            (100, "100th"),
            (101, "101st"),
            (111, "111th"),
            (1000, "1,000th"),
        ];
        for (n, text) in cases {
            assert_eq!(super::super::ordinal(n), text);
        }
    }

    #[test]
    fn tiers_take_psn_colours() {
        assert_eq!(tier_kind(1), TrophyType::Bronze);
        assert_eq!(tier_kind(4), TrophyType::Silver);
        assert_eq!(tier_kind(9), TrophyType::Gold);
        assert_eq!(tier_kind(10), TrophyType::Platinum);
    }
}
