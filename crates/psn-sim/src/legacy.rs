//! The legacy API (`{region}-tpy.np.community.playstation.net/trophy/v1`), as the seed
//! document describes it: always from the credential's own account (`fromUser`), optionally
//! side by side with `comparedUser`.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::http::{psn_time, ApiError, ApiResult, Query};
use crate::world::{self, Played, Scope, Title, User, OWNER};
use crate::State;

const TITLES_MAX_LIMIT: usize = 128;

pub(crate) fn trophy(state: &State, rest: &[&str], query: &Query) -> ApiResult {
    let owner = state
        .world
        .users
        .iter()
        .find(|user| user.online_id == OWNER)
        .ok_or_else(ApiError::not_found)?;
    let compared = match query.get("comparedUser") {
        Some(online_id) => Some(compared_user(state, online_id)?),
        None => None,
    };
    match rest {
        ["trophyTitles"] => trophy_titles(state, owner, compared, query),
        ["trophyTitles", id, "trophyGroups"] => {
            crate::modern::title_trophies_fault(state, id)?;
            let (index, title) = played_title(state, id, owner, compared)?;
            Ok(trophy_groups(title, index, owner, compared))
        }
        ["trophyTitles", id, "trophyGroups", group, "trophies"] => {
            crate::modern::title_trophies_fault(state, id)?;
            let (index, title) = played_title(state, id, owner, compared)?;
            trophies(title, index, group, owner, compared, query)
        }
        _ => Err(ApiError::not_found()),
    }
}

/// The seed document does not say how an unknown `comparedUser` is answered: profile2's "User
/// not found" (code 2105356) is our choice, before any title is looked at.
fn compared_user<'a>(state: &'a State, online_id: &str) -> Result<&'a User, ApiError> {
    let user = state
        .world
        .users
        .iter()
        .find(|user| user.answers_to(online_id))
        .ok_or_else(|| ApiError {
            status: StatusCode::NOT_FOUND,
            code: 2_105_356,
            message: format!("User not found (user: '{online_id}')"),
            with_reference: false,
        })?;
    if user.private {
        return Err(ApiError::private());
    }
    Ok(user)
}

/// A title that the owner or the compared user has played.
fn played_title<'a>(
    state: &'a State,
    id: &str,
    owner: &User,
    compared: Option<&User>,
) -> Result<(usize, &'a Title), ApiError> {
    let index = state
        .world
        .titles
        .iter()
        .position(|t| t.np_communication_id == id)
        .ok_or_else(ApiError::not_found)?;
    let played =
        owner.played(index).is_some() || compared.is_some_and(|c| c.played(index).is_some());
    if !played {
        return Err(ApiError::not_found());
    }
    Ok((index, &state.world.titles[index]))
}

fn summary(user: &User, title: &Title, played: &Played, scope: Scope, own: bool) -> Value {
    let last_update = match scope {
        Scope::Group(group) => world::group_last_updated(title, played, group),
        Scope::Title => None,
    }
    .unwrap_or(played.last_updated);
    let mut entry = json!({
        "onlineId": user.online_id,
        "progress": world::progress(title, played, scope),
        "earnedTrophies": world::earned(title, played, scope).json(),
        "lastUpdateDate": psn_time(last_update),
    });
    // hiddenFlag is reported for the authenticating account only.
    if own {
        entry["hiddenFlag"] = json!(false);
    }
    entry
}

fn trophy_titles(state: &State, owner: &User, compared: Option<&User>, query: &Query) -> ApiResult {
    let limit = query.number("limit", TITLES_MAX_LIMIT, TITLES_MAX_LIMIT)?;
    if limit == 0 {
        return Err(ApiError::bad_request("Invalid limit: 0"));
    }
    let offset = query.number("offset", 0, usize::MAX)?;
    let platforms: Option<Vec<&str>> = query.get("platform").map(|p| p.split(',').collect());

    // Titles of both accounts, each once, by the latest update of either.
    let mut titles: Vec<(usize, chrono::DateTime<chrono::Utc>)> = Vec::new();
    for user in std::iter::once(owner).chain(compared) {
        for played in &user.library {
            match titles.iter_mut().find(|(index, _)| *index == played.title) {
                Some((_, latest)) => *latest = (*latest).max(played.last_updated),
                None => titles.push((played.title, played.last_updated)),
            }
        }
    }
    titles.retain(|(index, _)| {
        platforms.as_ref().is_none_or(|wanted| {
            state.world.titles[*index]
                .platform
                .split(',')
                .any(|platform| wanted.contains(&platform))
        })
    });
    titles.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let entries: Vec<Value> = titles
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&(index, _)| {
            let title = &state.world.titles[index];
            let mut entry = json!({
                "npCommunicationId": title.np_communication_id,
                "trophyTitleName": title.name,
                "trophyTitleDetail": title.detail,
                "trophyTitleIconUrl": title.icon_url,
                "trophyTitlePlatfrom": title.platform,
                "hasTrophyGroups": title.groups.len() > 1,
                "definedTrophies": world::defined(title, Scope::Title).json(),
            });
            add_users(&mut entry, title, index, owner, compared, Scope::Title);
            entry
        })
        .collect();
    Ok(json!({
        "totalResults": titles.len(),
        "offset": offset,
        "limit": limit,
        "trophyTitles": entries,
    }))
}

