//! The client against the PSN simulator: both APIs end to end, auth, faults and the budget.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use psn::{ApiKind, Client, Config, Credential, Error, NpService, Platform, Secret};
use psn_sim::{Fault, Sim, SimConfig, SimServer, SIM_LEGACY_TOKEN, SIM_NPSSO};

async fn start_sim() -> (Sim, SimServer) {
    let sim = Sim::new(SimConfig::default());
    let server = sim
        .serve("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("the simulator starts");
    (sim, server)
}

fn config(server: &SimServer, api: ApiKind) -> Config {
    let credential = match api {
        ApiKind::Modern => Credential::Npsso(Secret::new(SIM_NPSSO)),
        ApiKind::Legacy => Credential::Bearer(Secret::new(SIM_LEGACY_TOKEN)),
    };
    let mut config = Config::new(api, credential).with_base_url(&server.base_url);
    // Generous: tests that pause tokio's clock must not see requests time out early.
    config.request_timeout = Duration::from_secs(3600);
    config
}

fn client(server: &SimServer, api: ApiKind) -> Client {
    Client::new(config(server, api)).expect("a client")
}

fn api_requests(sim: &Sim) -> Vec<psn_sim::RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| !r.path.starts_with("/api/authz") && !r.path.starts_with("/_sim"))
        .collect()
}

#[tokio::test]
async fn modern_api_end_to_end_with_the_fewest_requests() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    let summary = client.trophy_summary(&hunter).await.unwrap();
    assert!(summary.level.is_some() && summary.earned.platinum > 0);

    sim.reset_requests();
    let titles = client.all_titles(&hunter).await.unwrap();
    assert_eq!(titles.len(), 400);
    assert_eq!(
        api_requests(&sim).len(),
        1,
        "400 titles fit one 800-title page"
    );
    let page = client.titles(&hunter, 0, 50).await.unwrap();
    assert_eq!(
        (page.titles.len(), page.next_offset, page.total),
        (50, Some(50), 400)
    );
    assert_eq!(page.titles, titles[..50]);
    assert!(titles.iter().any(|t| t.service == Some(NpService::Trophy)));
    assert!(titles
        .iter()
        .any(|t| t.platforms.contains(&Platform::Ps5) && t.platforms.contains(&Platform::Pc)));

    // Definitions (2 requests cold) + the user's state (1 request).
    let with_groups = titles
        .iter()
        .find(|t| t.has_groups && t.earned.total() > 0)
        .expect("a title with DLC groups");
    sim.reset_requests();
    let trophies = client
        .user_trophies(&hunter, &with_groups.np_communication_id)
        .await
        .unwrap();
    assert_eq!(api_requests(&sim).len(), 3);
    assert_eq!(trophies.trophies.len() as u32, with_groups.defined.total());
    assert_eq!(trophies.earned_counts(), with_groups.earned);
    assert!(trophies.title.groups.len() > 1);
    assert!(trophies
        .trophies
        .iter()
        .any(|t| t.definition.group_id != "default"));

    // Another user of a shared title: the definitions are cached, one request.
    let casual = client
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .unwrap();
    let casual_titles = client.all_titles(&casual).await.unwrap();
    let hunter_ids: HashSet<&str> = titles
        .iter()
        .map(|t| t.np_communication_id.as_str())
        .collect();
    let shared = casual_titles
        .iter()
        .find(|t| hunter_ids.contains(t.np_communication_id.as_str()))
        .expect("a shared title");
    client
        .title(&shared.np_communication_id, shared.service)
        .await
        .unwrap();
    sim.reset_requests();
    let earned = client
        .earned_trophies(&casual, &shared.np_communication_id, None)
        .await
        .unwrap();
    assert_eq!(api_requests(&sim).len(), 1);
    assert_eq!(
        earned.iter().filter(|t| t.earned).count() as u32,
        shared.earned.total()
    );
    assert!(earned
        .iter()
        .all(|t| t.rarity.is_some() && t.earned_rate.is_some()));
}

