//! Milestones: a player's Nth platinum, a new trophy level tier, a game completed to 100 %, the
//! rarest trophy they have ever earned.
//!
//! A regular poll compares what it is about to commit with what the last one stored (the
//! player's totals, the stored listings of the titles it changed, the stored trophy level) and
//! queues one post per milestone crossed, per guild that wants it, in the same transaction as
//! the poll. Each post carries an event key (see [`Milestone::event_key`]), unique per guild, so a
//! milestone is posted once however often it is found again (another process, a restart, a
//! poll retried after a lost lease). The baseline poll announces none: it only records where
//! the player stands.

use std::collections::HashMap;

use psn::{Account, TitleProgress, TrophyCounts, TrophyType};

use super::poll::{announcement_nonce, TrackerError};
use crate::model::{Milestone, MilestoneGame, MilestoneKind, PlayerBatch};
use crate::store::{History, OutboxEntry, PollCommit, Store, TrophyLevelRead};

/// Whether the Nth platinum is celebrated: the 1st, 10th, 25th, 50th, then every 100th.
pub fn is_platinum_milestone(n: u32) -> bool {
    matches!(n, 1 | 10 | 25 | 50) || (n > 0 && n % 100 == 0)
}

/// The platinum milestone a player crossed going from `before` to `after` platinums: the highest
/// one in `before < n <= after` (so 99 → 101 is the 100th, once; 9 → 26 is the 25th alone, one
/// post rather than a burst).
pub fn platinum_milestone(before: u32, after: u32) -> Option<u32> {
    if after <= before {
        return None;
    }
    // Beyond 100 the milestones are the hundreds: the highest at or below `after`.
    let hundreds = after / 100 * 100;
    let candidate = if hundreds > 0 {
        hundreds
    } else {
        [50, 25, 10, 1]
            .into_iter()
            .find(|&n| n <= after)
            .unwrap_or(0)
    };
    (candidate > before && is_platinum_milestone(candidate)).then_some(candidate)
}

/// Points toward the trophy level, PSN's 2020 scale.
pub fn level_points(counts: &TrophyCounts) -> u64 {
    [
        (TrophyType::Platinum, 300),
        (TrophyType::Gold, 90),
        (TrophyType::Silver, 30),
        (TrophyType::Bronze, 15),
    ]
    .into_iter()
    .map(|(kind, points)| u64::from(counts.get(kind)) * points)
    .sum()
}

/// Points one level takes, by hundred levels (PSN's 2020 scale).
const LEVEL_STEPS: [u64; 10] = [60, 90, 450, 900, 1350, 1800, 2250, 2700, 3150, 3600];
/// PSN's highest level.
const MAX_LEVEL: u32 = 999;

fn level_step(level: u32) -> u64 {
    LEVEL_STEPS[((level / 100) as usize).min(LEVEL_STEPS.len() - 1)]
}

/// Whether the points earned since `read` could have taken the player to the next hundred
/// levels (where every tier begins, and at 999): only then is PSN asked for the level. The
/// bound is a low one (the level's progress is a rounded-down percentage), so a tier is never
/// found late; at worst PSN is asked once early.
pub fn may_reach_next_tier(read: &TrophyLevelRead, points_now: u64) -> bool {
    if read.level >= MAX_LEVEL {
        return false;
    }
    let gained = points_now.saturating_sub(read.points);
    let step = level_step(read.level);
    // Without a progress, assume the level is nearly done.
    let left_in_level = read.progress.map_or(0, |p| {
        step * u64::from(99u32.saturating_sub(p.min(99))) / 100
    });
    let next_boundary = (read.level / 100 + 1) * 100;
    let next_boundary = next_boundary.min(MAX_LEVEL);
    let to_boundary: u64 = (read.level + 1..next_boundary).map(level_step).sum();
    gained >= left_in_level + to_boundary
}

/// The tier milestone between two reads: a higher tier than before. None without an earlier
/// read (the level a player has when first tracked is not news).
pub fn tier_milestone(
    before: Option<&TrophyLevelRead>,
    after: &TrophyLevelRead,
) -> Option<MilestoneKind> {
    let before = before?;
    (after.tier > before.tier).then_some(MilestoneKind::Level {
        level: after.level,
        tier: after.tier,
    })
}

