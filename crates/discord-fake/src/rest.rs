//! The REST API under `/api/v10`, routed by hand so every request is recorded and can be faulted.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::model::{
    FaultKind, InteractionEvent, InteractionId, MessageRecord, RecordedRequest, ATTACH_FILES,
    SEND_MESSAGES, VIEW_CHANNEL,
};
use crate::ratelimit::{Admission, BucketHeaders, Route};
use crate::state::{
    NewMessage, Shared, State, EPHEMERAL, INTERACTION_AUTOCOMPLETE, INTERACTION_COMPONENT, LOADING,
};
use crate::upload::{self, UploadedFile};
use crate::validate::{self, FormErrors};

const API_PREFIX: &str = "/api/v10";
/// Discord expects the initial response within 3 seconds of the dispatch.
const ACK_DEADLINE_SECS: i64 = 3;
/// An interaction token accepts follow-ups and edits for 15 minutes.
const TOKEN_LIFETIME_SECS: i64 = 15 * 60;
const MESSAGES_LIMIT_DEFAULT: usize = 50;
const MESSAGES_LIMIT_MAX: usize = 100;

struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    /// The status recorded for a request the fake never answers (a [`FaultKind::Hang`]).
    fn no_answer() -> Self {
        Self {
            status: 0,
            body: None,
            headers: Vec::new(),
        }
    }

    fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    fn error(status: u16, code: u64, message: &str) -> Self {
        Self::json(status, json!({"message": message, "code": code}))
    }

    fn not_found() -> Self {
        Self::error(404, 0, "404: Not Found")
    }

    fn invalid_form(errors: &FormErrors) -> Self {
        Self::json(400, errors.to_body())
    }

    fn unknown_interaction() -> Self {
        Self::error(404, 10062, "Unknown interaction")
    }

    fn unknown_webhook() -> Self {
        Self::error(404, 10015, "Unknown Webhook")
    }

    fn unknown_message() -> Self {
        Self::error(404, 10008, "Unknown Message")
    }

    fn unknown_channel() -> Self {
        Self::error(404, 10003, "Unknown Channel")
    }

    fn missing_access() -> Self {
        Self::error(403, 50001, "Missing Access")
    }

    fn missing_permissions() -> Self {
        Self::error(403, 50013, "Missing Permissions")
    }

    fn cannot_message_user() -> Self {
        Self::error(403, 50007, "Cannot send messages to this user")
    }

    fn empty_message() -> Self {
        Self::error(400, 50006, "Cannot send an empty message")
    }
}

pub(crate) async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let full_path = uri.path();
    let path = full_path
        .strip_prefix(API_PREFIX)
        .unwrap_or(full_path)
        .to_owned();
    let query = uri.query().map(str::to_owned);
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(upload::boundary);
    let (parsed, files): (Result<Option<Value>, ()>, Vec<UploadedFile>) = match multipart {
        Some(boundary) => match upload::parse(&body, &boundary) {
            Some((payload, files)) => (Ok(payload), files),
            None => (Err(()), Vec::new()),
        },
        None if body.is_empty() => (Ok(None), Vec::new()),
        None => (
            serde_json::from_slice(&body).map(Some).map_err(|_| ()),
            Vec::new(),
        ),
    };
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bot {}", shared.config.token));

    let route = Route::of(
        method.as_str(),
        &path,
        shared.config.message_create_limit,
        shared.config.route_limit,
    );
    let (reply, recorded_body, hang) = shared.update(|state, shared| {
        let now = shared.now();
        let mut hang = false;
        let reply = match &parsed {
            Err(_) => Reply::error(400, 50109, "The request body contains invalid JSON."),
            Ok(_) if !full_path.starts_with(API_PREFIX) => Reply::not_found(),
            Ok(body) => match state.take_fault(method.as_str(), &path) {
                Some(fault) if fault.kind == FaultKind::Hang => {
                    hang = true;
                    Reply::no_answer()
                }
                Some(fault) => fault_reply(&fault.kind, &state.buckets.peek(&route, now)),
                None => match state.buckets.admit(&route, now) {
                    Admission::Exhausted(bucket) => {
                        rate_limited(bucket.reset_after, false, &bucket)
                    }
                    Admission::Allowed(bucket) => {
                        let request = Request {
                            method: &method,
                            path: &path,
                            query: query.as_deref(),
                            body: body.as_ref().unwrap_or(&Value::Null),
                            authorized,
                        };
                        let mut reply = match check_files(state, &request, &files) {
                            Some(refused) => refused,
                            None => {
                                let mut reply = self::route(state, shared, &request);
                                keep_files(state, &mut reply, &files);
                                reply
                            }
                        };
                        reply.headers.extend(bucket.to_headers());
                        reply
                    }
                },
            },
        };
        let recorded_body = parsed.as_ref().ok().cloned().flatten();
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            query: query.clone(),
            body: recorded_body.clone(),
            status: reply.status,
            at: now,
            received: std::time::Instant::now(),
        });
        (reply, recorded_body, hang)
    });
    tracing::debug!(%method, %path, status = reply.status, has_body = recorded_body.is_some(), "fake discord request");
    if hang {
        // A hung Discord: no answer ever; the client gives up on its own.
        std::future::pending::<()>().await;
    }
    into_response(reply)
}

