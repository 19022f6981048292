//! What the tracker, the store, the announcement renderer and the commands share: the
//! announcement filter, a tracked account, and a batch of newly earned trophies.

use chrono::{DateTime, Utc};
use psn::{Platform, TrophyCounts, TrophyType, UserTrophy};

/// Which trophies a guild wants announced (`/settings filter`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AnnounceFilter {
    All,
    /// Gold and platinum.
    GoldAndUp,
    PlatinumOnly,
    /// Trophies earned by fewer than this percentage of players (0 < p ≤ 100).
    RarerThan(f32),
}

impl AnnounceFilter {
    /// Whether a trophy of `kind`, earned by `earned_rate` % of players, is announced. A trophy
    /// whose rate PSN did not give passes a rarity filter only when it is a platinum.
    pub fn passes(&self, kind: TrophyType, earned_rate: Option<f64>) -> bool {
        match self {
            AnnounceFilter::All => true,
            AnnounceFilter::GoldAndUp => matches!(kind, TrophyType::Gold | TrophyType::Platinum),
            AnnounceFilter::PlatinumOnly => kind == TrophyType::Platinum,
            AnnounceFilter::RarerThan(percent) => match earned_rate {
                Some(rate) => rate < f64::from(*percent),
                None => kind == TrophyType::Platinum,
            },
        }
    }

    /// The stored form: `guild_settings.filter_kind` and `rare_threshold`.
    pub fn to_db(&self) -> (&'static str, Option<f32>) {
        match self {
            AnnounceFilter::All => ("all", None),
            AnnounceFilter::GoldAndUp => ("gold", None),
            AnnounceFilter::PlatinumOnly => ("platinum", None),
            AnnounceFilter::RarerThan(percent) => ("rare", Some(*percent)),
        }
    }

    /// Reads the stored form back; an unknown kind (a newer version's) means all trophies.
    pub fn from_db(kind: &str, threshold: Option<f32>) -> AnnounceFilter {
        match (kind, threshold) {
            ("gold", _) => AnnounceFilter::GoldAndUp,
            ("platinum", _) => AnnounceFilter::PlatinumOnly,
            ("rare", Some(percent)) => AnnounceFilter::RarerThan(percent),
            _ => AnnounceFilter::All,
        }
    }

    /// For replies: `all trophies`, `gold and platinum`, `platinum only`, `rarer than 5%`.
    pub fn describe(&self) -> String {
        match self {
            AnnounceFilter::All => "all trophies".to_string(),
            AnnounceFilter::GoldAndUp => "gold and platinum".to_string(),
            AnnounceFilter::PlatinumOnly => "platinum only".to_string(),
            AnnounceFilter::RarerThan(percent) => format!("rarer than {percent}%"),
        }
    }
}

/// The `filter` option's choices: an [`AnnounceFilter`] before `rare_percent` is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterKind {
    All,
    GoldAndUp,
    PlatinumOnly,
    /// Rarer than `rare_percent`.
    RarerThan,
}

impl FilterKind {
    /// Every choice, in the order Discord lists them.
    pub const ALL: [FilterKind; 4] = [
        FilterKind::All,
        FilterKind::GoldAndUp,
        FilterKind::PlatinumOnly,
        FilterKind::RarerThan,
    ];

    /// The name Discord shows for the choice.
    pub fn label(self) -> &'static str {
        match self {
            FilterKind::All => "all trophies",
            FilterKind::GoldAndUp => "gold and up",
            FilterKind::PlatinumOnly => "platinum only",
            FilterKind::RarerThan => "rarer than rare_percent",
        }
    }
}

/// One guild's tracking of one PSN account.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedAccount {
    pub guild_id: u64,
    pub account_id: String,
    /// The online ID last seen (PSN users can rename).
    pub online_id: String,
    /// Where this account's announcements go; `None` means the guild's announce channel.
    pub channel_id: Option<u64>,
    pub added_by: u64,
    pub added_at: DateTime<Utc>,
}

/// A guild's announcement settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GuildSettings {
    pub guild_id: u64,
    pub announce_channel_id: Option<u64>,
    pub filter: AnnounceFilter,
    /// The language of trophy and game names (a code of `psn::LANGUAGES`); `None` is the
    /// bot's default (`PSN_LANGUAGE`).
    pub language: Option<String>,
    pub milestones: MilestoneSettings,
    /// Image cards on posts that have one (`/settings cards`); on by default.
    pub cards: bool,
}

