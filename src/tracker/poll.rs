//! One poll of one tracked account: find what it earned since the last poll, the cheapest way,
//! and turn it into the account's new state plus one announcement per tracking guild.
//!
//! Detection: one small most-recent-first title page (`Client::latest_titles`) compared with
//! the stored listing (last-update time and earned counts); only the titles that changed get
//! their earned state fetched. A title whose earned state answers 404 is skipped as if unseen:
//! its listing is not stored and the account's cutoff does not pass it, so the next poll
//! announces its trophies. The first poll of an account (its baseline) stores the whole
//! library and announces nothing.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use psn::{Account, TitleProgress, UserTrophy};

use super::milestones;
use crate::failpoint::{stop_if_armed, Failpoint};
use crate::model::{PlayerBatch, TitleEarnings};
use crate::store::{
    AccountStatus, ClaimedAccount, CommitOutcome, DetectedTrophy, OutboxEntry, PollCommit, Store,
    StoreError, TitleState,
};

/// Titles in the "anything new?" page: a player rarely touches more between two polls.
pub const LISTING_PAGE: u32 = 20;
/// Pages read when every title of the previous one changed (a catch-up after downtime).
const MAX_CATCH_UP_PAGES: usize = 5;
/// How long a claimed account stays ours if this process dies mid-poll.
pub const LEASE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, thiserror::Error)]
pub enum TrackerError {
    #[error(transparent)]
    Psn(#[from] psn::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("an announcement could not be serialized: {0}")]
    Payload(#[from] serde_json::Error),
}

/// How a poll ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollResult {
    /// Another process holds the account (or it is no longer tracked): nothing was asked.
    Skipped,
    /// The first poll: the library is stored as the baseline; nothing announced.
    Baseline,
    /// A regular poll (possibly finding nothing).
    Polled,
    /// The trophy list is private: status recorded, nothing else changed.
    Private,
    /// PSN does not know the account any more.
    Gone,
    /// Our lease was taken over while polling: nothing was written.
    LeaseLost,
}

/// What one poll did, for the scheduler and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub result: PollResult,
    /// Trophies newly detected.
    pub new_trophies: u32,
    /// Titles whose earned state was fetched.
    pub changed_titles: u32,
    /// PSN requests this poll asked for (title pages and earned states; definitions come from
    /// the cache).
    pub requests: u32,
    /// Announcements written to the outbox.
    pub outbox_inserted: u64,
}

impl PollReport {
    fn empty(result: PollResult) -> PollReport {
        PollReport {
            result,
            new_trophies: 0,
            changed_titles: 0,
            requests: 0,
            outbox_inserted: 0,
        }
    }
}

/// A poll's results, ready to be written with [`Store::commit_poll`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedPoll {
    pub commit: PollCommit,
    pub report: PollReport,
    /// What was found, before per-guild filters.
    pub batch: PlayerBatch,
}

/// Claims, polls and commits one account as `owner`; the loop and the tests share it.
/// A private or deleted account is a result, not an error; other failures are counted on the
/// account and returned.
pub async fn poll_once(
    store: &Store,
    client: &psn::Client,
    account_id: &str,
    owner: &str,
) -> Result<PollReport, TrackerError> {
    let never = tokio_util::sync::CancellationToken::new();
    poll_account(
        store,
        client,
        account_id,
        owner,
        PollTerms::default(),
        &never,
    )
    .await
}

/// How [`poll_account`] holds an account and when it is checked next.
#[derive(Debug, Clone, Copy)]
pub struct PollTerms {
    /// When the account is expected to be checked next (shown by `/track list`).
    pub next_check_in: Duration,
    /// How long the claim holds the account ([`LEASE`] in production).
    pub lease: Duration,
    /// The test hook, for the steps around the commit (see [`crate::failpoint`]).
    pub failpoint: Option<Failpoint>,
}

impl Default for PollTerms {
    fn default() -> PollTerms {
        PollTerms {
            next_check_in: Duration::ZERO,
            lease: LEASE,
            failpoint: None,
        }
    }
}

