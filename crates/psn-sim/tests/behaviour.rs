//! The simulator's behaviour over HTTP: world, determinism, auth, rate limit, earning, faults,
//! privacy, presence and the legacy API.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{str_of, Harness};
use psn_sim::{Fault, Sim, SimClock, SimConfig, SimError, SIM_LEGACY_TOKEN, SIM_NPSSO};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn header<'a>(reply: &'a common::Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

async fn trophies(h: &Harness, account: &str, title: &Value) -> Vec<Value> {
    let reply = h
        .get(&format!(
            "/api/trophy/v1/users/{account}/npCommunicationIds/{}/trophyGroups/all/trophies?npServiceName={}",
            str_of(title, "npCommunicationId"),
            str_of(title, "npServiceName")
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body["trophies"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_world_has_the_documented_users() {
    let h = Harness::default().await;
    let hunter = h.account("sim_hunter");

    let first = h
        .get(&format!(
            "/api/trophy/v1/users/{hunter}/trophyTitles?limit=50&offset=0"
        ))
        .await;
    assert_eq!(first.body["totalItemCount"], 400);
    assert_eq!(first.body["nextOffset"], 50);
    assert_eq!(
        first.body["trophyTitles"].as_array().map(Vec::len),
        Some(50)
    );
    let last = h
        .get(&format!(
            "/api/trophy/v1/users/{hunter}/trophyTitles?limit=50&offset=350"
        ))
        .await;
    assert!(last.body.get("nextOffset").is_none());
    assert_eq!(last.body["previousOffset"], 349);

    let titles = h.titles(&hunter).await;
    assert_eq!(titles.len(), 400);
    let dates: Vec<&str> = titles
        .iter()
        .map(|t| str_of(t, "lastUpdatedDateTime"))
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "most recent first");
    let platforms: BTreeSet<&str> = titles
        .iter()
        .map(|t| str_of(t, "trophyTitlePlatform"))
        .collect();
    for platform in ["PS3", "PS4", "PS5", "PSVITA", "PS5,PSPC"] {
        assert!(platforms.contains(platform), "{platform} in {platforms:?}");
    }
    assert!(titles
        .iter()
        .any(|t| t["hasTrophyGroups"] == true && str_of(t, "npServiceName") == "trophy"));
    assert!(
        titles
            .iter()
            .filter(|t| t["earnedTrophies"]["platinum"] == 1)
            .count()
            >= 3
    );
    let astro: Vec<&str> = titles
        .iter()
        .filter(|t| str_of(t, "trophyTitleName") == "ASTRO BOT")
        .map(|t| str_of(t, "npServiceName"))
        .collect();
    assert_eq!(astro.len(), 2, "ASTRO BOT on two platforms");
    assert!(titles
        .iter()
        .filter(|t| str_of(t, "npServiceName") == "trophy2")
        .all(|t| t.get("trophyTitleDetail").is_none()));

    // Offline PS3/Vita unlocks have no date; hidden trophies exist; rarity follows the rate.
    let mut undated = 0;
    let mut hidden = 0;
    for title in titles
        .iter()
        .filter(|t| str_of(t, "trophyTitlePlatform") == "PS3")
        .take(15)
    {
        for trophy in trophies(&h, &hunter, title).await {
            if trophy["earned"] == true && trophy.get("earnedDateTime").is_none() {
                undated += 1;
            }
            if trophy["trophyHidden"] == true {
                hidden += 1;
            }
            let rate: f64 = str_of(&trophy, "trophyEarnedRate")
                .parse()
                .expect("rate is a number");
            assert!((0.1..=95.0).contains(&rate), "{rate}");
            let rare = match rate {
                r if r <= 5.0 => 0,
                r if r <= 15.0 => 1,
                r if r <= 50.0 => 2,
                _ => 3,
            };
            assert_eq!(trophy["trophyRare"], rare, "{trophy}");
        }
    }
    assert!(
        undated > 0 && hidden > 0,
        "undated {undated}, hidden {hidden}"
    );

    let casual = h.titles(&h.account("sim_casual")).await;
    assert_eq!(casual.len(), 5);
    assert!(casual.iter().all(|t| t["earnedTrophies"]["platinum"] == 0));
    assert!(casual
        .iter()
        .any(|t| t["earnedTrophies"]["bronze"].as_u64() > Some(0)
            || t["earnedTrophies"]["silver"].as_u64() > Some(0)));
    let hunter_ids: BTreeSet<&str> = titles
        .iter()
        .map(|t| str_of(t, "npCommunicationId"))
        .collect();
    let shared = casual
        .iter()
        .filter(|t| hunter_ids.contains(str_of(t, "npCommunicationId")))
        .count();
    assert!(shared >= 2, "casual shares {shared} titles with hunter");

    let markdown = h.titles(&h.account("sim_markdown")).await;
    let names: Vec<&str> = markdown
        .iter()
        .map(|t| str_of(t, "trophyTitleName"))
        .collect();
    assert!(names.contains(&"Pokémon ✨ Légendes"), "{names:?}");
    assert!(names.iter().any(|n| n.contains("@everyone")));
    let groups = h
        .get(&format!(
            "/api/trophy/v1/npCommunicationIds/{}/trophies",
            str_of(&markdown[0], "npCommunicationId")
        ))
        .await;
    assert_eq!(groups.status, StatusCode::NOT_FOUND, "not an endpoint");
    let markdown_trophies = h
        .get(&format!(
            "/api/trophy/v1/npCommunicationIds/{}/trophyGroups/all/trophies?npServiceName={}",
            str_of(&markdown[0], "npCommunicationId"),
            str_of(&markdown[0], "npServiceName")
        ))
        .await;
    assert!(
        markdown_trophies.text.contains("@everyone"),
        "{}",
        markdown_trophies.text
    );

    let empty = h
        .get(&format!(
            "/api/trophy/v1/users/{}/trophyTitles",
            h.account("sim_empty")
        ))
        .await;
    assert_eq!(
        empty.body,
        json!({ "trophyTitles": [], "totalItemCount": 0 })
    );

    let me = h.get("/api/trophy/v1/users/me/trophySummary").await;
    assert_eq!(me.body["accountId"], h.account("sim_owner").as_str());
    assert!(me.body["trophyLevel"].as_u64() > Some(1));
}

async fn snapshot(h: &Harness) -> (String, Vec<Value>, String) {
    let account = h.account("sim_hunter");
    let titles = h
        .get(&format!(
            "/api/trophy/v1/users/{account}/trophyTitles?limit=800"
        ))
        .await
        .text;
    let first = h.titles(&account).await.remove(0);
    let trophies = trophies(h, &account, &first).await;
    let legacy = h.get("/trophy/v1/trophyTitles?npLanguage=en-GB").await.text;
    (titles, trophies, legacy)
}

async fn presence_of(h: &Harness, account: &str) -> Value {
    h.get(&format!(
        "/api/userProfile/v2/internal/users//basicPresences?accountIds={account}&type=primary"
    ))
    .await
    .body["basicPresences"][0]
        .clone()
}

#[tokio::test]
async fn the_same_seed_serves_the_same_bytes_and_another_seed_differs() {
    let a = Harness::default().await;
    let b = Harness::default().await;
    let c = Harness::start(SimConfig {
        seed: 7,
        ..SimConfig::default()
    })
    .await;
    let (first, second, other) = (snapshot(&a).await, snapshot(&b).await, snapshot(&c).await);
    assert_eq!(first, second);
    assert_ne!(first.0, other.0);
    assert_ne!(first.2, other.2);
}

#[tokio::test]
async fn the_rate_limit_slides_per_credential() {
    let config = SimConfig {
        rate_limit: 5,
        rate_window: Duration::from_secs(60),
        ..SimConfig::default()
    };
    let start = config.start_time.timestamp();
    let h = Harness::start(config).await;
    let path = "/api/trophy/v1/users/me/trophySummary";
    for _ in 0..3 {
        assert_eq!(h.get(path).await.status, StatusCode::OK);
    }
    h.sim.advance_clock(Duration::from_secs(10));
    for _ in 0..2 {
        assert_eq!(h.get(path).await.status, StatusCode::OK);
    }
    let limited = h.get(path).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&limited, "x-ratelimit-next-available"),
        (start + 60).to_string()
    );
    assert_eq!(header(&limited, "date"), "Sun, 01 Nov 2026 12:00:10 GMT");

    // Auth does not count, and another credential has its own budget.
    let tokens = h.login().await;
    let own = h.get_with(str_of(&tokens, "access_token"), path).await;
    assert_eq!(own.status, StatusCode::OK);

    // The three oldest requests leave the window at +60 s; the two later ones stay.
    h.sim.advance_clock(Duration::from_secs(50));
    for _ in 0..3 {
        assert_eq!(h.get(path).await.status, StatusCode::OK);
    }
    let again = h.get(path).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&again, "x-ratelimit-next-available"),
        (start + 70).to_string()
    );
}

