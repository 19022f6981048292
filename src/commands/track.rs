//! `/track add|remove|list`: which PSN accounts a server follows, and where each one's
//! announcements go. The Discord side (permissions, the channel as the bot sees it) is checked
//! by the bot layer and handed in as [`ChannelFacts`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use psn::{Account, OnlineId};

use super::shares::{Standing, NEAR_LIMIT};
use super::{Choice, Services};
use crate::errors::{ChannelProblem, CommandError};
use crate::model::reply::Reply;
use crate::model::TrackedAccount;
use crate::render::{self, BudgetView, TrackAdded, TrackList, TrophyListVisibility};
use crate::store::{AddTracked, Store};
use crate::tracker::schedule::{AdaptiveScheduler, PollScheduler, ScheduleConfig};
use crate::tracker::TrackerSettings;

/// The tracking limits commands explain: the per-server cap and the scheduler's settings, from
/// which the bot-wide effective staleness follows.
#[derive(Debug, Clone)]
pub struct TrackingLimits {
    pub max_accounts_per_guild: usize,
    pub schedule: ScheduleConfig,
    pub budget: BudgetSplit,
}

/// How `PSN_RATE_LIMIT` and `TRACKER_COMMAND_RESERVE` split the PSN budget (see `psn::budget`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetSplit {
    /// Requests per `window`.
    pub requests: u32,
    pub window: Duration,
    /// The tracker's part of each window, ⌊(1 − reserve) · requests⌋, as the budget counts it.
    pub tracker: u32,
}

impl BudgetSplit {
    pub fn new(limit: &psn::RateLimit, command_reserve: f64) -> BudgetSplit {
        let reserve = command_reserve.clamp(0.0, 1.0);
        // The float product of an exact share (0.7 · 300) may land a hair under the integer.
        let tracker = ((1.0 - reserve) * f64::from(limit.requests) + 1e-9).floor() as u32;
        BudgetSplit {
            requests: limit.requests,
            window: limit.per,
            tracker: tracker.min(limit.requests),
        }
    }
}

impl TrackingLimits {
    pub fn from_config(config: &crate::config::Config) -> TrackingLimits {
        TrackingLimits {
            max_accounts_per_guild: config.tracker_max_accounts_per_guild,
            schedule: TrackerSettings::schedule_config(
                &config.psn.rate_limit,
                config.psn.command_reserve,
                config.tracker_max_staleness,
            ),
            budget: BudgetSplit::new(&config.psn.rate_limit, config.psn.command_reserve),
        }
    }

    /// The longest any of `tracked_accounts` (all servers together) goes unchecked:
    /// `TRACKER_MAX_STALENESS`, or longer when the budget cannot give it.
    pub fn effective_staleness(&self, tracked_accounts: usize) -> Duration {
        AdaptiveScheduler::new(self.schedule.clone()).effective_staleness(tracked_accounts)
    }
}

/// The announcement channel as the bot sees it in Discord.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFacts {
    pub channel_id: u64,
    /// A channel of the server the command came from, known to the bot.
    pub in_guild: bool,
    /// A text or announcement channel.
    pub is_text: bool,
    /// Permissions the bot lacks there, among View Channel, Send Messages, Embed Links and Read
    /// Message History.
    pub missing_permissions: Vec<&'static str>,
}

/// Whether announcements can go to this channel.
pub fn check_channel(facts: &ChannelFacts) -> Result<(), CommandError> {
    let problem = if !facts.in_guild {
        ChannelProblem::NotInServer
    } else if !facts.is_text {
        ChannelProblem::NotText
    } else if !facts.missing_permissions.is_empty() {
        ChannelProblem::MissingPermissions(facts.missing_permissions.clone())
    } else {
        return Ok(());
    };
    Err(CommandError::ChannelUnusable {
        channel_id: facts.channel_id,
        problem,
    })
}

