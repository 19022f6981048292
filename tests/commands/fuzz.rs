//! Every option of every command, fuzzed through the command layer as the bot runs it: the
//! option is parsed first (as the bot's option types do when Discord hands it over), then the
//! command runs against the PSN simulator and a database of its own. Whatever the value: no
//! panic, a reply within Discord's limits, an error is ephemeral and in words, and a refused
//! change changes nothing.

use chrono::Utc;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use psn::OnlineId;
use trophybot::commands::compare::{self, CompareInput};
use trophybot::commands::rarest::{self, RarestInput};
use trophybot::commands::settings::{self, MilestoneChoices, SettingsInput};
use trophybot::commands::track::{self, ChannelFacts, TrackAddInput, TrackingLimits};
use trophybot::commands::trophies::{self, TrophiesInput};
use trophybot::commands::{self, link, page};
use trophybot::errors::{error_reply, CommandError};
use trophybot::model::reply::{limits, Reply};
use trophybot::model::FilterKind;
use trophybot::render::PageRef;
use trophybot::store::Store;
use trophybot::tracker::schedule::ScheduleConfig;

use crate::support;
use crate::support::db::TestDb;
use crate::support::render::{assert_within_limits, text};

const GUILD: u64 = 100;
const CALLER: u64 = 300;
/// Players the simulator knows: a public one, a private one, one with markdown in names.
const PLAYERS: [&str; 4] = ["sim_casual", "sim_private", "sim_markdown", "sim_empty"];

/// Cases per property: each runs real requests against the simulator and the database, so a
/// few dozen keep the binary quick while covering every kind of value the strategies make.
const CASES: u32 = 40;

struct World {
    runtime: tokio::runtime::Runtime,
    services: commands::Services,
    store: Store,
    _sim: (psn_sim::Sim, psn_sim::SimServer),
    _db: TestDb,
}

/// The simulator and the client with a budget no fuzz run reaches: the property is about
/// values, not about waiting for PSN's budget.
fn world() -> World {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let (sim, server, store, db) = runtime.block_on(async {
        let sim = psn_sim::Sim::new(psn_sim::SimConfig {
            rate_limit: 100_000,
            ..psn_sim::SimConfig::default()
        });
        let server = sim
            .serve(([127, 0, 0, 1], 0).into())
            .await
            .expect("the simulator serves");
        let (db, store) = TestDb::migrated().await;
        (sim, server, store, db)
    });
    let mut config = support::sim_config(&server.base_url);
    config.rate_limit.requests = 100_000;
    let client = psn::Client::new(config).expect("a client");
    let services = commands::Services::new(client).with_library(store.clone());
    World {
        runtime,
        services,
        store,
        _sim: (sim, server),
        _db: db,
    }
}

fn run_cases<S: Strategy>(strategy: S, case: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    if let Err(failure) = runner.run(&strategy, case) {
        panic!("{failure}");
    }
}

/// A reply a command gave: within every limit. An error: ephemeral, titled, within limits.
fn check_outcome(outcome: &Result<Reply, CommandError>) -> Result<(), TestCaseError> {
    match outcome {
        Ok(reply) => assert_within_limits(reply),
        Err(err) => check_error(err)?,
    }
    Ok(())
}

fn check_error(err: &CommandError) -> Result<(), TestCaseError> {
    let reply = error_reply(err);
    assert_within_limits(&reply);
    prop_assert!(reply.ephemeral(), "an error must be ephemeral: {err:?}");
    let embed = reply.embeds().first();
    prop_assert!(
        embed.is_some_and(|e| e.title.as_deref().is_some_and(|t| !t.is_empty())),
        "an error must say what went wrong: {reply:?}"
    );
    Ok(())
}

/// Any text a user can type into a string option, Discord's length limits aside (the bot
/// checks them again: a client can send anything).
fn option_text() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        prop::sample::select(PLAYERS.to_vec()).prop_map(|s| s.to_string()),
        "[A-Za-z0-9_-]{0,20}",
        Just("\u{200b}sim_casual".to_string()),
        Just("\u{202e}sim_casual".to_string()),
        Just("<@&1> @everyone".to_string()),
        "\\PC{0,10}".prop_map(|s| s.repeat(1000)),
    ]
}

