//! basicPresences, batched and single (`m.np.playstation.com/api/userProfile/v2/internal`).

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::http::{ApiError, ApiResult, Query};
use crate::world::{Service, User};
use crate::State;

/// PSN's presence timestamps carry milliseconds: `2025-05-04T18:19:05.288Z`.
fn presence_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Hidden and unknown accounts are left out, as PSN does.
pub(crate) fn batch(state: &State, query: &Query) -> ApiResult {
    let ids: Vec<&str> = query
        .get("accountIds")
        .unwrap_or("")
        .split(',')
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request("Missing accountIds"));
    }
    if ids.len() > state.config.presence_batch_limit {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            2_281_665,
            format!(
                "Too many accountIds: {} (at most {})",
                ids.len(),
                state.config.presence_batch_limit
            ),
        ));
    }
    let presences: Vec<Value> = ids
        .iter()
        .filter_map(|id| state.world.users.iter().find(|user| user.account_id == *id))
        .filter(|user| user.presence.visible)
        .map(|user| presence(state, user))
        .collect();
    Ok(json!({ "basicPresences": presences }))
}

pub(crate) fn one(state: &State, account_id: &str) -> ApiResult {
    let user = state
        .world
        .users
        .iter()
        .find(|user| user.account_id == account_id)
        .ok_or_else(ApiError::not_found)?;
    if !user.presence.visible {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            2_281_486,
            "Not permitted by access control",
        ));
    }
    Ok(json!({ "basicPresence": presence(state, user) }))
}

fn presence(state: &State, user: &User) -> Value {
    let now = state.now();
    let playing = user
        .presence
        .playing
        .map(|index| &state.world.titles[index]);
    let platform = match playing.map(|title| title.service) {
        Some(Service::Trophy) => "PS4",
        _ => "PS5",
    };
    let online = user.presence.online_until.is_some_and(|until| now < until);
    if online {
        let mut entry = json!({
            "accountId": user.account_id,
            "availability": "availableToPlay",
            "primaryPlatformInfo": { "onlineStatus": "online", "platform": platform },
        });
        if let Some(title) = playing {
            entry["gameTitleInfoList"] = json!([{
                "npTitleId": title.np_title_id,
                "titleName": title.name,
                "format": platform,
                "launchPlatform": platform,
            }]);
        }
        entry
    } else {
        // A session that ran out ended when it did; otherwise the last recorded sign-off.
        let last = user
            .presence
            .online_until
            .filter(|until| *until <= now)
            .unwrap_or(user.presence.last_online);
        let last = presence_time(last);
        json!({
            "accountId": user.account_id,
            "availability": "unavailable",
            "lastAvailableDate": last,
            "primaryPlatformInfo": {
                "onlineStatus": "offline",
                "platform": platform,
                "lastOnlineDate": last,
            },
        })
    }
}
