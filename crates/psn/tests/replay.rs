//! The client against recorded PSN answers, served by the replay server.

mod support;

use psn::{Client, Credential, Error, NpService, Secret};
use support::{bearer, config, replay};

#[tokio::test]
async fn titles_page_through_two_recorded_pages() {
    let server = replay(&["test_user__trophy_titles.json"]).await;
    let client = Client::new(config(&server.base_url, bearer())).unwrap();
    let account = client
        .resolve_user(&psn::OnlineId::parse("ikemenzi").unwrap())
        .await
        .unwrap();
    assert_eq!(account.account_id, "6515971742264256071");

    let titles = client.recent_titles(&account, 100).await.unwrap();
    assert_eq!(titles.len(), 100);
    assert_eq!(titles[0].name, "Monster Hunter Wilds");
    assert_eq!(titles[50].np_communication_id, "NPWR35619_00");
    let offsets: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/trophyTitles"))
        .map(|r| r.query.clone())
        .collect();
    assert_eq!(offsets, ["limit=800&offset=0", "limit=800&offset=50"]);

    // The pages are cached for autocomplete and the next command: no new request.
    let sent = client.stats().requests_sent;
    let again = client.recent_titles(&account, 60).await.unwrap();
    assert_eq!(again.len(), 60);
    assert_eq!(client.stats().requests_sent, sent);
    assert!(client.stats().cache_hits >= 2);

    // Every request carried the bearer.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer recorded-bearer")));
}

#[tokio::test]
async fn user_lookups_are_cached_and_renamed_users_resolve_to_the_current_id() {
    let server = replay(&[
        "support/renamed_user.json",
        "test_user__user_not_found.json",
    ])
    .await;
    let client = Client::new(config(&server.base_url, bearer())).unwrap();
    let account = client
        .resolve_user(&psn::OnlineId::parse("Old_Name").unwrap())
        .await
        .unwrap();
    assert_eq!(account.online_id, "New_Name");
    assert_eq!(account.account_id, "2066273503397112667");
    let again = client
        .resolve_user(&psn::OnlineId::parse("old_name").unwrap())
        .await
        .unwrap();
    assert_eq!(again, account);
    assert_eq!(server.requests().len(), 1, "the second lookup is cached");

    let err = client
        .resolve_user(&psn::OnlineId::parse("dfhlidsahfdszh").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UserNotFound(ref id) if id == "dfhlidsahfdszh"),
        "{err:?}"
    );

    let before = server.requests().len();
    // Invalid IDs never become an `OnlineId`, so no request can carry them.
    for bad in ["ab", "1abc", "has space", "waytoolongonlineid1", "emoji✨"] {
        let err = psn::OnlineId::parse(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidOnlineId(_)), "{bad}: {err:?}");
    }
    assert_eq!(server.requests().len(), before, "invalid IDs send nothing");
}

#[tokio::test]
async fn private_profiles_and_unknown_titles_are_typed_errors() {
    let server = replay(&[
        "test_user__trophy_titles_forbidden.json",
        "test_game_title__trophies_invalid_np_communication_id.json",
    ])
    .await;
    let client = Client::new(config(&server.base_url, bearer())).unwrap();
    let private = psn::Account {
        account_id: "5007681186655854753".into(),
        online_id: "hidden_one".into(),
    };
    let err = client.titles(&private, 0, 50).await.unwrap_err();
    assert!(
        matches!(err, Error::Private(ref id) if id == "hidden_one"),
        "{err:?}"
    );

    let err = client
        .title("SSSA01325_00", Some(NpService::Trophy2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::TitleNotFound(ref id) if id == "SSSA01325_00"),
        "{err:?}"
    );
}

#[tokio::test]
async fn npsso_is_exchanged_for_tokens_without_following_the_redirect() {
    let server = replay(&[
        "test_authenticator__authentication.json",
        "test_user__user.json",
    ])
    .await;
    let npsso = "recorded-npsso-value";
    let client = Client::new(config(
        &server.base_url,
        Credential::Npsso(Secret::new(npsso)),
    ))
    .unwrap();
    let account = client
        .resolve_user(&psn::OnlineId::parse("isFakeAccount").unwrap())
        .await
        .unwrap();
    assert_eq!(account.account_id, "2066273503397112667");

    let requests = server.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/authz/v3/oauth/authorize",
            "/api/authz/v3/oauth/token",
            "/userProfile/v1/users/isFakeAccount/profile2"
        ]
    );
    assert_eq!(
        requests[0].header("cookie"),
        Some("npsso=recorded-npsso-value")
    );
    assert!(requests[0].query.contains("access_type=offline"));
    let token = &requests[1];
    assert_eq!(token.method, "POST");
    assert!(token.body.contains("code=v3.kqNaIA"), "{}", token.body);
    assert!(token.body.contains("grant_type=authorization_code"));
    assert!(token.body.contains("token_format=jwt"));
    assert!(token
        .header("authorization")
        .is_some_and(|a| a.starts_with("Basic ")));
    // The recorded access token is "REDACTED".
    assert_eq!(requests[2].header("authorization"), Some("Bearer REDACTED"));

    let (refresh, expires) = client.refresh_token().expect("a refresh token");
    assert_eq!(refresh.expose(), "REDACTED");
    assert!(expires > chrono::Utc::now() + chrono::Duration::days(59));
    assert_eq!(client.stats().requests_sent, 3);
}

#[tokio::test]
async fn a_rejected_npsso_is_a_credential_error_without_the_secret() {
    let server = replay(&[
        "test_authenticator__incorrect_npsso.json",
        "test_user__user.json",
    ])
    .await;
    let npsso = "secret-npsso-never-shown";
    let client = Client::new(config(
        &server.base_url,
        Credential::Npsso(Secret::new(npsso)),
    ))
    .unwrap();
    let err = client
        .resolve_user(&psn::OnlineId::parse("isFakeAccount").unwrap())
        .await
        .unwrap_err();
    let Error::Credential(message) = &err else {
        panic!("expected a credential error, got {err:?}");
    };
    assert!(
        message.contains("login_required") && message.contains("4165"),
        "{message}"
    );
    assert!(!format!("{err} {err:?}").contains(npsso));
    assert_eq!(
        server.requests().len(),
        1,
        "no token request and no API request"
    );
}

#[tokio::test]
async fn presences_in_one_batch_and_a_hidden_presence_left_out() {
    let server = replay(&[
        "test_client__get_presences.json",
        "test_user__get_presence_forbidden.json",
    ])
    .await;
    let client = Client::new(config(&server.base_url, bearer())).unwrap();
    let ids: Vec<String> = [
        "5361973517281706660",
        "940512162723934331",
        "4273405838384737823",
    ]
    .map(String::from)
    .to_vec();
    let presences = client.presences(&ids).await.unwrap();
    assert_eq!(presences.len(), 3);
    let online: Vec<&str> = presences
        .iter()
        .filter(|p| p.online)
        .map(|p| p.account_id.as_str())
        .collect();
    assert_eq!(online, ["940512162723934331"]);
    let batch = &server.requests()[0];
    assert_eq!(
        batch.path,
        "/api/userProfile/v2/internal/users//basicPresences"
    );

    let hidden = client
        .presences(&["5007681186655854753".to_string()])
        .await
        .unwrap();
    assert!(hidden.is_empty());
    assert_eq!(server.requests()[1].status, 403);
}
