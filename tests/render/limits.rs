//! Property tests: whatever PSN names contain and however long they are, every reply stays
//! within Discord's limits.

use proptest::prelude::*;
use psn::{
    Account, GroupDefinition, NpService, Platform, Rarity, TitleDefinition, TitleProgress,
    TrophyCounts, TrophyDefinition, TrophySummary, UserTitleTrophies, UserTrophy,
};
use trophybot::model::reply::{Embed, Reply};
use trophybot::render::{self, CompareSide, RareTrophy, RarestScope};

use crate::support::render::{assert_within_limits, text, trophy_kind};

fn counts() -> impl Strategy<Value = TrophyCounts> {
    (0u32..5, 0u32..50, 0u32..500, 0u32..5000).prop_map(|(platinum, gold, silver, bronze)| {
        TrophyCounts {
            bronze,
            silver,
            gold,
            platinum,
        }
    })
}

fn title_progress() -> impl Strategy<Value = TitleProgress> {
    (text(), text(), counts(), 0u32..=100).prop_map(|(name, platforms, earned, progress)| {
        TitleProgress {
            np_communication_id: "NPWR12345_00".into(),
            service: Some(NpService::Trophy),
            name,
            detail: None,
            icon_url: None,
            platforms: Platform::parse_list(&platforms),
            has_groups: false,
            defined: earned,
            earned,
            progress,
            hidden: false,
            last_updated: None,
        }
    })
}

fn user_title() -> impl Strategy<Value = (UserTitleTrophies, usize)> {
    let trophy = (
        text(),
        text(),
        any::<bool>(),
        any::<bool>(),
        0u8..4,
        0.0f64..100.0,
    );
    (
        text(),
        text(),
        proptest::collection::vec(trophy, 0..60),
        0usize..10,
    )
        .prop_map(|(title_name, group_name, trophies, page)| {
            let trophies: Vec<UserTrophy> = trophies
                .into_iter()
                .enumerate()
                .map(
                    |(i, (name, detail, hidden, earned, kind, rate))| UserTrophy {
                        definition: TrophyDefinition {
                            id: i as u32,
                            group_id: if i % 7 == 6 {
                                "001".into()
                            } else {
                                "default".into()
                            },
                            hidden,
                            kind: trophy_kind(kind),
                            name,
                            detail,
                            icon_url: None,
                        },
                        earned,
                        earned_at: None,
                        earned_rate: Some(rate),
                        rarity: Some(Rarity::from_earned_rate(rate)),
                    },
                )
                .collect();
            let user = UserTitleTrophies {
                account: Account {
                    account_id: "1".into(),
                    online_id: "sim_markdown".into(),
                },
                title: TitleDefinition {
                    np_communication_id: "NPWR12345_00".into(),
                    service: Some(NpService::Trophy2),
                    name: title_name,
                    detail: None,
                    icon_url: None,
                    platforms: vec![Platform::Ps5],
                    defined: TrophyCounts::default(),
                    groups: vec![GroupDefinition {
                        id: "001".into(),
                        name: group_name,
                        detail: None,
                        icon_url: None,
                        defined: TrophyCounts::default(),
                    }],
                    trophies: trophies.iter().map(|t| t.definition.clone()).collect(),
                },
                trophies,
                last_updated: None,
            };
            (user, page)
        })
}

fn account(online_id: String) -> Account {
    Account {
        account_id: "1".into(),
        online_id,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_embeds_fit(
        embeds in proptest::collection::vec(
            (text(), text(), proptest::collection::vec((text(), text()), 0..40), text(), text()),
            0..14,
        ),
        content in text(),
    ) {
        let embeds = embeds
            .into_iter()
            .map(|(title, description, fields, footer, author)| {
                let mut embed = Embed::new()
                    .title(title)
                    .description(description)
                    .footer(footer)
                    .author(author);
                for (name, value) in fields {
                    embed = embed.field(name, value, false);
                }
                embed
            })
            .collect();
        assert_within_limits(&Reply::new(Some(content), embeds, Vec::new(), false));
    }

    #[test]
    fn profiles_and_comparisons_fit(
        online_id in text(),
        titles in proptest::collection::vec(title_progress(), 0..30),
        earned in counts(),
    ) {
        let user = account(online_id);
        let summary = TrophySummary {
            account: user.clone(),
            level: Some(999),
            level_progress: Some(50),
            tier: None,
            earned,
        };
        assert_within_limits(&render::profile(&user, Some(&summary), &titles));
        assert_within_limits(&render::profile(&user, None, &titles));
        let side = CompareSide { account: user, summary: Some(summary), recent: titles, library_cut: true };
        assert_within_limits(&render::compare(&side, &side));
    }

    #[test]
    fn title_pages_and_rarest_fit((user, page) in user_title()) {
        assert_within_limits(&render::title_page(&user, page));
        assert_within_limits(&render::compare_title(&user, &user));
        let rare: Vec<RareTrophy> = user
            .trophies
            .iter()
            .take(25)
            .map(|t| RareTrophy {
                // Titles of one name, so their names carry every suffix that tells them apart.
                np_communication_id: format!("NPWR{:05}_00", t.definition.id % 3),
                title_name: user.title.name.clone(),
                platforms: user.title.platforms.clone(),
                trophy: t.definition.clone(),
                earned_at: None,
                earned_rate: t.earned_rate,
                rarity: t.rarity,
            })
            .collect();
        let scope = RarestScope::Title { name: user.title.name.clone() };
        assert_within_limits(&render::rarest(&user.account, &rare, &scope));
    }
}
