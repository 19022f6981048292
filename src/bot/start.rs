//! `trophybot run`: settings, database, PSN client, then the bot with its background work
//! (tracker, deliverer, health and metrics), until SIGTERM or Ctrl-C.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::data::{Background, BotError, Data};
use super::discord_gate::{CallKind, DiscordGate, MAX_IN_FLIGHT};
use super::{deliver, events, failures, payload, send, slash};
use crate::config::Config;

/// How long shutdown waits for replies in flight before closing the gateway anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs the bot until SIGTERM or Ctrl-C, then drains in-flight replies and exits.
pub async fn run(
    config: Config,
    pool: crate::pool::Pool,
    store: crate::store::Store,
) -> Result<(), BotError> {
    let client = pool.members()[0].client.clone();
    let token = config
        .discord_token
        .as_ref()
        .map(|t| t.expose().to_string())
        .unwrap_or_default();
    let metrics = crate::ops::Metrics::new();
    let gate =
        DiscordGate::with_limits(metrics.clone(), MAX_IN_FLIGHT, config.discord_call_timeout);
    let http = discord_http(&config, &token, &gate).map_err(BotError::HttpClient)?;
    // Before anything polls or posts: the data must belong to this token's application.
    check_application(&http, &gate, &store, config.allow_application_change).await?;
    let shard_count = match config.shard_count {
        Some(count) => count,
        None => gate
            .call(CallKind::Rest, http.get_bot_gateway())
            .await?
            .shards
            .max(1),
    };
    let shutting_down = Arc::new(AtomicBool::new(false));
    let in_flight = TaskTracker::new();
    let background = Background::default();
    let health = crate::ops::Health::new();
    // Every PSN answer, the tracker's and the commands', of every credential, keeps the health
    // report current. In a pool, one rejected credential leaves the pool and the rest carry
    // on: the report says the credential is rejected only when all of them are.
    for member in pool.members() {
        let observed = health.clone();
        let whole = (pool.len() > 1).then(|| pool.clone());
        member.client.observe(Arc::new(move |signal| {
            let others_carry_on = whole.as_ref().is_some_and(|pool| !pool.all_rejected());
            if signal == psn::Signal::CredentialRejected && others_carry_on {
                return;
            }
            observed.note_psn(signal);
        }));
    }
    let watched = health.clone();
    let ops_state = crate::ops::OpsState {
        metrics: metrics.clone(),
        health: health.clone(),
        pool: pool.clone(),
        store: store.clone(),
    };
    let signals = crate::tracker::Signals::default();
    let tracker_store = store.clone();
    let pruner_store = store.clone();
    let recap_store = store.clone();
    let recap_language = client.language().to_string();
    let tracker_settings = crate::tracker::TrackerSettings {
        max_staleness: config.tracker_max_staleness,
        command_reserve: config.psn.command_reserve,
        rate_limit: config.psn.rate_limit,
        owner: config.instance.clone(),
        failpoint: config.failpoint,
        backfill_meter: metrics.backfill_meter(),
        // Set once the lease loop runs (below).
        processes: None,
    };
    let deliverer_metrics = metrics.clone();
    let shares = crate::commands::shares::Shares::new(config.command_shares);
    let tracking = crate::commands::track::TrackingLimits::from_config(&config);
    super::share_report::spawn_share_report(
        shares.clone(),
        metrics.clone(),
        tracking.budget,
        &background,
    );
    let card_maker = crate::cards::CardMaker::new(config.image_hosts.clone());
    let data = Data {
        store,
        signals: signals.clone(),
        tracking,
        metrics,
        health: health.clone(),
        services: crate::commands::Services::new(client)
            .with_library(tracker_store.clone())
            .with_cards(Some(card_maker.clone())),
        pool: pool.clone(),
        in_flight: in_flight.clone(),
        background: background.clone(),
        shutting_down: shutting_down.clone(),
        members: super::members::Members::default(),
        discord: gate.clone(),
        shares: shares.clone(),
        typing: Default::default(),
        fill_ins: crate::commands::fill_in::FillIns::new(
            shares.clone(),
            background.tasks.clone(),
            background.cancel.clone(),
        ),
    };
    let dev_guild = config.discord_dev_guild;

    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: slash::all_commands(),
            on_error: |failure| Box::pin(failures::on_error(failure)),
            allowed_mentions: Some(payload::no_mentions()),
            command_check: Some(|ctx| {
                Box::pin(async move {
                    if ctx.data().is_shutting_down() {
                        Err(BotError::ShuttingDown)
                    } else {
                        Ok(true)
                    }
                })
            }),
            pre_command: |ctx| {
                Box::pin(async move {
                    tracing::info!(command = %ctx.command().qualified_name, user = %ctx.author().id, "command");
                })
            },
            event_handler: |framework, event| Box::pin(events::on_event(framework, event)),
            ..Default::default()
        })
        .setup(move |_ctx, ready, _framework| {
            Box::pin(async move {
                if let Some(shard) = ready.shard {
                    health.set_shard_connected(shard.id.0, true);
                }
                tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                Ok(data)
            })
        })
        .build();

    let intents = serenity::GatewayIntents::GUILDS;
    let client = serenity::ClientBuilder::new_with_http(http, intents)
        .framework(framework)
        .event_handler(super::discord_gate::LimiterReports(gate.clone()))
        .await?;
    let shard_manager = client.shard_manager.clone();
    // No shard starts with the client: the lease loop starts (and stops) each shard it holds.
    shard_manager.set_shards(0, 0, shard_count).await;
    let (held_shards, leases) = crate::shards::spawn_shard_leases(
        tracker_store.clone(),
        crate::shards::LeaseSettings {
            instance: config.instance.clone(),
            total: shard_count,
            preferred: config.preferred_shards.clone(),
            lease: config.shard_lease,
        },
        GatewayShards(shard_manager.clone()),
        budget_report(pool.clone()),
        background.cancel.clone(),
    );
    let held_health = {
        let mut held = held_shards.clone();
        let health = watched.clone();
        let cancel = background.cancel.clone();
        tokio::spawn(async move {
            loop {
                let shards = held.borrow_and_update().clone();
                if !shards.live_processes.is_empty() {
                    health.set_held_shards(&shards.shards);
                }
                tokio::select! {
                    () = cancel.cancelled() => return,
                    changed = held.changed() => if changed.is_err() { return },
                }
            }
        })
    };
    let registrar = spawn_command_registrar(
        client.http.clone(),
        gate.clone(),
        dev_guild,
        held_shards.clone(),
        background.cancel.clone(),
    );
    // The tracker writes announcements to the outbox; the deliverer posts them. Both stop on
    // the shutdown signal and give back what they hold.
    let deliverer = deliver::Deliverer::new(
        tracker_store.clone(),
        client.http.clone(),
        deliverer_metrics,
        tracker_settings.owner.clone(),
    )
    .with_gate(gate.clone())
    .with_shards(held_shards.clone())
    .with_failpoint(config.failpoint)
    .with_cards(card_maker.clone());
    let deliverer = deliver::spawn_deliverer(deliverer, signals.clone(), background.cancel.clone());
    let recap_signals = signals.clone();
    let tracker_settings = crate::tracker::TrackerSettings {
        processes: Some(crate::shards::ProcessSplit {
            instance: config.instance.clone(),
            held: held_shards.clone(),
        }),
        ..tracker_settings
    };
    let shares_keeper = spawn_share_keeper(
        pool.clone(),
        shares,
        signals.clone(),
        held_shards.clone(),
        ShareTimes {
            window: config.psn.rate_limit.per,
            requests: config.psn.rate_limit.requests,
            renewal: config.shard_lease / 3,
        },
        background.cancel.clone(),
    );
    let tracked_listener = spawn_tracked_accounts_listener(
        tracker_store.clone(),
        signals.clone(),
        background.cancel.clone(),
    );
    let tracker = {
        let mut first_round = held_shards.clone();
        let cancel = background.cancel.clone();
        tokio::spawn(async move {
            // Not a request before this process knows its share of the budgets.
            let known = first_round
                .wait_for(|held| !held.live_processes.is_empty())
                .await
                .is_ok();
            if known && !cancel.is_cancelled() {
                let _ = crate::tracker::spawn_pool_tracker(
                    tracker_store,
                    pool,
                    tracker_settings,
                    signals,
                    cancel,
                )
                .await;
            }
        })
    };
    let recaps = crate::tracker::recap::spawn_recap_scheduler(
        recap_store,
        recap_language,
        recap_signals,
        background.cancel.clone(),
    );
    let pruner = crate::tracker::retention::spawn_outbox_pruner(
        pruner_store,
        config.outbox_retention,
        background.cancel.clone(),
    );
    // A task that ends before shutdown was asked for shows on `/healthz` as dead.
    let deliverer = watched.watch_task("deliverer", deliverer, background.cancel.clone());
    let tracker = watched.watch_task("tracker", tracker, background.cancel.clone());
    let pruner = watched.watch_task("pruner", pruner, background.cancel.clone());
    let recaps = watched.watch_task("recaps", recaps, background.cancel.clone());
    let alert = config.ops_alert_channel.map(|channel| {
        ops_alert(
            client.http.clone(),
            gate.clone(),
            serenity::ChannelId::new(channel),
        )
    });
    let ops = crate::ops::Ops::start(
        config.http_addr,
        ops_state,
        alert,
        background.cancel.clone(),
    )
    .await
    .map_err(BotError::Ops)?;
    let stop_ops = background.cancel.clone();
    let background_tasks = background.tasks.clone();

    let requested = crate::shutdown::requested();
    let stop = async move {
        requested.await;
        tracing::info!("shutting down: no new commands, finishing replies in flight");
        shutting_down.store(true, Ordering::SeqCst);
        background.cancel.cancel();
        in_flight.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, in_flight.wait())
            .await
            .is_err()
        {
            tracing::warn!("replies still in flight after {DRAIN_TIMEOUT:?}; closing anyway");
        }
    };
    stop.await;
    // The lease loop closed the shards and gave up its leases on the shutdown signal.
    if tokio::time::timeout(DRAIN_TIMEOUT, leases).await.is_err() {
        tracing::warn!("the shard leases were not given up within {DRAIN_TIMEOUT:?}");
    }
    // Whatever is still running (nothing, once the lease loop closed its shards).
    shard_manager.shutdown_all().await;
    let _ = registrar.await;
    let _ = held_health.await;
    let _ = shares_keeper.await;
    let _ = tracked_listener.await;
    drop(client);
    // Also when the gateway failed on its own and `stop` never ran.
    stop_ops.cancel();
    ops.stopped().await;
    for (name, task) in [
        ("tracker", tracker),
        ("deliverer", deliverer),
        ("pruner", pruner),
        ("recaps", recaps),
    ] {
        if tokio::time::timeout(DRAIN_TIMEOUT, task).await.is_err() {
            tracing::warn!(task = name, "did not stop within {DRAIN_TIMEOUT:?}");
        }
    }
    // Fill-ins and button expiries, cancelled with the rest: let them finish their last write.
    background_tasks.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, background_tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("background tasks did not stop within {DRAIN_TIMEOUT:?}");
    }
    tracing::info!("stopped");
    Ok(())
}

