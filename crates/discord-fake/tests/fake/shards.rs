//! The gateway's sharding, seen from bare connections: each one reads exactly the frames the
//! fake sent it, in order, so "only its shard" is checked without waiting for silence.

use discord_fake::{FakeConfig, FakeDiscord, FakeGuild, FakeUser, ShardStatus, DEFAULT_WAIT};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{
    async_trait, mpsc, proxied_http, ClientBuilder, Context, EventHandler, GatewayIntents, GuildId,
    CHANNEL, GUILD, USER,
};

/// Guilds by Discord's formula `(guild_id >> 22) % 2`: `GUILD` (100) is on shard 0 too.
const SHARD_0_GUILD: u64 = 4 << 22;
const SHARD_1_GUILD: u64 = 5 << 22;
const SHARD_0_CHANNEL: u64 = 201;
const SHARD_1_CHANNEL: u64 = 202;

fn two_shards() -> FakeConfig {
    let guild = |id, name, channel| {
        FakeGuild::new(id, name)
            .channel(channel, "general")
            .member(FakeUser::new(USER, "hunter"))
    };
    FakeConfig {
        guilds: vec![
            guild(GUILD, "Trophy Room", CHANNEL),
            guild(SHARD_0_GUILD, "Shard Zero", SHARD_0_CHANNEL),
            guild(SHARD_1_GUILD, "Shard One", SHARD_1_CHANNEL),
        ],
        recommended_shards: 2,
        ..FakeConfig::default()
    }
}

/// Just enough WebSocket (RFC 6455) for a test: the upgrade, masked text frames out, the
/// fake's unmasked text frames in.
struct Connection {
    stream: TcpStream,
    received: Vec<u8>,
}

const TEXT_FRAME: u8 = 0x81;
const CLOSE_OPCODE: u8 = 0x8;

impl Connection {
    async fn open(discord: &FakeDiscord) -> Self {
        let url = discord.gateway_url();
        let (authority, path) = url
            .trim_start_matches("ws://")
            .split_once('/')
            .expect("a ws:// URL with a path");
        let mut stream = TcpStream::connect(authority)
            .await
            .expect("the fake listens");
        let upgrade = format!(
            "GET /{path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(upgrade.as_bytes()).await.expect("sent");
        let mut connection = Self {
            stream,
            received: Vec::new(),
        };
        let head_end = loop {
            if let Some(end) = connection
                .received
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
            {
                break end + 4;
            }
            connection.read_more().await;
        };
        let head: Vec<u8> = connection.received.drain(..head_end).collect();
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "upgraded: {}",
            String::from_utf8_lossy(&head)
        );
        let hello = connection.recv().await;
        assert_eq!(hello["op"], 10, "HELLO first");
        connection
    }

    /// Opens a connection and identifies; `shard` is IDENTIFY's `[shard_id, num_shards]`.
    async fn identify(discord: &FakeDiscord, shard: [u32; 2]) -> Self {
        let mut connection = Self::open(discord).await;
        connection
            .send(json!({"op": 2, "d": {
                "token": format!("Bot {}", discord.config().token),
                "intents": 1,
                "properties": {"os": "linux", "browser": "test", "device": "test"},
                "shard": shard,
            }}))
            .await;
        connection
    }

    async fn read_more(&mut self) {
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(DEFAULT_WAIT, self.stream.read(&mut chunk))
            .await
            .expect("the fake sends in time")
            .expect("the connection reads");
        assert!(read > 0, "the fake closed the connection");
        self.received.extend_from_slice(&chunk[..read]);
    }

    async fn take(&mut self, count: usize) -> Vec<u8> {
        while self.received.len() < count {
            self.read_more().await;
        }
        self.received.drain(..count).collect()
    }

    /// The next payload the fake sent on this connection.
    async fn recv(&mut self) -> Value {
        let head = self.take(2).await;
        if head[0] & 0x0F == CLOSE_OPCODE {
            let reason = self.take(usize::from(head[1] & 0x7F)).await;
            panic!("the fake closed the connection: {reason:?}");
        }
        assert_eq!(head[0], TEXT_FRAME, "one whole text frame");
        let length = match head[1] & 0x7F {
            126 => u16::from_be_bytes(self.take(2).await.try_into().expect("2 bytes")).into(),
            127 => u64::from_be_bytes(self.take(8).await.try_into().expect("8 bytes")),
            short => u64::from(short),
        };
        let body = self
            .take(usize::try_from(length).expect("a frame length"))
            .await;
        serde_json::from_slice(&body).expect("JSON")
    }