/// A pool of credentials: each NPSSO is an account with its own bucket, shared by all of its
/// sign-ins; the request log names the credential; one can be rejected alone.
#[tokio::test]
async fn each_credential_of_a_pool_has_its_own_bucket_and_can_be_rejected_alone() {
    const SECOND: &str = "sim-npsso-second-credential";
    let config = SimConfig {
        rate_limit: 2,
        rate_window: Duration::from_secs(60),
        more_npssos: vec![SECOND.to_string()],
        ..SimConfig::default()
    };
    let h = Harness::start(config).await;
    let path = "/api/trophy/v1/users/me/trophySummary";
    let first = h.login().await;
    let first_again = h.login().await;
    let second = h.login_as(SECOND).await;
    let first = str_of(&first, "access_token");
    let first_again = str_of(&first_again, "access_token");
    let second = str_of(&second, "access_token");

    assert_eq!(h.get_with(first, path).await.status, StatusCode::OK);
    assert_eq!(h.get_with(first_again, path).await.status, StatusCode::OK);
    // A new sign-in with the same NPSSO is the same account: its bucket is full.
    let limited = h.get_with(first_again, path).await.status;
    assert_eq!(limited, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(h.get_with(second, path).await.status, StatusCode::OK);
    let by_credential: Vec<(Option<usize>, u16)> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| (r.credential, r.status))
        .collect();
    assert_eq!(
        by_credential,
        [
            (Some(0), 200),
            (Some(0), 200),
            (Some(0), 429),
            (Some(1), 200)
        ]
    );

    h.sim.inject(Fault::RejectCredential { index: 1 });
    let revoked = h.get_with(second, path).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED);
    let refused = h.authorize(SECOND).await;
    assert!(header(&refused, "location").contains("error=login_required"));
    let still = h.authorize(SIM_NPSSO).await;
    assert!(header(&still, "location").contains("code=v3."));
    h.sim.advance_clock(Duration::from_secs(60));
    assert_eq!(h.get_with(first, path).await.status, StatusCode::OK);
}