/// `trophybot run`: validates every setting (exit 2 listing all problems), prepares the database
/// (created if missing, migrations applied), then runs the bot.
pub async fn run_from_env() -> i32 {
    let config = match Config::from_env(crate::config::Mode::Bot) {
        Ok(config) => config,
        Err(problems) => {
            eprintln!("{problems}");
            return crate::errors::EXIT_USAGE;
        }
    };
    let store = match connect_store(&config.database_url).await {
        Ok(store) => store,
        Err(err) => {
            eprintln!(
                "error: the database at {} is not usable: {err}",
                crate::store::redact_database_url(&config.database_url)
            );
            return 1;
        }
    };
    let stop_saver = tokio_util::sync::CancellationToken::new();
    let mut members = Vec::new();
    let mut savers = Vec::new();
    // Each credential of `PSN_NPSSO` gets a client of its own: its sign-in (its own sealed
    // refresh token row, keyed by its fingerprint), its budget of `PSN_RATE_LIMIT`, its health.
    // (Mode::Bot refuses the legacy API, so the pool is never empty here.)
    for (index, npsso) in config.psn_pool.iter().enumerate() {
        let label = crate::pool::label(index);
        let mut psn_config = config.psn.clone();
        psn_config.credential = psn::Credential::Npsso(npsso.clone());
        let span = tracing::info_span!("psn", credential = %label);
        let sign_in_npsso = crate::credential::restore_saved_sign_in(&store, &mut psn_config)
            .instrument(span.clone())
            .await;
        let client = match psn::Client::new(psn_config) {
            Ok(client) => client,
            Err(err) => {
                eprintln!("error: {err}");
                return crate::errors::EXIT_USAGE;
            }
        };
        // Title definitions are shared by every user and change rarely: start with what
        // earlier runs fetched, in every language servers asked for, and keep what this run
        // fetches.
        crate::tracker::titles::load_title_definitions(&store, &client).await;
        savers.push(crate::tracker::titles::spawn_title_saver(
            store.clone(),
            client.clone(),
            stop_saver.clone(),
        ));
        if let Some(npsso) = sign_in_npsso {
            savers.push(crate::credential::spawn_sign_in_saver(
                store.clone(),
                client.clone(),
                npsso,
                stop_saver.clone(),
            ));
        }
        members.push(crate::pool::Member {
            label,
            fingerprint: crate::credential::npsso_fingerprint(npsso),
            client,
        });
    }
    let pool = crate::pool::Pool::new(members);
    let result = run(config, pool.clone(), store.clone()).await;
    stop_saver.cancel();
    for saver in savers {
        let _ = saver.await;
    }
    for member in pool.members() {
        crate::tracker::titles::save_cached_title_definitions(&store, &member.client).await;
    }
    store.close().await;
    match result {
        Ok(()) => 0,
        Err(err @ BotError::ApplicationChanged { .. }) => {
            tracing::error!(%err, "the bot did not start");
            eprintln!("error: {err}");
            crate::errors::EXIT_USAGE
        }
        Err(err) => {
            tracing::error!(%err, "the bot stopped");
            1
        }
    }
}

