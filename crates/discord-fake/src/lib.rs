//! A fake Discord for end-to-end tests: REST under `/api/v10` and the gateway over plain
//! WebSocket, close enough to Discord that the real serenity client connects to it.
//!
//! It validates payloads against Discord's limits, enforces the interaction deadlines on an
//! injectable [`FakeClock`], answers injected 429s and 5xx, and records everything for
//! assertions. See the crate README for how tests use it.

mod clock;
mod gateway;
mod model;
mod payloads;
mod ratelimit;
mod rest;
mod state;
mod tls;
pub mod upload;
pub mod validate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use clock::FakeClock;
pub use model::{
    Direction, FakeChannel, FakeConfig, FakeGuild, FakeUser, Fault, FaultKind, GatewayRecord,
    InteractionEvent, InteractionId, MessageRecord, RecordedRequest, ShardStatus, ATTACH_FILES,
    CHANNEL_ANNOUNCEMENT, CHANNEL_TEXT, CHANNEL_VOICE, EMBED_LINKS, MANAGE_GUILD,
    MEMBER_PERMISSIONS, SEND_MESSAGES, VIEW_CHANNEL,
};
pub use ratelimit::{RouteLimit, MESSAGE_CREATE_LIMIT, OTHER_ROUTE_LIMIT};
use state::{
    Interaction, Shared, State, INTERACTION_AUTOCOMPLETE, INTERACTION_COMMAND,
    INTERACTION_COMPONENT,
};
pub use tls::{TlsError, DISCORD_HOST};
pub use upload::{UploadedFile, UPLOAD_LIMIT};

/// The path serenity's WebSocket connects to (the `/gateway` answer points there).
pub const GATEWAY_PATH: &str = "/gateway-ws";
/// A safety net for waits; they return as soon as their condition holds.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    #[error("could not bind the fake Discord: {0}")]
    Bind(#[from] std::io::Error),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("no gateway session: the bot has not identified (the guild's shard)")]
    NotConnected,
    #[error("timed out waiting for {0}")]
    Timeout(String),
    #[error("unknown guild {0}")]
    UnknownGuild(u64),
    #[error("channel {channel} is not in guild {guild}")]
    UnknownChannel { guild: u64, channel: u64 },
    #[error("user {user} is not a member of guild {guild}")]
    UnknownMember { guild: u64, user: u64 },
    #[error("no channel {0}")]
    NoSuchChannel(u64),
    #[error("unknown message {0}")]
    UnknownMessage(u64),
    #[error("unknown interaction {0:?}")]
    UnknownInteraction(InteractionId),
}

/// A fresh certificate authority's certificate (PEM), for checks of how a client reads one.
pub fn throwaway_authority_pem() -> Result<String, FakeError> {
    Ok(tls::TestAuthority::generate()?.ca_pem)
}

/// A running fake Discord; the servers stop when this is dropped.
///
/// It serves twice: plain HTTP on [`FakeDiscord::origin`] (REST and the gateway) and REST over
/// TLS as `discord.com` on [`FakeDiscord::tls_addr`], with a certificate signed by a throwaway
/// authority ([`FakeDiscord::ca_pem`]). A client that resolves `discord.com` to `tls_addr` and
/// trusts that authority talks to the fake exactly as to Discord, serenity's rate limiter
/// included. The gateway stays plain `ws://` either way (the `/gateway/bot` answer names it).
pub struct FakeDiscord {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tls_addr: SocketAddr,
    ca_pem: String,
    servers: [JoinHandle<()>; 2],
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

impl FakeDiscord {
    /// Serves on 127.0.0.1 with free ports.
    pub async fn start(config: FakeConfig) -> Result<Self, FakeError> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let tls_listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let authority = tls::TestAuthority::generate()?;
        let tls_listener = tls::TlsListener::new(tls_listener, authority.acceptor)?;
        let tls_addr = axum::serve::Listener::local_addr(&tls_listener)?;
        let shared = Arc::new(Shared::new(config, format!("ws://{addr}{GATEWAY_PATH}")));
        let app = axum::Router::new()
            .route(GATEWAY_PATH, axum::routing::get(gateway::upgrade))
            .fallback(rest::handle)
            // Room for a body past Discord's upload limit, so the fake answers it as Discord does.
            .layer(axum::extract::DefaultBodyLimit::max(
                2 * upload::UPLOAD_LIMIT,
            ))
            .with_state(Arc::clone(&shared));
        let plain = tokio::spawn({
            let app = app.clone();
            async move {
                if let Err(error) = axum::serve(listener, app).await {
                    tracing::warn!(%error, "fake Discord server stopped");
                }
            }
        });
        let secure = tokio::spawn(async move {
            if let Err(error) = axum::serve(tls_listener, app).await {
                tracing::warn!(%error, "fake Discord TLS server stopped");
            }
        });
        Ok(Self {
            shared,
            addr,
            tls_addr,
            ca_pem: authority.ca_pem,
            servers: [plain, secure],
        })
    }

