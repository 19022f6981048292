//! The outbox deliverer: posts the tracker's announcements to Discord, each exactly once, across
//! crashes, restarts and several deliverers on one database.
//!
//! How a row goes out:
//! 1. claimed under a lease (`FOR UPDATE SKIP LOCKED`, committed at once);
//! 2. the attempt is recorded (its own commit) before posting;
//! 3. posted with Discord's `nonce` and `enforce_nonce: true`, so a repeat within Discord's
//!    window returns the first message instead of a second one;
//! 4. marked sent with the message id, only while still ours.
//!
//! A crash between 3 and 4 leaves a recorded attempt. Retried within [`NONCE_WINDOW`], the nonce
//! deduplicates; later, the channel's messages since the attempt are searched for the
//! announcement's reference (`ref <nonce>` in the last embed's footer: Discord does not return
//! nonces in message history) and a match is marked sent without posting again. Whether the
//! window has passed is decided at step 2, right before the post, not at the claim. The search
//! pages backwards from the newest message (`before`, 100 a page) until past the attempt, and
//! takes only the bot's own messages (its user ID, asked once): another bot or a user quoting
//! the same footer is not the announcement.
//!
//! Different channels are delivered at once, each in a task of its own (see [`Deliverer::run`]),
//! within the bound of the process's [`DiscordGate`], which also times out every call: a
//! rate-limited or hung channel holds up only itself. While a row's post or history search is in
//! flight, the leases of its channel's claimed rows are renewed every [`LEASE_RENEWAL`].
//!
//! Failpoints (`TROPHYBOT_FAILPOINT`, see [`crate::failpoint`]): the deliverer can be stopped
//! after the claim, before the post, after the post and after the mark, for tests that kill it
//! there.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use poise::serenity_prelude as serenity;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::discord_gate::{CallKind, DiscordGate};
use crate::failpoint::{stop_if_armed, Failpoint};
use crate::model::reply::{Embed, Reply};
use crate::render::{delivery_problem, DeliveryFailure};
use crate::store::{AttemptStart, OutboxRow, Store, StoreError};
use crate::tracker::Signals;

/// How long Discord deduplicates by `enforce_nonce`. Discord documents "a few minutes" without a
/// number; two minutes is what it is seen to honour, and retrying within a shorter window than
/// the real one is what keeps the nonce path safe. Past it, the channel's history is searched.
pub const NONCE_WINDOW: Duration = Duration::from_secs(120);
/// How long a claim holds a row; renewed just before each post and every [`LEASE_RENEWAL`]
/// while a post or history search is in flight. A crashed deliverer's rows are free again after this (or at once when a
/// deliverer of the same owner name starts). A lease that runs out mid-post costs no duplicate:
/// the next holder's post carries the same nonce.
pub const CLAIM_LEASE: Duration = Duration::from_secs(10);
/// Rows claimed per pass; a full batch makes the loop claim again at once (while there is room
/// for more channels).
const CLAIM_BATCH: i64 = 10;
/// How often the leases of a channel's claimed rows are renewed while one of them is in
/// flight: well within [`CLAIM_LEASE`].
const LEASE_RENEWAL: Duration = Duration::from_secs(3);
/// Channels delivered at once; the Discord calls are bounded again by the gate.
const CHANNELS_IN_FLIGHT: usize = super::discord_gate::MAX_IN_FLIGHT;
/// How often the outbox is looked at without a signal (retries after a backoff, other
/// processes' rows, expired leases).
const TICK: Duration = Duration::from_secs(5);
const BACKOFF_FIRST: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(600);
/// The history search starts this long before the recorded attempt: the database's and
/// Discord's clocks may disagree a little.
const HISTORY_SLACK: Duration = Duration::from_secs(600);
/// Discord's maximum page of channel messages.
const HISTORY_LIMIT: u8 = 100;
/// Discord's epoch (2015-01-01) in Unix milliseconds: snowflakes count from it.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// The text a delivered announcement carries in its last embed's footer, by which it is found
/// in the channel's history.
pub fn reference(nonce: &str) -> String {
    format!("ref {nonce}")
}

