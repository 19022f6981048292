//! The weekly recap's side of the store: each server's schedule (columns of `guild_settings`),
//! the servers a recap may be due for, and a week's figures from the trophies the tracker
//! detected. Figures date a trophy by when PSN says it was earned (when it was detected if PSN
//! gave no date), as `/leaderboard` does.

use std::collections::BTreeMap;

use chrono::Weekday;
use psn::{TrophyCounts, TrophyType};
use sqlx::Row;

use super::tracking::trophy_kind_from_db;
use super::{snowflake_from_db, snowflake_to_db, Store, StoreError};
use crate::model::recap::{
    parse_time_zone, RecapFirst, RecapPlatinum, RecapPlayer, RecapRarest, RecapSchedule, RecapWeek,
    WeeklyRecap,
};

/// A server that tracks someone and has its recap on, with where the recap goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RecapGuild {
    pub guild_id: u64,
    pub schedule: RecapSchedule,
    /// The announcement channel, else the channel most of its tracked accounts announce in;
    /// `None` when neither is known (no recap then).
    pub channel_id: Option<u64>,
    /// The server's language of names, if it chose one.
    pub language: Option<String>,
}

/// When a trophy counts: PSN's earned date, else when the tracker saw it.
const EARNED: &str = "coalesce(d.earned_at, d.detected_at)";

/// A title's name: as the player's library lists it, else from a stored definition (the
/// server's language first), else its id.
const TITLE_NAME: &str = "coalesce(
    (SELECT u.name FROM user_titles u
     WHERE u.account_id = d.account_id AND u.np_communication_id = d.np_communication_id),
    (SELECT td.definition->>'name' FROM title_definitions td
     WHERE td.np_communication_id = d.np_communication_id
     ORDER BY td.language = $4 DESC, td.language LIMIT 1),
    d.np_communication_id)";

/// A trophy's name from a stored definition (the server's language first); null without one.
const TROPHY_NAME: &str = "(SELECT tr->>'name'
     FROM title_definitions td,
          jsonb_array_elements(td.definition->'trophies') AS tr
     WHERE td.np_communication_id = d.np_communication_id
       AND (tr->>'id')::int = d.trophy_id
     ORDER BY td.language = $4 DESC, td.language LIMIT 1)";

fn weekday_from_db(day: i16) -> Weekday {
    match day {
        2 => Weekday::Tue,
        3 => Weekday::Wed,
        4 => Weekday::Thu,
        5 => Weekday::Fri,
        6 => Weekday::Sat,
        7 => Weekday::Sun,
        _ => Weekday::Mon,
    }
}

fn schedule_from_row(row: &sqlx::postgres::PgRow) -> Result<RecapSchedule, sqlx::Error> {
    let zone: String = row.try_get("time_zone")?;
    let time_zone = parse_time_zone(&zone).unwrap_or_else(|| {
        // Only a name the bot checked is stored; one a newer tz database renamed reads as UTC.
        tracing::warn!(zone, "unknown stored time zone, using UTC");
        chrono_tz::Tz::UTC
    });
    Ok(RecapSchedule {
        enabled: row.try_get("recap_enabled")?,
        weekday: weekday_from_db(row.try_get("recap_weekday")?),
        hour: u8::try_from(row.try_get::<i16, _>("recap_hour")?).unwrap_or(0),
        time_zone,
    })
}

fn add_trophy(counts: &mut TrophyCounts, kind: TrophyType, count: u32) {
    match kind {
        TrophyType::Bronze => counts.bronze += count,
        TrophyType::Silver => counts.silver += count,
        TrophyType::Gold => counts.gold += count,
        TrophyType::Platinum => counts.platinum += count,
    }
}

impl Store {
    /// The server's recap schedule and time zone, or the defaults when it never changed them.
    pub async fn recap_schedule(&self, guild_id: u64) -> Result<RecapSchedule, StoreError> {
        let row = sqlx::query(
            "SELECT recap_enabled, recap_weekday, recap_hour, time_zone FROM guild_settings
             WHERE guild_id = $1",
        )
        .bind(snowflake_to_db(guild_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => schedule_from_row(&row)?,
            None => RecapSchedule::default(),
        })
    }