/// serenity's shard manager, driven by the lease loop one shard at a time.
struct GatewayShards(Arc<serenity::ShardManager>);

impl crate::shards::ShardControl for GatewayShards {
    async fn start(&self, shard: u32, _total: u32) {
        let id = serenity::ShardId(shard);
        // `restart` is serenity's one way to boot a single shard: it first shuts the shard
        // down and waits (5 s) for the runner to say it stopped. A shard not running has no
        // runner to say so, so say it here and the boot is queued at once.
        if !self.0.has(id).await {
            self.0.shutdown_finished(id);
        }
        self.0.restart(id).await;
    }

    async fn stop(&self, shard: u32) {
        self.0.shutdown(serenity::ShardId(shard), 1000).await;
    }
}

/// What this process reports of its PSN budgets with each heartbeat: the parts it divides
/// them into and what each credential spent of the current window.
fn budget_report(
    pool: crate::pool::Pool,
) -> impl Fn() -> crate::store::BudgetReport + Send + 'static {
    move || crate::store::BudgetReport {
        parts: pool
            .members()
            .first()
            .map_or(1, |m| m.client.budget_parts()),
        spent: pool
            .members()
            .iter()
            .map(|m| (m.label.clone(), m.client.granted_in_window()))
            .collect(),
    }
}

