//! Announcements of newly earned trophies: one message per player per batch (per guild, with
//! that guild's filter). A few trophies get an embed each; a bigger batch (a catch-up after
//! downtime) is summarised per game so it stays one message within Discord's limits. A platinum
//! always gets its own celebratory embed.

use chrono::{DateTime, Utc};
use psn::{TrophyCounts, TrophyType, UserTrophy};

use super::{
    counts_line, format_count, progress_bar, rarity_label, title_names, trophy_emoji, NameStyle,
    NamedTitle, COLOR_ERROR, COLOR_INFO, COLOR_PLATINUM,
};
use crate::model::reply::{limits, truncate, Embed, Reply};
use crate::model::{AnnounceFilter, PlayerBatch, ServerContext, ServerContexts, TitleEarnings};
use crate::render::markdown::escape_markdown;

/// Characters every announcement leaves free of [`limits::EMBEDS_TOTAL`], so the deliverer can
/// add its reference to the footer without cutting anything.
pub const REFERENCE_RESERVE: usize = 64;
/// What one announcement's embeds may count in all.
const MESSAGE_BUDGET: usize = limits::EMBEDS_TOTAL - REFERENCE_RESERVE;
/// Up to this many trophies get an embed each; more are summarised per game.
const DETAILED_MAX: usize = 4;
/// Platinum embeds in one summary; further platinums still appear in their game's lines.
const PLATINUM_EMBEDS_MAX: usize = 3;
/// Caps on PSN strings (before escaping), so one long name cannot crowd out the rest.
const TROPHY_NAME_MAX: usize = 100;
const DETAIL_MAX: usize = 400;
/// A platinum's detail in a summary, where its embed shares the message with many trophies.
const SUMMARY_DETAIL_MAX: usize = 150;
const PLAYER_MAX: usize = 40;

/// The player's online ID as shown: escaped in markdown text, as is in an embed's author line
/// (which Discord shows literally).
struct Player {
    plain: String,
    escaped: String,
}

impl Player {
    fn new(online_id: &str) -> Player {
        let plain = truncate(online_id, PLAYER_MAX);
        Player {
            escaped: escape_markdown(&plain),
            plain,
        }
    }
}

/// A title's trophies that passed the guild's filter.
struct Passed<'a> {
    title: &'a TitleEarnings,
    /// The game's name, told apart from the other games of the message.
    label: String,
    trophies: Vec<&'a UserTrophy>,
}

/// The messages announcing `batch` in a guild whose filter is `filter`: none when no trophy
/// passes, otherwise one.
pub fn announcements(batch: &PlayerBatch, filter: &AnnounceFilter) -> Vec<Reply> {
    announcements_in_server(batch, filter, &ServerContexts::new())
}

/// [`announcements`] with each trophy's standing in the server (see `tracker::context`):
/// its rank by PSN's earned time, who else there has it, and an ultra rare tier highlighted.
pub fn announcements_in_server(
    batch: &PlayerBatch,
    filter: &AnnounceFilter,
    contexts: &ServerContexts,
) -> Vec<Reply> {
    let passing: Vec<(&TitleEarnings, Vec<&UserTrophy>)> = batch
        .titles
        .iter()
        .map(|title| {
            let trophies: Vec<&UserTrophy> = title
                .trophies
                .iter()
                .filter(|t| filter.passes(t.definition.kind, t.earned_rate))
                .collect();
            (title, trophies)
        })
        .filter(|(_, trophies)| !trophies.is_empty())
        .collect();
    let labels = title_names(
        passing.iter().map(|(title, _)| NamedTitle {
            name: &title.title_name,
            platforms: &title.platforms,
            np_communication_id: &title.np_communication_id,
        }),
        NameStyle::Reply,
    );
    let passed: Vec<Passed<'_>> = passing
        .into_iter()
        .zip(labels)
        .map(|((title, trophies), label)| Passed {
            title,
            label,
            trophies,
        })
        .collect();
    let total: usize = passed.iter().map(|p| p.trophies.len()).sum();
    if total == 0 {
        return Vec::new();
    }
    let player = Player::new(&batch.online_id);
    let embeds = (total <= DETAILED_MAX)
        .then(|| detailed(&player, &passed, contexts))
        .flatten()
        .unwrap_or_else(|| summary(&player, &passed, total, contexts));
    vec![Reply::new(None, embeds, Vec::new(), false)]
}

