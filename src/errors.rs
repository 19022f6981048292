//! The one place where failures become the words users read (console and bot alike).

use crate::render::COLOR_ERROR;
use crate::reply::{escape_markdown, Embed, Reply};

/// Exit code of a reply that is an error shown to the user.
pub const EXIT_USER_ERROR: i32 = 1;
/// Exit code of a usage or configuration error (nothing was sent anywhere).
pub const EXIT_USAGE: i32 = 2;

/// Why a command could not answer. Everything here is shown to the user as an error reply.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Psn(#[from] psn::Error),
    /// No title of the user's matches the `game` option.
    #[error("no title matching {query:?} found for {online_id:?}")]
    GameNotFound { online_id: String, query: String },
    /// An option value the command cannot use; the message explains it to the user.
    #[error("{0}")]
    BadOption(String),
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        EXIT_USER_ERROR
    }
}

/// The error reply for `err`: ephemeral, in plain words naming the cause. Failures the operator
/// must act on (the PSN credential, unreadable answers) are logged here too.
pub fn error_reply(err: &CommandError) -> Reply {
    let (title, text) = match err {
        CommandError::Psn(err) => psn_words(err),
        CommandError::GameNotFound { online_id, query } => (
            "Game not found",
            format!(
                "No game matching **{}** was found in {}'s trophy list. Try the game's exact name \
                 or its npCommunicationId (like NPWR12345_00).",
                escape_markdown(query),
                escape_markdown(online_id)
            ),
        ),
        CommandError::BadOption(explanation) => ("That option won't work", explanation.clone()),
    };
    let embed = Embed::new()
        .title(title)
        .description(text)
        .color(COLOR_ERROR);
    Reply::new(None, vec![embed], Vec::new(), true)
}

fn psn_words(err: &psn::Error) -> (&'static str, String) {
    use psn::Error;
    match err {
        Error::InvalidOnlineId(id) => (
            "Invalid online ID",
            format!(
                "**{}** is not a valid PSN online ID: it must be 3 to 16 letters, digits, `-` or \
                 `_`, starting with a letter.",
                escape_markdown(id)
            ),
        ),
        Error::UserNotFound(id) => (
            "User not found",
            format!(
                "PSN user **{}** was not found. Check the spelling of the online ID.",
                escape_markdown(id)
            ),
        ),
        Error::TitleNotFound(id) => (
            "Game not found",
            format!(
                "The game **{}** was not found on PSN, or this user has not played it.",
                escape_markdown(id)
            ),
        ),
        Error::Private(id) => (
            "Private trophy list",
            format!(
                "**{}**'s trophy list is private. They can make it visible in their PSN privacy \
                 settings (Gaming | Media → Trophies: Anyone).",
                escape_markdown(id)
            ),
        ),
        Error::RateLimited { retry_at } => (
            "PSN rate limit",
            format!(
                "The bot reached PSN's rate limit. Please retry after {} UTC (<t:{}:R>).",
                retry_at.format("%Y-%m-%d %H:%M:%S"),
                retry_at.timestamp()
            ),
        ),
        Error::Credential(reason) => {
            // psn::Error never holds the secret itself, so the reason is safe to log.
            tracing::error!(%reason, "the PSN credential was rejected: the operator must renew it");
            (
                "PSN credential problem",
                "The bot's PSN credential has expired or was rejected. The bot's operator has \
                 been told; please try again later."
                    .to_string(),
            )
        }
        Error::Unavailable(reason) => {
            tracing::warn!(%reason, "PSN unavailable");
            (
                "PSN unavailable",
                "PSN is unavailable right now (it did not answer or answered with an error). \
                 Please try again in a few minutes."
                    .to_string(),
            )
        }
        Error::Malformed(reason) => {
            tracing::error!(%reason, "unreadable answer from PSN");
            (
                "Unexpected answer from PSN",
                "PSN answered something the bot could not read. Please try again later."
                    .to_string(),
            )
        }
    }
}
