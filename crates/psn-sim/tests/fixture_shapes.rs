//! Every recorded PSN JSON body, compared key by key with the simulator's answer to the
//! analogous request.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{str_of, Harness};
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");

/// Keys PSN sends only sometimes (the recordings happen to always or never show them).
const OPTIONAL: &[&str] = &[
    "trophyTitleDetail",
    "trophyGroupDetail",
    "earnedDateTime",
    "earnedDate",
    "gameTitleInfoList",
    "lastAvailableDate",
    "lastOnlineDate",
    "nextOffset",
    "previousOffset",
    "lastUpdatedDateTime",
    "rarestTrophies",
    "currentOnlineId",
    // The full profile shows a real name only when the player shares it.
    "personalDetail",
];

/// Per path (`.a.b[]`), every object's key set, and the JSON types seen per key path.
#[derive(Default)]
struct Shape {
    objects: BTreeMap<String, Vec<BTreeSet<String>>>,
    types: BTreeMap<String, BTreeSet<&'static str>>,
}

fn collect(value: &Value, path: &str, shape: &mut Shape) {
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    shape
        .types
        .entry(path.to_string())
        .or_default()
        .insert(kind);
    match value {
        Value::Object(map) => {
            shape
                .objects
                .entry(path.to_string())
                .or_default()
                .push(map.keys().cloned().collect());
            for (key, child) in map {
                collect(child, &format!("{path}.{key}"), shape);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect(item, &format!("{path}[]"), shape);
            }
        }
        _ => {}
    }
}

/// Every simulated object has only recorded keys, and every key the recording always shows
/// (unless PSN omits it at times); value types match.
fn compare(recorded: &Value, simulated: &Value, what: &str) {
    let (mut rec, mut sim) = (Shape::default(), Shape::default());
    collect(recorded, "", &mut rec);
    collect(simulated, "", &mut sim);
    let under_optional = |path: &str| OPTIONAL.iter().any(|key| path.contains(&format!(".{key}")));
    for (path, sim_objects) in &sim.objects {
        let Some(rec_objects) = rec.objects.get(path) else {
            assert!(
                under_optional(path),
                "{what}: simulator has objects at {path:?} the recording lacks"
            );
            continue;
        };
        let all: BTreeSet<&String> = rec_objects.iter().flatten().collect();
        let required: BTreeSet<&String> = all
            .iter()
            .copied()
            .filter(|key| rec_objects.iter().all(|keys| keys.contains(*key)))
            .filter(|key| !OPTIONAL.contains(&key.as_str()))
            .collect();
        for keys in sim_objects {
            for key in keys {
                assert!(
                    all.contains(key) || OPTIONAL.contains(&key.as_str()),
                    "{what}: unexpected key {path}.{key}"
                );
            }
            for key in &required {
                assert!(keys.contains(*key), "{what}: missing key {path}.{key}");
            }
        }
    }
    for (path, rec_objects) in &rec.objects {
        if !under_optional(path) && !rec_objects.is_empty() {
            assert!(
                sim.objects.contains_key(path),
                "{what}: simulator lacks objects at {path:?}"
            );
        }
    }
    for (path, sim_types) in &sim.types {
        if let Some(rec_types) = rec.types.get(path) {
            assert!(
                sim_types.is_subset(rec_types),
                "{what}: {path} has types {sim_types:?}, recorded {rec_types:?}"
            );
        }
    }
}