    /// `http://127.0.0.1:PORT`: the value for `DISCORD_API_URL` / `HttpBuilder::proxy`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where REST is served over TLS as `discord.com` (a client resolves `discord.com` here).
    pub fn tls_addr(&self) -> SocketAddr {
        self.tls_addr
    }

    /// The certificate authority (PEM) that signed the fake's `discord.com` certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn gateway_url(&self) -> &str {
        &self.shared.gateway_url
    }

    pub fn config(&self) -> &FakeConfig {
        &self.shared.config
    }

    pub fn clock(&self) -> &FakeClock {
        &self.shared.config.clock
    }

    /// Waits until `probe` returns `Some`, re-checking after every change to the fake's state.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        mut probe: impl FnMut(&Self) -> Option<T>,
    ) -> Result<T, FakeError> {
        let mut changes = self.shared.subscribe();
        let waiting = async {
            loop {
                changes.borrow_and_update();
                if let Some(found) = probe(self) {
                    return Ok(found);
                }
                if changes.changed().await.is_err() {
                    return Err(FakeError::Timeout(what.to_owned()));
                }
            }
        };
        tokio::time::timeout(DEFAULT_WAIT, waiting)
            .await
            .unwrap_or_else(|_| Err(FakeError::Timeout(what.to_owned())))
    }

    /// Waits for the bot's first READY on any shard (IDENTIFY answered, GUILD_CREATEs sent).
    pub async fn wait_ready(&self) -> Result<(), FakeError> {
        self.wait_for("READY", |d| {
            d.shared.read(|s| (s.ready_count > 0).then_some(()))
        })
        .await
    }

    /// How many times the bot identified and resumed, over all shards.
    pub fn session_counts(&self) -> (u64, u64) {
        self.shared.read(|s| (s.ready_count, s.resumed_count))
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.read(|s| s.requests.clone())
    }

    pub fn gateway_log(&self) -> Vec<GatewayRecord> {
        self.shared.read(|s| s.gateway.clone())
    }

    pub fn messages(&self) -> Vec<MessageRecord> {
        self.shared.read(|s| s.messages.clone())
    }

    pub fn channel_messages(&self, channel_id: u64) -> Vec<MessageRecord> {
        self.shared.read(|s| {
            s.messages
                .iter()
                .filter(|m| m.channel_id == channel_id)
                .cloned()
                .collect()
        })
    }

    /// Waits until `channel_id` holds at least `count` messages, and returns them all.
    pub async fn wait_for_channel_messages(
        &self,
        channel_id: u64,
        count: usize,
    ) -> Result<Vec<MessageRecord>, FakeError> {
        self.wait_for(&format!("{count} messages in channel {channel_id}"), |d| {
            let messages = d.channel_messages(channel_id);
            (messages.len() >= count).then_some(messages)
        })
        .await
    }

    /// Registered commands: `None` global, `Some(guild)` that guild's.
    pub fn commands(&self, guild_id: Option<u64>) -> Vec<Value> {
        self.shared
            .read(|s| s.commands.get(&guild_id).cloned().unwrap_or_default())
    }

    /// Queues a fault for the next request matching it; faults are used once, in order.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.update(|s, _| s.faults.push_back(fault));
    }

    /// The ordered record of what the bot did with an interaction.
    pub fn interaction_log(&self, id: InteractionId) -> Vec<InteractionEvent> {
        self.shared.read(|s| {
            s.interactions
                .get(&id.0)
                .map(|i| i.events.clone())
                .unwrap_or_default()
        })
    }

    /// The interaction's token, as a follow-up URL carries it.
    pub fn interaction_token(&self, id: InteractionId) -> Option<String> {
        self.shared
            .read(|s| s.interactions.get(&id.0).map(|i| i.token.clone()))
    }

    /// Waits for the initial response (the callback) and returns it.
    pub async fn wait_for_response(
        &self,
        id: InteractionId,
    ) -> Result<InteractionEvent, FakeError> {
        self.wait_for(&format!("a response to {id:?}"), |d| {
            d.interaction_log(id)
                .into_iter()
                .find(InteractionEvent::is_callback)
        })
        .await
    }

    /// Waits until the interaction's log holds at least `count` events, and returns them.
    pub async fn wait_for_interaction_events(
        &self,
        id: InteractionId,
        count: usize,
    ) -> Result<Vec<InteractionEvent>, FakeError> {
        self.wait_for(&format!("{count} events of {id:?}"), |d| {
            let events = d.interaction_log(id);
            (events.len() >= count).then_some(events)
        })
        .await
    }

    /// Dispatches a slash command (interaction type 2). `options` is Discord's option array,
    /// e.g. `[{"name":"user","type":3,"value":"sim_hunter"}]`.
    pub async fn send_slash_command(
        &self,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        command: &str,
        options: Value,
    ) -> Result<InteractionId, FakeError> {
        self.dispatch_command(
            INTERACTION_COMMAND,
            guild_id,
            channel_id,
            user_id,
            command,
            options,
        )
    }

    /// Dispatches an autocomplete request (interaction type 4); mark the option being typed
    /// with `"focused": true`.
    pub async fn send_autocomplete(
        &self,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        command: &str,
        options: Value,
    ) -> Result<InteractionId, FakeError> {
        self.dispatch_command(
            INTERACTION_AUTOCOMPLETE,
            guild_id,
            channel_id,
            user_id,
            command,
            options,
        )
    }

    /// Dispatches a button click (interaction type 3) on a message the bot sent.
    pub async fn send_button_click(
        &self,
        guild_id: u64,
        user_id: u64,
        message_id: u64,
        custom_id: &str,
    ) -> Result<InteractionId, FakeError> {
        self.shared.update(|state, shared| {
            let record = state
                .messages
                .iter()
                .find(|m| m.message_id == message_id)
                .cloned()
                .ok_or(FakeError::UnknownMessage(message_id))?;
            let data = json!({"custom_id": custom_id, "component_type": 2});
            let id = dispatch_interaction(
                state,
                shared,
                INTERACTION_COMPONENT,
                (guild_id, record.channel_id, user_id),
                data,
                Some(record.message),
            )?;
            if let Some(interaction) = state.interactions.get_mut(&id.0) {
                interaction.original_message = Some(message_id);
            }
            Ok(id)
        })
    }

    /// Tells the bot it was removed from a guild (GUILD_DELETE) and forgets the guild.
    pub fn send_guild_delete(&self, guild_id: u64) -> Result<(), FakeError> {
        self.shared.update(|state, shared| {
            state.guilds.retain(|g| g.id != guild_id);
            state
                .dispatch_to_guild(
                    guild_id,
                    "GUILD_DELETE",
                    json!({"id": guild_id.to_string()}),
                    shared.now(),
                )
                .map(|_| ())
        })
    }

    /// Tells the bot a guild is unavailable (GUILD_DELETE with `unavailable: true`, as in a
    /// Discord outage); the guild stays, as it does on Discord.
    pub fn send_guild_unavailable(&self, guild_id: u64) -> Result<(), FakeError> {
        self.shared.update(|state, shared| {
            state
                .dispatch_to_guild(
                    guild_id,
                    "GUILD_DELETE",
                    json!({"id": guild_id.to_string(), "unavailable": true}),
                    shared.now(),
                )
                .map(|_| ())
        })
    }

    /// Deletes a guild channel, as an admin would: REST calls on it answer 404 Unknown Channel
    /// (10003) from now on, and a connected bot gets CHANNEL_DELETE. The messages it held stay
    /// in `messages()` for assertions.
    pub fn delete_channel(&self, channel_id: u64) -> Result<(), FakeError> {
        self.shared.update(|state, shared| {
            let guild = state
                .guilds
                .iter_mut()
                .find(|g| g.channels.iter().any(|c| c.id == channel_id))
                .ok_or(FakeError::NoSuchChannel(channel_id))?;
            let position = guild
                .channels
                .iter()
                .position(|c| c.id == channel_id)
                .ok_or(FakeError::NoSuchChannel(channel_id))?;
            let channel = guild.channels.remove(position);
            let guild_id = guild.id;
            let payload = payloads::channel(guild_id, &channel, position);
            // Without a session on the guild's shard there is nobody to tell; REST still sees
            // the change.
            if let Some(session) = state.guild_session(guild_id) {
                state.dispatch(&session, "CHANNEL_DELETE", payload, shared.now())?;
            }
            Ok(())
        })
    }

    /// Denies the bot `denied` permissions in a guild channel (e.g. [`SEND_MESSAGES`]), as a
    /// permission overwrite would: posting there answers 403 Missing Permissions (50013), or
    /// Missing Access (50001) without [`VIEW_CHANNEL`]. A connected bot gets CHANNEL_UPDATE.
    pub fn deny_bot_in_channel(&self, channel_id: u64, denied: u64) -> Result<(), FakeError> {
        self.shared.update(|state, shared| {
            let (guild_id, position, channel) = state
                .guilds
                .iter_mut()
                .find_map(|g| {
                    let id = g.id;
                    g.channels
                        .iter_mut()
                        .enumerate()
                        .find(|(_, c)| c.id == channel_id)
                        .map(|(i, c)| {
                            c.bot_denied |= denied;
                            (id, i, c.clone())
                        })
                })
                .ok_or(FakeError::NoSuchChannel(channel_id))?;
            if let Some(session) = state.guild_session(guild_id) {
                let payload = payloads::channel(guild_id, &channel, position);
                state.dispatch(&session, "CHANNEL_UPDATE", payload, shared.now())?;
            }
            Ok(())
        })
    }

    /// A message someone else posts in a guild channel: another member (`bot` false) or another
    /// bot or app (`bot` true), with `body`'s `content`/`embeds`/`components`, at the fake
    /// clock's time. It shows in the channel's history like Discord's (no gateway event is
    /// sent: the bot asks for no message content). Returns the message's id.
    pub fn post_as(
        &self,
        channel_id: u64,
        author: &FakeUser,
        bot: bool,
        body: &Value,
    ) -> Result<u64, FakeError> {
        self.shared.update(|state, shared| {
            if state.guild_channel(channel_id).is_none() {
                return Err(FakeError::NoSuchChannel(channel_id));
            }
            let message = state.create_message(
                shared,
                state::NewMessage {
                    channel_id,
                    body,
                    flags: 0,
                    interaction: None,
                    author: Some(payloads::user(author, bot)),
                },
            );
            Ok(message["id"]
                .as_str()
                .and_then(|id| id.parse().ok())
                .unwrap_or_default())
        })
    }

    /// The direct-message channel the bot opened with `user_id`, if any.
    pub fn dm_channel(&self, user_id: u64) -> Option<u64> {
        self.shared.read(|s| s.dm_channels.get(&user_id).copied())
    }

    /// The messages the bot sent `user_id` directly, oldest first.
    pub fn dm_messages(&self, user_id: u64) -> Vec<MessageRecord> {
        match self.dm_channel(user_id) {
            Some(channel_id) => self.channel_messages(channel_id),
            None => Vec::new(),
        }
    }

    /// Every shard as the gateway saw it over the run, by shard id: how often it was
    /// identified, resumed and identified twice at once, and whether it is connected now.
    pub fn shards(&self) -> Vec<ShardStatus> {
        self.shared.read(State::shard_statuses)
    }

    /// Asks every connected shard to reconnect and resume (op 7).
    pub fn request_reconnect(&self) -> Result<(), FakeError> {
        self.shared.update(|state, shared| {
            let carried = state.carried_sessions();
            if carried.is_empty() {
                return Err(FakeError::NotConnected);
            }
            for (_, connection) in carried {
                state.send_op(connection, json!({"op": 7, "d": null}), shared.now())?;
            }
            Ok(())
        })
    }

    /// Invalidates every connected shard's session (op 9); with `resumable` false the bot must
    /// identify again.
    pub fn invalidate_session(&self, resumable: bool) -> Result<(), FakeError> {
        self.shared.update(|state, shared| {
            let carried = state.carried_sessions();
            if carried.is_empty() {
                return Err(FakeError::NotConnected);
            }
            for (session, connection) in carried {
                if !resumable {
                    state.sessions.remove(&session);
                }
                state.send_op(connection, json!({"op": 9, "d": resumable}), shared.now())?;
            }
            Ok(())
        })
    }

    fn dispatch_command(
        &self,
        kind: u64,
        guild_id: u64,
        channel_id: u64,
        user_id: u64,
        command: &str,
        options: Value,
    ) -> Result<InteractionId, FakeError> {
        self.shared.update(|state, shared| {
            let registered = [Some(guild_id), None].iter().find_map(|scope| {
                state
                    .commands
                    .get(scope)?
                    .iter()
                    .find(|c| c["name"] == command)
                    .and_then(|c| c["id"].as_str().map(str::to_owned))
            });
            let command_id = match registered {
                Some(id) => id,
                None => state.snowflake(shared.now()).to_string(),
            };
            let resolved = state
                .guild(guild_id)
                .and_then(|guild| payloads::resolved(guild, &options));
            let mut data = json!({
                "id": command_id,
                "name": command,
                "type": 1,
                // serenity needs a list here, even an empty one.
                "options": if options.is_array() { options } else { json!([]) },
                "guild_id": guild_id.to_string(),
            });
            if let Some(resolved) = resolved {
                data["resolved"] = resolved;
            }
            dispatch_interaction(
                state,
                shared,
                kind,
                (guild_id, channel_id, user_id),
                data,
                None,
            )
        })
    }
}

