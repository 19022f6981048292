//! What `/rarest` ranks a tracked player's stored library with: titles' earned rates, and the
//! earned ids (with dates) a command may add where the tracker has none.

use chrono::{DateTime, Duration, TimeZone, Utc};
use psn::{
    NpService, Platform, Rarity, TitleProgress, TitleRates, TrophyCounts, TrophyRate, TrophyType,
};
use trophybot::store::{Store, TitleState};

use crate::support::db::TestDb;

const ACCOUNT: &str = "1111";
const GUILD: u64 = 10;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, 12, 0, 0).unwrap()
}

fn listed(id: &str, last_updated: DateTime<Utc>) -> TitleProgress {
    TitleProgress {
        np_communication_id: id.to_string(),
        service: Some(NpService::Trophy2),
        name: format!("Game {id}"),
        detail: None,
        icon_url: None,
        platforms: vec![Platform::Ps5],
        has_groups: false,
        defined: TrophyCounts::default(),
        earned: TrophyCounts::default(),
        progress: 50,
        hidden: false,
        last_updated: Some(last_updated),
    }
}

/// Test-only SQL: a tracked account whose library the tracker stored as `titles`.
async fn tracked_with(store: &Store, titles: &[TitleProgress]) {
    sqlx::query("INSERT INTO account_state (account_id, online_id) VALUES ($1, 'player')")
        .bind(ACCOUNT)
        .execute(store.pool())
        .await
        .expect("account state");
    sqlx::query(
        "INSERT INTO tracked_accounts (guild_id, account_id, online_id, added_by)
         VALUES ($1, $2, 'player', 1)",
    )
    .bind(GUILD as i64)
    .bind(ACCOUNT)
    .execute(store.pool())
    .await
    .expect("tracked");
    owned_titles(store, ACCOUNT, titles).await;
}

/// Test-only SQL: `account`'s library as the tracker stores it (`user_titles`).
pub(crate) async fn owned_titles(store: &Store, account: &str, titles: &[TitleProgress]) {
    for title in titles {
        sqlx::query(
            "INSERT INTO user_titles
                 (account_id, np_communication_id, name, platform, last_updated, title)
             VALUES ($1, $2, $3, 'PS5', $4, $5::jsonb)",
        )
        .bind(account)
        .bind(&title.np_communication_id)
        .bind(&title.name)
        .bind(title.last_updated)
        .bind(serde_json::to_string(title).unwrap())
        .execute(store.pool())
        .await
        .expect("user title");
    }
}

fn rate(id: u32, kind: TrophyType, earned_rate: f64) -> TrophyRate {
    TrophyRate {
        id,
        kind,
        earned_rate: Some(earned_rate),
        rarity: Some(Rarity::from_earned_rate(earned_rate)),
    }
}

fn state(id: &str, last_updated: DateTime<Utc>, earned: &[(u32, Option<u32>)]) -> TitleState {
    TitleState {
        np_communication_id: id.to_string(),
        last_updated: Some(last_updated),
        earned: earned.iter().map(|(id, _)| *id).collect(),
        earned_at: earned
            .iter()
            .filter_map(|(id, day)| Some((*id, at((*day)?))))
            .collect(),
    }
}

#[tokio::test]
async fn a_tracked_library_comes_back_with_stored_earned_ids_dates_and_rates() {
    let (_db, store) = TestDb::migrated().await;
    tracked_with(
        &store,
        &[listed("NPWR1_00", at(5)), listed("NPWR2_00", at(9))],
    )
    .await;
    let library = store
        .rarest_library_in_guild(ACCOUNT, GUILD)
        .await
        .expect("library");
    assert_eq!(library.len(), 2);
    assert!(
        library.iter().all(|t| t.earned.is_none()),
        "nothing read yet"
    );

    // Ids are kept only where they match the stored listing, and never over what is stored.
    let written = store
        .fill_in_earned_ids(
            ACCOUNT,
            &[
                state("NPWR1_00", at(5), &[(1, Some(2)), (2, None)]),
                // Newer than the tracker's listing: the tracker must see those trophies first.
                state("NPWR2_00", at(9) + Duration::seconds(1), &[(7, Some(9))]),
            ],
        )
        .await
        .expect("fill in");
    assert_eq!(written, 1);
    let again = store
        .fill_in_earned_ids(ACCOUNT, &[state("NPWR1_00", at(5), &[(3, Some(4))])])
        .await
        .expect("fill in");
    assert_eq!(again, 0, "the stored ids stay");

    store
        .save_trophy_rates(&[TitleRates {
            np_communication_id: "NPWR1_00".into(),
            trophies: vec![
                rate(1, TrophyType::Gold, 9.0),
                rate(2, TrophyType::Bronze, 60.0),
                rate(3, TrophyType::Platinum, 1.0),
            ],
        }])
        .await
        .expect("rates");
    // Saved again (PSN's rates drift; listed twice in one save): replaced, no conflict error.
    let newer = TitleRates {
        np_communication_id: "NPWR1_00".into(),
        trophies: vec![rate(1, TrophyType::Gold, 4.5)],
    };
    store
        .save_trophy_rates(&[newer.clone(), newer])
        .await
        .expect("rates again");

    let library = store
        .rarest_library_in_guild(ACCOUNT, GUILD)
        .await
        .expect("library");
    // Most recently updated first.
    assert_eq!(library[0].title.np_communication_id, "NPWR2_00");
    assert_eq!(library[0].earned, None);
    let first = &library[1];
    assert_eq!(first.earned, Some(vec![1, 2]));
    assert_eq!(first.earned_at.get(&1), Some(&at(2)));
    assert_eq!(first.earned_at.get(&2), None, "earned offline, no date");
    let mut rates = first.rates.clone();
    rates.sort_by_key(|r| r.id);
    assert_eq!(
        rates,
        vec![
            rate(1, TrophyType::Gold, 4.5),
            rate(2, TrophyType::Bronze, 60.0)
        ],
        "the earned trophies' rates only, the latest saved"
    );

    // Only in a server tracking the player, and only while their list was last seen public.
    assert!(store
        .rarest_library_in_guild(ACCOUNT, GUILD + 1)
        .await
        .expect("elsewhere")
        .is_empty());
    sqlx::query("UPDATE account_state SET status = 'private' WHERE account_id = $1")
        .bind(ACCOUNT)
        .execute(store.pool())
        .await
        .expect("private");
    assert!(store
        .rarest_library_in_guild(ACCOUNT, GUILD)
        .await
        .expect("private")
        .is_empty());
}