/// How long budget grants count and how often processes see each other.
struct ShareTimes {
    /// `PSN_RATE_LIMIT`'s window: grants count against a budget this long.
    window: Duration,
    /// `PSN_RATE_LIMIT`'s requests per window, each credential's whole budget.
    requests: u32,
    /// How often every process renews its heartbeat and sees the others.
    renewal: Duration,
}

/// Keeps this process to its part of each credential's PSN budget and of the commands' fair
/// shares: the whole divided by the live processes, so the parts never add up to more. Fewer
/// parts take effect at once when a process joins; the newcomer itself holds its budget until
/// every other process divides by the new count, then sends at once within its part less what
/// the others spent of the current window under their larger parts, and takes its whole part a
/// window later (or, if they spent it all, holds until their larger parts left the window).
/// More parts only after a whole window once a process left, when what it spent no longer
/// counts. The tracker re-reads its accounts on every change of the live processes, which
/// moves a leaver's players to the others.
fn spawn_share_keeper(
    pool: crate::pool::Pool,
    shares: crate::commands::shares::Shares,
    signals: crate::tracker::Signals,
    mut held: tokio::sync::watch::Receiver<crate::shards::HeldShards>,
    times: ShareTimes,
    cancel: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let whole: Vec<(String, u32)> = pool
            .members()
            .iter()
            .map(|m| (m.label.clone(), times.requests))
            .collect();
        // Until `clear_until`, each credential keeps clear of what others spent (label → less).
        let mut keep_clear: std::collections::BTreeMap<String, u32> = Default::default();
        let mut clear_until: Option<tokio::time::Instant> = None;
        // Credentials still held since this process joined.
        let mut holding: std::collections::BTreeSet<String> = Default::default();
        let apply = |parts: usize, keep_clear: &std::collections::BTreeMap<String, u32>| {
            let parts = u32::try_from(parts).unwrap_or(u32::MAX);
            for member in pool.members() {
                let less = keep_clear.get(&member.label).copied().unwrap_or(0);
                member.client.share_budget_less(parts, less);
            }
            shares.share_among(parts);
            tracing::info!(
                processes = parts,
                "each PSN budget and command share is now split this many ways"
            );
        };
        let mut parts: Option<usize> = None;
        let mut live: Vec<String> = Vec::new();
        // More parts later: (when, how many).
        let mut growth: Option<(tokio::time::Instant, usize)> = None;
        loop {
            let snapshot = held.borrow_and_update().clone();
            let (now_live, joined) = (snapshot.live_processes.clone(), snapshot.joined);
            // Others ran with larger parts until they see this process (a restart under the
            // same name within the lease was counted all along).
            if joined && now_live.len() > 1 {
                let hold = times.window + times.renewal * 2;
                for member in pool.members() {
                    member.client.hold_budget(hold);
                }
                holding = pool.members().iter().map(|m| m.label.clone()).collect();
            }
            if !now_live.is_empty() && now_live != live {
                let count = now_live.len();
                match parts {
                    None => {
                        apply(count, &keep_clear);
                        parts = Some(count);
                    }
                    Some(current) if count > current => {
                        apply(count, &keep_clear);
                        parts = Some(count);
                        growth = None;
                    }
                    Some(current) if count < current => {
                        growth = Some((tokio::time::Instant::now() + times.window, count));
                    }
                    // Back where it was: nothing left to grow.
                    Some(_) => growth = None,
                }
                if !live.is_empty() {
                    signals.accounts_changed.notify_one();
                }
                live = now_live;
            }
            if !holding.is_empty() {
                if let Some(may_send) = crate::shards::joiner_may_send(&snapshot, &whole) {
                    for (label, less) in may_send {
                        if !holding.remove(&label) {
                            continue;
                        }
                        keep_clear.insert(label.clone(), less);
                        if let Some(member) = pool.members().iter().find(|m| m.label == label) {
                            let count = u32::try_from(snapshot.live_count()).unwrap_or(u32::MAX);
                            member.client.share_budget_less(count, less);
                            member.client.lift_budget_hold();
                            tracing::info!(
                                credential = %label,
                                keeping_clear_of = less,
                                "every other process keeps to its part: sending to PSN"
                            );
                        }
                        clear_until = Some(tokio::time::Instant::now() + times.window);
                    }
                }
            }
            let grow_at = growth.map(|(at, _)| at);
            let whole_part_at = clear_until;
            tokio::select! {
                () = cancel.cancelled() => return,
                changed = held.changed() => if changed.is_err() { return },
                () = async { tokio::time::sleep_until(grow_at.unwrap_or_else(tokio::time::Instant::now)).await }, if grow_at.is_some() => {
                    if let Some((_, count)) = growth.take() {
                        if parts.is_some_and(|current| count < current) {
                            apply(count, &keep_clear);
                            parts = Some(count);
                        }
                    }
                }
                // What the others spent under their larger parts left the window.
                () = async { tokio::time::sleep_until(whole_part_at.unwrap_or_else(tokio::time::Instant::now)).await }, if whole_part_at.is_some() => {
                    clear_until = None;
                    keep_clear.clear();
                    if let Some(count) = parts {
                        apply(count, &keep_clear);
                    }
                }
            }
        }
    })
}