#[tokio::test]
async fn a_title_known_only_by_id_resolves_its_service_without_paging_the_library() {
    let (sim, server) = start_sim().await;
    let lister = client(&server, ApiKind::Modern);
    let hunter = lister
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    let titles = lister.all_titles(&hunter).await.unwrap();
    let ps5 = titles
        .iter()
        .find(|t| t.service == Some(NpService::Trophy2))
        .expect("a trophy2 title");

    // A fresh client has never seen the library.
    let fresh = client(&server, ApiKind::Modern);
    sim.reset_requests();
    let trophies = fresh
        .user_trophies(&hunter, &ps5.np_communication_id)
        .await
        .unwrap();
    assert_eq!(trophies.title.service, Some(NpService::Trophy2));
    let paths: Vec<String> = api_requests(&sim)
        .iter()
        .map(|r| format!("{} {}", r.status, r.query.clone().unwrap_or_default()))
        .collect();
    assert!(
        api_requests(&sim)
            .iter()
            .all(|r| !r.path.ends_with("/trophyTitles")),
        "{paths:?}"
    );
    // trophy → 404, trophy2 → groups, all trophies, the user's state.
    assert_eq!(api_requests(&sim).len(), 4, "{paths:?}");

    let err = fresh.title("NPWR99999_00", None).await.unwrap_err();
    assert!(matches!(err, Error::TitleNotFound(_)), "{err:?}");
}

#[tokio::test]
async fn legacy_api_end_to_end_agrees_with_the_modern_one() {
    let (sim, server) = start_sim().await;
    let legacy = client(&server, ApiKind::Legacy);
    let modern = client(&server, ApiKind::Modern);
    let hunter = legacy
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    // Each API names the user its own way: an account is not shared between them.
    let modern_hunter = modern
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();

    sim.reset_requests();
    let titles = legacy.all_titles(&hunter).await.unwrap();
    assert_eq!(titles.len(), 400);
    let pages = api_requests(&sim);
    assert!(pages.len() >= 4, "128-title pages: {}", pages.len());
    assert!(pages.iter().all(|r| r
        .query
        .as_deref()
        .is_some_and(|q| q.contains("comparedUser=sim_hunter"))));
    assert!(titles.iter().all(|t| t.service.is_none()));

    let summary = legacy.trophy_summary(&hunter).await.unwrap();
    assert_eq!(summary.level, None);
    let modern_summary = modern.trophy_summary(&modern_hunter).await.unwrap();
    assert_eq!(summary.earned, modern_summary.earned);

    let title = titles
        .iter()
        .find(|t| t.has_groups && t.earned.total() > 0)
        .expect("a title with groups");
    let from_legacy = legacy
        .user_trophies(&hunter, &title.np_communication_id)
        .await
        .unwrap();
    let from_modern = modern
        .user_trophies(&modern_hunter, &title.np_communication_id)
        .await
        .unwrap();
    assert_eq!(from_legacy.earned_counts(), title.earned);
    let earned =
        |t: &psn::UserTitleTrophies| -> Vec<(u32, bool, Option<chrono::DateTime<chrono::Utc>>)> {
            t.trophies
                .iter()
                .map(|u| (u.definition.id, u.earned, u.earned_at))
                .collect()
        };
    assert_eq!(earned(&from_legacy), earned(&from_modern));
    let names = |t: &psn::UserTitleTrophies| -> Vec<String> {
        t.trophies
            .iter()
            .map(|u| u.definition.name.clone())
            .collect()
    };
    assert_eq!(names(&from_legacy), names(&from_modern));
    // The derived tiers agree with PSN's own.
    for (l, m) in from_legacy.trophies.iter().zip(&from_modern.trophies) {
        assert_eq!(l.rarity, m.rarity, "trophy {}", l.definition.id);
    }
}