/// A player option as the bot parses it: text, or a known player.
fn parse_user(value: &str) -> Result<OnlineId, CommandError> {
    Ok(OnlineId::parse(value)?)
}

async fn tracked_ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .tracked_accounts(GUILD)
        .await
        .expect("tracked accounts")
        .into_iter()
        .map(|view| view.account.online_id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn user_and_game_options_of_trophies_compare_and_rarest() {
    let world = world();
    let strategy = (
        option_text(),
        option_text(),
        proptest::option::of(option_text()),
        any::<i64>(),
    );
    run_cases(strategy, |(user, other, game, count)| {
        world.runtime.block_on(async {
            let trophies = match parse_user(&user) {
                Ok(user) => {
                    trophies::run(
                        &world.services,
                        TrophiesInput {
                            user,
                            game: game.clone(),
                        },
                    )
                    .await
                }
                Err(err) => Err(err),
            };
            check_outcome(&trophies)?;

            let compared = match (parse_user(&user), parse_user(&other)) {
                (Ok(user), Ok(other)) => {
                    compare::run(
                        &world.services,
                        CompareInput {
                            user,
                            other,
                            game: game.clone(),
                        },
                    )
                    .await
                }
                (Err(err), _) | (_, Err(err)) => Err(err),
            };
            check_outcome(&compared)?;

            let rarest = match (parse_user(&user), rarest::count(count)) {
                (Ok(user), Ok(count)) => {
                    rarest::run(
                        &world.services,
                        RarestInput {
                            user,
                            game: game.clone(),
                            count,
                        },
                        Some(trophybot::commands::shares::cost::CAP),
                    )
                    .await
                }
                (Err(err), _) | (_, Err(err)) => Err(err),
            };
            check_outcome(&rarest)?;
            if let Ok(count) = rarest::count(count) {
                prop_assert!((1..=rarest::MAX_COUNT).contains(&count));
            }
            Ok(())
        })
    });
}

#[test]
fn game_autocomplete_offers_at_most_25_short_choices() {
    let world = world();
    run_cases((option_text(), option_text()), |(user, partial)| {
        world.runtime.block_on(async {
            if let Ok(user) = OnlineId::parse(&user) {
                let choices = commands::autocomplete_game(&world.services, &user, &partial).await;
                prop_assert!(choices.len() <= 25);
                for choice in &choices {
                    prop_assert!(
                        !choice.name.is_empty()
                            && choice.name.chars().count() <= limits::CHOICE_NAME
                    );
                    prop_assert!(choice.value.chars().count() <= limits::CHOICE_NAME);
                }
            }
            Ok(())
        })
    });
}

#[test]
fn page_buttons_with_any_custom_id_redraw_or_are_ignored() {
    let world = world();
    let structured = (
        option_text(),
        "[0-9a-z]{0,20}",
        "(NPWR[0-9]{5}_00|[A-Za-z0-9_]{0,12})",
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(online_id, account_id, title, page, invoker)| {
            format!("trophies:{online_id}:{account_id}:{title}:{page}:{invoker}")
        });
    run_cases(prop_oneof![text(), structured], |custom_id| {
        world.runtime.block_on(async {
            if let Some(page_ref) = PageRef::parse(&custom_id) {
                check_outcome(&page::redraw(&world.services, page_ref).await)?;
            }
            Ok(())
        })
    });
}

#[test]
fn settings_options_change_only_what_they_should() {
    let world = world();
    let filter = proptest::option::of(prop::sample::select(vec![
        FilterKind::All,
        FilterKind::PlatinumOnly,
        FilterKind::GoldAndUp,
        FilterKind::RarerThan,
    ]));
    let percent = proptest::option::of(prop_oneof![
        any::<f64>(),
        -1.0..101.0f64,
        0.0..0.01f64,
        Just(f64::NAN),
        Just(f64::INFINITY),
    ]);
    let language = proptest::option::of(prop_oneof![
        option_text(),
        prop::sample::select(psn::LANGUAGES.to_vec()).prop_map(|(code, _)| code.to_string()),
    ]);
    let switch = || proptest::option::of(any::<bool>());
    let milestones = (switch(), switch(), switch(), switch()).prop_map(
        |(platinum, level, completion, rarest)| MilestoneChoices {
            platinum,
            level,
            completion,
            rarest,
        },
    );
    run_cases(
        (filter, percent, language, milestones),
        |(filter, rare_percent, language, milestones)| {
            world.runtime.block_on(async {
                let before = world.store.guild_settings(GUILD).await.expect("settings");
                let outcome = settings::run(
                    &world.store,
                    SettingsInput {
                        guild_id: GUILD,
                        channel: None,
                        filter,
                        rare_percent,
                        language: language.clone(),
                        milestones,
                        recap: Default::default(),
                        cards: None,
                        announce_channel: None,
                    },
                    "en-GB",
                )
                .await;
                let after = world.store.guild_settings(GUILD).await.expect("settings");
                match outcome {
                    Ok((reply, changed)) => {
                        assert_within_limits(&reply);
                        let switched = milestones.platinum.is_some()
                            || milestones.level.is_some()
                            || milestones.completion.is_some()
                            || milestones.rarest.is_some();
                        prop_assert_eq!(
                            changed,
                            filter.is_some()
                                || rare_percent.is_some()
                                || language.is_some()
                                || switched
                        );
                        // Each switch given is stored; one left out keeps its value.
                        let stored = after.milestones;
                        prop_assert_eq!(
                            stored.platinum,
                            milestones.platinum.unwrap_or(before.milestones.platinum)
                        );
                        prop_assert_eq!(
                            stored.level,
                            milestones.level.unwrap_or(before.milestones.level)
                        );
                        prop_assert_eq!(
                            stored.completion,
                            milestones
                                .completion
                                .unwrap_or(before.milestones.completion)
                        );
                        prop_assert_eq!(
                            stored.rarest,
                            milestones.rarest.unwrap_or(before.milestones.rarest)
                        );
                        if let Some(percent) = rare_percent {
                            prop_assert!(percent.is_finite() && percent > 0.0 && percent <= 100.0);
                        }
                    }
                    Err(err) => {
                        check_error(&err)?;
                        prop_assert_eq!(
                            format!("{before:?}"),
                            format!("{after:?}"),
                            "a refused /settings changed the settings"
                        );
                    }
                }
                Ok(())
            })
        },
    );
}

#[test]
fn track_and_link_options_refused_change_nothing() {
    let world = world();
    let limits = TrackingLimits {
        max_accounts_per_guild: 2,
        schedule: ScheduleConfig::new(0.3, std::time::Duration::from_secs(3600)),
        budget: Default::default(),
    };
    run_cases(
        (option_text(), any::<bool>(), any::<bool>()),
        |(user, remove, text_channel)| {
            world.runtime.block_on(async {
                let tracked_before = tracked_ids(&world.store).await;
                let outcome = if remove {
                    track::remove(&world.store, GUILD, &user).await
                } else {
                    match parse_user(&user) {
                        Ok(user) => {
                            track::add(
                                &world.services,
                                &world.store,
                                &limits,
                                TrackAddInput {
                                    guild_id: GUILD,
                                    user,
                                    channel: ChannelFacts {
                                        channel_id: 200,
                                        in_guild: true,
                                        is_text: text_channel,
                                        missing_permissions: Vec::new(),
                                        can_attach_files: true,
                                    },
                                    stored_channel: Some(200),
                                    added_by: CALLER,
                                },
                                Utc::now(),
                            )
                            .await
                        }
                        Err(err) => Err(err),
                    }
                };
                check_outcome(&outcome)?;
                let tracked_after = tracked_ids(&world.store).await;
                if outcome.is_err() {
                    prop_assert_eq!(
                        tracked_before,
                        tracked_after,
                        "a refused /track changed tracking"
                    );
                } else {
                    prop_assert!(tracked_after.len() <= limits.max_accounts_per_guild);
                }

                let linked_before = link::linked_player(&world.store, CALLER).await.ok();
                let linked = match parse_user(&user) {
                    Ok(user) => {
                        link::link(&world.services, &world.store, CALLER, Some(&user)).await
                    }
                    Err(err) => Err(err),
                };
                check_outcome(&linked)?;
                if linked.is_err() {
                    let linked_after = link::linked_player(&world.store, CALLER).await.ok();
                    prop_assert_eq!(
                        linked_before.map(|id| id.to_string()),
                        linked_after.map(|id| id.to_string()),
                        "a refused /link changed the link"
                    );
                }
                Ok(())
            })
        },
    );
}
