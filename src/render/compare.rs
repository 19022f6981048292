use std::cmp::Ordering;
use std::collections::HashMap;

use psn::{Account, TitleProgress, TrophySummary, UserTitleTrophies, UserTrophy};

use super::{
    counts_line, earned_in, format_count, progress_bar, title_name, title_names, trophy_emoji,
    NameStyle, NamedTitle, COLOR_INFO, HIDDEN_NAME,
};
use crate::model::reply::{limits, truncate, Embed, Reply};
use crate::render::markdown::escape_markdown;

/// How many shared titles the comparison lists.
pub const SHARED_TITLES: usize = 10;
/// Room left in the description for the per-trophy list; the rest is summarised.
const TROPHY_LIST_BUDGET: usize = limits::DESCRIPTION - 200;

/// One side of `/compare` without a game.
#[derive(Debug, Clone)]
pub struct CompareSide {
    pub account: Account,
    pub summary: Option<TrophySummary>,
    /// Most recent first.
    pub recent: Vec<TitleProgress>,
    /// `recent` is the start of a library longer than the command's cap on PSN requests let it
    /// read (searched for shared titles with a short list on the other side).
    pub library_cut: bool,
}

impl CompareSide {
    pub fn earned(&self) -> psn::TrophyCounts {
        match &self.summary {
            Some(summary) => summary.earned,
            None => earned_in(&self.recent),
        }
    }
}

/// `/compare` without a game: totals side by side, recent shared titles, who leads where.
pub fn compare(a: &CompareSide, b: &CompareSide) -> Reply {
    let (name_a, name_b) = (
        escape_markdown(&a.account.online_id),
        escape_markdown(&b.account.online_id),
    );
    let (earned_a, earned_b) = (a.earned(), b.earned());
    let totals = |side: &CompareSide, earned: &psn::TrophyCounts| {
        let level = side
            .summary
            .as_ref()
            .and_then(|s| s.level)
            .map_or_else(|| "unknown".to_string(), |l| l.to_string());
        format!(
            "Level **{level}**\n{}\n**{}** trophies\n**{}** points",
            counts_line(earned),
            format_count(earned.total()),
            format_count(earned.points())
        )
    };
    let mut embed = Embed::new()
        .title(format!("{name_a} vs {name_b}"))
        .color(COLOR_INFO)
        .field(name_a.clone(), totals(a, &earned_a), true)
        .field(name_b.clone(), totals(b, &earned_b), true);

    let progress_b: HashMap<&str, &TitleProgress> = b
        .recent
        .iter()
        .map(|t| (t.np_communication_id.as_str(), t))
        .collect();
    let shared: Vec<(&TitleProgress, &TitleProgress)> = a
        .recent
        .iter()
        .filter_map(|ta| {
            progress_b
                .get(ta.np_communication_id.as_str())
                .map(|tb| (ta, *tb))
        })
        .collect();
    let (mut titles_won_a, mut titles_won_b) = (0, 0);
    for (ta, tb) in &shared {
        match ta.progress.cmp(&tb.progress) {
            Ordering::Greater => titles_won_a += 1,
            Ordering::Less => titles_won_b += 1,
            Ordering::Equal => {}
        }
    }

    let leader = |x: u32, y: u32| match x.cmp(&y) {
        Ordering::Greater => name_a.clone(),
        Ordering::Less => name_b.clone(),
        Ordering::Equal => "tied".to_string(),
    };
    let level_a = a.summary.as_ref().and_then(|s| s.level);
    let level_b = b.summary.as_ref().and_then(|s| s.level);
    let mut leads = Vec::new();
    if let (Some(la), Some(lb)) = (level_a, level_b) {
        leads.push(format!("Level: {}", leader(la, lb)));
    }
    leads.push(format!(
        "Points: {}",
        leader(earned_a.points(), earned_b.points())
    ));
    leads.push(format!(
        "Platinums: {}",
        leader(earned_a.platinum, earned_b.platinum)
    ));
    if !shared.is_empty() {
        leads.push(format!(
            "Shared titles: {name_a} ahead in {titles_won_a}, {name_b} ahead in {titles_won_b}"
        ));
    }
    embed = embed.field("Who leads", leads.join("\n"), false);

    if shared.is_empty() {
        embed = embed.field(
            "Recent shared titles",
            "None among their recent titles.",
            false,
        );
    }
    let shown = &shared[..shared.len().min(SHARED_TITLES)];
    let names = title_names(
        shown.iter().map(|(ta, _)| NamedTitle::from(*ta)),
        NameStyle::Reply,
    );
    for ((ta, tb), name) in shown.iter().zip(names) {
        embed = embed.field(
            name,
            format!(
                "{name_a}: {}\n{name_b}: {}",
                progress_bar(ta.progress),
                progress_bar(tb.progress)
            ),
            false,
        );
    }
    // A whole library stands in for a short recent list: these can run into thousands.
    let mut footer = format!(
        "{} shared among their {} and {} most recent titles",
        format_count(shared.len() as u64),
        format_count(a.recent.len() as u64),
        format_count(b.recent.len() as u64)
    );
    if a.library_cut || b.library_cut {
        footer.push_str(" · the rest of the library is past this command's PSN request cap");
    }
    Reply::embed(embed.footer(footer))
}