#[tokio::test]
async fn renamed_private_and_unknown_users() {
    let (_sim, server) = start_sim().await;
    for api in [ApiKind::Modern, ApiKind::Legacy] {
        let client = client(&server, api);
        let renamed = client
            .resolve_user(&psn::OnlineId::parse("sim_renamed").unwrap())
            .await
            .unwrap();
        let newname = client
            .resolve_user(&psn::OnlineId::parse("sim_newname").unwrap())
            .await
            .unwrap();
        match api {
            // profile2 tells the current ID of the one account behind both.
            ApiKind::Modern => {
                assert_eq!(renamed.online_id, "sim_newname");
                assert_eq!(newname, renamed);
            }
            // The legacy API names users as asked, and answers for the former ID too.
            ApiKind::Legacy => assert_eq!(renamed.online_id, "sim_renamed"),
        }
        let renamed_titles = client.all_titles(&renamed).await.unwrap();
        assert_eq!(renamed_titles.len(), 8, "{api:?}");
        assert_eq!(renamed_titles, client.all_titles(&newname).await.unwrap());

        let private = client
            .resolve_user(&psn::OnlineId::parse("sim_private").unwrap())
            .await
            .unwrap();
        let err = client.titles(&private, 0, 50).await.unwrap_err();
        assert!(
            matches!(err, Error::Private(ref id) if id == "sim_private"),
            "{api:?}: {err:?}"
        );

        let err = match api {
            ApiKind::Modern => client
                .resolve_user(&psn::OnlineId::parse("nobody_here").unwrap())
                .await
                .unwrap_err(),
            // No lookup on the legacy API: its first request tells.
            ApiKind::Legacy => {
                let nobody = client
                    .resolve_user(&psn::OnlineId::parse("nobody_here").unwrap())
                    .await
                    .unwrap();
                client.titles(&nobody, 0, 50).await.unwrap_err()
            }
        };
        assert!(
            matches!(err, Error::UserNotFound(ref id) if id == "nobody_here"),
            "{api:?}: {err:?}"
        );

        let empty = client
            .resolve_user(&psn::OnlineId::parse("sim_empty").unwrap())
            .await
            .unwrap();
        assert!(client.all_titles(&empty).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_legacy_api_asks_only_its_own_host_naming_users_by_online_id() {
    let (sim, server) = start_sim().await;
    let mut config = config(&server, ApiKind::Legacy);
    // A profile host that knows no one (every lookup 404): the legacy API must not need it.
    config.profile_url = format!("{}/a-profile-host-knowing-no-one", server.base_url);
    let client = Client::new(config).unwrap();

    let hunter = client
        .resolve_user(&psn::OnlineId::parse("SIM_Hunter").unwrap())
        .await
        .unwrap();
    assert_eq!(hunter.online_id, "SIM_Hunter");
    let titles = client.recent_titles(&hunter, 10).await.unwrap();
    let title = titles
        .iter()
        .find(|t| t.earned.total() > 0)
        .expect("a title with trophies earned");
    let trophies = client
        .user_trophies(&hunter, &title.np_communication_id)
        .await
        .unwrap();
    assert_eq!(trophies.earned_counts(), title.earned);
    assert!(sim.requests().iter().all(|r| r
        .query
        .as_deref()
        .is_some_and(|q| q.contains("comparedUser=SIM_Hunter"))));

    // Online IDs are case-insensitive: the other spelling is the same account, served from
    // the page cache.
    let lower = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    assert_eq!(lower.account_id, hunter.account_id);
    let asked = sim.requests().len();
    assert_eq!(client.recent_titles(&lower, 10).await.unwrap(), titles);
    assert_eq!(sim.requests().len(), asked, "the cached page");

    // An unknown user is not found by the legacy host itself, on a listing and on a title.
    let nobody = client
        .resolve_user(&psn::OnlineId::parse("nobody_here").unwrap())
        .await
        .unwrap();
    for err in [
        client.titles(&nobody, 0, 10).await.unwrap_err(),
        client
            .user_trophies(&nobody, &title.np_communication_id)
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::UserNotFound(ref id) if id == "nobody_here"),
            "{err:?}"
        );
        let last = sim.requests().pop().expect("a request");
        assert!(last.path.starts_with("/trophy/v1/"), "{last:?}");
        assert_eq!(last.status, 404);
        assert!(last
            .query
            .is_some_and(|q| q.contains("comparedUser=nobody_here")));
    }

    // The legacy API has no profile: nothing is asked; an invalid ID is still refused first.
    let asked = sim.requests().len();
    let err = client
        .profile(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    let err = psn::OnlineId::parse("no").unwrap_err();
    assert!(matches!(err, Error::InvalidOnlineId(_)), "{err:?}");
    assert_eq!(sim.requests().len(), asked);

    let elsewhere: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| !r.path.starts_with("/trophy/v1/"))
        .map(|r| r.path.clone())
        .collect();
    assert!(elsewhere.is_empty(), "only the legacy host: {elsewhere:?}");
}

#[tokio::test]
async fn the_access_token_is_refreshed_after_it_expires() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    assert!(client.refresh_token().is_some(), "signed in");

    sim.advance_clock(Duration::from_secs(2 * 3600));
    sim.reset_requests();
    client.trophy_summary(&hunter).await.unwrap();
    let statuses: Vec<(String, u16)> = sim
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(statuses.len(), 3, "{statuses:?}");
    assert_eq!(statuses[0].1, 401);
    assert_eq!(statuses[1], ("/api/authz/v3/oauth/token".to_string(), 200));
    assert_eq!(statuses[2].1, 200);
    let (refresh, expires) = client.refresh_token().expect("still signed in");
    assert!(expires > chrono::Utc::now());
    // The secret never shows in the client's Debug output.
    assert!(!format!("{client:?} {refresh:?}").contains(refresh.expose()));
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.advance_clock(Duration::from_secs(2 * 3600));
    sim.reset_requests();
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (client, hunter) = (client.clone(), hunter.clone());
            tokio::spawn(async move { client.trophy_summary(&hunter).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let token_requests = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/api/authz/v3/oauth/token")
        .count();
    assert_eq!(
        token_requests, 1,
        "one task refreshes, the others wait for it"
    );
}

#[tokio::test]
async fn a_stored_refresh_token_signs_in_again() {
    let (_sim, server) = start_sim().await;
    let first = client(&server, ApiKind::Modern);
    first
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    let (refresh, _) = first.refresh_token().unwrap();
    let mut config = config(&server, ApiKind::Modern);
    config.credential = Credential::RefreshToken(refresh);
    let second = Client::new(config).unwrap();
    let hunter = second
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    second.trophy_summary(&hunter).await.unwrap();
}

fn authorize_requests(sim: &Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.ends_with("/oauth/authorize"))
        .count()
}

#[tokio::test]
async fn a_saved_refresh_token_is_used_before_the_npsso() {
    let (sim, server) = start_sim().await;
    let first = client(&server, ApiKind::Modern);
    first
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    let (saved, _) = first.refresh_token().unwrap();
    sim.reset_requests();
    let restarted =
        Client::new(config(&server, ApiKind::Modern).with_saved_refresh_token(saved)).unwrap();
    restarted
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    assert_eq!(authorize_requests(&sim), 0, "signed in without the NPSSO");
}

#[tokio::test]
async fn a_rejected_saved_refresh_token_falls_back_to_the_npsso() {
    let (sim, server) = start_sim().await;
    let config = config(&server, ApiKind::Modern)
        .with_saved_refresh_token(Secret::new("from-an-older-npsso"));
    let client = Client::new(config).unwrap();
    client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    assert_eq!(authorize_requests(&sim), 1);
}

#[tokio::test]
async fn revoked_tokens_sign_in_again_and_a_rejected_npsso_is_a_credential_error() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.inject(Fault::RevokeTokens);
    client.trophy_summary(&hunter).await.unwrap();
    assert_eq!(authorize_requests(&sim), 2, "the NPSSO signed in again");

    sim.inject(Fault::RevokeTokens);
    sim.inject(Fault::RejectNpsso);
    let err = client.trophy_summary(&hunter).await.unwrap_err();
    assert!(
        matches!(err, Error::Credential(ref m) if m.contains("4165")),
        "{err:?}"
    );
    assert!(!err.to_string().contains(SIM_NPSSO));
    let fresh = self::client(&server, ApiKind::Modern);
    let err = fresh
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Credential(_)), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn server_errors_are_retried_then_succeed() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.inject(Fault::ServerError { count: 2 });
    sim.reset_requests();
    client.trophy_summary(&hunter).await.unwrap();
    let statuses: Vec<u16> = api_requests(&sim).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);

    sim.inject(Fault::ServerError { count: 10 });
    let err = client.trophy_summary(&hunter).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn timeouts_give_up_after_bounded_retries() {
    let (sim, server) = start_sim().await;
    let mut config = config(&server, ApiKind::Modern);
    config.request_timeout = Duration::from_secs(2);
    let client = Client::new(config).unwrap();
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.inject(Fault::Timeout { count: 100 });
    let before = client.stats().requests_sent;
    let err = client.trophy_summary(&hunter).await.unwrap_err();
    assert!(
        matches!(err, Error::Unavailable(ref m) if m.contains("timed out")),
        "{err:?}"
    );
    assert_eq!(
        client.stats().requests_sent - before,
        4,
        "one try and three retries"
    );
}

