//! The fake's shared state: records, messages, interactions, the gateway's connections,
//! sessions and shards.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use crate::model::{
    Direction, FakeChannel, FakeConfig, FakeGuild, FakeUser, Fault, GatewayRecord,
    InteractionEvent, InteractionId, MessageRecord, RecordedRequest, ShardStatus,
};
use crate::payloads;
use crate::FakeError;

/// Discord's epoch (2015-01-01) in Unix milliseconds, the base of snowflakes.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

pub(crate) const INTERACTION_COMMAND: u64 = 2;
pub(crate) const INTERACTION_COMPONENT: u64 = 3;
pub(crate) const INTERACTION_AUTOCOMPLETE: u64 = 4;

pub(crate) enum Outbound {
    Text(String),
    Close(u16, &'static str),
}

/// A gateway session: what one IDENTIFY started on one shard.
pub(crate) struct Session {
    pub shard: u32,
    pub total: u32,
    pub seq: u64,
    /// Every dispatch of the session, replayed after `seq` on RESUME.
    pub log: Vec<(u64, String)>,
    /// The open connection that identified or resumed it last, if any.
    pub connection: Option<u64>,
}

/// Discord's sharding formula: a guild is on shard `(guild_id >> 22) % total`.
pub(crate) fn on_shard(guild_id: u64, shard: u32, total: u32) -> bool {
    (guild_id >> 22) % u64::from(total) == u64::from(shard)
}

impl Session {
    pub fn covers(&self, guild_id: u64) -> bool {
        on_shard(guild_id, self.shard, self.total)
    }
}

/// What the fake saw of one shard over the run.
#[derive(Default)]
pub(crate) struct ShardRecord {
    /// The shard count of its latest IDENTIFY.
    pub total: u32,
    /// Every connection that identified it.
    pub identified_by: BTreeSet<u64>,
    pub resumes: u64,
    pub overlaps: u64,
    /// The newest session identified on it: its guilds' dispatches go there.
    pub current: Option<String>,
}

pub(crate) struct Interaction {
    pub id: u64,
    pub kind: u64,
    pub token: String,
    pub channel_id: u64,
    pub dispatched_at: DateTime<Utc>,
    pub acknowledged: bool,
    /// The message `@original` names: the response message, or the clicked message for components.
    pub original_message: Option<u64>,
    pub events: Vec<InteractionEvent>,
}

pub(crate) struct StoredNonce {
    pub channel_id: u64,
    pub nonce: String,
    pub message_id: u64,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub(crate) struct State {
    next_counter: u64,
    next_connection: u64,
    pub requests: Vec<RecordedRequest>,
    pub gateway: Vec<GatewayRecord>,
    /// Open gateway connections by id, many at once as on Discord.
    pub connections: BTreeMap<u64, mpsc::UnboundedSender<Outbound>>,
    /// Gateway sessions by session id.
    pub sessions: HashMap<String, Session>,
    pub shards: BTreeMap<u32, ShardRecord>,
    pub ready_count: u64,
    pub resumed_count: u64,
    pub interactions: HashMap<u64, Interaction>,
    pub messages: Vec<MessageRecord>,
    pub nonces: Vec<StoredNonce>,
    /// Registered commands: `None` global, `Some(guild)` per guild.
    pub commands: BTreeMap<Option<u64>, Vec<Value>>,
    pub faults: VecDeque<Fault>,
    /// Per-route rate-limit windows, on the fake's clock.
    pub buckets: crate::ratelimit::Buckets,
    pub guilds: Vec<FakeGuild>,
    /// Direct-message channels the bot opened (`POST /users/@me/channels`): user → channel.
    pub dm_channels: BTreeMap<u64, u64>,
}

pub(crate) struct Shared {
    pub config: FakeConfig,
    pub gateway_url: String,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
}

impl Shared {
    pub fn new(config: FakeConfig, gateway_url: String) -> Self {
        let state = State {
            guilds: config.guilds.clone(),
            ..State::default()
        };
        Self {
            config,
            gateway_url,
            state: Mutex::new(state),
            changed: watch::channel(0).0,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Reads the state without signalling a change.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.lock())
    }

