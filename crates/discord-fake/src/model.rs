//! The fake's configuration and the records tests assert on.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::clock::FakeClock;
use crate::ratelimit::{RouteLimit, MESSAGE_CREATE_LIMIT, OTHER_ROUTE_LIMIT};

/// Permissions a plain member has: view channels, send messages, embed links, attach files,
/// read history, use application commands.
pub const MEMBER_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31);
/// The Manage Server permission bit.
pub const MANAGE_GUILD: u64 = 1 << 5;
/// Single permission bits, for channels that deny the bot something.
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const ATTACH_FILES: u64 = 1 << 15;
/// Discord's channel types the fake serves.
pub const CHANNEL_TEXT: u64 = 0;
pub const CHANNEL_VOICE: u64 = 2;
pub const CHANNEL_ANNOUNCEMENT: u64 = 5;

/// Everything the fake serves; ids are plain numbers, served as Discord's string snowflakes.
#[derive(Clone)]
pub struct FakeConfig {
    /// The bot token the fake accepts (REST `Authorization: Bot ...` and gateway IDENTIFY).
    pub token: String,
    pub application_id: u64,
    pub bot: FakeUser,
    pub guilds: Vec<FakeGuild>,
    pub heartbeat_interval: Duration,
    /// How long an earlier message with the same `nonce` is returned instead of a new one.
    pub nonce_window: Duration,
    pub clock: FakeClock,
    /// Message creates per channel (Discord: 5 per 5 s), counted on `clock`.
    pub message_create_limit: RouteLimit,
    /// Every other route's bucket, per major parameter, counted on `clock`.
    pub route_limit: RouteLimit,
    /// The shard count `GET /gateway/bot` recommends.
    pub recommended_shards: u32,
}

impl fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeConfig")
            .field("token", &"[redacted]")
            .field("application_id", &self.application_id)
            .field("bot", &self.bot)
            .field("guilds", &self.guilds)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("nonce_window", &self.nonce_window)
            .field("clock", &self.clock)
            .field("message_create_limit", &self.message_create_limit)
            .field("route_limit", &self.route_limit)
            .field("recommended_shards", &self.recommended_shards)
            .finish()
    }
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            token: "fake-token".to_owned(),
            application_id: 900_000_000_000_000_001,
            bot: FakeUser::new(900_000_000_000_000_001, "TrophyBot"),
            guilds: Vec::new(),
            heartbeat_interval: Duration::from_millis(41_250),
            nonce_window: Duration::from_secs(120),
            clock: FakeClock::new(),
            message_create_limit: MESSAGE_CREATE_LIMIT,
            route_limit: OTHER_ROUTE_LIMIT,
            recommended_shards: 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    pub id: u64,
    pub name: String,
    /// Permissions sent in `member.permissions` of the interactions this user triggers.
    pub permissions: u64,
}

impl FakeUser {
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            permissions: MEMBER_PERMISSIONS,
        }
    }

    /// The same user with Manage Server, as `/settings` and `/track` need.
    pub fn with_manage_guild(mut self) -> Self {
        self.permissions |= MANAGE_GUILD;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeChannel {
    pub id: u64,
    pub name: String,
    /// Discord's channel type ([`CHANNEL_TEXT`] unless built otherwise).
    pub kind: u64,
    /// Permissions a member overwrite on this channel denies the bot.
    pub bot_denied: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeGuild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    pub channels: Vec<FakeChannel>,
    pub members: Vec<FakeUser>,
    /// The most one message's files may weigh together: Discord's default
    /// ([`crate::UPLOAD_LIMIT`]) unless set, as a server's boost tier sets it for real.
    pub upload_limit: usize,
}

impl FakeGuild {
    pub fn new(id: u64, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            owner_id: 1,
            channels: Vec::new(),
            members: Vec::new(),
            upload_limit: crate::upload::UPLOAD_LIMIT,
        }
    }

    /// Sets the guild's upload limit in bytes (Discord's depends on the server's boost tier).
    pub fn upload_limit(mut self, bytes: usize) -> Self {
        self.upload_limit = bytes;
        self
    }

    pub fn channel(mut self, id: u64, name: impl Into<String>) -> Self {
        self.channels.push(FakeChannel {
            id,
            name: name.into(),
            kind: CHANNEL_TEXT,
            bot_denied: 0,
        });
        self
    }

    /// A voice channel: the bot can see it but it holds no announcements.
    pub fn voice_channel(mut self, id: u64, name: impl Into<String>) -> Self {
        self.channels.push(FakeChannel {
            id,
            name: name.into(),
            kind: CHANNEL_VOICE,
            bot_denied: 0,
        });
        self
    }

    /// A text channel whose permission overwrite denies the bot `denied` (e.g.
    /// [`SEND_MESSAGES`]).
    pub fn channel_denying_bot(mut self, id: u64, name: impl Into<String>, denied: u64) -> Self {
        self.channels.push(FakeChannel {
            id,
            name: name.into(),
            kind: CHANNEL_TEXT,
            bot_denied: denied,
        });
        self
    }

    pub fn member(mut self, user: FakeUser) -> Self {
        self.members.push(user);
        self
    }
}

