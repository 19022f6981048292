//! The weekly recap (when it is due, which week it covers, what it shows) and the periods of
//! `/leaderboard`, in a server's time zone. Pure: the current time is always passed in.

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use psn::{TrophyCounts, TrophyType};

/// When a server's weekly recap is posted: on `weekday` at `hour`:00 in `time_zone`, about the
/// seven days up to that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecapSchedule {
    pub enabled: bool,
    pub weekday: Weekday,
    /// 0–23.
    pub hour: u8,
    /// Also dates `/leaderboard`'s "this week" and "this month".
    pub time_zone: Tz,
}

impl Default for RecapSchedule {
    /// On, Mondays at 09:00 UTC (the columns' defaults).
    fn default() -> RecapSchedule {
        RecapSchedule {
            enabled: true,
            weekday: Weekday::Mon,
            hour: 9,
            time_zone: Tz::UTC,
        }
    }
}

/// An IANA time zone name (`Europe/Berlin`, `UTC`), spelled as the tz database does or in
/// another case; `None` for anything else.
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    let name = name.trim();
    name.parse::<Tz>().ok().or_else(|| {
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|zone| zone.name().eq_ignore_ascii_case(name))
            .copied()
    })
}

/// The instant `date` reaches `hour`:00 in `zone`. An hour that a clock change skips (02:00 on
/// the day Europe springs forward) is taken as the first instant after the gap; an hour that
/// happens twice (autumn), the first time.
pub fn local_instant(zone: Tz, date: NaiveDate, hour: u32) -> DateTime<Utc> {
    let start = date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::hours(i64::from(hour));
    // Gaps are at most a few hours and fall on quarter hours; a day has no more than 96 steps.
    for quarter in 0..96 {
        let local = start + chrono::Duration::minutes(15 * quarter);
        match zone.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                return at.with_timezone(&Utc)
            }
            LocalResult::None => {}
        }
    }
    // Unreachable with the tz database; the UTC reading is still a sensible instant.
    Utc.from_utc_datetime(&start)
}

/// One week's recap: the seven days `[start, end)` and its key in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecapWeek {
    pub start: DateTime<Utc>,
    /// When the recap is due.
    pub end: DateTime<Utc>,
    /// Unique per server and week: `recap:` and the ISO week of the local due date
    /// (`recap:2026-W48`). The due day is one weekday, so each ISO week has at most one.
    pub event_key: String,
}

/// The latest recap due at or before `now`: the one to post now, or late if the bot was down
/// when it was due (the next one replaces it a week later).
pub fn latest_recap(schedule: &RecapSchedule, now: DateTime<Utc>) -> RecapWeek {
    let zone = schedule.time_zone;
    let hour = u32::from(schedule.hour.min(23));
    let today = now.with_timezone(&zone).date_naive();
    let back =
        (7 + today.weekday().num_days_from_monday() - schedule.weekday.num_days_from_monday()) % 7;
    let mut due_date = today - Days::new(u64::from(back));
    if local_instant(zone, due_date, hour) > now {
        due_date = due_date - Days::new(7);
    }
    let week = due_date.iso_week();
    RecapWeek {
        start: local_instant(zone, due_date - Days::new(7), hour),
        end: local_instant(zone, due_date, hour),
        event_key: format!("recap:{}-W{:02}", week.year(), week.week()),
    }
}

/// Monday 00:00 of `now`'s week in `zone`.
pub fn week_start(zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&zone).date_naive();
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    local_instant(zone, monday, 0)
}

/// The first of `now`'s month, 00:00 in `zone`.
pub fn month_start(zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&zone).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    local_instant(zone, first, 0)
}

/// What `/leaderboard` ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeaderboardPeriod {
    /// Everyone's trophy points as PSN counts them.
    #[default]
    AllTime,
    /// Points of the trophies earned since the 1st, 00:00 in the server's time zone.
    ThisMonth,
    /// Points of the trophies earned since Monday 00:00 in the server's time zone.
    ThisWeek,
}