    /// Changes the state and wakes every waiter.
    pub fn update<T>(&self, f: impl FnOnce(&mut State, &Self) -> T) -> T {
        let result = f(&mut self.lock(), self);
        self.changed.send_modify(|version| *version += 1);
        result
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn bot_user_json(&self) -> Value {
        let mut user = payloads::user(&self.config.bot, true);
        user["verified"] = json!(true);
        user["mfa_enabled"] = json!(false);
        user
    }
}

impl State {
    /// A fresh snowflake at the fake clock's time.
    pub fn snowflake(&mut self, at: DateTime<Utc>) -> u64 {
        self.next_counter += 1;
        let millis = u64::try_from(at.timestamp_millis() - DISCORD_EPOCH_MS).unwrap_or(0);
        (millis << 22) | (self.next_counter & 0x3F_FFFF)
    }

    pub fn record_gateway(&mut self, direction: Direction, payload: &Value, at: DateTime<Utc>) {
        let mut payload = payload.clone();
        if let Some(token) = payload.pointer_mut("/d/token") {
            *token = json!("[redacted]");
        }
        self.gateway.push(GatewayRecord {
            direction,
            op: payload["op"].as_u64().unwrap_or(u64::MAX),
            event: payload["t"].as_str().map(str::to_owned),
            seq: payload["s"].as_u64(),
            payload,
            at,
        });
    }

    /// Sends a non-dispatch payload (HELLO, ACK, RECONNECT, INVALID SESSION) on a connection.
    pub fn send_op(
        &mut self,
        connection_id: u64,
        payload: Value,
        at: DateTime<Utc>,
    ) -> Result<(), FakeError> {
        let connection = self
            .connections
            .get(&connection_id)
            .ok_or(FakeError::NotConnected)?;
        // A closed receiver means the connection is going away; the record still shows the try.
        let _ = connection.send(Outbound::Text(payload.to_string()));
        self.record_gateway(Direction::Sent, &payload, at);
        Ok(())
    }

    /// Closes a connection with a gateway close code.
    pub fn close(&self, connection_id: u64, code: u16, reason: &'static str) {
        if let Some(connection) = self.connections.get(&connection_id) {
            let _ = connection.send(Outbound::Close(code, reason));
        }
    }

    /// Sends a dispatch (op 0) with the session's next sequence number. Without a connection the
    /// event stays in the session log and reaches the bot when it resumes, as on Discord.
    pub fn dispatch(
        &mut self,
        session_id: &str,
        event: &str,
        data: Value,
        at: DateTime<Utc>,
    ) -> Result<u64, FakeError> {
        let session = self
            .sessions
            .get_mut(session_id)
            .ok_or(FakeError::NotConnected)?;
        session.seq += 1;
        let seq = session.seq;
        let payload = json!({"op": 0, "t": event, "s": seq, "d": data});
        let text = payload.to_string();
        session.log.push((seq, text.clone()));
        if let Some(connection) = session.connection.and_then(|c| self.connections.get(&c)) {
            let _ = connection.send(Outbound::Text(text));
        }
        self.record_gateway(Direction::Sent, &payload, at);
        Ok(seq)
    }

    /// The session a guild's events go to: the newest one identified on the guild's shard.
    pub fn guild_session(&self, guild_id: u64) -> Option<String> {
        self.shards
            .values()
            .filter_map(|shard| shard.current.as_ref())
            .find(|id| self.sessions.get(*id).is_some_and(|s| s.covers(guild_id)))
            .cloned()
    }