/// Discord's answer to a message's files when it refuses them: over the upload limit of the
/// message's guild (413; Discord's default outside a guild), an
/// embed showing `attachment://name` that is not among them (400), or a channel where the bot
/// may not attach files (403 Missing Permissions).
fn check_files(state: &State, request: &Request<'_>, files: &[UploadedFile]) -> Option<Reply> {
    if files.is_empty() {
        return None;
    }
    let total: usize = files.iter().map(|f| f.bytes.len()).sum();
    if total > upload_limit(state, request) {
        return Some(Reply::error(413, 40005, "Request entity too large"));
    }
    let missing: Vec<String> = upload::referenced(request.body)
        .into_iter()
        .filter(|name| !files.iter().any(|f| &f.filename == name))
        .collect();
    if !missing.is_empty() {
        return Some(Reply::invalid_form(&FormErrors::single(
            vec!["embeds".into()],
            "ATTACHMENT_NOT_FOUND",
            &format!("Unknown attachment: {}", missing.join(", ")),
        )));
    }
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    if let ("POST", ["channels", channel, "messages"]) =
        (request.method.as_str(), segments.as_slice())
    {
        let denied = parse_id(channel)
            .and_then(|id| state.guild_channel(id))
            .is_some_and(|(_, channel)| channel.bot_denied & ATTACH_FILES != 0);
        if denied {
            return Some(Reply::missing_permissions());
        }
    }
    None
}

/// The upload limit of the guild a message goes to: by its channel, or by the channel of the
/// interaction whose token the path carries.
fn upload_limit(state: &State, request: &Request<'_>) -> usize {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let channel = match segments.as_slice() {
        ["channels", channel, "messages", ..] => parse_id(channel),
        ["interactions", _, token, ..] | ["webhooks", _, token, ..] => state
            .interactions
            .values()
            .find(|i| i.token == *token)
            .map(|i| i.channel_id),
        _ => None,
    };
    channel
        .and_then(|id| state.channel_guild(id))
        .map_or(upload::UPLOAD_LIMIT, |guild| guild.upload_limit)
}

/// The files a successful message create or edit carried, kept on the message (and listed in
/// its `attachments`, as Discord returns them).
fn keep_files(state: &mut State, reply: &mut Reply, files: &[UploadedFile]) {
    if files.is_empty() || !(200..300).contains(&reply.status) {
        return;
    }
    let Some(message_id) = reply
        .body
        .as_ref()
        .and_then(|b| b["id"].as_str())
        .and_then(parse_id)
    else {
        return;
    };
    let listed: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "id": format!("{message_id}{i}"),
                "filename": f.filename,
                "size": f.bytes.len(),
                "content_type": f.content_type,
                "url": format!("https://cdn.discordapp.com/attachments/{message_id}/{}", f.filename),
                "proxy_url": format!("https://media.discordapp.net/attachments/{message_id}/{}", f.filename),
            })
        })
        .collect();
    if let Some(record) = state
        .messages
        .iter_mut()
        .find(|m| m.message_id == message_id)
    {
        record.files = files.to_vec();
        record.message["attachments"] = Value::Array(listed.clone());
    }
    if let Some(body) = reply.body.as_mut() {
        body["attachments"] = Value::Array(listed);
    }
}

