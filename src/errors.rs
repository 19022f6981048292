//! The one place where failures become the words users read (console and bot alike).

use crate::model::reply::{Embed, Reply};
use crate::render::markdown::escape_markdown;
use crate::render::COLOR_ERROR;

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
    /// No game a tracked player of this server owns matches `/trophy`'s `game` option.
    #[error("no game matching {query:?} among this server's tracked players")]
    ServerGameNotFound { query: String },
    /// The game has no trophy matching `/trophy`'s `trophy` option (or its trophy list is not
    /// stored yet: `known` is false).
    #[error("no trophy matching {query:?} in {game:?}")]
    TrophyNotFound {
        game: String,
        query: String,
        known: bool,
    },
    /// `/compare` of an account with itself (the same account ID, however it was spelled).
    #[error("{online_id:?} compared with itself")]
    SameAccount { online_id: String },
    /// An option value the command cannot use; the message explains it to the user.
    #[error("{0}")]
    BadOption(String),
    /// The bot's database failed; the text is for the log only (never shown).
    #[error("database error: {0}")]
    Storage(String),
    /// A server-admin command used by a member without Manage Server.
    #[error("the member lacks Manage Server")]
    NeedsManageServer,
    /// `/track add` in a server already tracking its cap of accounts.
    #[error("the server tracks {tracked} accounts, its cap is {cap}")]
    TrackCapReached { tracked: usize, cap: usize },
    /// `/track remove` of an account the server does not track.
    #[error("{user:?} is not tracked here")]
    NotTracked { user: String },
    /// The channel chosen for announcements cannot take them.
    #[error("channel {channel_id} cannot take announcements: {problem:?}")]
    ChannelUnusable {
        channel_id: u64,
        problem: ChannelProblem,
    },
    /// A command that needs the caller's linked PSN account (no `user` given, or `/link` with
    /// nothing to check) from someone who has none.
    #[error("the caller has no linked PSN account")]
    NotLinked,
    /// Something failed on the bot's side (a panic, Discord refusing a request); the details
    /// are logged where it happened.
    #[error("internal error")]
    Internal,
    /// The bot is shutting down (a restart or an update) and takes no new work.
    #[error("the bot is shutting down")]
    ShuttingDown,
    /// A page button pressed by someone other than the member who ran the command.
    #[error("page buttons pressed by someone else")]
    NotYourButtons,
    /// A button press whose `custom_id` is not one of the buttons on the pressed message (a
    /// crafted one, which could otherwise name any PSN account).
    #[error("a button that is not on the message")]
    ForgedButton,
    /// Discord sent an option value the command cannot read.
    #[error("unreadable option value {input:?}")]
    UnreadableOption { input: Option<String> },
    /// Discord's copy of the command is older than the bot's (it is being re-registered).
    #[error("Discord's command definition is out of date")]
    CommandOutdated,
    /// The caller (or their server) used up their share of the bot's PSN budget for now;
    /// nothing was spent. The command fits again at `retry_at`.
    #[error("{kind:?} share of the PSN budget used up until {retry_at}")]
    ShareUsed {
        kind: ShareKind,
        retry_at: chrono::DateTime<chrono::Utc>,
    },
    /// The command was used again too soon.
    #[error("cooldown: {wait_secs} s left")]
    Cooldown { wait_secs: u64 },
    /// The bot lacks Discord permissions it needs here (their names as Discord shows them).
    #[error("the bot lacks permissions: {0}")]
    BotLacksPermissions(String),
    /// The member lacks permissions the command needs (`None`: Discord did not say which).
    #[error("the member lacks permissions: {0:?}")]
    MemberLacksPermissions(Option<String>),
    /// A command reserved for the bot's owner.
    #[error("owner only")]
    OwnerOnly,
    /// A command that works only in a server, used in a direct message.
    #[error("server only")]
    ServerOnly,
    /// A command that works only in direct messages, used in a server.
    #[error("direct messages only")]
    DirectMessagesOnly,
    /// A command that works only in age-restricted channels.
    #[error("age-restricted channels only")]
    AgeRestrictedOnly,
    /// A command group used without one of its subcommands.
    #[error("a subcommand is required")]
    SubcommandRequired,
    /// Discord could not tell the bot the permissions it needed to check.
    #[error("permissions could not be checked")]
    PermissionsUnknown,
}

/// Whose share of the bot's PSN budget a command did not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareKind {
    User,
    Server,
}

impl ShareKind {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            ShareKind::User => "user_share",
            ShareKind::Server => "server_share",
        }
    }
}

/// Why a channel cannot take announcements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelProblem {
    /// Not a channel of this server (or the bot cannot see it at all).
    NotInServer,
    /// A voice, forum, category or other channel that cannot hold the bot's messages.
    NotText,
    /// The bot lacks these permissions there (their names as Discord shows them).
    MissingPermissions(Vec<&'static str>),
}

