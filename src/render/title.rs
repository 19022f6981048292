use psn::{TrophyCounts, UserTitleTrophies, UserTrophy};

use super::{
    counts_line, format_count, format_date, rarity_label, title_name, trophy_emoji, COLOR_INFO,
    HIDDEN_DETAIL, HIDDEN_NAME,
};
use crate::model::reply::{truncate, ActionRow, Button, ButtonStyle, Embed, Reply};
use crate::render::markdown::escape_markdown;

/// Trophies per page: twelve keep a page readable and well under the description limit.
pub const TROPHIES_PER_PAGE: usize = 12;
/// Stands for the Discord user allowed to turn the pages; the bot layer replaces it with the
/// invoker's ID (the console has none).
pub const INVOKER_PLACEHOLDER: &str = "0";
/// A name or detail longer than this is cut, so twelve trophies always fit one page.
const TEXT_MAX: usize = 120;
const CUSTOM_ID_PREFIX: &str = "trophies";

/// What a page button must carry to redraw its page without any other state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRef {
    pub online_id: String,
    pub account_id: String,
    pub np_communication_id: String,
    /// Zero-based.
    pub page: usize,
    /// The Discord user who may turn the pages; `None` for the placeholder.
    pub invoker: Option<u64>,
}

impl PageRef {
    /// `trophies:{onlineId}:{accountId}:{npCommunicationId}:{page}:{invoker}`: at most
    /// 9 + 16 + 20 + 12 + 4 + 20 + 5 separators, well within Discord's 100.
    pub fn to_custom_id(&self) -> String {
        let invoker = self
            .invoker
            .map_or_else(|| INVOKER_PLACEHOLDER.to_string(), |id| id.to_string());
        format!(
            "{CUSTOM_ID_PREFIX}:{}:{}:{}:{}:{invoker}",
            self.online_id, self.account_id, self.np_communication_id, self.page
        )
    }

    /// `None` for anything that is not one of our page buttons.
    pub fn parse(custom_id: &str) -> Option<PageRef> {
        let mut parts = custom_id.split(':');
        if parts.next()? != CUSTOM_ID_PREFIX {
            return None;
        }
        let online_id = parts.next()?.to_string();
        let account_id = parts.next()?.to_string();
        let np_communication_id = parts.next()?.to_string();
        let page = parts.next()?.parse().ok()?;
        let invoker = match parts.next()? {
            INVOKER_PLACEHOLDER => None,
            id => Some(id.parse().ok()?),
        };
        if parts.next().is_some()
            || online_id.is_empty()
            || account_id.is_empty()
            || np_communication_id.is_empty()
        {
            return None;
        }
        Some(PageRef {
            online_id,
            account_id,
            np_communication_id,
            page,
            invoker,
        })
    }
}

/// `/trophies` with a game: one page of the title's trophies, by group, with page buttons.
/// A page past the end shows the last page.
pub fn title_page(user: &UserTitleTrophies, page: usize) -> Reply {
    let title = &user.title;
    let group_order = |group_id: &str| {
        title
            .groups
            .iter()
            .position(|g| g.id == group_id)
            .unwrap_or(usize::MAX)
    };
    let mut trophies: Vec<&UserTrophy> = user.trophies.iter().collect();
    trophies.sort_by_key(|t| (group_order(&t.definition.group_id), t.definition.id));

    let pages = trophies.len().div_ceil(TROPHIES_PER_PAGE).max(1);
    let page = page.min(pages - 1);
    let shown = trophies
        .iter()
        .skip(page * TROPHIES_PER_PAGE)
        .take(TROPHIES_PER_PAGE);

    let earned = user.earned_counts();
    let mut defined = TrophyCounts::default();
    for t in &user.trophies {
        defined.add(t.definition.kind, 1);
    }
    let mut lines = vec![format!(
        "Earned **{}/{}** · {}",
        format_count(earned.total()),
        format_count(defined.total()),
        counts_line(&earned)
    )];
    let mut current_group: Option<&str> = None;
    for trophy in shown {
        let group_id = trophy.definition.group_id.as_str();
        if current_group != Some(group_id) {
            current_group = Some(group_id);
            let group_name = title
                .groups
                .iter()
                .find(|g| g.id == group_id)
                .map_or_else(|| group_id.to_string(), |g| g.name.clone());
            let label = if group_id == "default" {
                "Base game"
            } else {
                "Add-on"
            };
            lines.push(format!(
                "\n__{label}: {}__",
                escape_markdown(&truncate(&group_name, TEXT_MAX))
            ));
        }
        lines.push(trophy_lines(trophy));
    }

    let mut embed = Embed::new()
        // Author names show text literally: the raw name, not an escaped one.
        .author(user.account.online_id.clone())
        .title(title_name(&title.name, &title.platforms))
        .description(lines.join("\n"))
        .color(COLOR_INFO)
        .thumbnail(title.icon_url.clone())
        .footer(format!(
            "Page {}/{pages} · {}",
            page + 1,
            title.np_communication_id
        ));
    if let Some(at) = user.last_updated {
        embed = embed.timestamp(at);
    }

    let components = if pages > 1 {
        let page_ref = |page: usize| {
            PageRef {
                online_id: user.account.online_id.clone(),
                account_id: user.account.account_id.clone(),
                np_communication_id: title.np_communication_id.clone(),
                page,
                invoker: None,
            }
            .to_custom_id()
        };
        vec![ActionRow::new(vec![
            Button::new(
                ButtonStyle::Secondary,
                "◀ Previous",
                page_ref(page.saturating_sub(1)),
                page == 0,
            ),
            Button::new(
                ButtonStyle::Secondary,
                "Next ▶",
                page_ref(page + 1),
                page + 1 >= pages,
            ),
        ])]
    } else {
        Vec::new()
    };
    Reply::new(None, vec![embed], components, false)
}

fn trophy_lines(trophy: &UserTrophy) -> String {
    let def = &trophy.definition;
    let masked = def.hidden && !trophy.earned;
    let (name, detail) = if masked {
        (HIDDEN_NAME.to_string(), HIDDEN_DETAIL.to_string())
    } else {
        (
            escape_markdown(&truncate(&def.name, TEXT_MAX)),
            escape_markdown(&truncate(&def.detail, TEXT_MAX)),
        )
    };
    let state = match (trophy.earned, trophy.earned_at) {
        (true, Some(at)) => format!("✅ {}", format_date(at)),
        (true, None) => "✅ earned (date unknown)".to_string(),
        (false, _) => "⬜ not earned".to_string(),
    };
    format!(
        "{} **{name}** — {detail}\n{state} · {}",
        trophy_emoji(def.kind),
        rarity_label(trophy.earned_rate, trophy.rarity)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_ref_round_trips_and_fits() {
        let page_ref = PageRef {
            online_id: "a234567890123456".into(),
            account_id: "18446744073709551615".into(),
            np_communication_id: "NPWR15509_00".into(),
            page: 999,
            invoker: Some(u64::MAX),
        };
        let id = page_ref.to_custom_id();
        assert!(id.len() <= crate::model::reply::limits::CUSTOM_ID);
        assert_eq!(PageRef::parse(&id), Some(page_ref));
    }

    #[test]
    fn page_ref_rejects_foreign_ids() {
        assert_eq!(PageRef::parse("other:a:b:c:1:0"), None);
        assert_eq!(PageRef::parse("trophies:a:b:c:x:0"), None);
        assert_eq!(PageRef::parse("trophies:a:b:c:1:0:extra"), None);
    }
}