    /// The next dispatch (op 0): its event name and data.
    async fn dispatch(&mut self) -> (String, Value) {
        let payload = self.recv().await;
        assert_eq!(payload["op"], 0, "a dispatch: {payload}");
        let event = payload["t"].as_str().expect("an event name").to_owned();
        (event, payload["d"].clone())
    }

    async fn send(&mut self, payload: Value) {
        let body = payload.to_string().into_bytes();
        // Clients mask their frames; a zero mask leaves the bytes as they are.
        let mut frame = vec![TEXT_FRAME];
        match u16::try_from(body.len()) {
            Ok(short) if short < 126 => frame.push(0x80 | u8::try_from(short).expect("< 126")),
            Ok(medium) => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&medium.to_be_bytes());
            }
            Err(_) => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(body.len() as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&[0; 4]);
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).await.expect("sent");
    }

    /// A heartbeat and its ACK: whatever the fake sent this connection before has been read,
    /// so nothing else was sent it.
    async fn nothing_else_sent(&mut self, what: &str) {
        self.send(json!({"op": 1, "d": null})).await;
        let next = self.recv().await;
        assert_eq!(next["op"], 11, "{what}: {next}");
    }
}

/// READY's guild ids, and the ids of the GUILD_CREATEs after it.
async fn ready_guilds(connection: &mut Connection, shard: [u32; 2]) -> (String, Vec<u64>) {
    let (event, ready) = connection.dispatch().await;
    assert_eq!(event, "READY");
    assert_eq!(ready["shard"], json!(shard));
    let ids = |guilds: &Value| -> Vec<u64> {
        let mut ids: Vec<u64> = guilds
            .as_array()
            .expect("guilds")
            .iter()
            .map(|g| {
                g["id"]
                    .as_str()
                    .and_then(|id| id.parse().ok())
                    .expect("an id")
            })
            .collect();
        ids.sort_unstable();
        ids
    };
    let listed = ids(&ready["guilds"]);
    let mut created = Vec::new();
    for _ in &listed {
        let (event, guild) = connection.dispatch().await;
        assert_eq!(event, "GUILD_CREATE");
        created.push(guild);
    }
    assert_eq!(ids(&Value::Array(created)), listed, "one GUILD_CREATE each");
    let session = ready["session_id"].as_str().expect("a session").to_owned();
    (session, listed)
}