impl GuildSettings {
    pub fn defaults(guild_id: u64) -> GuildSettings {
        GuildSettings {
            guild_id,
            announce_channel_id: None,
            filter: AnnounceFilter::All,
            language: None,
            milestones: MilestoneSettings::default(),
            cards: true,
        }
    }
}

/// Which milestone posts a guild wants (`/settings`); all on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MilestoneSettings {
    /// A player's 1st, 10th, 25th, 50th, 100th, 200th… platinum.
    pub platinum: bool,
    /// A new PSN trophy level tier.
    pub level: bool,
    /// A game completed to 100 %, DLC included.
    pub completion: bool,
    /// The rarest trophy a player has ever earned (by PSN's earned rate).
    pub rarest: bool,
}

impl Default for MilestoneSettings {
    fn default() -> MilestoneSettings {
        MilestoneSettings {
            platinum: true,
            level: true,
            completion: true,
            rarest: true,
        }
    }
}

impl MilestoneSettings {
    pub fn wants(&self, milestone: &MilestoneKind) -> bool {
        match milestone {
            MilestoneKind::Platinum { .. } => self.platinum,
            MilestoneKind::Level { .. } => self.level,
            MilestoneKind::Completion { .. } => self.completion,
            MilestoneKind::Rarest { .. } => self.rarest,
        }
    }
}

/// A milestone a player reached, found by the tracker by comparing a poll with the one before.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    pub account_id: String,
    pub online_id: String,
    pub kind: MilestoneKind,
    /// When PSN says the trophy that made it was earned, if known.
    pub reached_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MilestoneKind {
    /// The player's `count`th platinum, with its game when one platinum made it.
    Platinum {
        count: u32,
        game: Option<MilestoneGame>,
    },
    /// A new trophy level tier (PSN's 1–10), reached at `level`.
    Level { level: u32, tier: u32 },
    /// Every trophy of a game, DLC included: `trophies` is how many it has.
    Completion {
        game: MilestoneGame,
        trophies: TrophyCounts,
    },
    /// A trophy rarer (a lower PSN earned rate) than every trophy the player had earned before.
    Rarest {
        game: MilestoneGame,
        trophy_id: u32,
        trophy_name: String,
        kind: TrophyType,
        earned_rate: f64,
        /// The rate of the rarest trophy they had before.
        previous_rate: f64,
    },
}

/// The game a milestone is about, as its listing names it.
#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneGame {
    pub np_communication_id: String,
    pub name: String,
    pub icon_url: Option<String>,
    pub platforms: Vec<Platform>,
}

impl Milestone {
    /// What the milestone is about, unique per account: the outbox's event key within a guild,
    /// so it is posted once whichever process finds it and however often.
    pub fn event_key(&self) -> String {
        let account = &self.account_id;
        match &self.kind {
            MilestoneKind::Platinum { count, .. } => {
                format!("milestone:{account}:platinum:{count}")
            }
            MilestoneKind::Level { tier, .. } => format!("milestone:{account}:tier:{tier}"),
            MilestoneKind::Completion { game, .. } => {
                format!("milestone:{account}:complete:{}", game.np_communication_id)
            }
            MilestoneKind::Rarest {
                game, trophy_id, ..
            } => format!(
                "milestone:{account}:rarest:{}:{trophy_id}",
                game.np_communication_id
            ),
        }
    }
}

/// Trophies one player earned in one title since the tracker last looked.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleEarnings {
    pub np_communication_id: String,
    pub title_name: String,
    pub title_icon_url: Option<String>,
    pub platforms: Vec<Platform>,
    /// The newly earned trophies, oldest first, with definitions and rarity.
    pub trophies: Vec<UserTrophy>,
    /// The player's progress in the title after these trophies, 0–100.
    pub progress_after: u32,
    pub earned_after: TrophyCounts,
    pub defined: TrophyCounts,
}

