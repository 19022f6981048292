//! The fake against the real serenity client, and its Discord rules over plain HTTP.
// These tests drive the fake with serenity's own calls, as any Discord client would.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;

use discord_fake::{
    Direction, FakeConfig, FakeDiscord, FakeGuild, FakeUser, Fault, InteractionEvent, ATTACH_FILES,
    UPLOAD_LIMIT,
};
use serde_json::{json, Value};
use serenity::all::{
    ChannelId, ClientBuilder, Context, CreateAllowedMentions, CreateAutocompleteResponse,
    CreateEmbed, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateMessage, EventHandler, GatewayIntents, Guild, GuildId,
    HttpBuilder, Interaction, MessageId, MessagePagination, Ready, UnavailableGuild, UserId,
};
use serenity::async_trait;
use tokio::sync::mpsc;

// The sharding tests, in this one test binary.
#[path = "fake/shards.rs"]
mod shards;

const GUILD: u64 = 100;
const CHANNEL: u64 = 200;
const USER: u64 = 300;

fn config() -> FakeConfig {
    FakeConfig {
        guilds: vec![FakeGuild::new(GUILD, "Trophy Room")
            .channel(CHANNEL, "general")
            .member(FakeUser::new(USER, "hunter"))],
        ..FakeConfig::default()
    }
}

/// What the test bot saw, reported back to the test.
#[derive(Debug)]
enum Seen {
    Ready {
        application_id: u64,
    },
    GuildCreate {
        name: String,
        channels: usize,
    },
    /// The HTTP status and Discord error code serenity got for a rejected response.
    Rejected {
        status: u16,
        code: isize,
    },
    Answered,
    Autocompleted {
        typed: String,
    },
    GuildDelete {
        guild_id: u64,
    },
    Clicked {
        custom_id: String,
        message_content: String,
    },
}

struct TestBot {
    seen: mpsc::UnboundedSender<Seen>,
    /// When false the bot leaves interactions alone so the test can answer them by hand.
    answers: bool,
}

fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

#[async_trait]
impl EventHandler for TestBot {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.seen.send(Seen::Ready {
            application_id: ready.application.id.get(),
        });
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let _ = self.seen.send(Seen::GuildCreate {
            name: guild.name.clone(),
            channels: guild.channels.len(),
        });
    }

    async fn guild_delete(
        &self,
        _ctx: Context,
        incomplete: UnavailableGuild,
        _full: Option<Guild>,
    ) {
        let _ = self.seen.send(Seen::GuildDelete {
            guild_id: incomplete.id.get(),
        });
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let command = match interaction {
            Interaction::Command(command) => command,
            Interaction::Autocomplete(autocomplete) => {
                let typed = autocomplete
                    .data
                    .autocomplete()
                    .map(|o| o.value.to_owned())
                    .unwrap_or_default();
                let choices = CreateAutocompleteResponse::new()
                    .add_string_choice("ASTRO BOT (PS5)", "NPWR37486_00");
                let response = CreateInteractionResponse::Autocomplete(choices);
                if autocomplete
                    .create_response(&ctx.http, response)
                    .await
                    .is_ok()
                {
                    let _ = self.seen.send(Seen::Autocompleted { typed });
                }
                return;
            }
            Interaction::Component(click) => {
                let update = CreateInteractionResponse::UpdateMessage(
                    CreateInteractionResponseMessage::new().content("page 2 of 2"),
                );
                if click.create_response(&ctx.http, update).await.is_ok() {
                    let _ = self.seen.send(Seen::Clicked {
                        custom_id: click.data.custom_id.clone(),
                        message_content: click.message.content.clone(),
                    });
                }
                return;
            }
            _ => return,
        };
        if !self.answers {
            return;
        }
        let user = command
            .data
            .options
            .first()
            .and_then(|o| o.value.as_str())
            .unwrap_or("nobody")
            .to_owned();
        // serenity checks content length and embed count itself; a long embed title it sends.
        let too_long = CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .embed(CreateEmbed::new().title("x".repeat(257))),
        );
        if let Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(e))) =
            command.create_response(&ctx.http, too_long).await
        {
            let _ = self.seen.send(Seen::Rejected {
                status: e.status_code.as_u16(),
                code: e.error.code,
            });
        }
        let reply = CreateInteractionResponse::Message(
            CreateInteractionResponseMessage::new()
                .content(format!("trophies of {user}"))
                .allowed_mentions(no_mentions()),
        );
        if command.create_response(&ctx.http, reply).await.is_ok() {
            let follow_up = CreateInteractionResponseFollowup::new()
                .content("page 2")
                .allowed_mentions(no_mentions());
            if command.create_followup(&ctx.http, follow_up).await.is_ok() {
                let _ = self.seen.send(Seen::Answered);
            }
        }
    }
}

