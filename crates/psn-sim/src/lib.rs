//! A PlayStation Network simulator: the modern and legacy trophy APIs, auth, profile2, full
//! profiles and presence on one port, with PSN's JSON shapes, a virtual clock, PSN's rate limit,
//! fault injection and a control API. See README.md for the world it serves.

mod auth;
mod control;
mod http;
pub mod icons;
mod language;
mod legacy;
mod modern;
mod presence;
mod rng;
mod world;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::auth::Tokens;
pub use crate::world::crowd_online_id;
use crate::world::World;

/// The NPSSO cookie value the simulator accepts.
pub const SIM_NPSSO: &str =
    "sim-npsso-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
/// A bearer the legacy API (and every other API) accepts, like a hand-taken `PSN_TOKEN`.
/// It stays valid until [`Fault::RevokeTokens`].
pub const SIM_LEGACY_TOKEN: &str = "sim-legacy-bearer-token";

#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The same seed gives the same world, byte for byte.
    pub seed: u64,
    /// Requests allowed per credential in any sliding `rate_window`.
    pub rate_limit: u32,
    pub rate_window: Duration,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    /// Most accountIds one basicPresences request may name.
    pub presence_batch_limit: usize,
    /// Where the virtual clock starts.
    pub start_time: DateTime<Utc>,
    /// The NPSSO the authorize endpoint accepts: credential 0.
    pub npsso: String,
    /// Further NPSSOs it accepts, credentials 1, 2, …: each is a PSN account of its own, with
    /// its own rate-limit bucket (a pool of credentials, as the bot's `PSN_NPSSO=a,b,c`).
    pub more_npssos: Vec<String>,
    /// What every issued access and refresh token starts with (the rest is random hex), so a
    /// test can tell its tokens apart from any other text (canary secrets).
    pub access_token_prefix: String,
    pub refresh_token_prefix: String,
    /// Extra players `sim_crowd_000`, `sim_crowd_001`, … (see [`crowd_online_id`]), each with
    /// 60 titles of their own; the documented world stays the same. Default 0.
    pub crowd: usize,
    /// What moves the virtual clock besides [`Sim::advance_clock`].
    pub clock: SimClock,
}

/// The source of the simulator's virtual time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimClock {
    /// Only [`Sim::advance_clock`] (and `/_sim/clock/advance`) move it.
    #[default]
    Manual,
    /// It also follows tokio's clock from [`Sim::new`] on, so a test with a paused tokio clock
    /// (`tokio::time::pause`, `start_paused`) drives PSN's time, rate limit included, and the
    /// client's budget with one clock, and request times are comparable with tokio instants.
    Tokio,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            rate_limit: 300,
            rate_window: Duration::from_secs(15 * 60),
            access_token_lifetime: Duration::from_secs(3600),
            refresh_token_lifetime: Duration::from_secs(5_184_000),
            presence_batch_limit: 100,
            start_time: Utc
                .with_ymd_and_hms(2026, 11, 1, 12, 0, 0)
                .single()
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            npsso: SIM_NPSSO.to_string(),
            more_npssos: Vec::new(),
            access_token_prefix: "sim-at-".to_string(),
            refresh_token_prefix: "sim-rt-".to_string(),
            crowd: 0,
            clock: SimClock::Manual,
        }
    }
}

/// A fault applied to the next matching API requests (auth and `/_sim/` requests are exempt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next `count` API requests answer 503.
    ServerError { count: u32 },
    /// The next `count` API requests never answer (until the server shuts down).
    Timeout { count: u32 },
    /// Every API request answers 429 until `now() + for_`.
    RateLimited { for_: Duration },
    /// Every issued access and refresh token, and the legacy bearer, becomes invalid.
    RevokeTokens,
    /// The NPSSO is no longer accepted by authorize.
    RejectNpsso,
    /// Credential `index` (0: `SimConfig::npsso`, then `more_npssos`) is rejected: its NPSSO
    /// no longer signs in and every token issued to it is revoked; the others are untouched.
    RejectCredential { index: usize },
    /// Lifts [`Fault::RejectCredential`] for credential `index`: its NPSSO signs in again (the
    /// tokens revoked meanwhile stay revoked), the other faults stay.
    AcceptCredential { index: usize },
    /// Every user-level request for this title's trophies (its groups and trophies with a
    /// user's earned state, under the trophy API) answers 404 code 2240525 "Resource not
    /// found", as PSN does for a title it cannot find, even one the title listing shows.
    TitleTrophiesNotFound { np_communication_id: String },
    /// Every icon under `/_sim/icons/` answers 503 (an image host that is down).
    IconsDown,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SimError {
    #[error("no user with online ID {0}")]
    UnknownUser(String),
    #[error("no title {0}")]
    UnknownTitle(String),
    #[error("title {title} has no trophy {trophy}")]
    UnknownTrophy { title: String, trophy: u32 },
    #[error("{online_id} already earned trophy {trophy} of {title}")]
    AlreadyEarned {
        online_id: String,
        title: String,
        trophy: u32,
    },
}