fn into_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match reply.body {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    };
    for (name, value) in reply.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn fault_reply(kind: &FaultKind, bucket: &BucketHeaders) -> Reply {
    match *kind {
        FaultKind::RateLimited {
            retry_after,
            global,
        } => rate_limited(retry_after, global, bucket),
        FaultKind::ServerError { status } => {
            let mut reply = Reply::error(status, 0, &format!("{status}: Server Error"));
            reply.headers = bucket.to_headers();
            reply
        }
        // Answered by never answering, in `handle`.
        FaultKind::Hang => Reply::no_answer(),
    }
}

/// Discord's 429: the body's `retry_after` and `global`, `Retry-After` in whole seconds, the
/// bucket's headers (empty for a route limit), the scope, and `X-RateLimit-Global` when global.
fn rate_limited(retry_after: f64, global: bool, bucket: &BucketHeaders) -> Reply {
    let mut reply = Reply::json(
        429,
        json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": global}),
    );
    let mut headers = bucket.to_headers();
    if !global {
        // The route's bucket is what ran out (or what Discord says to wait for).
        for (name, value) in &mut headers {
            match *name {
                "x-ratelimit-remaining" => *value = "0".to_owned(),
                "x-ratelimit-reset-after" => *value = format!("{retry_after:.3}"),
                "x-ratelimit-reset" => {
                    let reset: f64 = value.parse().unwrap_or(0.0);
                    let start = reset - bucket.reset_after;
                    *value = format!("{:.3}", start + retry_after);
                }
                _ => {}
            }
        }
    }
    headers.push(("retry-after", format!("{}", retry_after.ceil())));
    headers.push((
        "x-ratelimit-scope",
        if global { "global" } else { "user" }.to_owned(),
    ));
    if global {
        headers.push(("x-ratelimit-global", "true".to_owned()));
    }
    reply.headers = headers;
    reply
}

struct Request<'a> {
    method: &'a Method,
    path: &'a str,
    query: Option<&'a str>,
    body: &'a Value,
    authorized: bool,
}