fn proxied_http(discord: &FakeDiscord) -> serenity::http::Http {
    HttpBuilder::new("fake-token")
        .proxy(discord.origin())
        .ratelimiter_disabled(true)
        .build()
}

async fn start_bot(discord: &FakeDiscord, answers: bool) -> Inbox {
    let (seen, events) = mpsc::unbounded_channel();
    let http = proxied_http(discord);
    let mut client = ClientBuilder::new_with_http(http, GatewayIntents::GUILDS)
        .event_handler(TestBot { seen, answers })
        .await
        .expect("the serenity client builds");
    tokio::spawn(async move {
        let _ = client.start().await;
    });
    Inbox {
        events,
        early: Vec::new(),
    }
}

/// serenity runs each handler call in its own task, so reports may arrive in any order.
struct Inbox {
    events: mpsc::UnboundedReceiver<Seen>,
    early: Vec<Seen>,
}

impl Inbox {
    async fn expect(&mut self, what: &str, wanted: impl Fn(&Seen) -> bool) -> Seen {
        if let Some(index) = self.early.iter().position(&wanted) {
            return self.early.remove(index);
        }
        loop {
            let seen = tokio::time::timeout(Duration::from_secs(20), self.events.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "the bot reports {what} in time; it reported {:?}",
                        self.early
                    )
                })
                .expect("the bot is running");
            if wanted(&seen) {
                return seen;
            }
            self.early.push(seen);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_connects_and_answers_a_slash_command() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let mut events = start_bot(&discord, true).await;
    discord.wait_ready().await.unwrap();

    let ready = events
        .expect("READY", |s| matches!(s, Seen::Ready { .. }))
        .await;
    let Seen::Ready { application_id } = ready else {
        unreachable!("matched above")
    };
    assert_eq!(application_id, discord.config().application_id);
    let guild = events
        .expect("GUILD_CREATE", |s| matches!(s, Seen::GuildCreate { .. }))
        .await;
    let Seen::GuildCreate { name, channels } = guild else {
        unreachable!("matched above")
    };
    assert_eq!((name.as_str(), channels), ("Trophy Room", 1));

    let ix = discord
        .send_slash_command(
            GUILD,
            CHANNEL,
            USER,
            "trophies",
            json!([{"name": "user", "type": 3, "value": "sim_hunter"}]),
        )
        .await
        .unwrap();
    let rejected = events
        .expect("a rejection", |s| matches!(s, Seen::Rejected { .. }))
        .await;
    let Seen::Rejected { status, code } = rejected else {
        unreachable!("matched above")
    };
    assert_eq!((status, code), (400, 50035), "a 257-character embed title");
    events
        .expect("the answer", |s| matches!(s, Seen::Answered))
        .await;

    let InteractionEvent::Callback { kind, data, .. } =
        discord.wait_for_response(ix).await.unwrap()
    else {
        panic!("the response is a callback");
    };
    assert_eq!(kind, 4);
    assert_eq!(data.unwrap()["content"], "trophies of sim_hunter");
    let log = discord.wait_for_interaction_events(ix, 2).await.unwrap();
    assert!(log[0].is_callback(), "acknowledged before any follow-up");
    assert!(matches!(log[1], InteractionEvent::FollowUp { .. }));

