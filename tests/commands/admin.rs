//! The pure parts of the server-admin commands: which channel an account's announcements go
//! to, which channels are refused, which filter and language `/settings` options mean, the month of
//! `/leaderboard`, how `/track list` words intervals, and the effective staleness.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use trophybot::commands::settings::{chosen_filter, chosen_language, MIN_RARE_PERCENT};
use trophybot::commands::track::{announce_target, check_channel, ChannelFacts, TrackingLimits};
use trophybot::errors::{ChannelProblem, CommandError};
use trophybot::model::recap::month_start;
use trophybot::model::AnnounceFilter;
use trophybot::model::FilterKind;
use trophybot::render::format_interval;
use trophybot::tracker::schedule::{RequestBudget, ScheduleConfig};

fn facts() -> ChannelFacts {
    ChannelFacts {
        channel_id: 7,
        in_guild: true,
        is_text: true,
        missing_permissions: Vec::new(),
        can_attach_files: true,
    }
}

fn problem(facts: &ChannelFacts) -> Option<ChannelProblem> {
    match check_channel(facts) {
        Ok(()) => None,
        Err(CommandError::ChannelUnusable {
            channel_id: 7,
            problem,
        }) => Some(problem),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn a_text_channel_with_every_permission_passes() {
    assert_eq!(problem(&facts()), None);
}

#[test]
fn channel_problems_are_named_most_basic_first() {
    let voice = ChannelFacts {
        is_text: false,
        missing_permissions: vec!["Send Messages"],
        ..facts()
    };
    assert_eq!(problem(&voice), Some(ChannelProblem::NotText));
    let muted = ChannelFacts {
        missing_permissions: vec!["Send Messages", "Embed Links"],
        ..facts()
    };
    assert_eq!(
        problem(&muted),
        Some(ChannelProblem::MissingPermissions(vec![
            "Send Messages",
            "Embed Links"
        ]))
    );
    let elsewhere = ChannelFacts {
        in_guild: false,
        ..facts()
    };
    assert_eq!(problem(&elsewhere), Some(ChannelProblem::NotInServer));
}

#[test]
fn the_channel_defaults_to_the_servers_then_to_where_the_command_was_used() {
    assert_eq!(announce_target(Some(5), Some(6), 7), (5, Some(5)));
    assert_eq!(announce_target(None, Some(6), 7), (6, None));
    assert_eq!(announce_target(None, None, 7), (7, Some(7)));
}

#[test]
fn filters_follow_the_options() {
    assert_eq!(chosen_filter(None, None).unwrap(), None);
    assert_eq!(
        chosen_filter(Some(FilterKind::PlatinumOnly), None).unwrap(),
        Some(AnnounceFilter::PlatinumOnly)
    );
    assert_eq!(
        chosen_filter(Some(FilterKind::GoldAndUp), None).unwrap(),
        Some(AnnounceFilter::GoldAndUp)
    );
    assert_eq!(
        chosen_filter(None, Some(5.0)).unwrap(),
        Some(AnnounceFilter::RarerThan(5.0))
    );
    assert_eq!(
        chosen_filter(Some(FilterKind::RarerThan), Some(2.5)).unwrap(),
        Some(AnnounceFilter::RarerThan(2.5))
    );
}

#[test]
fn contradictory_or_out_of_range_filter_options_are_refused() {
    assert!(chosen_filter(Some(FilterKind::RarerThan), None).is_err());
    assert!(chosen_filter(Some(FilterKind::GoldAndUp), Some(5.0)).is_err());
    assert!(chosen_filter(None, Some(0.0)).is_err());
    assert!(chosen_filter(None, Some(100.5)).is_err());
    assert!(chosen_filter(None, Some(f64::NAN)).is_err());
}

#[test]
fn a_rare_percent_that_would_round_to_zero_is_refused_in_words() {
    for tiny in [0.001, 0.0049, 0.004_999_9] {
        match chosen_filter(None, Some(tiny)) {
            Err(CommandError::BadOption(text)) => assert!(text.contains("at least 0.01"), "{text}"),
            other => panic!("{tiny} refused as a bad option, got {other:?}"),
        }
    }
    assert_eq!(
        chosen_filter(None, Some(MIN_RARE_PERCENT)).unwrap(),
        Some(AnnounceFilter::RarerThan(0.01))
    );
}

#[test]
fn only_languages_psn_serves_are_taken_spelled_as_listed() {
    assert_eq!(chosen_language(None).unwrap(), None);
    assert_eq!(chosen_language(Some("fr-fr")).unwrap(), Some("fr-FR"));
    match chosen_language(Some("tlh-KL")) {
        Err(CommandError::BadOption(words)) => assert!(words.contains("tlh-KL"), "{words}"),
        other => panic!("refused, not {other:?}"),
    }
}

#[test]
fn the_month_starts_at_midnight_on_the_first_utc_by_default() {
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 20, 15, 0).unwrap();
    assert_eq!(
        month_start(chrono_tz::Tz::UTC, now),
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    );
}

#[test]
fn intervals_read_naturally() {
    assert_eq!(format_interval(Duration::from_secs(45)), "45 s");
    assert_eq!(format_interval(Duration::from_secs(1800)), "30 min");
    assert_eq!(format_interval(Duration::from_secs(7200)), "2 h");
    assert_eq!(format_interval(Duration::from_secs(5400)), "1 h 30 min");
    assert_eq!(format_interval(Duration::from_secs(93_600)), "1 d 2 h");
    assert_eq!(format_interval(Duration::from_secs(86_400)), "1 d");
}

#[test]
fn staleness_grows_with_the_accounts_beyond_what_the_budget_sweeps() {
    let limits = TrackingLimits {
        max_accounts_per_guild: 25,
        // 300/15m with 30 % kept for commands: 0.233 requests per second.
        schedule: ScheduleConfig::new(
            RequestBudget::tracker_rate(300, Duration::from_secs(900), 0.3),
            Duration::from_secs(1800),
        ),
        budget: Default::default(),
    };
    assert_eq!(limits.effective_staleness(10), Duration::from_secs(1800));
    assert!(limits.effective_staleness(3000) > Duration::from_secs(3600));
}

#[test]
fn recap_options_apply_over_the_current_schedule_and_bad_ones_are_refused() {
    use trophybot::commands::settings::{chosen_recap, RecapOptions};
    use trophybot::model::RecapSchedule;
    let current = RecapSchedule::default();
    let changed = chosen_recap(
        current,
        &RecapOptions {
            enabled: Some(false),
            weekday: Some(chrono::Weekday::Fri),
            hour: Some(18),
            time_zone: Some("america/new_york".into()),
        },
    )
    .unwrap();
    assert_eq!(
        changed,
        RecapSchedule {
            enabled: false,
            weekday: chrono::Weekday::Fri,
            hour: 18,
            time_zone: chrono_tz::Tz::America__New_York,
        }
    );
    assert_eq!(
        chosen_recap(current, &RecapOptions::default()).unwrap(),
        current
    );
    for options in [
        RecapOptions {
            hour: Some(24),
            ..RecapOptions::default()
        },
        RecapOptions {
            hour: Some(-1),
            ..RecapOptions::default()
        },
    ] {
        match chosen_recap(current, &options) {
            Err(CommandError::BadOption(text)) => assert!(text.contains("0 to 23"), "{text}"),
            other => panic!("refused, not {other:?}"),
        }
    }
    match chosen_recap(
        current,
        &RecapOptions {
            time_zone: Some("CEST `@everyone`".into()),
            ..RecapOptions::default()
        },
    ) {
        Err(CommandError::BadOption(text)) => {
            assert!(
                text.contains("`CEST @everyone`"),
                "no backtick of its own: {text}"
            );
            assert!(text.contains("Europe/Berlin"), "{text}");
        }
        other => panic!("refused, not {other:?}"),
    }
}

#[test]
fn time_zone_choices_match_what_was_typed_shortest_first() {
    use trophybot::commands::settings::time_zone_choices;
    let names: Vec<String> = time_zone_choices("berl", 25)
        .into_iter()
        .map(|c| c.value)
        .collect();
    assert_eq!(names[0], "Europe/Berlin");
    assert_eq!(time_zone_choices("", 25).len(), 25, "Discord's cap");
    assert!(time_zone_choices("no such zone", 25).is_empty());
}