/// What one pass did, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassSummary {
    pub claimed: usize,
    /// Posted (or returned by Discord's nonce deduplication) and marked sent.
    pub posted: usize,
    /// Found already posted in the channel's history and marked sent.
    pub found: usize,
    /// Handed back to be retried after a backoff (429, 5xx, network, or behind such a row).
    pub retried: usize,
    /// Given up on: the channel is gone or forbidden, or Discord rejects the payload.
    pub failed: usize,
    /// Taken over by another deliverer meanwhile.
    pub lost: usize,
}

/// Posts claimed outbox rows. Cheap to clone.
#[derive(Clone)]
pub struct Deliverer {
    store: Store,
    http: Arc<serenity::Http>,
    metrics: crate::ops::Metrics,
    /// Every Discord call goes through it: hold, bound, timeout, counting.
    gate: DiscordGate,
    owner: String,
    /// The test hook (see [`crate::failpoint`]); `None` in production.
    failpoint: Option<Failpoint>,
    /// The bot's user ID, to know its own messages in a channel's history (see
    /// [`Deliverer::own_user_id`]).
    own_user_id: Arc<tokio::sync::OnceCell<serenity::UserId>>,
    /// Draws the image cards rows carry; `None` posts text only.
    cards: Option<Arc<crate::cards::CardMaker>>,
    /// The shards this process holds (see [`crate::shards`]): it posts only for their guilds.
    /// `None`: every guild (a deliverer alone on its database).
    shards: Option<tokio::sync::watch::Receiver<crate::shards::HeldShards>>,
}

/// How one row ended.
enum Outcome {
    Posted,
    Found,
    Retry(String),
    ChannelBroken(DeliveryFailure, String),
    Rejected(String),
    Lost,
}

impl Deliverer {
    /// `owner` names this deliverer in the claims: unique among running deliverers, and ideally
    /// the same after a restart so the restarted one takes its rows back at once.
    pub fn new(
        store: Store,
        http: Arc<serenity::Http>,
        metrics: crate::ops::Metrics,
        owner: impl Into<String>,
    ) -> Deliverer {
        Deliverer {
            store,
            http,
            gate: DiscordGate::new(metrics.clone()),
            metrics,
            owner: owner.into(),
            failpoint: None,
            own_user_id: Arc::new(tokio::sync::OnceCell::new()),
            cards: None,
            shards: None,
        }
    }

    /// Draws and attaches the image card a row carries, in servers that have cards on.
    pub fn with_cards(mut self, cards: Arc<crate::cards::CardMaker>) -> Deliverer {
        self.cards = Some(cards);
        self
    }

    /// The row's reply with its card attached, when it has one, the server wants cards and the
    /// card can be made; otherwise the reply as it is (the text never waits on a card).
    async fn with_card(&self, row: &OutboxRow, reply: Reply) -> Reply {
        let (Some(card), Some(cards)) = (&row.card, &self.cards) else {
            return reply;
        };
        let spec: crate::cards::CardSpec = match serde_json::from_value(card.clone()) {
            Ok(spec) => spec,
            Err(error) => {
                tracing::warn!(outbox = row.id, %error, "unreadable card; posting the text only");
                return reply;
            }
        };
        match self.store.guild_settings(row.guild_id).await {
            Ok(settings) if settings.cards => {}
            Ok(_) => return reply,
            Err(error) => {
                tracing::warn!(outbox = row.id, %error, "server settings unreadable; posting the text only");
                return reply;
            }
        }
        match cards.make(&spec).await {
            Some(file) => {
                let index = crate::render::platinum_embed_index(&reply).unwrap_or(0);
                reply.with_card_on(file, index)
            }
            None => reply,
        }
    }

