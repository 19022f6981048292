//! The PostgreSQL store against a real server (found by `support::db`), one database per test.

use std::path::{Path, PathBuf};

use psn::{
    GroupDefinition, NpService, Platform, TitleDefinition, TrophyCounts, TrophyDefinition,
    TrophyType,
};
use trophybot::store::{run_migrate, LinkedAccount, Store, StoreError};

use crate::support::db::{self, ServerChoice, TestDb};

/// A PS5 title with a hidden trophy, an add-on group, an unknown platform and missing optional
/// fields: everything the JSON column must carry back unchanged.
fn astro_bot() -> TitleDefinition {
    TitleDefinition {
        np_communication_id: "NPWR37436_00".to_string(),
        service: Some(NpService::Trophy2),
        name: "ASTRO BOT™ — «Rescue»".to_string(),
        detail: None,
        icon_url: Some("https://image.api.playstation.com/trophy/np/icon.png".to_string()),
        platforms: vec![Platform::Ps5, Platform::Other("PS6".to_string())],
        defined: TrophyCounts {
            bronze: 1,
            silver: 0,
            gold: 1,
            platinum: 0,
        },
        groups: vec![
            GroupDefinition {
                id: "default".to_string(),
                name: "ASTRO BOT".to_string(),
                detail: Some("Base game".to_string()),
                icon_url: None,
                defined: TrophyCounts {
                    bronze: 1,
                    silver: 0,
                    gold: 0,
                    platinum: 0,
                },
            },
            GroupDefinition {
                id: "001".to_string(),
                name: "Winter Wonder".to_string(),
                detail: None,
                icon_url: None,
                defined: TrophyCounts {
                    bronze: 0,
                    silver: 0,
                    gold: 1,
                    platinum: 0,
                },
            },
        ],
        trophies: vec![
            TrophyDefinition {
                id: 0,
                group_id: "default".to_string(),
                hidden: false,
                kind: TrophyType::Bronze,
                name: "Hello \"World\"".to_string(),
                detail: "Rescue a bot".to_string(),
                icon_url: None,
            },
            TrophyDefinition {
                id: 1,
                group_id: "001".to_string(),
                hidden: true,
                kind: TrophyType::Gold,
                name: "Spoiler".to_string(),
                detail: "Beat the final boss".to_string(),
                icon_url: Some("https://example.invalid/1.png".to_string()),
            },
        ],
    }
}

fn ps4_title(id: &str, name: &str) -> TitleDefinition {
    TitleDefinition {
        np_communication_id: id.to_string(),
        service: Some(NpService::Trophy),
        name: name.to_string(),
        detail: Some("detail".to_string()),
        icon_url: None,
        platforms: vec![Platform::Ps4],
        defined: TrophyCounts::default(),
        groups: Vec::new(),
        trophies: Vec::new(),
    }
}

#[tokio::test]
async fn connect_creates_a_missing_database() {
    let db = TestDb::unused();
    assert!(!db.exists().await);
    let store = Store::connect(&db.url).await.expect("connect");
    assert!(db.exists().await);
    store.close().await;
    // A second connect finds it and does not try to create it again.
    Store::connect(&db.url)
        .await
        .expect("reconnect")
        .close()
        .await;
}

#[tokio::test]
async fn concurrent_connects_to_a_missing_database_both_succeed() {
    let db = TestDb::unused();
    let (a, b) = tokio::join!(Store::connect(&db.url), Store::connect(&db.url));
    a.expect("first connect").close().await;
    b.expect("second connect").close().await;
    assert!(db.exists().await);
}

