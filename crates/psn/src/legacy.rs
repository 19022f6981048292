//! The legacy API of the seed document (`{region}-tpy.np.community.playstation.net/trophy/v1`):
//! endpoint functions and wire types. It names users by online ID only (no lookup, no account
//! IDs): another user is read with `comparedUser={onlineId}`, and the answer then carries
//! `comparedUser` beside the credential's own `fromUser`.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::client::Request;
use crate::error::{Error, Result};
use crate::model::*;
use crate::online_id::OnlineId;
use crate::wire::{lenient_bool, opt_date, opt_rate, trophy_type};

pub(crate) const MAX_TITLES_PAGE: u32 = 128;
const PLATFORMS: &str = "PS4,PS3,PSVITA,PS5";
const FIELDS: &str = "@default,trophyEarnedRate";
const CODE_PRIVATE: i64 = 2240526;
/// PSN's "User not found" (profile2's recorded answer; the simulator answers an unknown
/// `comparedUser` with it, the seed document does not say).
const CODE_USER_NOT_FOUND: i64 = 2105356;

/// The account the legacy API knows: the online ID as asked, and, for the client's caches, the
/// lower-cased ID as account ID (PSN online IDs ignore case). Nothing is asked: whether PSN knows
/// the user shows in the first answer naming them.
pub(crate) fn account(online_id: &OnlineId) -> Account {
    Account {
        account_id: online_id.key(),
        online_id: online_id.to_string(),
    }
}

fn url(request: &Request<'_>, path: &str) -> String {
    format!("{}/trophy/v1/{path}", request.inner.config.legacy_base())
}

fn error_for<'a>(
    account: Option<&'a Account>,
    id: Option<&'a str>,
) -> impl FnOnce(u16, Option<i64>) -> Option<Error> + 'a {
    move |status, code| match (status, code, account, id) {
        (403, Some(CODE_PRIVATE) | None, Some(a), _) => Some(Error::Private(a.online_id.clone())),
        // A title's 404 naming a user may be about either: PSN's code tells which.
        (404, Some(CODE_USER_NOT_FOUND), Some(a), _) | (404, _, Some(a), None) => {
            Some(Error::UserNotFound(a.online_id.clone()))
        }
        (404, _, _, Some(id)) => Some(Error::TitleNotFound(id.to_string())),
        _ => None,
    }
}

/// Whose state a request asks for: the credential's own user (no `comparedUser`; their block is
/// `fromUser`) or another one, named by online ID in `comparedUser`.
#[derive(Clone, Copy)]
enum Whose<'a> {
    Own,
    Compared(&'a str),
}

impl<'a> Whose<'a> {
    /// Another user unless the account is the credential's own (learned from the first
    /// `fromUser` seen).
    fn of(request: &Request<'_>, account: &'a Account) -> Whose<'a> {
        let own = request
            .inner
            .legacy_own_id
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if own
            .as_deref()
            .is_some_and(|own| own.eq_ignore_ascii_case(&account.online_id))
        {
            Whose::Own
        } else {
            Whose::Compared(&account.online_id)
        }
    }

    /// The asked user's block. `comparedUser` is theirs whatever name it shows (a renamed user's
    /// shows the current ID); a `fromUser` naming them serves when asked for themselves.
    fn pick<'b, U: UserBlock>(self, from: Option<&'b U>, compared: Option<&'b U>) -> Option<&'b U> {
        match self {
            Whose::Own => from,
            Whose::Compared(online_id) => {
                compared.or(from.filter(|f| f.online_id().eq_ignore_ascii_case(online_id)))
            }
        }
    }
}

trait UserBlock {
    fn online_id(&self) -> &str;
}

/// The user a request is about: named in errors, and whose block is theirs. Without one the
/// answer is the credential's own user's (read for the definitions only).
type Asked<'a> = Option<(&'a Account, Whose<'a>)>;

/// Query parameters shared by every call: language, and `comparedUser` for another user.
fn user_query(request: &Request<'_>, asked: Asked<'_>) -> Vec<(&'static str, String)> {
    let mut query = vec![("npLanguage", request.language.to_string())];
    if let Some((_, Whose::Compared(online_id))) = asked {
        query.push(("comparedUser", online_id.to_string()));
    }
    query
}

