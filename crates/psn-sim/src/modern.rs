//! profile2, the full profile and the modern trophy API (`m.np.playstation.com/api/trophy/v1`).

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::http::{psn_time, ApiError, ApiResult, Query};
use crate::world::{self, Played, Scope, Service, Title, Trophy, User, OWNER};
use crate::State;

/// trophyTitles page size: PSN's default and maximum.
const TITLES_DEFAULT_LIMIT: usize = 100;
const TITLES_MAX_LIMIT: usize = 800;

pub(crate) fn profile2(state: &State, online_id: &str) -> ApiResult {
    let user = state
        .world
        .users
        .iter()
        .find(|user| user.answers_to(online_id));
    let Some(user) = user else {
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: 2_105_356,
            message: format!("User not found (user: '{online_id}')"),
            with_reference: false,
        });
    };
    let mut profile = json!({ "onlineId": user.online_id, "accountId": user.account_id });
    if user.former_online_id.is_some() {
        profile["currentOnlineId"] = Value::String(user.online_id.clone());
    }
    Ok(json!({ "profile": profile }))
}

/// The full profile by accountId (`/api/userProfile/v1/internal/users/{accountId}/profiles`),
/// with the user's "About me". Every user's profile is visible, private trophy lists included.
pub(crate) fn profiles(state: &State, account_id: &str) -> ApiResult {
    let user = state
        .world
        .users
        .iter()
        .find(|user| user.account_id == account_id);
    let Some(user) = user else {
        // Nothing recorded for an unknown accountId: answered like profile2's unknown user.
        return Err(ApiError {
            status: StatusCode::NOT_FOUND,
            code: 2_105_356,
            message: format!("User not found (user: '{account_id}')"),
            with_reference: false,
        });
    };
    let avatar = |size: &str, path: &str| {
        json!({
            "size": size,
            "url": format!("http://static-resource.np.community.playstation.net/{path}"),
        })
    };
    Ok(json!({
        "onlineId": user.online_id,
        "aboutMe": user.about_me,
        "avatars": [
            avatar("s", "avatar_s/default/DefaultAvatar_s.png"),
            avatar("xl", "avatar_xl/default/Defaultavatar_xl.png"),
            avatar("l", "avatar/default/DefaultAvatar.png"),
            avatar("m", "avatar_m/default/DefaultAvatar_m.png"),
        ],
        "languages": ["en-US"],
        "isPlus": false,
        "isOfficiallyVerified": false,
        "isMe": user.online_id == OWNER,
    }))
}

pub(crate) fn trophy(state: &State, rest: &[&str], query: &Query) -> ApiResult {
    match rest {
        ["users", account, "trophyTitles"] => {
            trophy_titles(state, viewable(state, account)?, query)
        }
        ["users", account, "trophySummary"] => Ok(trophy_summary(viewable(state, account)?, state)),
        ["npCommunicationIds", id, "trophyGroups"] => Ok(title_groups(
            &state.world.titles[title_index(state, id, query)?],
        )),
        ["users", account, "npCommunicationIds", id, "trophyGroups"] => {
            let user = viewable(state, account)?;
            title_trophies_fault(state, id)?;
            let index = title_index(state, id, query)?;
            let played = user.played(index).ok_or_else(ApiError::not_found)?;
            Ok(user_groups(&state.world.titles[index], played))
        }
        ["npCommunicationIds", id, "trophyGroups", group, "trophies"] => {
            let title = &state.world.titles[title_index(state, id, query)?];
            title_trophies(title, group, query)
        }
        ["users", account, "npCommunicationIds", id, "trophyGroups", group, "trophies"] => {
            let user = viewable(state, account)?;
            title_trophies_fault(state, id)?;
            let index = title_index(state, id, query)?;
            let played = user.played(index).ok_or_else(ApiError::not_found)?;
            user_trophies(&state.world.titles[index], played, group, query)
        }
        _ => Err(ApiError::not_found()),
    }
}

/// 404 "Resource not found" while a [`crate::Fault::TitleTrophiesNotFound`] names the title.
pub(crate) fn title_trophies_fault(state: &State, id: &str) -> Result<(), ApiError> {
    if state.faults.missing_title_trophies.contains(id) {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// The user behind an accountId (`me` is the credential's own account), if their trophies
/// may be seen.
pub(crate) fn viewable<'a>(state: &'a State, account: &str) -> Result<&'a User, ApiError> {
    let user = state
        .world
        .users
        .iter()
        .find(|user| {
            if account == "me" {
                user.online_id == OWNER
            } else {
                user.account_id == account
            }
        })
        .ok_or_else(ApiError::not_found)?;
    if user.private {
        return Err(ApiError::private());
    }
    Ok(user)
}