#[tokio::test]
async fn an_interactive_caller_facing_a_long_429_gets_the_retry_time() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.inject(Fault::RateLimited {
        for_: Duration::from_secs(600),
    });
    let before = chrono::Utc::now();
    let err = client.trophy_summary(&hunter).await.unwrap_err();
    let after = chrono::Utc::now();
    let Error::RateLimited { retry_at } = err else {
        panic!("expected RateLimited, got {err:?}");
    };
    // The wait is read against the simulator's Date header, not this machine's clock.
    assert!(
        retry_at >= before + chrono::Duration::seconds(595),
        "{retry_at} vs {before}"
    );
    assert!(
        retry_at <= after + chrono::Duration::seconds(601),
        "{retry_at} vs {after}"
    );
    assert_eq!(client.stats().rate_limited, 1);
    // Every caller is held now, without asking PSN again.
    let sent = client.stats().requests_sent;
    let err = client.titles(&hunter, 0, 10).await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }));
    assert_eq!(client.stats().requests_sent, sent);
}

#[tokio::test(start_paused = true)]
async fn a_background_caller_waits_out_a_429_and_succeeds() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.inject(Fault::RateLimited {
        for_: Duration::from_secs(60),
    });
    sim.reset_requests();
    let background = client.background();
    let call = tokio::spawn(async move { background.trophy_summary(&hunter).await });
    // Wait (in virtual time) until PSN has said 429, then let the simulator's minute pass.
    while !sim.requests().iter().any(|r| r.status == 429) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.advance_clock(Duration::from_secs(60));
    let summary = call.await.unwrap();
    assert!(summary.is_ok(), "{summary:?}");
    let statuses: Vec<u16> = api_requests(&sim).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
}