/// One request the simulator answered (secrets such as the Authorization header are not kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub status: u16,
    /// The virtual time it was answered at.
    pub at: DateTime<Utc>,
    /// The credential whose access token the API request carried (its index, as in
    /// [`Fault::RejectCredential`]); `None` for sign-in, the legacy bearer and requests without
    /// a valid token.
    pub credential: Option<usize>,
    /// Which access token the API request carried, numbered in the order the simulator issued
    /// them (every sign-in and refresh gets a new one), so requests of processes sharing one
    /// credential can be told apart; `None` where `credential` is.
    pub access_token: Option<u64>,
}

#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Set when a server shuts down, so requests hung by [`Fault::Timeout`] let go.
    closing: tokio::sync::watch::Sender<bool>,
}

pub(crate) struct State {
    pub config: SimConfig,
    /// How far the clock was advanced by hand.
    pub elapsed: Duration,
    /// tokio's time at the start, for [`SimClock::Tokio`].
    pub started: tokio::time::Instant,
    pub world: World,
    pub tokens: Tokens,
    pub faults: Faults,
    pub requests: Vec<RecordedRequest>,
    /// Request times per credential (a PSN account: every sign-in with one NPSSO shares it),
    /// oldest first, for the sliding window.
    pub windows: HashMap<u64, VecDeque<DateTime<Utc>>>,
    /// Feeds PSN-style error reference ids.
    pub reference_counter: u64,
}

#[derive(Default)]
pub(crate) struct Faults {
    pub server_errors: u32,
    pub timeouts: u32,
    pub rate_limited_until: Option<DateTime<Utc>>,
    pub npsso_rejected: bool,
    /// Credentials rejected one by one ([`Fault::RejectCredential`]).
    pub rejected_credentials: HashSet<usize>,
    /// npCommunicationIds whose user-level trophies answer 404.
    pub missing_title_trophies: HashSet<String>,
    pub icons_down: bool,
}