    let messages = discord.channel_messages(CHANNEL);
    assert_eq!(messages.len(), 2);
    for message in &messages {
        // serenity also sends empty `users` and `roles` lists.
        let allowed = message
            .allowed_mentions
            .as_ref()
            .expect("allowed_mentions sent");
        assert_eq!(allowed["parse"], json!([]));
    }
    let rejected = discord
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/callback"))
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(rejected, vec![400, 204]);

    // The bot's token never reaches the gateway record.
    let log = discord.gateway_log();
    let identify = log
        .iter()
        .find(|r| r.direction == Direction::Received && r.op == 2)
        .expect("IDENTIFY recorded");
    assert_eq!(identify.payload["d"]["token"], "[redacted]");
    assert!(!format!("{log:?}").contains("fake-token"));
    assert!(!format!("{:?}", discord.config()).contains("fake-token"));
    let sequences: Vec<u64> = log.iter().filter_map(|r| r.seq).collect();
    assert_eq!(sequences, (1..=sequences.len() as u64).collect::<Vec<_>>());

    // A reconnect request makes serenity resume the same session.
    discord.request_reconnect().unwrap();
    discord
        .wait_for("RESUMED", |d| (d.session_counts().1 >= 1).then_some(()))
        .await
        .unwrap();
    assert_eq!(
        discord.session_counts().0,
        1,
        "resumed without a new IDENTIFY"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_handles_autocomplete_buttons_and_session_events() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let mut events = start_bot(&discord, true).await;
    discord.wait_ready().await.unwrap();

    let typing = discord
        .send_autocomplete(
            GUILD,
            CHANNEL,
            USER,
            "trophies",
            json!([{"name": "game", "type": 3, "value": "astro", "focused": true}]),
        )
        .await
        .unwrap();
    let InteractionEvent::Callback { kind, data, .. } =
        discord.wait_for_response(typing).await.unwrap()
    else {
        panic!("the response is a callback");
    };
    assert_eq!(kind, 8);
    assert_eq!(data.unwrap()["choices"][0]["name"], "ASTRO BOT (PS5)");

    let (_, message) = post(
        &discord,
        &format!("/channels/{CHANNEL}/messages"),
        json!({"content": "page 1 of 2", "components": [{"type": 1, "components": [
            {"type": 2, "style": 1, "custom_id": "page:2", "label": "Next"}]}]}),
    )
    .await;
    let message_id = message["id"].as_str().unwrap().parse().unwrap();
    let click = discord
        .send_button_click(GUILD, USER, message_id, "page:2")
        .await
        .unwrap();
    assert!(matches!(
        discord.wait_for_response(click).await.unwrap(),
        InteractionEvent::Callback { kind: 7, .. }
    ));
    events
        .expect(
            "the focused option",
            |s| matches!(s, Seen::Autocompleted { typed } if typed == "astro"),
        )
        .await;
    events
        .expect("the click on the message", |s| {
            matches!(s, Seen::Clicked { custom_id, message_content }
                if custom_id == "page:2" && message_content == "page 1 of 2")
        })
        .await;
    let updated = discord.channel_messages(CHANNEL);
    assert_eq!(updated[0].message["content"], "page 2 of 2");

    discord.send_guild_delete(GUILD).unwrap();
    events
        .expect(
            "GUILD_DELETE",
            |s| matches!(s, Seen::GuildDelete { guild_id } if *guild_id == GUILD),
        )
        .await;

    discord.invalidate_session(true).unwrap();
    discord
        .wait_for("RESUMED", |d| (d.session_counts().1 >= 1).then_some(()))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serenity_heartbeats_are_acknowledged() {
    // A short interval so serenity heartbeats at once; a missed ACK under load would make it
    // reconnect, so this test does nothing else.
    let discord = FakeDiscord::start(FakeConfig {
        heartbeat_interval: Duration::from_millis(10),
        ..config()
    })
    .await
    .unwrap();
    let _events = start_bot(&discord, false).await;
    let heartbeat_and_ack = discord
        .wait_for("a heartbeat and its ACK", |d| {
            let log = d.gateway_log();
            let heartbeat = log
                .iter()
                .position(|r| r.direction == Direction::Received && r.op == 1)?;
            log[heartbeat..]
                .iter()
                .any(|r| r.direction == Direction::Sent && r.op == 11)
                .then_some(())
        })
        .await;
    assert!(heartbeat_and_ack.is_ok());
}

#[tokio::test]
async fn serenity_reads_the_rest_shapes() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let http = proxied_http(&discord);
    let gateway = http.get_bot_gateway().await.unwrap();
    assert_eq!(gateway.url, discord.gateway_url());
    assert_eq!(gateway.shards, 1);
    let me = http.get_current_user().await.unwrap();
    assert_eq!(me.id.get(), discord.config().bot.id);
    assert!(me.bot);
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id.get(), discord.config().application_id);
    let guild = http.get_guild(GuildId::new(GUILD)).await.unwrap();
    assert_eq!(guild.name, "Trophy Room");
    let channels = http.get_channels(GuildId::new(GUILD)).await.unwrap();
    assert_eq!(channels[0].name, "general");
    let channel = http.get_channel(ChannelId::new(CHANNEL)).await.unwrap();
    assert_eq!(channel.guild().map(|c| c.guild_id.get()), Some(GUILD));
    let member = http
        .get_member(GuildId::new(GUILD), UserId::new(USER))
        .await
        .unwrap();
    assert_eq!(member.user.name, "hunter");
    let bot_member = http
        .get_current_user_guild_member(GuildId::new(GUILD))
        .await
        .unwrap();
    assert_eq!(bot_member.user.id, me.id);