fn add_users(
    entry: &mut Value,
    title: &Title,
    index: usize,
    owner: &User,
    compared: Option<&User>,
    scope: Scope,
) {
    if let Some(played) = owner.played(index) {
        entry["fromUser"] = summary(owner, title, played, scope, true);
    }
    if let Some((user, played)) = compared.and_then(|c| c.played(index).map(|p| (c, p))) {
        entry["comparedUser"] = summary(user, title, played, scope, false);
    }
}

fn trophy_groups(title: &Title, index: usize, owner: &User, compared: Option<&User>) -> Value {
    let groups: Vec<Value> = title
        .groups
        .iter()
        .enumerate()
        .map(|(group_index, group)| {
            let mut entry = json!({
                "trophyGroupId": group.id,
                "trophyGroupName": group.name,
                "trophyGroupDetail": group.detail,
                "trophyGroupIconUrl": group.icon_url,
                "definedTrophies": world::defined(title, Scope::Group(group_index)).json(),
            });
            add_users(
                &mut entry,
                title,
                index,
                owner,
                compared,
                Scope::Group(group_index),
            );
            entry
        })
        .collect();
    json!({
        "trophyTitleName": title.name,
        "trophyTitleDetail": title.detail,
        "trophyTitleIconUrl": title.icon_url,
        "trophyTitlePlatfrom": title.platform,
        "definedTrophies": world::defined(title, Scope::Title).json(),
        "trophyGroups": groups,
    })
}

fn trophies(
    title: &Title,
    index: usize,
    group: &str,
    owner: &User,
    compared: Option<&User>,
    query: &Query,
) -> ApiResult {
    let group_index = title.group_index(group).ok_or_else(ApiError::not_found)?;
    let reveal_hidden = query.get("visibleType") == Some("1");
    let with_rate = query
        .get("fields")
        .is_some_and(|fields| fields.split(',').any(|field| field == "trophyEarnedRate"));
    let owner_played = owner.played(index);
    let compared_played = compared.and_then(|c| c.played(index).map(|p| (c, p)));
    let earned_by = |user: &User, played: &Played, id: u32| {
        let earned = played.earned.get(&id);
        let mut entry = json!({ "onlineId": user.online_id, "earned": earned.is_some() });
        if let Some(Some(at)) = earned {
            entry["earnedDate"] = json!(psn_time(*at));
        }
        entry
    };
    let trophies: Vec<Value> = title
        .trophies
        .iter()
        .filter(|t| t.group == group_index)
        .map(|trophy| {
            let mut entry = json!({ "trophyId": trophy.id, "trophyHidden": trophy.hidden });
            let owner_earned = owner_played.is_some_and(|p| p.earned.contains_key(&trophy.id));
            // Secret trophies keep their details back unless earned or asked for.
            if !trophy.hidden || owner_earned || reveal_hidden {
                entry["trophyType"] = json!(trophy.kind.as_str());
                entry["trophyName"] = json!(trophy.name);
                entry["trophyDetail"] = json!(trophy.detail());
                entry["trophyIconUrl"] = json!(title.trophy_icon_url(trophy));
            }
            if with_rate {
                entry["trophyEarnedRate"] = json!(trophy.earned_rate());
            }
            if let Some(played) = owner_played {
                entry["fromUser"] = earned_by(owner, played, trophy.id);
            }
            if let Some((user, played)) = compared_played {
                entry["comparedUser"] = earned_by(user, played, trophy.id);
            }
            entry
        })
        .collect();
    Ok(json!({ "trophies": trophies }))
}
