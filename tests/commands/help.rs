//! `/help` as the bot runs it: the server's settings and tracked accounts and the caller's link
//! come from the store (a database of the test's own), never from PSN.

use chrono::{TimeZone, Utc};
use trophybot::commands::help;
use trophybot::model::reply::Reply;
use trophybot::model::{AnnounceFilter, GuildSettings, TrackedAccount};

use crate::support::db::TestDb;

const GUILD: u64 = 100;
const OTHER_GUILD: u64 = 101;
const CALLER: u64 = 300;
const STRANGER: u64 = 301;

fn tracked(guild_id: u64, online_id: &str) -> TrackedAccount {
    TrackedAccount {
        guild_id,
        account_id: format!("id-{online_id}"),
        online_id: online_id.to_string(),
        channel_id: None,
        added_by: 42,
        added_at: Utc
            .timestamp_opt(1_700_000_000, 0)
            .single()
            .expect("a timestamp"),
    }
}

fn field<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply.embeds()[0]
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
        .unwrap_or_else(|| panic!("no field {name:?} in {reply:?}"))
}

#[tokio::test]
async fn help_tells_this_servers_tracking_and_the_callers_link() {
    let (_db, store) = TestDb::migrated().await;
    store
        .set_guild_settings(&GuildSettings {
            guild_id: GUILD,
            announce_channel_id: Some(200),
            filter: AnnounceFilter::PlatinumOnly,
            language: None,
            milestones: Default::default(),
            cards: true,
        })
        .await
        .expect("settings");
    for account in [
        tracked(GUILD, "sim_hunter"),
        tracked(OTHER_GUILD, "elsewhere"),
    ] {
        store
            .add_tracked_account(&account, 25)
            .await
            .expect("tracked");
    }
    store
        .link_user(CALLER, "id-sim_casual", "sim_casual")
        .await
        .expect("linked");

    let reply = help::run(&store, Some(GUILD), CALLER).await.expect("help");
    assert!(reply.ephemeral());
    let server = field(&reply, "In this server");
    assert!(
        server.contains("**platinum only**") && server.contains("**sim\\_hunter** → <#200>"),
        "{server}"
    );
    assert!(!server.contains("elsewhere"), "another server's: {server}");
    let link = field(&reply, "Your PSN link");
    assert!(
        link.contains("**sim\\_casual**, not verified yet"),
        "{link}"
    );

    // In a direct message: no server to tell of, and this caller has no link.
    let reply = help::run(&store, None, STRANGER).await.expect("help");
    assert!(field(&reply, "Tracking players").contains("work in servers"));
    assert!(field(&reply, "Your PSN link").starts_with("You have not linked"));
}