    /// Posts only for guilds on the shards this process holds, as they come and go.
    pub fn with_shards(
        mut self,
        shards: tokio::sync::watch::Receiver<crate::shards::HeldShards>,
    ) -> Deliverer {
        self.shards = Some(shards);
        self
    }

    /// Claims due rows: of every guild, or only of the held shards' guilds.
    async fn claim(&self) -> Result<Vec<OutboxRow>, StoreError> {
        let Some(shards) = &self.shards else {
            return self
                .store
                .claim_outbox(&self.owner, CLAIM_LEASE, CLAIM_BATCH)
                .await;
        };
        let (held, total) = {
            let held = shards.borrow();
            (held.shards.iter().copied().collect::<Vec<_>>(), held.total)
        };
        if held.is_empty() {
            return Ok(Vec::new());
        }
        self.store
            .claim_outbox_on_shards(&self.owner, CLAIM_LEASE, CLAIM_BATCH, Some((&held, total)))
            .await
    }

    /// Shares the process's gate (the default is one of its own).
    pub fn with_gate(mut self, gate: DiscordGate) -> Deliverer {
        self.gate = gate;
        self
    }

    /// Arms a test hook (see [`crate::failpoint`]): the deliverer stops at that step.
    pub fn with_failpoint(mut self, failpoint: Option<Failpoint>) -> Deliverer {
        self.failpoint = failpoint;
        self
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Frees the claims an earlier run under this owner name left behind (it crashed or was
    /// killed): that run is gone, so its rows need not wait for their leases to end.
    pub async fn take_over_own_claims(&self) -> Result<u64, StoreError> {
        self.store.release_outbox_claims(&self.owner).await
    }

    /// One pass: claims due rows and delivers them, different channels at once, a channel's
    /// rows in order, and returns when all are done. A failure on one channel never stops the
    /// others. (The running deliverer does not wait for a whole pass: see [`Deliverer::run`].)
    pub async fn deliver_pending(&self) -> Result<PassSummary, StoreError> {
        let rows = self.claim().await?;
        let mut summary = PassSummary {
            claimed: rows.len(),
            ..PassSummary::default()
        };
        let mut channels = tokio::task::JoinSet::new();
        for rows in by_channel(rows) {
            let deliverer = self.clone();
            channels.spawn(async move { Box::pin(deliverer.deliver_channel(rows)).await });
        }
        let mut first_error = None;
        while let Some(joined) = channels.join_next().await {
            match joined {
                Ok(Ok(channel)) => summary.add(channel),
                Ok(Err(err)) => {
                    first_error.get_or_insert(err);
                }
                Err(err) => tracing::error!(%err, "a channel's delivery task failed"),
            }
        }
        self.update_depth().await;
        match first_error {
            Some(err) => Err(err),
            None => Ok(summary),
        }
    }

    /// Delivers one channel's claimed rows in order, renewing their leases while each is in
    /// flight. After a row that must wait, the rest wait as long (they stay in order); after a
    /// broken channel, the rest are given up with it.
    async fn deliver_channel(&self, rows: Vec<OutboxRow>) -> Result<PassSummary, StoreError> {
        let mut summary = PassSummary::default();
        let mut held: Vec<i64> = rows.iter().map(|row| row.id).collect();
        let mut rows = rows.into_iter();
        while let Some(row) = rows.next() {
            let outcome = Box::pin(self.with_leases_renewed(&held, self.deliver_one(&row))).await?;
            held.retain(|id| *id != row.id);
            match outcome {
                Outcome::Posted => summary.posted += 1,
                Outcome::Found => summary.found += 1,
                Outcome::Lost => summary.lost += 1,
                Outcome::Retry(error) => {
                    let wait = backoff(row.attempts);
                    tracing::warn!(
                        outbox = row.id,
                        channel = row.channel_id,
                        attempts = row.attempts + 1,
                        retry_in = ?wait,
                        %error,
                        "announcement not posted; will retry"
                    );
                    self.store
                        .release_outbox_row(row.id, &self.owner, wait, &error)
                        .await?;
                    summary.retried += 1;
                    for later in rows {
                        self.store
                            .release_outbox_row(
                                later.id,
                                &self.owner,
                                wait,
                                "waiting for an earlier announcement in this channel",
                            )
                            .await?;
                        summary.retried += 1;
                    }
                    return Ok(summary);
                }
                Outcome::Rejected(reason) => {
                    tracing::error!(outbox = row.id, channel = row.channel_id, %reason, "Discord rejects this announcement; giving it up");
                    self.store.fail_outbox_row(row.id, &reason).await?;
                    summary.failed += 1;
                }
                Outcome::ChannelBroken(problem, reason) => {
                    let failed = self
                        .store
                        .fail_channel_outbox(row.channel_id, &reason)
                        .await?;
                    tracing::warn!(
                        guild = row.guild_id,
                        channel = row.channel_id,
                        failed,
                        %reason,
                        "announcement channel unusable; its pending announcements are given up"
                    );
                    // This row and the rest of the channel's claimed ones.
                    summary.failed += 1 + rows.len();
                    self.report(row.guild_id, row.channel_id, problem).await?;
                    return Ok(summary);
                }
            }
        }
        Ok(summary)
    }

    /// Runs `work` while renewing the leases on `held` every [`LEASE_RENEWAL`], so a post or a
    /// history search that takes long (a rate limit, a slow Discord) keeps its rows.
    async fn with_leases_renewed<T>(&self, held: &[i64], work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        let mut renewal =
            tokio::time::interval_at(tokio::time::Instant::now() + LEASE_RENEWAL, LEASE_RENEWAL);
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = renewal.tick() => {
                    if let Err(err) = self.store.renew_outbox_claims(held, &self.owner, CLAIM_LEASE).await {
                        tracing::warn!(%err, "could not renew the leases of announcements in flight");
                    }
                }
            }
        }
    }

