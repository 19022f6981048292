//! `/trophy` against the database: who in a server has a trophy, from stored data only, under
//! the privacy rule (tracked in this server, trophy list last seen public), first earner first,
//! qualified while an owner's history is not stored, and a polite not found for bad input.

use chrono::{DateTime, TimeZone, Utc};
use psn::{
    NpService, Platform, TitleDefinition, TitleProgress, TrophyCounts, TrophyDefinition, TrophyType,
};
use trophybot::commands::trophy::{self, TrophyInput};
use trophybot::errors::CommandError;
use trophybot::model::Reply;
use trophybot::store::Store;

use crate::support::db::TestDb;

const GUILD: u64 = 10;
const OTHER_GUILD: u64 = 20;
const GAME: &str = "NPWR10001_00";
const OTHERS_GAME: &str = "NPWR20002_00";

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
}

fn listed(id: &str, name: &str) -> TitleProgress {
    TitleProgress {
        np_communication_id: id.to_string(),
        service: Some(NpService::Trophy2),
        name: name.to_string(),
        detail: None,
        icon_url: None,
        platforms: vec![Platform::Ps5],
        has_groups: false,
        defined: TrophyCounts::default(),
        earned: TrophyCounts::default(),
        progress: 50,
        hidden: false,
        last_updated: Some(at(1)),
    }
}

/// A title's stored earned trophies: its id, and each trophy id with its day (`None`: undated).
type StoredState<'a> = (&'a str, &'a [(u32, Option<u32>)]);

/// Test-only SQL: a player tracked in `guild` owning `titles`, with `status`, and for each
/// `(title, earned ids with days)` a stored earned state.
async fn player(
    store: &Store,
    guild: u64,
    account: &str,
    status: &str,
    titles: &[TitleProgress],
    states: &[StoredState<'_>],
) {
    sqlx::query(
        "INSERT INTO account_state (account_id, online_id, status, baseline_done)
         VALUES ($1, $1, $2, true)",
    )
    .bind(account)
    .bind(status)
    .execute(store.pool())
    .await
    .expect("account state");
    sqlx::query(
        "INSERT INTO tracked_accounts (guild_id, account_id, online_id, added_by)
         VALUES ($1, $2, $2, 1)",
    )
    .bind(guild as i64)
    .bind(account)
    .execute(store.pool())
    .await
    .expect("tracked");
    crate::rates::owned_titles(store, account, titles).await;
    for (id, earned) in states {
        let ids: Vec<u32> = earned.iter().map(|(id, _)| *id).collect();
        let dates: serde_json::Map<String, serde_json::Value> = earned
            .iter()
            .filter_map(|(id, day)| Some((id.to_string(), serde_json::json!(at((*day)?)))))
            .collect();
        sqlx::query(
            "INSERT INTO account_title_state
                 (account_id, np_communication_id, last_updated, earned, earned_at)
             VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)",
        )
        .bind(account)
        .bind(id)
        .bind(at(1))
        .bind(serde_json::to_string(&ids).unwrap())
        .bind(serde_json::to_string(&dates).unwrap())
        .execute(store.pool())
        .await
        .expect("title state");
    }
}

fn definition(id: &str, name: &str) -> TitleDefinition {
    let trophy = |id: u32, name: &str, hidden: bool| TrophyDefinition {
        id,
        group_id: "default".into(),
        hidden,
        kind: TrophyType::Gold,
        name: name.into(),
        detail: format!("{name}, in detail"),
        icon_url: None,
    };
    TitleDefinition {
        np_communication_id: id.into(),
        service: Some(NpService::Trophy2),
        name: name.into(),
        detail: None,
        icon_url: None,
        platforms: vec![Platform::Ps5],
        defined: TrophyCounts::default(),
        groups: vec![],
        trophies: vec![
            trophy(0, "Master of All", false),
            trophy(1, "Secret Ending", true),
            trophy(2, "First Steps", false),
            trophy(3, "Nobody's Secret", true),
        ],
    }
}

