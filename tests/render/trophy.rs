//! `/trophy`'s reply: a snapshot, first earner first and undated last, hidden trophies masked
//! while nobody here earned them, the "checked so far" qualifier, and Discord's limits for any
//! number of earners and any names.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use psn::{Platform, Rarity, TrophyDefinition, TrophyType};
use trophybot::model::{TrophyEarner, TrophyHolders};
use trophybot::render::{trophy_holders, HOLDERS_NAMED};

use crate::support::render::assert_within_limits;

/// The reply's words as Discord shows them (markdown escapes included).
fn text(reply: &trophybot::model::Reply) -> String {
    reply
        .embeds()
        .iter()
        .flat_map(|e| {
            let fields = e.fields.iter().map(|f| format!("{}\n{}", f.name, f.value));
            e.title
                .clone()
                .into_iter()
                .chain(e.description.clone())
                .chain(fields)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn earner(name: &str, day: Option<u32>) -> TrophyEarner {
    TrophyEarner {
        online_id: name.into(),
        earned_at: day.and_then(|d| Utc.with_ymd_and_hms(2026, 11, d, 20, 15, 0).single()),
    }
}

fn holders(earners: Vec<TrophyEarner>, hidden: bool, masked: bool) -> TrophyHolders {
    TrophyHolders {
        game_name: "ASTRO BOT".into(),
        platforms: vec![Platform::Ps5],
        game_icon_url: Some("https://image.example/title.png".into()),
        trophy: TrophyDefinition {
            id: 7,
            group_id: "default".into(),
            hidden,
            kind: TrophyType::Gold,
            name: "Gotta *Rescue* 'Em All".into(),
            detail: "Rescue every bot.".into(),
            icon_url: Some("https://image.example/trophy7.png".into()),
        },
        masked,
        earned_rate: Some(4.2),
        rarity: Some(Rarity::UltraRare),
        owners: 4,
        complete: true,
        earners,
    }
}

#[test]
fn who_has_it_first_earner_first() {
    let reply = trophy_holders(&holders(
        vec![
            earner("sim_hunter", Some(3)),
            earner("_under_score_", Some(9)),
            earner("offline_fan", None),
        ],
        false,
        false,
    ));
    assert_within_limits(&reply);
    let shown = text(&reply);
    let first = shown.find("sim\\_hunter").expect("first earner named");
    let second = shown
        .find("\\_under\\_score\\_")
        .expect("second earner named, escaped");
    let undated = shown
        .find("offline\\_fan** · date unknown")
        .expect("undated one");
    assert!(first < second && second < undated, "{shown}");
    assert!(
        shown.contains("3 of the 4 players here who own the game"),
        "{shown}"
    );
    assert!(!shown.contains("checked so far"), "{shown}");
    insta::assert_json_snapshot!(reply);
}

#[test]
fn a_hidden_trophy_nobody_here_earned_stays_masked_and_the_count_is_qualified() {
    let mut asked = holders(Vec::new(), true, true);
    asked.complete = false;
    let reply = trophy_holders(&asked);
    let shown = text(&reply);
    assert!(!shown.contains("Rescue"), "a spoiler: {shown}");
    assert!(shown.contains("Hidden trophy"), "{shown}");
    assert!(
        shown.contains("Nobody in this server has earned it yet"),
        "{shown}"
    );
    assert!(shown.contains("among players checked so far"), "{shown}");
    insta::assert_json_snapshot!(reply);
}

#[test]
fn many_earners_are_capped_with_a_count_of_the_rest() {
    let earners = (0..HOLDERS_NAMED + 7)
        .map(|i| earner(&format!("player{i:02}"), Some(1 + (i % 28) as u32)))
        .collect();
    let reply = trophy_holders(&holders(earners, false, false));
    let shown = text(&reply);
    assert!(shown.contains("and 7 more"), "{shown}");
    assert!(
        !shown.contains(&format!("player{:02}", HOLDERS_NAMED + 6)),
        "{shown}"
    );
}

proptest! {
    #[test]
    fn any_names_and_any_count_fit_discord(
        names in proptest::collection::vec("\\PC{0,40}", 0..60),
        trophy_name in "\\PC{0,400}",
        detail in "\\PC{0,2000}",
        game in "\\PC{0,400}",
    ) {
        let earners = names.iter().map(|n| earner(n, Some(5))).collect();
        let mut asked = holders(earners, false, false);
        asked.trophy.name = trophy_name;
        asked.trophy.detail = detail;
        asked.game_name = game;
        assert_within_limits(&trophy_holders(&asked));
    }
}