/// Every trophy of the title earned, every group (DLC) included.
pub fn completed(title: &TitleProgress) -> bool {
    let (earned, defined) = (&title.earned, &title.defined);
    defined.total() > 0
        && earned.bronze >= defined.bronze
        && earned.silver >= defined.silver
        && earned.gold >= defined.gold
        && earned.platinum >= defined.platinum
}

/// The trophy level PSN tells now, with `points` (the stored listings' sum) to measure later
/// polls against. `None` where the API knows no level, or the read failed (logged: a level is
/// never worth failing a poll).
pub async fn read_level(
    client: &psn::Client,
    account: &Account,
    points: u64,
) -> Option<TrophyLevelRead> {
    if !client.tells_trophy_level() {
        return None;
    }
    match client.trophy_summary(account).await {
        Ok(summary) => Some(TrophyLevelRead {
            level: summary.level?,
            tier: summary.tier?,
            progress: summary.level_progress,
            points,
        }),
        Err(err) => {
            tracing::warn!(%err, account_id = %account.account_id,
                "could not read the trophy level; tier milestones wait for the next read");
            None
        }
    }
}

/// What [`detect`] found for a poll's commit.
#[derive(Debug, Default)]
pub struct Found {
    pub milestones: Vec<Milestone>,
    /// One outbox row per milestone per guild that wants it.
    pub outbox: Vec<OutboxEntry>,
    /// The trophy level, when it was read.
    pub trophy_level: Option<TrophyLevelRead>,
}

/// The milestones a regular poll's `commit` crosses, and their posts. Reads the stored state the
/// commit will replace, so it must run before [`Store::commit_poll`]. PSN is asked only for the
/// trophy level when it may have reached a new tier, and for title names in a guild's language
/// when they are not cached.
pub async fn detect(
    store: &Store,
    client: &psn::Client,
    account: &Account,
    commit: &PollCommit,
    batch: &PlayerBatch,
) -> Result<Found, TrackerError> {
    let mut found = Found::default();
    if commit.user_titles.is_empty() {
        return Ok(found);
    }
    let ids: Vec<String> = commit
        .user_titles
        .iter()
        .map(|t| t.np_communication_id.clone())
        .collect();
    let stored = store.user_titles_of(&account.account_id, &ids).await?;
    // One listing per title, the last (as the commit stores it): catch-up pages may overlap.
    let listed: HashMap<&str, &TitleProgress> = commit
        .user_titles
        .iter()
        .map(|t| (t.np_communication_id.as_str(), t))
        .collect();
    let milestone = |kind: MilestoneKind, reached_at| Milestone {
        account_id: account.account_id.clone(),
        online_id: account.online_id.clone(),
        kind,
        reached_at,
    };
    // When the newest trophy of a title (or of the whole poll) was earned.
    let latest_in = |id: Option<&str>| {
        batch
            .titles
            .iter()
            .filter(|t| id.is_none_or(|id| t.np_communication_id == id))
            .flat_map(|t| &t.trophies)
            .filter_map(|t| t.earned_at)
            .max()
    };

    // The totals after this commit: the stored ones with the changed titles' listings swapped.
    if let Some(before) = store.earned_counts(&account.account_id).await? {
        let mut after = before;
        for listed in listed.values() {
            let old = stored
                .get(&listed.np_communication_id)
                .map(|t| t.earned)
                .unwrap_or_default();
            let new = listed.earned;
            after = TrophyCounts {
                bronze: after.bronze.saturating_sub(old.bronze) + new.bronze,
                silver: after.silver.saturating_sub(old.silver) + new.silver,
                gold: after.gold.saturating_sub(old.gold) + new.gold,
                platinum: after.platinum.saturating_sub(old.platinum) + new.platinum,
            };
        }
        if let Some(count) = platinum_milestone(before.platinum, after.platinum) {
            let platinums: Vec<(&str, Option<chrono::DateTime<chrono::Utc>>)> = batch
                .titles
                .iter()
                .flat_map(|t| {
                    t.trophies
                        .iter()
                        .filter(|t| t.definition.kind == TrophyType::Platinum)
                        .map(move |p| (t.np_communication_id.as_str(), p.earned_at))
                })
                .collect();
            // The game is named when one platinum made the milestone.
            let (game, reached_at) = match platinums.as_slice() {
                [(id, at)] => (listed.get(id).map(|t| game_of(t)), *at),
                _ => (None, latest_in(None)),
            };
            found.milestones.push(milestone(
                MilestoneKind::Platinum { count, game },
                reached_at,
            ));
        }

        let stored_level = store.trophy_level(&account.account_id).await?;
        let points = level_points(&after);
        let ask = stored_level
            .as_ref()
            .is_none_or(|read| may_reach_next_tier(read, points));
        if ask {
            if let Some(read) = read_level(client, account, points).await {
                if let Some(kind) = tier_milestone(stored_level.as_ref(), &read) {
                    found.milestones.push(milestone(kind, latest_in(None)));
                }
                found.trophy_level = Some(read);
            }
        }
    }

    let mut completions: Vec<&TitleProgress> = listed
        .values()
        .copied()
        .filter(|t| completed(t) && !stored.get(&t.np_communication_id).is_some_and(completed))
        .collect();
    completions.sort_by(|a, b| a.np_communication_id.cmp(&b.np_communication_id));
    for title in completions {
        found.milestones.push(milestone(
            MilestoneKind::Completion {
                game: game_of(title),
                trophies: title.defined,
            },
            latest_in(Some(&title.np_communication_id)),
        ));
    }

    if let Some((kind, reached_at)) = rarest_ever(store, account, batch, &listed).await? {
        found.milestones.push(milestone(kind, reached_at));
    }

    if !found.milestones.is_empty() {
        found.outbox =
            outbox_entries(store, client, &account.account_id, &found.milestones).await?;
    }
    Ok(found)
}