/// Where an account's announcements go: `(channel to check, channel to store)`. An explicit
/// channel is stored; otherwise the server's announce channel is followed (stored as `None`, so
/// a later `/settings channel` moves it); without one, the channel the command was used in.
pub fn announce_target(
    explicit: Option<u64>,
    server_default: Option<u64>,
    invoked_in: u64,
) -> (u64, Option<u64>) {
    match (explicit, server_default) {
        (Some(channel), _) => (channel, Some(channel)),
        (None, Some(default)) => (default, None),
        (None, None) => (invoked_in, Some(invoked_in)),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackAddInput {
    pub guild_id: u64,
    pub user: OnlineId,
    /// The channel to check (see [`announce_target`]).
    pub channel: ChannelFacts,
    /// The channel to store: `None` follows the server's announce channel.
    pub stored_channel: Option<u64>,
    pub added_by: u64,
}

/// `/track add`: checks the channel and the ID before any request, resolves the account
/// (a renamed user resolves to the current ID) and tells whether its trophy list is visible.
/// A private list is still tracked: the tracker announces once it becomes public, and the
/// admin is told so rather than having to add the account again later.
pub async fn add(
    services: &Services,
    store: &Store,
    limits: &TrackingLimits,
    input: TrackAddInput,
    now: DateTime<Utc>,
) -> Result<Reply, CommandError> {
    let user = input.user.as_str();
    check_channel(&input.channel)?;
    // A full server is told before spending PSN requests (the store checks again atomically).
    let current = store.tracked_accounts(input.guild_id).await?;
    let cap = limits.max_accounts_per_guild;
    if current.len() >= cap
        && !current
            .iter()
            .any(|view| view.account.online_id.eq_ignore_ascii_case(user))
    {
        return Err(CommandError::TrackCapReached {
            tracked: current.len(),
            cap,
        });
    }
    let account = services.client.resolve_user(&input.user).await?;
    let visibility = trophy_list_visibility(services, &account).await?;
    let tracked = TrackedAccount {
        guild_id: input.guild_id,
        account_id: account.account_id.clone(),
        online_id: account.online_id.clone(),
        channel_id: input.stored_channel,
        added_by: input.added_by,
        added_at: now,
    };
    let already_tracked = match store
        .add_tracked_account(&tracked, limits.max_accounts_per_guild)
        .await?
    {
        AddTracked::Added => false,
        AddTracked::Updated => true,
        AddTracked::CapReached { tracked } => {
            return Err(CommandError::TrackCapReached {
                tracked,
                cap: limits.max_accounts_per_guild,
            })
        }
    };
    let renamed_from = (!account.online_id.eq_ignore_ascii_case(user)).then(|| user.to_string());
    Ok(render::track_added(&TrackAdded {
        online_id: account.online_id,
        renamed_from,
        channel_id: input.channel.channel_id,
        follows_server_channel: input.stored_channel.is_none(),
        already_tracked,
        visibility,
    }))
}

/// One trophy-summary request says whether the list can be read.
async fn trophy_list_visibility(
    services: &Services,
    account: &Account,
) -> Result<TrophyListVisibility, CommandError> {
    match services.client.trophy_summary(account).await {
        Ok(_) => Ok(TrophyListVisibility::Public),
        Err(psn::Error::Private(_)) => Ok(TrophyListVisibility::Private),
        Err(err) => Err(err.into()),
    }
}

/// `/track remove`: by online ID (case-insensitive) or account ID (what autocomplete sends).
pub async fn remove(store: &Store, guild_id: u64, user: &str) -> Result<Reply, CommandError> {
    let user = user.trim();
    match store.remove_tracked_account(guild_id, user).await? {
        Some(removed) => Ok(render::track_removed(&removed.online_id)),
        None => Err(CommandError::NotTracked {
            user: user.to_string(),
        }),
    }
}

/// `/track list`: the server's accounts with their channel, status and presence, how often
/// the tracker can check them given every account it tracks for all servers, and the PSN
/// budget as it stands (`standing`: the command shares seen from this server).
///
/// With a pool of credentials, each credential's standing too; the staleness is that of the
/// busiest healthy credential, each polling its own accounts at its own rate.
pub async fn list(
    store: &Store,
    limits: &TrackingLimits,
    standing: Standing,
    pool: &crate::pool::Pool,
    guild_id: u64,
) -> Result<Reply, CommandError> {
    let settings = store.guild_settings(guild_id).await?;
    let accounts = store.tracked_accounts(guild_id).await?;
    let all_tracked = store.tracked_account_count().await?;
    let (credentials, busiest) = if pool.len() > 1 {
        let ids = store.tracker_accounts().await?;
        let standings = pool.standings(ids.iter().map(|a| a.account_id.as_str()));
        let busiest = standings
            .iter()
            .filter(|s| !s.rejected)
            .map(|s| s.accounts)
            .max()
            .unwrap_or(all_tracked);
        let views = standings
            .into_iter()
            .map(|s| render::CredentialView {
                label: s.label,
                rejected: s.rejected,
                accounts: s.accounts,
                budget_remaining: s.budget_remaining,
            })
            .collect();
        (views, busiest)
    } else {
        (Vec::new(), all_tracked)
    };
    Ok(render::track_list(&TrackList {
        settings,
        accounts,
        cap: limits.max_accounts_per_guild,
        all_tracked,
        max_staleness: limits.schedule.max_staleness,
        effective_staleness: limits.effective_staleness(busiest),
        budget: BudgetView {
            requests: limits.budget.requests,
            window: limits.budget.window,
            tracker: limits.budget.tracker,
            commands_used: standing.commands_used,
            server_used: standing.server_used,
            server_share: standing.limits.server,
            user_share: standing.limits.user,
            members_near_limit: standing.members_near_limit,
            near_limit: NEAR_LIMIT,
        },
        credentials,
    }))
}

/// Autocomplete for `/track remove`: the server's accounts whose online ID contains `partial`.
pub async fn autocomplete_tracked(
    store: &Store,
    guild_id: u64,
    partial: &str,
) -> Result<Vec<Choice>, CommandError> {
    let partial = partial.trim().to_lowercase();
    Ok(store
        .tracked_accounts(guild_id)
        .await?
        .into_iter()
        .filter(|view| view.account.online_id.to_lowercase().contains(&partial))
        .take(25)
        .map(|view| Choice {
            name: view.account.online_id,
            value: view.account.account_id,
        })
        .collect())
}