/// One REST request as the fake received it, with the status it answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    /// The path below `/api/v10`, e.g. `/channels/10/messages`.
    pub path: String,
    pub query: Option<String>,
    pub body: Option<Value>,
    /// The answered status; 0 for a request the fake never answered ([`FaultKind::Hang`]).
    pub status: u16,
    /// When it arrived, on the fake's clock.
    pub at: DateTime<Utc>,
    /// When it arrived, in real time: how long a client held back between requests.
    pub received: std::time::Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the fake to the bot.
    Sent,
    /// From the bot to the fake.
    Received,
}

/// One gateway payload; tokens in IDENTIFY and RESUME are replaced by `[redacted]`.
#[derive(Clone, Debug)]
pub struct GatewayRecord {
    pub direction: Direction,
    pub op: u64,
    pub event: Option<String>,
    pub seq: Option<u64>,
    pub payload: Value,
    pub at: DateTime<Utc>,
}

/// One gateway shard as the fake saw it over the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardStatus {
    pub shard: u32,
    /// The shard count of its latest IDENTIFY.
    pub total: u32,
    /// How many distinct connections identified it.
    pub identifies: u64,
    pub resumes: u64,
    /// IDENTIFYs while another open connection was already identified on it: two clients
    /// running one shard.
    pub overlaps: u64,
    /// An identified or resumed connection for it is open now.
    pub connected: bool,
}

/// Identifies an interaction the fake dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InteractionId(pub u64);

/// What the bot did with an interaction, in the order the fake accepted it.
#[derive(Clone, Debug, PartialEq)]
pub enum InteractionEvent {
    /// `POST /interactions/{id}/{token}/callback`; `kind` is Discord's response type
    /// (4 message, 5 deferred message, 6 deferred update, 7 update message, 8 autocomplete).
    Callback {
        kind: u64,
        data: Option<Value>,
        at: DateTime<Utc>,
    },
    FollowUp {
        message_id: u64,
        body: Value,
        at: DateTime<Utc>,
    },
    EditOriginal {
        body: Value,
        at: DateTime<Utc>,
    },
    EditFollowUp {
        message_id: u64,
        body: Value,
        at: DateTime<Utc>,
    },
    DeleteMessage {
        message_id: u64,
        at: DateTime<Utc>,
    },
}

impl InteractionEvent {
    pub fn is_callback(&self) -> bool {
        matches!(self, Self::Callback { .. })
    }
}

/// A message the bot created (channel message, interaction response or follow-up).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRecord {
    pub channel_id: u64,
    pub message_id: u64,
    /// The message as Discord's API returns it.
    pub message: Value,
    /// `allowed_mentions` exactly as the bot sent it (None when absent).
    pub allowed_mentions: Option<Value>,
    pub ephemeral: bool,
    pub interaction: Option<InteractionId>,
    /// The files the message carries (multipart uploads), bytes and all.
    pub files: Vec<crate::upload::UploadedFile>,
}

/// A canned failure for the next request matching `method` and `path_prefix`.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// `None` matches every method.
    pub method: Option<String>,
    /// Matched against the path below `/api/v10`, e.g. `/channels/10/messages`.
    pub path_prefix: String,
    pub kind: FaultKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    RateLimited {
        retry_after: f64,
        global: bool,
    },
    ServerError {
        status: u16,
    },
    /// No answer at all: the connection stays open and silent, as a hung Discord.
    Hang,
}

impl Fault {
    pub fn rate_limited(method: &str, path_prefix: &str, retry_after: f64) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_prefix: path_prefix.to_owned(),
            kind: FaultKind::RateLimited {
                retry_after,
                global: false,
            },
        }
    }

    /// A global 429 (`X-RateLimit-Global`): every route of the bot must wait `retry_after`.
    pub fn globally_rate_limited(path_prefix: &str, retry_after: f64) -> Self {
        Self {
            method: None,
            path_prefix: path_prefix.to_owned(),
            kind: FaultKind::RateLimited {
                retry_after,
                global: true,
            },
        }
    }

    /// The next matching request is never answered.
    pub fn hang(method: &str, path_prefix: &str) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_prefix: path_prefix.to_owned(),
            kind: FaultKind::Hang,
        }
    }

    pub fn server_error(method: &str, path_prefix: &str, status: u16) -> Self {
        Self {
            method: Some(method.to_owned()),
            path_prefix: path_prefix.to_owned(),
            kind: FaultKind::ServerError { status },
        }
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}