/// Wakes the tracker when any process on the database adds or removes a tracked account, so
/// the process whose share the account falls in polls it at once. A listener cut off from the
/// database reconnects; what it missed meanwhile the tracker's periodic re-read finds.
fn spawn_tracked_accounts_listener(
    store: crate::store::Store,
    signals: crate::tracker::Signals,
    cancel: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    const RETRY: Duration = Duration::from_secs(5);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                error = forward_tracked_account_changes(&store, &signals) => {
                    tracing::warn!(%error, "lost the database's tracked-account notifications; retrying");
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(RETRY) => {}
            }
        }
    })
}

/// Turns the database's notifications into tracker wake-ups until the listener fails.
async fn forward_tracked_account_changes(
    store: &crate::store::Store,
    signals: &crate::tracker::Signals,
) -> crate::store::StoreError {
    let mut listener = match store.listen_tracked_accounts().await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    loop {
        // `Ok(None)`: the connection was lost and is back, so changes may have been missed.
        match listener.try_recv().await {
            Ok(_) => signals.accounts_changed.notify_one(),
            Err(error) => return error.into(),
        }
    }
}

/// Registers the slash commands whenever this process takes shard 0: one process registers
/// them, and again after shard 0 moved (a new version's commands with it).
fn spawn_command_registrar(
    http: Arc<serenity::Http>,
    gate: DiscordGate,
    dev_guild: Option<u64>,
    mut held: tokio::sync::watch::Receiver<crate::shards::HeldShards>,
    cancel: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut holding = false;
        loop {
            let holds_zero = held.borrow_and_update().shards.contains(&0);
            if holds_zero && !holding {
                let commands = slash::all_commands();
                let registered = match dev_guild {
                    Some(guild) => {
                        let guild = serenity::GuildId::new(guild);
                        let call = poise::builtins::register_in_guild(&http, &commands, guild);
                        gate.call(CallKind::Rest, call).await
                    }
                    None => {
                        let call = poise::builtins::register_globally(&http, &commands);
                        gate.call(CallKind::Rest, call).await
                    }
                };
                match registered {
                    Ok(()) => tracing::info!("registered the slash commands (holder of shard 0)"),
                    Err(error) => tracing::warn!(%error, "could not register the slash commands"),
                }
            }
            holding = holds_zero;
            tokio::select! {
                () = cancel.cancelled() => return,
                changed = held.changed() => if changed.is_err() { return },
            }
        }
    })
}

