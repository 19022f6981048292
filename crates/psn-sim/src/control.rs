//! The control API under `/_sim/` (JSON), and the world changes behind it. Control requests
//! need no token, never fault, do not count toward the rate limit and are not recorded.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::{json_response, psn_time};
use crate::world::{base_game_complete, Played, TrophyType, World};
use crate::{Fault, Sim, SimError, State};

/// How long a user shows as online after earning a trophy.
const SESSION: Duration = Duration::from_secs(30 * 60);

fn find_user<'a>(
    users: &'a mut [crate::world::User],
    online_id: &str,
) -> Result<&'a mut crate::world::User, SimError> {
    users
        .iter_mut()
        .find(|user| user.answers_to(online_id))
        .ok_or_else(|| SimError::UnknownUser(online_id.to_string()))
}

/// Earns a trophy now; returns every trophy id newly earned (the platinum may follow).
pub(crate) fn earn(
    state: &mut State,
    online_id: &str,
    np_communication_id: &str,
    trophy_id: u32,
) -> Result<Vec<u32>, SimError> {
    let now = state.now();
    let World { titles, users } = &mut state.world;
    let title_index = titles
        .iter()
        .position(|t| t.np_communication_id == np_communication_id)
        .ok_or_else(|| SimError::UnknownTitle(np_communication_id.to_string()))?;
    let title = &titles[title_index];
    if !title.trophies.iter().any(|t| t.id == trophy_id) {
        return Err(SimError::UnknownTrophy {
            title: np_communication_id.to_string(),
            trophy: trophy_id,
        });
    }
    let user = find_user(users, online_id)?;
    let position = match user.library.iter().position(|p| p.title == title_index) {
        Some(position) => position,
        None => {
            user.library.push(Played {
                title: title_index,
                earned: Default::default(),
                last_updated: now,
            });
            user.library.len() - 1
        }
    };
    let played = &mut user.library[position];
    if played.earned.contains_key(&trophy_id) {
        return Err(SimError::AlreadyEarned {
            online_id: user.online_id.clone(),
            title: np_communication_id.to_string(),
            trophy: trophy_id,
        });
    }
    played.earned.insert(trophy_id, Some(now));
    let mut newly = vec![trophy_id];
    // PSN unlocks the platinum together with the last base-game trophy.
    if let Some(platinum) = title
        .trophies
        .iter()
        .find(|t| t.kind == TrophyType::Platinum)
    {
        if !played.earned.contains_key(&platinum.id) && base_game_complete(title, &played.earned) {
            played.earned.insert(platinum.id, Some(now));
            newly.push(platinum.id);
        }
    }
    played.last_updated = now;

    let presence = &mut user.presence;
    let session_end = crate::after(now, SESSION);
    presence.online_until = Some(
        presence
            .online_until
            .map_or(session_end, |until| until.max(session_end)),
    );
    presence.playing = Some(title_index);
    Ok(newly)
}

/// Sets a user's presence: `online` forever (until changed) or offline now, optionally what
/// they play and whether their presence is visible.
pub(crate) fn set_presence(
    state: &mut State,
    online_id: &str,
    online: bool,
    np_title_id: Option<&str>,
    visible: Option<bool>,
) -> Result<(), SimError> {
    let now = state.now();
    let World { titles, users } = &mut state.world;
    let playing = match np_title_id {
        Some(id) => Some(
            titles
                .iter()
                .position(|t| t.np_title_id == id)
                .ok_or_else(|| SimError::UnknownTitle(id.to_string()))?,
        ),
        None => None,
    };
    let presence = &mut find_user(users, online_id)?.presence;
    if online {
        presence.online_until = Some(DateTime::<Utc>::MAX_UTC);
        presence.playing = playing;
    } else {
        presence.online_until = None;
        presence.last_online = now;
        presence.playing = None;
    }
    if let Some(visible) = visible {
        presence.visible = visible;
    }
    Ok(())
}

/// Replaces a user's "About me" text (as the player would in the PlayStation app).
pub(crate) fn set_about_me(state: &mut State, online_id: &str, text: &str) -> Result<(), SimError> {
    find_user(&mut state.world.users, online_id)?.about_me = text.to_string();
    Ok(())
}