    async fn update_depth(&self) {
        match self.store.outbox_pending_count().await {
            Ok(depth) => self.metrics.set_outbox_depth(depth),
            Err(err) => tracing::warn!(%err, "could not count the outbox"),
        }
    }

    async fn deliver_one(&self, row: &OutboxRow) -> Result<Outcome, StoreError> {
        stop_if_armed(self.failpoint, Failpoint::DeliverAfterClaim).await;
        let reply: Reply = match serde_json::from_value(row.payload.clone()) {
            Ok(reply) => reply,
            Err(err) => return Ok(Outcome::Rejected(format!("unreadable payload: {err}"))),
        };
        let reply = with_reference(&reply, &row.nonce);
        // Whether an earlier attempt is past the nonce window is decided when the attempt is
        // recorded, right before the post, not at claim: rows wait their turn in a pass.
        let mut history_searched = false;
        loop {
            match self
                .store
                .begin_outbox_attempt(
                    row.id,
                    &self.owner,
                    CLAIM_LEASE,
                    NONCE_WINDOW,
                    history_searched,
                )
                .await?
            {
                AttemptStart::Recorded => break,
                AttemptStart::Lost => return Ok(Outcome::Lost),
                AttemptStart::PastWindow(ago) => match self.find_posted(row, ago).await {
                    Ok(Some(message_id)) => {
                        tracing::info!(
                            outbox = row.id,
                            channel = row.channel_id,
                            message = message_id,
                            "announcement found already posted; marking it sent"
                        );
                        return self
                            .mark_sent(row, &reply, message_id, Outcome::Found)
                            .await;
                    }
                    // Not posted: a new attempt, with a new nonce window.
                    Ok(None) => history_searched = true,
                    Err(err) => return Ok(classify(&err)),
                },
            }
        }
        stop_if_armed(self.failpoint, Failpoint::DeliverBeforePost).await;
        let reply = self.with_card(row, reply).await;
        let mut posted = self.post(row, &reply).await;
        if !reply.attachments().is_empty() && posted.as_ref().is_err_and(refuses_files) {
            // Discord took no message (no Attach Files, or too big): the text goes at once,
            // under the same nonce.
            tracing::info!(
                outbox = row.id,
                channel = row.channel_id,
                "Discord refused the card; posting the announcement as text"
            );
            posted = self.post(row, &reply.clone().without_attachments()).await;
        }
        match posted {
            Ok(message_id) => {
                stop_if_armed(self.failpoint, Failpoint::DeliverAfterPost).await;
                let marked = self
                    .mark_sent(row, &reply, message_id, Outcome::Posted)
                    .await;
                stop_if_armed(self.failpoint, Failpoint::DeliverAfterMark).await;
                marked
            }
            Err(err) => Ok(classify(&err)),
        }
    }