/// [`poll_once`] on the given [`PollTerms`]. `cancel` cuts short
/// only the PSN requests: the database steps (the claim, the commit) always finish, so a
/// shutdown never leaves a claim landing after the tracker gave its leases back.
///
/// The lease is renewed at half its length while PSN is asked, so a slow poll keeps the account
/// to itself; a renewal that finds the lease taken stops the PSN requests at once (another
/// process polls the account now) and the poll reports [`PollResult::LeaseLost`].
pub async fn poll_account(
    store: &Store,
    client: &psn::Client,
    account_id: &str,
    owner: &str,
    terms: PollTerms,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<PollReport, TrackerError> {
    let PollTerms {
        next_check_in,
        lease,
        failpoint,
    } = terms;
    let Some(claimed) = store.claim_account(account_id, owner, lease).await? else {
        return Ok(PollReport::empty(PollResult::Skipped));
    };
    let prepared = tokio::select! {
        _ = cancel.cancelled() => {
            store.release_account(account_id, owner).await?;
            return Ok(PollReport::empty(PollResult::Skipped));
        }
        () = hold_lease(store, account_id, owner, lease) => {
            tracing::info!(account_id, "lease taken over while polling; poll stopped");
            return Ok(PollReport::empty(PollResult::LeaseLost));
        }
        prepared = prepare_poll(store, client, &claimed, next_check_in) => prepared,
    };
    let prepared = match prepared {
        Ok(prepared) => prepared,
        Err(TrackerError::Psn(psn::Error::Private(_))) => {
            store
                .set_account_status(account_id, owner, AccountStatus::Private, next_check_in)
                .await?;
            return Ok(PollReport::empty(PollResult::Private));
        }
        Err(TrackerError::Psn(psn::Error::UserNotFound(_))) => {
            store
                .set_account_status(account_id, owner, AccountStatus::Gone, next_check_in)
                .await?;
            return Ok(PollReport::empty(PollResult::Gone));
        }
        Err(err) => {
            // PSN errors never hold secrets; the message is for `/track list` and the logs.
            if let Err(store_err) = store
                .record_poll_error(account_id, owner, &err.to_string())
                .await
            {
                tracing::warn!(%store_err, account_id, "could not record a poll error");
            }
            return Err(err);
        }
    };
    let mut report = prepared.report;
    // The hooks are about an announcement's way: only a commit that carries one stops.
    let announces = !prepared.commit.outbox.is_empty();
    if announces {
        stop_if_armed(failpoint, Failpoint::PollBeforeCommit).await;
    }
    match store.commit_poll(owner, &prepared.commit).await {
        Ok(CommitOutcome::Committed {
            outbox_inserted, ..
        }) => {
            report.outbox_inserted = outbox_inserted;
            if announces {
                stop_if_armed(failpoint, Failpoint::PollAfterCommit).await;
            }
        }
        Ok(CommitOutcome::LeaseLost) => {
            tracing::info!(
                account_id,
                "lease taken over while polling; results dropped"
            );
            report.result = PollResult::LeaseLost;
            report.outbox_inserted = 0;
        }
        Err(err) => {
            if let Err(release_err) = store.release_account(account_id, owner).await {
                tracing::warn!(%release_err, account_id, "could not release a lease");
            }
            return Err(err.into());
        }
    }
    Ok(report)
}

/// Renews the account's lease every half `lease`; returns only once a renewal finds the lease
/// no longer `owner`'s. A failed renewal (the database away) is retried at the next beat: the
/// lease still holds until it runs out, and the commit checks it anyway.
async fn hold_lease(store: &Store, account_id: &str, owner: &str, lease: Duration) {
    let beat = lease / 2;
    loop {
        tokio::time::sleep(beat).await;
        match store.renew_account_lease(account_id, owner, lease).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(err) => tracing::warn!(%err, account_id, "could not renew a poll lease"),
        }
    }
}

