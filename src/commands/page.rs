//! Page buttons: redraw a page from the button's custom_id alone.

use psn::Account;

use super::Ctx;
use crate::errors::CommandError;
use crate::render::{self, PageRef};
use crate::reply::Reply;

/// The page a button asks for, redrawn. The caller (the bot) checks `PageRef::invoker` against
/// the user who pressed it before calling this.
pub async fn redraw(ctx: &Ctx, custom_id: &str) -> Result<Reply, CommandError> {
    let page = PageRef::parse(custom_id).ok_or_else(|| {
        CommandError::BadOption("This button no longer works: run the command again.".into())
    })?;
    let account = Account {
        account_id: page.account_id,
        online_id: page.online_id,
    };
    let trophies = ctx
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