impl From<crate::store::StoreError> for CommandError {
    fn from(err: crate::store::StoreError) -> CommandError {
        CommandError::Storage(err.to_string())
    }
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
        CommandError::ServerGameNotFound { query } => (
            "Game not found",
            format!(
                "None of the players this server tracks has a game matching **{}** (only players \
                 whose trophy list is public count). Pick one from the list as you type.",
                escape_markdown(query)
            ),
        ),
        CommandError::TrophyNotFound {
            game,
            query,
            known: true,
        } => (
            "Trophy not found",
            format!(
                "**{}** has no trophy matching **{}**. Pick one from the list as you type.",
                escape_markdown(game),
                escape_markdown(query)
            ),
        ),
        CommandError::TrophyNotFound {
            game, known: false, ..
        } => (
            "Trophy not found",
            format!(
                "I don't have the trophy list of **{}** stored yet: it is stored once a tracked \
                 player earns a trophy in it. Try again later.",
                escape_markdown(game)
            ),
        ),
        CommandError::SameAccount { online_id } => (
            "Same account",
            format!(
                "That's the same PSN account twice (**{}**): pick someone else to compare with.",
                escape_markdown(online_id)
            ),
        ),
        CommandError::BadOption(explanation) => ("That option won't work", explanation.clone()),
        CommandError::Storage(reason) => {
            tracing::error!(%reason, "the database failed while answering a command");
            (
                "Something went wrong",
                "The bot could not reach its database. Nothing was changed; please try again in \
                 a minute."
                    .to_string(),
            )
        }
        CommandError::NeedsManageServer => (
            "Manage Server needed",
            "Only members with the **Manage Server** permission can change what this server \
             tracks. Nothing was changed."
                .to_string(),
        ),
        CommandError::TrackCapReached { tracked, cap } => (
            "Tracking limit reached",
            format!(
                "This server already tracks {tracked} PSN accounts, the most one server may \
                 track ({cap}) so that every server gets its share of the PSN budget. Remove one \
                 with `/track remove` first. Nothing was changed."
            ),
        ),
        CommandError::NotTracked { user } => (
            "Not tracked here",
            format!(
                "This server does not track **{}**. `/track list` shows the accounts it tracks.",
                escape_markdown(user)
            ),
        ),
        CommandError::ChannelUnusable {
            channel_id,
            problem,
        } => (
            "That channel won't work",
            match problem {
                ChannelProblem::NotInServer => format!(
                    "<#{channel_id}> is not a channel of this server that I can see. Please \
                     choose a text channel here. Nothing was changed."
                ),
                ChannelProblem::NotText => format!(
                    "<#{channel_id}> is not a text channel. Announcements need a text or \
                     announcement channel. Nothing was changed."
                ),
                ChannelProblem::MissingPermissions(missing) => format!(
                    "I can't post announcements in <#{channel_id}>: I need the **{}** \
                     permission{} there. Please give them to me or choose another channel. \
                     Nothing was changed.",
                    missing.join("**, **"),
                    if missing.len() == 1 { "" } else { "s" }
                ),
            },
        ),
        CommandError::NotLinked => (
            "No linked PSN account",
            "You have not linked a PSN account yet. Give a PSN online ID with the `user` option, \
             or link your own once with `/link user:YOUR_ONLINE_ID`."
                .to_string(),
        ),
        CommandError::Internal => (
            "Something went wrong",
            "Something went wrong on our side while answering. Nothing was changed; please try \
             again in a minute."
                .to_string(),
        ),
        CommandError::ShuttingDown => (
            "Restarting",
            "The bot is restarting. Please try again in a minute.".to_string(),
        ),
        CommandError::NotYourButtons => (
            "Not your buttons",
            "Only the person who ran this command can turn its pages. Run the command yourself \
             to browse."
                .to_string(),
        ),
        CommandError::ForgedButton => (
            "This button is not valid",
            "This button is not valid. Run the command again to browse its pages.".to_string(),
        ),
        CommandError::UnreadableOption { input } => (
            "That option won't work",
            format!(
                "That option value won't work{}. Please check the command's options.",
                input
                    .as_deref()
                    .map(|i| format!(" ({})", escape_markdown(i)))
                    .unwrap_or_default()
            ),
        ),
        CommandError::CommandOutdated => (
            "Command updating",
            "This command changed since Discord last saw it. Please try again in a minute."
                .to_string(),
        ),
        CommandError::ShareUsed { kind, retry_at } => (
            "Rate limit reached",
            format!(
                "{} used {} share of the bot's PSN requests for now (a rate limit that keeps the \
                 bot fair to everyone). Nothing was spent; please try again <t:{}:R>.",
                match kind {
                    ShareKind::User => "You have",
                    ShareKind::Server => "This server has",
                },
                match kind {
                    ShareKind::User => "your",
                    ShareKind::Server => "its",
                },
                retry_at.timestamp()
            ),
        ),
        CommandError::Cooldown { wait_secs } => (
            "Slow down",
            format!(
                "Please wait {} s before using this command again.",
                (*wait_secs).max(1)
            ),
        ),
        CommandError::BotLacksPermissions(missing) => (
            "Permissions needed",
            format!("I need these permissions here: {missing}."),
        ),
        CommandError::MemberLacksPermissions(missing) => (
            "Permissions needed",
            match missing {
                Some(missing) => {
                    format!("You need these permissions to use this command: {missing}.")
                }
                None => "You don't have the permissions this command needs.".to_string(),
            },
        ),
        CommandError::OwnerOnly => (
            "Owner only",
            "Only the bot's owner can use this command.".to_string(),
        ),
        CommandError::ServerOnly => (
            "Servers only",
            "This command works in servers only.".to_string(),
        ),
        CommandError::DirectMessagesOnly => (
            "Direct messages only",
            "This command works in direct messages only.".to_string(),
        ),
        CommandError::AgeRestrictedOnly => (
            "Age-restricted channels only",
            "This command works in age-restricted channels only.".to_string(),
        ),
        CommandError::SubcommandRequired => (
            "Choose a subcommand",
            "Please choose one of this command's subcommands.".to_string(),
        ),
        CommandError::PermissionsUnknown => (
            "Permissions unknown",
            "I couldn't check permissions here. Please try again.".to_string(),
        ),
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
        Error::Unsupported(what) => (
            "Not available",
            format!("The PSN API the bot is set up with does not offer {what}."),
        ),
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