/// serenity's REST client. With `DISCORD_API_URL`, serenity's proxy to that plain-HTTP origin
/// with its rate limiter off (serenity applies the proxy only then; `send` honours 429
/// instead). Otherwise Discord's own origin with serenity's limiter on, over one reqwest client
/// for the requests and the limiter alike: `DISCORD_API_ADDR` and `DISCORD_EXTRA_CA` change only
/// where `discord.com` connects and which authorities are trusted. The limiter reports every
/// wait to the gate, which holds all calls after a global or long one (here until the client
/// is built, then through [`super::discord_gate::LimiterReports`]).
fn discord_http(
    config: &Config,
    token: &str,
    gate: &DiscordGate,
) -> Result<serenity::Http, reqwest::Error> {
    let builder = serenity::HttpBuilder::new(token);
    if let Some(origin) = &config.discord_api_url {
        return Ok(builder
            .proxy(origin.trim_end_matches('/'))
            .ratelimiter_disabled(true)
            .build());
    }
    let mut client = reqwest::Client::builder()
        // Past the gate's timeout nothing waits for the answer anyway.
        .timeout(config.discord_call_timeout)
        .connect_timeout(Duration::from_secs(10));
    if let Some(addr) = config.discord_api_addr {
        client = client.resolve(DISCORD_HOST, addr);
    }
    for authority in &config.discord_extra_ca {
        client = client.add_root_certificate(authority.clone());
    }
    let client = client.build()?;
    // serenity's limiter sends the token as given, without the `Bot ` prefix the builder adds.
    let authorization = if token.starts_with("Bot ") {
        token.to_string()
    } else {
        format!("Bot {token}")
    };
    let mut limiter = serenity::Ratelimiter::new(client.clone(), authorization);
    let reporter = gate.clone();
    limiter.set_ratelimit_callback(Box::new(move |info| {
        reporter.report_limiter_wait(info.timeout, info.global);
    }));
    Ok(builder.client(client).ratelimiter(limiter).build())
}