/// `at + by`, saturating instead of panicking on absurd durations.
pub(crate) fn after(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(by)
        .ok()
        .and_then(|by| at.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl State {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let followed = match self.config.clock {
            SimClock::Manual => Duration::ZERO,
            SimClock::Tokio => self.started.elapsed(),
        };
        after(
            self.config.start_time,
            self.elapsed.saturating_add(followed),
        )
    }

    pub(crate) fn next_reference_id(&mut self) -> String {
        self.reference_counter += 1;
        let n = self.reference_counter;
        format!(
            "{:08x}-{:04x}-11f0-8000-{:012x}",
            n.wrapping_mul(2_654_435_761) & 0xffff_ffff,
            n & 0xffff,
            n
        )
    }
}

impl Sim {
    pub fn new(config: SimConfig) -> Sim {
        let world = world::generate(config.seed, config.start_time, config.crowd);
        let tokens = Tokens::new(config.seed);
        let state = State {
            config,
            elapsed: Duration::ZERO,
            started: tokio::time::Instant::now(),
            world,
            tokens,
            faults: Faults::default(),
            requests: Vec::new(),
            windows: HashMap::new(),
            reference_counter: 0,
        };
        let (closing, _) = tokio::sync::watch::channel(false);
        Sim {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                closing,
            }),
        }
    }

    /// Every endpoint (both APIs, auth, profile2, presence, `/_sim/` control) on one router.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// Serves the router on `addr` (port 0 picks a free port) until the returned server is
    /// dropped or shut down.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        self.inner.closing.send_replace(false);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(%error, "psn-sim server stopped with an error");
            }
        });
        Ok(SimServer {
            base_url: format!("http://{addr}"),
            addr,
            stop: Some(stop),
            task: Some(task),
            sim: self.clone(),
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.state().now()
    }

    pub fn advance_clock(&self, by: Duration) {
        let mut state = self.state();
        state.elapsed = state.elapsed.saturating_add(by);
    }

    /// Earns a trophy for a user at the current virtual time, as if they just played: the title
    /// joins their library if new, moves to the front, the platinum follows the last base-game
    /// trophy, and presence shows them online playing it for a 30-minute session.
    pub fn earn_trophy(
        &self,
        online_id: &str,
        np_communication_id: &str,
        trophy_id: u32,
    ) -> Result<(), SimError> {
        control::earn(&mut self.state(), online_id, np_communication_id, trophy_id).map(|_| ())
    }

    /// Sets presence: online until changed (playing the title with `np_title_id`, e.g.
    /// `PPSA01234_00`, if given) or offline now; `visible: Some(false)` hides it.
    pub fn set_presence(
        &self,
        online_id: &str,
        online: bool,
        np_title_id: Option<&str>,
        visible: Option<bool>,
    ) -> Result<(), SimError> {
        control::set_presence(&mut self.state(), online_id, online, np_title_id, visible)
    }

    /// Sets a user's "About me" text, which the full profile endpoint then answers.
    pub fn set_about_me(&self, online_id: &str, text: &str) -> Result<(), SimError> {
        control::set_about_me(&mut self.state(), online_id, text)
    }

    /// Makes a user's trophy list private (the trophy API then answers 403 for it) or public.
    pub fn set_private(&self, online_id: &str, private: bool) -> Result<(), SimError> {
        control::set_private(&mut self.state(), online_id, private)
    }

    /// The accountId of a named user (current or former online ID, any case).
    pub fn account_id(&self, online_id: &str) -> Option<String> {
        self.state()
            .world
            .users
            .iter()
            .find(|user| user.answers_to(online_id))
            .map(|user| user.account_id.clone())
    }

    /// The npCommunicationIds of a user's titles, most recently updated first (as their title
    /// listing orders them), so a test can earn something in them.
    pub fn titles_of(&self, online_id: &str) -> Result<Vec<String>, SimError> {
        let state = self.state();
        let user = state
            .world
            .users
            .iter()
            .find(|user| user.answers_to(online_id))
            .ok_or_else(|| SimError::UnknownUser(online_id.to_string()))?;
        let mut played: Vec<_> = user.library.iter().collect();
        played.sort_by_key(|p| std::cmp::Reverse(p.last_updated));
        Ok(played
            .into_iter()
            .map(|p| state.world.titles[p.title].np_communication_id.clone())
            .collect())
    }

    pub fn inject(&self, fault: Fault) {
        let mut state = self.state();
        let now = state.now();
        match fault {
            Fault::ServerError { count } => state.faults.server_errors += count,
            Fault::Timeout { count } => state.faults.timeouts += count,
            Fault::RateLimited { for_ } => {
                state.faults.rate_limited_until = Some(after(now, for_));
            }
            Fault::RevokeTokens => state.tokens.revoke_all(),
            Fault::RejectNpsso => state.faults.npsso_rejected = true,
            Fault::IconsDown => state.faults.icons_down = true,
            Fault::RejectCredential { index } => {
                state.faults.rejected_credentials.insert(index);
                state.tokens.revoke_credential(index);
            }
            Fault::AcceptCredential { index } => {
                state.faults.rejected_credentials.remove(&index);
            }
            Fault::TitleTrophiesNotFound {
                np_communication_id,
            } => {
                state
                    .faults
                    .missing_title_trophies
                    .insert(np_communication_id);
            }
        }
    }

    /// Lifts every injected fault (revoked tokens stay revoked): PSN is well again.
    pub fn clear_faults(&self) {
        self.state().faults = Faults::default();
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.state().requests.len()
    }

    pub fn reset_requests(&self) {
        self.state().requests.clear();
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not wedge the simulator: the state stays usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.closing.subscribe()
    }
}

/// A running simulator server; it shuts down on drop or [`SimServer::shutdown`].
pub struct SimServer {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    sim: Sim,
}

impl SimServer {
    pub async fn shutdown(mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn begin_shutdown(&mut self) {
        self.sim.inner.closing.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

impl std::fmt::Debug for SimServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimServer")
            .field("base_url", &self.base_url)
            .finish()
    }
}
