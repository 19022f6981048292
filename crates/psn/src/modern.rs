//! The modern API (`m.np.playstation.com/api/trophy/v1`), the profile2 lookup and presence:
//! endpoint functions and their wire types.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::client::Request;
use crate::error::{Error, Result};
use crate::http::Failure;
use crate::model::*;
use crate::online_id::OnlineId;
use crate::wire::{opt_date, opt_rate, trophy_type};

pub(crate) const MAX_TITLES_PAGE: u32 = 800;
const PRESENCE_BATCH: usize = 100;
const CODE_PRIVATE: i64 = 2240526;
const CODE_PRESENCE_HIDDEN: i64 = 2281486;
const PRESENCE_PLATFORMS: &str = "PS4,PS5,MOBILE_APP,PSPC";

fn trophy_url(request: &Request<'_>, path: &str) -> String {
    format!(
        "{}/api/trophy/v1/{path}",
        request.inner.config.api_url.trim_end_matches('/')
    )
}

/// 403 code 2240526 is a private trophy list; a 404 on a user's trophy endpoint is an unknown
/// account.
fn user_error(account: &Account) -> impl FnOnce(u16, Option<i64>) -> Option<Error> + '_ {
    move |status, code| match (status, code) {
        (403, Some(CODE_PRIVATE)) | (403, None) => Some(Error::Private(account.online_id.clone())),
        (404, _) => Some(Error::UserNotFound(account.online_id.clone())),
        _ => None,
    }
}

