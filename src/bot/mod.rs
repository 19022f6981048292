//! The bot on Discord: serenity + poise, thin over `crate::commands`. One `on_error` for every
//! poise error kind; replies never ping anyone; SIGTERM/Ctrl-C shut down cleanly.

mod admin;
mod commands;
mod link;
mod pages;
pub(crate) mod payload;
mod send;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude as serenity;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::errors::{error_reply, CommandError};
use crate::reply::Reply;

/// How long shutdown waits for replies in flight before closing the gateway anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a command could not even answer: Discord itself failed. (PSN and option problems are
/// answered in the command and never get here.)
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("Discord request failed: {0}")]
    Discord(#[from] serenity::Error),
    #[error("cannot serve health and metrics: {0}")]
    Ops(std::io::Error),
    #[error("the bot is shutting down")]
    ShuttingDown,
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// Background tasks owned by the bot (button expiry), cancelled at shutdown.
#[derive(Clone, Default)]
pub struct Background {
    pub tracker: TaskTracker,
    pub cancel: CancellationToken,
}

/// What every command shares.
pub struct Data {
    pub commands: crate::commands::Ctx,
    /// Replies being worked on; shutdown waits for them.
    pub in_flight: TaskTracker,
    pub background: Background,
    pub shutting_down: Arc<AtomicBool>,
    pub metrics: crate::ops::Metrics,
    pub health: crate::ops::Health,
    pub store: crate::store::Store,
    /// Wakes the tracker and the deliverer when commands change what they work on.
    pub signals: crate::tracker::Signals,
    /// The per-server cap and the scheduler settings `/track` explains.
    pub tracking: crate::commands::track::TrackingLimits,
}

pub fn all_commands() -> Vec<poise::Command<Data, BotError>> {
    vec![
        commands::trophies(),
        commands::compare(),
        commands::rarest(),
        admin::track(),
        admin::settings(),
        admin::leaderboard(),
        link::link(),
        link::unlink(),
    ]
}

/// Runs the bot until SIGTERM or Ctrl-C, then drains in-flight replies and exits.
pub async fn run(
    config: Config,
    client: psn::Client,
    store: crate::store::Store,
) -> Result<(), BotError> {
    let token = config
        .discord_token
        .as_ref()
        .map(|t| t.expose().to_string())
        .unwrap_or_default();
    let mut http = serenity::HttpBuilder::new(&token);
    if let Some(origin) = &config.discord_api_url {
        // serenity applies the proxy only with its own limiter off; `send` honours 429 instead.
        http = http
            .proxy(origin.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    let shutting_down = Arc::new(AtomicBool::new(false));
    let in_flight = TaskTracker::new();
    let background = Background::default();
    let metrics = crate::ops::Metrics::new();
    let health = crate::ops::Health::new();
    let ops_state = crate::ops::OpsState {
        metrics: metrics.clone(),
        health: health.clone(),
        client: client.clone(),
    };
    let signals = crate::tracker::Signals::default();
    let tracker_client = client.background();
    let tracker_store = store.clone();
    let tracker_settings = crate::tracker::TrackerSettings {
        max_staleness: config.tracker_max_staleness,
        command_reserve: config.tracker_command_reserve,
        rate_limit: config.psn.rate_limit,
        owner: config
            .instance
            .clone()
            .unwrap_or_else(crate::tracker::default_owner),
    };
    let deliverer_metrics = metrics.clone();
    let data = Data {
        store,
        signals: signals.clone(),
        tracking: crate::commands::track::TrackingLimits::from_config(&config),
        metrics,
        health: health.clone(),
        commands: crate::commands::Ctx::new(client).with_library(tracker_store.clone()),
        in_flight: in_flight.clone(),
        background: background.clone(),
        shutting_down: shutting_down.clone(),
    };
    let dev_guild = config.discord_dev_guild;

    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: all_commands(),
            on_error: |err| Box::pin(on_error(err)),
            allowed_mentions: Some(payload::no_mentions()),
            command_check: Some(|ctx| {
                Box::pin(async move {
                    if ctx.data().shutting_down.load(Ordering::SeqCst) {
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
            event_handler: |framework, event| {
                Box::pin(async move {
                    let data = framework.user_data;
                    match event {
                        serenity::FullEvent::InteractionCreate {
                            interaction: serenity::Interaction::Component(press),
                        } if !data.shutting_down.load(Ordering::SeqCst) => {
                            pages::on_component(&framework.serenity_context.http, data, press)
                                .await?;
                        }
                        serenity::FullEvent::GuildDelete { incomplete, .. } => {
                            guild_deleted(data, incomplete).await;
                        }
                        serenity::FullEvent::Ready { data_about_bot } => {
                            forget_departed_guilds(data, data_about_bot).await;
                        }
                        _ => {}
                    }
                    Ok(())
                })
            },
            ..Default::default()
        })
        .setup(move |ctx, ready, framework| {
            Box::pin(async move {
                health.set_discord_connected(true);
                tracing::info!(bot = %ready.user.name, guilds = ready.guilds.len(), "connected to Discord");
                let commands = &framework.options().commands;
                match dev_guild {
                    Some(guild) => {
                        poise::builtins::register_in_guild(ctx, commands, serenity::GuildId::new(guild))
                            .await?
                    }
                    None => poise::builtins::register_globally(ctx, commands).await?,
                }
                Ok(data)
            })
        })
        .build();

    let intents = serenity::GatewayIntents::GUILDS;
    let mut client = serenity::ClientBuilder::new_with_http(http.build(), intents)
        .framework(framework)
        .await?;
    let shard_manager = client.shard_manager.clone();
    // The tracker writes announcements to the outbox; the deliverer posts them. Both stop on
    // the shutdown signal and give back what they hold.
    let deliverer = crate::tracker::spawn_deliverer(
        tracker_store.clone(),
        client.http.clone(),
        signals.clone(),
        deliverer_metrics,
        tracker_settings.owner.clone(),
        background.cancel.clone(),
    );
    let tracker = crate::tracker::spawn_tracker(
        tracker_store,
        tracker_client,
        tracker_settings,
        signals,
        background.cancel.clone(),
    );
    let alert = config
        .ops_alert_channel
        .map(|channel| ops_alert(client.http.clone(), serenity::ChannelId::new(channel)));
    let ops = crate::ops::Ops::start(
        config.http_addr,
        ops_state,
        alert,
        background.cancel.clone(),
    )
    .await
    .map_err(BotError::Ops)?;
    let stop_ops = background.cancel.clone();

    let stop = async move {
        shutdown_signal().await;
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
        shard_manager.shutdown_all().await;
    };
    tokio::select! {
        result = client.start() => result?,
        () = stop => {}
    }
    // Also when the gateway failed on its own and `stop` never ran.
    stop_ops.cancel();
    ops.stopped().await;
    for (name, task) in [("tracker", tracker), ("deliverer", deliverer)] {
        if tokio::time::timeout(DRAIN_TIMEOUT, task).await.is_err() {
            tracing::warn!(task = name, "did not stop within {DRAIN_TIMEOUT:?}");
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The bot left a guild (kicked, or the guild was deleted): forget its settings and tracking,
/// so nobody polls for it. An outage also sends GUILD_DELETE, with `unavailable` set: the
/// guild comes back, so nothing is removed then.
async fn guild_deleted(data: &Data, guild: &serenity::UnavailableGuild) {
    if guild.unavailable {
        tracing::info!(guild = %guild.id, "guild unavailable (Discord outage); keeping its tracking");
        return;
    }
    match data.store.forget_guild(guild.id.get()).await {
        Ok(forgotten) => {
            tracing::info!(
                guild = %guild.id,
                tracked_accounts = forgotten.tracked_accounts,
                pending_announcements = forgotten.pending_announcements,
                "left a guild; forgot its tracking"
            );
            data.signals.accounts_changed.notify_one();
        }
        Err(error) => {
            tracing::error!(guild = %guild.id, %error, "could not forget a guild the bot left")
        }
    }
}

/// Forgets the guilds the bot was removed from while it was not connected (no GUILD_DELETE
/// reached it): READY lists every guild the bot is in. With several shards each READY lists
/// only its own guilds, so nothing is concluded then.
async fn forget_departed_guilds(data: &Data, ready: &serenity::Ready) {
    if ready.shard.is_some_and(|shard| shard.total > 1) {
        return;
    }
    let present: std::collections::HashSet<u64> = ready.guilds.iter().map(|g| g.id.get()).collect();
    let known = match data.store.guilds_with_tracking().await {
        Ok(known) => known,
        Err(error) => {
            tracing::warn!(%error, "could not check for guilds the bot left while offline");
            return;
        }
    };
    let mut forgot_any = false;
    for guild in known.into_iter().filter(|g| !present.contains(g)) {
        match data.store.forget_guild(guild).await {
            Ok(forgotten) => {
                forgot_any = true;
                tracing::info!(
                    guild,
                    tracked_accounts = forgotten.tracked_accounts,
                    "the bot left this guild while offline; forgot its tracking"
                );
            }
            Err(error) => tracing::warn!(guild, %error, "could not forget a departed guild"),
        }
    }
    if forgot_any {
        data.signals.accounts_changed.notify_one();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Answers the user politely (ephemeral where Discord still allows it) for every kind of poise
/// error, and logs what the operator should know.
async fn on_error(err: poise::FrameworkError<'_, Data, BotError>) {
    use poise::FrameworkError as E;
    let message = match &err {
        E::Setup { error, .. } => {
            tracing::error!(%error, "bot setup failed");
            return;
        }
        E::EventHandler { error, .. } => {
            tracing::warn!(%error, "event handler failed");
            return;
        }
        E::Command { error, ctx, .. } => {
            tracing::warn!(command = %ctx.command().qualified_name, %error, "command failed");
            ctx.data().metrics.record_command(
                &ctx.command().qualified_name,
                crate::ops::CommandOutcome::Failed,
            );
            match error {
                BotError::ShuttingDown => restarting(),
                BotError::Discord(_) | BotError::Ops(_) => {
                    "Something went wrong while answering. Please try again."
                }
            }
            .to_string()
        }
        E::CommandPanic { payload, ctx, .. } => {
            tracing::error!(command = %ctx.command().qualified_name, panic = ?payload, "command panicked");
            ctx.data().metrics.record_command(
                &ctx.command().qualified_name,
                crate::ops::CommandOutcome::Failed,
            );
            "Something went wrong on our side. Please try again later.".to_string()
        }
        E::ArgumentParse { input, .. } => format!(
            "That option value won't work{}. Please check the command's options.",
            input
                .as_deref()
                .map(|i| format!(" ({})", crate::reply::escape_markdown(i)))
                .unwrap_or_default()
        ),
        E::CommandStructureMismatch { description, .. } => {
            tracing::warn!(%description, "Discord's command definition is out of date");
            "This command changed since Discord last saw it. Please try again in a minute."
                .to_string()
        }
        E::CooldownHit {
            remaining_cooldown, ..
        } => format!(
            "Please wait {} s before using this command again.",
            remaining_cooldown.as_secs().max(1)
        ),
        E::MissingBotPermissions {
            missing_permissions,
            ..
        } => {
            format!("I need these permissions here: {missing_permissions}.")
        }
        E::MissingUserPermissions {
            missing_permissions,
            ..
        } => match missing_permissions {
            Some(p) => format!("You need these permissions to use this command: {p}."),
            None => "You don't have the permissions this command needs.".to_string(),
        },
        E::NotAnOwner { .. } => "Only the bot's owner can use this command.".to_string(),
        E::GuildOnly { .. } => "This command works in servers only.".to_string(),
        E::DmOnly { .. } => "This command works in direct messages only.".to_string(),
        E::NsfwOnly { .. } => "This command works in age-restricted channels only.".to_string(),
        E::CommandCheckFailed { error, .. } => match error {
            Some(BotError::ShuttingDown) | None => restarting().to_string(),
            Some(error) => {
                tracing::warn!(%error, "command check failed");
                "This command can't be used right now.".to_string()
            }
        },
        E::SubcommandRequired { .. } => {
            "Please choose one of this command's subcommands.".to_string()
        }
        E::PermissionFetchFailed { .. } => {
            "I couldn't check permissions here. Please try again.".to_string()
        }
        E::UnknownInteraction { interaction, .. } => {
            tracing::warn!(command = %interaction.data.name, "unknown command; commands may still be registering");
            return;
        }
        other => {
            tracing::warn!(error = %other, "unhandled poise error");
            return;
        }
    };
    let Some(ctx) = err.ctx() else {
        return;
    };
    let reply = error_reply(&CommandError::BadOption(message));
    if let Err(error) = send_error(ctx, &reply).await {
        tracing::warn!(%error, "could not send an error reply");
    }
}

fn restarting() -> &'static str {
    "The bot is restarting. Please try again in a minute."
}

/// Sends an error: ephemeral as the first answer, or replacing the loading message after a defer.
async fn send_error(ctx: Context<'_>, reply: &Reply) -> Result<(), serenity::Error> {
    let poise::Context::Application(app) = ctx else {
        return Ok(());
    };
    if app.has_sent_initial_response.load(Ordering::SeqCst) {
        send::with_retry(|| {
            app.interaction
                .edit_response(ctx.http(), payload::edit_response(reply))
        })
        .await
        .map(|_| ())
    } else {
        send::with_retry(|| {
            app.interaction.create_response(
                ctx.http(),
                serenity::CreateInteractionResponse::Message(payload::initial_response(reply)),
            )
        })
        .await
    }
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
    let mut psn_config = config.psn.clone();
    let fingerprint = crate::credential::restore_saved_sign_in(&store, &mut psn_config).await;
    let client = match psn::Client::new(psn_config) {
        Ok(client) => client,
        Err(err) => {
            eprintln!("error: {err}");
            return crate::errors::EXIT_USAGE;
        }
    };
    let language = config.psn.language.clone();
    // Title definitions are shared by every user and change rarely: start with what earlier
    // runs fetched, and keep what this run fetches.
    match store.load_title_definitions(&language).await {
        Ok(titles) => {
            tracing::info!(
                titles = titles.len(),
                "title definitions loaded from the database"
            );
            titles.into_iter().for_each(|t| client.prime_title(t));
        }
        Err(err) => tracing::warn!(%err, "could not load cached title definitions"),
    }
    let stop_saver = tokio_util::sync::CancellationToken::new();
    let saver = fingerprint.map(|fingerprint| {
        crate::credential::spawn_sign_in_saver(
            store.clone(),
            client.clone(),
            fingerprint,
            stop_saver.clone(),
        )
    });
    let result = run(config, client.clone(), store.clone()).await;
    stop_saver.cancel();
    if let Some(saver) = saver {
        let _ = saver.await;
    }
    if let Err(err) = store
        .save_title_definitions(&client.cached_titles(), &language)
        .await
    {
        tracing::warn!(%err, "could not save title definitions");
    }
    store.close().await;
    match result {
        Ok(()) => 0,
        Err(err) => {
            tracing::error!(%err, "the bot stopped");
            1
        }
    }
}

async fn connect_store(
    database_url: &str,
) -> Result<crate::store::Store, crate::store::StoreError> {
    let store = crate::store::Store::connect(database_url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Posts operator alerts (the PSN refresh token nearing expiry) to `channel`, pinging no one.
fn ops_alert(http: Arc<serenity::Http>, channel: serenity::ChannelId) -> crate::ops::AlertHook {
    Arc::new(move |text: String| {
        let http = http.clone();
        Box::pin(async move {
            let message = serenity::CreateMessage::new()
                .content(text)
                .allowed_mentions(payload::no_mentions());
            if let Err(error) =
                send::with_retry(|| channel.send_message(&http, message.clone())).await
            {
                tracing::warn!(%error, "could not post the operator alert");
            }
        })
    })
}