#[tokio::test]
async fn earned_state_is_reused_until_the_listing_shows_a_newer_update() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let casual = client
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .unwrap();
    let titles = client.titles(&casual, 0, 5).await.unwrap().titles;
    let title = titles
        .iter()
        .find(|t| t.earned.total() > 0 && t.earned.total() < t.defined.total())
        .expect("a title with some trophies left to earn")
        .clone();
    let first = client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();

    sim.reset_requests();
    let again = client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();
    assert_eq!(again, first);
    assert!(api_requests(&sim).is_empty(), "unchanged title: no request");

    let unearned = first
        .iter()
        .find(|t| !t.earned)
        .expect("an unearned trophy")
        .id;
    sim.earn_trophy("sim_casual", &title.np_communication_id, unearned)
        .unwrap();
    // A fresh listing (another page size, so not the cached page) shows the new update time.
    client.titles(&casual, 0, 6).await.unwrap();
    sim.reset_requests();
    let after = client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();
    assert_eq!(api_requests(&sim).len(), 1, "changed title: asked again");
    assert!(after.iter().any(|t| t.id == unearned && t.earned));
}

/// The cache peeks a command estimates its cost from say exactly what the calls would ask
/// PSN for, and never ask PSN themselves.
#[tokio::test]
async fn cache_peeks_tell_what_a_call_would_ask_without_asking() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let online_id = psn::OnlineId::parse("sim_casual").unwrap();
    sim.reset_requests();
    assert_eq!(client.cached_user(&online_id), None);
    let casual = client.resolve_user(&online_id).await.unwrap();
    assert_eq!(client.cached_user(&online_id), Some(casual.clone()));

    assert_eq!(client.cached_recent_titles(&casual, 50), None);
    let recent = client.recent_titles(&casual, 50).await.unwrap();
    assert_eq!(
        client.cached_recent_titles(&casual, 50),
        Some(recent.clone())
    );
    let title = recent
        .iter()
        .find(|t| t.earned.total() > 0 && t.earned.total() < t.defined.total())
        .expect("a title with some trophies left to earn")
        .clone();
    let id = title.np_communication_id.as_str();

    assert!(!client.has_earned_cached(&casual, id));
    assert!(!client.has_title_cached(id));
    let earned = client
        .earned_trophies(&casual, id, title.service)
        .await
        .unwrap();
    client.title(id, title.service).await.unwrap();
    assert_eq!(client.cached_earned(&casual, id), Some(earned.clone()));
    assert!(client.has_title_cached(id));
    assert!(
        !client.in_language("fr-FR").has_title_cached(id),
        "names are per language"
    );
    sim.reset_requests();
    client.cached_recent_titles(&casual, 50);
    client.has_earned_cached(&casual, id);
    assert!(api_requests(&sim).is_empty(), "peeks ask nothing");

    // A newer update in a fresh listing: the earned state is no longer served from the cache.
    let unearned = earned
        .iter()
        .find(|t| !t.earned)
        .expect("an unearned trophy")
        .id;
    sim.earn_trophy("sim_casual", id, unearned).unwrap();
    client.latest_titles(&casual, 0, 50).await.unwrap();
    assert!(!client.has_earned_cached(&casual, id));
    sim.reset_requests();
    client
        .earned_trophies(&casual, id, title.service)
        .await
        .unwrap();
    assert_eq!(api_requests(&sim).len(), 1, "asked again, as the peek said");
    assert!(client.has_earned_cached(&casual, id));
}