/// Whether a new trophy at `rate` is the rarest the player has ever earned: strictly rarer than
/// `before` (the rarest of their stored earned trophies), and only once their history is
/// complete. Until the backfill has stored every title's earned trophies, a rarer trophy earned
/// before tracking may be among those not read yet, so it is not knowable and nothing is said.
pub fn is_rarest_ever(rate: f64, history: History, before: Option<f64>) -> bool {
    history_complete(history) && before.is_some_and(|before| rate < before)
}

/// Every dated title of the player's stored library has its earned trophies stored.
fn history_complete(history: History) -> bool {
    history.titles > 0 && history.with_state >= history.titles
}

/// The "rarest ever" milestone of a poll: its rarest new trophy with a known rate, when
/// [`is_rarest_ever`] says so (read from the stored state this commit replaces).
async fn rarest_ever(
    store: &Store,
    account: &Account,
    batch: &PlayerBatch,
    listed: &HashMap<&str, &TitleProgress>,
) -> Result<Option<(MilestoneKind, Option<chrono::DateTime<chrono::Utc>>)>, TrackerError> {
    let rarest = batch
        .titles
        .iter()
        .flat_map(|title| {
            title
                .trophies
                .iter()
                .filter_map(move |trophy| Some((title, trophy, trophy.earned_rate?)))
        })
        .min_by(|a, b| a.2.total_cmp(&b.2));
    let Some((title, trophy, rate)) = rarest else {
        return Ok(None);
    };
    let account_id = &account.account_id;
    let history = store
        .histories(std::slice::from_ref(account_id))
        .await?
        .get(account_id)
        .copied()
        .unwrap_or_default();
    // Cheap test first: no read of the rates while the history is incomplete.
    if !history_complete(history) {
        return Ok(None);
    }
    let before = store.rarest_earned_rate(account_id).await?;
    let Some(previous_rate) = before.filter(|_| is_rarest_ever(rate, history, before)) else {
        return Ok(None);
    };
    let game = match listed.get(title.np_communication_id.as_str()) {
        Some(listing) => game_of(listing),
        None => MilestoneGame {
            np_communication_id: title.np_communication_id.clone(),
            name: title.title_name.clone(),
            icon_url: title.title_icon_url.clone(),
            platforms: title.platforms.clone(),
        },
    };
    Ok(Some((
        MilestoneKind::Rarest {
            game,
            trophy_id: trophy.definition.id,
            trophy_name: trophy.definition.name.clone(),
            kind: trophy.definition.kind,
            earned_rate: rate,
            previous_rate,
        },
        trophy.earned_at,
    )))
}

fn game_of(title: &TitleProgress) -> MilestoneGame {
    MilestoneGame {
        np_communication_id: title.np_communication_id.clone(),
        name: title.name.clone(),
        icon_url: title.icon_url.clone(),
        platforms: title.platforms.clone(),
    }
}

