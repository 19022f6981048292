//! Image cards: a platinum card for an announcement, a profile card for `/trophies` and a compare
//! card for `/compare`, drawn in-process as PNG. A [`CardSpec`] is plain data (what the card
//! says, and the URLs of its pictures); [`draw::render`] is pure and needs the pictures already
//! fetched ([`icons`]); [`maker::CardMaker`] does both, fetching on the runtime and drawing off it.

pub mod draw;
pub mod icons;
pub mod maker;
pub mod text;

use serde::{Deserialize, Serialize};

pub use draw::{render, Png, RenderError};
pub use icons::{IconFetcher, Icons};
pub use maker::CardMaker;

/// The file name every card is attached under; an embed shows it as
/// `attachment://card.png`.
pub const FILENAME: &str = "card.png";

/// What one card shows. Stored with an announcement in the outbox (never the PNG itself), so
/// the deliverer can draw it just before posting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CardSpec {
    Platinum(PlatinumCard),
    Profile(ProfileCard),
    Compare(CompareCard),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatinumCard {
    pub player: String,
    pub game: String,
    pub trophy: String,
    /// `2026-11-29`, or `None` when PSN gave no date.
    pub earned_on: Option<String>,
    /// `4.6% · Ultra Rare`
    pub rarity: String,
    /// The player's platinum count with this one, when known.
    pub nth: Option<u32>,
    pub art_url: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardCounts {
    pub platinum: u32,
    pub gold: u32,
    pub silver: u32,
    pub bronze: u32,
}

impl From<psn::TrophyCounts> for CardCounts {
    fn from(counts: psn::TrophyCounts) -> CardCounts {
        use psn::TrophyType::*;
        CardCounts {
            platinum: counts.get(Platinum),
            gold: counts.get(Gold),
            silver: counts.get(Silver),
            bronze: counts.get(Bronze),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardTitle {
    pub name: String,
    /// 0–100
    pub progress: u32,
    pub icon_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileCard {
    pub player: String,
    pub level: Option<u32>,
    pub level_progress: Option<u32>,
    pub counts: CardCounts,
    pub points: u64,
    /// Most recent first; the card shows the first few.
    pub recent: Vec<CardTitle>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareFigures {
    pub player: String,
    pub level: Option<u32>,
    pub counts: CardCounts,
    pub points: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareCard {
    pub a: CompareFigures,
    pub b: CompareFigures,
    /// Titles both have played, among those read.
    pub shared_titles: u32,
}

impl CardSpec {
    /// The pictures the card shows, to fetch before drawing.
    pub fn icon_urls(&self) -> Vec<&str> {
        match self {
            CardSpec::Platinum(card) => card.art_url.as_deref().into_iter().collect(),
            CardSpec::Profile(card) => card
                .recent
                .iter()
                .take(draw::PROFILE_TITLES)
                .filter_map(|t| t.icon_url.as_deref())
                .collect(),
            CardSpec::Compare(_) => Vec::new(),
        }
    }
}

/// The profile card of `/trophies`: what [`crate::render::profile`] shows, drawn.
pub fn profile_card(
    account: &psn::Account,
    summary: Option<&psn::TrophySummary>,
    recent: &[psn::TitleProgress],
) -> CardSpec {
    let earned = summary.map_or_else(|| crate::render::earned_in(recent), |s| s.earned);
    CardSpec::Profile(ProfileCard {
        player: account.online_id.clone(),
        level: summary.and_then(|s| s.level),
        level_progress: summary.and_then(|s| s.level_progress),
        counts: earned.into(),
        points: u64::from(earned.points()),
        recent: recent
            .iter()
            .take(draw::PROFILE_TITLES)
            .map(|t| CardTitle {
                name: t.name.clone(),
                progress: t.progress,
                icon_url: t.icon_url.clone(),
            })
            .collect(),
    })
}

/// The compare card of `/compare` without a game.
pub fn compare_card(a: &crate::render::CompareSide, b: &crate::render::CompareSide) -> CardSpec {
    let figures = |side: &crate::render::CompareSide| {
        let earned = side.earned();
        CompareFigures {
            player: side.account.online_id.clone(),
            level: side.summary.as_ref().and_then(|s| s.level),
            counts: earned.into(),
            points: u64::from(earned.points()),
        }
    };
    let theirs: std::collections::HashSet<&str> = b
        .recent
        .iter()
        .map(|t| t.np_communication_id.as_str())
        .collect();
    let shared = a
        .recent
        .iter()
        .filter(|t| theirs.contains(t.np_communication_id.as_str()))
        .count();
    CardSpec::Compare(CompareCard {
        a: figures(a),
        b: figures(b),
        shared_titles: u32::try_from(shared).unwrap_or(u32::MAX),
    })
}

/// The platinum card of an announcement: `nth` is the player's platinum count with this one.
pub fn platinum_card(
    player: &str,
    title: &crate::model::TitleEarnings,
    platinum: &psn::UserTrophy,
    nth: Option<u32>,
) -> CardSpec {
    CardSpec::Platinum(PlatinumCard {
        player: player.to_string(),
        game: title.title_name.clone(),
        trophy: platinum.definition.name.clone(),
        earned_on: platinum.earned_at.map(crate::render::format_date),
        rarity: crate::render::rarity_label(platinum.earned_rate, platinum.rarity),
        nth,
        art_url: title
            .title_icon_url
            .clone()
            .or_else(|| platinum.definition.icon_url.clone()),
    })
}
