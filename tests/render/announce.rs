//! Announcements of new trophies: snapshots of each shape, and a property test that any batch
//! stays within Discord's limits (with room for the deliverer's reference) and loses no trophy.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use psn::{Platform, Rarity, TrophyCounts, TrophyDefinition, TrophyType, UserTrophy};
use trophybot::model::reply::{limits, Reply};
use trophybot::model::{AnnounceFilter, PlayerBatch, ServerContext, ServerContexts, TitleEarnings};
use trophybot::render::{
    announcements, announcements_in_server, delivery_problem, ordinal, server_context_text,
    DeliveryFailure, COLOR_PLATINUM, REFERENCE_RESERVE,
};

use crate::support::render::{assert_within_limits, text, trophy_kind};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 19, minute, 0)
        .single()
        .expect("valid time")
}

fn trophy(id: u32, kind: TrophyType, name: &str, rate: f64) -> UserTrophy {
    UserTrophy {
        definition: TrophyDefinition {
            id,
            group_id: "default".into(),
            hidden: false,
            kind,
            name: name.into(),
            detail: format!("Do the thing called {name}."),
            icon_url: Some(format!("https://image.example/trophy/{id}.png")),
        },
        earned: true,
        earned_at: Some(at(id % 60)),
        earned_rate: Some(rate),
        rarity: Some(Rarity::from_earned_rate(rate)),
    }
}

fn title(name: &str, trophies: Vec<UserTrophy>, progress_after: u32) -> TitleEarnings {
    TitleEarnings {
        np_communication_id: "NPWR12345_00".into(),
        title_name: name.into(),
        title_icon_url: Some("https://image.example/title.png".into()),
        platforms: vec![Platform::Ps5],
        trophies,
        progress_after,
        earned_after: TrophyCounts::default(),
        defined: TrophyCounts::default(),
    }
}

fn batch(titles: Vec<TitleEarnings>) -> PlayerBatch {
    PlayerBatch {
        account_id: "4961645768932466573".into(),
        online_id: "sim_hunter".into(),
        titles,
    }
}

fn only(replies: Vec<Reply>) -> Reply {
    assert_eq!(replies.len(), 1, "one message per player per batch");
    replies.into_iter().next().expect("one reply")
}

