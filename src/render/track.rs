//! Replies of the server-admin commands: `/track add|remove|list` and `/settings`. All are
//! ephemeral: they concern the admins only.

use std::time::Duration;

use super::{format_count, COLOR_INFO, COLOR_PLATINUM};
use crate::model::reply::{limits, Embed, Reply};
use crate::model::{GuildSettings, MilestoneSettings, RecapSchedule, TrackedAccount};
use crate::model::{TrackedAccountView, TrackingStatus};
use crate::render::markdown::escape_markdown;

/// Whether PSN let the bot read the trophy list when the account was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrophyListVisibility {
    Public,
    Private,
}

/// What `/track add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackAdded {
    /// The account's current online ID.
    pub online_id: String,
    /// The ID the admin typed, when PSN knows the player under a new one now.
    pub renamed_from: Option<String>,
    pub channel_id: u64,
    /// The announcements follow the server's announce channel (`/settings channel`).
    pub follows_server_channel: bool,
    /// The server already tracked the account; only its channel changed.
    pub already_tracked: bool,
    pub visibility: TrophyListVisibility,
}

/// What `/track list` shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackList {
    pub settings: GuildSettings,
    pub accounts: Vec<TrackedAccountView>,
    /// `TRACKER_MAX_ACCOUNTS_PER_GUILD`.
    pub cap: usize,
    /// Distinct accounts tracked by all servers together.
    pub all_tracked: usize,
    /// `TRACKER_MAX_STALENESS`.
    pub max_staleness: Duration,
    /// What the PSN budget allows for `all_tracked` accounts (at least `max_staleness`).
    pub effective_staleness: Duration,
    pub budget: BudgetView,
    /// The pool of PSN credentials (`PSN_NPSSO=a,b,c`); shown when there are several.
    pub credentials: Vec<CredentialView>,
}

/// One PSN credential of the pool, for `/track list`: named by its position, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialView {
    /// `psn-1`, `psn-2`, …
    pub label: String,
    pub rejected: bool,
    /// Tracked accounts (all servers) it polls now.
    pub accounts: usize,
    /// Requests its own budget would let out at once now, of `PSN_RATE_LIMIT`'s.
    pub budget_remaining: u32,
}

/// The PSN budget as it stands, for `/track list`: the tracker's part, what commands used, and
/// this server's members near their share.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BudgetView {
    /// `PSN_RATE_LIMIT`: requests per `window`.
    pub requests: u32,
    pub window: Duration,
    /// Guaranteed to the tracker in every window (the rest is the commands').
    pub tracker: u32,
    /// Requests commands of every server spent within the last window.
    pub commands_used: u32,
    /// This server's, and its share.
    pub server_used: u32,
    pub server_share: u32,
    /// One member's share.
    pub user_share: u32,
    /// Members of this server who used most of their share: Discord user ID and requests used,
    /// most first.
    pub members_near_limit: Vec<(u64, u32)>,
    /// The part of a share from which a member counts as near it (0.8: 80 %).
    pub near_limit: f64,
}

/// At most this many members near their share are named; the rest are counted.
const NEAR_LIMIT_SHOWN: usize = 10;

/// Room kept in the list's description for the "and N more" line.
const MORE_LINE_ROOM: usize = 64;

fn ephemeral(embed: Embed) -> Reply {
    Reply::new(None, vec![embed], Vec::new(), true)
}

/// `45 s`, `12 min`, `2 h`, `1 h 30 min`, `1 d 2 h`.
pub fn format_interval(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 60 {
        return format!("{secs} s");
    }
    let minutes = (secs + 30) / 60;
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, minutes) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