#[tokio::test]
async fn latest_titles_always_asks_psn_and_refreshes_the_listing_caches() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let casual = client
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .unwrap();
    let cached = client.titles(&casual, 0, 5).await.unwrap();
    let title = cached
        .titles
        .iter()
        .find(|t| t.earned.total() < t.defined.total())
        .expect("a title with trophies left to earn")
        .clone();
    let before = client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();
    let unearned = before.iter().find(|t| !t.earned).expect("unearned").id;
    sim.advance_clock(Duration::from_secs(60));
    sim.earn_trophy("sim_casual", &title.np_communication_id, unearned)
        .unwrap();

    sim.reset_requests();
    // The cached page still shows the old state; the latest listing asks PSN every time.
    assert_eq!(client.titles(&casual, 0, 5).await.unwrap(), cached);
    assert!(
        api_requests(&sim).is_empty(),
        "the page came from the cache"
    );
    let latest = client.latest_titles(&casual, 0, 5).await.unwrap();
    let again = client.latest_titles(&casual, 0, 5).await.unwrap();
    assert_eq!(
        api_requests(&sim).len(),
        2,
        "each latest listing is a request"
    );
    assert_eq!(latest, again);
    assert_eq!(
        latest.titles[0].np_communication_id, title.np_communication_id,
        "the title just played comes first"
    );
    assert_eq!(latest.titles[0].earned.total(), title.earned.total() + 1);

    // The listing showed a newer update: the earned state is asked again, once.
    sim.reset_requests();
    let after = client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();
    assert_eq!(api_requests(&sim).len(), 1);
    assert!(after.iter().any(|t| t.id == unearned && t.earned));
    // And `titles` now serves the fresh page of that size.
    sim.reset_requests();
    assert_eq!(client.titles(&casual, 0, 5).await.unwrap(), latest);
    assert!(api_requests(&sim).is_empty());
}

#[tokio::test]
async fn a_trophy_earned_in_the_same_second_as_the_cached_state_is_not_missed() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let casual = client
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .unwrap();
    let title = client.latest_titles(&casual, 0, 5).await.unwrap().titles[0].clone();
    let before = client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();
    let open: Vec<u32> = before.iter().filter(|t| !t.earned).map(|t| t.id).collect();
    assert!(open.len() >= 2, "two trophies left to earn");
    sim.advance_clock(Duration::from_secs(60));
    sim.earn_trophy("sim_casual", &title.np_communication_id, open[0])
        .unwrap();
    client.latest_titles(&casual, 0, 5).await.unwrap();
    client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();
    // Same virtual second: the title's update time does not move, its earned counts do.
    sim.earn_trophy("sim_casual", &title.np_communication_id, open[1])
        .unwrap();
    client.latest_titles(&casual, 0, 5).await.unwrap();
    let after = client
        .earned_trophies(&casual, &title.np_communication_id, title.service)
        .await
        .unwrap();
    assert!(after.iter().any(|t| t.id == open[1] && t.earned));
}