    /// Stores the server's recap schedule and time zone, keeping its other settings.
    pub async fn set_recap_schedule(
        &self,
        guild_id: u64,
        schedule: &RecapSchedule,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO guild_settings
                 (guild_id, recap_enabled, recap_weekday, recap_hour, time_zone)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (guild_id) DO UPDATE
             SET recap_enabled = EXCLUDED.recap_enabled,
                 recap_weekday = EXCLUDED.recap_weekday,
                 recap_hour = EXCLUDED.recap_hour,
                 time_zone = EXCLUDED.time_zone,
                 updated_at = now()",
        )
        .bind(snowflake_to_db(guild_id))
        .bind(schedule.enabled)
        .bind(i16::try_from(schedule.weekday.number_from_monday()).unwrap_or(1))
        .bind(i16::from(schedule.hour))
        .bind(schedule.time_zone.name())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The servers that track at least one account and have their recap on.
    pub async fn recap_guilds(&self) -> Result<Vec<RecapGuild>, StoreError> {
        let rows = sqlx::query(
            "SELECT g.guild_id, g.recap_enabled, g.recap_weekday, g.recap_hour, g.time_zone,
                    g.language,
                    coalesce(g.announce_channel_id,
                        (SELECT t.channel_id FROM tracked_accounts t
                         WHERE t.guild_id = g.guild_id AND t.channel_id IS NOT NULL
                         GROUP BY t.channel_id ORDER BY count(*) DESC, t.channel_id LIMIT 1))
                        AS channel_id
             FROM guild_settings g
             WHERE g.recap_enabled
               AND EXISTS (SELECT 1 FROM tracked_accounts t WHERE t.guild_id = g.guild_id)
             ORDER BY g.guild_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecapGuild {
                    guild_id: snowflake_from_db(row.try_get("guild_id")?),
                    schedule: schedule_from_row(row)?,
                    channel_id: row
                        .try_get::<Option<i64>, _>("channel_id")?
                        .map(snowflake_from_db),
                    language: row.try_get("language")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Whether the server's outbox holds the post of `event_key` (sent, pending or given up).
    pub async fn has_event(&self, guild_id: u64, event_key: &str) -> Result<bool, StoreError> {
        let found: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM outbox WHERE guild_id = $1 AND event_key = $2")
                .bind(snowflake_to_db(guild_id))
                .bind(event_key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    /// The server's `week` from the trophies its tracked accounts earned in it; names in
    /// `language` where a stored definition has them.
    pub async fn weekly_recap(
        &self,
        guild_id: u64,
        week: &RecapWeek,
        time_zone: chrono_tz::Tz,
        language: &str,
    ) -> Result<WeeklyRecap, StoreError> {
        let guild = snowflake_to_db(guild_id);
        let counts = sqlx::query(&format!(
            "SELECT t.account_id, t.online_id, d.kind, count(*) AS earned
             FROM tracked_accounts t
             JOIN detected_trophies d ON d.account_id = t.account_id
             WHERE t.guild_id = $1 AND {EARNED} >= $2 AND {EARNED} < $3
             GROUP BY t.account_id, t.online_id, d.kind"
        ))
        .bind(guild)
        .bind(week.start)
        .bind(week.end)
        .fetch_all(&self.pool)
        .await?;
        let mut players: BTreeMap<String, RecapPlayer> = BTreeMap::new();
        for row in &counts {
            let account_id: String = row.try_get("account_id")?;
            let player = players.entry(account_id).or_insert_with(|| RecapPlayer {
                online_id: String::new(),
                earned: TrophyCounts::default(),
            });
            player.online_id = row.try_get("online_id")?;
            let kind: String = row.try_get("kind")?;
            let earned = u32::try_from(row.try_get::<i64, _>("earned")?).unwrap_or(u32::MAX);
            add_trophy(&mut player.earned, trophy_kind_from_db(&kind), earned);
        }
        let mut players: Vec<RecapPlayer> = players.into_values().collect();
        players.sort_by(|a, b| {
            b.earned
                .points()
                .cmp(&a.earned.points())
                .then(b.earned.platinum.cmp(&a.earned.platinum))
                .then_with(|| a.online_id.to_lowercase().cmp(&b.online_id.to_lowercase()))
        });
        if players.is_empty() {
            return Ok(WeeklyRecap {
                week: week.clone(),
                time_zone,
                players,
                platinums: Vec::new(),
                rarest: None,
                firsts: Vec::new(),
            });
        }

        let platinums = sqlx::query(&format!(
            "SELECT t.online_id, {TITLE_NAME} AS title_name, {EARNED} AS earned
             FROM tracked_accounts t
             JOIN detected_trophies d ON d.account_id = t.account_id
             WHERE t.guild_id = $1 AND {EARNED} >= $2 AND {EARNED} < $3
               AND d.kind = 'platinum'
             ORDER BY earned, lower(t.online_id)"
        ))
        .bind(guild)
        .bind(week.start)
        .bind(week.end)
        .bind(language)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(RecapPlatinum {
                online_id: row.try_get("online_id")?,
                title_name: row.try_get("title_name")?,
                earned_at: row.try_get("earned")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;

        let rarest = sqlx::query(&format!(
            "SELECT t.online_id, {TITLE_NAME} AS title_name, d.kind, r.earned_rate,
                    {TROPHY_NAME} AS trophy_name
             FROM tracked_accounts t
             JOIN detected_trophies d ON d.account_id = t.account_id
             JOIN title_trophy_rates r
               ON r.np_communication_id = d.np_communication_id AND r.trophy_id = d.trophy_id
             WHERE t.guild_id = $1 AND {EARNED} >= $2 AND {EARNED} < $3
               AND r.earned_rate IS NOT NULL
             ORDER BY r.earned_rate, {EARNED}, lower(t.online_id)
             LIMIT 1"
        ))
        .bind(guild)
        .bind(week.start)
        .bind(week.end)
        .bind(language)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok::<_, sqlx::Error>(RecapRarest {
                online_id: row.try_get("online_id")?,
                title_name: row.try_get("title_name")?,
                trophy_name: row.try_get("trophy_name")?,
                kind: trophy_kind_from_db(&kind),
                earned_rate: row.try_get("earned_rate")?,
            })
        })
        .transpose()?;

        let firsts = self
            .server_firsts(guild, week, language)
            .await?
            .iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(RecapFirst {
                    online_id: row.try_get("online_id")?,
                    title_name: row.try_get("title_name")?,
                    trophy_name: row.try_get("trophy_name")?,
                    kind: trophy_kind_from_db(&kind),
                    earned_at: row.try_get("earned")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;

        Ok(WeeklyRecap {
            week: week.clone(),
            time_zone,
            players,
            platinums,
            rarest,
            firsts,
        })
    }

    /// The week's server firsts: trophies a tracked player of the server earned in the week
    /// (with PSN's date) where no other tracked player of the server has it with an earlier or
    /// unknown date, in a game another of them owns (a race; a game only one player plays
    /// would make every trophy a "first"). Only where it is known: every other player has had
    /// their first check and, owning the game, has its earned trophies stored (the history
    /// backfill), so a first is never claimed that an unread history could disprove.
    async fn server_firsts(
        &self,
        guild: i64,
        week: &RecapWeek,
        language: &str,
    ) -> Result<Vec<sqlx::postgres::PgRow>, StoreError> {
        Ok(sqlx::query(&format!(
            // The week's trophies first, through the period index, as the other figures read
            // them; then the checks on each.
            "WITH d AS MATERIALIZED (
                 SELECT d.account_id, t.online_id, d.np_communication_id, d.trophy_id, d.kind,
                        d.earned_at
                 FROM tracked_accounts t
                 JOIN detected_trophies d ON d.account_id = t.account_id
                 WHERE t.guild_id = $1 AND {EARNED} >= $2 AND {EARNED} < $3
                   AND d.earned_at IS NOT NULL)
             SELECT d.online_id, {TITLE_NAME} AS title_name, d.kind, d.earned_at AS earned,
                    {TROPHY_NAME} AS trophy_name
             FROM d
             LEFT JOIN title_trophy_rates r
               ON r.np_communication_id = d.np_communication_id AND r.trophy_id = d.trophy_id
             WHERE EXISTS (
                   SELECT 1 FROM tracked_accounts f
                   JOIN user_titles u
                     ON u.account_id = f.account_id
                    AND u.np_communication_id = d.np_communication_id
                   WHERE f.guild_id = $1 AND f.account_id <> d.account_id)
               AND NOT EXISTS (
                   SELECT 1 FROM tracked_accounts f
                   LEFT JOIN account_state a ON a.account_id = f.account_id
                   LEFT JOIN user_titles u
                          ON u.account_id = f.account_id
                         AND u.np_communication_id = d.np_communication_id
                   LEFT JOIN account_title_state s
                          ON s.account_id = f.account_id
                         AND s.np_communication_id = d.np_communication_id
                   WHERE f.guild_id = $1 AND f.account_id <> d.account_id
                     AND (a.baseline_done IS NOT TRUE
                          OR (u.account_id IS NOT NULL AND s.account_id IS NULL)
                          OR (s.earned @> to_jsonb(d.trophy_id)
                              AND coalesce((s.earned_at ->> d.trophy_id::text)::timestamptz
                                               < d.earned_at, true))))
             ORDER BY r.earned_rate NULLS LAST, d.earned_at, lower(d.online_id)"
        ))
        .bind(guild)
        .bind(week.start)
        .bind(week.end)
        .bind(language)
        .fetch_all(&self.pool)
        .await?)
    }
}
