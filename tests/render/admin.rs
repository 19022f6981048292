//! Snapshots of the server-admin replies (`/track`, `/settings`) and `/leaderboard`, from
//! model values built here; and their limits with many accounts.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use psn::TrophyCounts;
use trophybot::errors::{error_reply, ChannelProblem, CommandError};
use trophybot::model::reply::limits;
use trophybot::model::{AnnounceFilter, GuildSettings, RecapSchedule, TrackedAccount};
use trophybot::model::{LeaderboardPeriod, LeaderboardRow, TrackedAccountView, TrackingStatus};
use trophybot::render::{
    self, BudgetView, CredentialView, TrackAdded, TrackList, TrophyListVisibility,
};

const GUILD: u64 = 100;

fn at(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().expect("a timestamp")
}

fn view(
    online_id: &str,
    channel: Option<u64>,
    status: TrackingStatus,
    presence: Option<bool>,
) -> TrackedAccountView {
    let checked = status != TrackingStatus::Pending;
    TrackedAccountView {
        account: TrackedAccount {
            guild_id: GUILD,
            account_id: format!("id-{online_id}"),
            online_id: online_id.to_string(),
            channel_id: channel,
            added_by: 1,
            added_at: at(1_764_000_000),
        },
        status,
        presence_visible: presence,
        last_checked_at: checked.then(|| at(1_764_000_600)),
        next_check_at: checked.then(|| at(1_764_001_200)),
        history: checked.then_some((120, 134)),
    }
}

fn settings(filter: AnnounceFilter) -> GuildSettings {
    GuildSettings {
        guild_id: GUILD,
        announce_channel_id: Some(200),
        filter,
        language: None,
        milestones: Default::default(),
    }
}

fn list(accounts: Vec<TrackedAccountView>, all_tracked: usize, effective: u64) -> TrackList {
    TrackList {
        settings: settings(AnnounceFilter::GoldAndUp),
        accounts,
        cap: 25,
        all_tracked,
        max_staleness: Duration::from_secs(1800),
        effective_staleness: Duration::from_secs(effective),
        budget: BudgetView {
            requests: 300,
            window: Duration::from_secs(900),
            tracker: 210,
            commands_used: 37,
            server_used: 12,
            server_share: 72,
            user_share: 72,
            members_near_limit: Vec::new(),
            near_limit: 0.8,
        },
        credentials: Vec::new(),
    }
}

fn counts(platinum: u32, gold: u32, silver: u32, bronze: u32) -> TrophyCounts {
    TrophyCounts {
        bronze,
        silver,
        gold,
        platinum,
    }
}

#[test]
fn track_list() {
    // One player's history is complete, another's is being filled in.
    let mut casual = view("sim_casual", Some(250), TrackingStatus::Ok, Some(false));
    casual.history = Some((58, 58));
    let reply = render::track_list(&list(
        vec![
            view("sim_hunter", None, TrackingStatus::Ok, Some(true)),
            casual,
            view("sim_private", None, TrackingStatus::Private, Some(false)),
            view("gone_player", None, TrackingStatus::Gone, None),
            view("new_one", None, TrackingStatus::Pending, None),
        ],
        5,
        1800,
    ));
    assert!(reply.ephemeral());
    insta::assert_json_snapshot!(reply);
}

#[test]
fn track_list_when_the_budget_cannot_keep_the_staleness() {
    let reply = render::track_list(&list(
        vec![view("sim_hunter", None, TrackingStatus::Ok, Some(true))],
        1000,
        8572,
    ));
    insta::assert_json_snapshot!(reply);
}

/// Members near their share are named as mentions (which never ping: allowed_mentions is
/// empty), at most ten, the rest counted.
#[test]
fn track_list_names_the_members_near_their_share() {
    let mut with_members = list(
        vec![view("sim_hunter", None, TrackingStatus::Ok, Some(true))],
        1,
        1800,
    );
    with_members.budget.members_near_limit = (0..12).map(|i| (1_000 + i, 72 - i as u32)).collect();
    let reply = render::track_list(&with_members);
    let field = reply.embeds()[0]
        .fields
        .iter()
        .find(|f| f.name == "PSN budget")
        .expect("a PSN budget field")
        .value
        .clone();
    assert!(
        field.contains("Tracker: **210** of **300** requests per 15 min"),
        "{field}"
    );
    assert!(
        field.contains("**37** across all servers; this server **12** of its **72**"),
        "{field}"
    );
    assert!(
        field.contains("Near their share (80 % or more): <@1000> 72, <@1001> 71"),
        "{field}"
    );
    assert!(
        field.contains("<@1009> 63") && !field.contains("<@1010>"),
        "{field}"
    );
    assert!(field.ends_with(" and 2 more."), "{field}");
    assert!(field.chars().count() <= limits::FIELD_VALUE, "{field}");
}