#[tokio::test]
async fn names_come_in_the_clients_language_with_definitions_cached_per_language() {
    let (sim, server) = start_sim().await;
    let english = client(&server, ApiKind::Modern);
    let french = english.in_language("fr-FR");
    assert_eq!((english.language(), french.language()), ("en-GB", "fr-FR"));
    let casual = english
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .unwrap();
    let titles = english.recent_titles(&casual, 5).await.unwrap();
    let title = titles
        .iter()
        .find(|t| t.name != "ASTRO BOT")
        .expect("a generated title");
    let in_french = french.recent_titles(&casual, 5).await.unwrap();
    let same_in_french = in_french
        .iter()
        .find(|t| t.np_communication_id == title.np_communication_id)
        .expect("the same title");
    assert_ne!(same_in_french.name, title.name, "listings are per language");

    let id = &title.np_communication_id;
    let en = english.title(id, title.service).await.unwrap();
    let fr = french.title(id, title.service).await.unwrap();
    assert_eq!(fr.name, same_in_french.name);
    assert_ne!(en.name, fr.name);
    assert_eq!(en.trophies.len(), fr.trophies.len());
    assert!(en
        .trophies
        .iter()
        .zip(&fr.trophies)
        .all(|(e, f)| e.id == f.id && e.name != f.name));

    // Each language's definition is cached: asking again sends nothing.
    sim.reset_requests();
    assert_eq!(english.title(id, title.service).await.unwrap(), en);
    assert_eq!(french.title(id, title.service).await.unwrap(), fr);
    assert!(api_requests(&sim).is_empty(), "{:?}", api_requests(&sim));
    let cached: Vec<String> = english
        .cached_titles()
        .into_iter()
        .filter(|(_, t)| &t.np_communication_id == id)
        .map(|(language, _)| language)
        .collect();
    assert_eq!(cached.len(), 2, "{cached:?}");

    // The legacy API asks with npLanguage.
    let legacy = client(&server, ApiKind::Legacy).in_language("fr-FR");
    let account = legacy
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .unwrap();
    let legacy_fr = legacy.user_trophies(&account, id).await.unwrap();
    assert_eq!(legacy_fr.title.name, fr.name);
}

/// Requests to the auth host: authorize and token.
fn auth_requests(sim: &Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/authz"))
        .count()
}

#[tokio::test(start_paused = true)]
async fn a_rejected_npsso_is_not_tried_again_until_the_backoff_has_passed() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.inject(Fault::RevokeTokens);
    sim.inject(Fault::RejectNpsso);
    sim.reset_requests();
    let tracker = client.background();
    let credential_error = |result: psn::Result<psn::TrophySummary>| match result {
        Err(Error::Credential(m)) => assert!(m.contains("4165"), "{m}"),
        other => panic!("expected a credential error, got {other:?}"),
    };
    // Fewer than the tracker may send at once (its slot and half the command lane, 46), so no
    // virtual time passes waiting for the budget.
    for _ in 0..40 {
        credential_error(tracker.trophy_summary(&hunter).await);
    }
    assert_eq!(authorize_requests(&sim), 1, "one sign-in attempt");
    // One attempt: the rejected refresh token, then the rejected NPSSO; and the one API request
    // whose 401 showed the token dead.
    assert_eq!(auth_requests(&sim), 2);
    assert_eq!(api_requests(&sim).len(), 1);

    // The first backoff is a minute; the next attempt, rejected too, doubles it.
    tokio::time::advance(Duration::from_secs(59)).await;
    credential_error(client.trophy_summary(&hunter).await);
    assert_eq!(authorize_requests(&sim), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    credential_error(client.trophy_summary(&hunter).await);
    assert_eq!(authorize_requests(&sim), 2, "one attempt after the backoff");
    tokio::time::advance(Duration::from_secs(61)).await;
    credential_error(client.trophy_summary(&hunter).await);
    assert_eq!(
        authorize_requests(&sim),
        2,
        "the second backoff is two minutes"
    );

    // PSN takes the NPSSO again: the next attempt signs in and requests flow.
    sim.clear_faults();
    tokio::time::advance(Duration::from_secs(60)).await;
    for _ in 0..5 {
        tracker.trophy_summary(&hunter).await.unwrap();
    }
    assert_eq!(authorize_requests(&sim), 3);
}

