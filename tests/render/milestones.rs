//! Milestone posts: a snapshot of each kind, names escaped, and a property test that any name
//! keeps a post within Discord's limits.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use psn::{Platform, TrophyCounts, TrophyType};
use trophybot::model::{Milestone, MilestoneGame, MilestoneKind};
use trophybot::render::milestone;

use crate::support::render::{assert_within_limits, text};

fn reached(kind: MilestoneKind) -> Milestone {
    Milestone {
        account_id: "4961645768932466573".into(),
        online_id: "sim_hunter".into(),
        kind,
        reached_at: Utc.with_ymd_and_hms(2026, 11, 24, 19, 30, 0).single(),
    }
}

fn game(name: &str) -> MilestoneGame {
    MilestoneGame {
        np_communication_id: "NPWR12345_00".into(),
        name: name.into(),
        icon_url: Some("https://image.example/title.png".into()),
        platforms: vec![Platform::Ps5],
    }
}

#[test]
fn a_hundredth_platinum() {
    let reply = milestone(&reached(MilestoneKind::Platinum {
        count: 100,
        game: Some(game("ASTRO BOT")),
    }));
    assert_within_limits(&reply);
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_first_platinum_among_several_at_once_names_no_game() {
    let reply = milestone(&reached(MilestoneKind::Platinum {
        count: 1,
        game: None,
    }));
    let text = serde_json::to_string(&reply).unwrap();
    assert!(text.contains("1st platinum"), "{text}");
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_new_level_tier() {
    let reply = milestone(&reached(MilestoneKind::Level {
        level: 300,
        tier: 4,
    }));
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_completed_game_with_markdown_in_names() {
    let reply = milestone(&Milestone {
        online_id: "under_score_".into(),
        ..reached(MilestoneKind::Completion {
            game: game("**Bold** _Game_ @everyone"),
            trophies: TrophyCounts {
                bronze: 40,
                silver: 12,
                gold: 4,
                platinum: 1,
            },
        })
    });
    let text = serde_json::to_string(&reply).unwrap();
    assert!(text.contains(r"under\\_score\\_"), "{text}");
    assert!(text.contains(r"\\*\\*Bold\\*\\*"), "{text}");
    insta::assert_json_snapshot!(reply);
}

#[test]
fn the_rarest_trophy_ever() {
    let reply = milestone(&reached(MilestoneKind::Rarest {
        game: game("Bloodborne"),
        trophy_id: 12,
        trophy_name: "Yharnam *Sunrise*".into(),
        kind: TrophyType::Gold,
        earned_rate: 0.8,
        previous_rate: 2.1,
    }));
    assert_within_limits(&reply);
    let text = serde_json::to_string(&reply).unwrap();
    assert!(
        text.contains("rarest trophy they have ever earned"),
        "{text}"
    );
    assert!(text.contains(r"Yharnam \\*Sunrise\\*"), "{text}");
    assert!(
        text.contains("0.8% of players on PSN (their rarest before: 2.1%)"),
        "{text}"
    );
    insta::assert_json_snapshot!(reply);
}

proptest! {
    #[test]
    fn any_names_stay_within_limits(player in text(), name in text(), count in 1u32..5000) {
        for kind in [
            MilestoneKind::Platinum { count, game: Some(game(&name)) },
            MilestoneKind::Completion { game: game(&name), trophies: TrophyCounts::default() },
            MilestoneKind::Level { level: count.min(999), tier: 10 },
            MilestoneKind::Rarest {
                game: game(&name),
                trophy_id: 1,
                trophy_name: name.repeat(3),
                kind: TrophyType::Platinum,
                earned_rate: 0.1,
                previous_rate: 0.2,
            },
        ] {
            let reply = milestone(&Milestone { online_id: player.clone(), ..reached(kind) });
            assert_within_limits(&reply);
        }
    }
}