    async fn mark_sent(
        &self,
        row: &OutboxRow,
        reply: &Reply,
        message_id: u64,
        outcome: Outcome,
    ) -> Result<Outcome, StoreError> {
        if !self
            .store
            .mark_outbox_sent(row.id, &self.owner, message_id)
            .await?
        {
            // Another deliverer holds it now; it finds this same message by nonce or history.
            tracing::info!(
                outbox = row.id,
                "announcement taken over by another deliverer"
            );
            return Ok(Outcome::Lost);
        }
        if matches!(outcome, Outcome::Posted) {
            let earned = row.earned_at.or_else(|| earliest_timestamp(reply));
            let latency = (Utc::now() - earned.unwrap_or(row.created_at))
                .to_std()
                .unwrap_or_default();
            self.metrics.observe_announcement_latency(latency);
        }
        Ok(outcome)
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "the deliverer posts announcements"
    )]
    async fn post(&self, row: &OutboxRow, reply: &Reply) -> Result<u64, serenity::Error> {
        let message = super::payload::channel_message(reply)
            .nonce(serenity::Nonce::String(row.nonce.clone()))
            .enforce_nonce(true);
        let post = serenity::ChannelId::new(row.channel_id).send_message(&self.http, message);
        let posted = self.gate.call(CallKind::Rest, post).await?;
        Ok(posted.id.get())
    }

    /// The announcement in the channel's messages since shortly before the attempt, found by
    /// its reference on a message of the bot's own. Discord returns at most [`HISTORY_LIMIT`]
    /// messages a page, so the history is read backwards, newest first, page by page, until
    /// past the attempt (a busy channel may have had many messages since).
    async fn find_posted(
        &self,
        row: &OutboxRow,
        attempted_ago: Duration,
    ) -> Result<Option<u64>, serenity::Error> {
        let since = Utc::now()
            - chrono::Duration::from_std(attempted_ago + HISTORY_SLACK)
                .unwrap_or(chrono::Duration::MAX);
        let oldest_wanted = snowflake_at(since);
        let me = self.own_user_id().await?;
        let reference = reference(&row.nonce);
        let channel = serenity::ChannelId::new(row.channel_id);
        let mut before: Option<serenity::MessageId> = None;
        loop {
            let page = self.http.get_messages(
                channel,
                before.map(serenity::MessagePagination::Before),
                Some(HISTORY_LIMIT),
            );
            let page = self.gate.call(CallKind::Rest, page).await?;
            let found = page.iter().find(|message| {
                message.author.id == me
                    && message.embeds.iter().any(|embed| {
                        embed
                            .footer
                            .as_ref()
                            .is_some_and(|footer| footer.text.ends_with(&reference))
                    })
            });
            if let Some(message) = found {
                return Ok(Some(message.id.get()));
            }
            let Some(oldest) = page.iter().map(|message| message.id).min() else {
                return Ok(None);
            };
            if page.len() < usize::from(HISTORY_LIMIT) || oldest.get() < oldest_wanted {
                return Ok(None);
            }
            before = Some(oldest);
        }
    }

    /// The bot's own user ID, asked of Discord once and kept.
    async fn own_user_id(&self) -> Result<serenity::UserId, serenity::Error> {
        self.own_user_id
            .get_or_try_init(|| async {
                let me = self.http.get_current_user();
                Ok(self.gate.call(CallKind::Rest, me).await?.id)
            })
            .await
            .copied()
    }

    /// Tells the guild's admins, once per broken channel, by direct message: the admins who
    /// added the affected accounts, or the server's owner when none is known.
    async fn report(
        &self,
        guild_id: u64,
        channel_id: u64,
        problem: DeliveryFailure,
    ) -> Result<(), StoreError> {
        let Some(report) = self
            .store
            .claim_channel_report(guild_id, channel_id)
            .await?
        else {
            return Ok(());
        };
        // The server's name tells admins of several servers which one; its owner is whom to
        // tell when nobody who added the accounts is known.
        let lookup = self.http.get_guild(serenity::GuildId::new(guild_id));
        let guild = match self.gate.call(CallKind::Rest, lookup).await {
            Ok(guild) => Some(guild),
            Err(err) => {
                tracing::warn!(guild = guild_id, %err, "could not look up the server of a broken announcement channel");
                None
            }
        };
        let mut admins = report.admins;
        if admins.is_empty() {
            admins.extend(guild.as_ref().map(|g| g.owner_id.get()));
        }
        let message = delivery_problem(
            guild.as_ref().map(|g| g.name.as_str()),
            channel_id,
            problem,
            &report.online_ids,
        );
        for admin in admins {
            match self.direct_message(admin, &message).await {
                Ok(()) => tracing::info!(
                    guild = guild_id,
                    channel = channel_id,
                    admin,
                    "told an admin about the broken announcement channel"
                ),
                Err(err) => tracing::warn!(
                    guild = guild_id,
                    channel = channel_id,
                    admin,
                    %err,
                    "could not tell an admin about the broken announcement channel"
                ),
            }
        }
        Ok(())
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "the deliverer tells admins of a broken channel"
    )]
    async fn direct_message(&self, user_id: u64, reply: &Reply) -> Result<(), serenity::Error> {
        let recipient = serde_json::json!({ "recipient_id": user_id.to_string() });
        let open = self.http.create_private_channel(&recipient);
        let channel = self.gate.call(CallKind::Rest, open).await?;
        let post = channel
            .id
            .send_message(&self.http, super::payload::channel_message(reply));
        self.gate.call(CallKind::Rest, post).await?;
        Ok(())
    }

    /// Delivers until cancelled. Claims due rows at once when the tracker signals new ones,
    /// when a channel's delivery ends, and every [`TICK`] otherwise; each channel's rows go out
    /// in a task of their own, at most [`CHANNELS_IN_FLIGHT`] channels at once, so a rate-limited
    /// or hung channel never holds up another's announcements. (A channel in flight has its
    /// rows leased, which keeps its later rows from being claimed until it is done.)
    async fn run(self, signals: Signals, cancel: CancellationToken) {
        match self.take_over_own_claims().await {
            Ok(0) => {}
            Ok(released) => tracing::info!(
                released,
                owner = %self.owner,
                "took back announcements an earlier run left claimed"
            ),
            Err(err) => tracing::warn!(%err, "could not take back earlier claims"),
        }
        let mut channels: tokio::task::JoinSet<Result<PassSummary, StoreError>> =
            tokio::task::JoinSet::new();
        let mut busy: HashMap<tokio::task::Id, u64> = HashMap::new();
        loop {
            let mut claimed_full_batch = false;
            if channels.len() < CHANNELS_IN_FLIGHT {
                match self.claim_into(&mut channels, &mut busy).await {
                    Ok(claimed) => claimed_full_batch = claimed as i64 >= CLAIM_BATCH,
                    Err(err) => tracing::warn!(%err, "could not claim announcements"),
                }
            }
            if claimed_full_batch && channels.len() < CHANNELS_IN_FLIGHT {
                continue;
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = signals.outbox_ready.notified() => {}
                () = tokio::time::sleep(TICK) => {}
                Some(joined) = channels.join_next_with_id(), if !channels.is_empty() => {
                    match joined {
                        Ok((id, result)) => {
                            busy.remove(&id);
                            match result {
                                Ok(summary) if summary != PassSummary::default() => {
                                    tracing::debug!(?summary, "channel delivered");
                                }
                                Ok(_) => {}
                                Err(err) => tracing::warn!(%err, "a channel's delivery failed"),
                            }
                        }
                        Err(err) => {
                            busy.remove(&err.id());
                            tracing::error!(%err, "a channel's delivery task failed");
                        }
                    }
                    self.update_depth().await;
                }
            }
        }
        // Stopping mid-delivery is like a crash, which the nonce and history cover.
        channels.shutdown().await;
        // What this run still holds is free for other deliverers at once.
        if let Err(err) = self.store.release_outbox_claims(&self.owner).await {
            tracing::warn!(%err, "could not release outbox claims at shutdown");
        }
        tracing::info!("deliverer stopped");
    }

    /// Claims due rows and starts a task for each channel among them; returns how many rows it
    /// claimed. A row of a channel still in flight (its lease ran out meanwhile) is handed back
    /// to wait for it.
    async fn claim_into(
        &self,
        channels: &mut tokio::task::JoinSet<Result<PassSummary, StoreError>>,
        busy: &mut HashMap<tokio::task::Id, u64>,
    ) -> Result<usize, StoreError> {
        let rows = self.claim().await?;
        let claimed = rows.len();
        for rows in by_channel(rows) {
            let channel = rows[0].channel_id;
            if busy.values().any(|c| *c == channel) {
                for row in rows {
                    self.store
                        .release_outbox_row(
                            row.id,
                            &self.owner,
                            BACKOFF_FIRST,
                            "waiting for an earlier announcement in this channel",
                        )
                        .await?;
                }
                continue;
            }
            let deliverer = self.clone();
            let task =
                channels.spawn(async move { Box::pin(deliverer.deliver_channel(rows)).await });
            busy.insert(task.id(), channel);
        }
        Ok(claimed)
    }
}