#[tokio::test(start_paused = true)]
async fn a_429_asking_for_ten_years_holds_callers_at_most_fifteen_minutes() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    sim.inject(Fault::RateLimited {
        for_: Duration::from_secs(10 * 365 * 24 * 3600),
    });
    sim.reset_requests();
    let err = client.trophy_summary(&hunter).await.unwrap_err();
    let Error::RateLimited { retry_at } = err else {
        panic!("expected RateLimited, got {err:?}");
    };
    let latest = chrono::Utc::now() + chrono::Duration::seconds(15 * 60 + 5);
    assert!(retry_at <= latest, "{retry_at}");

    // The tracker waits out the capped pause and asks again (PSN still says 429 here).
    let start = tokio::time::Instant::now();
    let background = client.background();
    let call = tokio::spawn(async move { background.trophy_summary(&hunter).await });
    let count_429 = || sim.requests().iter().filter(|r| r.status == 429).count();
    let asked_again = tokio::time::timeout(Duration::from_secs(16 * 60), async {
        while count_429() < 2 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    assert!(asked_again.is_ok(), "no request within 16 minutes");
    assert!(start.elapsed() <= Duration::from_secs(15 * 60 + 1));
    call.abort();
}

#[tokio::test]
async fn a_token_said_to_live_forever_does_not_panic() {
    let sim = Sim::new(SimConfig {
        access_token_lifetime: Duration::from_secs(u64::MAX),
        refresh_token_lifetime: Duration::MAX,
        ..SimConfig::default()
    });
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = client(&server, ApiKind::Modern);
    client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_observer_hears_what_every_answer_says_of_psn_background_waits_included() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = heard.clone();
    assert!(client.observe(std::sync::Arc::new(move |signal| {
        log.lock().unwrap().push(signal)
    })));
    assert!(
        !client.observe(std::sync::Arc::new(|_| {})),
        "one observer per client"
    );
    let hunter = client
        .resolve_user(&psn::OnlineId::parse("sim_hunter").unwrap())
        .await
        .unwrap();
    assert_eq!(heard.lock().unwrap().last(), Some(&psn::Signal::Answered));

    // A background request waits a 429 out without returning it: the observer hears it anyway.
    sim.inject(Fault::RateLimited {
        for_: Duration::from_millis(200),
    });
    let background = client.background();
    let waiting = tokio::spawn(async move { background.trophy_summary(&hunter).await });
    while !heard.lock().unwrap().contains(&psn::Signal::RateLimited) {
        tokio::task::yield_now().await;
    }
    sim.clear_faults();
    waiting.await.unwrap().expect("answered after the wait");
    assert_eq!(heard.lock().unwrap().last(), Some(&psn::Signal::Answered));

    // Not found is PSN answering; an outage is not.
    let _ = client
        .resolve_user(&psn::OnlineId::parse("nobody_here").unwrap())
        .await;
    assert_eq!(heard.lock().unwrap().last(), Some(&psn::Signal::Answered));
    sim.inject(Fault::ServerError { count: 100 });
    let err = client
        .resolve_user(&psn::OnlineId::parse("sim_casual").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
    assert_eq!(
        heard.lock().unwrap().last(),
        Some(&psn::Signal::Unavailable)
    );
}

#[tokio::test(start_paused = true)]
async fn a_meter_counts_the_requests_its_caller_sent_retries_included_cache_hits_not() {
    let (sim, server) = start_sim().await;
    let client = client(&server, ApiKind::Modern);
    let (mine, theirs) = (psn::Meter::new(), psn::Meter::new());
    let metered = client.metered(mine.clone());
    let other = client.metered(theirs.clone());
    let hunter_id = psn::OnlineId::parse("sim_hunter").unwrap();

    sim.reset_requests();
    let hunter = metered.resolve_user(&hunter_id).await.unwrap();
    metered.trophy_summary(&hunter).await.unwrap();
    assert_eq!(mine.count(), 2, "the lookup and the summary");
    assert_eq!(mine.count(), api_requests(&sim).len() as u64);

    // A cache hit sends nothing; clones of a metered client (other languages too) count in
    // the same meter; other callers' meters and the unmetered client are not charged.
    metered.resolve_user(&hunter_id).await.unwrap();
    assert_eq!(mine.count(), 2);
    metered
        .in_language("de-DE")
        .trophy_summary(&hunter)
        .await
        .unwrap();
    assert_eq!(mine.count(), 3);
    client.trophy_summary(&hunter).await.unwrap();
    other.trophy_summary(&hunter).await.unwrap();
    assert_eq!((mine.count(), theirs.count()), (3, 1));

    // Every attempt PSN saw is counted: two 503s and the answer.
    sim.inject(Fault::ServerError { count: 2 });
    sim.reset_requests();
    metered.trophy_summary(&hunter).await.unwrap();
    assert_eq!(api_requests(&sim).len(), 3);
    assert_eq!(mine.count(), 6);
}