fn learn_own_id(request: &Request<'_>, from_user: Option<&str>) {
    if let Some(own) = from_user.filter(|o| !o.is_empty()) {
        *request
            .inner
            .legacy_own_id
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(own.to_string());
    }
}

async fn get<T: serde::de::DeserializeOwned>(
    request: &Request<'_>,
    url: &str,
    query: &[(&str, String)],
    asked: Asked<'_>,
    id: Option<&str>,
) -> Result<T> {
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    request
        .get(url, &query)
        .await
        .map_err(|f| f.into_error(error_for(asked.map(|(account, _)| account), id)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitlesWire {
    #[serde(default)]
    total_results: u32,
    #[serde(default)]
    offset: u32,
    #[serde(default)]
    trophy_titles: Vec<TitleWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitleWire {
    np_communication_id: String,
    #[serde(default)]
    trophy_title_name: String,
    trophy_title_detail: Option<String>,
    trophy_title_icon_url: Option<String>,
    /// The API's own spelling, and the corrected one.
    #[serde(default, rename = "trophyTitlePlatfrom", alias = "trophyTitlePlatform")]
    platform: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    has_trophy_groups: bool,
    #[serde(default)]
    defined_trophies: TrophyCounts,
    from_user: Option<ProgressWire>,
    compared_user: Option<ProgressWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProgressWire {
    #[serde(default)]
    online_id: String,
    #[serde(default)]
    progress: u32,
    #[serde(default)]
    earned_trophies: TrophyCounts,
    #[serde(default, deserialize_with = "lenient_bool")]
    hidden_flag: bool,
    #[serde(default, deserialize_with = "opt_date")]
    last_update_date: Option<DateTime<Utc>>,
}

impl UserBlock for ProgressWire {
    fn online_id(&self) -> &str {
        &self.online_id
    }
}

impl TitlesWire {
    /// Titles the asked user has (a title only the credential's own user played has no
    /// `comparedUser` block and is left out).
    fn into_page(self, whose: Whose<'_>) -> TitlePage {
        let returned = self.trophy_titles.len() as u32;
        let titles = self
            .trophy_titles
            .into_iter()
            .filter_map(|t| {
                let user = whose.pick(t.from_user.as_ref(), t.compared_user.as_ref())?;
                Some(TitleProgress {
                    service: None,
                    name: t.trophy_title_name.clone(),
                    detail: t.trophy_title_detail.clone(),
                    icon_url: t.trophy_title_icon_url.clone(),
                    platforms: Platform::parse_list(&t.platform),
                    has_groups: t.has_trophy_groups,
                    defined: t.defined_trophies,
                    earned: user.earned_trophies,
                    progress: user.progress,
                    hidden: user.hidden_flag,
                    last_updated: user.last_update_date,
                    np_communication_id: t.np_communication_id.clone(),
                })
            })
            .collect();
        let next = self.offset + returned;
        TitlePage {
            titles,
            total: self.total_results,
            next_offset: (returned > 0 && next < self.total_results).then_some(next),
        }
    }

    fn own_online_id(&self) -> Option<&str> {
        self.trophy_titles
            .iter()
            .find_map(|t| t.from_user.as_ref().map(|f| f.online_id.as_str()))
    }
}

pub(crate) async fn titles(
    request: &Request<'_>,
    account: &Account,
    offset: u32,
    limit: u32,
) -> Result<TitlePage> {
    let whose = Whose::of(request, account);
    let asked = Some((account, whose));
    let mut query = user_query(request, asked);
    query.push(("platform", PLATFORMS.to_string()));
    query.push(("limit", limit.min(MAX_TITLES_PAGE).to_string()));
    query.push(("offset", offset.to_string()));
    let wire: TitlesWire = get(request, &url(request, "trophyTitles"), &query, asked, None).await?;
    learn_own_id(request, wire.own_online_id());
    Ok(wire.into_page(whose))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupsWire {
    #[serde(default)]
    trophy_title_name: String,
    trophy_title_detail: Option<String>,
    trophy_title_icon_url: Option<String>,
    #[serde(default, rename = "trophyTitlePlatfrom", alias = "trophyTitlePlatform")]
    platform: String,
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
    from_user: Option<ProgressWire>,
    compared_user: Option<ProgressWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrophiesWire {
    #[serde(default)]
    trophies: Vec<TrophyWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrophyWire {
    trophy_id: u32,
    #[serde(default, deserialize_with = "lenient_bool")]
    trophy_hidden: bool,
    trophy_type: Option<String>,
    #[serde(default)]
    trophy_name: String,
    #[serde(default)]
    trophy_detail: String,
    trophy_icon_url: Option<String>,
    #[serde(default, deserialize_with = "opt_rate")]
    trophy_earned_rate: Option<f64>,
    from_user: Option<TrophyUserWire>,
    compared_user: Option<TrophyUserWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrophyUserWire {
    #[serde(default)]
    online_id: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    earned: bool,
    #[serde(default, deserialize_with = "opt_date")]
    earned_date: Option<DateTime<Utc>>,
}

impl UserBlock for TrophyUserWire {
    fn online_id(&self) -> &str {
        &self.online_id
    }
}

impl TrophyWire {
    fn kind(&self) -> Option<TrophyType> {
        let kind = self.trophy_type.as_deref().and_then(trophy_type);
        if kind.is_none() {
            tracing::warn!(
                trophy_id = self.trophy_id,
                "trophy without a known type skipped"
            );
        }
        kind
    }

    fn definition(&self, group_id: &str) -> Option<TrophyDefinition> {
        Some(TrophyDefinition {
            id: self.trophy_id,
            group_id: group_id.to_string(),
            hidden: self.trophy_hidden,
            kind: self.kind()?,
            name: self.trophy_name.clone(),
            detail: self.trophy_detail.clone(),
            icon_url: self.trophy_icon_url.clone(),
        })
    }

    /// The asked user's state; a trophy without their block counts as not earned.
    fn earned(&self, whose: Whose<'_>) -> Option<EarnedTrophy> {
        let user = whose.pick(self.from_user.as_ref(), self.compared_user.as_ref());
        Some(EarnedTrophy {
            id: self.trophy_id,
            kind: self.kind()?,
            hidden: self.trophy_hidden,
            earned: user.is_some_and(|u| u.earned),
            earned_at: user.and_then(|u| u.earned_date),
            earned_rate: self.trophy_earned_rate,
            // The legacy API has no tier: derive it as PSN does.
            rarity: self.trophy_earned_rate.map(Rarity::from_earned_rate),
        })
    }
}

fn definition_from(
    id: &str,
    groups: &GroupsWire,
    trophies: &[(String, TrophiesWire)],
) -> TitleDefinition {
    TitleDefinition {
        np_communication_id: id.to_string(),
        service: None,
        name: groups.trophy_title_name.clone(),
        detail: groups.trophy_title_detail.clone(),
        icon_url: groups.trophy_title_icon_url.clone(),
        platforms: Platform::parse_list(&groups.platform),
        defined: groups.defined_trophies,
        groups: groups
            .trophy_groups
            .iter()
            .map(|g| GroupDefinition {
                id: g.trophy_group_id.clone(),
                name: g.trophy_group_name.clone(),
                detail: g.trophy_group_detail.clone(),
                icon_url: g.trophy_group_icon_url.clone(),
                defined: g.defined_trophies,
            })
            .collect(),
        trophies: trophies
            .iter()
            .flat_map(|(group, wire)| wire.trophies.iter().filter_map(|t| t.definition(group)))
            .collect(),
    }
}

async fn groups(request: &Request<'_>, id: &str, asked: Asked<'_>) -> Result<GroupsWire> {
    let query = user_query(request, asked);
    let path = format!("trophyTitles/{id}/trophyGroups");
    get(request, &url(request, &path), &query, asked, Some(id)).await
}

async fn group_trophies(
    request: &Request<'_>,
    id: &str,
    group: &str,
    asked: Asked<'_>,
) -> Result<TrophiesWire> {
    let mut query = user_query(request, asked);
    query.push(("visibleType", "1".to_string()));
    query.push(("fields", FIELDS.to_string()));
    let path = format!("trophyTitles/{id}/trophyGroups/{group}/trophies");
    get(request, &url(request, &path), &query, asked, Some(id)).await
}

/// A title's definitions: the groups, then each group's trophies.
pub(crate) async fn title(request: &Request<'_>, id: &str) -> Result<TitleDefinition> {
    let groups = groups(request, id, None).await?;
    let mut trophies = Vec::with_capacity(groups.trophy_groups.len());
    for group in &groups.trophy_groups {
        let wire = group_trophies(request, id, &group.trophy_group_id, None).await?;
        trophies.push((group.trophy_group_id.clone(), wire));
    }
    Ok(definition_from(id, &groups, &trophies))
}

/// A user's state of a title, and its definitions: the legacy answers carry both, so with the
/// definitions cached it takes one request per group, and cold one more (the groups, asked for
/// the user so that the last update date comes along).
pub(crate) async fn user_title(
    request: &Request<'_>,
    account: &Account,
    id: &str,
    cached: Option<TitleDefinition>,
) -> Result<(TitleDefinition, Vec<EarnedTrophy>, Option<DateTime<Utc>>)> {
    let whose = Whose::of(request, account);
    let asked = Some((account, whose));
    let (group_ids, groups_wire) = match &cached {
        Some(title) => (title.groups.iter().map(|g| g.id.clone()).collect(), None),
        None => {
            let wire = groups(request, id, asked).await?;
            let ids: Vec<String> = wire
                .trophy_groups
                .iter()
                .map(|g| g.trophy_group_id.clone())
                .collect();
            (ids, Some(wire))
        }
    };
    let mut trophies = Vec::with_capacity(group_ids.len());
    for group in group_ids {
        let wire = group_trophies(request, id, &group, asked).await?;
        trophies.push((group, wire));
    }
    let earned = trophies
        .iter()
        .flat_map(|(_, wire)| wire.trophies.iter().filter_map(|t| t.earned(whose)))
        .collect();
    let last_updated = groups_wire.as_ref().and_then(|g| {
        g.trophy_groups
            .iter()
            .filter_map(|group| {
                whose
                    .pick(group.from_user.as_ref(), group.compared_user.as_ref())
                    .and_then(|u| u.last_update_date)
            })
            .max()
    });
    let title = match (cached, groups_wire) {
        (Some(title), _) => title,
        (None, Some(wire)) => definition_from(id, &wire, &trophies),
        (None, None) => return Err(Error::TitleNotFound(id.to_string())),
    };
    Ok((title, earned, last_updated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::legacy_bodies;
    use chrono::TimeZone;

    fn body(name: &str) -> String {
        legacy_bodies()
            .into_iter()
            .find(|(file, _)| file == name)
            .map(|(_, body)| body)
            .unwrap_or_else(|| panic!("no legacy fixture {name}"))
    }

    #[test]
    fn every_legacy_fixture_parses_into_the_model() {
        let all = legacy_bodies();
        assert_eq!(all.len(), 5);
        for (file, text) in &all {
            let parsed = if file.starts_with("trophyTitles_") {
                let page =
                    serde_json::from_str::<TitlesWire>(text).map(|w| w.into_page(Whose::Own));
                page.map(|p| p.titles.len())
            } else if file.starts_with("trophyGroups_") {
                serde_json::from_str::<GroupsWire>(text)
                    .map(|g| definition_from("NPWR10600_00", &g, &[]).groups.len())
            } else {
                serde_json::from_str::<TrophiesWire>(text).map(|t| {
                    t.trophies
                        .iter()
                        .filter_map(|t| t.earned(Whose::Own))
                        .count()
                })
            };
            assert!(parsed.as_ref().is_ok_and(|n| *n > 0), "{file}: {parsed:?}");
        }
    }

    #[test]
    fn titles_read_the_misspelt_platform_and_page_on() {
        let wire: TitlesWire = serde_json::from_str(&body("trophyTitles_example1.json")).unwrap();
        assert_eq!(wire.own_online_id(), Some("PSN-username"));
        let page = wire.into_page(Whose::Own);
        assert_eq!(page.total, 570);
        assert_eq!(page.next_offset, Some(2));
        let fall_guys = &page.titles[0];
        assert_eq!(fall_guys.name, "Fall Guys");
        assert_eq!(fall_guys.platforms, vec![Platform::Ps4]);
        assert_eq!(fall_guys.service, None);
        assert_eq!((fall_guys.progress, fall_guys.earned.gold), (91, 4));
        assert_eq!(
            fall_guys.last_updated,
            Some(Utc.with_ymd_and_hms(2020, 9, 5, 11, 50, 53).unwrap())
        );
        let page: TitlePage =
            serde_json::from_str::<TitlesWire>(&body("trophyTitles_example2.json"))
                .unwrap()
                .into_page(Whose::Own);
        assert_eq!(page.next_offset, Some(150));
        assert!(page.titles[0].has_groups);
        // Another user's page without their block for a title leaves that title out.
        let page = serde_json::from_str::<TitlesWire>(&body("trophyTitles_example2.json"))
            .unwrap()
            .into_page(Whose::Compared("someone_else"));
        assert!(page.titles.is_empty());
    }

    #[test]
    fn groups_and_trophies_make_a_definition_with_earned_state() {
        let groups: GroupsWire =
            serde_json::from_str(&body("trophyGroups_NPWR10600_00.json")).unwrap();
        let trophies = vec![
            (
                "default".to_string(),
                serde_json::from_str::<TrophiesWire>(&body("trophies_NPWR10600_00_default.json"))
                    .unwrap(),
            ),
            (
                "001".to_string(),
                serde_json::from_str::<TrophiesWire>(&body("trophies_NPWR10600_00_001.json"))
                    .unwrap(),
            ),
        ];
        let title = definition_from("NPWR10600_00", &groups, &trophies);
        assert_eq!(title.name, "RESIDENT EVIL 5");
        assert_eq!(title.platforms, vec![Platform::Ps4]);
        assert_eq!(title.defined.total(), 71);
        assert_eq!(
            title
                .groups
                .iter()
                .map(|g| g.id.as_str())
                .collect::<Vec<_>>(),
            ["default", "001"]
        );
        assert_eq!(title.trophies.len(), 4);
        assert_eq!(title.trophies[2].group_id, "001");
        let earned: Vec<EarnedTrophy> = trophies
            .iter()
            .flat_map(|(_, w)| w.trophies.iter().filter_map(|t| t.earned(Whose::Own)))
            .collect();
        let platinum = &earned[0];
        assert!(platinum.earned);
        assert_eq!(platinum.earned_rate, Some(3.8));
        assert_eq!(platinum.rarity, Some(Rarity::UltraRare));
        assert_eq!(earned[1].rarity, Some(Rarity::Common));
        assert!(!earned[2].earned && earned[2].earned_at.is_none());
    }

    #[test]
    fn reads_the_seed_tables_forms_and_the_compared_user() {
        let text = r#"{"trophies":[
            {"trophyId":1,"trophyHidden":"False","trophyType":"gold","trophyName":"a","trophyDetail":"b",
             "trophyEarnedRate":"12.0",
             "fromUser":{"onlineId":"me","earned":"False"},
             "comparedUser":{"onlineId":"friend","earned":"True","earnedDate":"02/09/2017 22:14:52"}},
            {"trophyId":2,"trophyHidden":"True","trophyType":"bronze",
             "comparedUser":{"onlineId":"friend","earned":"True"}}
        ]}"#;
        let wire: TrophiesWire = serde_json::from_str(text).unwrap();
        let friend: Vec<EarnedTrophy> = wire
            .trophies
            .iter()
            .filter_map(|t| t.earned(Whose::Compared("friend")))
            .collect();
        assert!(friend[0].earned && !friend[0].hidden);
        assert_eq!(
            friend[0].earned_at,
            Some(Utc.with_ymd_and_hms(2017, 2, 9, 22, 14, 52).unwrap())
        );
        assert_eq!(friend[0].rarity, Some(Rarity::VeryRare));
        assert!(friend[1].hidden && friend[1].earned && friend[1].earned_at.is_none());
        let me: Vec<EarnedTrophy> = wire
            .trophies
            .iter()
            .filter_map(|t| t.earned(Whose::Own))
            .collect();
        assert!(!me[0].earned);

        let titles = r#"{"totalResults":1,"offset":0,"limit":128,"trophyTitles":[{
            "npCommunicationId":"NPWR1","trophyTitleName":"T","trophyTitlePlatform":"PS4,PSVITA",
            "hasTrophyGroups":"False","definedTrophies":{"bronze":1,"silver":0,"gold":0,"platinum":0},
            "fromUser":{"onlineId":"me","progress":0,"hiddenFlag":"False"},
            "comparedUser":{"onlineId":"friend","progress":100,"hiddenFlag":"True",
              "earnedTrophies":{"bronze":1,"silver":0,"gold":0,"platinum":0},"lastUpdateDate":"02/09/2017 22:14:52"}}]}"#;
        let page = serde_json::from_str::<TitlesWire>(titles)
            .unwrap()
            .into_page(Whose::Compared("friend"));
        let title = &page.titles[0];
        assert_eq!(title.platforms, vec![Platform::Ps4, Platform::Vita]);
        assert!(!title.has_groups && title.hidden);
        assert_eq!((title.progress, title.earned.bronze), (100, 1));
        assert_eq!(
            title.last_updated,
            Some(Utc.with_ymd_and_hms(2017, 2, 9, 22, 14, 52).unwrap())
        );
        assert_eq!(page.next_offset, None);
    }

    #[test]
    fn the_compared_user_block_is_theirs_whatever_name_it_shows() {
        // Asked for by a former online ID, PSN names the user by the current one.
        let text = r#"{"trophies":[{"trophyId":1,"trophyType":"gold",
            "fromUser":{"onlineId":"me","earned":false},
            "comparedUser":{"onlineId":"new_name","earned":true}}]}"#;
        let wire: TrophiesWire = serde_json::from_str(text).unwrap();
        let asked = wire.trophies[0]
            .earned(Whose::Compared("old_name"))
            .unwrap();
        assert!(asked.earned);
        // Asked for themselves through `comparedUser`, an answer with only `fromUser` is theirs.
        let own = r#"{"trophies":[{"trophyId":1,"trophyType":"gold",
            "fromUser":{"onlineId":"Me","earned":true}}]}"#;
        let wire: TrophiesWire = serde_json::from_str(own).unwrap();
        assert!(
            wire.trophies[0]
                .earned(Whose::Compared("me"))
                .unwrap()
                .earned
        );
        assert!(
            !wire.trophies[0]
                .earned(Whose::Compared("other"))
                .unwrap()
                .earned
        );
    }

    #[test]
    fn a_404_is_about_the_user_or_the_title_as_psn_says() {
        let user = account(&OnlineId::parse("Nobody_Here").unwrap());
        assert_eq!(user.account_id, "nobody_here");
        let on_title = |code| error_for(Some(&user), Some("NPWR1"))(404, code);
        assert!(matches!(
            on_title(Some(CODE_USER_NOT_FOUND)),
            Some(Error::UserNotFound(id)) if id == "Nobody_Here"
        ));
        assert!(matches!(
            on_title(Some(2240525)),
            Some(Error::TitleNotFound(id)) if id == "NPWR1"
        ));
        assert!(matches!(
            error_for(Some(&user), None)(404, None),
            Some(Error::UserNotFound(_))
        ));
        assert!(matches!(
            error_for(Some(&user), None)(403, Some(CODE_PRIVATE)),
            Some(Error::Private(_))
        ));
        assert!(error_for(None, Some("NPWR1"))(403, None).is_none());
    }
}
