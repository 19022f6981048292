//! The values every layer above the PSN client shares: the reply payload (within Discord's
//! limits) and what tracking is about (filters, tracked accounts, batches of new trophies). No I/O.

pub mod recap;
pub mod reply;
pub mod tracking;

pub use recap::{LeaderboardPeriod, RecapSchedule, RecapWeek, WeeklyRecap};
pub use reply::Reply;
pub use tracking::{
    AnnounceFilter, FilterKind, GuildSettings, LeaderboardRow, Milestone, MilestoneGame,
    MilestoneKind, MilestoneSettings, PlayerBatch, ServerContext, ServerContexts, TitleEarnings,
    TrackedAccount, TrackedAccountView, TrackingStatus, TrophyEarner, TrophyHolders,
};