/// Claimed rows grouped by channel, each group in claim (id) order, channels in the order of
/// their first row.
fn by_channel(rows: Vec<OutboxRow>) -> Vec<Vec<OutboxRow>> {
    let mut groups: Vec<Vec<OutboxRow>> = Vec::new();
    for row in rows {
        match groups
            .iter_mut()
            .find(|g| g[0].channel_id == row.channel_id)
        {
            Some(group) => group.push(row),
            None => groups.push(vec![row]),
        }
    }
    groups
}

impl PassSummary {
    fn add(&mut self, other: PassSummary) {
        self.claimed += other.claimed;
        self.posted += other.posted;
        self.found += other.found;
        self.retried += other.retried;
        self.failed += other.failed;
        self.lost += other.lost;
    }
}

/// Starts the deliverer loop (see [`Deliverer::run`]); it stops when `cancel` is cancelled.
pub fn spawn_deliverer(
    deliverer: Deliverer,
    signals: Signals,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    if let Some(point) = deliverer.failpoint {
        tracing::warn!(
            failpoint = point.name(),
            "failpoint armed: the deliverer will stop at that step"
        );
    }
    tokio::spawn(deliverer.run(signals, cancel))
}

/// Retry delay after `attempts` earlier attempts: doubling from [`BACKOFF_FIRST`], capped.
fn backoff(attempts: i32) -> Duration {
    let doublings = u32::try_from(attempts.max(0)).unwrap_or(0).min(16);
    BACKOFF_FIRST
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(BACKOFF_MAX)
}