pub fn track_added(added: &TrackAdded) -> Reply {
    let name = escape_markdown(&added.online_id);
    let mut lines = Vec::new();
    if let Some(old) = &added.renamed_from {
        lines.push(format!(
            "**{}** is now called **{name}** on PSN; tracking them under their new ID.",
            escape_markdown(old)
        ));
    }
    let channel = if added.follows_server_channel {
        format!("<#{}> (the server's announce channel)", added.channel_id)
    } else {
        format!("<#{}>", added.channel_id)
    };
    if added.already_tracked {
        lines.push(format!(
            "This server already tracked **{name}**; their announcements now go to {channel}."
        ));
    } else {
        lines.push(format!(
            "Their new trophies will be announced in {channel}. The first check takes their \
             current trophies as the baseline: nothing they already earned is announced."
        ));
    }
    if added.visibility == TrophyListVisibility::Private {
        lines.push(format!(
            "🔒 **{name}**'s trophy list is private right now, so nothing can be announced yet. \
             Announcements start once they make it visible (PSN privacy settings: Gaming | \
             Media → Trophies: Anyone)."
        ));
    }
    let title = if added.already_tracked {
        format!("Updated {name}")
    } else {
        format!("Now tracking {name}")
    };
    ephemeral(
        Embed::new()
            .title(title)
            .description(lines.join("\n\n"))
            .color(COLOR_INFO)
            .footer("/track list shows every account this server tracks"),
    )
}

pub fn track_removed(online_id: &str) -> Reply {
    ephemeral(
        Embed::new()
            .title(format!("Stopped tracking {}", escape_markdown(online_id)))
            .description(
                "No more announcements for them in this server. Add them again any time with \
                 `/track add`.",
            )
            .color(COLOR_INFO),
    )
}

fn status_text(view: &TrackedAccountView) -> String {
    match view.status {
        TrackingStatus::Pending => {
            "⏳ first check pending (it takes the baseline: nothing already earned is announced)"
                .to_string()
        }
        TrackingStatus::Ok => match view.last_checked_at {
            Some(at) => format!("✅ checked <t:{}:R>", at.timestamp()),
            None => "✅ ok".to_string(),
        },
        TrackingStatus::Private => {
            "🔒 trophy list private: announcements resume once it is public".to_string()
        }
        TrackingStatus::Gone => {
            "❔ no longer found on PSN (account deleted?): consider `/track remove`".to_string()
        }
    }
}

fn presence_text(presence_visible: Option<bool>) -> &'static str {
    match presence_visible {
        Some(true) => "⚡ presence fast path",
        Some(false) => "polling only (presence hidden)",
        None => "presence not checked yet",
    }
}

/// Where an account's announcements go: its own channel, else the server's announce channel.
pub(super) fn announce_channel(account: &TrackedAccount, settings: &GuildSettings) -> String {
    match account.channel_id.or(settings.announce_channel_id) {
        Some(id) => format!("<#{id}>"),
        None => "no channel (set one with `/settings channel`)".to_string(),
    }
}

/// `Announcing **gold and platinum** · server channel: <#200>`: the server's defaults, as
/// `/track list` and `/help` state them.
pub(super) fn announcing_line(settings: &GuildSettings) -> String {
    format!(
        "Announcing **{}** · server channel: {}",
        settings.filter.describe(),
        settings
            .announce_channel_id
            .map_or_else(|| "none set".to_string(), |id| format!("<#{id}>"))
    )
}

/// How much of the player's library has its earned history (with dates) stored: what the
/// server context of announcements can rank from.
fn history_text(history: Option<(u32, u32)>) -> Option<String> {
    let (with_state, titles) = history.filter(|(_, titles)| *titles > 0)?;
    Some(if with_state >= titles {
        format!(
            "history complete ({} titles)",
            format_count(u64::from(titles))
        )
    } else {
        format!(
            "history {}/{} titles",
            format_count(u64::from(with_state)),
            format_count(u64::from(titles))
        )
    })
}

fn account_lines(view: &TrackedAccountView, settings: &GuildSettings) -> String {
    let channel = announce_channel(&view.account, settings);
    let mut second = vec![
        status_text(view),
        presence_text(view.presence_visible).into(),
    ];
    if let Some(next) = view.next_check_at {
        second.push(format!("next check <t:{}:R>", next.timestamp()));
    }
    if let Some(history) = history_text(view.history) {
        second.push(history);
    }
    format!(
        "**{}** → {channel}\n{}",
        escape_markdown(&view.account.online_id),
        second.join(" · ")
    )
}