/// A title by npCommunicationId under the requested service (PSN's default is `trophy2`).
fn title_index(state: &State, id: &str, query: &Query) -> Result<usize, ApiError> {
    let service = match query.get("npServiceName") {
        None | Some("trophy2") => Service::Trophy2,
        Some("trophy") => Service::Trophy,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid npServiceName: {other}"
            )))
        }
    };
    state
        .world
        .titles
        .iter()
        .position(|t| t.np_communication_id == id && t.service == service)
        .ok_or_else(ApiError::not_found)
}

/// A user's library, most recently updated first.
pub(crate) fn library_by_recency(user: &User) -> Vec<&Played> {
    let mut library: Vec<&Played> = user.library.iter().collect();
    library.sort_by(|a, b| {
        b.last_updated
            .cmp(&a.last_updated)
            .then(a.title.cmp(&b.title))
    });
    library
}

fn trophy_titles(state: &State, user: &User, query: &Query) -> ApiResult {
    let limit = query.number("limit", TITLES_DEFAULT_LIMIT, TITLES_MAX_LIMIT)?;
    if limit == 0 {
        return Err(ApiError::bad_request("Invalid limit: 0"));
    }
    let offset = query.number("offset", 0, usize::MAX)?;
    let library = library_by_recency(user);
    let total = library.len();
    let titles: Vec<Value> = library
        .iter()
        .skip(offset)
        .take(limit)
        .map(|played| title_entry(&state.world.titles[played.title], played))
        .collect();
    let mut body = json!({ "trophyTitles": titles, "totalItemCount": total });
    add_paging(&mut body, offset, limit, total);
    Ok(body)
}

/// PSN adds `nextOffset` while more items follow and `previousOffset` (offset − 1, as
/// recorded) past the first page.
fn add_paging(body: &mut Value, offset: usize, limit: usize, total: usize) {
    if offset.saturating_add(limit) < total {
        body["nextOffset"] = json!(offset + limit);
    }
    if offset > 0 {
        body["previousOffset"] = json!(offset - 1);
    }
}

fn title_entry(title: &Title, played: &Played) -> Value {
    let mut entry = json!({
        "npServiceName": title.service.as_str(),
        "npCommunicationId": title.np_communication_id,
        "trophySetVersion": title.set_version,
        "trophyTitleName": title.name,
        "trophyTitleIconUrl": title.icon_url,
        "trophyTitlePlatform": title.platform,
        "hasTrophyGroups": title.groups.len() > 1,
        "trophyGroupCount": title.groups.len(),
        "definedTrophies": world::defined(title, Scope::Title).json(),
        "progress": world::progress(title, played, Scope::Title),
        "earnedTrophies": world::earned(title, played, Scope::Title).json(),
        "hiddenFlag": false,
        "lastUpdatedDateTime": psn_time(played.last_updated),
    });
    // trophy2 sets have no detail text.
    if title.service == Service::Trophy {
        entry["trophyTitleDetail"] = Value::String(title.detail.clone());
    }
    entry
}

fn trophy_summary(user: &User, state: &State) -> Value {
    let mut counts = world::Counts::default();
    let mut points = 0;
    for played in &user.library {
        let title = &state.world.titles[played.title];
        counts.merge(world::earned(title, played, Scope::Title));
        points += title
            .trophies
            .iter()
            .filter(|t| played.earned.contains_key(&t.id))
            .map(|t| t.kind.level_points())
            .sum::<u64>();
    }
    let (level, base, next, tier) = world::trophy_level(points);
    json!({
        "accountId": user.account_id,
        "trophyLevel": level,
        "trophyPoint": points,
        "trophyLevelBasePoint": base,
        "trophyLevelNextPoint": next,
        "progress": ((points - base) * 100 / (next - base).max(1)).min(100),
        "tier": tier,
        "earnedTrophies": counts.json(),
    })
}

fn title_groups(title: &Title) -> Value {
    let groups: Vec<Value> = title
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            let mut entry = json!({
                "trophyGroupId": group.id,
                "trophyGroupName": group.name,
                "trophyGroupIconUrl": group.icon_url,
                "definedTrophies": world::defined(title, Scope::Group(index)).json(),
            });
            if title.service == Service::Trophy {
                entry["trophyGroupDetail"] = Value::String(group.detail.clone());
            }
            entry
        })
        .collect();
    let mut body = json!({
        "npServiceName": title.service.as_str(),
        "npCommunicationId": title.np_communication_id,
        "trophySetVersion": title.set_version,
        "trophyTitleName": title.name,
        "trophyTitleIconUrl": title.icon_url,
        "trophyTitlePlatform": title.platform,
        "definedTrophies": world::defined(title, Scope::Title).json(),
        "trophyGroups": groups,
    });
    if title.service == Service::Trophy {
        body["trophyTitleDetail"] = Value::String(title.detail.clone());
    }
    body
}