    /// Dispatches a guild's event on the guild's shard only, as Discord does.
    pub fn dispatch_to_guild(
        &mut self,
        guild_id: u64,
        event: &str,
        data: Value,
        at: DateTime<Utc>,
    ) -> Result<u64, FakeError> {
        let session = self
            .guild_session(guild_id)
            .ok_or(FakeError::NotConnected)?;
        self.dispatch(&session, event, data, at)
    }

    /// Every session an open connection carries, with that connection, in shard order.
    pub fn carried_sessions(&self) -> Vec<(String, u64)> {
        let mut carried: Vec<(u32, String, u64)> = self
            .sessions
            .iter()
            .filter_map(|(id, s)| s.connection.map(|c| (s.shard, id.clone(), c)))
            .collect();
        carried.sort();
        carried
            .into_iter()
            .map(|(_, session, connection)| (session, connection))
            .collect()
    }

    /// Makes `connection_id` the carrier of `session_id` (after IDENTIFY or RESUME); a
    /// connection carries one session at a time.
    pub fn bind(&mut self, connection_id: u64, session_id: &str) {
        for (id, session) in &mut self.sessions {
            if id == session_id {
                session.connection = Some(connection_id);
            } else if session.connection == Some(connection_id) {
                session.connection = None;
            }
        }
    }

    pub fn attach(&mut self, tx: mpsc::UnboundedSender<Outbound>) -> u64 {
        self.next_connection += 1;
        self.connections.insert(self.next_connection, tx);
        self.next_connection
    }

    pub fn detach(&mut self, connection_id: u64) {
        self.connections.remove(&connection_id);
        for session in self.sessions.values_mut() {
            if session.connection == Some(connection_id) {
                session.connection = None;
            }
        }
    }

    pub fn shard_statuses(&self) -> Vec<ShardStatus> {
        self.shards
            .iter()
            .map(|(&shard, record)| ShardStatus {
                shard,
                total: record.total,
                identifies: record.identified_by.len() as u64,
                resumes: record.resumes,
                overlaps: record.overlaps,
                connected: self
                    .sessions
                    .values()
                    .any(|s| s.shard == shard && s.connection.is_some()),
            })
            .collect()
    }

    pub fn guild(&self, guild_id: u64) -> Option<&FakeGuild> {
        self.guilds.iter().find(|g| g.id == guild_id)
    }

    /// The guild a channel belongs to.
    pub fn channel_guild(&self, channel_id: u64) -> Option<&FakeGuild> {
        self.guilds
            .iter()
            .find(|g| g.channels.iter().any(|c| c.id == channel_id))
    }

    /// A guild channel, with its guild.
    pub fn guild_channel(&self, channel_id: u64) -> Option<(&FakeGuild, &FakeChannel)> {
        self.guilds.iter().find_map(|g| {
            g.channels
                .iter()
                .find(|c| c.id == channel_id)
                .map(|c| (g, c))
        })
    }

    /// The user a direct-message channel is with.
    pub fn dm_recipient(&self, channel_id: u64) -> Option<u64> {
        self.dm_channels
            .iter()
            .find(|(_, channel)| **channel == channel_id)
            .map(|(user, _)| *user)
    }

    /// A user the bot shares a guild with (the only users it can message directly).
    pub fn known_user(&self, user_id: u64) -> Option<&FakeUser> {
        self.guilds
            .iter()
            .flat_map(|g| &g.members)
            .find(|m| m.id == user_id)
    }

    pub fn member(&self, guild_id: u64, user_id: u64) -> Option<&FakeUser> {
        self.guild(guild_id)?
            .members
            .iter()
            .find(|m| m.id == user_id)
    }

    pub fn message_mut(&mut self, message_id: u64) -> Option<&mut MessageRecord> {
        self.messages
            .iter_mut()
            .find(|m| m.message_id == message_id)
    }

    pub fn interaction_by_token(&mut self, token: &str) -> Option<&mut Interaction> {
        self.interactions.values_mut().find(|i| i.token == token)
    }

    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|f| f.matches(method, path))?;
        self.faults.remove(index)
    }

