//! `/link [user]`, `/unlink`, and `user` defaulting to the caller's linked PSN account.
//!
//! `/link user` links the caller to that account (replacing a link to another one) and gives a
//! verification code. Running `/link` again, with the same `user` or none, checks the account's
//! PSN "About me" for the code and marks the link verified when it is there.

use psn::{Account, OnlineId};

use super::Services;
use crate::errors::CommandError;
use crate::model::reply::Reply;
use crate::render::{self, LinkOutcome};
use crate::store::{about_me_holds_code, LinkedAccount, Store};

/// `/link`: links `discord_user_id` to `user`, or checks the verification of the existing link
/// when `user` names the linked account or is left out.
pub async fn link(
    services: &Services,
    store: &Store,
    discord_user_id: u64,
    user: Option<&OnlineId>,
) -> Result<Reply, CommandError> {
    let existing = store.linked_account(discord_user_id).await?;
    let account = match (user, &existing) {
        // Validated and resolved before anything is stored: a renamed user links to the
        // current ID, an unknown one is not found.
        (Some(user), _) => services.client.resolve_user(user).await?,
        (None, Some(linked)) => Account {
            account_id: linked.account_id.clone(),
            online_id: linked.online_id.clone(),
        },
        (None, None) => return Err(CommandError::NotLinked),
    };
    let outcome = match existing {
        Some(linked) if linked.account_id == account.account_id => {
            check_verification(services, store, discord_user_id, &linked, &account).await?
        }
        replaced => {
            let code = store
                .link_user(discord_user_id, &account.account_id, &account.online_id)
                .await?;
            LinkOutcome::Linked {
                online_id: account.online_id,
                code,
                replaced: replaced.map(|old| old.online_id),
            }
        }
    };
    Ok(render::link(&outcome))
}

/// Reads the account's "About me" now (never from a cache) and verifies the link when it holds
/// the link's code.
async fn check_verification(
    services: &Services,
    store: &Store,
    discord_user_id: u64,
    linked: &LinkedAccount,
    account: &Account,
) -> Result<LinkOutcome, CommandError> {
    if linked.verified_at.is_some() {
        if linked.online_id != account.online_id {
            // Renamed since the link was made: keep the stored ID current (verification stays).
            store
                .mark_link_verified(discord_user_id, &account.account_id, &account.online_id)
                .await?;
        }
        return Ok(LinkOutcome::AlreadyVerified {
            online_id: account.online_id.clone(),
        });
    }
    // Links always get a code; one made before codes existed gets it here.
    let code = store
        .verify_code(discord_user_id)
        .await?
        .ok_or(CommandError::NotLinked)?;
    let online_id = OnlineId::parse(&account.online_id)?;
    let profile = services.client.profile(&online_id).await?;
    let holds_code = profile
        .about_me
        .as_deref()
        .is_some_and(|about_me| about_me_holds_code(about_me, &code));
    if !holds_code {
        return Ok(LinkOutcome::NotVerifiedYet {
            online_id: profile.account.online_id,
            code,
        });
    }
    let still_linked = store
        .mark_link_verified(
            discord_user_id,
            &profile.account.account_id,
            &profile.account.online_id,
        )
        .await?;
    if !still_linked {
        // `/unlink` (or a link to another account) ran meanwhile: nothing to verify any more.
        return Err(CommandError::NotLinked);
    }
    Ok(LinkOutcome::Verified {
        online_id: profile.account.online_id,
    })
}

/// `/unlink`: removes the caller's link and says which account it named, or that there was none.
pub async fn unlink(store: &Store, discord_user_id: u64) -> Result<Reply, CommandError> {
    let removed = store.remove_link(discord_user_id).await?;
    Ok(render::unlink(
        removed.as_ref().map(|linked| linked.online_id.as_str()),
    ))
}

/// The caller's linked PSN account (verified or not: the link is the caller's own choice of
/// default), for commands whose `user` was left out.
pub async fn linked_player(store: &Store, discord_user_id: u64) -> Result<OnlineId, CommandError> {
    match store.linked_account(discord_user_id).await? {
        Some(linked) => Ok(OnlineId::parse(&linked.online_id)?),
        None => Err(CommandError::NotLinked),
    }
}
