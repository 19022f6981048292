//! The client's one error type. Callers map it to user words in one place (the bot's `errors`).

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The online ID is not a valid PSN online ID; nothing was sent.
    #[error(
        "invalid online ID {0:?}: 3 to 16 letters, digits, '-' or '_', starting with a letter"
    )]
    InvalidOnlineId(String),
    /// An unknown online ID.
    #[error("PSN user {0:?} not found")]
    UserNotFound(String),
    /// An unknown title (npCommunicationId), or one the user never played.
    #[error("title {0:?} not found")]
    TitleNotFound(String),
    /// The user's trophies are not visible to the bot's account (403, code 2240526).
    #[error("the trophy list of {0:?} is private")]
    Private(String),
    /// PSN's rate limit (or the client's own budget) allows the next request only at `retry_at`.
    #[error("PSN rate limit reached; retry after {retry_at}")]
    RateLimited { retry_at: DateTime<Utc> },
    /// The PSN credential is missing, expired or rejected. The message never holds the secret.
    #[error("PSN credential rejected: {0}")]
    Credential(String),
    /// PSN answered 5xx or timed out after the client's retries.
    #[error("PSN is unavailable: {0}")]
    Unavailable(String),
    /// The configured API does not offer this (the legacy API has no profiles and no presence);
    /// nothing was sent.
    #[error("the configured PSN API does not offer {0}")]
    Unsupported(String),
    /// PSN answered something the client cannot read.
    #[error("unexpected answer from PSN: {0}")]
    Malformed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