/// Whether Discord refused a post for its files: 403 Missing Permissions (no Attach Files in
/// the channel) or 413 (too large). Without the files it may well go.
fn refuses_files(err: &serenity::Error) -> bool {
    let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) = err else {
        return false;
    };
    match response.status_code.as_u16() {
        413 => true,
        403 => response.error.code == 50013,
        _ => false,
    }
}

/// What Discord's answer means for the row.
fn classify(err: &serenity::Error) -> Outcome {
    let serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) = err else {
        // Network trouble, or an answer serenity could not read: the post may have landed, which
        // the nonce or the history search covers on retry.
        return Outcome::Retry(err.to_string());
    };
    let status = response.status_code.as_u16();
    let code = response.error.code;
    let detail = format!(
        "Discord answered {status} (code {code}): {}",
        response.error.message
    );
    match status {
        404 => Outcome::ChannelBroken(DeliveryFailure::Gone, detail),
        403 if matches!(code, 50001 | 50013) => {
            Outcome::ChannelBroken(DeliveryFailure::Forbidden, detail)
        }
        // 429 and 5xx pass; a 401 is the bot token, which the operator fixes without losing
        // announcements.
        401 | 408 | 429 | 500..=599 => Outcome::Retry(detail),
        _ => Outcome::Rejected(detail),
    }
}