/// One embed per trophy, or `None` when they would not fit the budget together.
fn detailed(
    player: &Player,
    passed: &[Passed<'_>],
    contexts: &ServerContexts,
) -> Option<Vec<Embed>> {
    let embeds: Vec<Embed> = passed
        .iter()
        .flat_map(|p| p.trophies.iter().map(move |t| (p, *t)))
        .map(|(game, trophy)| {
            let context = context_of(contexts, game, trophy);
            if trophy.definition.kind == TrophyType::Platinum {
                platinum_embed(player, game, trophy, DETAIL_MAX, context)
            } else {
                trophy_embed(player, game, trophy, context)
            }
        })
        .collect();
    let chars: usize = embeds.iter().map(Embed::counted_chars).sum();
    (embeds.len() <= limits::EMBEDS && chars <= MESSAGE_BUDGET).then_some(embeds)
}

fn trophy_name(trophy: &UserTrophy) -> String {
    escape_markdown(&truncate(&trophy.definition.name, TROPHY_NAME_MAX))
}

/// The trophy's own text. Hidden trophies are shown in full: they are earned, so no spoiler.
fn trophy_detail(trophy: &UserTrophy, max: usize) -> String {
    let detail = escape_markdown(&truncate(trophy.definition.detail.trim(), max));
    if trophy.definition.hidden {
        format!("🔓 *A hidden trophy, revealed now that it is earned.*\n{detail}")
            .trim_end()
            .to_string()
    } else {
        detail
    }
}

fn icon(title: &TitleEarnings, trophy: &UserTrophy) -> Option<String> {
    trophy
        .definition
        .icon_url
        .clone()
        .or_else(|| title.title_icon_url.clone())
}

fn with_timestamp(embed: Embed, at: Option<DateTime<Utc>>) -> Embed {
    match at {
        Some(at) => embed.timestamp(at),
        None => embed,
    }
}

fn context_of<'a>(
    contexts: &'a ServerContexts,
    game: &Passed<'_>,
    trophy: &UserTrophy,
) -> Option<&'a ServerContext> {
    contexts.get(&(game.title.np_communication_id.clone(), trophy.definition.id))
}

/// Which of an announcement's embeds celebrates a platinum (the first, if several): where its
/// image card goes.
pub fn platinum_embed_index(reply: &Reply) -> Option<usize> {
    reply
        .embeds()
        .iter()
        .position(|embed| embed.color == Some(COLOR_PLATINUM))
}

/// Names shown in "also earned by"; the rest are counted.
const ALSO_NAMED: usize = 3;