impl LeaderboardPeriod {
    /// Where the period starts: for all time, the month whose trophies are counted beside.
    pub fn since(self, zone: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            LeaderboardPeriod::AllTime | LeaderboardPeriod::ThisMonth => month_start(zone, now),
            LeaderboardPeriod::ThisWeek => week_start(zone, now),
        }
    }
}

/// One player's week.
#[derive(Debug, Clone, PartialEq)]
pub struct RecapPlayer {
    pub online_id: String,
    /// The trophies earned in the week, by grade.
    pub earned: TrophyCounts,
}

/// A platinum earned in the week.
#[derive(Debug, Clone, PartialEq)]
pub struct RecapPlatinum {
    pub online_id: String,
    pub title_name: String,
    pub earned_at: DateTime<Utc>,
}

/// The trophy of the week fewest players on PSN have.
#[derive(Debug, Clone, PartialEq)]
pub struct RecapRarest {
    pub online_id: String,
    pub title_name: String,
    /// `None` when no stored definition names it.
    pub trophy_name: Option<String>,
    pub kind: TrophyType,
    /// Per cent of PSN players who have it.
    pub earned_rate: f64,
}

/// A trophy a player earned in the week, first in the server to earn it (by PSN's time) in a
/// game another tracked player of the server owns too.
#[derive(Debug, Clone, PartialEq)]
pub struct RecapFirst {
    pub online_id: String,
    pub title_name: String,
    /// `None` when no stored definition names it.
    pub trophy_name: Option<String>,
    pub kind: TrophyType,
    pub earned_at: DateTime<Utc>,
}

/// Everything a server's recap shows, from stored data only.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyRecap {
    pub week: RecapWeek,
    pub time_zone: Tz,
    /// Players who earned something, most points first (then platinums, then name).
    pub players: Vec<RecapPlayer>,
    /// Oldest first.
    pub platinums: Vec<RecapPlatinum>,
    pub rarest: Option<RecapRarest>,
    /// The week's server firsts, rarest first (by PSN's earned rate, unknown rates last), then
    /// oldest first.
    pub firsts: Vec<RecapFirst>,
}