#[tokio::test]
async fn npsso_code_tokens_refresh_expiry_and_revocation() {
    let h = Harness::default().await;
    let path = "/api/trophy/v1/users/me/trophySummary";

    let authorize = h.authorize(SIM_NPSSO).await;
    assert_eq!(authorize.status, StatusCode::FOUND);
    let location = header(&authorize, "location");
    assert!(
        location.starts_with("com.scee.psxandroid.scecompcall://redirect/?code=v3."),
        "{location}"
    );
    let code = Harness::code_of(&authorize);
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
    ];
    let tokens = h.token(&exchange).await;
    assert_eq!(tokens.status, StatusCode::OK);
    assert_eq!(tokens.body["token_type"], "bearer");
    assert_eq!(tokens.body["expires_in"], 3599);
    assert_eq!(tokens.body["refresh_token_expires_in"], 5_183_999);
    let reused = h.token(&exchange).await;
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.body["error"], "invalid_grant");

    let wrong_client = h
        .send(
            h.http
                .post(h.url("/api/authz/v3/oauth/token"))
                .basic_auth("someone", Some("else"))
                .form(&exchange),
        )
        .await;
    assert_eq!(wrong_client.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_client.body["error"], "invalid_client");

    let access = str_of(&tokens.body, "access_token").to_string();
    let refresh = str_of(&tokens.body, "refresh_token").to_string();
    assert_eq!(h.get_with(&access, path).await.status, StatusCode::OK);

    h.sim.advance_clock(Duration::from_secs(3600));
    let expired = h.get_with(&access, path).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.body["error"]["code"], 2_241_025);

    let refreshed = h
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(refreshed.status, StatusCode::OK);
    let renewed = str_of(&refreshed.body, "access_token").to_string();
    assert_ne!(renewed, access);
    assert_eq!(h.get_with(&renewed, path).await.status, StatusCode::OK);
    assert!(!refreshed.text.contains(SIM_NPSSO));

    h.sim.inject(Fault::RevokeTokens);
    assert_eq!(
        h.get_with(&renewed, path).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.get(path).await.status,
        StatusCode::UNAUTHORIZED,
        "legacy bearer revoked too"
    );
    let rejected = h
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .await;
    assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    assert_eq!(rejected.body["error"], "invalid_grant");
    assert_eq!(rejected.body["error_code"], 4152);

    let bad = h.authorize("not-the-npsso").await;
    assert!(header(&bad, "location").contains("error=login_required&error_code=4165"));
    h.sim.inject(Fault::RejectNpsso);
    let rejected = h.authorize(SIM_NPSSO).await;
    assert_eq!(rejected.status, StatusCode::FOUND);
    let location = header(&rejected, "location");
    assert!(
        location.starts_with("https://my.account.sony.com/sonyacct/signin/?"),
        "{location}"
    );
    assert!(
        location.contains("error=login_required&error_code=4165"),
        "{location}"
    );
}

#[tokio::test]
async fn refresh_tokens_expire_on_the_virtual_clock() {
    let h = Harness::start(SimConfig {
        refresh_token_lifetime: Duration::from_secs(7200),
        ..SimConfig::default()
    })
    .await;
    let tokens = h.login().await;
    h.sim.advance_clock(Duration::from_secs(7200));
    let refresh = str_of(&tokens, "refresh_token");
    let reply = h
        .token(&[("grant_type", "refresh_token"), ("refresh_token", refresh)])
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["error_code"], 4152);
}