/// The server: `early` earned trophy 2 on day 9, `earliest` on day 3, `offline` without a
/// date; `backlog` owns the game with no state stored yet; `private` earned it first of all but
/// their list went private; `elsewhere` is tracked in another server only.
async fn server() -> (TestDb, Store) {
    let (db, store) = TestDb::migrated().await;
    let game = listed(GAME, "Star Rescue");
    store
        .save_title_definitions(&[definition(GAME, "Star Rescue")], "en")
        .await
        .expect("definitions");
    store
        .save_title_definitions(&[definition(OTHERS_GAME, "Far Away")], "en")
        .await
        .expect("definitions");
    let both = [game.clone()];
    player(
        &store,
        GUILD,
        "early",
        "ok",
        &both,
        &[(GAME, &[(2, Some(9)), (1, Some(9))])],
    )
    .await;
    player(
        &store,
        GUILD,
        "earliest",
        "ok",
        &both,
        &[(GAME, &[(2, Some(3))])],
    )
    .await;
    player(
        &store,
        GUILD,
        "offline",
        "ok",
        &both,
        &[(GAME, &[(2, None)])],
    )
    .await;
    player(&store, GUILD, "backlog", "ok", &both, &[]).await;
    player(
        &store,
        GUILD,
        "private",
        "private",
        &both,
        &[(GAME, &[(2, Some(1))])],
    )
    .await;
    let far = [listed(OTHERS_GAME, "Far Away")];
    player(
        &store,
        OTHER_GUILD,
        "elsewhere",
        "ok",
        &far,
        &[(OTHERS_GAME, &[(0, Some(2))])],
    )
    .await;
    (db, store)
}

async fn ask(store: &Store, game: &str, trophy: &str) -> Result<Reply, CommandError> {
    trophy::run(
        store,
        TrophyInput {
            guild_id: GUILD,
            game: game.into(),
            trophy: trophy.into(),
            language: None,
            default_language: "en".into(),
        },
    )
    .await
}

fn words(reply: &Reply) -> String {
    serde_json::to_string(reply).unwrap()
}

#[tokio::test]
async fn who_has_it_first_earner_first_among_this_servers_public_players() {
    let (_db, store) = server().await;
    let reply = ask(&store, "star rescue", "First Steps")
        .await
        .expect("answered");
    let text = words(&reply);
    let first = text.find("1st **earliest** · 2026-11-03").expect(&text);
    let second = text.find("2nd **early** · 2026-11-09").expect(&text);
    let undated = text.find("3rd **offline** · date unknown").expect(&text);
    assert!(first < second && second < undated, "{text}");
    assert!(
        !text.contains("private") && !text.contains("elsewhere"),
        "{text}"
    );
    // Four owners here with a public list; `backlog`'s history is not stored yet.
    assert!(
        text.contains("3 of the 4 players here who own the game, among players checked so far"),
        "{text}"
    );
    // A picked choice (ids) answers the same.
    assert_eq!(ask(&store, GAME, "2").await.expect("by ids"), reply);
}

#[tokio::test]
async fn hidden_trophies_are_shown_once_earned_here_and_masked_otherwise() {
    let (_db, store) = server().await;
    let earned = words(
        &ask(&store, GAME, "secret ending")
            .await
            .expect("earned here"),
    );
    assert!(
        earned.contains("Secret Ending") && earned.contains("**early**"),
        "{earned}"
    );
    let masked = words(&ask(&store, GAME, "3").await.expect("by its id"));
    assert!(
        !masked.contains("Nobody's Secret") && masked.contains("Hidden trophy"),
        "{masked}"
    );
    assert!(
        matches!(
            ask(&store, GAME, "Nobody's Secret").await,
            Err(CommandError::TrophyNotFound { known: true, .. })
        ),
        "a hidden name nobody here earned finds nothing"
    );
}

#[tokio::test]
async fn bad_input_is_not_found_and_another_servers_games_are_not_shown() {
    let (_db, store) = server().await;
    for game in ["Zelda", OTHERS_GAME, "Far Away"] {
        let err = ask(&store, game, "0").await.expect_err(game);
        assert!(
            matches!(err, CommandError::ServerGameNotFound { .. }),
            "{game}: {err:?}"
        );
        let reply = trophybot::errors::error_reply(&err);
        assert!(reply.ephemeral() && words(&reply).contains("Game not found"));
    }
    let err = ask(&store, GAME, "99").await.expect_err("no such trophy");
    assert!(
        matches!(err, CommandError::TrophyNotFound { known: true, .. }),
        "{err:?}"
    );
    assert!(words(&trophybot::errors::error_reply(&err)).contains("Trophy not found"));
}

#[tokio::test]
async fn autocomplete_offers_this_servers_games_and_masks_hidden_trophies() {
    let (_db, store) = server().await;
    let games = trophy::game_choices(&store, GUILD, "")
        .await
        .expect("games");
    let values: Vec<&str> = games.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(values, [GAME], "another server's game is not offered");
    let trophies = trophy::trophy_choices(&store, GUILD, GAME, "", &["en"])
        .await
        .expect("trophies");
    let names: Vec<&str> = trophies.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Master of All · Gold",
            "Secret Ending · Gold",
            "First Steps · Gold",
            "Hidden trophy · Gold"
        ]
    );
    assert_eq!(trophies[3].value, "3");
    let none = trophy::trophy_choices(&store, GUILD, OTHERS_GAME, "", &["en"])
        .await
        .expect("asked");
    assert!(none.is_empty());
}
