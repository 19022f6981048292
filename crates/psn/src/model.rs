//! The client's model: what both APIs (modern and legacy) are parsed into.
//! Everything above the client (commands, render, tracker) sees only these types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A trophy's grade. Ordered from the most to the least valuable, so sorting puts platinum first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrophyType {
    Platinum,
    Gold,
    Silver,
    Bronze,
}

impl TrophyType {
    /// PSN's trophy points per grade (as counted for the trophy level since 2023).
    pub fn points(self) -> u32 {
        match self {
            TrophyType::Bronze => 15,
            TrophyType::Silver => 30,
            TrophyType::Gold => 90,
            TrophyType::Platinum => 300,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TrophyType::Platinum => "platinum",
            TrophyType::Gold => "gold",
            TrophyType::Silver => "silver",
            TrophyType::Bronze => "bronze",
        }
    }
}

/// Trophy counts by grade, as PSN's `definedTrophies` / `earnedTrophies`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrophyCounts {
    pub bronze: u32,
    pub silver: u32,
    pub gold: u32,
    pub platinum: u32,
}

impl TrophyCounts {
    pub fn total(&self) -> u32 {
        self.bronze + self.silver + self.gold + self.platinum
    }

    pub fn get(&self, kind: TrophyType) -> u32 {
        match kind {
            TrophyType::Bronze => self.bronze,
            TrophyType::Silver => self.silver,
            TrophyType::Gold => self.gold,
            TrophyType::Platinum => self.platinum,
        }
    }

    pub fn add(&mut self, kind: TrophyType, n: u32) {
        match kind {
            TrophyType::Bronze => self.bronze += n,
            TrophyType::Silver => self.silver += n,
            TrophyType::Gold => self.gold += n,
            TrophyType::Platinum => self.platinum += n,
        }
    }

    /// These counts and `other`'s together.
    pub fn plus(self, other: TrophyCounts) -> TrophyCounts {
        TrophyCounts {
            bronze: self.bronze + other.bronze,
            silver: self.silver + other.silver,
            gold: self.gold + other.gold,
            platinum: self.platinum + other.platinum,
        }
    }

    pub fn points(&self) -> u32 {
        [
            TrophyType::Platinum,
            TrophyType::Gold,
            TrophyType::Silver,
            TrophyType::Bronze,
        ]
        .into_iter()
        .map(|k| self.get(k) * k.points())
        .sum()
    }
}

impl std::iter::Sum for TrophyCounts {
    fn sum<I: Iterator<Item = TrophyCounts>>(iter: I) -> TrophyCounts {
        iter.fold(TrophyCounts::default(), TrophyCounts::plus)
    }
}

/// PSN's rarity tier (`trophyRare`): 0 ultra rare … 3 common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rarity {
    UltraRare,
    VeryRare,
    Rare,
    Common,
}

impl Rarity {
    /// PSN's numeric `trophyRare` for the tier (the inverse of [`Rarity::from_code`]).
    pub fn code(self) -> i16 {
        match self {
            Rarity::UltraRare => 0,
            Rarity::VeryRare => 1,
            Rarity::Rare => 2,
            Rarity::Common => 3,
        }
    }

    /// The tier for PSN's numeric `trophyRare`; unknown values give `None`, never an error.
    pub fn from_code(code: i64) -> Option<Rarity> {
        match code {
            0 => Some(Rarity::UltraRare),
            1 => Some(Rarity::VeryRare),
            2 => Some(Rarity::Rare),
            3 => Some(Rarity::Common),
            _ => None,
        }
    }