#[test]
fn track_list_shows_the_pool_of_credentials_only_when_there_are_several() {
    let accounts = vec![view("sim_hunter", None, TrackingStatus::Ok, Some(true))];
    let credential = |n: usize, rejected: bool, accounts: usize, left: u32| CredentialView {
        label: format!("psn-{n}"),
        rejected,
        accounts,
        budget_remaining: left,
    };
    let pool_field = |list: &TrackList| {
        render::track_list(list).embeds()[0]
            .fields
            .iter()
            .find(|f| f.name.starts_with("PSN credentials"))
            .map(|f| (f.name.clone(), f.value.clone()))
    };
    let mut one = list(accounts.clone(), 1, 1800);
    one.credentials = vec![credential(1, false, 1, 300)];
    assert_eq!(pool_field(&one), None);

    let mut pool = list(accounts.clone(), 1_501, 1800);
    pool.credentials = vec![
        credential(1, false, 1_001, 12),
        credential(2, true, 0, 300),
        credential(3, false, 500, 1),
    ];
    let (name, value) = pool_field(&pool).expect("a PSN credentials field");
    assert_eq!(name, "PSN credentials (3)");
    let lines: Vec<&str> = value.lines().collect();
    assert_eq!(
        lines[..3],
        [
            "`psn-1` ✅ healthy · 1,001 accounts · 12 of 300 requests per 15 min free now",
            "`psn-2` ❌ rejected by PSN · 0 accounts · 300 of 300 requests per 15 min free now",
            "`psn-3` ✅ healthy · 500 accounts · 1 of 300 requests per 15 min free now",
        ]
    );

    let mut many = list(accounts, 1, 1800);
    many.credentials = (1..=25).map(|n| credential(n, false, 40, 300)).collect();
    let (_, value) = pool_field(&many).expect("a PSN credentials field");
    assert!(
        value.contains("`psn-10`") && !value.contains("`psn-11`"),
        "{value}"
    );
    assert!(value.contains("…and 15 more."), "{value}");
    assert!(value.chars().count() <= limits::FIELD_VALUE, "{value}");
}

#[test]
fn track_list_empty() {
    insta::assert_json_snapshot!(render::track_list(&list(Vec::new(), 0, 1800)));
}

#[test]
fn track_list_with_thousands_of_accounts_stays_within_limits() {
    let accounts: Vec<_> = (0..2000)
        .map(|i| {
            view(
                &format!("player_{i:04}"),
                Some(250),
                TrackingStatus::Ok,
                Some(true),
            )
        })
        .collect();
    let reply = render::track_list(&list(accounts, 2000, 17_143));
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    assert!(description.chars().count() <= limits::DESCRIPTION);
    assert!(
        description.ends_with("more."),
        "the rest are counted: {description}"
    );
    assert!(reply.embeds_total_chars() <= limits::EMBEDS_TOTAL);
}

#[test]
fn track_added_private_and_renamed() {
    insta::assert_json_snapshot!(render::track_added(&TrackAdded {
        online_id: "sim_newname".to_string(),
        renamed_from: Some("sim_renamed".to_string()),
        channel_id: 200,
        follows_server_channel: true,
        already_tracked: false,
        visibility: TrophyListVisibility::Private,
    }));
}

#[test]
fn track_added_again_moves_the_channel() {
    insta::assert_json_snapshot!(render::track_added(&TrackAdded {
        online_id: "sim_casual".to_string(),
        renamed_from: None,
        channel_id: 250,
        follows_server_channel: false,
        already_tracked: true,
        visibility: TrophyListVisibility::Public,
    }));
}

#[test]
fn settings_saved() {
    let berlin = RecapSchedule {
        weekday: chrono::Weekday::Sun,
        hour: 20,
        time_zone: chrono_tz::Tz::Europe__Berlin,
        ..RecapSchedule::default()
    };
    insta::assert_json_snapshot!(render::settings(
        &settings(AnnounceFilter::RarerThan(5.0)),
        &berlin,
        true,
        "en-GB"
    ));
}

#[test]
fn settings_show_a_recap_turned_off_with_the_time_zone_kept() {
    let off = RecapSchedule {
        enabled: false,
        ..RecapSchedule::default()
    };
    let reply = render::settings(&settings(AnnounceFilter::All), &off, false, "en-GB");
    let recap = reply.embeds()[0]
        .fields
        .iter()
        .find(|field| field.name == "Weekly recap")
        .expect("a recap field");
    assert!(
        recap.value.starts_with("Off (time zone UTC"),
        "{}",
        recap.value
    );
}

