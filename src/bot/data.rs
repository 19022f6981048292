//! What every handler of the bot shares: [`Data`], poise's [`Context`] over it, and [`BotError`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use poise::serenity_prelude as serenity;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::commands::shares::Admission;
use crate::errors::CommandError;

/// Why a handler could not even answer: Discord itself failed. (PSN and option problems are
/// answered by the command as a [`crate::errors::CommandError`] and never get here.)
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("Discord request failed: {0}")]
    Discord(#[from] serenity::Error),
    #[error("cannot serve health and metrics: {0}")]
    Ops(std::io::Error),
    #[error("the bot is shutting down")]
    ShuttingDown,
    /// The token belongs to another Discord application than the one the database was used
    /// with (a wrong token): nothing is run against this data.
    #[error(
        "DISCORD_TOKEN belongs to Discord application {current}, but this database belongs to \
         application {stored}: refusing to start so that the wrong bot does not act on (or \
         delete) this data. Check DISCORD_TOKEN and DATABASE_URL; if the bot really moved to \
         application {current}, start it once with {env}=1",
        env = crate::config::ALLOW_APPLICATION_CHANGE_ENV
    )]
    ApplicationChanged { stored: u64, current: u64 },
    #[error("could not build the HTTP client for Discord: {0}")]
    HttpClient(reqwest::Error),
    #[error("could not check the Discord application against the database: {0}")]
    Store(#[from] crate::store::StoreError),
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

/// Tasks the bot starts besides replies (page-button expiry), cancelled at shutdown.
#[derive(Clone, Default)]
pub struct Background {
    pub tasks: TaskTracker,
    pub cancel: CancellationToken,
}

/// What every handler shares.
pub struct Data {
    /// The PSN client and the store, as the commands use them (the pool's first credential;
    /// a command about a player takes its client from `pool`, see [`Data::services_for`]).
    pub services: crate::commands::Services,
    /// The PSN credentials: commands use the player's credential when it has room, else the
    /// one with the most room.
    pub pool: crate::pool::Pool,
    pub store: crate::store::Store,
    /// Replies being worked on; shutdown waits for them.
    pub in_flight: TaskTracker,
    pub background: Background,
    pub shutting_down: Arc<AtomicBool>,
    pub metrics: crate::ops::Metrics,
    pub health: crate::ops::Health,
    /// Wakes the tracker and the deliverer when commands change what they work on.
    pub signals: crate::tracker::Signals,
    /// The per-server cap and the scheduler settings `/track` explains.
    pub tracking: crate::commands::track::TrackingLimits,
    /// Who is a member of which server, as Discord last said.
    pub members: super::members::Members,
    /// Every Discord call of the process goes through it (see `discord_gate`).
    pub discord: super::discord_gate::DiscordGate,
    /// Each member's and server's share of the command part of the PSN budget.
    pub shares: crate::commands::shares::Shares,
    /// When each member's autocomplete last asked PSN (once per few minutes).
    pub typing: super::typing::TypingFetches,
    /// `/rarest` fill-ins running in the background, charged to those shares.
    pub fill_ins: crate::commands::fill_in::FillIns,
}

impl Data {
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Admits something `user` does in `guild` (`None`: a DM) that may cost up to `estimate` PSN
    /// requests ([`crate::commands::shares::cost`]): its PSN clients must carry the admission's
    /// meter. Past the user's or the server's share it is refused (and counted), and nothing
    /// may be spent.
    pub fn admit(
        &self,
        user: serenity::UserId,
        guild: Option<serenity::GuildId>,
        estimate: u32,
    ) -> Result<Admission, CommandError> {
        self.shares
            .admit(user.get(), guild.map(|g| g.get()), estimate)
            .map_err(|refusal| {
                self.metrics.record_share_refusal(refusal.kind);
                tracing::info!(
                    %user,
                    guild = guild.map(|g| g.get()),
                    share = refusal.kind.as_str(),
                    retry_after_secs = refusal.retry_after.as_secs(),
                    "refused: past the PSN budget share"
                );
                refusal.into()
            })
    }

    /// `services` on the pool's credential for a command about `player` costing `cost`: the
    /// player's assigned credential when it has room, else the one with the most room. A pool
    /// of one keeps `services` as they are.
    pub fn services_for(
        &self,
        services: crate::commands::Services,
        player: Option<&psn::OnlineId>,
        cost: u32,
    ) -> crate::commands::Services {
        if self.pool.len() <= 1 {
            return services;
        }
        let account_id = player.and_then(|player| self.pool.cached_account_id(player));
        services.on_client(self.pool.command_client(account_id.as_deref(), cost))
    }

    /// [`Data::services_for`] a player whose account ID is known (a page button's).
    pub fn services_for_account(
        &self,
        services: crate::commands::Services,
        account_id: &str,
        cost: u32,
    ) -> crate::commands::Services {
        if self.pool.len() <= 1 {
            return services;
        }
        services.on_client(self.pool.command_client(Some(account_id), cost))
    }

    /// The services a command in `guild` uses: names in the server's language (one read of its
    /// settings); direct messages, and a server whose settings cannot be read, get the default.
    pub async fn services_in(&self, guild: Option<serenity::GuildId>) -> crate::commands::Services {
        let Some(guild) = guild else {
            return self.services.in_guild(None);
        };
        let services = self.services.in_guild(Some(guild.get()));
        match self.store.guild_settings(guild.get()).await {
            Ok(settings) => services.in_language(settings.language.as_deref()),
            Err(err) => {
                tracing::warn!(%err, guild = guild.get(), "could not read the server's language; using the default");
                services
            }
        }
    }
}