fn checks_text(list: &TrackList) -> String {
    let plural = if list.all_tracked == 1 { "" } else { "s" };
    // Across all servers: this one can run into thousands.
    let all_tracked = format_count(list.all_tracked as u64);
    let mut text = if list.effective_staleness > list.max_staleness {
        format!(
            "With {} account{plural} tracked across all servers, the PSN budget allows checking \
             each at least every **{}** (the bot's setting asks for {}).",
            all_tracked,
            format_interval(list.effective_staleness),
            format_interval(list.max_staleness)
        )
    } else {
        format!(
            "Each account is checked at least every **{}** ({} account{plural} tracked across \
             all servers).",
            format_interval(list.effective_staleness),
            all_tracked
        )
    };
    text.push_str(
        " Players who are active get checked more often. With the ⚡ presence fast path the bot \
         also sees when a player starts a game and checks them soon after.",
    );
    text
}

/// The "PSN credentials" field, with a pool of several: each credential's health, the
/// accounts it polls and what its own budget has left. A rejected one polls no one: its
/// accounts went to the others.
fn credentials_field(list: &TrackList) -> Option<(String, String)> {
    if list.credentials.len() < 2 {
        return None;
    }
    let window = format_interval(list.budget.window);
    let mut lines: Vec<String> = list
        .credentials
        .iter()
        .take(CREDENTIALS_SHOWN)
        .map(|c| {
            let plural = if c.accounts == 1 { "" } else { "s" };
            let health = if c.rejected {
                "❌ rejected by PSN"
            } else {
                "✅ healthy"
            };
            format!(
                "`{}` {health} · {} account{plural} · {} of {} requests per {window} free now",
                c.label,
                format_count(c.accounts as u64),
                format_count(u64::from(c.budget_remaining)),
                format_count(u64::from(list.budget.requests)),
            )
        })
        .collect();
    if list.credentials.len() > CREDENTIALS_SHOWN {
        lines.push(format!(
            "…and {} more.",
            list.credentials.len() - CREDENTIALS_SHOWN
        ));
    }
    Some((
        format!("PSN credentials ({})", list.credentials.len()),
        format!(
            "{}\nEach credential has its own budget; the tracked accounts are spread over the \
             healthy ones.",
            lines.join("\n")
        ),
    ))
}

/// Credentials listed one by one: ten lines stay well within an embed field's 1,024 characters.
const CREDENTIALS_SHOWN: usize = 10;

/// The "PSN budget" field: the split, the commands' use and who is near their share. Members
/// are shown as mentions, which the bot's replies never ping (allowed_mentions is empty).
fn budget_text(budget: &BudgetView) -> String {
    let window = format_interval(budget.window);
    let commands = budget.requests.saturating_sub(budget.tracker);
    let mut text = format!(
        "Tracker: **{}** of **{}** requests per {window}, guaranteed. Commands: the other **{}**, \
         and what the tracker leaves unused.\n\
         Used by commands in the last {window}: **{}** across all servers; this server **{}** of \
         its **{}** (a member may use **{}**).",
        format_count(u64::from(budget.tracker)),
        format_count(u64::from(budget.requests)),
        format_count(u64::from(commands)),
        format_count(u64::from(budget.commands_used)),
        format_count(u64::from(budget.server_used)),
        format_count(u64::from(budget.server_share)),
        format_count(u64::from(budget.user_share)),
    );
    let percent = (budget.near_limit * 100.0).round();
    if budget.members_near_limit.is_empty() {
        text.push_str(&format!(
            "\nNo member is near their share ({percent} % or more)."
        ));
    } else {
        let named: Vec<String> = budget
            .members_near_limit
            .iter()
            .take(NEAR_LIMIT_SHOWN)
            .map(|(user, used)| format!("<@{user}> {used}"))
            .collect();
        text.push_str(&format!(
            "\nNear their share ({percent} % or more): {}",
            named.join(", ")
        ));
        let more = budget
            .members_near_limit
            .len()
            .saturating_sub(NEAR_LIMIT_SHOWN);
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        text.push('.');
    }
    text
}

