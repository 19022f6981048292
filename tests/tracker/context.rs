//! Server context of announcements against the simulator and PostgreSQL: two tracked players
//! of one server earn the same trophy; each announcement ranks it by PSN's earned time among
//! what is stored, names the other, and says "among players checked so far" while a fellow
//! player's history of the title is not stored yet.

use std::collections::HashSet;
use std::time::Duration;

use psn::{Account, TrophyType};
use psn_sim::Sim;
use trophybot::model::tracking::TrackedAccount;
use trophybot::store::{Store, TitleState};
use trophybot::tracker::poll_once;

use crate::support;
use crate::support::db::TestDb;

const GUILD: u64 = 9;
const CHANNEL: u64 = 90;
const OWNER: &str = "context-test";

async fn track(store: &Store, sim: &Sim, online_id: &str) -> Account {
    let account_id = sim.account_id(online_id).expect("a simulated player");
    let account = TrackedAccount {
        guild_id: GUILD,
        account_id: account_id.clone(),
        online_id: online_id.to_string(),
        channel_id: Some(CHANNEL),
        added_by: 1,
        added_at: sim.now(),
    };
    store
        .add_tracked_account(&account, 10)
        .await
        .expect("tracked");
    Account {
        account_id,
        online_id: online_id.to_string(),
    }
}

/// A title both players own and a non-platinum trophy neither has earned.
async fn shared_unearned(client: &psn::Client, a: &Account, b: &Account) -> (String, u32) {
    let of = |account: &Account| {
        let client = client.clone();
        let account = account.clone();
        async move {
            client
                .all_titles(&account)
                .await
                .expect("titles")
                .into_iter()
                .map(|t| t.np_communication_id)
                .collect::<HashSet<String>>()
        }
    };
    let (titles_a, titles_b) = (of(a).await, of(b).await);
    let mut shared: Vec<&String> = titles_a.intersection(&titles_b).collect();
    shared.sort();
    for title in shared {
        let earned_a = client.user_trophies(a, title).await.expect("trophies");
        let earned_b = client.user_trophies(b, title).await.expect("trophies");
        let open = earned_a.trophies.iter().find(|t| {
            t.definition.kind != TrophyType::Platinum
                && !t.earned
                && earned_b
                    .trophies
                    .iter()
                    .any(|u| u.definition.id == t.definition.id && !u.earned)
        });
        if let Some(trophy) = open {
            return (title.clone(), trophy.definition.id);
        }
    }
    panic!("the simulator's players share a title with a trophy left to earn");
}

/// Stores `account`'s history of `title` as the backfill does (the simulator keeps PSN's rate
/// limit, so these tests backfill only the title they need).
async fn backfill_title(store: &Store, client: &psn::Client, account: &Account, title: &str) {
    let (earned, last_updated) = client
        .earned_state(account, title, None)
        .await
        .expect("an earned state");
    let state = TitleState {
        np_communication_id: title.to_string(),
        last_updated,
        earned: earned.iter().filter(|t| t.earned).map(|t| t.id).collect(),
        earned_at: earned
            .iter()
            .filter(|t| t.earned)
            .filter_map(|t| Some((t.id, t.earned_at?)))
            .collect(),
    };
    let written = store
        .fill_in_earned_ids(&account.account_id, &[state])
        .await
        .expect("stored");
    assert_eq!(written, 1, "the history of {title} is stored");
}

/// The payloads queued so far, oldest first.
async fn payloads(store: &Store) -> Vec<String> {
    sqlx::query_scalar("SELECT payload::text FROM outbox ORDER BY id")
        .fetch_all(store.pool())
        .await
        .expect("outbox")
}

#[tokio::test]
async fn ranks_follow_psns_earned_time_and_name_the_other_earner() {
    let (_db, store) = TestDb::migrated().await;
    let (sim, server) = support::start_sim().await;
    let client = support::sim_client(&server.base_url);
    let hunter = track(&store, &sim, "sim_hunter").await;
    let casual = track(&store, &sim, "sim_casual").await;
    store.sync_account_state().await.unwrap();
    for account in [&hunter, &casual] {
        poll_once(&store, &client, &account.account_id, OWNER)
            .await
            .unwrap();
    }
    let (title, trophy) = shared_unearned(&client, &hunter, &casual).await;

    // Before the histories are stored, a first earner is first only among those checked.
    sim.advance_clock(Duration::from_secs(60));
    sim.earn_trophy("sim_hunter", &title, trophy).unwrap();
    // Hunter's own history of the title comes in with the poll; casual's is not stored.
    let report = poll_once(&store, &client, &hunter.account_id, OWNER)
        .await
        .unwrap();
    assert_eq!(report.new_trophies, 1);
    let first = payloads(&store).await;
    assert!(
        first[0].contains("🥇 **1st** in this server, among players checked so far"),
        "{}",
        first[0]
    );

    // With the histories stored, the second earner is 2nd and names the first.
    backfill_title(&store, &client, &casual, &title).await;
    sim.advance_clock(Duration::from_secs(60));
    sim.earn_trophy("sim_casual", &title, trophy).unwrap();
    poll_once(&store, &client, &casual.account_id, OWNER)
        .await
        .unwrap();
    let second = payloads(&store).await;
    assert_eq!(second.len(), 2);
    assert!(
        second[1].contains("**2nd** in this server to earn it\\nAlso earned by **sim\\\\_hunter**"),
        "{}",
        second[1]
    );
}

#[tokio::test]
async fn an_earlier_earner_detected_second_is_ranked_by_psns_time() {
    let (_db, store) = TestDb::migrated().await;
    let (sim, server) = support::start_sim().await;
    let client = support::sim_client(&server.base_url);
    let hunter = track(&store, &sim, "sim_hunter").await;
    let casual = track(&store, &sim, "sim_casual").await;
    store.sync_account_state().await.unwrap();
    for account in [&hunter, &casual] {
        poll_once(&store, &client, &account.account_id, OWNER)
            .await
            .unwrap();
    }
    let (title, trophy) = shared_unearned(&client, &hunter, &casual).await;
    for account in [&hunter, &casual] {
        backfill_title(&store, &client, account, &title).await;
    }

    // Casual earns it first, hunter a minute later; hunter is detected first.
    sim.advance_clock(Duration::from_secs(60));
    sim.earn_trophy("sim_casual", &title, trophy).unwrap();
    sim.advance_clock(Duration::from_secs(60));
    sim.earn_trophy("sim_hunter", &title, trophy).unwrap();
    poll_once(&store, &client, &hunter.account_id, OWNER)
        .await
        .unwrap();
    poll_once(&store, &client, &casual.account_id, OWNER)
        .await
        .unwrap();
    let posts = payloads(&store).await;
    assert_eq!(posts.len(), 2);
    // Hunter's, as known then: nobody else had it stored.
    assert!(
        posts[0].contains("🥇 **1st** in this server to earn it")
            && !posts[0].contains("Also earned by"),
        "{}",
        posts[0]
    );
    // Casual's: first by PSN's time, and hunter has it too.
    assert!(
        posts[1]
            .contains("🥇 **1st** in this server to earn it\\nAlso earned by **sim\\\\_hunter**"),
        "{}",
        posts[1]
    );
}