/// The "In this server" text of a trophy: its rank by PSN's earned time (qualified while some
/// fellow's history is not stored yet) and who else has it. `None` when the server tracks no
/// one else. Names are escaped; announcements never ping (allowed_mentions is empty).
pub fn server_context_text(context: &ServerContext) -> Option<String> {
    if context.fellows == 0 {
        return None;
    }
    let mut lines = Vec::new();
    if let Some(rank) = context.rank {
        let medal = if rank == 1 { "🥇 " } else { "" };
        let scope = if context.complete {
            "in this server to earn it"
        } else {
            "in this server, among players checked so far"
        };
        lines.push(format!("{medal}**{}** {scope}", super::ordinal(rank)));
    }
    if !context.also.is_empty() {
        let named: Vec<String> = context
            .also
            .iter()
            .take(ALSO_NAMED)
            .map(|name| format!("**{}**", escape_markdown(&truncate(name, PLAYER_MAX))))
            .collect();
        let more = context.also.len().saturating_sub(ALSO_NAMED);
        let list = match (named.as_slice(), more) {
            ([only], 0) => only.clone(),
            (names, 0) => format!(
                "{} and {}",
                names[..names.len() - 1].join(", "),
                names[names.len() - 1]
            ),
            (names, more) => format!(
                "{} and {} more",
                names.join(", "),
                format_count(more as u64)
            ),
        };
        lines.push(format!("Also earned by {list}"));
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The rarity as shown; in a server announcement an ultra rare tier stands out.
fn rarity_value(trophy: &UserTrophy, context: Option<&ServerContext>) -> String {
    let label = rarity_label(trophy.earned_rate, trophy.rarity);
    let tier = trophy
        .rarity
        .or_else(|| trophy.earned_rate.map(psn::Rarity::from_earned_rate));
    if context.is_some() && tier == Some(psn::Rarity::UltraRare) {
        format!("💎 **{label}**")
    } else {
        label
    }
}

/// Adds the "In this server" field when there is something to say.
fn with_context(embed: Embed, context: Option<&ServerContext>) -> Embed {
    match context.and_then(server_context_text) {
        Some(text) => embed.field("In this server", text, false),
        None => embed,
    }
}

fn trophy_embed(
    player: &Player,
    game: &Passed<'_>,
    trophy: &UserTrophy,
    context: Option<&ServerContext>,
) -> Embed {
    let embed = Embed::new()
        .author(format!("{} earned a trophy", player.plain))
        .title(format!(
            "{} {}",
            trophy_emoji(trophy.definition.kind),
            trophy_name(trophy)
        ))
        .description(trophy_detail(trophy, DETAIL_MAX))
        .field("Game", game.label.clone(), false)
        .field("Rarity", rarity_value(trophy, context), true)
        .field("Progress", progress_bar(game.title.progress_after), true)
        .thumbnail(icon(game.title, trophy))
        .color(COLOR_INFO);
    with_timestamp(with_context(embed, context), trophy.earned_at)
}

fn platinum_embed(
    player: &Player,
    game: &Passed<'_>,
    trophy: &UserTrophy,
    detail_max: usize,
    context: Option<&ServerContext>,
) -> Embed {
    let embed = Embed::new()
        .author(format!("{} earned a platinum", player.plain))
        .title(format!(
            "🏆 Platinum! {} has mastered a game",
            player.escaped
        ))
        .description(format!(
            "🎉 Congratulations, **{}**: the platinum of **{}**!\n\n**{}**\n{}",
            player.escaped,
            game.label,
            trophy_name(trophy),
            trophy_detail(trophy, detail_max)
        ))
        .field("Rarity", rarity_value(trophy, context), true)
        .field("Progress", progress_bar(game.title.progress_after), true)
        .thumbnail(icon(game.title, trophy))
        .color(COLOR_PLATINUM);
    with_timestamp(with_context(embed, context), trophy.earned_at)
}

/// A header with the totals, the platinums' embeds, then one embed per game listing its
/// trophies (the most valuable and rarest first) with "…and N more" where the budget ends;
/// games beyond the embed limit share a last embed.
fn summary(
    player: &Player,
    passed: &[Passed<'_>],
    total: usize,
    contexts: &ServerContexts,
) -> Vec<Embed> {
    let mut counts = TrophyCounts::default();
    for trophy in passed.iter().flat_map(|p| &p.trophies) {
        counts.add(trophy.definition.kind, 1);
    }
    let latest = passed
        .iter()
        .flat_map(|p| &p.trophies)
        .filter_map(|t| t.earned_at)
        .max();
    let games = passed.len();
    let header = with_timestamp(
        Embed::new()
            .title(format!(
                "{} earned {} troph{}",
                player.escaped,
                format_count(total as u64),
                if total == 1 { "y" } else { "ies" }
            ))
            .description(format!(
                "{} in {games} game{}",
                counts_line(&counts),
                if games == 1 { "" } else { "s" }
            ))
            .color(COLOR_INFO),
        latest,
    );

    let platinums: Vec<(&Passed<'_>, &UserTrophy)> = passed
        .iter()
        .flat_map(|p| p.trophies.iter().map(move |t| (p, *t)))
        .filter(|(_, t)| t.definition.kind == TrophyType::Platinum)
        .take(PLATINUM_EMBEDS_MAX)
        .collect();
    let celebrated = |trophy: &UserTrophy| {
        platinums
            .iter()
            .any(|(_, platinum)| std::ptr::eq(*platinum, trophy))
    };

    let mut embeds = vec![header];
    embeds.extend(platinums.iter().map(|(game, trophy)| {
        let context = context_of(contexts, game, trophy);
        platinum_embed(player, game, trophy, SUMMARY_DETAIL_MAX, context)
    }));

    // Games whose only new trophy is a celebrated platinum need no list of their own.
    let listed: Vec<Listed<'_>> = passed
        .iter()
        .map(|p| {
            let mut rest: Vec<&UserTrophy> = p
                .trophies
                .iter()
                .copied()
                .filter(|t| !celebrated(t))
                .collect();
            rest.sort_by(|a, b| {
                a.definition.kind.cmp(&b.definition.kind).then(
                    a.earned_rate
                        .unwrap_or(f64::INFINITY)
                        .total_cmp(&b.earned_rate.unwrap_or(f64::INFINITY)),
                )
            });
            Listed {
                title: p.title,
                label: &p.label,
                new: p.trophies.len(),
                rest,
            }
        })
        .filter(|listed| !listed.rest.is_empty())
        .collect();

    let used: usize = embeds.iter().map(Embed::counted_chars).sum();
    let mut budget = MESSAGE_BUDGET.saturating_sub(used);
    let slots = limits::EMBEDS - embeds.len();
    let (own, shared) = if listed.len() <= slots {
        (listed.as_slice(), &[][..])
    } else {
        listed.split_at(slots - 1)
    };
    let embeds_left = own.len() + usize::from(!shared.is_empty());
    for (i, game) in own.iter().enumerate() {
        let share = budget / (embeds_left - i);
        let embed = game_embed(game, share);
        budget = budget.saturating_sub(embed.counted_chars());
        embeds.push(embed);
    }
    if !shared.is_empty() {
        embeds.push(more_games_embed(shared, budget));
    }
    embeds
}

fn trophy_line(trophy: &UserTrophy) -> String {
    format!(
        "{} **{}** · {}",
        trophy_emoji(trophy.definition.kind),
        trophy_name(trophy),
        rarity_label(trophy.earned_rate, trophy.rarity)
    )
}

/// Lines joined with newlines while they fit in `room` characters, keeping space for the
/// "…and N more" that replaces the rest.
fn fit_lines(first: String, lines: Vec<String>, room: usize, noun: &str) -> String {
    let count = |s: &str| s.chars().count();
    let more = |n: usize| format!("\n…and {} more{noun}", format_count(n as u64));
    let mut out = first;
    let total = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        let left = total - i - 1;
        let tail = if left > 0 { count(&more(left)) } else { 0 };
        if count(&out) + 1 + count(&line) + tail > room {
            out.push_str(&more(total - i));
            return out;
        }
        out.push('\n');
        out.push_str(&line);
    }
    out
}

/// A game in a summary: its new trophies not celebrated in an embed of their own.
struct Listed<'a> {
    title: &'a TitleEarnings,
    label: &'a str,
    /// All its new trophies that passed the filter, celebrated ones included.
    new: usize,
    rest: Vec<&'a UserTrophy>,
}

fn game_embed(game: &Listed<'_>, share: usize) -> Embed {
    let first = format!(
        "{} new · {}",
        format_count(game.new as u64),
        progress_bar(game.title.progress_after)
    );
    let room = share.saturating_sub(game.label.chars().count());
    let lines = game.rest.iter().map(|t| trophy_line(t)).collect();
    Embed::new()
        .title(game.label)
        .description(fit_lines(first, lines, room, ""))
        .thumbnail(game.title.title_icon_url.clone())
        .color(COLOR_INFO)
}

fn more_games_embed(games: &[Listed<'_>], share: usize) -> Embed {
    let title = format!("And {} more games", games.len());
    let lines = games
        .iter()
        .map(|game| {
            let mut counts = TrophyCounts::default();
            for trophy in &game.rest {
                counts.add(trophy.definition.kind, 1);
            }
            format!("**{}** · {}", game.label, counts_line(&counts))
        })
        .collect::<Vec<_>>();
    let room = share.saturating_sub(title.chars().count());
    let mut lines = lines.into_iter();
    let first = lines.next().unwrap_or_default();
    Embed::new()
        .title(title)
        .description(fit_lines(first, lines.collect(), room, " games"))
        .color(COLOR_INFO)
}

/// Why announcements could not be posted in a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// The channel was deleted.
    Gone,
    /// The bot may not see the channel or send embeds there.
    Forbidden,
}

/// The one direct message an admin gets when their server's announcement channel stopped
/// working: which accounts it concerns and how to fix it. Channel mentions do not ping.
pub fn delivery_problem(
    guild_name: Option<&str>,
    channel_id: u64,
    problem: DeliveryFailure,
    online_ids: &[String],
) -> Reply {
    let reason = match problem {
        DeliveryFailure::Gone => "that channel no longer exists",
        DeliveryFailure::Forbidden => {
            "I may not post there (I need View Channel, Send Messages and Embed Links)"
        }
    };
    let players = match online_ids {
        [] => "tracked players".to_string(),
        ids => ids
            .iter()
            .take(10)
            .map(|id| format!("**{}**", escape_markdown(&truncate(id, PLAYER_MAX))))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let place = match guild_name {
        Some(name) => format!(
            "<#{channel_id}> on **{}**",
            escape_markdown(&truncate(name, 100))
        ),
        None => format!("<#{channel_id}>"),
    };
    let description = format!(
        "New trophies of {players} could not be announced in {place}: {reason}.\n\n\
         Choose another channel with `/settings` (option `channel`), or add the players again \
         with `/track add` and a `channel`. Until then, their announcements there are skipped. \
         You get this message only once."
    );
    Reply::embed(
        Embed::new()
            .title("I can't post trophy announcements")
            .description(description)
            .color(COLOR_ERROR),
    )
}