/// The reply with its reference appended to the last embed's footer. The renderer leaves room
/// for it ([`crate::render::REFERENCE_RESERVE`]).
fn with_reference(reply: &Reply, nonce: &str) -> Reply {
    let mut embeds: Vec<Embed> = reply.embeds().to_vec();
    let reference = reference(nonce);
    match embeds.last_mut() {
        Some(last) => {
            let footer = match last.footer.take() {
                Some(footer) => format!("{} · {reference}", footer.text),
                None => reference,
            };
            *last = std::mem::take(last).footer(footer);
        }
        None => embeds.push(Embed::new().footer(reference)),
    }
    Reply::new(
        reply.content().map(str::to_string),
        embeds,
        reply.components().to_vec(),
        false,
    )
}

fn earliest_timestamp(reply: &Reply) -> Option<DateTime<Utc>> {
    reply
        .embeds()
        .iter()
        .filter_map(|e| e.timestamp.as_deref())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .min()
}

/// The smallest snowflake of a message created at `at`.
fn snowflake_at(at: DateTime<Utc>) -> u64 {
    let millis = (at.timestamp_millis() - DISCORD_EPOCH_MS).max(0);
    u64::try_from(millis).unwrap_or(0) << 22
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        assert_eq!(backoff(0), Duration::from_secs(2));
        assert_eq!(backoff(1), Duration::from_secs(4));
        assert_eq!(backoff(3), Duration::from_secs(16));
        assert_eq!(backoff(40), BACKOFF_MAX);
        assert_eq!(backoff(-1), Duration::from_secs(2));
    }

    #[test]
    fn the_reference_goes_in_the_last_footer() {
        let reply = Reply::new(
            None,
            vec![
                Embed::new().title("a"),
                Embed::new().title("b").footer("note"),
            ],
            Vec::new(),
            false,
        );
        let referenced = with_reference(&reply, "n123");
        assert_eq!(referenced.embeds()[0].footer, None);
        assert_eq!(
            referenced.embeds()[1]
                .footer
                .as_ref()
                .map(|f| f.text.as_str()),
            Some("note · ref n123")
        );
    }

    #[test]
    fn snowflakes_count_from_discords_epoch() {
        let at = DateTime::from_timestamp_millis(DISCORD_EPOCH_MS + 1000).expect("valid time");
        assert_eq!(snowflake_at(at), 1000 << 22);
        assert_eq!(snowflake_at(DateTime::UNIX_EPOCH), 0);
    }
}