fn read(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// IDs in the simulated world that play the parts of the recordings' IDs.
struct Cast {
    hunter: String,
    private: String,
    /// A `trophy` title with DLC groups that the hunter has trophies in.
    dlc_title: String,
    /// A `trophy` title the owner (`me`) never played.
    unplayed_by_owner: String,
    /// A `trophy` title with DLC groups in the owner's library.
    owner_dlc_title: String,
}

async fn cast(h: &Harness) -> Cast {
    let hunter = h.account("sim_hunter");
    let hunter_titles = h.titles(&hunter).await;
    let owner_titles = h.titles("me").await;
    let is_dlc_trophy = |t: &&Value| {
        str_of(t, "npServiceName") == "trophy"
            && t["hasTrophyGroups"] == Value::Bool(true)
            && t["earnedTrophies"]["bronze"].as_u64().unwrap_or(0) > 0
    };
    let owned: BTreeSet<&str> = owner_titles
        .iter()
        .map(|t| str_of(t, "npCommunicationId"))
        .collect();
    Cast {
        private: h.account("sim_private"),
        dlc_title: str_of(
            hunter_titles
                .iter()
                .find(is_dlc_trophy)
                .expect("a DLC title"),
            "npCommunicationId",
        )
        .into(),
        unplayed_by_owner: hunter_titles
            .iter()
            .map(|t| str_of(t, "npCommunicationId"))
            .find(|id| !owned.contains(id))
            .expect("a title the owner lacks")
            .into(),
        owner_dlc_title: str_of(
            owner_titles
                .iter()
                .find(is_dlc_trophy)
                .expect("an owner DLC title"),
            "npCommunicationId",
        )
        .into(),
        hunter,
    }
}

/// The simulator request analogous to a recorded one, or `None` for endpoints outside the
/// simulator (device list, friends, OAuth).
fn analogous(uri: &str, status: u64, cast: &Cast, presence_ids: &str) -> Option<String> {
    let (path, query) = uri
        .split_once("playstation.net")
        .or_else(|| uri.split_once("playstation.com"))
        .map(|(_, rest)| rest.split_once('?').unwrap_or((rest, "")))?;
    let segments: Vec<&str> = path.split('/').collect();
    let ok = status < 400;
    let request = match segments.as_slice() {
        ["", "userProfile", "v1", "users", _, "profile2"] => {
            let user = if ok { "sim_hunter" } else { "dfhlidsahfdszh" };
            format!("/userProfile/v1/users/{user}/profile2?{query}")
        }
        [.., "users", _, "trophyTitles"] => {
            let account = if ok { &cast.hunter } else { &cast.private };
            format!("/api/trophy/v1/users/{account}/trophyTitles?{query}")
        }
        [.., "users", _, "trophySummary"] => format!("/api/trophy/v1/users/{}/trophySummary", cast.hunter),
        [.., "trophy", "v1", "npCommunicationIds", _, "trophyGroups"] => format!(
            "/api/trophy/v1/npCommunicationIds/{}/trophyGroups?npServiceName=trophy",
            cast.dlc_title
        ),
        [.., "users", _, "npCommunicationIds", _, "trophyGroups"] => {
            if ok {
                format!(
                    "/api/trophy/v1/users/{}/npCommunicationIds/{}/trophyGroups?npServiceName=trophy",
                    cast.hunter, cast.dlc_title
                )
            } else {
                format!(
                    "/api/trophy/v1/users/me/npCommunicationIds/{}/trophyGroups?npServiceName=trophy",
                    cast.unplayed_by_owner
                )
            }
        }
        [.., "trophy", "v1", "npCommunicationIds", id, "trophyGroups", group, "trophies"] => {
            if ok {
                format!(
                    "/api/trophy/v1/npCommunicationIds/{}/trophyGroups/{group}/trophies?{query}",
                    cast.dlc_title
                )
            } else {
                format!("/api/trophy/v1/npCommunicationIds/{id}/trophyGroups/{group}/trophies?{query}")
            }
        }
        [.., "users", _, "npCommunicationIds", _, "trophyGroups", group, "trophies"] => format!(
            "/api/trophy/v1/users/{}/npCommunicationIds/{}/trophyGroups/{group}/trophies?{query}",
            cast.hunter, cast.dlc_title
        ),
        [.., "v1", "internal", "users", _, "profiles"] => format!(
            "/api/userProfile/v1/internal/users/{}/profiles",
            cast.hunter
        ),
        [.., "users", "", "basicPresences"] => format!(
            "/api/userProfile/v2/internal/users//basicPresences?accountIds={presence_ids}&platforms=PS4%2CPS5%2CMOBILE_APP%2CPSPC&type=primary&withOwnGameTitleInfo=true"
        ),
        [.., "users", _, "basicPresences"] => format!(
            "/api/userProfile/v2/internal/users/{}/basicPresences?{query}",
            cast.private
        ),
        _ => return None,
    };
    Some(request)
}

#[tokio::test]
async fn every_recorded_psn_body_has_the_simulators_shape() {
    let h = Harness::default().await;
    let cast = cast(&h).await;
    let presence_ids = [
        h.account("sim_hunter"),
        h.account("sim_casual"),
        h.account("sim_newname"),
    ]
    .join(",");

    let mut compared = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(format!("{FIXTURES}/psn"))
        .expect("fixtures/psn")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for file in files {
        let cassette = read(file.clone());
        for interaction in cassette["interactions"].as_array().into_iter().flatten() {
            let uri = str_of(&interaction["request"], "uri");
            let status = interaction["response"]["status"]["code"]
                .as_u64()
                .unwrap_or(0);
            let Ok(recorded) =
                serde_json::from_str::<Value>(str_of(&interaction["response"]["body"], "string"))
            else {
                continue;
            };
            let Some(request) = analogous(uri, status, &cast, &presence_ids) else {
                continue;
            };
            let what = format!("{} {uri} -> {request}", file.display());
            let reply = h.get(&request).await;
            assert_eq!(
                u64::from(reply.status.as_u16()),
                status,
                "{what}: {}",
                reply.text
            );
            if status >= 400 {
                assert_eq!(
                    reply.body["error"]["code"], recorded["error"]["code"],
                    "{what}"
                );
            }
            compare(&recorded, &reply.body, &what);
            compared += 1;
        }
    }
    // 24 JSON bodies of served endpoints are recorded; a silent skip would hide a regression.
    assert!(compared >= 20, "only {compared} recorded bodies compared");
}

#[tokio::test]
async fn every_legacy_example_has_the_simulators_shape() {
    let h = Harness::default().await;
    let cast = cast(&h).await;
    let title = &cast.owner_dlc_title;
    let cases = [
        ("trophyTitles_example1.json", "/trophy/v1/trophyTitles?npLanguage=en-GB&platform=PS4,PS3,PSVITA".to_string()),
        ("trophyTitles_example2.json", "/trophy/v1/trophyTitles?npLanguage=en-GB&platform=PS4&offset=3&limit=5".to_string()),
        ("trophyGroups_NPWR10600_00.json", format!("/trophy/v1/trophyTitles/{title}/trophyGroups?npLanguage=en-GB")),
        (
            "trophies_NPWR10600_00_default.json",
            format!("/trophy/v1/trophyTitles/{title}/trophyGroups/default/trophies?npLanguage=en-GB&visibleType=1&fields=%40default%2CtrophyEarnedRate"),
        ),
        (
            "trophies_NPWR10600_00_001.json",
            format!("/trophy/v1/trophyTitles/{title}/trophyGroups/001/trophies?npLanguage=en-GB&visibleType=1&fields=%40default%2CtrophyEarnedRate"),
        ),
    ];
    for (file, request) in cases {
        let recorded = read(PathBuf::from(format!("{FIXTURES}/legacy/{file}")));
        let reply = h.get(&request).await;
        assert_eq!(reply.status.as_u16(), 200, "{file}: {}", reply.text);
        compare(&recorded, &reply.body, file);
    }
}