    /// The tier PSN would give an earned rate (per cent). The legacy API has no tier, so it is
    /// derived with the thresholds the modern API's `trophyRare` follows in the recordings:
    /// ≤ 5 % ultra rare, ≤ 15 % very rare, ≤ 50 % rare, above that common.
    pub fn from_earned_rate(rate: f64) -> Rarity {
        if rate <= 5.0 {
            Rarity::UltraRare
        } else if rate <= 15.0 {
            Rarity::VeryRare
        } else if rate <= 50.0 {
            Rarity::Rare
        } else {
            Rarity::Common
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Rarity::UltraRare => "Ultra Rare",
            Rarity::VeryRare => "Very Rare",
            Rarity::Rare => "Rare",
            Rarity::Common => "Common",
        }
    }
}

/// Which trophy service a title belongs to: `trophy` (PS3, PS4, Vita) or `trophy2` (PS5, PC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NpService {
    Trophy,
    Trophy2,
}

impl NpService {
    pub fn as_str(self) -> &'static str {
        match self {
            NpService::Trophy => "trophy",
            NpService::Trophy2 => "trophy2",
        }
    }

    pub fn parse(s: &str) -> Option<NpService> {
        match s {
            "trophy" => Some(NpService::Trophy),
            "trophy2" => Some(NpService::Trophy2),
            _ => None,
        }
    }
}

/// A platform as PSN names it. Titles may list several (`"PS5,PSPC"`); unknown names are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Platform {
    Ps3,
    Ps4,
    Ps5,
    Vita,
    Pc,
    Other(String),
}

impl Platform {
    /// Parses PSN's comma-separated platform list; never fails.
    pub fn parse_list(s: &str) -> Vec<Platform> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.to_ascii_uppercase().as_str() {
                "PS3" => Platform::Ps3,
                "PS4" => Platform::Ps4,
                "PS5" => Platform::Ps5,
                "PSVITA" | "VITA" => Platform::Vita,
                "PSPC" | "PC" => Platform::Pc,
                _ => Platform::Other(p.to_string()),
            })
            .collect()
    }

    pub fn label(&self) -> &str {
        match self {
            Platform::Ps3 => "PS3",
            Platform::Ps4 => "PS4",
            Platform::Ps5 => "PS5",
            Platform::Vita => "PS Vita",
            Platform::Pc => "PC",
            Platform::Other(s) => s,
        }
    }
}

/// A PSN account: its stable account ID and the online ID it goes by now.
///
/// The legacy API names users by online ID only and has no account IDs: there `online_id` is the
/// ID as asked (a renamed user's former ID is not replaced), and `account_id` is that ID
/// lower-cased (PSN online IDs ignore case), a key for the client's caches, never sent to PSN.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub online_id: String,
}

/// A user's public profile as PSN shows it now (`Client::profile`; never cached, so a check of
/// the "About me" text sees what the player just saved).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The account, with the online ID PSN shows now (after a rename, the new one).
    pub account: Account,
    /// The player's "About me" text; `None` when it is empty.
    pub about_me: Option<String>,
}

/// A user's trophy profile (modern `trophySummary`; the legacy API derives it from the titles).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrophySummary {
    pub account: Account,
    /// Trophy level; `None` where the API does not tell it (legacy).
    pub level: Option<u32>,
    /// Progress to the next level, per cent.
    pub level_progress: Option<u32>,
    pub tier: Option<u32>,
    pub earned: TrophyCounts,
}

/// One title in a user's trophy list, with the user's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleProgress {
    pub np_communication_id: String,
    /// `None` only on the legacy API, which does not say.
    pub service: Option<NpService>,
    pub name: String,
    pub detail: Option<String>,
    pub icon_url: Option<String>,
    pub platforms: Vec<Platform>,
    pub has_groups: bool,
    pub defined: TrophyCounts,
    pub earned: TrophyCounts,
    /// Per cent of the title's trophies earned.
    pub progress: u32,
    pub hidden: bool,
    pub last_updated: Option<DateTime<Utc>>,
}

/// One page of a user's titles, most recently updated first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitlePage {
    pub titles: Vec<TitleProgress>,
    pub total: u32,
    pub next_offset: Option<u32>,
}