fn dispatch_interaction(
    state: &mut State,
    shared: &Shared,
    kind: u64,
    (guild_id, channel_id, user_id): (u64, u64, u64),
    data: Value,
    message: Option<Value>,
) -> Result<InteractionId, FakeError> {
    let now = shared.now();
    let guild = state
        .guild(guild_id)
        .ok_or(FakeError::UnknownGuild(guild_id))?;
    let channel =
        guild
            .channels
            .iter()
            .find(|c| c.id == channel_id)
            .ok_or(FakeError::UnknownChannel {
                guild: guild_id,
                channel: channel_id,
            })?;
    let channel_json = payloads::channel(guild_id, channel, 0);
    let user = state
        .member(guild_id, user_id)
        .ok_or(FakeError::UnknownMember {
            guild: guild_id,
            user: user_id,
        })?;
    let member = payloads::interaction_member(user, now);
    let id = state.snowflake(now);
    let token = format!("fake-interaction-token-{id}");
    let mut payload = json!({
        "id": id.to_string(),
        "application_id": shared.config.application_id.to_string(),
        "type": kind,
        "data": data,
        "guild_id": guild_id.to_string(),
        "channel": channel_json,
        "channel_id": channel_id.to_string(),
        "member": member,
        "token": token,
        "version": 1,
        "app_permissions": MEMBER_PERMISSIONS.to_string(),
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "context": 0,
        "attachment_size_limit": 26_214_400,
    });
    if let Some(message) = message {
        payload["message"] = message;
    }
    // The lock is held, so the bot cannot answer before the interaction is stored below.
    state.dispatch_to_guild(guild_id, "INTERACTION_CREATE", payload, now)?;
    state.interactions.insert(
        id,
        Interaction {
            id,
            kind,
            token,
            channel_id,
            dispatched_at: now,
            acknowledged: false,
            original_message: None,
            events: Vec::new(),
        },
    );
    Ok(InteractionId(id))
}