#[test]
fn settings_name_the_servers_language_or_the_default() {
    let text = |settings: &GuildSettings| {
        serde_json::to_string(&render::settings(
            settings,
            &RecapSchedule::default(),
            false,
            "en-GB",
        ))
        .expect("json")
    };
    let default = text(&settings(AnnounceFilter::All));
    assert!(
        default.contains("English (UK) (en-GB), the bot's default"),
        "{default}"
    );
    let french = text(&GuildSettings {
        language: Some("fr-FR".to_string()),
        ..settings(AnnounceFilter::All)
    });
    assert!(french.contains("Français (fr-FR)"), "{french}");
    assert!(!french.contains("default"), "{french}");
}

#[test]
fn admin_errors() {
    let errors = [
        CommandError::NeedsManageServer,
        CommandError::TrackCapReached {
            tracked: 25,
            cap: 25,
        },
        CommandError::NotTracked {
            user: "sim_*nobody*".to_string(),
        },
        CommandError::ChannelUnusable {
            channel_id: 210,
            problem: ChannelProblem::NotText,
        },
        CommandError::ChannelUnusable {
            channel_id: 211,
            problem: ChannelProblem::MissingPermissions(vec!["Send Messages", "Embed Links"]),
        },
    ];
    let replies: Vec<_> = errors.iter().map(error_reply).collect();
    assert!(replies.iter().all(|r| r.ephemeral()));
    insta::assert_json_snapshot!(replies);
}

#[test]
fn leaderboard() {
    let rows = vec![
        LeaderboardRow {
            account_id: "1".into(),
            online_id: "sim_hunter".into(),
            earned: Some(counts(12, 140, 420, 1960)),
            period: counts(0, 1, 0, 30),
            verified_discord_user: Some(300),
        },
        LeaderboardRow {
            account_id: "2".into(),
            online_id: "*markdown*_user".into(),
            earned: Some(counts(1, 2, 6, 9)),
            period: TrophyCounts::default(),
            verified_discord_user: None,
        },
        LeaderboardRow {
            account_id: "3".into(),
            online_id: "sim_new".into(),
            earned: None,
            period: TrophyCounts::default(),
            verified_discord_user: None,
        },
    ];
    let reply = render::leaderboard(
        &rows,
        LeaderboardPeriod::AllTime,
        at(1_764_547_200),
        Tz::UTC,
    );
    assert!(!reply.ephemeral(), "the leaderboard is for everyone");
    insta::assert_json_snapshot!(reply);
}

#[test]
fn leaderboard_empty() {
    insta::assert_json_snapshot!(render::leaderboard(
        &[],
        LeaderboardPeriod::AllTime,
        at(1_764_547_200),
        Tz::UTC
    ));
}

/// `period: this week`: ranked by the week's points (a big all-time score earned nothing this
/// week and comes last), the week starting Monday 00:00 in the server's zone.
#[test]
fn leaderboard_this_week() {
    let row = |id: &str, earned: TrophyCounts, period: TrophyCounts| LeaderboardRow {
        account_id: id.into(),
        online_id: id.into(),
        earned: Some(earned),
        period,
        verified_discord_user: None,
    };
    let mut rows = vec![
        row(
            "veteran",
            counts(40, 300, 900, 3000),
            TrophyCounts::default(),
        ),
        row("bronze_fan", counts(0, 0, 1, 30), counts(0, 0, 0, 12)),
        row("plat_week", counts(2, 10, 20, 50), counts(1, 0, 0, 0)),
    ];
    trophybot::model::tracking::rank_by_period(&mut rows);
    let order: Vec<&str> = rows.iter().map(|r| r.online_id.as_str()).collect();
    assert_eq!(
        order,
        ["plat_week", "bronze_fan", "veteran"],
        "300 > 180 > 0"
    );
    // Monday 2026-11-23 00:00 in Berlin.
    let since = at(1_795_388_400);
    insta::assert_json_snapshot!(render::leaderboard(
        &rows,
        LeaderboardPeriod::ThisWeek,
        since,
        Tz::Europe__Berlin
    ));
}

#[test]
fn a_long_leaderboard_shows_the_top_and_counts_the_rest() {
    let rows: Vec<_> = (0..60)
        .map(|i| LeaderboardRow {
            account_id: i.to_string(),
            online_id: format!("player_{i:02}"),
            earned: Some(counts(1, 1, 1, 60 - i)),
            period: counts(0, 0, 0, i),
            verified_discord_user: Some(1000 + u64::from(i)),
        })
        .collect();
    let reply = render::leaderboard(
        &rows,
        LeaderboardPeriod::AllTime,
        at(1_764_547_200),
        Tz::UTC,
    );
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    assert!(description.contains("player\\_24") && !description.contains("player\\_25"));
    assert!(description.ends_with("…and 35 more."), "{description}");
    assert!(reply.embeds_total_chars() <= limits::EMBEDS_TOTAL);
}
