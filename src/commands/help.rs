//! `/help`: the commands with an example each, what the server tracks and the caller's link,
//! read from the store only (no PSN request: help must answer even when PSN does not).

use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render::{self, CallerLink, HelpFor, ServerTracking};
use crate::store::Store;

/// `/help` in Discord: in a server (`guild_id`) or a direct message (`None`).
pub async fn run(
    store: &Store,
    guild_id: Option<u64>,
    discord_user_id: u64,
) -> Result<Reply, CommandError> {
    let server = match guild_id {
        Some(guild_id) => Some(ServerTracking {
            settings: store.guild_settings(guild_id).await?,
            accounts: store
                .tracked_accounts(guild_id)
                .await?
                .into_iter()
                .map(|view| view.account)
                .collect(),
        }),
        None => None,
    };
    let link = store
        .linked_account(discord_user_id)
        .await?
        .map(|linked| CallerLink {
            online_id: linked.online_id,
            verified: linked.verified_at.is_some(),
        });
    Ok(render::help(&HelpFor::Discord { server, link }))
}

/// `/help` in the console, which has no server and no Discord user: the commands and how to link.
pub fn general() -> Reply {
    render::help(&HelpFor::Console)
}
