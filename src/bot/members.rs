//! Whether a Discord user is a member of a server, for showing a verified link only where its
//! user is. The bot has no GUILD_MEMBERS intent (so no member cache): it asks Discord
//! (`GET /guilds/{guild}/members/{user}`, a 404 "Unknown Member" meaning no) and remembers the
//! answer for [`MEMBERSHIP_TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio::time::Instant;

/// How long an answer is reused: a user who just left may still be named for this long.
pub const MEMBERSHIP_TTL: Duration = Duration::from_secs(10 * 60);
/// One question to Discord never holds a reply up for longer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);
/// Answers remembered at most; past it the expired ones go, then all.
const CAPACITY: usize = 10_000;

/// By (guild, user): when Discord answered, and whether the user was a member.
type Answers = HashMap<(u64, u64), (Instant, bool)>;

/// Remembered membership answers, shared by every handler.
#[derive(Clone, Default)]
pub struct Members {
    known: Arc<Mutex<Answers>>,
}

impl Members {
    /// Whether `user` is a member of `guild`. When Discord cannot say (an error, a timeout) the
    /// answer is no: a name is left out rather than shown where it may not belong.
    pub async fn is_member(&self, http: &serenity::Http, guild: u64, user: u64) -> bool {
        if guild == 0 || user == 0 {
            return false;
        }
        if let Some(known) = self.remembered(guild, user) {
            return known;
        }
        let asked = tokio::time::timeout(
            CHECK_TIMEOUT,
            http.get_member(serenity::GuildId::new(guild), serenity::UserId::new(user)),
        )
        .await;
        let answer = match asked {
            Ok(Ok(_)) => true,
            Ok(Err(err)) if is_not_found(&err) => false,
            Ok(Err(err)) => {
                tracing::warn!(%err, guild, "could not ask Discord about a member");
                return false;
            }
            Err(_) => {
                tracing::warn!(
                    guild,
                    "Discord did not say in time whether a user is a member"
                );
                return false;
            }
        };
        self.remember(guild, user, answer);
        answer
    }

    fn remembered(&self, guild: u64, user: u64) -> Option<bool> {
        let known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        known
            .get(&(guild, user))
            .filter(|(at, _)| at.elapsed() < MEMBERSHIP_TTL)
            .map(|(_, member)| *member)
    }

    fn remember(&self, guild: u64, user: u64, member: bool) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if known.len() >= CAPACITY {
            known.retain(|_, (at, _)| at.elapsed() < MEMBERSHIP_TTL);
            if known.len() >= CAPACITY {
                known.clear();
            }
        }
        known.insert((guild, user), (Instant::now(), member));
    }
}

/// Discord's 404s here: Unknown Member (10007), or Unknown User for an ID no one has.
fn is_not_found(err: &serenity::Error) -> bool {
    matches!(
        err,
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))
            if response.status_code == serenity::StatusCode::NOT_FOUND
    )
}