#[tokio::test]
async fn earning_shows_in_titles_trophies_summary_and_presence() {
    let h = Harness::default().await;
    let casual = h.account("sim_casual");
    let before = h.titles(&casual).await;
    let summary_before = h
        .get(&format!("/api/trophy/v1/users/{casual}/trophySummary"))
        .await
        .body;
    // The least recently updated title, so moving to the front is visible.
    let title = before.last().expect("casual has titles").clone();
    let id = str_of(&title, "npCommunicationId");
    let unearned = trophies(&h, &casual, &title)
        .await
        .into_iter()
        .find(|t| t["earned"] == false && str_of(t, "trophyType") == "bronze")
        .expect("an unearned bronze");
    let trophy_id = unearned["trophyId"].as_u64().expect("id");

    h.sim.advance_clock(Duration::from_secs(90));
    let earned = h
        .post_control(
            "/_sim/earn",
            json!({ "onlineId": "sim_casual", "npCommunicationId": id, "trophyId": trophy_id }),
        )
        .await;
    assert_eq!(earned.status, StatusCode::OK, "{}", earned.text);
    assert_eq!(earned.body["earned"], json!([trophy_id]));
    let again = h
        .post_control(
            "/_sim/earn",
            json!({ "onlineId": "sim_casual", "npCommunicationId": id, "trophyId": trophy_id }),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);

    let after = h.titles(&casual).await;
    assert_eq!(str_of(&after[0], "npCommunicationId"), id);
    assert_eq!(
        str_of(&after[0], "lastUpdatedDateTime"),
        "2026-11-01T12:01:30Z"
    );
    let bronze = |v: &Value| v["earnedTrophies"]["bronze"].as_u64().unwrap_or(0);
    assert_eq!(bronze(&after[0]), bronze(&title) + 1);
    let trophy = trophies(&h, &casual, &after[0])
        .await
        .into_iter()
        .find(|t| t["trophyId"] == trophy_id)
        .expect("the trophy");
    assert_eq!(trophy["earned"], true);
    assert_eq!(trophy["earnedDateTime"], "2026-11-01T12:01:30Z");
    let summary = h
        .get(&format!("/api/trophy/v1/users/{casual}/trophySummary"))
        .await
        .body;
    assert_eq!(bronze(&summary), bronze(&summary_before) + 1);
    assert_eq!(
        summary["trophyPoint"].as_u64(),
        summary_before["trophyPoint"].as_u64().map(|p| p + 15)
    );

    // Earning puts the player online in that game for a session.
    let online = presence_of(&h, &casual).await;
    assert_eq!(online["primaryPlatformInfo"]["onlineStatus"], "online");
    assert!(online["gameTitleInfoList"][0]["npTitleId"]
        .as_str()
        .is_some_and(|t| t.ends_with("_00")));
    h.sim.advance_clock(Duration::from_secs(31 * 60));
    let offline = presence_of(&h, &casual).await;
    assert_eq!(offline["primaryPlatformInfo"]["onlineStatus"], "offline");
    assert_eq!(offline["lastAvailableDate"], "2026-11-01T12:31:30.000Z");

    assert_eq!(
        h.sim.earn_trophy("nobody_here", id, 1),
        Err(SimError::UnknownUser("nobody_here".into()))
    );
}

#[tokio::test]
async fn the_last_base_game_trophy_brings_the_platinum() {
    let h = Harness::default().await;
    let hunter = h.account("sim_hunter");
    let titles = h.titles(&hunter).await;
    let title = titles
        .iter()
        .find(|t| t["definedTrophies"]["platinum"] == 1 && t["earnedTrophies"]["platinum"] == 0)
        .expect("an unfinished platinum title");
    let id = str_of(title, "npCommunicationId");
    let service = str_of(title, "npServiceName");
    let missing: Vec<u64> = h
        .get(&format!(
            "/api/trophy/v1/users/{hunter}/npCommunicationIds/{id}/trophyGroups/default/trophies?npServiceName={service}"
        ))
        .await
        .body["trophies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["earned"] == false && t["trophyType"] != "platinum")
        .filter_map(|t| t["trophyId"].as_u64())
        .collect();
    assert!(!missing.is_empty());
    for trophy in &missing {
        h.sim
            .earn_trophy("sim_hunter", id, *trophy as u32)
            .expect("earn");
    }
    let after = h.titles(&hunter).await;
    assert_eq!(str_of(&after[0], "npCommunicationId"), id);
    assert_eq!(after[0]["earnedTrophies"]["platinum"], 1);
    let platinum = trophies(&h, &hunter, &after[0])
        .await
        .into_iter()
        .find(|t| t["trophyType"] == "platinum")
        .expect("platinum");
    assert_eq!(platinum["earned"], true);
}

#[tokio::test]
async fn server_errors_and_injected_rate_limits_pass() {
    let h = Harness::default().await;
    let path = "/api/trophy/v1/users/me/trophySummary";
    let fault = h
        .post_control("/_sim/fault", json!({ "kind": "server_error", "count": 2 }))
        .await;
    assert_eq!(fault.status, StatusCode::OK);
    assert_eq!(h.get(path).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h.get(path).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h.get(path).await.status, StatusCode::OK);

    h.post_control(
        "/_sim/fault",
        json!({ "kind": "rate_limited", "seconds": 30 }),
    )
    .await;
    let limited = h.get(path).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let expected = h.sim.now().timestamp() + 30;
    assert_eq!(
        header(&limited, "x-ratelimit-next-available"),
        expected.to_string()
    );
    let advanced = h
        .post_control("/_sim/clock/advance", json!({ "seconds": 30 }))
        .await;
    assert_eq!(advanced.body["now"], "2026-11-01T12:00:30Z");
    assert_eq!(h.get(path).await.status, StatusCode::OK);

    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200, 429, 200]);
    let listed = h.send(h.http.get(h.url("/_sim/requests"))).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(5));
    assert!(!listed.text.contains(SIM_LEGACY_TOKEN));
}