fn route(state: &mut State, shared: &Shared, request: &Request<'_>) -> Reply {
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    let method = request.method;
    // Interaction callbacks and webhooks authenticate by their token in the path, not the bot token.
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["interactions", id, token, "callback"]) => {
            return interaction_callback(state, shared, id, token, request.body)
        }
        (_, ["webhooks", _application, token, rest @ ..]) => {
            return webhook(state, shared, method, token, rest, request.body)
        }
        _ => {}
    }
    if !request.authorized {
        return Reply::error(401, 0, "401: Unauthorized");
    }
    let config = &shared.config;
    let app = config.application_id.to_string();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["gateway"]) => Reply::ok(json!({"url": shared.gateway_url})),
        ("GET", ["gateway", "bot"]) => Reply::ok(json!({
            "url": shared.gateway_url,
            "shards": config.recommended_shards,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        })),
        ("GET", ["users", "@me"]) => Reply::ok(shared.bot_user_json()),
        ("GET", ["users", "@me", "guilds"]) => Reply::ok(Value::Array(
            state
                .guilds
                .iter()
                .map(|g| json!({"id": g.id.to_string(), "name": g.name, "icon": null, "owner": false, "permissions": "0", "features": []}))
                .collect(),
        )),
        ("GET", ["oauth2", "applications", "@me"]) => Reply::ok(json!({
            "id": app,
            "name": config.bot.name,
            "icon": null,
            "description": "",
            "rpc_origins": [],
            "bot_public": false,
            "bot_require_code_grant": false,
            "verify_key": "0000",
            "flags": 0,
            "owner": payloads_user(&config.bot),
            "team": null,
        })),
        ("GET", ["applications", a, "commands"]) if *a == app => {
            Reply::ok(commands(state, None))
        }
        ("GET", ["applications", a, "guilds", guild, "commands"]) if *a == app => {
            match parse_id(guild) {
                Some(guild) => Reply::ok(commands(state, Some(guild))),
                None => Reply::not_found(),
            }
        }
        ("PUT", ["applications", a, "commands"]) if *a == app => {
            overwrite_commands(state, shared, None, request.body)
        }
        ("PUT", ["applications", a, "guilds", guild, "commands"]) if *a == app => {
            match parse_id(guild) {
                Some(guild) => overwrite_commands(state, shared, Some(guild), request.body),
                None => Reply::not_found(),
            }
        }
        ("POST", ["applications", a, "commands"]) if *a == app => {
            upsert_command(state, shared, None, request.body)
        }
        ("POST", ["applications", a, "guilds", guild, "commands"]) if *a == app => {
            match parse_id(guild) {
                Some(guild) => upsert_command(state, shared, Some(guild), request.body),
                None => Reply::not_found(),
            }
        }
        ("GET", ["channels", channel]) => {
            let Some(channel_id) = parse_id(channel) else {
                return Reply::unknown_channel();
            };
            channel_json(state, channel_id).map_or_else(Reply::unknown_channel, Reply::ok)
        }
        ("POST", ["users", "@me", "channels"]) => create_dm(state, shared, request.body),
        ("POST", ["channels", channel, "messages"]) => {
            let Some(channel_id) = parse_id(channel) else {
                return Reply::unknown_channel();
            };
            match writable(state, channel_id) {
                Ok(()) => create_channel_message(state, shared, channel_id, request.body),
                Err(reply) => reply,
            }
        }
        ("GET", ["channels", channel, "messages"]) => {
            let Some(channel_id) = parse_id(channel) else {
                return Reply::unknown_channel();
            };
            match readable(state, channel_id) {
                Ok(()) => list_messages(state, channel_id, request.query),
                Err(reply) => reply,
            }
        }
        ("PATCH", ["channels", channel, "messages", message]) => {
            match (parse_id(channel), parse_id(message)) {
                (Some(channel_id), Some(message_id))
                    if state
                        .messages
                        .iter()
                        .any(|m| m.message_id == message_id && m.channel_id == channel_id) =>
                {
                    edit_checked(state, shared, message_id, request.body, |_| {})
                }
                _ => Reply::unknown_message(),
            }
        }
        ("GET", ["guilds", guild]) => match parse_id(guild).and_then(|g| state.guild(g)) {
            Some(guild) => Reply::ok(crate::payloads::guild(guild, &config.bot, shared.now())),
            None => Reply::error(404, 10004, "Unknown Guild"),
        },
        ("GET", ["guilds", guild, "channels"]) => {
            match parse_id(guild).and_then(|g| state.guild(g)) {
                Some(guild) => Reply::ok(Value::Array(
                    guild
                        .channels
                        .iter()
                        .enumerate()
                        .map(|(i, c)| crate::payloads::channel(guild.id, c, i))
                        .collect(),
                )),
                None => Reply::error(404, 10004, "Unknown Guild"),
            }
        }
        ("GET", ["users", "@me", "guilds", guild, "member"]) => {
            match parse_id(guild).filter(|g| state.guild(*g).is_some()) {
                Some(guild_id) => {
                    let mut member = crate::payloads::member(shared.bot_user_json(), shared.now());
                    member["guild_id"] = json!(guild_id.to_string());
                    Reply::ok(member)
                }
                None => Reply::error(404, 10004, "Unknown Guild"),
            }
        }
        ("GET", ["guilds", guild, "members", user]) => {
            let (Some(guild_id), Some(user_id)) = (parse_id(guild), parse_id(user)) else {
                return Reply::error(404, 10007, "Unknown Member");
            };
            let joined = shared.now();
            if user_id == config.bot.id && state.guild(guild_id).is_some() {
                let mut member = crate::payloads::member(shared.bot_user_json(), joined);
                member["guild_id"] = json!(guild_id.to_string());
                return Reply::ok(member);
            }
            match state.member(guild_id, user_id) {
                Some(user) => Reply::ok(crate::payloads::member(payloads_user(user), joined)),
                None => Reply::error(404, 10007, "Unknown Member"),
            }
        }
        _ => Reply::not_found(),
    }
}

fn payloads_user(user: &crate::model::FakeUser) -> Value {
    crate::payloads::user(user, false)
}

fn parse_id(segment: &str) -> Option<u64> {
    segment.parse().ok()
}

fn channel_json(state: &State, channel_id: u64) -> Option<Value> {
    let guild = state.channel_guild(channel_id)?;
    let (position, channel) = guild
        .channels
        .iter()
        .enumerate()
        .find(|(_, c)| c.id == channel_id)?;
    Some(crate::payloads::channel(guild.id, channel, position))
}