pub fn track_list(list: &TrackList) -> Reply {
    let settings = &list.settings;
    let header = announcing_line(settings);
    let mut embed = Embed::new()
        .title(format!(
            "Tracked PSN accounts ({}/{})",
            list.accounts.len(),
            list.cap
        ))
        .color(COLOR_INFO);
    if list.accounts.is_empty() {
        embed = embed.description(format!(
            "{header}\n\nThis server tracks no PSN accounts yet. Add one with `/track add`."
        ));
    } else {
        let mut description = header;
        let budget = limits::DESCRIPTION - MORE_LINE_ROOM;
        for (shown, view) in list.accounts.iter().enumerate() {
            let entry = account_lines(view, settings);
            if description.len() + 2 + entry.len() > budget {
                description.push_str(&format!(
                    "\n\n…and {} more.",
                    format_count((list.accounts.len() - shown) as u64)
                ));
                break;
            }
            description.push_str("\n\n");
            description.push_str(&entry);
        }
        embed = embed.description(description);
    }
    embed = embed.field("How often", checks_text(list), false).field(
        "PSN budget",
        budget_text(&list.budget),
        false,
    );
    if let Some((name, value)) = credentials_field(list) {
        embed = embed.field(name, value, false);
    }
    ephemeral(
        embed.footer("/track remove stops tracking an account · /settings changes the defaults"),
    )
}

/// `/settings`: the server's defaults, after a change (`changed`) or as they are; a server
/// that chose no language has the bot's `default_language`.
pub fn settings(
    settings: &GuildSettings,
    recap: &RecapSchedule,
    changed: bool,
    default_language: &str,
) -> Reply {
    let channel = settings.announce_channel_id.map_or_else(
        || "none set: `/track add` uses the channel it is used in unless given one".to_string(),
        |id| format!("<#{id}>"),
    );
    let language = match &settings.language {
        Some(code) => language_name(code),
        None => format!("{}, the bot's default", language_name(default_language)),
    };
    let title = if changed {
        "Settings saved"
    } else {
        "This server's settings"
    };
    ephemeral(
        Embed::new()
            .title(title)
            .color(if changed { COLOR_PLATINUM } else { COLOR_INFO })
            .field("Announcement channel", channel, false)
            .field("Announced trophies", settings.filter.describe(), false)
            .field("Language of names", language, false)
            .field(
                "Milestone posts",
                milestones_line(&settings.milestones),
                false,
            )
            .field("Weekly recap", recap_line(recap), false)
            .footer(
                "Change them with /settings channel, filter (all, gold and up, platinum only, \
                 rarer than), rare_percent, language, platinum_milestones, level_milestones, \
                 completion_milestones, rarest_milestones, recap, recap_day, recap_hour and time_zone",
            ),
    )
}

/// `🏆 Nth platinum: on · ⭐ New level tier: on · 💯 Game completed: off · 💎 Rarest ever: on`
fn milestones_line(milestones: &MilestoneSettings) -> String {
    let state = |on: bool| if on { "on" } else { "off" };
    format!(
        "🏆 Nth platinum: {} · ⭐ New level tier: {} · 💯 Game completed: {} · 💎 Rarest ever: {}",
        state(milestones.platinum),
        state(milestones.level),
        state(milestones.completion),
        state(milestones.rarest)
    )
}

/// `On: Mondays at 09:00 (UTC), about the 7 days before`, or `Off`.
fn recap_line(recap: &RecapSchedule) -> String {
    let zone = recap.time_zone.name();
    if !recap.enabled {
        return format!("Off (time zone {zone}, for `/leaderboard`'s weeks and months)");
    }
    let day = match recap.weekday {
        chrono::Weekday::Mon => "Mondays",
        chrono::Weekday::Tue => "Tuesdays",
        chrono::Weekday::Wed => "Wednesdays",
        chrono::Weekday::Thu => "Thursdays",
        chrono::Weekday::Fri => "Fridays",
        chrono::Weekday::Sat => "Saturdays",
        chrono::Weekday::Sun => "Sundays",
    };
    format!(
        "On: {day} at {:02}:00 ({zone}), about the 7 days before, in the announcement channel",
        recap.hour
    )
}

/// `Français (fr-FR)`; a code PSN does not list (from an older list) shows as itself.
fn language_name(code: &str) -> String {
    match psn::language_label(code) {
        Some(label) => format!("{label} ({code})"),
        None => code.to_string(),
    }
}