    let sent = ChannelId::new(CHANNEL)
        .send_message(
            &http,
            CreateMessage::new().embed(CreateEmbed::new().title("Platinum")),
        )
        .await
        .unwrap();
    let listed = http
        .get_messages(ChannelId::new(CHANNEL), None, Some(10))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, sent.id);
    assert_eq!(listed[0].embeds[0].title.as_deref(), Some("Platinum"));

    // Without a gateway READY, serenity learns the application id from the caller.
    http.set_application_id(app.id);
    let commands = json!([{"name": "trophies", "description": "Show trophies", "type": 1}]);
    let created = http
        .create_guild_commands(GuildId::new(GUILD), &commands)
        .await
        .unwrap();
    let fetched = http.get_guild_commands(GuildId::new(GUILD)).await.unwrap();
    assert_eq!(created[0].id, fetched[0].id);
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn call(
    method: reqwest::Method,
    discord: &FakeDiscord,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let response = client()
        .request(method, format!("{}/api/v10{path}", discord.origin()))
        .header("Authorization", "Bot fake-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn post(discord: &FakeDiscord, path: &str, body: Value) -> (u16, Value) {
    call(reqwest::Method::POST, discord, path, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interaction_deadlines_follow_the_injected_clock() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let _events = start_bot(&discord, false).await;
    discord.wait_ready().await.unwrap();
    let clock = discord.clock().clone();
    let respond = |ix| {
        let token = discord.interaction_token(ix).unwrap();
        format!("/interactions/{}/{token}/callback", ix.0)
    };

    let late = discord
        .send_slash_command(GUILD, CHANNEL, USER, "rarest", json!([]))
        .await
        .unwrap();
    clock.advance(Duration::from_millis(3_100));
    let (status, body) = post(&discord, &respond(late), json!({"type": 5})).await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(10062)));

    let ix = discord
        .send_slash_command(GUILD, CHANNEL, USER, "rarest", json!([]))
        .await
        .unwrap();
    clock.advance(Duration::from_millis(2_900));
    let (status, _) = post(
        &discord,
        &respond(ix),
        json!({"type": 5, "data": {"flags": 64}}),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = post(
        &discord,
        &respond(ix),
        json!({"type": 4, "data": {"content": "again"}}),
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(40060)));

    let token = discord.interaction_token(ix).unwrap();
    let app = discord.config().application_id;
    let (status, first) = post(
        &discord,
        &format!("/webhooks/{app}/{token}"),
        json!({"content": "done"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first["content"], "done");
    assert_eq!(first["flags"], 64, "ephemeral kept, loading cleared");
    let (_, second) = post(
        &discord,
        &format!("/webhooks/{app}/{token}"),
        json!({"content": "more"}),
    )
    .await;
    assert_ne!(
        second["id"], first["id"],
        "only the first follow-up fills the deferred reply"
    );
    let original = format!("/webhooks/{app}/{token}/messages/@original");
    let (status, edited) = call(
        reqwest::Method::PATCH,
        &discord,
        &original,
        json!({"content": "done!"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(edited["id"], first["id"]);

    clock.advance(Duration::from_secs(15 * 60));
    let (status, body) = post(
        &discord,
        &format!("/webhooks/{app}/{token}"),
        json!({"content": "late"}),
    )
    .await;
    assert_eq!((status, body["code"].as_u64()), (401, Some(50027)));

    let log = discord.interaction_log(ix);
    assert_eq!(log.len(), 4);
    assert!(matches!(log[0], InteractionEvent::Callback { kind: 5, .. }));
    assert!(matches!(log[1], InteractionEvent::FollowUp { .. }));
    assert!(matches!(log[2], InteractionEvent::FollowUp { .. }));
    assert!(matches!(log[3], InteractionEvent::EditOriginal { .. }));
}

#[tokio::test]
async fn the_same_nonce_returns_the_earlier_message() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let path = format!("/channels/{CHANNEL}/messages");
    let send = json!({"content": "ASTRO BOT platinum!", "nonce": "track-42", "enforce_nonce": true, "allowed_mentions": {"parse": []}});

    let (status, first) = post(&discord, &path, send.clone()).await;
    assert_eq!(status, 200);
    let (_, again) = post(&discord, &path, send.clone()).await;
    assert_eq!(first["id"], again["id"]);

    let (_, unenforced) = post(
        &discord,
        &path,
        json!({"content": "x", "nonce": "track-42"}),
    )
    .await;
    assert_ne!(unenforced["id"], first["id"]);

    discord
        .clock()
        .advance(discord.config().nonce_window + Duration::from_secs(1));
    let (_, later) = post(&discord, &path, send).await;
    assert_ne!(later["id"], first["id"]);

    let listed = client()
        .get(format!("{}/api/v10{path}?&limit=2", discord.origin()))
        .header("Authorization", "Bot fake-token")
        .send()
        .await
        .unwrap()
        .json::<Vec<Value>>()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["id"], later["id"], "newest first");
}

#[tokio::test]
async fn message_history_pages_like_discord_with_before_after_and_limit() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let http = proxied_http(&discord);
    let member = FakeUser::new(USER, "hunter");
    let other_bot = FakeUser::new(USER + 1, "other_bot");
    // 250 messages by a member and another bot, and one by our bot in the middle.
    let mut ids = Vec::new();
    for i in 0..250 {
        if i == 125 {
            let ours = ChannelId::new(CHANNEL)
                .send_message(&http, CreateMessage::new().content("ours"))
                .await
                .unwrap();
            ids.push(ours.id.get());
        }
        let (author, bot) = if i % 2 == 0 {
            (&member, false)
        } else {
            (&other_bot, true)
        };
        let id = discord
            .post_as(CHANNEL, author, bot, &json!({"content": format!("m{i}")}))
            .unwrap();
        ids.push(id);
        if i % 50 == 0 {
            discord.clock().advance(Duration::from_secs(1));
        }
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow with time");
    let newest_first: Vec<u64> = ids.iter().rev().copied().collect();
    let listed = |messages: Vec<serenity::all::Message>| -> Vec<u64> {
        messages.iter().map(|m| m.id.get()).collect()
    };
    let channel = ChannelId::new(CHANNEL);

    // No position: the newest, 50 by default.
    let page = http.get_messages(channel, None, None).await.unwrap();
    assert_eq!(listed(page), newest_first[..50]);

    // `before`: the `limit` newest before it, newest first; paging back reaches every message.
    let mut seen = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let page = http
            .get_messages(channel, before.map(MessagePagination::Before), Some(100))
            .await
            .unwrap();
        pages += 1;
        let full = page.len() == 100;
        before = page.last().map(|m| m.id);
        seen.extend(listed(page));
        if !full {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, newest_first);

    // `after`: the `limit` messages right after it (the oldest), still newest first.
    let page = http
        .get_messages(
            channel,
            Some(MessagePagination::After(MessageId::new(ids[0]))),
            Some(100),
        )
        .await
        .unwrap();
    let expected: Vec<u64> = ids[1..101].iter().rev().copied().collect();
    assert_eq!(listed(page), expected);

    // Authors as Discord shows them: ours, a member, another bot.
    let page = http
        .get_messages(
            channel,
            Some(MessagePagination::Before(MessageId::new(ids[127]))),
            Some(2),
        )
        .await
        .unwrap();
    assert_eq!(page[0].id.get(), ids[126]);
    assert_eq!(page[0].author.id.get(), USER + 1);
    assert!(page[0].author.bot);
    assert_eq!(page[1].id.get(), ids[125]);
    assert_eq!(page[1].author.id.get(), discord.config().bot.id);
    assert!(page[1].author.bot);
    let page = http
        .get_messages(
            channel,
            Some(MessagePagination::After(MessageId::new(ids[1]))),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!(page[0].id.get(), ids[2]);
    assert_eq!(page[0].author.id.get(), USER);
    assert!(!page[0].author.bot);

    // `limit` is 1 to 100.
    for limit in ["0", "101"] {
        let response = client()
            .get(format!(
                "{}/api/v10/channels/{CHANNEL}/messages?limit={limit}",
                discord.origin()
            ))
            .header("Authorization", "Bot fake-token")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 400, "limit={limit}");
    }
}

#[tokio::test]
async fn injected_faults_answer_429_and_5xx_once() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let path = format!("/channels/{CHANNEL}/messages");
    discord.inject_fault(Fault::rate_limited("POST", &path, 1.5));
    discord.inject_fault(Fault::server_error("POST", &path, 502));

    let response = client()
        .post(format!("{}/api/v10{path}", discord.origin()))
        .header("Authorization", "Bot fake-token")
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("retry-after").as_deref(), Some("2"));
    assert_eq!(header("x-ratelimit-remaining").as_deref(), Some("0"));
    assert_eq!(header("x-ratelimit-reset-after").as_deref(), Some("1.500"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["retry_after"], 1.5);
    assert_eq!(body["global"], false);

    assert_eq!(post(&discord, &path, json!({"content": "hi"})).await.0, 502);
    assert_eq!(post(&discord, &path, json!({"content": "hi"})).await.0, 200);
    assert_eq!(discord.channel_messages(CHANNEL).len(), 1);
}

#[tokio::test]
async fn payloads_over_discord_limits_get_invalid_form_body() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let path = format!("/channels/{CHANNEL}/messages");
    let field = json!({"name": "n", "value": "v".repeat(1025)});
    let (status, body) = post(
        &discord,
        &path,
        json!({"embeds": [{"title": "t", "fields": [field]}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], 50035);
    assert_eq!(body["message"], "Invalid Form Body");
    assert_eq!(
        body["errors"]["embeds"]["0"]["fields"]["0"]["value"]["_errors"][0]["code"],
        "BASE_TYPE_MAX_LENGTH"
    );

    let embeds: Vec<Value> = (0..11).map(|i| json!({"title": i.to_string()})).collect();
    let (status, body) = post(&discord, &path, json!({"embeds": embeds})).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["embeds"]["_errors"].is_array());

    let row = json!({"type": 1, "components": (0..6).map(|i| json!({"type": 2, "style": 1, "custom_id": i.to_string(), "label": "b"})).collect::<Vec<_>>()});
    let (status, body) = post(&discord, &path, json!({"components": [row]})).await;
    assert_eq!(status, 400);
    assert!(body["errors"]["components"]["0"]["components"]["_errors"].is_array());

    let (status, body) = post(&discord, &path, json!({"content": ""})).await;
    assert_eq!((status, body["code"].as_u64()), (400, Some(50006)));
    assert!(discord.channel_messages(CHANNEL).is_empty());
}

#[tokio::test]
async fn commands_are_overwritten_in_bulk_and_keep_their_ids() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let app = discord.config().application_id;
    let path = format!("/applications/{app}/guilds/{GUILD}/commands");
    let trophies = json!({"name": "trophies", "description": "Show trophies", "type": 1});
    let (status, first) = call(reqwest::Method::PUT, &discord, &path, json!([trophies])).await;
    assert_eq!(status, 200);
    let rarest = json!({"name": "rarest", "description": "Rarest trophies"});
    let (_, second) = call(
        reqwest::Method::PUT,
        &discord,
        &path,
        json!([trophies, rarest]),
    )
    .await;
    assert_eq!(second[0]["id"], first[0]["id"]);
    assert_eq!(discord.commands(Some(GUILD)).len(), 2);
    assert!(discord.commands(None).is_empty());

    let (status, _) = call(
        reqwest::Method::PUT,
        &discord,
        &path,
        json!([{"name": "", "description": "d"}]),
    )
    .await;
    assert_eq!(status, 400);
    let unauthorized = client()
        .get(format!("{}/api/v10{path}", discord.origin()))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
}

/// A client that reaches the fake's TLS side as `discord.com`, as the bot's production client is
/// built (only the address and the trusted authority differ from Discord).
fn tls_client(discord: &FakeDiscord) -> reqwest::Client {
    reqwest::Client::builder()
        .resolve(discord_fake::DISCORD_HOST, discord.tls_addr())
        .add_root_certificate(reqwest::Certificate::from_pem(discord.ca_pem().as_bytes()).unwrap())
        .build()
        .unwrap()
}

async fn post_over_tls(client: &reqwest::Client, path: &str) -> reqwest::Response {
    client
        .post(format!("https://discord.com/api/v10{path}"))
        .header("Authorization", "Bot fake-token")
        .json(&json!({"content": "hi"}))
        .send()
        .await
        .unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn rest_over_tls_counts_message_creates_per_channel_on_the_fake_clock() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let client = tls_client(&discord);
    let path = format!("/channels/{CHANNEL}/messages");
    for remaining in (0..5).rev() {
        let response = post_over_tls(&client, &path).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(header(&response, "x-ratelimit-limit").as_deref(), Some("5"));
        assert_eq!(
            header(&response, "x-ratelimit-remaining"),
            Some(remaining.to_string())
        );
        assert_eq!(
            header(&response, "x-ratelimit-reset-after").as_deref(),
            Some("5.000")
        );
        assert!(header(&response, "x-ratelimit-bucket").is_some());
    }
    let over = post_over_tls(&client, &path).await;
    assert_eq!(over.status().as_u16(), 429);
    assert_eq!(header(&over, "x-ratelimit-scope").as_deref(), Some("user"));
    assert_eq!(header(&over, "x-ratelimit-global"), None);
    assert_eq!(header(&over, "retry-after").as_deref(), Some("5"));
    assert_eq!(
        discord.channel_messages(CHANNEL).len(),
        5,
        "the 429 posted nothing"
    );

    discord.clock().advance(Duration::from_secs(5));
    assert_eq!(post_over_tls(&client, &path).await.status().as_u16(), 200);
    assert_eq!(discord.channel_messages(CHANNEL).len(), 6);
}

#[tokio::test]
async fn a_global_429_says_so_in_its_headers_and_a_hung_request_gets_no_answer() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let client = tls_client(&discord);
    let path = format!("/channels/{CHANNEL}/messages");
    discord.inject_fault(Fault::globally_rate_limited("/", 2.5));
    let response = post_over_tls(&client, &path).await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(
        header(&response, "x-ratelimit-global").as_deref(),
        Some("true")
    );
    assert_eq!(
        header(&response, "x-ratelimit-scope").as_deref(),
        Some("global")
    );
    assert_eq!(header(&response, "retry-after").as_deref(), Some("3"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["global"], true);

    discord.inject_fault(Fault::hang("POST", &path));
    let hung =
        tokio::time::timeout(Duration::from_millis(300), post_over_tls(&client, &path)).await;
    assert!(hung.is_err(), "a hung request is never answered");
    assert_eq!(discord.requests().last().map(|r| r.status), Some(0));
    assert!(discord.channel_messages(CHANNEL).is_empty());
}

#[tokio::test]
async fn serenitys_own_rate_limiter_waits_for_the_bucket_over_tls() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let client = tls_client(&discord);
    // The production wiring: one client for serenity's requests and for its limiter.
    let http = HttpBuilder::new("fake-token")
        .client(client.clone())
        .ratelimiter(serenity::http::Ratelimiter::new(client, "Bot fake-token"))
        .build();
    assert!(http.ratelimiter.is_some());
    for n in 0..5 {
        ChannelId::new(CHANNEL)
            .send_message(&http, CreateMessage::new().content(format!("m{n}")))
            .await
            .unwrap();
    }
    // The bucket is empty: serenity holds the sixth post itself until the window ends, then
    // retries until the fake's clock has moved on.
    let sixth = tokio::spawn(async move {
        ChannelId::new(CHANNEL)
            .send_message(&http, CreateMessage::new().content("m5"))
            .await
    });
    discord
        .wait_for("the sixth post refused", |d| {
            d.requests().iter().any(|r| r.status == 429).then_some(())
        })
        .await
        .unwrap();
    assert_eq!(discord.channel_messages(CHANNEL).len(), 5);
    discord.clock().advance(Duration::from_secs(5));
    sixth.await.unwrap().unwrap();
    assert_eq!(discord.channel_messages(CHANNEL).len(), 6);
}