impl WeeklyRecap {
    /// A week without trophies gets no recap.
    pub fn is_empty(&self) -> bool {
        self.players.iter().all(|player| player.earned.total() == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn schedule(weekday: Weekday, hour: u8, zone: &str) -> RecapSchedule {
        RecapSchedule {
            enabled: true,
            weekday,
            hour,
            time_zone: parse_time_zone(zone).unwrap(),
        }
    }

    #[test]
    fn time_zones_are_iana_names_in_any_case() {
        assert_eq!(parse_time_zone("Europe/Berlin"), Some(Tz::Europe__Berlin));
        assert_eq!(parse_time_zone(" europe/berlin "), Some(Tz::Europe__Berlin));
        assert_eq!(parse_time_zone("UTC"), Some(Tz::UTC));
        assert_eq!(parse_time_zone("Mars/Olympus"), None);
        assert_eq!(parse_time_zone("+02:00"), None);
        assert_eq!(parse_time_zone(""), None);
    }

    #[test]
    fn the_recap_is_due_at_the_chosen_hour_and_covers_the_seven_days_before() {
        // Monday 2026-11-30 09:00 UTC is the default's due time.
        let monday = schedule(Weekday::Mon, 9, "UTC");
        let due = latest_recap(&monday, at("2026-11-30T09:00:00Z"));
        assert_eq!(due.end, at("2026-11-30T09:00:00Z"));
        assert_eq!(due.start, at("2026-11-23T09:00:00Z"));
        assert_eq!(due.event_key, "recap:2026-W49");
        // A second before, the one of the week before is still the latest.
        let before = latest_recap(&monday, at("2026-11-30T08:59:59Z"));
        assert_eq!(before.end, at("2026-11-23T09:00:00Z"));
        assert_eq!(before.event_key, "recap:2026-W48");
        // Late, days after: still that week's, with the same key.
        let late = latest_recap(&monday, at("2026-12-06T23:00:00Z"));
        assert_eq!(late, due);
    }

    #[test]
    fn the_due_time_follows_the_server_zone() {
        // Sunday 20:00 in Berlin (winter, UTC+1) is 19:00 UTC.
        let berlin = schedule(Weekday::Sun, 20, "Europe/Berlin");
        let due = latest_recap(&berlin, at("2026-11-29T19:30:00Z"));
        assert_eq!(due.end, at("2026-11-29T19:00:00Z"));
        assert_eq!(due.event_key, "recap:2026-W48");
        // Sunday 20:00 in Los Angeles is already Monday 04:00 UTC.
        let la = schedule(Weekday::Sun, 20, "America/Los_Angeles");
        let due = latest_recap(&la, at("2026-11-30T03:59:00Z"));
        assert_eq!(
            due.end,
            at("2026-11-23T04:00:00Z"),
            "not yet Sunday 20:00 there"
        );
        let due = latest_recap(&la, at("2026-11-30T04:00:00Z"));
        assert_eq!(due.end, at("2026-11-30T04:00:00Z"));
        assert_eq!(due.event_key, "recap:2026-W48", "the local date's week");
    }

    #[test]
    fn a_week_across_a_clock_change_keeps_the_local_hour() {
        // Europe went back an hour on Sunday 2026-10-25: the week before is 169 hours long.
        let berlin = schedule(Weekday::Mon, 9, "Europe/Berlin");
        let due = latest_recap(&berlin, at("2026-10-26T12:00:00Z"));
        assert_eq!(due.end, at("2026-10-26T08:00:00Z"), "09:00 CET");
        assert_eq!(due.start, at("2026-10-19T07:00:00Z"), "09:00 CEST");
        // Spring: 02:00 does not exist on Sunday 2026-03-29, the recap comes at 03:00 CEST.
        let gap = schedule(Weekday::Sun, 2, "Europe/Berlin");
        let due = latest_recap(&gap, at("2026-03-29T12:00:00Z"));
        assert_eq!(due.end, at("2026-03-29T01:00:00Z"));
        assert_eq!(
            due.start,
            at("2026-03-22T01:00:00Z"),
            "02:00 CET the week before"
        );
        // Autumn: 02:00 happens twice on Sunday 2026-10-25; the first one counts.
        let twice = schedule(Weekday::Sun, 2, "Europe/Berlin");
        let due = latest_recap(&twice, at("2026-10-25T12:00:00Z"));
        assert_eq!(due.end, at("2026-10-25T00:00:00Z"), "02:00 CEST");
    }

    #[test]
    fn leaderboard_periods_start_at_local_midnight() {
        let berlin = Tz::Europe__Berlin;
        // Sunday 2026-11-29 23:30 UTC is already Monday 00:30 in Berlin.
        let now = at("2026-11-29T23:30:00Z");
        assert_eq!(week_start(berlin, now), at("2026-11-29T23:00:00Z"));
        assert_eq!(week_start(Tz::UTC, now), at("2026-11-23T00:00:00Z"));
        // And Tuesday 2026-12-01 00:30 in Berlin starts December there, not in UTC.
        let now = at("2026-11-30T23:30:00Z");
        assert_eq!(month_start(berlin, now), at("2026-11-30T23:00:00Z"));
        assert_eq!(month_start(Tz::UTC, now), at("2026-11-01T00:00:00Z"));
        assert_eq!(
            LeaderboardPeriod::ThisWeek.since(Tz::UTC, now),
            at("2026-11-30T00:00:00Z")
        );
        assert_eq!(
            LeaderboardPeriod::ThisMonth.since(Tz::UTC, now),
            at("2026-11-01T00:00:00Z")
        );
    }
}
