//! The gateway over plain WebSocket: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME.
//!
//! Sharded as Discord's: many connections at once, each IDENTIFY starting a session on the shard
//! it names (`shard: [id, total]`, shard 0 of 1 without it), whose READY and GUILD_CREATEs hold
//! only the guilds on that shard. A guild's later events go to its shard's newest session.
//!
//! Payloads go out as text frames: serenity asks for `compress: true` in IDENTIFY but reads
//! text frames as plain JSON, so the fake never needs zlib.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State as AxumState;
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::model::Direction;
use crate::payloads;
use crate::state::{on_shard, Outbound, Session, Shared, State};

const OP_DISPATCH: u64 = 0;
const OP_HEARTBEAT: u64 = 1;
const OP_IDENTIFY: u64 = 2;
const OP_RESUME: u64 = 6;
const OP_INVALID_SESSION: u64 = 9;
const OP_HELLO: u64 = 10;
const OP_HEARTBEAT_ACK: u64 = 11;

const CLOSE_UNKNOWN_OPCODE: u16 = 4001;
const CLOSE_DECODE_ERROR: u16 = 4002;
const CLOSE_AUTHENTICATION_FAILED: u16 = 4004;
const CLOSE_INVALID_SHARD: u16 = 4010;

pub(crate) async fn upgrade(
    AxumState(shared): AxumState<Arc<Shared>>,
    ws: WebSocketUpgrade,
) -> Response {
    ws.on_upgrade(move |socket| serve(socket, shared))
}

async fn serve(socket: WebSocket, shared: Arc<Shared>) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let connection_id = shared.update(|state, shared| {
        let id = state.attach(tx);
        let hello = json!({
            "op": OP_HELLO,
            "d": {"heartbeat_interval": shared.config.heartbeat_interval.as_millis()},
            "s": null,
            "t": null,
        });
        // Just attached, so there is a connection to send on.
        let _ = state.send_op(id, hello, shared.now());
        id
    });
    loop {
        tokio::select! {
            outbound = rx.recv() => match outbound {
                Some(Outbound::Text(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Outbound::Close(code, reason)) => {
                    let frame = CloseFrame { code, reason: reason.into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
                None => break,
            },
            inbound = stream.next() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    shared.update(|state, shared| {
                        receive(state, shared, connection_id, text.as_str());
                    });
                }
                Some(Ok(Message::Binary(_))) => {
                    shared.update(|state, _| {
                        state.close(connection_id, CLOSE_DECODE_ERROR, "binary frames are not accepted");
                    });
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    shared.update(|state, _| state.detach(connection_id));
}

fn token_matches(shared: &Shared, sent: &Value) -> bool {
    sent.as_str()
        .is_some_and(|t| t.trim_start_matches("Bot ") == shared.config.token)
}

fn receive(state: &mut State, shared: &Shared, connection_id: u64, text: &str) {
    let now = shared.now();
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        state.close(connection_id, CLOSE_DECODE_ERROR, "invalid JSON");
        return;
    };
    state.record_gateway(Direction::Received, &payload, now);
    match payload["op"].as_u64() {
        Some(OP_HEARTBEAT) => {
            let _ = state.send_op(
                connection_id,
                json!({"op": OP_HEARTBEAT_ACK, "d": null}),
                now,
            );
        }
        Some(OP_IDENTIFY) => identify(state, shared, connection_id, &payload["d"]),
        Some(OP_RESUME) => resume(state, shared, connection_id, &payload["d"]),
        Some(op) if op != OP_DISPATCH => {}
        _ => state.close(connection_id, CLOSE_UNKNOWN_OPCODE, "unknown opcode"),
    }
}

/// IDENTIFY's `shard: [shard_id, num_shards]`; without it the connection is shard 0 of 1.
fn requested_shard(shard: &Value) -> Option<(u32, u32)> {
    if shard.is_null() {
        return Some((0, 1));
    }
    let id = u32::try_from(shard.get(0)?.as_u64()?).ok()?;
    let total = u32::try_from(shard.get(1)?.as_u64()?).ok()?;
    (id < total).then_some((id, total))
}

fn identify(state: &mut State, shared: &Shared, connection_id: u64, data: &Value) {
    let now = shared.now();
    if !token_matches(shared, &data["token"]) {
        state.close(
            connection_id,
            CLOSE_AUTHENTICATION_FAILED,
            "Authentication failed.",
        );
        return;
    }
    let Some((shard, total)) = requested_shard(&data["shard"]) else {
        state.close(connection_id, CLOSE_INVALID_SHARD, "Invalid shard.");
        return;
    };
    let carried_elsewhere =
        |s: &Session| s.shard == shard && s.connection.is_some_and(|c| c != connection_id);
    // Two clients running one shard: Discord lets both stay, and so does the fake; it counts it.
    let overlap = state.sessions.values().any(carried_elsewhere);
    // This one replaces the shard's earlier sessions that no other connection carries.
    state
        .sessions
        .retain(|_, s| s.shard != shard || carried_elsewhere(s));
    let session_id = format!("fake-session-{}", state.snowflake(now));
    state.sessions.insert(
        session_id.clone(),
        Session {
            shard,
            total,
            seq: 0,
            log: Vec::new(),
            connection: None,
        },
    );
    state.bind(connection_id, &session_id);
    let record = state.shards.entry(shard).or_default();
    record.total = total;
    record.identified_by.insert(connection_id);
    record.overlaps += u64::from(overlap);
    record.current = Some(session_id.clone());

    let guilds_on_shard = state.guilds.iter().filter(|g| on_shard(g.id, shard, total));
    let unavailable: Vec<Value> = guilds_on_shard
        .clone()
        .map(|g| json!({"id": g.id.to_string(), "unavailable": true}))
        .collect();
    let created: Vec<Value> = guilds_on_shard
        .map(|g| payloads::guild(g, &shared.config.bot, now))
        .collect();
    let ready = json!({
        "v": 10,
        "user": shared.bot_user_json(),
        "guilds": unavailable,
        "session_id": session_id,
        "resume_gateway_url": shared.gateway_url,
        "shard": [shard, total],
        "application": {"id": shared.config.application_id.to_string(), "flags": 0},
    });
    let _ = state.dispatch(&session_id, "READY", ready, now);
    for guild in created {
        let _ = state.dispatch(&session_id, "GUILD_CREATE", guild, now);
    }
    state.ready_count += 1;
}

fn resume(state: &mut State, shared: &Shared, connection_id: u64, data: &Value) {
    let now = shared.now();
    let after = data["seq"].as_u64().unwrap_or(0);
    let resumed = data["session_id"]
        .as_str()
        .filter(|_| token_matches(shared, &data["token"]))
        .and_then(|id| {
            let session = state.sessions.get(id)?;
            let missed: Vec<String> = session
                .log
                .iter()
                .filter(|(seq, _)| *seq > after)
                .map(|(_, text)| text.clone())
                .collect();
            Some((id.to_owned(), session.shard, missed))
        });
    let Some((session_id, shard, missed)) = resumed else {
        let _ = state.send_op(
            connection_id,
            json!({"op": OP_INVALID_SESSION, "d": false}),
            now,
        );
        return;
    };
    state.bind(connection_id, &session_id);
    if let Some(connection) = state.connections.get(&connection_id) {
        for text in missed {
            let _ = connection.send(Outbound::Text(text));
        }
    }
    let _ = state.dispatch(&session_id, "RESUMED", json!({}), now);
    state.shards.entry(shard).or_default().resumes += 1;
    state.resumed_count += 1;
}
