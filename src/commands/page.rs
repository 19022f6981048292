//! Page buttons: redraw a page from the button's custom_id alone.

use psn::Account;

use super::Services;
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render::{self, PageRef};

/// The worst-case PSN requests of redrawing `page` as the client's caches stand: the title's
/// definitions and the player's earned state, each unless cached (0 while the command that
/// showed the page, or the last press, left them in the cache).
pub fn estimate(services: &Services, page: &PageRef) -> u32 {
    let account = Account {
        account_id: page.account_id.clone(),
        online_id: page.online_id.clone(),
    };
    services.title_trophies_cost(&account, &page.np_communication_id)
}

/// The page a button asks for, redrawn. The caller (the bot) checks `PageRef::invoker` against
/// the user who pressed it before calling this.
pub async fn redraw(services: &Services, page: PageRef) -> Result<Reply, CommandError> {
    let account = Account {
        account_id: page.account_id,
        online_id: page.online_id,
    };
    let trophies = services
        .client
        .user_trophies(&account, &page.np_communication_id)
        .await?;
    Ok(render::title_page(&trophies, page.page))
}

/// Puts the invoker's Discord user ID into every page button of `reply`, so only they can turn
/// the pages.
pub fn fill_invoker(reply: Reply, invoker: u64) -> Reply {
    reply.map_custom_ids(|id| match PageRef::parse(id) {
        Some(page) => PageRef {
            invoker: Some(invoker),
            ..page
        }
        .to_custom_id(),
        None => id.to_string(),
    })
}