/// `/compare` with a game: trophy by trophy, who earned what.
pub fn compare_title(a: &UserTitleTrophies, b: &UserTitleTrophies) -> Reply {
    let (name_a, name_b) = (
        escape_markdown(&a.account.online_id),
        escape_markdown(&b.account.online_id),
    );
    let earned_b: HashMap<u32, &UserTrophy> =
        b.trophies.iter().map(|t| (t.definition.id, t)).collect();
    let mut lines = Vec::new();
    let mut used = 0;
    let mut left_out = 0;
    for trophy in &a.trophies {
        let def = &trophy.definition;
        let b_earned = earned_b.get(&def.id).is_some_and(|t| t.earned);
        // A hidden trophy is a spoiler unless one of the two has already earned it.
        let name = if def.hidden && !trophy.earned && !b_earned {
            HIDDEN_NAME.to_string()
        } else {
            escape_markdown(&truncate(&def.name, 80))
        };
        let mark = |earned: bool| if earned { "✅" } else { "⬜" };
        let line = format!(
            "{} {name} — {} {} · {} {}",
            trophy_emoji(def.kind),
            mark(trophy.earned),
            name_a,
            mark(b_earned),
            name_b
        );
        if left_out > 0 || used + line.chars().count() + 1 > TROPHY_LIST_BUDGET {
            left_out += 1;
            continue;
        }
        used += line.chars().count() + 1;
        lines.push(line);
    }
    if left_out > 0 {
        lines.push(format!("… and {left_out} more"));
    }

    let (ea, eb) = (a.earned_counts(), b.earned_counts());
    let total = format_count(a.trophies.len() as u64);
    let summary = format!(
        "{name_a}: **{}/{total}** · {}\n{name_b}: **{}/{total}** · {}",
        format_count(ea.total()),
        counts_line(&ea),
        format_count(eb.total()),
        counts_line(&eb)
    );
    let leader = match ea.points().cmp(&eb.points()) {
        Ordering::Greater => format!("{name_a} leads"),
        Ordering::Less => format!("{name_b} leads"),
        Ordering::Equal => "Tied".to_string(),
    };
    let embed = Embed::new()
        .title(title_name(&a.title.name, &a.title.platforms))
        .description(format!("{summary}\n**{leader}**\n\n{}", lines.join("\n")))
        .color(COLOR_INFO)
        .thumbnail(a.title.icon_url.clone())
        // Footers show text literally: raw names, not escaped ones.
        .footer(format!(
            "{} vs {} · {}",
            a.account.online_id, b.account.online_id, a.title.np_communication_id
        ));
    Reply::embed(embed)
}