#[tokio::test]
async fn a_titles_trophies_can_answer_not_found_while_it_stays_listed() {
    let h = Harness::default().await;
    let hunter = h.account("sim_hunter");
    let titles = h.titles(&hunter).await;
    let (faulty, other) = (&titles[0], &titles[1]);
    let id = str_of(faulty, "npCommunicationId");
    let service = str_of(faulty, "npServiceName");
    let user_trophies =
        format!("/api/trophy/v1/users/{hunter}/npCommunicationIds/{id}/trophyGroups/all/trophies?npServiceName={service}");
    let user_groups =
        format!("/api/trophy/v1/users/{hunter}/npCommunicationIds/{id}/trophyGroups?npServiceName={service}");
    let definitions = format!(
        "/api/trophy/v1/npCommunicationIds/{id}/trophyGroups/all/trophies?npServiceName={service}"
    );
    let legacy = format!("/trophy/v1/trophyTitles/{id}/trophyGroups?comparedUser=sim_hunter");
    assert_eq!(h.get(&user_trophies).await.status, StatusCode::OK);
    assert_eq!(h.get(&legacy).await.status, StatusCode::OK);

    let fault = h
        .post_control(
            "/_sim/fault",
            json!({ "kind": "title_trophies_not_found", "npCommunicationId": id }),
        )
        .await;
    assert_eq!(fault.status, StatusCode::OK);
    for path in [&user_trophies, &user_groups, &legacy] {
        let missing = h.get(path).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.body["error"]["code"], 2_240_525);
        assert_eq!(missing.body["error"]["message"], "Resource not found");
        assert!(missing.body["error"]["referenceId"].is_string());
    }
    // Only that title's user-level trophies: it stays listed, its definitions and the other
    // titles answer.
    let listed = h.titles(&hunter).await;
    assert!(listed.iter().any(|t| str_of(t, "npCommunicationId") == id));
    assert_eq!(h.get(&definitions).await.status, StatusCode::OK);
    assert!(!trophies(&h, &hunter, other).await.is_empty());

    h.sim.clear_faults();
    assert_eq!(h.get(&user_trophies).await.status, StatusCode::OK);
    h.sim.inject(Fault::TitleTrophiesNotFound {
        np_communication_id: id.to_string(),
    });
    assert_eq!(h.get(&user_groups).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_timeout_fault_never_answers() {
    let h = Harness::default().await;
    h.sim.inject(Fault::Timeout { count: 1 });
    let path = h.url("/api/trophy/v1/users/me/trophySummary");
    let hung = h
        .http
        .get(&path)
        .bearer_auth(SIM_LEGACY_TOKEN)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(hung.as_ref().is_err_and(|e| e.is_timeout()), "{hung:?}");
    let next = h.get("/api/trophy/v1/users/me/trophySummary").await;
    assert_eq!(next.status, StatusCode::OK);
    assert_eq!(h.sim.requests()[0].status, 0, "recorded as never answered");
}

#[tokio::test]
async fn private_unknown_and_renamed_users() {
    let h = Harness::default().await;
    let private = h.account("sim_private");
    for path in [
        format!("/api/trophy/v1/users/{private}/trophyTitles?limit=50&offset=0"),
        format!("/api/trophy/v1/users/{private}/trophySummary"),
    ] {
        let reply = h.get(&path).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        assert_eq!(reply.body["error"]["code"], 2_240_526);
        assert_eq!(
            reply.body["error"]["message"],
            "Not permitted by access control"
        );
    }
    let legacy = h
        .get("/trophy/v1/trophyTitles?npLanguage=en-GB&comparedUser=sim_private")
        .await;
    assert_eq!(legacy.status, StatusCode::FORBIDDEN);

    let unknown = h.get("/userProfile/v1/users/dfhlidsahfdszh/profile2?fields=accountId%2ConlineId%2CcurrentOnlineId").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.body,
        json!({ "error": { "code": 2_105_356, "message": "User not found (user: 'dfhlidsahfdszh')" } })
    );
    // The legacy API has no lookup: an unknown `comparedUser` is told by every endpoint, with
    // profile2's code, so a title's 404 says whether the user or the title is unknown.
    for path in [
        "/trophy/v1/trophyTitles?npLanguage=en-GB&comparedUser=nobody_here",
        "/trophy/v1/trophyTitles/NPWR99999_00/trophyGroups?comparedUser=NOBODY_HERE",
    ] {
        let legacy_unknown = h.get(path).await;
        assert_eq!(legacy_unknown.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(legacy_unknown.body["error"]["code"], 2_105_356, "{path}");
    }
    let unknown_title = h
        .get("/trophy/v1/trophyTitles/NPWR99999_00/trophyGroups?comparedUser=sim_hunter")
        .await;
    assert_eq!(unknown_title.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown_title.body["error"]["code"], 2_240_525);

    let old = h
        .get("/userProfile/v1/users/sim_renamed/profile2")
        .await
        .body;
    let new = h
        .get("/userProfile/v1/users/SIM_NEWNAME/profile2")
        .await
        .body;
    assert_eq!(old, new);
    assert_eq!(old["profile"]["onlineId"], "sim_newname");
    assert_eq!(old["profile"]["currentOnlineId"], "sim_newname");
    assert_eq!(
        old["profile"]["accountId"],
        h.account("sim_newname").as_str()
    );
    let plain = h
        .get("/userProfile/v1/users/Sim_Hunter/profile2")
        .await
        .body;
    assert_eq!(
        plain,
        json!({ "profile": { "onlineId": "sim_hunter", "accountId": h.account("sim_hunter") } })
    );

    // A title under the other service does not exist; a title the user never played is 404.
    let hunter = h.account("sim_hunter");
    let titles = h.titles(&hunter).await;
    let ps5 = titles
        .iter()
        .find(|t| str_of(t, "npServiceName") == "trophy2")
        .expect("a PS5 title");
    let id = str_of(ps5, "npCommunicationId");
    let wrong = h
        .get(&format!(
            "/api/trophy/v1/npCommunicationIds/{id}/trophyGroups?npServiceName=trophy"
        ))
        .await;
    assert_eq!(wrong.body["error"]["code"], 2_240_525);
    let default_service = h
        .get(&format!(
            "/api/trophy/v1/npCommunicationIds/{id}/trophyGroups"
        ))
        .await;
    assert_eq!(default_service.status, StatusCode::OK);
    let empty = h.account("sim_empty");
    let never = h
        .get(&format!(
            "/api/trophy/v1/users/{empty}/npCommunicationIds/{id}/trophyGroups"
        ))
        .await;
    assert_eq!(never.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn presence_batches_hide_hidden_users_and_cap_the_batch() {
    let h = Harness::start(SimConfig {
        presence_batch_limit: 3,
        ..SimConfig::default()
    })
    .await;
    let ids = ["sim_hunter", "sim_casual", "sim_private"].map(|u| h.account(u));
    let batch = h
        .get(&format!(
            "/api/userProfile/v2/internal/users//basicPresences?accountIds={}&platforms=PS4%2CPS5%2CMOBILE_APP%2CPSPC&type=primary&withOwnGameTitleInfo=true",
            ids.join("%2C")
        ))
        .await;
    assert_eq!(batch.status, StatusCode::OK);
    let presences = batch.body["basicPresences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let listed: Vec<&str> = presences.iter().map(|p| str_of(p, "accountId")).collect();
    assert_eq!(
        listed,
        [ids[0].as_str(), ids[1].as_str()],
        "the hidden user is left out"
    );
    assert_eq!(presences[0]["availability"], "availableToPlay");
    assert!(presences[0]["gameTitleInfoList"][0]["npTitleId"]
        .as_str()
        .is_some_and(|t| t.starts_with("PPSA")));
    assert_eq!(
        presences[1]["primaryPlatformInfo"]["onlineStatus"],
        "offline"
    );

    let too_many = h
        .get(&format!(
            "/api/userProfile/v2/internal/users/basicPresences?accountIds={},{},{},1",
            ids[0], ids[1], ids[2]
        ))
        .await;
    assert_eq!(too_many.status, StatusCode::BAD_REQUEST);
    assert!(too_many.body["error"]["code"].is_number());

    let single = h
        .get(&format!(
            "/api/userProfile/v2/internal/users/{}/basicPresences?type=primary",
            ids[0]
        ))
        .await;
    assert_eq!(single.body["basicPresence"]["accountId"], ids[0].as_str());

    let hidden = h
        .get(&format!(
            "/api/userProfile/v2/internal/users/{}/basicPresences?type=primary",
            ids[2]
        ))
        .await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN);
    assert_eq!(hidden.body["error"]["code"], 2_281_486);

    let set = h
        .post_control(
            "/_sim/presence",
            json!({ "onlineId": "sim_casual", "online": false, "visible": false }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    let after = h
        .get(&format!(
            "/api/userProfile/v2/internal/users//basicPresences?accountIds={}",
            ids[1]
        ))
        .await;
    assert_eq!(after.body, json!({ "basicPresences": [] }));
}

#[tokio::test]
async fn profiles_answer_the_about_me_that_was_last_set() {
    let h = Harness::default().await;
    let profile_of =
        |account: &str| format!("/api/userProfile/v1/internal/users/{account}/profiles");
    let hunter = h.account("sim_hunter");
    let before = h.get(&profile_of(&hunter)).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert_eq!(before.body["onlineId"], "sim_hunter");
    assert_eq!(before.body["aboutMe"], "Platinum or nothing.");
    assert_eq!(before.body["isMe"], false);

    // The Rust control and the HTTP control change the same text; a renamed user is found by
    // their former online ID too, and their profile shows the current one.
    h.sim
        .set_about_me("sim_hunter", "TB-7KQ2XM verifying")
        .expect("a known user");
    let after = h.get(&profile_of(&hunter)).await;
    assert_eq!(after.body["aboutMe"], "TB-7KQ2XM verifying");
    let set = h
        .post_control(
            "/_sim/about-me",
            json!({ "onlineId": "sim_renamed", "aboutMe": "new name, same me" }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let renamed = h.get(&profile_of(&h.account("sim_newname"))).await;
    assert_eq!(renamed.body["onlineId"], "sim_newname");
    assert_eq!(renamed.body["aboutMe"], "new name, same me");

    // A private trophy list does not hide the profile.
    let private = h.get(&profile_of(&h.account("sim_private"))).await;
    assert_eq!(private.status, StatusCode::OK);
    assert_eq!(private.body["aboutMe"], "");

    let unknown = h.get(&profile_of("1234")).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], 2_105_356);
    assert_eq!(
        h.sim.set_about_me("nobody_here", "x"),
        Err(SimError::UnknownUser("nobody_here".into()))
    );
    let unknown_control = h
        .post_control(
            "/_sim/about-me",
            json!({ "onlineId": "nobody_here", "aboutMe": "x" }),
        )
        .await;
    assert_eq!(unknown_control.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_legacy_api_masks_hidden_trophies_and_compares_users() {
    let h = Harness::default().await;
    let titles = h
        .get("/trophy/v1/trophyTitles?npLanguage=en-GB&limit=128")
        .await;
    assert_eq!(titles.status, StatusCode::OK);
    let owner_total = titles.body["totalResults"].as_u64().expect("total");
    assert!(titles.body["trophyTitles"]
        .as_array()
        .into_iter()
        .flatten()
        .all(
            |t| t["fromUser"]["onlineId"] == "sim_owner" && t.get("trophyTitlePlatfrom").is_some()
        ));
    assert_eq!(
        h.get("/trophy/v1/trophyTitles?limit=129").await.status,
        StatusCode::BAD_REQUEST
    );

    let compared = h
        .get("/trophy/v1/trophyTitles?npLanguage=en-GB&comparedUser=sim_hunter&limit=128")
        .await;
    assert!(compared.body["totalResults"].as_u64() > Some(owner_total));
    assert!(compared.body["trophyTitles"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["comparedUser"]["onlineId"] == "sim_hunter" && t.get("fromUser").is_some()));

    // A hidden trophy the owner has not earned keeps its details back unless visibleType=1.
    let mut checked = false;
    for title in titles.body["trophyTitles"].as_array().into_iter().flatten() {
        let id = str_of(title, "npCommunicationId");
        let base =
            format!("/trophy/v1/trophyTitles/{id}/trophyGroups/default/trophies?npLanguage=en-GB");
        let masked = h.get(&base).await.body;
        let Some(secret) = masked["trophies"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["trophyHidden"] == true && t["fromUser"]["earned"] == false)
        else {
            continue;
        };
        assert!(secret.get("trophyName").is_none() && secret.get("trophyType").is_none());
        assert!(secret.get("trophyEarnedRate").is_none());
        let shown = h
            .get(&format!(
                "{base}&visibleType=1&fields=%40default%2CtrophyEarnedRate"
            ))
            .await
            .body;
        let revealed = shown["trophies"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["trophyId"] == secret["trophyId"])
            .expect("same trophy");
        assert!(revealed["trophyName"].is_string() && revealed["trophyEarnedRate"].is_string());
        checked = true;
        break;
    }
    assert!(checked, "the owner has an unearned hidden trophy");
}

#[tokio::test]
async fn every_answer_is_dated_by_the_virtual_clock_and_needs_a_token() {
    let h = Harness::default().await;
    let unauthenticated = h
        .send(h.http.get(h.url("/api/trophy/v1/users/me/trophySummary")))
        .await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&unauthenticated, "date"),
        "Sun, 01 Nov 2026 12:00:00 GMT"
    );
    h.sim.advance_clock(Duration::from_secs(86_400));
    let clock = h.send(h.http.get(h.url("/_sim/clock"))).await;
    assert_eq!(clock.body["now"], "2026-11-02T12:00:00Z");
    assert_eq!(header(&clock, "date"), "Mon, 02 Nov 2026 12:00:00 GMT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_releases_hung_requests() {
    let h = Harness::default().await;
    h.sim.inject(Fault::Timeout { count: 1 });
    let request = h
        .http
        .get(h.url("/api/trophy/v1/users/me/trophySummary"))
        .bearer_auth(SIM_LEGACY_TOKEN)
        .send();
    let hung = tokio::spawn(request);
    // The hang is recorded (status 0) as it starts: wait for that signal, not for time.
    while h.sim.request_count() == 0 {
        tokio::task::yield_now().await;
    }
    let Harness { server, .. } = h;
    server.shutdown().await;
    let released = hung.await.expect("request task");
    assert_eq!(
        released.map(|r| r.status()).ok(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
}

#[tokio::test]
async fn names_come_in_the_language_asked_for_on_both_apis() {
    let h = Harness::default().await;
    let token = h.login().await["access_token"]
        .as_str()
        .expect("an access token")
        .to_string();
    let casual = h.account("sim_casual");
    let path = format!("/api/trophy/v1/users/{casual}/trophyTitles");
    let in_language = |language: &'static str| {
        h.send(
            h.http
                .get(h.url(&path))
                .bearer_auth(&token)
                .header("Accept-Language", language),
        )
    };
    let names = |reply: &common::Reply| -> Vec<String> {
        reply.body["trophyTitles"]
            .as_array()
            .expect("titles")
            .iter()
            .map(|t| str_of(t, "trophyTitleName").to_string())
            .collect()
    };
    let english = names(&in_language("en-GB").await);
    let french = names(&in_language("fr-FR,fr;q=0.9").await);
    assert_eq!(
        english,
        names(&in_language("de-DE").await),
        "unknown: English"
    );
    assert_eq!(english.len(), french.len());
    assert!(english.contains(&"ASTRO BOT".to_string()));
    assert!(french.contains(&"ASTRO BOT".to_string()), "brands stay");
    let translated = english.iter().zip(&french).filter(|(e, f)| e != f).count();
    assert_eq!(translated, english.len() - 1, "{english:?} → {french:?}");

    // The legacy API reads `npLanguage`.
    let listing = h
        .get("/trophy/v1/trophyTitles?npLanguage=fr-FR&limit=128")
        .await;
    let id = str_of(&listing.body["trophyTitles"][0], "npCommunicationId").to_string();
    let harness = &h;
    let trophies_in = |language: &str| {
        let path = format!(
            "/trophy/v1/trophyTitles/{id}/trophyGroups/default/trophies?npLanguage={language}&visibleType=1"
        );
        async move { harness.get_with(SIM_LEGACY_TOKEN, &path).await }
    };
    let names = |reply: common::Reply| -> Vec<String> {
        reply.body["trophies"]
            .as_array()
            .expect("trophies")
            .iter()
            .map(|t| str_of(t, "trophyName").to_string())
            .collect()
    };
    let english = names(trophies_in("en-GB").await);
    let french = names(trophies_in("fr-FR").await);
    assert_eq!(english.len(), french.len());
    assert!(
        english.iter().zip(&french).all(|(e, f)| e != f),
        "{english:?} → {french:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_tokio_clock_follows_tokios_paused_time_and_a_manual_one_does_not() {
    let tokio_clock = Sim::new(SimConfig {
        clock: SimClock::Tokio,
        ..SimConfig::default()
    });
    let manual = Sim::new(SimConfig::default());
    let start = tokio_clock.now();
    assert_eq!(start, manual.now());
    tokio::time::advance(Duration::from_secs(90)).await;
    assert_eq!(tokio_clock.now() - start, chrono::Duration::seconds(90));
    assert_eq!(manual.now(), start);
    // Advancing by hand adds to either.
    tokio_clock.advance_clock(Duration::from_secs(10));
    assert_eq!(tokio_clock.now() - start, chrono::Duration::seconds(100));
}

#[test]
fn crowd_players_answer_with_titles_of_their_own() {
    let sim = Sim::new(SimConfig {
        crowd: 2,
        ..SimConfig::default()
    });
    let first = sim.titles_of(&psn_sim::crowd_online_id(0)).unwrap();
    let second = sim.titles_of(&psn_sim::crowd_online_id(1)).unwrap();
    assert_eq!((first.len(), second.len()), (60, 60));
    assert!(first.iter().all(|title| !second.contains(title)));
    assert!(sim.account_id("sim_crowd_001").is_some());
    assert!(sim.account_id("sim_crowd_002").is_none());
    assert_eq!(
        sim.titles_of("sim_nobody"),
        Err(SimError::UnknownUser("sim_nobody".into()))
    );
}