fn user_groups(title: &Title, played: &Played) -> Value {
    let groups: Vec<Value> = title
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            let mut entry = json!({
                "trophyGroupId": group.id,
                "progress": world::progress(title, played, Scope::Group(index)),
                "earnedTrophies": world::earned(title, played, Scope::Group(index)).json(),
            });
            // Only groups with a dated unlock carry a date, as recorded.
            if let Some(at) = world::group_last_updated(title, played, index) {
                entry["lastUpdatedDateTime"] = Value::String(psn_time(at));
            }
            entry
        })
        .collect();
    json!({
        "trophySetVersion": title.set_version,
        "hiddenFlag": false,
        "progress": world::progress(title, played, Scope::Title),
        "earnedTrophies": world::earned(title, played, Scope::Title).json(),
        "lastUpdatedDateTime": psn_time(played.last_updated),
        "trophyGroups": groups,
    })
}

/// The trophies of one group, or of every group for `all`.
fn select<'a>(title: &'a Title, group: &str) -> Result<Vec<&'a Trophy>, ApiError> {
    if group == "all" {
        return Ok(title.trophies.iter().collect());
    }
    let index = title.group_index(group).ok_or_else(ApiError::not_found)?;
    Ok(title.trophies.iter().filter(|t| t.group == index).collect())
}

/// Applies limit/offset and adds `totalItemCount` and the paging offsets.
fn page<T>(
    items: Vec<T>,
    query: &Query,
    body: &mut Map<String, Value>,
) -> Result<Vec<T>, ApiError> {
    let total = items.len();
    let limit = query.number("limit", total.max(1), usize::MAX)?;
    if limit == 0 {
        return Err(ApiError::bad_request("Invalid limit: 0"));
    }
    let offset = query.number("offset", 0, usize::MAX)?;
    let mut paging = json!({ "totalItemCount": total });
    add_paging(&mut paging, offset, limit, total);
    if let Value::Object(paging) = paging {
        body.extend(paging);
    }
    Ok(items.into_iter().skip(offset).take(limit).collect())
}

fn title_trophies(title: &Title, group: &str, query: &Query) -> ApiResult {
    let mut body = Map::new();
    let trophies: Vec<Value> = page(select(title, group)?, query, &mut body)?
        .into_iter()
        .map(|trophy| {
            json!({
                "trophyId": trophy.id,
                "trophyHidden": trophy.hidden,
                "trophyType": trophy.kind.as_str(),
                "trophyName": trophy.name,
                "trophyDetail": trophy.detail(),
                "trophyIconUrl": title.trophy_icon_url(trophy),
                "trophyGroupId": title.groups[trophy.group].id,
            })
        })
        .collect();
    body.insert("trophySetVersion".into(), json!(title.set_version));
    body.insert("hasTrophyGroups".into(), json!(title.groups.len() > 1));
    body.insert("trophies".into(), Value::Array(trophies));
    Ok(Value::Object(body))
}

fn user_trophies(title: &Title, played: &Played, group: &str, query: &Query) -> ApiResult {
    let selected = select(title, group)?;
    let entry = |trophy: &Trophy| {
        let earned = played.earned.get(&trophy.id);
        let mut entry = json!({
            "trophyId": trophy.id,
            "trophyHidden": trophy.hidden,
            "earned": earned.is_some(),
            "trophyType": trophy.kind.as_str(),
            "trophyRare": trophy.rare(),
            "trophyEarnedRate": trophy.earned_rate(),
        });
        if let Some(Some(at)) = earned {
            entry["earnedDateTime"] = Value::String(psn_time(*at));
        }
        entry
    };
    let rarest = selected
        .iter()
        .filter(|t| played.earned.contains_key(&t.id))
        .min_by_key(|t| (t.rate_tenths, t.id));
    let mut body = Map::new();
    if let Some(rarest) = rarest {
        body.insert("rarestTrophies".into(), json!([entry(rarest)]));
    }
    let trophies: Vec<Value> = page(selected, query, &mut body)?
        .into_iter()
        .map(entry)
        .collect();
    body.insert("trophySetVersion".into(), json!(title.set_version));
    body.insert("hasTrophyGroups".into(), json!(title.groups.len() > 1));
    body.insert(
        "lastUpdatedDateTime".into(),
        json!(psn_time(played.last_updated)),
    );
    body.insert("trophies".into(), Value::Array(trophies));
    Ok(Value::Object(body))
}