/// Asks PSN what a claimed account earned and builds what to write. Writes nothing.
pub async fn prepare_poll(
    store: &Store,
    client: &psn::Client,
    claimed: &ClaimedAccount,
    next_check_in: Duration,
) -> Result<PreparedPoll, TrackerError> {
    let account = Account {
        account_id: claimed.account_id.clone(),
        online_id: claimed.online_id.clone(),
    };
    if claimed.baseline_done {
        detect(store, client, claimed, &account, next_check_in).await
    } else {
        baseline(client, &account, next_check_in).await
    }
}

/// The first poll: the whole library, fresh from PSN, stored without announcing anything.
async fn baseline(
    client: &psn::Client,
    account: &Account,
    next_check_in: Duration,
) -> Result<PreparedPoll, TrackerError> {
    let mut requests = 0;
    let online_id = current_online_id(client, account, &mut requests).await;
    let titles = client.all_latest_titles(account).await?;
    // Every page but the last is full, and an empty library still takes one request.
    let pages = titles
        .len()
        .div_ceil(client.max_titles_page() as usize)
        .max(1);
    requests += u32::try_from(pages).unwrap_or(u32::MAX);
    // Where the player's level stands now, so that only a tier reached later is news.
    let meter = psn::Meter::new();
    let points = milestones::level_points(&titles.iter().map(|t| t.earned).sum());
    let trophy_level =
        milestones::read_level(&client.metered(meter.clone()), account, points).await;
    requests += u32::try_from(meter.count()).unwrap_or(u32::MAX);
    let commit = PollCommit {
        account_id: account.account_id.clone(),
        online_id: online_id.clone(),
        next_check_in,
        last_title_update: titles.iter().filter_map(|t| t.last_updated).max(),
        title_states: Vec::new(),
        user_titles: titles,
        detected: Vec::new(),
        outbox: Vec::new(),
        trophy_level,
    };
    Ok(PreparedPoll {
        commit,
        report: PollReport {
            requests,
            ..PollReport::empty(PollResult::Baseline)
        },
        batch: PlayerBatch {
            account_id: account.account_id.clone(),
            online_id,
            titles: Vec::new(),
        },
    })
}

/// The account's online ID now: a player who renamed keeps their account ID, and PSN resolves
/// the old name to the current one (usually from the client's cache, since `/track add` just
/// resolved it). When the old name is unknown or now someone else's, the stored one stays.
async fn current_online_id(client: &psn::Client, account: &Account, requests: &mut u32) -> String {
    // A stored ID that no longer parses (damage, or a rule PSN changed) keeps the stored name.
    let Ok(online_id) = psn::OnlineId::parse(&account.online_id) else {
        return account.online_id.clone();
    };
    // Counted with a meter of its own: the client's totals include every command's requests.
    let meter = psn::Meter::new();
    let resolved = client.metered(meter.clone()).resolve_user(&online_id).await;
    *requests += u32::try_from(meter.count()).unwrap_or(u32::MAX);
    match resolved {
        Ok(found) if found.account_id == account.account_id => {
            if found.online_id != account.online_id {
                tracing::info!(account_id = %account.account_id, online_id = %found.online_id,
                    "tracked player renamed");
            }
            found.online_id
        }
        Ok(_) | Err(_) => account.online_id.clone(),
    }
}

/// Whether a listed title differs from how it was listed last time (or was never listed).
fn listing_changed(listed: &TitleProgress, stored: Option<&TitleProgress>) -> bool {
    stored.is_none_or(|stored| {
        stored.last_updated != listed.last_updated || stored.earned != listed.earned
    })
}