fn commands(state: &State, guild: Option<u64>) -> Value {
    Value::Array(state.commands.get(&guild).cloned().unwrap_or_default())
}

fn check_command(command: &Value, prefix: Vec<String>, errors: &mut FormErrors) {
    let name_len = command["name"].as_str().map_or(0, |s| s.chars().count());
    let kind = command["type"].as_u64().unwrap_or(1);
    if !(1..=32).contains(&name_len) {
        errors.push_bad_length([prefix.clone(), vec!["name".into()]].concat(), 1, 32);
    }
    let description_len = command["description"]
        .as_str()
        .map_or(0, |s| s.chars().count());
    if kind == 1 && !(1..=100).contains(&description_len) {
        errors.push_bad_length(
            [prefix.clone(), vec!["description".into()]].concat(),
            1,
            100,
        );
    }
    if command["options"].as_array().is_some_and(|o| o.len() > 25) {
        errors.push_bad_length([prefix, vec!["options".into()]].concat(), 0, 25);
    }
}

/// Completes a command as Discord stores it, keeping the id of an earlier command of that name.
fn stored_command(
    state: &mut State,
    shared: &Shared,
    guild: Option<u64>,
    command: &Value,
    existing: Option<&Value>,
) -> Value {
    let at = shared.now();
    let id = existing
        .and_then(|c| c["id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| state.snowflake(at).to_string());
    let mut stored = command.clone();
    stored["id"] = json!(id);
    stored["application_id"] = json!(shared.config.application_id.to_string());
    stored["version"] = json!(state.snowflake(at).to_string());
    if stored.get("type").is_none() {
        stored["type"] = json!(1);
    }
    if let Some(guild) = guild {
        stored["guild_id"] = json!(guild.to_string());
    }
    stored
}

fn overwrite_commands(
    state: &mut State,
    shared: &Shared,
    guild: Option<u64>,
    body: &Value,
) -> Reply {
    let Some(list) = body.as_array() else {
        return Reply::invalid_form(&FormErrors::single(
            vec![],
            "BASE_TYPE_ARRAY",
            "Must be an array.",
        ));
    };
    let mut errors = FormErrors::default();
    for (i, command) in list.iter().enumerate() {
        check_command(command, vec![i.to_string()], &mut errors);
    }
    if !errors.is_empty() {
        return Reply::invalid_form(&errors);
    }
    let previous = state.commands.get(&guild).cloned().unwrap_or_default();
    let stored: Vec<Value> = list
        .iter()
        .map(|command| {
            let existing = previous.iter().find(|c| c["name"] == command["name"]);
            stored_command(state, shared, guild, command, existing)
        })
        .collect();
    state.commands.insert(guild, stored.clone());
    Reply::ok(Value::Array(stored))
}

fn upsert_command(state: &mut State, shared: &Shared, guild: Option<u64>, body: &Value) -> Reply {
    let mut errors = FormErrors::default();
    check_command(body, vec![], &mut errors);
    if !errors.is_empty() {
        return Reply::invalid_form(&errors);
    }
    let list = state.commands.get(&guild).cloned().unwrap_or_default();
    let position = list.iter().position(|c| c["name"] == body["name"]);
    let stored = stored_command(state, shared, guild, body, position.map(|p| &list[p]));
    let list = state.commands.entry(guild).or_default();
    match position {
        Some(p) => {
            list[p] = stored.clone();
            Reply::ok(stored)
        }
        None => {
            list.push(stored.clone());
            Reply::json(201, stored)
        }
    }
}

fn check_message_body(body: &Value, prefix: &[String]) -> Result<(), Reply> {
    let mut errors = FormErrors::default();
    validate::check_message(body, prefix, &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Reply::invalid_form(&errors))
    }
}

fn create_channel_message(
    state: &mut State,
    shared: &Shared,
    channel_id: u64,
    body: &Value,
) -> Reply {
    if let Err(reply) = check_message_body(body, &[]) {
        return reply;
    }
    if validate::is_empty_message(body) {
        return Reply::empty_message();
    }
    let now = shared.now();
    let nonce = match body.get("nonce") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let enforce = body["enforce_nonce"].as_bool().unwrap_or(false);
    if let (Some(nonce), true) = (&nonce, enforce) {
        let window =
            chrono::Duration::from_std(shared.config.nonce_window).unwrap_or(chrono::Duration::MAX);
        let earlier = state
            .nonces
            .iter()
            .rev()
            .find(|n| n.channel_id == channel_id && &n.nonce == nonce && now - n.at <= window)
            .map(|n| n.message_id);
        if let Some(earlier) =
            earlier.and_then(|id| state.messages.iter().find(|m| m.message_id == id))
        {
            return Reply::ok(earlier.message.clone());
        }
    }
    let message = state.create_message(
        shared,
        NewMessage {
            channel_id,
            body,
            flags: 0,
            interaction: None,
            author: None,
        },
    );
    if let (Some(nonce), Some(message_id)) = (nonce, message["id"].as_str().and_then(parse_id)) {
        state.nonces.push(crate::state::StoredNonce {
            channel_id,
            nonce,
            message_id,
            at: now,
        });
    }
    Reply::ok(message)
}

/// Whether the bot may post in `channel_id`: a guild text channel it may see and send to, or a
/// DM with a user it shares a guild with. Discord's answer otherwise.
fn writable(state: &State, channel_id: u64) -> Result<(), Reply> {
    if let Some((_, channel)) = state.guild_channel(channel_id) {
        return if channel.bot_denied & VIEW_CHANNEL != 0 {
            Err(Reply::missing_access())
        } else if channel.bot_denied & SEND_MESSAGES != 0 {
            Err(Reply::missing_permissions())
        } else {
            Ok(())
        };
    }
    match state.dm_recipient(channel_id) {
        Some(user) if state.known_user(user).is_some() => Ok(()),
        Some(_) => Err(Reply::cannot_message_user()),
        None => Err(Reply::unknown_channel()),
    }
}

/// Whether the bot may read `channel_id`'s messages.
fn readable(state: &State, channel_id: u64) -> Result<(), Reply> {
    match state.guild_channel(channel_id) {
        Some((_, channel)) if channel.bot_denied & VIEW_CHANNEL != 0 => {
            Err(Reply::missing_access())
        }
        Some(_) => Ok(()),
        None if state.dm_recipient(channel_id).is_some() => Ok(()),
        None => Err(Reply::unknown_channel()),
    }
}

/// `POST /users/@me/channels {"recipient_id"}`: the DM channel with a user, the same one each
/// time. Like Discord it opens for any user; posting there needs a shared guild.
fn create_dm(state: &mut State, shared: &Shared, body: &Value) -> Reply {
    let recipient = match &body["recipient_id"] {
        Value::String(s) => s.parse::<u64>().ok(),
        other => other.as_u64(),
    };
    let Some(user_id) = recipient else {
        return Reply::invalid_form(&FormErrors::single(
            vec!["recipient_id".into()],
            "BASE_TYPE_REQUIRED",
            "This field is required",
        ));
    };
    let channel_id = match state.dm_channels.get(&user_id) {
        Some(channel_id) => *channel_id,
        None => {
            let channel_id = state.snowflake(shared.now());
            state.dm_channels.insert(user_id, channel_id);
            channel_id
        }
    };
    let user = state
        .known_user(user_id)
        .cloned()
        .unwrap_or_else(|| crate::model::FakeUser::new(user_id, format!("user{user_id}")));
    Reply::ok(json!({
        "id": channel_id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [payloads_user(&user)],
    }))
}

/// `GET /channels/{c}/messages?limit=&after=&before=`: newest first, like Discord, `limit` 1 to
/// 100 (50 by default). Without a position, or with `before`, the `limit` newest (before it);
/// with `after`, the `limit` messages right after it (the oldest after it). Discord does not return a message's `nonce`
/// here (only in the answer to the post itself), so neither does the fake.
fn list_messages(state: &State, channel_id: u64, query: Option<&str>) -> Reply {
    // serenity writes `?&limit=50`, so empty pairs are skipped.
    let param = |name: &str| {
        query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let limit = param("limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(MESSAGES_LIMIT_DEFAULT);
    if !(1..=MESSAGES_LIMIT_MAX).contains(&limit) {
        let mut errors = FormErrors::default();
        errors.push_bad_length(vec!["limit".into()], 1, MESSAGES_LIMIT_MAX);
        return Reply::invalid_form(&errors);
    }
    let after = param("after").and_then(|v| v.parse::<u64>().ok());
    let before = param("before").and_then(|v| v.parse::<u64>().ok());
    let in_range = |m: &&MessageRecord| {
        m.channel_id == channel_id
            && !m.ephemeral
            && after.is_none_or(|a| m.message_id > a)
            && before.is_none_or(|b| m.message_id < b)
    };
    // Discord orders by id (creation time), whatever order the messages were stored in.
    let mut in_channel: Vec<&MessageRecord> = state.messages.iter().filter(in_range).collect();
    in_channel.sort_by_key(|m| m.message_id);
    let mut chosen: Vec<&MessageRecord> = if after.is_some() {
        // The `limit` oldest after it, returned newest first.
        in_channel.into_iter().take(limit).collect()
    } else {
        // The `limit` newest (before it).
        in_channel.into_iter().rev().take(limit).collect()
    };
    chosen.sort_by_key(|m| std::cmp::Reverse(m.message_id));
    let newest_first: Vec<Value> = chosen
        .into_iter()
        .map(|m| {
            let mut message = m.message.clone();
            if let Some(fields) = message.as_object_mut() {
                fields.remove("nonce");
            }
            message
        })
        .collect();
    Reply::ok(Value::Array(newest_first))
}

fn edit_checked(
    state: &mut State,
    shared: &Shared,
    message_id: u64,
    body: &Value,
    on_success: impl FnOnce(&mut State),
) -> Reply {
    if let Err(reply) = check_message_body(body, &[]) {
        return reply;
    }
    match state.edit_message(shared, message_id, body) {
        Some(message) => {
            on_success(state);
            Reply::ok(message)
        }
        None => Reply::unknown_message(),
    }
}

fn interaction_callback(
    state: &mut State,
    shared: &Shared,
    id: &str,
    token: &str,
    body: &Value,
) -> Reply {
    let now = shared.now();
    let Some(interaction) = parse_id(id).and_then(|id| state.interactions.get(&id)) else {
        return Reply::unknown_interaction();
    };
    if interaction.token != token {
        return Reply::unknown_interaction();
    }
    if interaction.acknowledged {
        return Reply::error(400, 40060, "Interaction has already been acknowledged.");
    }
    if now - interaction.dispatched_at > chrono::Duration::seconds(ACK_DEADLINE_SECS) {
        return Reply::unknown_interaction();
    }
    let interaction_kind = interaction.kind;
    let interaction_id = interaction.id;
    let channel_id = interaction.channel_id;
    let component_message = interaction.original_message;
    let kind = body["type"].as_u64().unwrap_or(0);
    let allowed = match interaction_kind {
        INTERACTION_AUTOCOMPLETE => kind == 8,
        INTERACTION_COMPONENT => matches!(kind, 4..=7),
        _ => matches!(kind, 4 | 5),
    };
    if !allowed {
        return Reply::invalid_form(&FormErrors::single(
            vec!["type".into()],
            "INTERACTION_RESPONSE_TYPE_INVALID",
            "Invalid interaction response type for this interaction.",
        ));
    }
    let data = body.get("data").filter(|d| !d.is_null());
    let empty = Value::Null;
    let data_or_empty = data.unwrap_or(&empty);
    let prefix = vec!["data".to_owned()];
    let mut errors = FormErrors::default();
    match kind {
        4 | 7 => validate::check_message(data_or_empty, &prefix, &mut errors),
        8 => validate::check_autocomplete(data_or_empty, &prefix, &mut errors),
        _ => {}
    }
    if !errors.is_empty() {
        return Reply::invalid_form(&errors);
    }
    if kind == 4 && validate::is_empty_message(data_or_empty) {
        return Reply::empty_message();
    }
    let requested_flags = data_or_empty["flags"].as_u64().unwrap_or(0) & EPHEMERAL;
    let original = match kind {
        4 | 5 => {
            let flags = if kind == 5 {
                requested_flags | LOADING
            } else {
                requested_flags
            };
            let message = state.create_message(
                shared,
                NewMessage {
                    channel_id,
                    body: data_or_empty,
                    flags,
                    interaction: Some(InteractionId(interaction_id)),
                    author: None,
                },
            );
            message["id"].as_str().and_then(parse_id)
        }
        7 => {
            if let Some(message_id) = component_message {
                state.edit_message(shared, message_id, data_or_empty);
            }
            component_message
        }
        _ => component_message,
    };
    if let Some(interaction) = state.interactions.get_mut(&interaction_id) {
        interaction.acknowledged = true;
        interaction.original_message = original;
        interaction.events.push(InteractionEvent::Callback {
            kind,
            data: data.cloned(),
            at: now,
        });
    }
    Reply::no_content()
}

fn webhook(
    state: &mut State,
    shared: &Shared,
    method: &Method,
    token: &str,
    rest: &[&str],
    body: &Value,
) -> Reply {
    let now = shared.now();
    let Some(interaction) = state.interaction_by_token(token) else {
        return Reply::unknown_webhook();
    };
    if now - interaction.dispatched_at > chrono::Duration::seconds(TOKEN_LIFETIME_SECS) {
        return Reply::error(401, 50027, "Invalid Webhook Token");
    }
    // Until the interaction is acknowledged its webhook does not exist yet.
    if !interaction.acknowledged {
        return Reply::unknown_webhook();
    }
    let interaction_id = interaction.id;
    let channel_id = interaction.channel_id;
    let original = interaction.original_message;
    let target = match rest {
        [] => None,
        ["messages", "@original"] => Some(original),
        ["messages", id] => match parse_id(id) {
            Some(id)
                if state.messages.iter().any(|m| {
                    m.message_id == id && m.interaction == Some(InteractionId(interaction_id))
                }) =>
            {
                Some(Some(id))
            }
            _ => return Reply::unknown_message(),
        },
        _ => return Reply::not_found(),
    };
    let push = move |state: &mut State, event: InteractionEvent| {
        if let Some(interaction) = state.interactions.get_mut(&interaction_id) {
            interaction.events.push(event);
        }
    };
    match (method.as_str(), target) {
        ("POST", None) => {
            if let Err(reply) = check_message_body(body, &[]) {
                return reply;
            }
            if validate::is_empty_message(body) {
                return Reply::empty_message();
            }
            // As on Discord, the first follow-up after a deferred response ("thinking...")
            // becomes that message instead of a new one.
            let deferred = original.filter(|id| {
                state.messages.iter().any(|m| {
                    m.message_id == *id && m.message["flags"].as_u64().unwrap_or(0) & LOADING != 0
                })
            });
            if let Some(original_id) = deferred {
                let message = state
                    .edit_message(shared, original_id, body)
                    .unwrap_or(Value::Null);
                push(
                    state,
                    InteractionEvent::FollowUp {
                        message_id: original_id,
                        body: body.clone(),
                        at: now,
                    },
                );
                return Reply::ok(message);
            }
            let flags = body["flags"].as_u64().unwrap_or(0) & EPHEMERAL;
            let message = state.create_message(
                shared,
                NewMessage {
                    channel_id,
                    body,
                    flags,
                    interaction: Some(InteractionId(interaction_id)),
                    author: None,
                },
            );
            let message_id = message["id"].as_str().and_then(parse_id).unwrap_or(0);
            push(
                state,
                InteractionEvent::FollowUp {
                    message_id,
                    body: body.clone(),
                    at: now,
                },
            );
            Reply::ok(message)
        }
        (_, None) | (_, Some(None)) => Reply::unknown_message(),
        ("GET", Some(Some(message_id))) => state
            .messages
            .iter()
            .find(|m| m.message_id == message_id)
            .map_or_else(Reply::unknown_message, |m| Reply::ok(m.message.clone())),
        ("PATCH", Some(Some(message_id))) => {
            let event = if Some(message_id) == original {
                InteractionEvent::EditOriginal {
                    body: body.clone(),
                    at: now,
                }
            } else {
                InteractionEvent::EditFollowUp {
                    message_id,
                    body: body.clone(),
                    at: now,
                }
            };
            edit_checked(state, shared, message_id, body, |state| push(state, event))
        }
        ("DELETE", Some(Some(message_id))) => {
            state.messages.retain(|m| m.message_id != message_id);
            push(
                state,
                InteractionEvent::DeleteMessage {
                    message_id,
                    at: now,
                },
            );
            Reply::no_content()
        }
        _ => Reply::not_found(),
    }
}