pub(crate) fn set_private(
    state: &mut State,
    online_id: &str,
    private: bool,
) -> Result<(), SimError> {
    find_user(&mut state.world.users, online_id)?.private = private;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AboutMeRequest {
    online_id: String,
    about_me: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EarnRequest {
    online_id: String,
    np_communication_id: String,
    trophy_id: u32,
}

#[derive(Deserialize)]
struct AdvanceRequest {
    seconds: u64,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultRequest {
    ServerError {
        count: u32,
    },
    Timeout {
        count: u32,
    },
    RateLimited {
        seconds: u64,
    },
    RevokeTokens,
    RejectNpsso,
    #[serde(rename_all = "camelCase")]
    TitleTrophiesNotFound {
        np_communication_id: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceRequest {
    online_id: String,
    online: bool,
    np_title_id: Option<String>,
    visible: Option<bool>,
}

fn error(status: StatusCode, message: impl ToString) -> Response {
    json_response(status, &json!({ "error": message.to_string() }))
}

fn sim_error(error_value: SimError) -> Response {
    let status = match error_value {
        SimError::AlreadyEarned { .. } => StatusCode::CONFLICT,
        _ => StatusCode::NOT_FOUND,
    };
    error(status, error_value)
}

fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad request body: {e}"))
}

fn clock(sim: &Sim) -> Response {
    json_response(StatusCode::OK, &json!({ "now": psn_time(sim.now()) }))
}

pub(crate) fn handle(sim: &Sim, method: &Method, rest: &[&str], body: &[u8]) -> Response {
    let result = match (method, rest) {
        (&Method::POST, ["earn"]) => parse::<EarnRequest>(body).map(|request| {
            let earned = earn(
                &mut sim.state(),
                &request.online_id,
                &request.np_communication_id,
                request.trophy_id,
            );
            match earned {
                Ok(ids) => json_response(StatusCode::OK, &json!({ "earned": ids })),
                Err(e) => sim_error(e),
            }
        }),
        (&Method::GET, ["clock"]) => Ok(clock(sim)),
        (&Method::POST, ["clock", "advance"]) => parse::<AdvanceRequest>(body).map(|request| {
            sim.advance_clock(Duration::from_secs(request.seconds));
            clock(sim)
        }),
        (&Method::POST, ["fault"]) => parse::<FaultRequest>(body).map(|request| {
            sim.inject(match request {
                FaultRequest::ServerError { count } => Fault::ServerError { count },
                FaultRequest::Timeout { count } => Fault::Timeout { count },
                FaultRequest::RateLimited { seconds } => Fault::RateLimited {
                    for_: Duration::from_secs(seconds),
                },
                FaultRequest::RevokeTokens => Fault::RevokeTokens,
                FaultRequest::RejectNpsso => Fault::RejectNpsso,
                FaultRequest::TitleTrophiesNotFound {
                    np_communication_id,
                } => Fault::TitleTrophiesNotFound {
                    np_communication_id,
                },
            });
            json_response(StatusCode::OK, &json!({ "ok": true }))
        }),
        (&Method::DELETE, ["fault"]) => {
            sim.clear_faults();
            Ok(json_response(StatusCode::OK, &json!({ "ok": true })))
        }
        (&Method::POST, ["presence"]) => parse::<PresenceRequest>(body).map(|request| {
            let result = set_presence(
                &mut sim.state(),
                &request.online_id,
                request.online,
                request.np_title_id.as_deref(),
                request.visible,
            );
            match result {
                Ok(()) => json_response(StatusCode::OK, &json!({ "ok": true })),
                Err(e) => sim_error(e),
            }
        }),
        (&Method::POST, ["about-me"]) => parse::<AboutMeRequest>(body).map(|request| {
            match set_about_me(&mut sim.state(), &request.online_id, &request.about_me) {
                Ok(()) => json_response(StatusCode::OK, &json!({ "ok": true })),
                Err(e) => sim_error(e),
            }
        }),
        (&Method::GET, ["requests"]) => Ok(json_response(StatusCode::OK, &json!(sim.requests()))),
        (&Method::DELETE, ["requests"]) => {
            sim.reset_requests();
            Ok(json_response(StatusCode::OK, &json!({ "ok": true })))
        }
        (&Method::GET, ["users"]) => Ok(users(sim)),
        _ => Ok(error(StatusCode::NOT_FOUND, "no such control endpoint")),
    };
    result.unwrap_or_else(|message| error(StatusCode::BAD_REQUEST, message))
}

/// The named users with their accountIds, for demos and scripts.
fn users(sim: &Sim) -> Response {
    let state = sim.state();
    let users: Vec<Value> = state
        .world
        .users
        .iter()
        .map(|user| {
            json!({
                "onlineId": user.online_id,
                "accountId": user.account_id,
                "formerOnlineId": user.former_online_id,
                "private": user.private,
                "aboutMe": user.about_me,
                "titles": user.library.len(),
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "users": users }))
}