async fn detect(
    store: &Store,
    client: &psn::Client,
    claimed: &ClaimedAccount,
    account: &Account,
    next_check_in: Duration,
) -> Result<PreparedPoll, TrackerError> {
    let mut requests = 0;
    // (listed now, as listed before)
    let mut changed: Vec<(TitleProgress, Option<TitleProgress>)> = Vec::new();
    let mut last_title_update = None;
    let mut offset = 0;
    let mut limit = LISTING_PAGE;
    for _ in 0..MAX_CATCH_UP_PAGES {
        let page = client.latest_titles(account, offset, limit).await?;
        requests += 1;
        let ids: Vec<String> = page
            .titles
            .iter()
            .map(|t| t.np_communication_id.clone())
            .collect();
        let mut stored = store.user_titles_of(&account.account_id, &ids).await?;
        let mut all_changed = !page.titles.is_empty();
        for title in page.titles {
            let before = stored.remove(&title.np_communication_id);
            if listing_changed(&title, before.as_ref()) {
                changed.push((title, before));
            } else {
                // A changed title counts once its trophies are read (it may be skipped).
                last_title_update = last_title_update.max(title.last_updated);
                all_changed = false;
            }
        }
        // Titles are most recent first: past the first unchanged one nothing else changed.
        match page.next_offset {
            Some(next) if all_changed && next > offset => {
                offset = next;
                limit = client.max_titles_page();
            }
            _ => break,
        }
    }

    let ids: Vec<String> = changed
        .iter()
        .map(|(t, _)| t.np_communication_id.clone())
        .collect();
    let states = store.title_states(&account.account_id, &ids).await?;
    let mut commit = PollCommit {
        account_id: account.account_id.clone(),
        online_id: account.online_id.clone(),
        next_check_in,
        ..PollCommit::default()
    };
    let mut batch = PlayerBatch {
        account_id: account.account_id.clone(),
        online_id: account.online_id.clone(),
        titles: Vec::new(),
    };
    let mut changed_titles = 0;
    // Whether a skipped title will be judged by the account's cutoff next poll.
    let mut hold_cutoff = false;
    for (listed, before) in changed {
        let id = listed.np_communication_id.clone();
        let trophies = match client.user_trophies(account, &id).await {
            Ok(trophies) => trophies,
            // One unreadable title must not hold back the others; it is retried next poll
            // because neither its listing nor its earned ids are stored, so it is judged as
            // if this poll had not seen it.
            Err(psn::Error::TitleNotFound(_)) => {
                tracing::warn!(account_id = %account.account_id, title = %id,
                    "a listed title's trophies were not found; skipped");
                hold_cutoff |= judged_by_account_cutoff(states.get(&id), before.as_ref());
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        requests += 1;
        changed_titles += 1;
        let new = new_trophies(
            &trophies.trophies,
            states.get(&id),
            before.as_ref(),
            claimed.last_title_update,
        );
        commit.title_states.push(TitleState {
            np_communication_id: id.clone(),
            last_updated: listed.last_updated.or(trophies.last_updated),
            earned: trophies
                .trophies
                .iter()
                .filter(|t| t.earned)
                .map(|t| t.definition.id)
                .collect(),
            earned_at: trophies
                .trophies
                .iter()
                .filter(|t| t.earned)
                .filter_map(|t| Some((t.definition.id, t.earned_at?)))
                .collect(),
        });
        if !new.is_empty() {
            commit
                .detected
                .extend(new.iter().map(|trophy| DetectedTrophy {
                    np_communication_id: id.clone(),
                    trophy_id: trophy.definition.id,
                    kind: trophy.definition.kind,
                    earned_at: trophy.earned_at,
                }));
            batch.titles.push(TitleEarnings {
                np_communication_id: id,
                title_name: listed.name.clone(),
                title_icon_url: listed.icon_url.clone(),
                platforms: listed.platforms.clone(),
                trophies: new,
                progress_after: listed.progress,
                earned_after: listed.earned,
                defined: listed.defined,
            });
        }
        last_title_update = last_title_update.max(listed.last_updated);
        commit.user_titles.push(listed);
    }
    // The account's cutoff must not pass trophies nobody has read yet: a skipped title that
    // the next poll judges by it keeps the old one (stored ids or its own stored listing time
    // need no cutoff, so they let it advance).
    commit.last_title_update = if hold_cutoff {
        claimed.last_title_update
    } else {
        last_title_update
    };
    // The game played longest ago first, like the trophies inside each game.
    batch
        .titles
        .sort_by_key(|t| t.trophies.iter().filter_map(|t| t.earned_at).max());

    let new_trophies: usize = batch.titles.iter().map(|t| t.trophies.len()).sum();
    if new_trophies > 0 {
        // Definitions in a server's language, when not cached yet, counted with a meter of
        // their own: the client's totals include every command's requests meanwhile, which
        // the scheduler would charge to the tracker and pause for.
        let meter = psn::Meter::new();
        commit.outbox = outbox_entries(store, &client.metered(meter.clone()), &batch).await?;
        requests += u32::try_from(meter.count()).unwrap_or(u32::MAX);
    }
    // Milestones come from the same before/after comparison and are committed with the poll.
    let meter = psn::Meter::new();
    let found = milestones::detect(
        store,
        &client.metered(meter.clone()),
        account,
        &commit,
        &batch,
    )
    .await?;
    requests += u32::try_from(meter.count()).unwrap_or(u32::MAX);
    commit.outbox.extend(found.outbox);
    commit.trophy_level = found.trophy_level;
    Ok(PreparedPoll {
        commit,
        report: PollReport {
            result: PollResult::Polled,
            new_trophies: u32::try_from(new_trophies).unwrap_or(u32::MAX),
            changed_titles,
            requests,
            outbox_inserted: 0,
        },
        batch,
    })
}

/// Whether [`new_trophies`] judges a title by the account's newest stored update: no earned ids
/// stored, and no last-update time of its own in the stored listing.
fn judged_by_account_cutoff(
    stored: Option<&TitleState>,
    listed_before: Option<&TitleProgress>,
) -> bool {
    stored.is_none()
        && listed_before
            .and_then(|before| before.last_updated)
            .is_none()
}

/// The trophies of a changed title earned since the last poll, oldest first (undated ones
/// last, by id).
///
/// - Earned ids stored for the title: the earned ids not among them (exact).
/// - Title listed before but its ids never fetched (known from the baseline listing): the
///   trophies earned after the title's stored last update. Undated (offline) trophies cannot
///   be told apart from old ones there, so they are not announced.
/// - Title never listed before (first played after the baseline): trophies earned after the
///   account's newest stored update, and undated ones, which cannot predate it.
pub fn new_trophies(
    trophies: &[UserTrophy],
    stored: Option<&TitleState>,
    listed_before: Option<&TitleProgress>,
    account_last_update: Option<DateTime<Utc>>,
) -> Vec<UserTrophy> {
    let earned = trophies.iter().filter(|t| t.earned);
    let mut new: Vec<UserTrophy> = match (stored, listed_before) {
        (Some(state), _) => {
            let known: HashSet<u32> = state.earned.iter().copied().collect();
            earned
                .filter(|t| !known.contains(&t.definition.id))
                .cloned()
                .collect()
        }
        (None, Some(before)) => {
            let since = before.last_updated.or(account_last_update);
            earned
                .filter(|t| match (t.earned_at, since) {
                    (Some(at), Some(since)) => at > since,
                    (Some(_), None) => true,
                    (None, _) => false,
                })
                .cloned()
                .collect()
        }
        (None, None) => earned
            .filter(|t| match (t.earned_at, account_last_update) {
                (Some(at), Some(since)) => at > since,
                _ => true,
            })
            .cloned()
            .collect(),
    };
    new.sort_by_key(|t| (t.earned_at.is_none(), t.earned_at, t.definition.id));
    new
}

/// One outbox row per announcement per tracking guild with a channel, with names in the
/// guild's language. The batch is translated once per language some guild uses (none for the
/// default), before the commit transaction.
async fn outbox_entries(
    store: &Store,
    client: &psn::Client,
    batch: &PlayerBatch,
) -> Result<Vec<OutboxEntry>, TrackerError> {
    let mut entries = Vec::new();
    let mut translated: HashMap<String, PlayerBatch> = HashMap::new();
    // The platinum count before this batch (stored listings), for the card's "Nth platinum".
    let platinums_before = if batch_has_platinum(batch) {
        store
            .earned_counts(&batch.account_id)
            .await?
            .map(|counts| counts.platinum)
    } else {
        None
    };
    for destination in store.destinations(&batch.account_id).await? {
        let Some(channel_id) = destination.channel_id else {
            tracing::info!(guild_id = destination.guild_id, account_id = %batch.account_id,
                "no announcement channel set; this guild's announcements are skipped");
            continue;
        };
        let batch = match destination.language.as_deref() {
            Some(language) if language != client.language() => {
                if !translated.contains_key(language) {
                    let localized = localized(client, batch, language).await;
                    translated.insert(language.to_string(), localized);
                }
                &translated[language]
            }
            _ => batch,
        };
        let passing: Vec<String> = batch
            .titles
            .iter()
            .flat_map(|title| {
                title
                    .trophies
                    .iter()
                    .filter(|t| destination.filter.passes(t.definition.kind, t.earned_rate))
                    .map(|t| format!("{}:{}", title.np_communication_id, t.definition.id))
            })
            .collect();
        // Where each trophy stands in this server, from stored data only.
        let contexts = super::context::server_contexts(store, destination.guild_id, batch).await?;
        let replies = crate::render::announcements_in_server(batch, &destination.filter, &contexts);
        let card = platinum_card(batch, &destination.filter, platinums_before)
            .map(|card| serde_json::to_string(&card))
            .transpose()?;
        for (index, reply) in replies.iter().enumerate() {
            entries.push(OutboxEntry {
                guild_id: destination.guild_id,
                channel_id,
                payload: serde_json::to_string(reply)?,
                nonce: announcement_nonce(destination.guild_id, &batch.account_id, &passing, index),
                event_key: None,
                // One message per batch: the card goes with it.
                card: card.clone().filter(|_| index == 0),
            });
        }
    }
    Ok(entries)
}

fn batch_has_platinum(batch: &PlayerBatch) -> bool {
    batch
        .titles
        .iter()
        .flat_map(|t| &t.trophies)
        .any(|t| t.definition.kind == psn::TrophyType::Platinum)
}

/// The card of the batch's first platinum that passes `filter`; its count is the player's
/// platinums before the batch plus those of the batch up to it.
fn platinum_card(
    batch: &PlayerBatch,
    filter: &crate::model::AnnounceFilter,
    platinums_before: Option<u32>,
) -> Option<crate::cards::CardSpec> {
    let mut count = platinums_before;
    for title in &batch.titles {
        for trophy in &title.trophies {
            if trophy.definition.kind != psn::TrophyType::Platinum {
                continue;
            }
            count = count.map(|n| n + 1);
            if filter.passes(trophy.definition.kind, trophy.earned_rate) {
                return Some(crate::cards::platinum_card(
                    &batch.online_id,
                    title,
                    trophy,
                    count,
                ));
            }
        }
    }
    None
}

/// The batch with title and trophy names and details in `language`, from the title definitions
/// in that language (cached per language, so each title costs PSN once per language). When one
/// cannot be had, the whole batch stays in the default language: an announcement is never lost
/// or held back for a translation, nor half translated.
async fn localized(client: &psn::Client, batch: &PlayerBatch, language: &str) -> PlayerBatch {
    let client = client.in_language(language);
    let mut localized = batch.clone();
    for title in &mut localized.titles {
        let definition = match client.title(&title.np_communication_id, None).await {
            Ok(definition) => definition,
            Err(err) => {
                tracing::warn!(%err, language, title = %title.np_communication_id,
                    account_id = %batch.account_id,
                    "no title definition in this language; announcing in the default one");
                return batch.clone();
            }
        };
        title.title_name = definition.name;
        for trophy in &mut title.trophies {
            let found = definition
                .trophies
                .iter()
                .find(|d| d.id == trophy.definition.id);
            if let Some(named) = found {
                trophy.definition.name = named.name.clone();
                trophy.definition.detail = named.detail.clone();
            }
        }
    }
    localized
}

/// Discord's message nonce for one announcement: the same guild, account, trophies and message
/// index always give the same nonce, so detecting the same trophies again inserts nothing and
/// a resend is recognised. `t` and 22 base-62 digits of a 128-bit FNV-1a hash (23 characters;
/// Discord allows 25). A stable hash written out here, because std's hasher may change.
pub fn announcement_nonce(
    guild_id: u64,
    account_id: &str,
    trophies: &[String],
    index: usize,
) -> String {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut hash = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u128::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
        // A separator after each part, so ("ab","c") and ("a","bc") differ.
        hash ^= 0xff;
        hash = hash.wrapping_mul(PRIME);
    };
    feed(&guild_id.to_le_bytes());
    feed(account_id.as_bytes());
    let mut sorted: Vec<&String> = trophies.iter().collect();
    sorted.sort();
    for trophy in sorted {
        feed(trophy.as_bytes());
    }
    feed(&(index as u64).to_le_bytes());

    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 22];
    for digit in digits.iter_mut().rev() {
        *digit = DIGITS[(hash % 62) as usize];
        hash /= 62;
    }
    let mut nonce = String::with_capacity(23);
    nonce.push('t');
    nonce.extend(digits.iter().map(|&d| char::from(d)));
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use psn::{TrophyDefinition, TrophyType};

    use crate::test_support::title_progress;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("valid time")
    }

    fn trophy(id: u32, earned_at: Option<i64>, earned: bool) -> UserTrophy {
        UserTrophy {
            definition: TrophyDefinition {
                id,
                group_id: "default".into(),
                hidden: false,
                kind: TrophyType::Bronze,
                name: format!("T{id}"),
                detail: String::new(),
                icon_url: None,
            },
            earned,
            earned_at: earned_at.map(at),
            earned_rate: None,
            rarity: None,
        }
    }

    fn listing(last_updated: Option<i64>) -> TitleProgress {
        TitleProgress {
            last_updated: last_updated.map(at),
            ..title_progress()
        }
    }

    fn ids(trophies: &[UserTrophy]) -> Vec<u32> {
        trophies.iter().map(|t| t.definition.id).collect()
    }

    #[test]
    fn stored_ids_give_exactly_the_new_ones_oldest_first() {
        let trophies = [
            trophy(1, Some(100), true),
            trophy(2, Some(300), true),
            trophy(3, None, true),
            trophy(4, Some(200), true),
            trophy(5, None, false),
        ];
        let state = TitleState {
            np_communication_id: "NPWR00001_00".into(),
            last_updated: None,
            earned: vec![1],
            earned_at: Default::default(),
        };
        let new = new_trophies(&trophies, Some(&state), None, None);
        assert_eq!(ids(&new), vec![4, 2, 3]);
    }

    #[test]
    fn without_stored_ids_only_trophies_after_the_last_update_are_new() {
        let trophies = [
            trophy(1, Some(100), true),
            trophy(2, Some(300), true),
            trophy(3, None, true),
        ];
        let before = listing(Some(200));
        assert_eq!(
            ids(&new_trophies(&trophies, None, Some(&before), Some(at(50)))),
            vec![2]
        );
        // A title first seen after the baseline: everything after the account's last update,
        // undated ones included.
        assert_eq!(
            ids(&new_trophies(&trophies, None, None, Some(at(150)))),
            vec![2, 3]
        );
    }

    #[test]
    fn nonces_are_short_stable_and_distinct() {
        let trophies = vec!["NPWR1_00:3".to_string(), "NPWR1_00:4".to_string()];
        let reversed: Vec<String> = trophies.iter().rev().cloned().collect();
        let nonce = announcement_nonce(7, "acc", &trophies, 0);
        assert!(nonce.len() <= 25 && nonce.is_ascii(), "{nonce}");
        assert_eq!(nonce, announcement_nonce(7, "acc", &reversed, 0));
        assert_eq!(nonce, "t".to_string() + &nonce[1..]);
        for other in [
            announcement_nonce(8, "acc", &trophies, 0),
            announcement_nonce(7, "acd", &trophies, 0),
            announcement_nonce(7, "acc", &trophies[..1], 0),
            announcement_nonce(7, "acc", &trophies, 1),
        ] {
            assert_ne!(nonce, other);
        }
    }
}