fn interaction_id(data: &Value) -> u64 {
    data["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("an id")
}

fn status(
    shard: u32,
    identifies: u64,
    resumes: u64,
    overlaps: u64,
    connected: bool,
) -> ShardStatus {
    ShardStatus {
        shard,
        total: 2,
        identifies,
        resumes,
        overlaps,
        connected,
    }
}

#[tokio::test]
async fn each_shard_gets_only_its_guilds_and_their_events() {
    let discord = FakeDiscord::start(two_shards()).await.unwrap();
    let gateway = proxied_http(&discord).get_bot_gateway().await.unwrap();
    assert_eq!(gateway.shards, 2, "the recommended shard count");

    let mut zero = Connection::identify(&discord, [0, 2]).await;
    let (_, guilds) = ready_guilds(&mut zero, [0, 2]).await;
    assert_eq!(guilds, vec![GUILD, SHARD_0_GUILD]);
    let mut one = Connection::identify(&discord, [1, 2]).await;
    let (session_one, guilds) = ready_guilds(&mut one, [1, 2]).await;
    assert_eq!(guilds, vec![SHARD_1_GUILD]);
    // The second connection left the first open.
    zero.nothing_else_sent("shard 0 still served").await;
    assert_eq!(
        discord.shards(),
        vec![status(0, 1, 0, 0, true), status(1, 1, 0, 0, true)]
    );

    let on_one = discord
        .send_slash_command(SHARD_1_GUILD, SHARD_1_CHANNEL, USER, "trophies", json!([]))
        .await
        .unwrap();
    let on_zero = discord
        .send_slash_command(SHARD_0_GUILD, SHARD_0_CHANNEL, USER, "trophies", json!([]))
        .await
        .unwrap();
    discord.send_guild_unavailable(SHARD_1_GUILD).unwrap();
    let (event, data) = one.dispatch().await;
    assert_eq!(
        (event.as_str(), interaction_id(&data)),
        ("INTERACTION_CREATE", on_one.0)
    );
    let (event, data) = one.dispatch().await;
    let deleted = SHARD_1_GUILD.to_string();
    assert_eq!(
        (event.as_str(), data["id"].as_str()),
        ("GUILD_DELETE", Some(deleted.as_str()))
    );
    one.nothing_else_sent("only shard 1's guild's events on shard 1")
        .await;
    let (event, data) = zero.dispatch().await;
    assert_eq!(
        (event.as_str(), interaction_id(&data)),
        ("INTERACTION_CREATE", on_zero.0)
    );
    zero.nothing_else_sent("only shard 0's guild's events on shard 0")
        .await;

    // Shard 1 drops; its guild's events wait in its session and come with its RESUME.
    drop(one);
    discord
        .wait_for("shard 1 disconnected", |d| {
            (!d.shards()[1].connected).then_some(())
        })
        .await
        .unwrap();
    discord.delete_channel(SHARD_1_CHANNEL).unwrap();
    let mut one = Connection::open(&discord).await;
    one.send(json!({"op": 6, "d": {
        "token": "Bot fake-token",
        "session_id": session_one,
        // READY, GUILD_CREATE, INTERACTION_CREATE, GUILD_DELETE were read.
        "seq": 4,
    }}))
    .await;
    let (event, data) = one.dispatch().await;
    let deleted = SHARD_1_CHANNEL.to_string();
    assert_eq!(
        (event.as_str(), data["id"].as_str()),
        ("CHANNEL_DELETE", Some(deleted.as_str()))
    );
    assert_eq!(one.dispatch().await.0, "RESUMED");
    zero.nothing_else_sent("shard 1's channel is not shard 0's business")
        .await;
    assert_eq!(
        discord.shards(),
        vec![status(0, 1, 0, 0, true), status(1, 1, 1, 0, true)]
    );
    assert_eq!(discord.session_counts(), (2, 1));

    // Every connected shard is asked to reconnect.
    discord.request_reconnect().unwrap();
    assert_eq!(zero.recv().await["op"], 7);
    assert_eq!(one.recv().await["op"], 7);
}

#[tokio::test]
async fn a_shard_identified_twice_counts_an_overlap_and_its_newest_session_gets_the_events() {
    let discord = FakeDiscord::start(two_shards()).await.unwrap();
    let mut first = Connection::identify(&discord, [0, 2]).await;
    let (first_session, _) = ready_guilds(&mut first, [0, 2]).await;
    let mut second = Connection::identify(&discord, [0, 2]).await;
    let (second_session, guilds) = ready_guilds(&mut second, [0, 2]).await;
    assert_ne!(first_session, second_session);
    assert_eq!(guilds, vec![GUILD, SHARD_0_GUILD]);
    assert_eq!(discord.shards(), vec![status(0, 2, 0, 1, true)]);

    let ix = discord
        .send_slash_command(GUILD, CHANNEL, USER, "trophies", json!([]))
        .await
        .unwrap();
    let (event, data) = second.dispatch().await;
    assert_eq!(
        (event.as_str(), interaction_id(&data)),
        ("INTERACTION_CREATE", ix.0)
    );
    // Neither connection was closed; the older one just gets nothing more.
    first
        .nothing_else_sent("the older session of shard 0")
        .await;

    // No session covers shard 1's guild: as before any IDENTIFY.
    assert!(matches!(
        discord
            .send_slash_command(SHARD_1_GUILD, SHARD_1_CHANNEL, USER, "trophies", json!([]))
            .await,
        Err(discord_fake::FakeError::NotConnected)
    ));
}

/// Reports, once serenity has every guild READY listed, which shard it is and its cached guilds.
struct CacheReport(mpsc::UnboundedSender<(u32, Vec<u64>)>);

#[async_trait]
impl EventHandler for CacheReport {
    async fn cache_ready(&self, ctx: Context, guilds: Vec<GuildId>) {
        let mut ids: Vec<u64> = guilds.iter().map(|g| g.get()).collect();
        ids.sort_unstable();
        let _ = self.0.send((ctx.shard_id.0, ids));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_runs_one_shard_per_client() {
    let discord = FakeDiscord::start(two_shards()).await.unwrap();
    let (report, mut reports) = mpsc::unbounded_channel();
    for shard in [0, 1] {
        let mut client =
            ClientBuilder::new_with_http(proxied_http(&discord), GatewayIntents::GUILDS)
                .event_handler(CacheReport(report.clone()))
                .await
                .expect("the serenity client builds");
        tokio::spawn(async move {
            let _ = client.start_shard(shard, 2).await;
        });
    }
    let mut seen = Vec::new();
    for _ in 0..2 {
        let next = tokio::time::timeout(DEFAULT_WAIT, reports.recv()).await;
        seen.push(next.expect("both shards report in time").expect("a report"));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        vec![(0, vec![GUILD, SHARD_0_GUILD]), (1, vec![SHARD_1_GUILD])],
        "each client has its own shard's guilds only"
    );
    assert_eq!(
        discord.shards(),
        vec![status(0, 1, 0, 0, true), status(1, 1, 0, 0, true)]
    );
}
