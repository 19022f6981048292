//! Snapshots of every rendered reply, from model values built here (no I/O, no secrets).

use chrono::{TimeZone, Utc};
use psn::{
    Account, GroupDefinition, NpService, Platform, Rarity, TitleDefinition, TitleProgress,
    TrophyCounts, TrophyDefinition, TrophySummary, TrophyType, UserTitleTrophies, UserTrophy,
};
use trophybot::console::text::reply_text;
use trophybot::errors::{error_reply, CommandError};
use trophybot::render::{self, CompareSide, RareTrophy, RarestScope, HIDDEN_NAME};

fn account(online_id: &str, account_id: &str) -> Account {
    Account {
        account_id: account_id.into(),
        online_id: online_id.into(),
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

fn progress(
    id: &str,
    name: &str,
    platforms: &str,
    percent: u32,
    earned: TrophyCounts,
) -> TitleProgress {
    TitleProgress {
        np_communication_id: id.into(),
        service: Some(NpService::Trophy2),
        name: name.into(),
        detail: None,
        icon_url: Some(format!("https://image.example/{id}.png")),
        platforms: Platform::parse_list(platforms),
        has_groups: false,
        defined: counts(1, 4, 10, 30),
        earned,
        progress: percent,
        hidden: false,
        last_updated: Some(Utc.with_ymd_and_hms(2025, 3, 17, 12, 47, 47).unwrap()),
    }
}

fn summary(account: &Account, level: u32, earned: TrophyCounts) -> TrophySummary {
    TrophySummary {
        account: account.clone(),
        level: Some(level),
        level_progress: Some(42),
        tier: Some(3),
        earned,
    }
}

fn hunter_titles() -> Vec<TitleProgress> {
    vec![
        progress(
            "NPWR29738_00",
            "Monster Hunter Wilds",
            "PS5",
            75,
            counts(0, 0, 10, 33),
        ),
        progress(
            "NPWR19136_00",
            "ASTRO BOT",
            "PS5",
            100,
            counts(1, 4, 10, 30),
        ),
        progress(
            "NPWR30068_00",
            "Moving Out 2",
            "PS4",
            12,
            counts(0, 0, 1, 4),
        ),
        progress(
            "NPWR20000_00",
            "**Bold** @everyone <@123>",
            "PS5,PSPC",
            3,
            counts(0, 0, 0, 1),
        ),
    ]
}

/// A title with a base game of 14 trophies and a 3-trophy add-on; hidden trophies earned and not.
fn title_trophies() -> UserTitleTrophies {
    let def = |id: u32, group: &str, kind: TrophyType, hidden: bool, name: &str| TrophyDefinition {
        id,
        group_id: group.into(),
        hidden,
        kind,
        name: name.into(),
        detail: format!("Detail of {name}"),
        icon_url: Some(format!("https://image.example/trophy{id}.png")),
    };
    let mut trophies = Vec::new();
    for id in 0..17u32 {
        let group = if id < 14 { "default" } else { "001" };
        let kind = match id {
            0 => TrophyType::Platinum,
            1..=2 => TrophyType::Gold,
            3..=6 => TrophyType::Silver,
            _ => TrophyType::Bronze,
        };
        let hidden = id == 5 || id == 15;
        let name = match id {
            5 => "Secret Ending Spoiler".to_string(),
            15 => "Earned Secret".to_string(),
            9 => "_Under_ *star* `tick` > quote".to_string(),
            _ => format!("Trophy {id}"),
        };
        let earned = id % 3 != 2 && id != 5;
        let earned_at = match (earned, id) {
            (false, _) | (true, 4) => None,
            (true, _) => Some(Utc.with_ymd_and_hms(2024, 1, 1 + id, 10, 0, 0).unwrap()),
        };
        let rate = 0.5 + f64::from(id) * 5.0;
        trophies.push(UserTrophy {
            definition: def(id, group, kind, hidden, &name),
            earned,
            earned_at,
            earned_rate: Some(rate),
            rarity: Some(Rarity::from_earned_rate(rate)),
        });
    }
    UserTitleTrophies {
        account: account("sim_hunter", "7112582507065093571"),
        title: TitleDefinition {
            np_communication_id: "NPWR19136_00".into(),
            service: Some(NpService::Trophy2),
            name: "ASTRO BOT".into(),
            detail: None,
            icon_url: Some("https://image.example/astro.png".into()),
            platforms: vec![Platform::Ps5],
            defined: counts(1, 2, 4, 10),
            groups: vec![
                GroupDefinition {
                    id: "default".into(),
                    name: "ASTRO BOT".into(),
                    detail: None,
                    icon_url: None,
                    defined: counts(1, 2, 4, 7),
                },
                GroupDefinition {
                    id: "001".into(),
                    name: "Stellar Speedway".into(),
                    detail: None,
                    icon_url: None,
                    defined: counts(0, 0, 0, 3),
                },
            ],
            trophies: trophies.iter().map(|t| t.definition.clone()).collect(),
        },
        trophies,
        last_updated: Some(Utc.with_ymd_and_hms(2024, 2, 1, 0, 0, 0).unwrap()),
    }
}

#[test]
fn profile() {
    let hunter = account("sim_hunter", "7112582507065093571");
    let reply = render::profile(
        &hunter,
        Some(&summary(&hunter, 409, counts(39, 428, 1364, 4761))),
        &hunter_titles(),
    );
    insta::assert_json_snapshot!(reply);
}

/// One game bought four times (regions and platforms) beside two others.
fn twins_titles() -> Vec<TitleProgress> {
    vec![
        progress(
            "NPWR40001_00",
            "Italian Journey",
            "PS5",
            100,
            counts(1, 4, 10, 30),
        ),
        progress(
            "NPWR40002_00",
            "Italian Journey",
            "PS4",
            60,
            counts(0, 2, 6, 20),
        ),
        progress(
            "NPWR40003_00",
            "Italian Journey",
            "PS5",
            20,
            counts(0, 0, 2, 8),
        ),
        progress(
            "NPWR40004_00",
            "italian journey",
            "PS5",
            5,
            counts(0, 0, 0, 2),
        ),
        progress(
            "NPWR19136_00",
            "ASTRO BOT",
            "PS5",
            100,
            counts(1, 4, 10, 30),
        ),
        progress(
            "NPWR30068_00",
            "Moving Out 2",
            "PS4",
            12,
            counts(0, 0, 1, 4),
        ),
    ]
}

#[test]
fn profile_tells_titles_of_the_same_name_apart() {
    let user = account("globetrotter", "5840172395516170132");
    let reply = render::profile(
        &user,
        Some(&summary(&user, 52, counts(2, 10, 29, 94))),
        &twins_titles(),
    );
    let names: Vec<&str> = reply.embeds()[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Italian Journey (PS5, NPWR40001_00)",
            "Italian Journey (PS4)",
            "Italian Journey (PS5, NPWR40003_00)",
            "italian journey (PS5, NPWR40004_00)",
            "ASTRO BOT (PS5)",
            "Moving Out 2 (PS4)",
        ]
    );
    insta::assert_json_snapshot!(reply);
}

#[test]
fn profile_groups_big_numbers() {
    let user = account("completionist", "3306181518307532761");
    // 3,000 + 10,000 + 13,350 + 24,979 = 51,329 trophies worth 2,575,185 points.
    let earned = counts(3000, 10_000, 13_350, 24_979);
    let reply = render::profile(&user, Some(&summary(&user, 999, earned)), &hunter_titles());
    let text = reply_text(&reply);
    assert!(
        text.contains("🏆 3,000 · 🥇 10,000 · 🥈 13,350 · 🥉 24,979"),
        "{text}"
    );
    assert!(
        text.contains("51,329 trophies · 2,575,185 points"),
        "{text}"
    );
    insta::assert_json_snapshot!(reply);
}

#[test]
fn same_name_titles_are_told_apart_in_comparisons_and_rarest() {
    let globetrotter = account("globetrotter", "5840172395516170132");
    let tourist = account("tourist", "2203948271650019374");
    let side = |account: &Account, recent: Vec<TitleProgress>| CompareSide {
        account: account.clone(),
        summary: Some(summary(account, 10, counts(0, 1, 2, 3))),
        recent,
        library_cut: false,
    };
    let tourist_titles: Vec<TitleProgress> = twins_titles()
        .into_iter()
        .map(|t| TitleProgress {
            progress: t.progress / 2,
            ..t
        })
        .collect();
    let reply = render::compare(
        &side(&globetrotter, twins_titles()),
        &side(&tourist, tourist_titles),
    );
    let shared: Vec<&str> = reply.embeds()[0].fields[3..]
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        shared[..4],
        [
            "Italian Journey (PS5, NPWR40001_00)",
            "Italian Journey (PS4)",
            "Italian Journey (PS5, NPWR40003_00)",
            "italian journey (PS5, NPWR40004_00)",
        ]
    );

    let trophy = title_trophies().trophies[0].clone();
    let rare: Vec<RareTrophy> = twins_titles()
        .iter()
        .take(3)
        .chain(twins_titles().iter().take(1))
        .map(|t| RareTrophy {
            np_communication_id: t.np_communication_id.clone(),
            title_name: t.name.clone(),
            platforms: t.platforms.clone(),
            trophy: trophy.definition.clone(),
            earned_at: trophy.earned_at,
            earned_rate: trophy.earned_rate,
            rarity: trophy.rarity,
        })
        .collect();
    let reply = render::rarest(
        &globetrotter,
        &rare,
        &RarestScope::RecentTitles {
            count: 6,
            covered: 6,
        },
    );
    let text = reply_text(&reply);
    assert!(
        text.contains("— Italian Journey (PS5, NPWR40001_00)")
            && text.contains("— Italian Journey (PS4)")
            && text.contains("— Italian Journey (PS5, NPWR40003_00)"),
        "{text}"
    );
    // The same title twice is no collision: the PS4 title alone has its name and platform.
    assert!(!text.contains("NPWR40002_00"), "{text}");
}

