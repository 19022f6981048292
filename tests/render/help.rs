//! Snapshots of `/help`: in a server that tracks accounts, for a linked caller; in a direct
//! message without a link; the console's text. And its limits with many long-named accounts.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use psn::OnlineId;
use trophybot::console::text::reply_text;
use trophybot::model::reply::limits;
use trophybot::model::{AnnounceFilter, GuildSettings, TrackedAccount};
use trophybot::render::{self, CallerLink, HelpFor, ServerTracking, HELP_ACCOUNTS_SHOWN};

use crate::support::render::{assert_within_limits, text};

const GUILD: u64 = 100;

fn account(online_id: &str, channel_id: Option<u64>) -> TrackedAccount {
    TrackedAccount {
        guild_id: GUILD,
        account_id: format!("id-{online_id}"),
        online_id: online_id.to_string(),
        channel_id,
        added_by: 1,
        added_at: Utc
            .timestamp_opt(1_764_000_000, 0)
            .single()
            .expect("a timestamp"),
    }
}

fn server(accounts: Vec<TrackedAccount>) -> ServerTracking {
    ServerTracking {
        settings: GuildSettings {
            guild_id: GUILD,
            announce_channel_id: Some(200),
            filter: AnnounceFilter::GoldAndUp,
            language: None,
            milestones: Default::default(),
            cards: true,
        },
        accounts,
    }
}

fn field<'a>(reply: &'a trophybot::model::Reply, name: &str) -> &'a str {
    reply.embeds()[0]
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| f.value.as_str())
        .unwrap_or_else(|| panic!("no field {name:?} in {reply:?}"))
}

#[test]
fn in_a_server_with_tracked_accounts_for_a_linked_caller() {
    let reply = render::help(&HelpFor::Discord {
        server: Some(server(vec![
            account("*markdown*_user", None),
            account("sim_casual", Some(250)),
            account("sim_hunter", None),
        ])),
        link: Some(CallerLink {
            online_id: "sim_hunter".into(),
            verified: true,
        }),
    });
    assert!(reply.ephemeral(), "help is for the caller only");
    assert_within_limits(&reply);
    let tracked = field(&reply, "In this server");
    assert!(
        tracked.contains("**\\*markdown\\*\\_user**, **sim\\_hunter** → <#200>"),
        "grouped by channel, escaped: {tracked}"
    );
    insta::assert_json_snapshot!(reply);
}

#[test]
fn in_a_direct_message_without_a_link() {
    let reply = render::help(&HelpFor::Discord {
        server: None,
        link: None,
    });
    assert!(reply.ephemeral());
    assert!(field(&reply, "Tracking players").contains("work in servers"));
    assert!(field(&reply, "Your PSN link").contains("`/link user:YOUR_ONLINE_ID`"));
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_server_tracking_nobody_and_an_unverified_link() {
    let reply = render::help(&HelpFor::Discord {
        server: Some(server(Vec::new())),
        link: Some(CallerLink {
            online_id: "new_name".into(),
            verified: false,
        }),
    });
    assert!(field(&reply, "In this server").contains("`/track add`"));
    let link = field(&reply, "Your PSN link");
    assert!(link.contains("**new\\_name**, not verified yet"), "{link}");
}

/// The console's help, as `trophybot console /help` prints it (the README's example).
#[test]
fn in_the_console() {
    let reply = render::help(&HelpFor::Console);
    let names: Vec<&str> = reply.embeds()[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(!names.contains(&"In this server") && !names.contains(&"Your PSN link"));
    insta::assert_snapshot!(reply_text(&reply));
}

#[test]
fn the_most_accounts_with_the_longest_names_stay_within_limits() {
    // 16 characters, mostly `_`, which escaping doubles; each in a channel of its own.
    let accounts: Vec<_> = (0..1000u64)
        .map(|i| {
            let name = format!("p{i:03}{}", "_".repeat(OnlineId::MAX_LEN - 4));
            account(&name, Some(u64::MAX - i))
        })
        .collect();
    let reply = render::help(&HelpFor::Discord {
        server: Some(server(accounts)),
        link: Some(CallerLink {
            online_id: "_".repeat(OnlineId::MAX_LEN),
            verified: false,
        }),
    });
    assert_within_limits(&reply);
    let tracked = field(&reply, "In this server");
    // Written to fit, not cut by the reply's limits.
    assert!(tracked.chars().count() < limits::FIELD_VALUE, "{tracked}");
    assert!(
        tracked.ends_with(&format!(
            "…and {} more. `/leaderboard` ranks them all.",
            1000 - HELP_ACCOUNTS_SHOWN
        )),
        "{tracked}"
    );
    assert_eq!(tracked.matches(" → <#").count(), HELP_ACCOUNTS_SHOWN);
    let link = field(&reply, "Your PSN link");
    assert!(link.ends_with("removes the link."), "not cut: {link}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_names_fit(
        names in proptest::collection::vec(text(), 0..60),
        linked in proptest::option::of((text(), any::<bool>())),
        in_server in any::<bool>(),
    ) {
        let accounts = names
            .iter()
            .enumerate()
            .map(|(i, name)| account(name, (i % 3 == 0).then_some(300 + i as u64)))
            .collect();
        let reply = render::help(&HelpFor::Discord {
            server: in_server.then(|| server(accounts)),
            link: linked.map(|(online_id, verified)| CallerLink { online_id, verified }),
        });
        assert_within_limits(&reply);
        prop_assert!(reply.ephemeral());
    }
}
