//! The gateway over plain WebSocket: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME.
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
use crate::state::{Outbound, Session, Shared, State};

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
        let _ = state.send_op(hello, shared.now());
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
                    shared.update(|state, shared| receive(state, shared, text.as_str()));
                }
                Some(Ok(Message::Binary(_))) => {
                    shared.update(|state, _| close(state, CLOSE_DECODE_ERROR, "binary frames are not accepted"));
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    shared.update(|state, _| state.detach(connection_id));
}

fn close(state: &mut State, code: u16, reason: &'static str) {
    if let Some(connection) = &state.connection {
        let _ = connection.tx.send(Outbound::Close(code, reason));
    }
}

fn token_matches(shared: &Shared, sent: &Value) -> bool {
    sent.as_str()
        .is_some_and(|t| t.trim_start_matches("Bot ") == shared.config.token)
}

fn receive(state: &mut State, shared: &Shared, text: &str) {
    let now = shared.now();
    let Ok(payload) = serde_json::from_str::<Value>(text) else {
        close(state, CLOSE_DECODE_ERROR, "invalid JSON");
        return;
    };
    state.record_gateway(Direction::Received, &payload, now);
    match payload["op"].as_u64() {
        Some(OP_HEARTBEAT) => {
            let _ = state.send_op(json!({"op": OP_HEARTBEAT_ACK, "d": null}), now);
        }
        Some(OP_IDENTIFY) => identify(state, shared, &payload["d"]),
        Some(OP_RESUME) => resume(state, shared, &payload["d"]),
        Some(op) if op != OP_DISPATCH => {}
        _ => close(state, CLOSE_UNKNOWN_OPCODE, "unknown opcode"),
    }
}

fn identify(state: &mut State, shared: &Shared, data: &Value) {
    let now = shared.now();
    if !token_matches(shared, &data["token"]) {
        close(state, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.");
        return;
    }
    let session_number = state.snowflake(now);
    state.session = Some(Session {
        id: format!("fake-session-{session_number}"),
        seq: 0,
        log: Vec::new(),
    });
    let session_id = state
        .session
        .as_ref()
        .map(|s| s.id.clone())
        .unwrap_or_default();
    let unavailable: Vec<Value> = state
        .guilds
        .iter()
        .map(|g| json!({"id": g.id.to_string(), "unavailable": true}))
        .collect();
    let ready = json!({
        "v": 10,
        "user": shared.bot_user_json(),
        "guilds": unavailable,
        "session_id": session_id,
        "resume_gateway_url": shared.gateway_url,
        "shard": [0, 1],
        "application": {"id": shared.config.application_id.to_string(), "flags": 0},
    });
    let _ = state.dispatch("READY", ready, now);
    let guilds: Vec<Value> = state
        .guilds
        .iter()
        .map(|g| payloads::guild(g, &shared.config.bot, now))
        .collect();
    for guild in guilds {
        let _ = state.dispatch("GUILD_CREATE", guild, now);
    }
    state.ready_count += 1;
}

fn resume(state: &mut State, shared: &Shared, data: &Value) {
    let now = shared.now();
    let resumable = token_matches(shared, &data["token"])
        && state
            .session
            .as_ref()
            .is_some_and(|s| Some(s.id.as_str()) == data["session_id"].as_str());
    if !resumable {
        let _ = state.send_op(json!({"op": OP_INVALID_SESSION, "d": false}), now);
        return;
    }
    let after = data["seq"].as_u64().unwrap_or(0);
    let missed: Vec<String> = state
        .session
        .as_ref()
        .map(|s| {
            s.log
                .iter()
                .filter(|(seq, _)| *seq > after)
                .map(|(_, text)| text.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(connection) = &state.connection {
        for text in missed {
            let _ = connection.tx.send(Outbound::Text(text));
        }
    }
    let _ = state.dispatch("RESUMED", json!({}), now);
    state.resumed_count += 1;
}