/// One post per milestone per guild that tracks the player, has a channel for them and wants
/// that kind, with game names in the guild's language.
async fn outbox_entries(
    store: &Store,
    client: &psn::Client,
    account_id: &str,
    milestones: &[Milestone],
) -> Result<Vec<OutboxEntry>, TrackerError> {
    let mut entries = Vec::new();
    for destination in store.destinations(account_id).await? {
        let Some(channel_id) = destination.channel_id else {
            continue;
        };
        for milestone in milestones {
            if !destination.milestones.wants(&milestone.kind) {
                continue;
            }
            let mut shown = milestone.clone();
            let (game, trophy) = match &mut shown.kind {
                MilestoneKind::Platinum { game, .. } => (game.as_mut(), None),
                MilestoneKind::Completion { game, .. } => (Some(game), None),
                MilestoneKind::Rarest {
                    game,
                    trophy_id,
                    trophy_name,
                    ..
                } => (Some(game), Some((*trophy_id, trophy_name))),
                MilestoneKind::Level { .. } => (None, None),
            };
            if let Some(game) = game {
                let language = destination.language.as_deref();
                if let Some(definition) = definition_in(client, language, game).await {
                    game.name = definition.name;
                    if let Some((id, name)) = trophy {
                        if let Some(found) = definition.trophies.iter().find(|t| t.id == id) {
                            *name = found.name.clone();
                        }
                    }
                }
            }
            let event_key = milestone.event_key();
            entries.push(OutboxEntry {
                guild_id: destination.guild_id,
                channel_id,
                payload: serde_json::to_string(&crate::render::milestone(&shown))?,
                nonce: milestone_nonce(destination.guild_id, account_id, &event_key),
                event_key: Some(event_key),
                card: None,
            });
        }
    }
    Ok(entries)
}

/// A game's definition in the guild's language (the definitions the trophy announcement just
/// used, usually cached), for its names; `None` (the listing's names stay) when that language is
/// the default or it cannot be had.
async fn definition_in(
    client: &psn::Client,
    language: Option<&str>,
    game: &MilestoneGame,
) -> Option<psn::TitleDefinition> {
    let language = language.filter(|l| *l != client.language())?;
    match client
        .in_language(language)
        .title(&game.np_communication_id, None)
        .await
    {
        Ok(definition) => Some(definition),
        Err(err) => {
            tracing::warn!(%err, language, title = %game.np_communication_id,
                "no title name in this language; the milestone names it in the default one");
            None
        }
    }
}