/// The host serenity's REST routes name.
const DISCORD_HOST: &str = "discord.com";

/// Compares the token's Discord application with the one stored in the database: the first
/// start stores it; a start with another one is refused unless `allow_change` is set, which
/// stores the new one. A Discord failure here fails the start as the gateway would.
async fn check_application(
    http: &serenity::Http,
    gate: &DiscordGate,
    store: &crate::store::Store,
    allow_change: bool,
) -> Result<(), BotError> {
    let current = gate
        .call(CallKind::Rest, http.get_current_application_info())
        .await?
        .id
        .get();
    // Commands are registered over REST before any shard says READY (which would set it).
    http.set_application_id(serenity::ApplicationId::new(current));
    let stored = store.claim_application_id(current).await?;
    if stored == current {
        return Ok(());
    }
    if !allow_change {
        return Err(BotError::ApplicationChanged { stored, current });
    }
    store.save_application_id(current).await?;
    tracing::warn!(
        previous = stored,
        application = current,
        "the Discord application changed ({} is set): the data now belongs to the new one",
        crate::config::ALLOW_APPLICATION_CHANGE_ENV
    );
    Ok(())
}

async fn connect_store(
    database_url: &str,
) -> Result<crate::store::Store, crate::store::StoreError> {
    let store = crate::store::Store::connect(database_url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Posts operator alerts (the PSN refresh token nearing expiry, PSN rejecting the credential) to
/// `channel`, pinging no one.
#[allow(
    clippy::disallowed_methods,
    reason = "the operator alert is a post of its own"
)]
fn ops_alert(
    http: Arc<serenity::Http>,
    gate: DiscordGate,
    channel: serenity::ChannelId,
) -> crate::ops::AlertHook {
    Arc::new(move |text: String| {
        let http = http.clone();
        let gate = gate.clone();
        Box::pin(async move {
            let message = serenity::CreateMessage::new()
                .content(text)
                .allowed_mentions(payload::no_mentions());
            if let Err(error) = send::with_retry(&gate, CallKind::Rest, || {
                channel.send_message(&http, message.clone())
            })
            .await
            {
                tracing::warn!(%error, "could not post the operator alert");
            }
        })
    })
}