#[tokio::test]
async fn an_invalid_url_is_a_configuration_error() {
    let err = Store::connect("not a url with hunter2")
        .await
        .expect_err("invalid URL");
    assert!(matches!(err, StoreError::InvalidUrl));
    assert!(!err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn migrations_apply_and_are_idempotent() {
    let (_db, store) = TestDb::migrated().await;
    store.migrate().await.expect("second migrate");
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'
         ORDER BY table_name",
    )
    .fetch_all(store.pool())
    .await
    .expect("list tables");
    let tables: Vec<&str> = tables.iter().map(|(t,)| t.as_str()).collect();
    assert_eq!(
        tables,
        [
            "account_state",
            "account_title_state",
            "detected_trophies",
            "discord_application",
            "guild_settings",
            "linked_users",
            "outbox",
            "process_heartbeats",
            "psn_credential",
            "shard_leases",
            "title_definitions",
            "title_trophy_rates",
            "tracked_accounts",
            "user_titles",
        ]
    );
    let (applied,): (i64,) = sqlx::query_as("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(store.pool())
        .await
        .expect("count migrations");
    let files = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
        .expect("the migrations directory")
        .count();
    assert_eq!(
        applied as usize, files,
        "each migration applied exactly once"
    );
}

#[tokio::test]
async fn the_migrate_command_reports_success_and_errors_without_the_password() {
    let db = TestDb::unused();
    let with_password = db.url.replacen("postgres@", "postgres:hunter2@", 1);
    let (code, message) = run_migrate(&with_password).await;
    assert_eq!(code, 0, "{message}");
    assert!(db.exists().await);
    assert!(!message.contains("hunter2"), "{message}");

    let (code, message) = run_migrate("hunter2 is not a URL").await;
    assert_eq!(code, 2, "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let (code, message) = run_migrate(&format!("postgres://bot:hunter2@127.0.0.1:{port}/x")).await;
    assert_eq!(code, 1, "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}

#[tokio::test]
async fn the_first_application_id_is_kept_until_replaced() {
    let (_db, store) = TestDb::migrated().await;
    assert_eq!(store.application_id().await.expect("load"), None);
    // Above i64::MAX: the snowflake's 64 bits survive the signed column.
    let first = u64::MAX - 7;
    assert_eq!(
        store.claim_application_id(first).await.expect("claim"),
        first
    );
    // Another application's start sees the stored ID and changes nothing.
    assert_eq!(store.claim_application_id(42).await.expect("claim"), first);
    assert_eq!(store.application_id().await.expect("load"), Some(first));
    // The operator's override replaces it.
    store.save_application_id(42).await.expect("save");
    assert_eq!(store.application_id().await.expect("load"), Some(42));
    assert_eq!(store.claim_application_id(first).await.expect("claim"), 42);
}

#[tokio::test]
async fn title_definitions_round_trip_per_language() {
    let (_db, store) = TestDb::migrated().await;
    let astro = astro_bot();
    let older = ps4_title("NPWR08964_00", "Bloodborne");
    store
        .save_title_definitions(&[astro.clone(), older.clone()], "en-GB")
        .await
        .expect("save");
    store
        .save_title_definitions(&[ps4_title("NPWR08964_00", "Bloodborne (DE)")], "de-DE")
        .await
        .expect("save another language");

    let loaded = store.load_title_definitions("en-GB").await.expect("load");
    assert_eq!(loaded, vec![older, astro.clone()]);
    let german = store
        .load_title_definitions("de-DE")
        .await
        .expect("load de");
    assert_eq!(german.len(), 1);
    assert_eq!(german[0].name, "Bloodborne (DE)");
    assert!(store
        .load_title_definitions("ja-JP")
        .await
        .expect("load ja")
        .is_empty());
    assert_eq!(
        store.title_definition_languages().await.expect("languages"),
        ["de-DE", "en-GB"],
        "the bot loads each language it stored"
    );
}

#[tokio::test]
async fn saving_a_title_again_replaces_it_even_when_listed_twice() {
    let (_db, store) = TestDb::migrated().await;
    store
        .save_title_definitions(&[astro_bot()], "en-GB")
        .await
        .expect("save");
    let mut renamed = astro_bot();
    renamed.name = "ASTRO BOT (renamed)".to_string();
    // The same title twice in one batch: the last one wins, and the upsert does not fail.
    store
        .save_title_definitions(&[astro_bot(), renamed.clone()], "en-GB")
        .await
        .expect("save again");
    store
        .save_title_definitions(&[], "en-GB")
        .await
        .expect("save nothing");
    let loaded = store.load_title_definitions("en-GB").await.expect("load");
    assert_eq!(loaded, vec![renamed]);
}

#[tokio::test]
async fn a_corrupt_stored_definition_is_a_typed_error() {
    let (_db, store) = TestDb::migrated().await;
    sqlx::query(
        "INSERT INTO title_definitions (np_communication_id, language, definition)
         VALUES ('NPWR00000_00', 'en-GB', '{\"unexpected\": true}')",
    )
    .execute(store.pool())
    .await
    .expect("insert");
    let err = store
        .load_title_definitions("en-GB")
        .await
        .expect_err("corrupt definition");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[tokio::test]
async fn link_relink_and_unlink() {
    let (_db, store) = TestDb::migrated().await;
    // Above i64::MAX: stored as the same 64 bits.
    let user = u64::MAX - 7;
    let other_user = 80_351_110_224_678_912;
    assert_eq!(store.linked_account(user).await.expect("lookup"), None);

    store
        .link_user(user, "2721516955383196192", "ikemenzi")
        .await
        .expect("link");
    store
        .link_user(other_user, "1111", "someone")
        .await
        .expect("link other");
    store
        .link_user(user, "6515971742264256071", "VaultTec-Co")
        .await
        .expect("relink");
    assert_eq!(
        store.linked_account(user).await.expect("lookup"),
        Some(LinkedAccount {
            account_id: "6515971742264256071".to_string(),
            online_id: "VaultTec-Co".to_string(),
            verified_at: None,
        })
    );

    assert!(store.remove_link(user).await.expect("unlink").is_some());
    assert!(store
        .remove_link(user)
        .await
        .expect("unlink again")
        .is_none());
    assert_eq!(store.linked_account(user).await.expect("lookup"), None);
    assert_eq!(
        store
            .linked_account(other_user)
            .await
            .expect("lookup other")
            .map(|linked| linked.online_id),
        Some("someone".to_string())
    );
}

// The harness's fallback order, without starting servers.

#[test]
fn database_url_wins_and_nothing_is_probed() {
    let choice = db::choose_server(
        Some("postgres://ci@db:5432/trophybot".to_string()),
        || panic!("must not probe the local server"),
        || panic!("must not look for initdb"),
    );
    assert_eq!(
        choice,
        Some(ServerChoice::Url(
            "postgres://ci@db:5432/trophybot".to_string()
        ))
    );
}

#[test]
fn a_blank_database_url_counts_as_unset() {
    let choice = db::choose_server(Some("  ".to_string()), || true, || None);
    assert_eq!(
        choice,
        Some(ServerChoice::Url(db::LOCAL_SERVER_URL.to_string()))
    );
}

#[test]
fn the_local_server_comes_before_a_cluster() {
    let choice = db::choose_server(None, || true, || panic!("must not look for initdb"));
    assert_eq!(
        choice,
        Some(ServerChoice::Url(db::LOCAL_SERVER_URL.to_string()))
    );
}

#[test]
fn a_cluster_is_the_last_resort_and_none_means_none() {
    let bin = PathBuf::from("/usr/lib/postgresql/16/bin");
    let choice = db::choose_server(None, || false, || Some(bin.clone()));
    assert_eq!(choice, Some(ServerChoice::Cluster(bin)));
    assert_eq!(db::choose_server(None, || false, || None), None);
}

fn fake_bin(dir: &Path, tools: &[&str]) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for tool in tools {
        std::fs::write(dir.join(tool), "").expect("write tool");
    }
}

#[test]
fn cluster_tools_are_found_in_path_first_then_the_newest_debian_version() {
    let root = tempfile::tempdir().expect("tempdir");
    let debian = root.path().join("lib");
    fake_bin(&debian.join("9.6/bin"), &["initdb", "pg_ctl"]);
    fake_bin(&debian.join("15/bin"), &["initdb", "pg_ctl"]);
    fake_bin(&debian.join("16/bin"), &["initdb", "pg_ctl"]);
    fake_bin(&debian.join("17/bin"), &["initdb"]); // incomplete: skipped
    let in_path = root.path().join("path-bin");
    fake_bin(&in_path, &["initdb", "pg_ctl"]);
    let only_initdb = root.path().join("half");
    fake_bin(&only_initdb, &["initdb"]);

    let path_var = std::env::join_paths([&only_initdb, &in_path]).expect("join");
    assert_eq!(
        db::find_cluster_bin(path_var.to_str(), &debian),
        Some(in_path)
    );
    assert_eq!(
        db::find_cluster_bin(only_initdb.to_str(), &debian),
        Some(debian.join("16/bin"))
    );
    assert_eq!(
        db::find_cluster_bin(None, &root.path().join("missing")),
        None
    );
}

#[test]
fn test_database_urls_replace_the_database_name() {
    assert_eq!(
        db::database_url("postgres://ci:pw@db:5432/trophybot", "test_1"),
        "postgres://ci:pw@db:5432/test_1"
    );
    assert_eq!(
        db::database_url("postgres://postgres@127.0.0.1:5432", "test_2"),
        "postgres://postgres@127.0.0.1:5432/test_2"
    );
}

/// The last-resort path for real, when this machine has the tools (skipped, and says so, when
/// it does not): a cluster starts on a free port and takes connections.
#[tokio::test]
#[allow(
    clippy::disallowed_methods,
    reason = "tests read their own environment"
)]
async fn a_throwaway_cluster_starts_and_accepts_connections() {
    let Some(bin) = db::find_cluster_bin(
        std::env::var("PATH").ok().as_deref(),
        Path::new("/usr/lib/postgresql"),
    ) else {
        eprintln!("skipped: no initdb/pg_ctl on this machine");
        return;
    };
    let server_url = db::start_throwaway_cluster(&bin).expect("start cluster");
    assert_ne!(server_url, db::LOCAL_SERVER_URL);
    let store = Store::connect(&db::database_url(&server_url, "trophybot"))
        .await
        .expect("connect to the throwaway cluster");
    store.migrate().await.expect("migrate");
    assert!(store
        .load_sealed_credential("any")
        .await
        .expect("load")
        .is_none());
    store.close().await;
}