    /// Stores a message the bot created and returns it as Discord's API would.
    pub fn create_message(&mut self, shared: &Shared, new: NewMessage<'_>) -> Value {
        let at = shared.now();
        let message_id = self.snowflake(at);
        let guild_id = self.channel_guild(new.channel_id).map(|g| g.id);
        let message = message_json(
            shared,
            message_id,
            new.channel_id,
            guild_id,
            new.body,
            new.flags,
            at,
        );
        let message = match new.author {
            // Someone else's: their user, and no application.
            Some(author) => {
                let mut message = message;
                message["author"] = author;
                message["application_id"] = Value::Null;
                message
            }
            None => message,
        };
        self.messages.push(MessageRecord {
            channel_id: new.channel_id,
            message_id,
            message: message.clone(),
            allowed_mentions: new.body.get("allowed_mentions").cloned(),
            ephemeral: new.flags & EPHEMERAL != 0,
            interaction: new.interaction,
            files: Vec::new(),
        });
        message
    }

    /// Applies an edit (PATCH) to a stored message and returns the new message.
    pub fn edit_message(
        &mut self,
        shared: &Shared,
        message_id: u64,
        body: &Value,
    ) -> Option<Value> {
        let at = shared.now();
        let record = self.message_mut(message_id)?;
        for key in ["content", "embeds", "components", "flags"] {
            if let Some(value) = body.get(key) {
                record.message[key] = normalize_field(key, value);
            }
        }
        // Editing a deferred response replaces the "thinking" state.
        if let Some(flags) = record.message["flags"].as_u64() {
            record.message["flags"] = json!(flags & !LOADING);
        }
        record.message["edited_timestamp"] = json!(payloads::timestamp(at));
        if let Some(allowed) = body.get("allowed_mentions") {
            record.allowed_mentions = Some(allowed.clone());
        }
        Some(record.message.clone())
    }
}

pub(crate) const EPHEMERAL: u64 = 1 << 6;
pub(crate) const LOADING: u64 = 1 << 7;

pub(crate) struct NewMessage<'a> {
    pub channel_id: u64,
    pub body: &'a Value,
    pub flags: u64,
    pub interaction: Option<InteractionId>,
    /// Someone else's message (their user object); `None` for the bot's own.
    pub author: Option<Value>,
}

fn normalize_field(key: &str, value: &Value) -> Value {
    match (key, value) {
        // Discord fills in the embed type the bot leaves out.
        ("embeds", Value::Array(embeds)) => Value::Array(
            embeds
                .iter()
                .map(|embed| {
                    let mut embed = embed.clone();
                    if embed.get("type").is_none() {
                        embed["type"] = json!("rich");
                    }
                    embed
                })
                .collect(),
        ),
        ("content", Value::Null) => json!(""),
        (_, Value::Null) => json!([]),
        _ => value.clone(),
    }
}

fn message_json(
    shared: &Shared,
    message_id: u64,
    channel_id: u64,
    guild_id: Option<u64>,
    body: &Value,
    flags: u64,
    at: DateTime<Utc>,
) -> Value {
    let field = |key: &str, default: Value| {
        body.get(key)
            .map_or(default, |value| normalize_field(key, value))
    };
    json!({
        "id": message_id.to_string(),
        "channel_id": channel_id.to_string(),
        "guild_id": guild_id.map(|g| g.to_string()),
        "author": shared.bot_user_json(),
        "content": field("content", json!("")),
        "timestamp": payloads::timestamp(at),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": field("embeds", json!([])),
        "components": field("components", json!([])),
        "pinned": false,
        "type": 0,
        "flags": flags,
        "nonce": body.get("nonce").cloned().unwrap_or(Value::Null),
        "application_id": shared.config.application_id.to_string(),
    })
}