/// On title endpoints a 404 is an unknown title, or one the user never played.
fn title_error<'a>(
    account: Option<&'a Account>,
    id: &'a str,
) -> impl FnOnce(u16, Option<i64>) -> Option<Error> + 'a {
    move |status, code| match (status, code, account) {
        (403, Some(CODE_PRIVATE) | None, Some(a)) => Some(Error::Private(a.online_id.clone())),
        (404, _, _) => Some(Error::TitleNotFound(id.to_string())),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Profile2 {
    profile: ProfileWire,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileWire {
    online_id: String,
    account_id: String,
    current_online_id: Option<String>,
}

pub(crate) async fn resolve_user(request: &Request<'_>, online_id: &OnlineId) -> Result<Account> {
    let url = format!(
        "{}/userProfile/v1/users/{online_id}/profile2",
        request.inner.config.profile_url.trim_end_matches('/')
    );
    let query = [("fields", "accountId,onlineId,currentOnlineId")];
    let profile: Profile2 = request.get(&url, &query).await.map_err(|f| {
        f.into_error(|status, _| {
            (status == 404).then(|| Error::UserNotFound(online_id.to_string()))
        })
    })?;
    Ok(profile.into_account())
}

impl Profile2 {
    fn into_account(self) -> Account {
        let ProfileWire {
            online_id,
            account_id,
            current_online_id,
        } = self.profile;
        Account {
            account_id,
            online_id: current_online_id
                .filter(|c| !c.is_empty())
                .unwrap_or(online_id),
        }
    }
}

/// The full profile (`/api/userProfile/v1/internal/users/{accountId}/profiles`): only the fields
/// the client reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FullProfileWire {
    online_id: String,
    #[serde(default)]
    about_me: Option<String>,
}

impl FullProfileWire {
    fn into_profile(self, account_id: &str) -> Profile {
        Profile {
            account: Account {
                account_id: account_id.to_string(),
                online_id: self.online_id,
            },
            about_me: self.about_me.filter(|text| !text.trim().is_empty()),
        }
    }
}

/// The account's profile as PSN shows it now, "About me" included.
pub(crate) async fn profile(request: &Request<'_>, account: &Account) -> Result<Profile> {
    let url = format!(
        "{}/api/userProfile/v1/internal/users/{}/profiles",
        request.inner.config.api_url.trim_end_matches('/'),
        account.account_id
    );
    let wire: FullProfileWire = request.get(&url, &[]).await.map_err(|f| {
        f.into_error(|status, _| {
            // A 404 here is an account deleted since its online ID was looked up.
            (status == 404).then(|| Error::UserNotFound(account.online_id.clone()))
        })
    })?;
    Ok(wire.into_profile(&account.account_id))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TitlesWire {
    #[serde(default)]
    trophy_titles: Vec<TitleWire>,
    next_offset: Option<u32>,
    #[serde(default)]
    total_item_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitleWire {
    np_service_name: Option<String>,
    np_communication_id: String,
    #[serde(default)]
    trophy_title_name: String,
    trophy_title_detail: Option<String>,
    trophy_title_icon_url: Option<String>,
    #[serde(default)]
    trophy_title_platform: String,
    #[serde(default)]
    has_trophy_groups: bool,
    #[serde(default)]
    defined_trophies: TrophyCounts,
    #[serde(default)]
    earned_trophies: TrophyCounts,
    #[serde(default)]
    progress: u32,
    #[serde(default)]
    hidden_flag: bool,
    #[serde(default, deserialize_with = "opt_date")]
    last_updated_date_time: Option<DateTime<Utc>>,
}

impl From<TitlesWire> for TitlePage {
    fn from(wire: TitlesWire) -> TitlePage {
        TitlePage {
            titles: wire
                .trophy_titles
                .into_iter()
                .map(|t| TitleProgress {
                    service: t.np_service_name.as_deref().and_then(NpService::parse),
                    np_communication_id: t.np_communication_id,
                    name: t.trophy_title_name,
                    detail: t.trophy_title_detail,
                    icon_url: t.trophy_title_icon_url,
                    platforms: Platform::parse_list(&t.trophy_title_platform),
                    has_groups: t.has_trophy_groups,
                    defined: t.defined_trophies,
                    earned: t.earned_trophies,
                    progress: t.progress,
                    hidden: t.hidden_flag,
                    last_updated: t.last_updated_date_time,
                })
                .collect(),
            total: wire.total_item_count,
            next_offset: wire.next_offset,
        }
    }
}

pub(crate) async fn titles(
    request: &Request<'_>,
    account: &Account,
    offset: u32,
    limit: u32,
) -> Result<TitlePage> {
    let url = trophy_url(
        request,
        &format!("users/{}/trophyTitles", account.account_id),
    );
    let (limit, offset) = (limit.to_string(), offset.to_string());
    let wire: TitlesWire = request
        .get(&url, &[("limit", &limit), ("offset", &offset)])
        .await
        .map_err(|f| f.into_error(user_error(account)))?;
    Ok(wire.into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryWire {
    trophy_level: Option<u32>,
    progress: Option<u32>,
    tier: Option<u32>,
    #[serde(default)]
    earned_trophies: TrophyCounts,
}

pub(crate) async fn trophy_summary(
    request: &Request<'_>,
    account: &Account,
) -> Result<TrophySummary> {
    let url = trophy_url(
        request,
        &format!("users/{}/trophySummary", account.account_id),
    );
    let wire: SummaryWire = request
        .get(&url, &[])
        .await
        .map_err(|f| f.into_error(user_error(account)))?;
    Ok(wire.into_summary(account))
}

impl SummaryWire {
    fn into_summary(self, account: &Account) -> TrophySummary {
        TrophySummary {
            account: account.clone(),
            level: self.trophy_level,
            level_progress: self.progress,
            tier: self.tier,
            earned: self.earned_trophies,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupsWire {
    np_service_name: Option<String>,
    #[serde(default)]
    trophy_title_name: String,
    trophy_title_detail: Option<String>,
    trophy_title_icon_url: Option<String>,
    #[serde(default)]
    trophy_title_platform: String,
    #[serde(default)]
    defined_trophies: TrophyCounts,
    #[serde(default)]
    trophy_groups: Vec<GroupWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupWire {
    trophy_group_id: String,
    #[serde(default)]
    trophy_group_name: String,
    trophy_group_detail: Option<String>,
    trophy_group_icon_url: Option<String>,
    #[serde(default)]
    defined_trophies: TrophyCounts,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrophiesWire {
    #[serde(default)]
    trophies: Vec<TrophyWire>,
    next_offset: Option<u32>,
    #[serde(default, deserialize_with = "opt_date")]
    last_updated_date_time: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrophyWire {
    trophy_id: u32,
    #[serde(default)]
    trophy_hidden: bool,
    #[serde(default)]
    trophy_type: String,
    #[serde(default)]
    trophy_name: String,
    #[serde(default)]
    trophy_detail: String,
    trophy_icon_url: Option<String>,
    trophy_group_id: Option<String>,
    #[serde(default)]
    earned: bool,
    #[serde(default, deserialize_with = "opt_date")]
    earned_date_time: Option<DateTime<Utc>>,
    trophy_rare: Option<i64>,
    #[serde(default, deserialize_with = "opt_rate")]
    trophy_earned_rate: Option<f64>,
}

impl TrophyWire {
    fn kind(&self) -> Option<TrophyType> {
        let kind = trophy_type(&self.trophy_type);
        if kind.is_none() {
            tracing::warn!(trophy_id = self.trophy_id, kind = %self.trophy_type, "unknown trophy type skipped");
        }
        kind
    }

    fn into_definition(self) -> Option<TrophyDefinition> {
        Some(TrophyDefinition {
            kind: self.kind()?,
            id: self.trophy_id,
            group_id: self.trophy_group_id.unwrap_or_else(|| "default".into()),
            hidden: self.trophy_hidden,
            name: self.trophy_name,
            detail: self.trophy_detail,
            icon_url: self.trophy_icon_url,
        })
    }

    fn into_earned(self) -> Option<EarnedTrophy> {
        Some(EarnedTrophy {
            kind: self.kind()?,
            id: self.trophy_id,
            hidden: self.trophy_hidden,
            earned: self.earned,
            earned_at: self.earned_date_time,
            earned_rate: self.trophy_earned_rate,
            rarity: self.trophy_rare.and_then(Rarity::from_code),
        })
    }
}

fn definition_from(
    id: &str,
    service: NpService,
    groups: GroupsWire,
    trophies: Vec<TrophyWire>,
) -> TitleDefinition {
    TitleDefinition {
        np_communication_id: id.to_string(),
        service: groups
            .np_service_name
            .as_deref()
            .and_then(NpService::parse)
            .or(Some(service)),
        name: groups.trophy_title_name,
        detail: groups.trophy_title_detail,
        icon_url: groups.trophy_title_icon_url,
        platforms: Platform::parse_list(&groups.trophy_title_platform),
        defined: groups.defined_trophies,
        groups: groups
            .trophy_groups
            .into_iter()
            .map(|g| GroupDefinition {
                id: g.trophy_group_id,
                name: g.trophy_group_name,
                detail: g.trophy_group_detail,
                icon_url: g.trophy_group_icon_url,
                defined: g.defined_trophies,
            })
            .collect(),
        trophies: trophies
            .into_iter()
            .filter_map(TrophyWire::into_definition)
            .collect(),
    }
}

async fn title_groups(
    request: &Request<'_>,
    id: &str,
    service: NpService,
) -> Result<GroupsWire, Failure> {
    let url = trophy_url(request, &format!("npCommunicationIds/{id}/trophyGroups"));
    request
        .get(&url, &[("npServiceName", service.as_str())])
        .await
}

/// Every trophy of a trophies endpoint, following `nextOffset` should PSN page the answer.
async fn all_trophies(
    request: &Request<'_>,
    url: &str,
    service: NpService,
) -> Result<TrophiesWire, Failure> {
    let mut first: TrophiesWire = request
        .get(url, &[("npServiceName", service.as_str())])
        .await?;
    let mut next = first.next_offset.filter(|n| *n > 0);
    while let Some(offset) = next {
        let offset_text = offset.to_string();
        let page: TrophiesWire = request
            .get(
                url,
                &[
                    ("npServiceName", service.as_str()),
                    ("offset", &offset_text),
                ],
            )
            .await?;
        next = page.next_offset.filter(|n| *n > offset);
        first.trophies.extend(page.trophies);
    }
    Ok(first)
}

/// A title's definitions. With the service known: the `all` trophies, then the groups (so an
/// unknown id fails on the first request). Without: the title-level groups asked with `trophy`,
/// then `trophy2` (a 404 on one means the other; both 404 is an unknown title).
pub(crate) async fn title(
    request: &Request<'_>,
    id: &str,
    service: Option<NpService>,
) -> Result<TitleDefinition> {
    let not_found = || title_error(None, id);
    let trophies_url = trophy_url(
        request,
        &format!("npCommunicationIds/{id}/trophyGroups/all/trophies"),
    );
    let (service, groups, trophies) = match service {
        Some(service) => {
            let trophies = all_trophies(request, &trophies_url, service).await;
            let trophies = trophies.map_err(|f| f.into_error(not_found()))?;
            let groups = title_groups(request, id, service).await;
            (
                service,
                groups.map_err(|f| f.into_error(not_found()))?,
                trophies,
            )
        }
        None => {
            let (service, groups) = probe_service(request, id).await?;
            let trophies = all_trophies(request, &trophies_url, service).await;
            (
                service,
                groups,
                trophies.map_err(|f| f.into_error(not_found()))?,
            )
        }
    };
    Ok(definition_from(id, service, groups, trophies.trophies))
}

/// Which service a title belongs to, asked of the user-independent groups endpoint (a user-level
/// 404 would also mean "never played", so it cannot tell the services apart).
async fn probe_service(request: &Request<'_>, id: &str) -> Result<(NpService, GroupsWire)> {
    for service in [NpService::Trophy, NpService::Trophy2] {
        match title_groups(request, id, service).await {
            Ok(groups) => return Ok((service, groups)),
            Err(Failure::Status { status: 404, .. }) => continue,
            Err(f) => return Err(f.into_error(title_error(None, id))),
        }
    }
    Err(Error::TitleNotFound(id.to_string()))
}

/// One request: the user's state of every trophy of the title (the `all` group).
pub(crate) async fn earned_trophies(
    request: &Request<'_>,
    account: &Account,
    id: &str,
    service: NpService,
) -> Result<(Vec<EarnedTrophy>, Option<DateTime<Utc>>)> {
    let url = trophy_url(
        request,
        &format!(
            "users/{}/npCommunicationIds/{id}/trophyGroups/all/trophies",
            account.account_id
        ),
    );
    let wire = all_trophies(request, &url, service)
        .await
        .map_err(|f| f.into_error(title_error(Some(account), id)))?;
    let earned = wire
        .trophies
        .into_iter()
        .filter_map(TrophyWire::into_earned)
        .collect();
    Ok((earned, wire.last_updated_date_time))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PresencesWire {
    #[serde(default)]
    basic_presences: Vec<PresenceWire>,
    /// The single-account endpoint's answer.
    basic_presence: Option<PresenceWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PresenceWire {
    account_id: Option<String>,
    availability: Option<String>,
    #[serde(default, deserialize_with = "opt_date")]
    last_available_date: Option<DateTime<Utc>>,
    primary_platform_info: Option<PlatformInfoWire>,
    #[serde(default)]
    game_title_info_list: Vec<GameTitleWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlatformInfoWire {
    online_status: Option<String>,
    platform: Option<String>,
    #[serde(default, deserialize_with = "opt_date")]
    last_online_date: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GameTitleWire {
    np_title_id: String,
    #[serde(default)]
    title_name: String,
}

impl PresenceWire {
    fn into_presence(self, fallback_account_id: Option<&str>) -> Option<Presence> {
        let account_id = self
            .account_id
            .or_else(|| fallback_account_id.map(str::to_string))?;
        let info = self.primary_platform_info;
        let online = info
            .as_ref()
            .and_then(|i| i.online_status.as_deref())
            .map(|s| s == "online")
            .unwrap_or(self.availability.as_deref() == Some("availableToPlay"));
        Some(Presence {
            account_id,
            online,
            platform: info.as_ref().and_then(|i| i.platform.clone()),
            playing: self
                .game_title_info_list
                .into_iter()
                .map(|g| PlayingTitle {
                    np_title_id: g.np_title_id,
                    name: g.title_name,
                })
                .collect(),
            last_online: info
                .and_then(|i| i.last_online_date)
                .or(self.last_available_date),
        })
    }
}

impl PresencesWire {
    fn into_presences(self, single_account_id: Option<&str>) -> Vec<Presence> {
        self.basic_presences
            .into_iter()
            .chain(self.basic_presence)
            .filter_map(|p| p.into_presence(single_account_id))
            .collect()
    }
}

pub(crate) async fn presences(
    request: &Request<'_>,
    account_ids: &[String],
) -> Result<Vec<Presence>> {
    let base = format!(
        "{}/api/userProfile/v2/internal/users",
        request.inner.config.api_url.trim_end_matches('/')
    );
    let common = [
        ("platforms", PRESENCE_PLATFORMS),
        ("type", "primary"),
        ("withOwnGameTitleInfo", "true"),
    ];
    if let [single] = account_ids {
        let url = format!("{base}/{single}/basicPresences");
        return match request.get::<PresencesWire>(&url, &common).await {
            Ok(wire) => Ok(wire.into_presences(Some(single))),
            // A hidden presence is not an error: it is simply not known.
            Err(Failure::Status {
                status: 403, code, ..
            }) if code.is_none() || code == Some(CODE_PRESENCE_HIDDEN) => Ok(Vec::new()),
            Err(f) => Err(f.into_error(|_, _| None)),
        };
    }
    let mut presences = Vec::with_capacity(account_ids.len());
    for batch in account_ids.chunks(PRESENCE_BATCH) {
        // PSN's own path has an empty segment here: `users//basicPresences`.
        let url = format!("{base}//basicPresences");
        let ids = batch.join(",");
        let mut query = vec![("accountIds", ids.as_str())];
        query.extend(common);
        let wire: PresencesWire = request
            .get(&url, &query)
            .await
            .map_err(|f| f.into_error(|_, _| None))?;
        presences.extend(wire.into_presences(None));
    }
    Ok(presences)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{psn_recordings, Recorded};

    #[derive(Debug)]
    enum Parsed {
        Account(Account),
        Page(TitlePage),
        Summary(TrophySummary),
        Groups(TitleDefinition),
        Definitions(Vec<TrophyDefinition>),
        Earned(Vec<EarnedTrophy>),
        Presences(Vec<Presence>),
        Profile(Profile),
        /// An endpoint the client does not call (sign-in pages, dms, friends, a user's per-group
        /// progress): checked to be JSON only.
        NotUsed,
    }

    fn json<T: serde::de::DeserializeOwned>(r: &Recorded) -> T {
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{} {}: {e}", r.file, r.uri.path()))
    }

    /// Parses a recording as the client parses that endpoint's answer, errors included.
    fn parse(r: &Recorded) -> Result<Parsed> {
        let segments: Vec<&str> = r.uri.path().trim_start_matches('/').split('/').collect();
        let someone = |account_id: &str| Account {
            account_id: account_id.to_string(),
            online_id: "someone".to_string(),
        };
        let refused = |specific: &dyn Fn(u16, Option<i64>) -> Option<Error>| {
            Failure::from_answer(r.status, r.body.as_bytes()).into_error(specific)
        };
        let ok = r.status < 300;
        match segments.as_slice() {
            ["userProfile", "v1", "users", online_id, "profile2"] => {
                if ok {
                    return Ok(Parsed::Account(json::<Profile2>(r).into_account()));
                }
                Err(refused(&|s, _| {
                    (s == 404).then(|| Error::UserNotFound(online_id.to_string()))
                }))
            }
            ["api", "trophy", "v1", "users", id, "trophyTitles"] => {
                if ok {
                    return Ok(Parsed::Page(json::<TitlesWire>(r).into()));
                }
                let account = someone(id);
                Err(refused(&|s, c| user_error(&account)(s, c)))
            }
            ["api", "trophy", "v1", "users", id, "trophySummary"] => {
                if ok {
                    return Ok(Parsed::Summary(
                        json::<SummaryWire>(r).into_summary(&someone(id)),
                    ));
                }
                let account = someone(id);
                Err(refused(&|s, c| user_error(&account)(s, c)))
            }
            ["api", "trophy", "v1", "npCommunicationIds", id, "trophyGroups"] => {
                if ok {
                    let groups: GroupsWire = json(r);
                    let title = definition_from(id, NpService::Trophy, groups, Vec::new());
                    return Ok(Parsed::Groups(title));
                }
                Err(refused(&|s, c| title_error(None, id)(s, c)))
            }
            ["api", "trophy", "v1", "npCommunicationIds", id, "trophyGroups", _, "trophies"] => {
                if ok {
                    let wire: TrophiesWire = json(r);
                    let trophies = wire
                        .trophies
                        .into_iter()
                        .filter_map(TrophyWire::into_definition);
                    return Ok(Parsed::Definitions(trophies.collect()));
                }
                Err(refused(&|s, c| title_error(None, id)(s, c)))
            }
            ["api", "trophy", "v1", "users", account_id, "npCommunicationIds", id, "trophyGroups", _, "trophies"] =>
            {
                if ok {
                    let wire: TrophiesWire = json(r);
                    let earned = wire
                        .trophies
                        .into_iter()
                        .filter_map(TrophyWire::into_earned);
                    return Ok(Parsed::Earned(earned.collect()));
                }
                let account = someone(account_id);
                Err(refused(&|s, c| title_error(Some(&account), id)(s, c)))
            }
            ["api", "trophy", "v1", "users", _, "npCommunicationIds", id, "trophyGroups"] => {
                // A user's per-group progress: not called by the client, but its 404 reads as
                // every user-level 404 does.
                if ok {
                    let _: serde_json::Value = json(r);
                    return Ok(Parsed::NotUsed);
                }
                Err(refused(&|s, c| title_error(None, id)(s, c)))
            }
            ["api", "userProfile", "v1", "internal", "users", account_id, "profiles"] => {
                if ok {
                    return Ok(Parsed::Profile(
                        json::<FullProfileWire>(r).into_profile(account_id),
                    ));
                }
                Err(refused(&|s, _| {
                    (s == 404).then(|| Error::UserNotFound(account_id.to_string()))
                }))
            }
            ["api", "userProfile", "v2", "internal", "users", account_id, "basicPresences"] => {
                if ok {
                    let single = (!account_id.is_empty()).then_some(*account_id);
                    return Ok(Parsed::Presences(
                        json::<PresencesWire>(r).into_presences(single),
                    ));
                }
                match Failure::from_answer(r.status, r.body.as_bytes()) {
                    Failure::Status {
                        status: 403,
                        code: Some(CODE_PRESENCE_HIDDEN),
                        ..
                    } => Ok(Parsed::Presences(Vec::new())),
                    f => Err(f.into_error(|_, _| None)),
                }
            }
            _ => {
                let _: serde_json::Value = json(r);
                Ok(Parsed::NotUsed)
            }
        }
    }

    #[test]
    fn every_recorded_answer_parses_into_the_model_or_the_right_error() {
        let recordings = psn_recordings();
        assert!(recordings.len() >= 25, "{} recordings", recordings.len());
        let mut used = 0;
        for r in &recordings {
            let parsed = parse(r);
            let what = format!("{} {} {}", r.file, r.status, r.uri);
            match (&parsed, r.file.as_str()) {
                (Err(Error::UserNotFound(id)), "test_user__user_not_found.json") => {
                    assert_eq!(id, "dfhlidsahfdszh")
                }
                (Err(Error::Private(_)), "test_user__trophy_titles_forbidden.json") => {}
                (
                    Err(Error::TitleNotFound(id)),
                    "test_game_title__trophies_invalid_np_communication_id.json",
                ) => {
                    assert_eq!(id, "SSSA01325_00")
                }
                // A user-level 404 (the "me" account never played it): not found for that user.
                (
                    Err(Error::TitleNotFound(id)),
                    "test_client__trophy_groups_summary_with_progress.json",
                ) => {
                    assert_eq!(id, "NPWR15179_00")
                }
                (Err(e), _) => panic!("{what}: unexpected {e:?}"),
                (Ok(Parsed::NotUsed), _) => {}
                (Ok(_), _) => used += 1,
            }
        }
        assert!(
            used >= 15,
            "only {used} answers of endpoints the client uses"
        );
    }

    fn parsed_from(file: &str) -> Vec<Parsed> {
        psn_recordings()
            .iter()
            .filter(|r| r.file == file)
            .filter_map(|r| parse(r).ok())
            .collect()
    }

    #[test]
    fn title_pages_carry_services_platforms_and_paging() {
        let pages: Vec<TitlePage> = parsed_from("test_user__trophy_titles.json")
            .into_iter()
            .filter_map(|p| match p {
                Parsed::Page(page) => Some(page),
                _ => None,
            })
            .collect();
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].titles.len(), 50);
        assert_eq!(pages[0].next_offset, Some(50));
        assert_eq!(pages[0].total, 18516);
        let first = &pages[0].titles[0];
        assert_eq!(first.np_communication_id, "NPWR29738_00");
        assert_eq!(first.name, "Monster Hunter Wilds");
        assert_eq!(first.service, Some(NpService::Trophy2));
        assert_eq!(first.platforms, vec![Platform::Ps5]);
        assert_eq!(first.detail, None, "trophy2 titles have no detail");
        assert_eq!(first.earned.bronze, 33);
        assert!(first.last_updated.is_some());
        let ps4 = pages[0]
            .titles
            .iter()
            .find(|t| t.service == Some(NpService::Trophy));
        assert!(ps4.is_some_and(|t| t.detail.is_some()));
        // "Moving Out 2" exists on two platforms, as two titles.
        let moving_out = pages
            .iter()
            .flat_map(|p| &p.titles)
            .filter(|t| t.name == "Moving Out 2")
            .count();
        assert!(moving_out >= 2, "{moving_out}");
    }

    #[test]
    fn profiles_summary_and_presences() {
        let accounts: Vec<Account> = parsed_from("test_user__trophy_titles.json")
            .into_iter()
            .filter_map(|p| match p {
                Parsed::Account(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(
            accounts,
            vec![Account {
                account_id: "6515971742264256071".into(),
                online_id: "ikemenzi".into()
            }]
        );
        let summary = parsed_from("test_user__trophy_summary.json")
            .into_iter()
            .find_map(|p| match p {
                Parsed::Summary(s) => Some(s),
                _ => None,
            })
            .expect("a summary");
        assert_eq!(
            (summary.level, summary.tier, summary.earned.total()),
            (Some(1), Some(1), 0)
        );

        let presences = parsed_from("test_client__get_presences.json")
            .into_iter()
            .find_map(|p| match p {
                Parsed::Presences(p) => Some(p),
                _ => None,
            })
            .expect("presences");
        assert_eq!(presences.len(), 3);
        let playing = presences.iter().find(|p| p.online).expect("one online");
        assert_eq!(playing.account_id, "940512162723934331");
        assert_eq!(playing.platform.as_deref(), Some("PS5"));
        assert_eq!(playing.playing[0].np_title_id, "PPSA01649_00");
        assert_eq!(playing.playing[0].name, "Call of Duty®");
        let offline = presences.iter().find(|p| !p.online).expect("one offline");
        assert!(offline.last_online.is_some());
        assert!(matches!(
            parsed_from("test_user__get_presence_forbidden.json").as_slice(),
            [Parsed::Presences(hidden)] if hidden.is_empty()
        ));
    }

    #[test]
    fn title_groups_make_the_definition_header() {
        let title = parsed_from("test_client__trophy_groups_summary_with_progress.json")
            .into_iter()
            .find_map(|p| match p {
                Parsed::Groups(t) => Some(t),
                _ => None,
            })
            .expect("the title-level groups");
        assert_eq!(title.name, "RESIDENT EVIL 2");
        assert_eq!(title.service, Some(NpService::Trophy));
        assert_eq!(title.platforms, vec![Platform::Ps4]);
        assert_eq!(title.defined.total(), 45);
        let ids: Vec<&str> = title.groups.iter().map(|g| g.id.as_str()).collect();
        assert_eq!(ids, ["default", "001", "002"]);
        assert_eq!(title.groups[1].name, "The Ghost Survivors");
        assert_eq!(title.groups[1].defined.total(), 2);
    }

    #[test]
    fn recorded_profiles_carry_the_about_me_text() {
        let profiles: Vec<Profile> = [
            "test_client__get_presences.json",
            "test_authenticator__authentication.json",
        ]
        .into_iter()
        .flat_map(parsed_from)
        .filter_map(|p| match p {
            Parsed::Profile(profile) => Some(profile),
            _ => None,
        })
        .collect();
        assert_eq!(profiles.len(), 4, "{profiles:?}");
        let slump = profiles
            .iter()
            .find(|p| p.account.account_id == "940512162723934331")
            .expect("SLUMP-lucid's profile");
        assert_eq!(slump.account.online_id, "SLUMP-lucid");
        assert_eq!(slump.about_me.as_deref(), Some("u butt"));
        let own = profiles
            .iter()
            .find(|p| p.account.online_id == "VaultTec-Co")
            .expect("the signed-in account's profile");
        assert_eq!(
            own.about_me.as_deref(),
            Some("r/Fallout76Marketplace Moderator")
        );
    }

    #[test]
    fn an_empty_or_missing_about_me_is_none() {
        for body in [
            r#"{"onlineId":"quiet","aboutMe":""}"#,
            r#"{"onlineId":"quiet","aboutMe":"   "}"#,
            r#"{"onlineId":"quiet"}"#,
        ] {
            let wire: FullProfileWire = serde_json::from_str(body).unwrap();
            let profile = wire.into_profile("7");
            assert_eq!(profile.about_me, None, "{body}");
            assert_eq!(profile.account.account_id, "7");
        }
    }

    #[test]
    fn a_renamed_user_resolves_to_the_current_online_id() {
        let wire: Profile2 = serde_json::from_str(
            r#"{"profile":{"onlineId":"old_name","accountId":"42","currentOnlineId":"new_name"}}"#,
        )
        .unwrap();
        assert_eq!(wire.into_account().online_id, "new_name");
    }

    #[test]
    fn hidden_trophies_keep_their_names_and_definitions_their_groups() {
        let definitions: Vec<TrophyDefinition> = parsed_from("test_client__trophies.json")
            .into_iter()
            .filter_map(|p| match p {
                Parsed::Definitions(d) => Some(d),
                _ => None,
            })
            .flatten()
            .collect();
        let hidden = definitions
            .iter()
            .find(|t| t.hidden)
            .expect("a hidden trophy");
        assert_eq!(hidden.name, "Welcome to the City of the Dead");
        assert_eq!(definitions[0].kind, TrophyType::Platinum);
        assert!(definitions.iter().all(|t| t.group_id == "default"));
    }

    #[test]
    fn every_recorded_rarity_tier_matches_the_earned_rate_thresholds() {
        let mut checked = 0;
        for r in psn_recordings().iter().filter(|r| r.status == 200) {
            let Ok(Parsed::Earned(earned)) = parse(r) else {
                continue;
            };
            for trophy in earned {
                let (Some(rate), Some(rarity)) = (trophy.earned_rate, trophy.rarity) else {
                    continue;
                };
                assert_eq!(
                    Rarity::from_earned_rate(rate),
                    rarity,
                    "{} trophy {}",
                    r.file,
                    trophy.id
                );
                checked += 1;
            }
        }
        assert!(
            checked >= 10,
            "only {checked} recorded trophies with a tier"
        );
    }

    #[test]
    fn tolerates_missing_optionals_and_unknown_values() {
        let wire: TrophiesWire = serde_json::from_str(
            r#"{"trophies":[
                {"trophyId":1,"trophyType":"bronze","earned":true,"trophyRare":9,"trophyEarnedRate":"1.5"},
                {"trophyId":2,"trophyType":"diamond"},
                {"trophyId":3,"trophyType":"gold","earned":true,"earnedDateTime":"not a date","newField":[1]}
            ],"rarestTrophies":[]}"#,
        )
        .unwrap();
        let earned: Vec<EarnedTrophy> = wire
            .trophies
            .into_iter()
            .filter_map(TrophyWire::into_earned)
            .collect();
        assert_eq!(earned.len(), 2, "the unknown type is skipped");
        assert_eq!((earned[0].earned_at, earned[0].rarity), (None, None));
        assert_eq!(earned[0].earned_rate, Some(1.5));
        assert!(earned[1].earned && earned[1].earned_at.is_none());
        let page: TitlePage = serde_json::from_str::<TitlesWire>(
            r#"{"trophyTitles":[{"npCommunicationId":"X","npServiceName":"trophy2","trophyTitlePlatform":"PS5,PSPC,PS9"}]}"#,
        )
        .unwrap()
        .into();
        assert_eq!(
            page.titles[0].platforms,
            vec![Platform::Ps5, Platform::Pc, Platform::Other("PS9".into())]
        );
        assert_eq!(page.next_offset, None);
        assert!(serde_json::from_str::<TitlesWire>(
            r#"{"trophyTitles":[{"npServiceName":"trophy"}]}"#
        )
        .is_err());
    }
}