/// Discord's nonce for a milestone post: `m` and the hash [`announcement_nonce`] makes of its
/// guild, account and event key (23 characters), so a resend is recognised.
pub fn milestone_nonce(guild_id: u64, account_id: &str, event_key: &str) -> String {
    let hashed = announcement_nonce(guild_id, account_id, &[event_key.to_string()], 0);
    format!("m{}", &hashed[1..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::title_progress;

    fn crossed(before: u32, after: u32) -> Option<u32> {
        platinum_milestone(before, after)
    }

    #[test]
    fn platinum_milestones_are_1_10_25_50_100_then_every_100() {
        let all: Vec<u32> = (0..=1000).filter(|&n| is_platinum_milestone(n)).collect();
        assert_eq!(
            all,
            vec![1, 10, 25, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
        );
    }

    #[test]
    fn a_milestone_counts_on_crossing_once() {
        assert_eq!(crossed(0, 1), Some(1));
        assert_eq!(crossed(9, 10), Some(10));
        assert_eq!(crossed(99, 101), Some(100), "jumped over: still the 100th");
        assert_eq!(crossed(100, 101), None, "the 100th was counted already");
        assert_eq!(crossed(101, 150), None);
        assert_eq!(crossed(199, 200), Some(200));
        assert_eq!(crossed(9, 26), Some(25), "only the highest of a jump");
        assert_eq!(crossed(1, 9), None);
        assert_eq!(crossed(26, 26), None);
        assert_eq!(crossed(101, 99), None, "a count going down crosses nothing");
        assert_eq!(
            crossed(57, 57),
            None,
            "a player first tracked at 57 gets nothing"
        );
        assert_eq!(crossed(57, 60), None);
        assert_eq!(crossed(0, 0), None);
    }

    fn read(level: u32, tier: u32, progress: Option<u32>, points: u64) -> TrophyLevelRead {
        TrophyLevelRead {
            level,
            tier,
            progress,
            points,
        }
    }

    #[test]
    fn a_tier_is_announced_only_when_it_goes_up_after_a_first_read() {
        let before = read(99, 1, Some(90), 1000);
        assert_eq!(
            tier_milestone(Some(&before), &read(100, 2, Some(0), 1100)),
            Some(MilestoneKind::Level {
                level: 100,
                tier: 2
            })
        );
        assert_eq!(
            tier_milestone(Some(&before), &read(99, 1, Some(99), 1005)),
            None
        );
        assert_eq!(
            tier_milestone(None, &read(350, 4, None, 0)),
            None,
            "the level a player has when first tracked is not announced"
        );
    }

    #[test]
    fn psn_is_asked_for_the_level_only_near_the_next_tier() {
        // Level 98 at 50 %: 30 points left in it (≤ 60·49/100 = 29 counted), then level 99's 60.
        let at = read(98, 1, Some(50), 10_000);
        assert!(!may_reach_next_tier(&at, 10_000 + 15));
        assert!(!may_reach_next_tier(&at, 10_000 + 60));
        assert!(may_reach_next_tier(&at, 10_000 + 29 + 60));
        assert!(
            may_reach_next_tier(&at, 10_000 + 300),
            "a platinum may do it"
        );
        // Far from a boundary nothing is asked for a bronze.
        assert!(!may_reach_next_tier(&read(150, 2, Some(0), 0), 15));
        // Without a progress the level is taken as nearly done.
        assert!(may_reach_next_tier(&read(99, 1, None, 0), 0));
        assert!(!may_reach_next_tier(
            &read(MAX_LEVEL, 10, None, 0),
            u64::MAX
        ));
    }

    #[test]
    fn level_points_follow_psn_weights() {
        let counts = TrophyCounts {
            bronze: 2,
            silver: 1,
            gold: 1,
            platinum: 1,
        };
        assert_eq!(level_points(&counts), 30 + 30 + 90 + 300);
    }

    fn title(earned: TrophyCounts, defined: TrophyCounts) -> TitleProgress {
        TitleProgress {
            defined,
            earned,
            ..title_progress()
        }
    }

    #[test]
    fn completion_needs_every_trophy_dlc_included() {
        let defined = TrophyCounts {
            bronze: 40,
            silver: 10,
            gold: 3,
            platinum: 1,
        };
        let base_game_only = TrophyCounts {
            bronze: 35,
            ..defined
        };
        assert!(completed(&title(defined, defined)));
        assert!(!completed(&title(base_game_only, defined)));
        assert!(!completed(&title(
            TrophyCounts::default(),
            TrophyCounts::default()
        )));
    }

    #[test]
    fn the_rarest_ever_needs_a_complete_history_and_a_strictly_rarer_trophy() {
        let complete = History {
            with_state: 12,
            titles: 12,
        };
        let backfilling = History {
            with_state: 11,
            titles: 12,
        };
        assert!(is_rarest_ever(0.8, complete, Some(2.1)));
        assert!(
            !is_rarest_ever(2.1, complete, Some(2.1)),
            "as rare is not rarer"
        );
        assert!(!is_rarest_ever(3.0, complete, Some(2.1)));
        assert!(
            !is_rarest_ever(0.8, backfilling, Some(2.1)),
            "not knowable before the backfill is done"
        );
        assert!(
            !is_rarest_ever(0.8, complete, None),
            "nothing earned (or rated) before: nothing to beat"
        );
        assert!(!is_rarest_ever(0.8, History::default(), Some(2.1)));
    }

    #[test]
    fn milestone_nonces_are_short_and_distinct_from_trophy_ones() {
        let key = "milestone:123:platinum:100";
        let nonce = milestone_nonce(7, "123", key);
        assert!(nonce.len() <= 25 && nonce.starts_with('m'), "{nonce}");
        assert_eq!(nonce, milestone_nonce(7, "123", key));
        assert_ne!(nonce, milestone_nonce(8, "123", key));
        assert_ne!(
            nonce,
            milestone_nonce(7, "123", "milestone:123:platinum:200")
        );
    }
}