#[test]
fn profile_without_summary_counts_the_titles() {
    let user = account("ikemenzi", "6515971742264256071");
    let reply = render::profile(&user, None, &hunter_titles());
    let text = reply_text(&reply);
    assert!(text.contains("Level unknown"), "{text}");
    // 0+1+0+0 platinum, 10+10+1+0 silver ... summed over the four titles.
    assert!(text.contains("🏆 1 · 🥇 4 · 🥈 21 · 🥉 68"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn title_first_page() {
    let reply = render::title_page(&title_trophies(), 0);
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    // Trophy 5 is hidden and not earned: masked.
    assert!(description.contains(HIDDEN_NAME));
    assert!(!description.contains("Secret Ending Spoiler"));
    insta::assert_json_snapshot!(reply);
}

#[test]
fn title_later_page_shows_the_add_on_and_earned_hidden_trophies() {
    let reply = render::title_page(&title_trophies(), 1);
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    assert!(description.contains("Add-on: Stellar Speedway"));
    // Trophy 15 is hidden but earned: shown.
    assert!(description.contains("Earned Secret"));
    let buttons = &reply.components()[0].components;
    assert!(!buttons[0].disabled && buttons[1].disabled);
    insta::assert_json_snapshot!(reply);
}

#[test]
fn title_page_past_the_end_shows_the_last_page() {
    assert_eq!(
        render::title_page(&title_trophies(), 99),
        render::title_page(&title_trophies(), 1)
    );
}

#[test]
fn compare_profiles() {
    let hunter = account("sim_hunter", "7112582507065093571");
    let casual = account("sim_casual", "6949689936202467910");
    let mut casual_titles = vec![
        progress("NPWR19136_00", "ASTRO BOT", "PS5", 5, counts(0, 0, 0, 4)),
        progress("NPWR11111_00", "Only Casual", "PS4", 19, counts(0, 1, 0, 3)),
    ];
    casual_titles.push(progress(
        "NPWR30068_00",
        "Moving Out 2",
        "PS4",
        50,
        counts(0, 1, 2, 4),
    ));
    let reply = render::compare(
        &CompareSide {
            summary: Some(summary(&hunter, 409, counts(39, 428, 1364, 4761))),
            account: hunter,
            recent: hunter_titles(),
            library_cut: false,
        },
        &CompareSide {
            summary: Some(summary(&casual, 8, counts(0, 1, 3, 18))),
            account: casual,
            recent: casual_titles,
            library_cut: false,
        },
    );
    let text = reply_text(&reply);
    assert!(
        text.contains("Shared titles: sim_hunter ahead in 1, sim_casual ahead in 1"),
        "{text}"
    );
    insta::assert_json_snapshot!(reply);
}

/// A library cut at the command's cap says so; an uncut one does not.
#[test]
fn compare_says_when_a_library_was_cut_at_the_cap() {
    let hunter = account("sim_hunter", "2847562911838457302");
    let casual = account("sim_casual", "6949689936202467910");
    let footer = |library_cut: bool| {
        let reply = render::compare(
            &CompareSide {
                summary: None,
                account: hunter.clone(),
                recent: hunter_titles(),
                library_cut,
            },
            &CompareSide {
                summary: None,
                account: casual.clone(),
                recent: Vec::new(),
                library_cut: false,
            },
        );
        reply.embeds()[0]
            .footer
            .clone()
            .map(|f| f.text)
            .unwrap_or_default()
    };
    assert!(
        footer(true).ends_with("past this command's PSN request cap"),
        "{}",
        footer(true)
    );
    assert!(!footer(false).contains("cap"), "{}", footer(false));
}

#[test]
fn compare_one_title() {
    let a = title_trophies();
    let mut b = title_trophies();
    b.account = account("sim_casual", "6949689936202467910");
    for (i, t) in b.trophies.iter_mut().enumerate() {
        t.earned = i == 5 || i == 7;
    }
    let reply = render::compare_title(&a, &b);
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    // Trophy 5: hidden, not earned by sim_hunter but earned by sim_casual: no longer a secret.
    assert!(description.contains("Secret Ending Spoiler"));
    insta::assert_json_snapshot!(reply);
}

#[test]
fn rarest() {
    let hunter = account("sim_hunter", "7112582507065093571");
    let title = title_trophies();
    let rare: Vec<RareTrophy> = title
        .trophies
        .iter()
        .filter(|t| t.earned)
        .take(5)
        .map(|t| RareTrophy {
            np_communication_id: title.title.np_communication_id.clone(),
            title_name: title.title.name.clone(),
            platforms: title.title.platforms.clone(),
            trophy: t.definition.clone(),
            earned_at: t.earned_at,
            earned_rate: t.earned_rate,
            rarity: t.rarity,
        })
        .collect();
    let reply = render::rarest(
        &hunter,
        &rare,
        &RarestScope::RecentTitles {
            count: 50,
            covered: 50,
        },
    );
    assert_eq!(
        reply.embeds()[0].footer.as_ref().map(|f| f.text.as_str()),
        Some("Across their 50 most recent titles")
    );
    insta::assert_json_snapshot!(reply);
    // A capped answer says how much of the library it covers, and that asking again covers more.
    let partial = render::rarest(
        &hunter,
        &rare,
        &RarestScope::RecentTitles {
            count: 50,
            covered: 12,
        },
    );
    assert_eq!(
        partial.embeds()[0].footer.as_ref().map(|f| f.text.as_str()),
        Some("Covers 12 of their 50 most recent titles · ask again later to cover more")
    );
    let in_title = render::rarest(
        &hunter,
        &rare[..1],
        &RarestScope::Title {
            name: "ASTRO BOT".into(),
        },
    );
    assert_eq!(
        in_title.embeds()[0]
            .footer
            .as_ref()
            .map(|f| f.text.as_str()),
        Some("In ASTRO BOT")
    );
}

#[test]
fn error_replies() {
    let errors = [
        (
            "invalid_online_id",
            CommandError::Psn(psn::Error::InvalidOnlineId("a b".into())),
            "online id",
        ),
        (
            "user_not_found",
            CommandError::Psn(psn::Error::UserNotFound("nobody_here".into())),
            "not found",
        ),
        (
            "title_not_found",
            CommandError::Psn(psn::Error::TitleNotFound("NPWR99999_00".into())),
            "not found",
        ),
        (
            "game_not_found",
            CommandError::GameNotFound {
                online_id: "sim_hunter".into(),
                query: "zelda".into(),
            },
            "not found",
        ),
        (
            "private",
            CommandError::Psn(psn::Error::Private("sim_private".into())),
            "private",
        ),
        (
            "rate_limited",
            CommandError::Psn(psn::Error::RateLimited {
                retry_at: Utc.with_ymd_and_hms(2026, 11, 1, 12, 15, 0).unwrap(),
            }),
            "rate limit",
        ),
        (
            "credential",
            CommandError::Psn(psn::Error::Credential("refresh token rejected".into())),
            "credential",
        ),
        (
            "unavailable",
            CommandError::Psn(psn::Error::Unavailable("503".into())),
            "unavailable",
        ),
        (
            "malformed",
            CommandError::Psn(psn::Error::Malformed("missing field".into())),
            "unexpected",
        ),
        (
            "unsupported",
            CommandError::Psn(psn::Error::Unsupported("presence".into())),
            "does not offer presence",
        ),
        (
            "same_account",
            CommandError::SameAccount {
                online_id: "sim_hunter".into(),
            },
            "same psn account twice",
        ),
        (
            "bad_option",
            CommandError::BadOption("`count` must be between 1 and 25.".into()),
            "count",
        ),
    ];
    for (name, err, words) in errors {
        let reply = error_reply(&err);
        assert!(reply.ephemeral(), "{name}");
        assert_eq!(err.exit_code(), 1);
        let json = serde_json::to_string(&reply)
            .unwrap_or_default()
            .to_lowercase();
        assert!(json.contains(words), "{name}: {json}");
        insta::assert_json_snapshot!(name, reply);
    }
    let retry = error_reply(&CommandError::Psn(psn::Error::RateLimited {
        retry_at: Utc.with_ymd_and_hms(2026, 11, 1, 12, 15, 0).unwrap(),
    }));
    let description = retry.embeds()[0].description.clone().unwrap_or_default();
    assert!(
        description.contains("2026-11-01 12:15:00 UTC") && description.contains("<t:1793535300:R>"),
        "{description}"
    );
}

#[test]
fn markdown_in_names_is_escaped_and_mentions_broken() {
    let hunter = account("sim_hunter", "7112582507065093571");
    let reply = render::profile(&hunter, None, &hunter_titles());
    let name = &reply.embeds()[0].fields[3].name;
    assert_eq!(
        name,
        "\\*\\*Bold\\*\\* @\u{200B}everyone <@\u{200B}123> (PS5 · PC)"
    );
}