#[tokio::test]
async fn files_are_kept_and_held_to_discords_rules() {
    let discord = FakeDiscord::start(config()).await.unwrap();
    let http = proxied_http(&discord);
    let channel = ChannelId::new(CHANNEL);
    let png = b"\x89PNG\r\n\x1a\nnot really a picture".to_vec();
    let with_card = |bytes: Vec<u8>| {
        CreateMessage::new()
            .embed(
                serenity::all::CreateEmbed::new()
                    .title("t")
                    .image("attachment://card.png"),
            )
            .add_file(serenity::all::CreateAttachment::bytes(bytes, "card.png"))
    };

    // Kept with the message, and listed in its attachments.
    let sent = channel
        .send_message(&http, with_card(png.clone()))
        .await
        .unwrap();
    assert_eq!(sent.attachments.len(), 1);
    assert_eq!(sent.attachments[0].filename, "card.png");
    let record = discord
        .channel_messages(CHANNEL)
        .into_iter()
        .find(|m| m.message_id == sent.id.get())
        .unwrap();
    assert_eq!(record.files.len(), 1);
    assert!(record.files[0].bytes.starts_with(b"\x89PNG\r\n\x1a\n"));

    // An embed showing a file the message does not carry.
    let missing = CreateMessage::new()
        .embed(
            serenity::all::CreateEmbed::new()
                .title("t")
                .image("attachment://other.png"),
        )
        .add_file(serenity::all::CreateAttachment::bytes(
            png.clone(),
            "card.png",
        ));
    let err = channel.send_message(&http, missing).await.unwrap_err();
    assert!(err.to_string().contains("Invalid Form Body"), "{err}");

    // Over the 10 MiB upload limit: 413, Discord's error JSON.
    let (status, body) = {
        let err = channel
            .send_message(&http, with_card(vec![0; UPLOAD_LIMIT + 1]))
            .await
            .unwrap_err();
        match err {
            serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r)) => {
                (r.status_code.as_u16(), r.error.code)
            }
            other => panic!("{other}"),
        }
    };
    assert_eq!((status, body), (413, 40005));

    // No Attach Files: a message with files is refused, one without still goes.
    discord.deny_bot_in_channel(CHANNEL, ATTACH_FILES).unwrap();
    match channel
        .send_message(&http, with_card(png))
        .await
        .unwrap_err()
    {
        serenity::Error::Http(serenity::all::HttpError::UnsuccessfulRequest(r)) => {
            assert_eq!((r.status_code.as_u16(), r.error.code), (403, 50013));
        }
        other => panic!("{other}"),
    }
    channel
        .send_message(&http, CreateMessage::new().content("text only"))
        .await
        .unwrap();
}
