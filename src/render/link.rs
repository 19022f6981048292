//! `/link` and `/unlink` replies: only the caller sees them (a verification code is personal).

use super::COLOR_INFO;
use crate::model::reply::{Embed, Reply};
use crate::render::markdown::escape_markdown;

/// Green: the link is proven.
const COLOR_VERIFIED: u32 = 0x2E9E5B;

/// Where the player edits the text PSN calls "About me".
const ABOUT_ME_STEPS: &str = "PlayStation app: **Profile → ⋯ → Edit profile → About me**; \
                              PS5: **Profile → Edit profile → About me**";

/// What `/link` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// A new link, or one replacing the caller's link to another account (`replaced`): usable
    /// at once, verified once `code` appears in the account's "About me".
    Linked {
        online_id: String,
        code: String,
        replaced: Option<String>,
    },
    /// The caller's account again, but its "About me" does not hold the code (yet).
    NotVerifiedYet { online_id: String, code: String },
    /// The code was found just now: the link is verified.
    Verified { online_id: String },
    /// The link was verified before; nothing changed.
    AlreadyVerified { online_id: String },
}

/// The ephemeral reply to `/link`.
pub fn link(outcome: &LinkOutcome) -> Reply {
    let embed = match outcome {
        LinkOutcome::Linked {
            online_id,
            code,
            replaced,
        } => {
            let name = escape_markdown(online_id);
            let mut description = format!(
                "Your Discord account is now linked to PSN **{name}**. `/trophies`, `/rarest` and \
                 `/compare` use it when you leave out `user`."
            );
            if let Some(old) = replaced {
                description.push_str(&format!(
                    "\nThis replaces your link to **{}**.",
                    escape_markdown(old)
                ));
            }
            Embed::new()
                .title(format!("Linked to {name}"))
                .description(description)
                .color(COLOR_INFO)
                .field("Verification code", format!("`{code}`"), false)
                .field("Prove it's yours", verify_steps(&name, code), false)
                .footer("Only verified links show as verified on the server's leaderboard.")
        }
        LinkOutcome::NotVerifiedYet { online_id, code } => {
            let name = escape_markdown(online_id);
            Embed::new()
                .title("Not verified yet")
                .description(format!(
                    "The \"About me\" of PSN **{name}** does not contain `{code}` yet. Your link \
                     still works; it is just not verified."
                ))
                .color(COLOR_INFO)
                .field("Verification code", format!("`{code}`"), false)
                .field("Prove it's yours", verify_steps(&name, code), false)
                .footer("PSN can take a minute to show a change to your profile.")
        }
        LinkOutcome::Verified { online_id } => Embed::new()
            .title("Verified")
            .description(format!(
                "PSN **{}** is now verified as yours. You can remove the code from your \"About \
                 me\".",
                escape_markdown(online_id)
            ))
            .color(COLOR_VERIFIED),
        LinkOutcome::AlreadyVerified { online_id } => Embed::new()
            .title("Already linked")
            .description(format!(
                "Your Discord account is linked to PSN **{}**, verified. Nothing changed. \
                 `/unlink` removes the link.",
                escape_markdown(online_id)
            ))
            .color(COLOR_VERIFIED),
    };
    Reply::new(None, vec![embed], Vec::new(), true)
}

fn verify_steps(name: &str, code: &str) -> String {
    format!(
        "1. Put `{code}` anywhere in the \"About me\" of **{name}** ({ABOUT_ME_STEPS}).\n\
         2. Save it, then run `/link` here again.\n\
         You can remove the code once you are verified."
    )
}

/// The ephemeral reply to `/unlink`: the online ID the link named, or `None` when there was no
/// link.
pub fn unlink(removed: Option<&str>) -> Reply {
    let embed = match removed {
        Some(online_id) => Embed::new().title("Unlinked").description(format!(
            "Your Discord account is no longer linked to PSN **{}**.",
            escape_markdown(online_id)
        )),
        None => Embed::new()
            .title("Nothing to unlink")
            .description("Your Discord account is not linked to a PSN account."),
    };
    Reply::new(None, vec![embed.color(COLOR_INFO)], Vec::new(), true)
}
