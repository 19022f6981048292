//! The weekly recap's message: a snapshot of a typical week, and its size with a crowded one.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use psn::{TrophyCounts, TrophyType};
use trophybot::model::recap::{
    latest_recap, RecapFirst, RecapPlatinum, RecapPlayer, RecapRarest, RecapSchedule,
};
use trophybot::model::reply::limits;
use trophybot::model::WeeklyRecap;
use trophybot::render;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().expect("a timestamp")
}

fn counts(platinum: u32, gold: u32, silver: u32, bronze: u32) -> TrophyCounts {
    TrophyCounts {
        bronze,
        silver,
        gold,
        platinum,
    }
}

fn berlin_week() -> trophybot::model::RecapWeek {
    let schedule = RecapSchedule {
        time_zone: Tz::Europe__Berlin,
        weekday: chrono::Weekday::Sun,
        hour: 20,
        ..RecapSchedule::default()
    };
    // Sunday 2026-11-29 19:00 UTC is 20:00 in Berlin.
    latest_recap(&schedule, at(1_795_978_800))
}

#[test]
fn weekly_recap() {
    let week = berlin_week();
    let recap = WeeklyRecap {
        time_zone: Tz::Europe__Berlin,
        players: vec![
            RecapPlayer {
                online_id: "sim_hunter".into(),
                earned: counts(1, 2, 3, 10),
            },
            RecapPlayer {
                online_id: "*markdown*_user".into(),
                earned: counts(0, 1, 0, 4),
            },
            RecapPlayer {
                online_id: "sim_casual".into(),
                earned: counts(0, 0, 0, 1),
            },
            RecapPlayer {
                online_id: "sim_fourth".into(),
                earned: counts(0, 0, 0, 1),
            },
        ],
        platinums: vec![RecapPlatinum {
            online_id: "sim_hunter".into(),
            title_name: "Astro's Playroom".into(),
            earned_at: week.start + chrono::Duration::days(3),
        }],
        rarest: Some(RecapRarest {
            online_id: "*markdown*_user".into(),
            title_name: "Bloodborne".into(),
            trophy_name: Some("Yharnam Sunrise".into()),
            kind: TrophyType::Gold,
            earned_rate: 0.8,
        }),
        firsts: vec![RecapFirst {
            online_id: "*markdown*_user".into(),
            title_name: "Bloodborne".into(),
            trophy_name: Some("Yharnam Sunrise".into()),
            kind: TrophyType::Gold,
            earned_at: week.start + chrono::Duration::days(2),
        }],
        week,
    };
    let reply = render::weekly_recap(&recap);
    assert!(!reply.ephemeral());
    let firsts = reply.embeds()[0]
        .fields
        .iter()
        .find(|f| f.name == "Server firsts")
        .expect("a server firsts field");
    assert!(
        firsts
            .value
            .contains("**Yharnam Sunrise** in Bloodborne · **\\*markdown\\*\\_user**"),
        "{}",
        firsts.value
    );
    let description = reply.embeds()[0].description.clone().unwrap_or_default();
    assert!(
        description.contains("\\*markdown\\*\\_user"),
        "names escaped: {description}"
    );
    assert!(
        description.starts_with("23 trophies · 900 points · 4 players · 1 platinum"),
        "{description}"
    );
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_crowded_week_lists_the_top_and_counts_the_rest_within_discord_limits() {
    let week = berlin_week();
    let long = "ＬｏｎｇＧａｍｅ*_~`|> ".repeat(30);
    let recap = WeeklyRecap {
        time_zone: Tz::Europe__Berlin,
        players: (0..200)
            .map(|i| RecapPlayer {
                online_id: format!("p_{i:03}_@everyone"),
                earned: counts(1, 9, 9, 9),
            })
            .collect(),
        platinums: (0..200)
            .map(|i| RecapPlatinum {
                online_id: format!("p_{i:03}_@everyone"),
                title_name: long.clone(),
                earned_at: week.start,
            })
            .collect(),
        rarest: Some(RecapRarest {
            online_id: "p_000".into(),
            title_name: long.clone(),
            trophy_name: Some(long.clone()),
            kind: TrophyType::Platinum,
            earned_rate: 0.1,
        }),
        firsts: (0..200)
            .map(|i| RecapFirst {
                online_id: format!("p_{i:03}_@everyone"),
                title_name: long.clone(),
                trophy_name: Some(long.clone()),
                kind: TrophyType::Gold,
                earned_at: week.start,
            })
            .collect(),
        week,
    };
    let reply = render::weekly_recap(&recap);
    assert_eq!(reply.embeds().len(), 1);
    let embed = &reply.embeds()[0];
    assert!(reply.embeds_total_chars() <= limits::EMBEDS_TOTAL);
    assert!(embed.fields.len() <= limits::FIELDS);
    let description = embed.description.clone().unwrap_or_default();
    assert!(description.ends_with("…and 190 more."), "{description}");
    let platinums = &embed.fields[0].value;
    assert!(platinums.chars().count() <= limits::FIELD_VALUE);
    assert!(platinums.contains("more."), "{platinums}");
    let firsts = &embed.fields.last().expect("firsts").value;
    assert_eq!(embed.fields.last().unwrap().name, "Server firsts");
    assert!(firsts.ends_with(" more."), "capped: {firsts}");
    assert!(
        firsts.lines().count() <= render::RECAP_FIRSTS + 1,
        "{firsts}"
    );
    assert!(firsts.chars().count() <= limits::FIELD_VALUE);
    for field in &embed.fields {
        assert!(
            !field.value.ends_with('…'),
            "nothing cut mid-line: {}",
            field.value
        );
    }
}