/// Everything one poll of one player found: what the announcement renderer turns into
/// messages, once per guild with that guild's filter.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerBatch {
    pub account_id: String,
    pub online_id: String,
    pub titles: Vec<TitleEarnings>,
}

/// What the tracker last found for an account, as `/track list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackingStatus {
    /// Not polled yet: the tracker takes its baseline on the first poll.
    Pending,
    Ok,
    /// The trophy list is private: nothing can be seen until the player makes it public.
    Private,
    /// PSN no longer knows the account (deleted).
    Gone,
}

/// One tracked account of a guild with the tracker's view of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedAccountView {
    pub account: TrackedAccount,
    pub status: TrackingStatus,
    /// `Some(true)`: presence visible to the bot's PSN account (the fast path); `Some(false)`:
    /// hidden (polling only); `None`: not asked yet.
    pub presence_visible: Option<bool>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub next_check_at: Option<DateTime<Utc>>,
    /// Titles of the stored library whose earned history (ids and dates) is stored, of how many
    /// (the tracker's backfill fills them in); `None` before the baseline.
    pub history: Option<(u32, u32)>,
}

/// One row of `/leaderboard`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderboardRow {
    pub account_id: String,
    pub online_id: String,
    /// The player's totals as of the tracker's last poll; `None` before the first one.
    pub earned: Option<TrophyCounts>,
    /// The trophies the tracker detected as earned since the start of the period asked for
    /// (the month for all-time rankings), by grade.
    pub period: TrophyCounts,
    /// The Discord user who linked and verified this account, if any.
    pub verified_discord_user: Option<u64>,
}

impl LeaderboardRow {
    pub fn points(&self) -> Option<u32> {
        self.earned.map(|e| e.points())
    }
}

/// Ranks `rows` by what they earned in the period: points, then platinums, then trophies; rows
/// that tie keep their order (the all-time ranking).
pub fn rank_by_period(rows: &mut [LeaderboardRow]) {
    rows.sort_by_key(|row| {
        std::cmp::Reverse((row.period.points(), row.period.platinum, row.period.total()))
    });
}

/// Where one announced trophy stands among the server's tracked players, from stored data (see
/// `tracker::context`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerContext {
    /// Other players the server tracks (none: nothing to compare with, no rank shown).
    pub fellows: u32,
    /// This earner's place by PSN's earned time among the server's tracked players who have it
    /// (1: first); `None` when a time needed for it is unknown.
    pub rank: Option<u32>,
    /// Whether every fellow who owns the title has its earned state stored; if not, the rank is
    /// only among the players checked so far.
    pub complete: bool,
    /// The other tracked players of the server who have it (online IDs), first earner first.
    pub also: Vec<String>,
}

/// Server contexts of a batch's trophies by title and trophy id.
pub type ServerContexts = std::collections::HashMap<(String, u32), ServerContext>;

/// `/trophy`'s answer: who among a server's tracked players has one trophy, from stored data.
#[derive(Debug, Clone, PartialEq)]
pub struct TrophyHolders {
    pub game_name: String,
    pub platforms: Vec<Platform>,
    pub game_icon_url: Option<String>,
    pub trophy: psn::TrophyDefinition,
    /// A hidden trophy nobody in the server has earned: its name and detail stay masked.
    pub masked: bool,
    pub earned_rate: Option<f64>,
    pub rarity: Option<psn::Rarity>,
    /// The players who earned it, first earner first (by PSN's time), undated ones last.
    pub earners: Vec<TrophyEarner>,
    /// The server's tracked players (trophy list last seen public) who own the game.
    pub owners: u32,
    /// Whether every owner's earned state of the game is stored; if not, the list is only
    /// among the players checked so far (the history backfill is still going).
    pub complete: bool,
}

/// One player who earned a trophy, and when PSN says they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrophyEarner {
    pub online_id: String,
    pub earned_at: Option<DateTime<Utc>>,
}

impl TrophyEarner {
    /// First earner first; undated ones (earned offline) last, by name for a stable order.
    pub fn sort(earners: &mut [TrophyEarner]) {
        earners.sort_by(|a, b| {
            (a.earned_at.is_none(), a.earned_at, &a.online_id).cmp(&(
                b.earned_at.is_none(),
                b.earned_at,
                &b.online_id,
            ))
        });
    }
}