#[test]
fn a_single_trophy() {
    let reply = only(announcements(
        &batch(vec![title(
            "ASTRO BOT",
            vec![trophy(7, TrophyType::Gold, "Rescue *Everyone*", 4.6)],
            42,
        )]),
        &AnnounceFilter::All,
    ));
    assert_eq!(reply.embeds().len(), 1);
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_hidden_trophy_is_revealed_once_earned() {
    let mut secret = trophy(12, TrophyType::Silver, "The Twist", 12.0);
    secret.definition.hidden = true;
    let reply = only(announcements(
        &batch(vec![title("Lost Horizon", vec![secret], 60)]),
        &AnnounceFilter::All,
    ));
    let embed = &reply.embeds()[0];
    assert!(embed.title.as_deref().unwrap_or("").contains("The Twist"));
    assert!(embed
        .description
        .as_deref()
        .unwrap_or("")
        .contains("Do the thing called The Twist."));
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_platinum_gets_its_celebration() {
    let reply = only(announcements(
        &batch(vec![title(
            "Eternal Crown",
            vec![
                trophy(30, TrophyType::Gold, "Last Boss", 8.0),
                trophy(0, TrophyType::Platinum, "Crowned", 1.2),
            ],
            100,
        )]),
        &AnnounceFilter::All,
    ));
    assert_eq!(reply.embeds().len(), 2);
    assert_eq!(reply.embeds()[1].color, Some(COLOR_PLATINUM));
    insta::assert_json_snapshot!(reply);
}

#[test]
fn nothing_is_announced_when_the_filter_rejects_every_trophy() {
    let found = batch(vec![title(
        "ASTRO BOT",
        vec![
            trophy(1, TrophyType::Bronze, "Step One", 80.0),
            trophy(2, TrophyType::Gold, "Step Two", 30.0),
        ],
        10,
    )]);
    assert!(announcements(&found, &AnnounceFilter::PlatinumOnly).is_empty());
    assert!(announcements(&found, &AnnounceFilter::RarerThan(5.0)).is_empty());
    assert_eq!(
        only(announcements(&found, &AnnounceFilter::GoldAndUp))
            .embeds()
            .len(),
        1
    );
    assert!(announcements(&batch(Vec::new()), &AnnounceFilter::All).is_empty());
}

/// 60 trophies over 5 games after downtime: one message, summarised per game.
#[test]
fn a_big_catch_up_is_summarised_in_one_message() {
    let names = [
        "ASTRO BOT",
        "Lost Horizon",
        "Eternal Crown",
        "Ancient Harbor",
        "Shattered Requiem",
    ];
    let titles = names
        .iter()
        .enumerate()
        .map(|(g, name)| {
            let trophies = (0..12u32)
                .map(|i| {
                    let id = g as u32 * 12 + i + 1;
                    let kind = match i {
                        0 if g == 2 => TrophyType::Platinum,
                        0..=1 => TrophyType::Gold,
                        2..=4 => TrophyType::Silver,
                        _ => TrophyType::Bronze,
                    };
                    trophy(id, kind, &format!("Trophy {id}"), f64::from(id % 50) + 0.5)
                })
                .collect();
            title(name, trophies, 20 + g as u32 * 15)
        })
        .collect();
    let reply = only(announcements(&batch(titles), &AnnounceFilter::All));
    assert!(reply.embeds().len() <= limits::EMBEDS);
    assert!(reply.embeds_total_chars() <= limits::EMBEDS_TOTAL - REFERENCE_RESERVE);
    let header = reply.embeds()[0].title.as_deref().unwrap_or("");
    assert!(header.contains("60 trophies"), "{header}");
    assert!(reply
        .embeds()
        .iter()
        .any(|e| e.color == Some(COLOR_PLATINUM)));
    insta::assert_json_snapshot!(reply);
}

#[test]
fn the_admins_hear_of_a_broken_channel() {
    let reply = delivery_problem(
        Some("Trophy *Room*"),
        555,
        DeliveryFailure::Gone,
        &["sim_hunter".into(), "@everyone".into()],
    );
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    assert!(
        description.contains("<#555> on **Trophy \\*Room\\***"),
        "{description}"
    );
    assert!(description.contains("no longer exists"));
    assert!(!description.contains("@everyone"), "mentions are broken");
    insta::assert_json_snapshot!(reply);
}

/// Discord's limits, and the room the renderer keeps for the deliverer's reference (rather
/// than relying on `Reply` to cut text).
fn assert_fits_with_reference(reply: &Reply) {
    assert_within_limits(reply);
    assert!(reply.embeds_total_chars() <= limits::EMBEDS_TOTAL - REFERENCE_RESERVE);
}

fn any_trophy() -> impl Strategy<Value = UserTrophy> {
    (
        text(),
        text(),
        any::<bool>(),
        0u8..4,
        proptest::option::of(0.0f64..100.0),
    )
        .prop_map(|(name, detail, hidden, kind, rate)| UserTrophy {
            definition: TrophyDefinition {
                id: 1,
                group_id: "default".into(),
                hidden,
                kind: trophy_kind(kind),
                name,
                detail,
                icon_url: None,
            },
            earned: true,
            earned_at: None,
            earned_rate: rate,
            rarity: rate.map(Rarity::from_earned_rate),
        })
}

fn any_title() -> impl Strategy<Value = TitleEarnings> {
    (
        text(),
        text(),
        proptest::collection::vec(any_trophy(), 0..25),
        0u32..=100,
    )
        .prop_map(|(name, platforms, trophies, progress)| TitleEarnings {
            np_communication_id: "NPWR12345_00".into(),
            title_name: name,
            title_icon_url: None,
            platforms: Platform::parse_list(&platforms),
            trophies,
            progress_after: progress,
            earned_after: TrophyCounts::default(),
            defined: TrophyCounts::default(),
        })
}

fn any_context() -> impl Strategy<Value = ServerContext> {
    (
        0u32..50,
        proptest::option::of(1u32..50),
        any::<bool>(),
        proptest::collection::vec(text(), 0..12),
    )
        .prop_map(|(fellows, rank, complete, also)| ServerContext {
            fellows,
            rank,
            complete,
            also,
        })
}

fn any_filter() -> impl Strategy<Value = AnnounceFilter> {
    prop_oneof![
        Just(AnnounceFilter::All),
        Just(AnnounceFilter::GoldAndUp),
        Just(AnnounceFilter::PlatinumOnly),
        (0.1f32..100.0).prop_map(AnnounceFilter::RarerThan),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_batch_fits_in_one_message(
        online_id in text(),
        titles in proptest::collection::vec(any_title(), 0..16),
        filter in any_filter(),
        context in proptest::option::of(any_context()),
    ) {
        let passing: usize = titles
            .iter()
            .flat_map(|t| &t.trophies)
            .filter(|t| filter.passes(t.definition.kind, t.earned_rate))
            .count();
        let found = PlayerBatch { account_id: "1".into(), online_id, titles };
        // The server context, when given, is every trophy's (they share their ids here).
        let contexts: ServerContexts = context
            .into_iter()
            .map(|c| (("NPWR12345_00".to_string(), 1), c))
            .collect();
        let replies = announcements_in_server(&found, &filter, &contexts);
        prop_assert_eq!(replies.len(), usize::from(passing > 0));
        for reply in &replies {
            assert_fits_with_reference(reply);
            // Nothing is dropped silently: a trophy has its embed, or the header counts it.
            let header = reply.embeds()[0].title.clone().unwrap_or_default();
            let counted = header.ends_with(&format!("earned {passing} trophies"))
                || header.ends_with("earned 1 trophy");
            prop_assert!(
                counted || (passing <= 4 && reply.embeds().len() == passing),
                "{} embeds for {} trophies, header {}",
                reply.embeds().len(),
                passing,
                header
            );
        }
    }
}

/// A catch-up too big to list: 40 games of 30 trophies still make one message, with the rest
/// counted rather than dropped.
#[test]
fn a_huge_catch_up_counts_what_it_cannot_list() {
    let titles = (0..40u32)
        .map(|g| {
            let trophies = (0..30u32)
                .map(|i| {
                    trophy(
                        g * 30 + i + 1,
                        TrophyType::Bronze,
                        &format!("A rather long trophy name number {i}"),
                        60.0,
                    )
                })
                .collect();
            title(&format!("Game number {g}"), trophies, 50)
        })
        .collect();
    let reply = only(announcements(&batch(titles), &AnnounceFilter::All));
    assert_eq!(reply.embeds().len(), limits::EMBEDS);
    assert!(reply.embeds_total_chars() <= limits::EMBEDS_TOTAL - REFERENCE_RESERVE);
    let header = reply.embeds()[0].title.clone().unwrap_or_default();
    assert!(header.ends_with("earned 1,200 trophies"), "{header}");
    let text: Vec<String> = reply
        .embeds()
        .iter()
        .filter_map(|e| e.description.clone())
        .collect();
    assert!(text.iter().any(|d| d.contains("more")), "{text:?}");
    let last = reply.embeds().last().and_then(|e| e.title.clone());
    assert_eq!(last.as_deref(), Some("And 32 more games"));
}

/// Two games of one name and platform (two regions) in one batch: their names tell them apart.
#[test]
fn games_of_the_same_name_are_told_apart() {
    let twin = |id: &str, trophy_id: u32| TitleEarnings {
        np_communication_id: id.into(),
        ..title(
            "Italian Journey",
            vec![trophy(trophy_id, TrophyType::Gold, "Arrivederci", 12.0)],
            30,
        )
    };
    let reply = only(announcements(
        &batch(vec![twin("NPWR40001_00", 1), twin("NPWR40003_00", 2)]),
        &AnnounceFilter::All,
    ));
    let games: Vec<&str> = reply
        .embeds()
        .iter()
        .flat_map(|e| &e.fields)
        .filter(|f| f.name == "Game")
        .map(|f| f.value.as_str())
        .collect();
    assert_eq!(
        games,
        [
            "Italian Journey (PS5, NPWR40001_00)",
            "Italian Journey (PS5, NPWR40003_00)"
        ]
    );
}

fn context(fellows: u32, rank: Option<u32>, complete: bool, also: &[&str]) -> ServerContext {
    ServerContext {
        fellows,
        rank,
        complete,
        also: also.iter().map(|name| name.to_string()).collect(),
    }
}

#[test]
fn ordinals_read_as_english() {
    let read: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 101, 111]
        .into_iter()
        .map(ordinal)
        .collect();
    assert_eq!(
        read,
        [
            "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st",
            "111th"
        ]
    );
}

#[test]
fn the_server_context_says_the_rank_and_who_else_has_it() {
    assert_eq!(
        server_context_text(&context(3, Some(2), true, &["alpha_1", "beta"])).as_deref(),
        Some("**2nd** in this server to earn it\nAlso earned by **alpha\\_1** and **beta**")
    );
    assert_eq!(
        server_context_text(&context(1, Some(1), true, &[])).as_deref(),
        Some("🥇 **1st** in this server to earn it")
    );
    assert_eq!(
        server_context_text(&context(6, Some(3), true, &["a", "b", "c", "d", "e"])).as_deref(),
        Some("**3rd** in this server to earn it\nAlso earned by **a**, **b**, **c** and 2 more")
    );
}

#[test]
fn the_server_context_says_only_what_is_known() {
    // A fellow player's history is not stored yet: the rank is among those checked.
    assert_eq!(
        server_context_text(&context(2, Some(1), false, &[])).as_deref(),
        Some("🥇 **1st** in this server, among players checked so far")
    );
    // An undated trophy somewhere: no rank, still who else has it.
    assert_eq!(
        server_context_text(&context(2, None, true, &["*bold*"])).as_deref(),
        Some("Also earned by **\\*bold\\***")
    );
    // Nobody else tracked in the server: nothing to say.
    assert_eq!(server_context_text(&context(0, Some(1), true, &[])), None);
}

#[test]
fn an_announcement_in_a_server_shows_its_context_and_an_ultra_rare_tier() {
    let found = batch(vec![title(
        "ASTRO BOT",
        vec![trophy(7, TrophyType::Gold, "Rescue Everyone", 0.8)],
        42,
    )]);
    let contexts: ServerContexts = [(
        ("NPWR12345_00".to_string(), 7),
        context(4, Some(2), true, &["first_finder"]),
    )]
    .into_iter()
    .collect();
    let reply = only(announcements_in_server(
        &found,
        &AnnounceFilter::All,
        &contexts,
    ));
    let embed = &reply.embeds()[0];
    let field = |name: &str| {
        embed
            .fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.clone())
    };
    assert_eq!(
        field("In this server").as_deref(),
        Some("**2nd** in this server to earn it\nAlso earned by **first\\_finder**")
    );
    assert!(
        field("Rarity").is_some_and(|r| r.starts_with("💎 **")),
        "{:?}",
        field("Rarity")
    );
    insta::assert_json_snapshot!(reply);
}