/// What a title is, independent of any user: shared by all users and cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleDefinition {
    pub np_communication_id: String,
    pub service: Option<NpService>,
    pub name: String,
    pub detail: Option<String>,
    pub icon_url: Option<String>,
    pub platforms: Vec<Platform>,
    pub defined: TrophyCounts,
    pub groups: Vec<GroupDefinition>,
    pub trophies: Vec<TrophyDefinition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDefinition {
    /// `default`, then `001`, `002` … for add-ons.
    pub id: String,
    pub name: String,
    pub detail: Option<String>,
    pub icon_url: Option<String>,
    pub defined: TrophyCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrophyDefinition {
    pub id: u32,
    pub group_id: String,
    /// A secret trophy: its name and detail are spoilers until earned (the modern API sends them
    /// anyway, so the renderer masks them).
    pub hidden: bool,
    pub kind: TrophyType,
    pub name: String,
    pub detail: String,
    pub icon_url: Option<String>,
}

/// One user's state of one trophy, as the user-level trophies endpoint tells it (no names: those
/// come from the cached definitions, so ranking across many titles needs no definition requests).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarnedTrophy {
    pub id: u32,
    pub kind: TrophyType,
    pub hidden: bool,
    pub earned: bool,
    /// Absent for some trophies earned offline (PS3, Vita) even when `earned`.
    pub earned_at: Option<DateTime<Utc>>,
    /// Per cent of players who earned it.
    pub earned_rate: Option<f64>,
    pub rarity: Option<Rarity>,
}

/// How many players earned each trophy of a title, as PSN last told it with someone's earned
/// state (the same for every player: a store keeps it so rankings need no request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TitleRates {
    pub np_communication_id: String,
    pub trophies: Vec<TrophyRate>,
}

/// One trophy's grade and earned rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrophyRate {
    pub id: u32,
    pub kind: TrophyType,
    /// Per cent of players who earned it.
    pub earned_rate: Option<f64>,
    pub rarity: Option<Rarity>,
}

impl TitleRates {
    /// The rates an earned state carries.
    pub fn of(np_communication_id: &str, earned: &[EarnedTrophy]) -> TitleRates {
        TitleRates {
            np_communication_id: np_communication_id.to_string(),
            trophies: earned
                .iter()
                .map(|t| TrophyRate {
                    id: t.id,
                    kind: t.kind,
                    earned_rate: t.earned_rate,
                    rarity: t.rarity,
                })
                .collect(),
        }
    }
}

/// What the client fetched from PSN that a store keeps, since the last
/// [`crate::Client::take_fetched`]: title definitions with their language, and earned rates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    pub titles: Vec<(String, TitleDefinition)>,
    pub rates: Vec<TitleRates>,
}

impl Fetched {
    pub fn is_empty(&self) -> bool {
        self.titles.is_empty() && self.rates.is_empty()
    }
}

/// A title's trophies with one user's earned state, definitions joined in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTitleTrophies {
    pub account: Account,
    pub title: TitleDefinition,
    pub trophies: Vec<UserTrophy>,
    pub last_updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserTrophy {
    pub definition: TrophyDefinition,
    pub earned: bool,
    pub earned_at: Option<DateTime<Utc>>,
    pub earned_rate: Option<f64>,
    pub rarity: Option<Rarity>,
}

impl UserTitleTrophies {
    pub fn earned_counts(&self) -> TrophyCounts {
        let mut counts = TrophyCounts::default();
        for t in self.trophies.iter().filter(|t| t.earned) {
            counts.add(t.definition.kind, 1);
        }
        counts
    }
}

/// What presence tells of one account (`basicPresences`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub account_id: String,
    pub online: bool,
    pub platform: Option<String>,
    /// The games being played now, by npTitleId (CUSA…/PPSA…), not npCommunicationId.
    pub playing: Vec<PlayingTitle>,
    pub last_online: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayingTitle {
    pub np_title_id: String,
    pub name: String,
}
