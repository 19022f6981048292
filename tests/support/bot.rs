//! The end-to-end harness: the real `trophybot run` binary against the fake Discord, the PSN
//! simulator and a database of its own. Tests drive it with slash commands and read what the
//! bot did from the fake. Every wait ends as soon as its condition holds (a timeout is only a
//! safety net); none sleeps a fixed time hoping something happened.
//!
//! The bot reaches the fake's REST as it reaches Discord in production: over TLS to
//! `discord.com` with serenity's rate limiter on (`DISCORD_API_ADDR` points `discord.com` at the
//! fake, `DISCORD_EXTRA_CA` trusts the fake's throwaway authority).
//! [`HarnessBuilder::plain_http_discord`] keeps a test on `DISCORD_API_URL` instead (plain
//! HTTP, limiter off, the bot's own 429 handling).
//!
//! ```ignore
//! let h = Harness::builder()
//!     .env("TRACKER_MAX_STALENESS", "30s")
//!     .guild(FakeGuild::new(101, "Other").channel(201, "news").member(FakeUser::new(301, "x")))
//!     .start()
//!     .await;
//! let (ephemeral, reply) = h.track_add("sim_casual").await; // /track add by ADMIN
//! let ix = h.slash(ADMIN, "track", subcommand("list", vec![])).await;
//! let (_, list) = h.any_reply(ix).await;
//! let store = h.store().await; // the bot's database
//! h.restart().await; // SIGKILL, then a new bot process on the same database
//! ```

use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use discord_fake::{FakeConfig, FakeDiscord, FakeGuild, FakeUser, InteractionEvent, InteractionId};
use psn_sim::{Sim, SimConfig, SimServer, SIM_NPSSO};
use serde_json::{json, Value};

use super::db::TestDb;

pub const GUILD: u64 = 100;
pub const CHANNEL: u64 = 200;
/// A plain member (no Manage Server).
pub const MEMBER: u64 = 300;
pub const OTHER_MEMBER: u64 = 301;
/// A member with Manage Server, for `/track` and `/settings`.
pub const ADMIN: u64 = 302;

/// Discord's callback types.
pub const CALLBACK_MESSAGE: u64 = 4;
pub const CALLBACK_DEFERRED: u64 = 5;
pub const CALLBACK_DEFERRED_UPDATE: u64 = 6;
pub const CALLBACK_AUTOCOMPLETE: u64 = 8;
pub const EPHEMERAL: u64 = 64;

/// How long [`wait_until`] keeps asking: a safety net, not a timing.
pub const WAIT_LIMIT: Duration = Duration::from_secs(20);
/// Pause between two probes of [`wait_until`] (a poll of state outside the fake, e.g. the DB).
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// The default server: one text channel, a plain member, a bystander and an admin.
pub fn default_guild() -> FakeGuild {
    FakeGuild::new(GUILD, "Trophy Room")
        .channel(CHANNEL, "general")
        .member(FakeUser::new(MEMBER, "hunter"))
        .member(FakeUser::new(OTHER_MEMBER, "bystander"))
        .member(FakeUser::new(ADMIN, "admin").with_manage_guild())
}

/// How to start the harness: extra environment for the bot and the fake's guilds.
pub struct HarnessBuilder {
    env: Vec<(String, String)>,
    guilds: Vec<FakeGuild>,
    sim: SimConfig,
    discord_token: Option<String>,
    database_password: Option<String>,
    capture_output: bool,
    discord_path: DiscordPath,
    fake: FakeConfig,
}

/// How the bot reaches the fake Discord's REST.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiscordPath {
    /// Production's path: TLS to `discord.com`, serenity's rate limiter on.
    Tls,
    /// `DISCORD_API_URL`: plain HTTP, serenity's rate limiter off.
    PlainHttp,
}

impl HarnessBuilder {
    /// An environment variable for the bot (e.g. `TRACKER_MAX_STALENESS`,
    /// `TRACKER_MAX_ACCOUNTS_PER_GUILD`, `TROPHYBOT_FAILPOINT`); later values win.
    pub fn env(mut self, name: &str, value: &str) -> HarnessBuilder {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Another guild besides [`default_guild`].
    pub fn guild(mut self, guild: FakeGuild) -> HarnessBuilder {
        self.guilds.push(guild);
        self
    }

    /// Replaces the default guild (use [`default_guild`] to start from it).
    pub fn only_guilds(mut self, guilds: Vec<FakeGuild>) -> HarnessBuilder {
        self.guilds = guilds;
        self
    }

    pub fn sim_config(mut self, sim: SimConfig) -> HarnessBuilder {
        self.sim = sim;
        self
    }

    /// The bot token the fake Discord accepts and the bot is given.
    pub fn discord_token(mut self, token: &str) -> HarnessBuilder {
        self.discord_token = Some(token.to_string());
        self
    }

    /// Puts a password into the bot's `DATABASE_URL` (the local server's trust authentication
    /// does not ask for it, so the bot connects all the same).
    pub fn database_password(mut self, password: &str) -> HarnessBuilder {
        self.database_password = Some(password.to_string());
        self
    }

    /// Writes the bot's stdout and stderr to a file instead of the test's terminal, for
    /// [`Harness::bot_output`].
    pub fn capture_output(mut self) -> HarnessBuilder {
        self.capture_output = true;
        self
    }

    /// Reaches the fake through `DISCORD_API_URL` (plain HTTP, serenity's limiter off) instead
    /// of production's TLS path.
    pub fn plain_http_discord(mut self) -> HarnessBuilder {
        self.discord_path = DiscordPath::PlainHttp;
        self
    }

    /// The fake Discord's settings besides its guilds (its clock, its rate limits).
    pub fn fake_config(mut self, fake: FakeConfig) -> HarnessBuilder {
        self.fake = fake;
        self
    }

    pub async fn start(self) -> Harness {
        let sim = Sim::new(self.sim);
        let sim_server = sim
            .serve("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("simulator starts");
        let discord = FakeDiscord::start(FakeConfig {
            guilds: self.guilds,
            token: self.discord_token.unwrap_or(self.fake.token.clone()),
            ..self.fake
        })
        .await
        .expect("fake Discord starts");
        let mut db = TestDb::unused();
        if let Some(password) = &self.database_password {
            let mut url = url::Url::parse(&db.url).expect("the test database's URL");
            url.set_password(Some(password))
                .expect("the test database's URL takes a password");
            db.url = url.to_string();
        }
        let workdir = tempfile::tempdir().expect("temp dir");
        let mut harness = Harness {
            discord,
            sim,
            sim_server,
            bot: None,
            ops_addr: free_addr(),
            workdir,
            db,
            env: self.env,
            capture_output: self.capture_output,
            discord_path: self.discord_path,
        };
        harness.spawn_bot().await;
        harness
    }
}

pub struct Harness {
    pub discord: FakeDiscord,
    pub sim: Sim,
    pub sim_server: SimServer,
    /// The running bot process (`None` only between a kill and the next start).
    pub bot: Option<Child>,
    /// Where the bot serves `/healthz` and `/metrics`.
    pub ops_addr: std::net::SocketAddr,
    /// The bot's working directory (no `.env` in it); removed when the test ends.
    workdir: tempfile::TempDir,
    /// The bot's own database, created by the bot at start and dropped after the test.
    pub db: TestDb,
    env: Vec<(String, String)>,
    /// Whether the bot's output goes to [`Harness::bot_output`].
    capture_output: bool,
    discord_path: DiscordPath,
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(mut bot) = self.bot.take() {
            let _ = bot.kill();
            let _ = bot.wait();
        }
    }
}

/// A second bot process ([`Harness::spawn_second_bot`]), killed when dropped.
pub struct SecondBot {
    child: Child,
    /// Where it serves `/healthz` and `/metrics`.
    pub ops_addr: std::net::SocketAddr,
}

impl SecondBot {
    /// Whether the process is still running (it has not exited, for any reason).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the process (SIGKILL: no cleanup, as a crash) and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn ops_url(&self) -> String {
        format!("http://{}", self.ops_addr)
    }
}

impl Drop for SecondBot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits for `child` to exit (up to [`WAIT_LIMIT`], then kills it and fails): its output.
async fn wait_for_exit(child: Child) -> std::process::Output {
    let pid = child.id().to_string();
    let exited = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(WAIT_LIMIT, exited).await {
        Ok(output) => output
            .expect("the waiting thread")
            .expect("the bot's output"),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("the bot did not exit within {WAIT_LIMIT:?}");
        }
    }
}

fn free_addr() -> std::net::SocketAddr {
    // A free port for health and metrics (the bot binds it right after).
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

impl Harness {
    /// The default guild, the default simulator, no extra environment.
    pub async fn start() -> Harness {
        Harness::builder().start().await
    }

    pub fn builder() -> HarnessBuilder {
        HarnessBuilder {
            env: Vec::new(),
            guilds: vec![default_guild()],
            sim: SimConfig::default(),
            discord_token: None,
            database_password: None,
            capture_output: false,
            discord_path: DiscordPath::Tls,
            fake: FakeConfig::default(),
        }
    }

    /// `trophybot run` with the harness's environment, not yet started.
    fn bot_command(&self) -> Command {
        self.command("run")
    }

    /// `trophybot <subcommand>` with the harness's environment, not yet started.
    #[allow(
        clippy::disallowed_methods,
        reason = "the bot under test gets only PATH"
    )]
    fn command(&self, subcommand: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trophybot"));
        command
            .arg(subcommand)
            // A clean environment: no .env, nothing from the developer's shell.
            .env_clear()
            .current_dir(self.workdir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &self.db.url)
            .env("DISCORD_TOKEN", &self.discord.config().token)
            .env("DISCORD_DEV_GUILD", GUILD.to_string())
            .env("PSN_NPSSO", SIM_NPSSO)
            .env("PSN_API_URL", &self.sim_server.base_url)
            .env("PSN_AUTH_URL", &self.sim_server.base_url)
            .env("PSN_PROFILE_URL", &self.sim_server.base_url)
            // The simulator serves the image cards' pictures.
            .env("PSN_IMAGE_HOSTS", self.sim_server.addr.to_string())
            .env("HTTP_ADDR", self.ops_addr.to_string())
            // One name across restarts, as a container's: a restarted bot takes back its shard
            // leases at once instead of waiting for them to run out.
            .env("TROPHYBOT_INSTANCE", "bot-main")
            .stdin(Stdio::null());
        match self.discord_path {
            DiscordPath::PlainHttp => {
                command.env("DISCORD_API_URL", self.discord.origin());
            }
            DiscordPath::Tls => {
                // Written at each start: a replaced fake has an authority of its own. Staged and
                // renamed into place, so a process starting meanwhile (a second bot) never reads
                // it half written.
                static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let staged = self.workdir.path().join(format!(
                    "discord-fake-ca.pem.{}",
                    STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ));
                let authority = self.workdir.path().join("discord-fake-ca.pem");
                std::fs::write(&staged, self.discord.ca_pem()).expect("the authority written");
                std::fs::rename(&staged, &authority).expect("the authority in place");
                command
                    .env("DISCORD_API_ADDR", self.discord.tls_addr().to_string())
                    .env("DISCORD_EXTRA_CA", authority);
            }
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command
    }

    /// Starts a bot process and waits until it identified and registered its commands.
    async fn spawn_bot(&mut self) {
        let (readies_before, _) = self.discord.session_counts();
        let registrations_before = self.command_registrations();
        let mut command = self.bot_command();
        if self.capture_output {
            let log = std::fs::File::options()
                .create(true)
                .append(true)
                .open(self.output_path())
                .expect("the bot's log file");
            command
                .stdout(log.try_clone().expect("the log file"))
                .stderr(log);
        }
        self.bot = Some(command.spawn().expect("the bot starts"));
        self.discord
            .wait_for("the bot to identify", |d| {
                (d.session_counts().0 > readies_before).then_some(())
            })
            .await
            .expect("the bot connects");
        // Commands are registered in the dev guild during setup, after READY.
        self.discord
            .wait_for("commands registered", |d| {
                let registered = registrations(d) > registrations_before;
                (registered && !d.commands(Some(GUILD)).is_empty()).then_some(())
            })
            .await
            .expect("commands registered");
    }

    fn command_registrations(&self) -> usize {
        registrations(&self.discord)
    }

    fn output_path(&self) -> std::path::PathBuf {
        self.workdir.path().join("bot-output.log")
    }

    /// Everything every bot process of this harness wrote to stdout and stderr (with
    /// [`HarnessBuilder::capture_output`]).
    pub fn bot_output(&self) -> String {
        std::fs::read_to_string(self.output_path()).unwrap_or_default()
    }

    /// Runs `trophybot <subcommand>` with the harness's environment plus `env` (later values
    /// win) and waits for it to exit (up to [`WAIT_LIMIT`]): its exit status and output.
    pub async fn run_to_exit(
        &self,
        subcommand: &str,
        env: &[(&str, &str)],
    ) -> std::process::Output {
        let mut command = self.command(subcommand);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the bot starts");
        wait_for_exit(child).await
    }

    /// Starts a second `trophybot run` process on the same database, fake Discord and simulator
    /// (an ops port of its own; its instance name, `bot-second`, is its own too), without
    /// waiting for it. The first process holds the bot's only shard, so the second connects no
    /// shard until the first's lease ends; the tracker, the deliverer and the recap scheduler of
    /// each run all the same (they use REST and the database only).
    pub fn spawn_second_bot(&self) -> SecondBot {
        self.spawn_bot_named("bot-second", &[])
    }

    /// Starts another `trophybot run` process named `instance` on the same database, fake
    /// Discord and simulator, with an ops port of its own and `env` on top of the harness's
    /// environment (such as `SHARDS`), without waiting for it.
    pub fn spawn_bot_named(&self, instance: &str, env: &[(&str, &str)]) -> SecondBot {
        let ops_addr = free_addr();
        let mut command = self.bot_command();
        command.env("HTTP_ADDR", ops_addr.to_string());
        command.env("TROPHYBOT_INSTANCE", instance);
        for (name, value) in env {
            command.env(name, value);
        }
        SecondBot {
            child: command.spawn().expect("another bot starts"),
            ops_addr,
        }
    }

    /// Kills the bot (SIGKILL: no cleanup, as a crash) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut bot) = self.bot.take() {
            let _ = bot.kill();
            let _ = bot.wait();
        }
    }

    /// Kills the bot and starts a new process on the same database, fake Discord and simulator.
    pub async fn restart(&mut self) {
        self.kill();
        // The old process held the port; a new one avoids waiting for it to be released.
        self.ops_addr = free_addr();
        self.spawn_bot().await;
    }

    /// Starts a bot process that is expected to refuse to run, and waits for it to exit (up
    /// to [`WAIT_LIMIT`]): its exit status and output.
    pub async fn start_expecting_exit(&mut self) -> std::process::Output {
        self.kill();
        self.ops_addr = free_addr();
        let child = self
            .bot_command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the bot starts");
        wait_for_exit(child).await
    }

    /// Kills the bot and replaces the fake Discord with one for another application (same
    /// token, same guilds, another application and bot user ID), as a token of another bot
    /// would see. The database and the simulator stay.
    pub async fn switch_application(&mut self, application_id: u64) {
        self.kill();
        let mut config = self.discord.config().clone();
        config.application_id = application_id;
        config.bot = FakeUser::new(application_id, config.bot.name.clone());
        self.discord = FakeDiscord::start(config)
            .await
            .expect("fake Discord starts");
    }

    /// Kills the bot, sets `name=value` for the next start, and restarts it.
    pub async fn restart_with_env(&mut self, name: &str, value: &str) {
        self.env.push((name.to_string(), value.to_string()));
        self.restart().await;
    }

    /// Sends SIGTERM and waits for the bot to exit (a clean shutdown).
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut bot = self.bot.take().expect("the bot is running");
        let pid = bot.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
        tokio::task::spawn_blocking(move || bot.wait())
            .await
            .expect("the waiting thread")
            .expect("the bot's exit status")
    }

    /// How the bot reaches the fake's REST.
    pub fn discord_path(&self) -> DiscordPath {
        self.discord_path
    }

    /// The bot process's id.
    pub fn bot_pid(&self) -> u32 {
        self.bot
            .as_ref()
            .map(Child::id)
            .expect("the bot is running")
    }

    /// A store on the bot's database (migrated by the bot at start).
    pub async fn store(&self) -> trophybot::store::Store {
        trophybot::store::Store::connect(&self.db.url)
            .await
            .expect("the bot's database")
    }

    /// Where the bot serves `/healthz` and `/metrics`.
    pub fn ops_url(&self) -> String {
        format!("http://{}", self.ops_addr)
    }

    /// A slash command in the default guild and channel.
    pub async fn slash(&self, user: u64, name: &str, options: Value) -> InteractionId {
        self.slash_in(GUILD, CHANNEL, user, name, options).await
    }

    /// A slash command in any guild and channel of the fake.
    pub async fn slash_in(
        &self,
        guild: u64,
        channel: u64,
        user: u64,
        name: &str,
        options: Value,
    ) -> InteractionId {
        self.discord
            .send_slash_command(guild, channel, user, name, options)
            .await
            .expect("interaction dispatched")
    }

    /// The deferral and the reply that replaced the loading message, ephemeral or not as the
    /// deferral said; or an error, which only the caller sees.
    pub async fn deferred(&self, ix: InteractionId) -> (bool, Value) {
        let log = self
            .discord
            .wait_for_interaction_events(ix, 2)
            .await
            .expect("deferred, then edited");
        let ephemeral = match &log[0] {
            InteractionEvent::Callback { kind, data, .. } => {
                assert_eq!(
                    *kind, CALLBACK_DEFERRED,
                    "acknowledged by deferring before anything else"
                );
                data.as_ref()
                    .and_then(|d| d["flags"].as_u64())
                    .is_some_and(|flags| flags & EPHEMERAL != 0)
            }
            other => panic!("first event must be the callback, got {other:?}"),
        };
        match &log[1] {
            InteractionEvent::EditOriginal { body, .. } => {
                assert_no_mentions(body);
                (ephemeral, body.clone())
            }
            // An error after a public defer: the loading message goes, the error follows for
            // the caller only.
            InteractionEvent::DeleteMessage { .. } => {
                let log = self
                    .discord
                    .wait_for_interaction_events(ix, 3)
                    .await
                    .expect("an ephemeral follow-up");
                match &log[2] {
                    InteractionEvent::FollowUp { body, .. } => {
                        assert_no_mentions(body);
                        assert!(
                            is_ephemeral(body),
                            "an error is for the caller only: {body}"
                        );
                        (true, body.clone())
                    }
                    other => panic!("expected the error as a follow-up, got {other:?}"),
                }
            }
            other => panic!("expected the loading message to be replaced, got {other:?}"),
        }
    }

    /// The callback and the reply that replaced the loading message.
    pub async fn deferred_reply(&self, ix: InteractionId) -> Value {
        self.deferred(ix).await.1
    }

    /// `/trophies user:{online_id}` (the profile), answered after a deferral.
    pub async fn profile_reply(&self, online_id: &str) -> Value {
        let ix = self
            .slash(MEMBER, "trophies", json!([opt("user", online_id)]))
            .await;
        self.deferred_reply(ix).await
    }

    /// The one immediate answer (a type 4 callback).
    pub async fn immediate_reply(&self, ix: InteractionId) -> Value {
        match self.discord.wait_for_response(ix).await.expect("answered") {
            InteractionEvent::Callback {
                kind,
                data: Some(data),
                ..
            } => {
                assert_eq!(kind, CALLBACK_MESSAGE);
                assert_no_mentions(&data);
                data
            }
            other => panic!("expected an immediate message, got {other:?}"),
        }
    }

    /// The message a command's reply became (its ID, for pressing its buttons).
    pub fn reply_message_id(&self, ix: InteractionId) -> u64 {
        self.discord
            .messages()
            .into_iter()
            .find(|m| m.interaction == Some(ix))
            .expect("the reply message")
            .message_id
    }

    /// The reply however it came (at once, or after a deferral), and whether it is ephemeral.
    pub async fn any_reply(&self, ix: InteractionId) -> (bool, Value) {
        match self.discord.wait_for_response(ix).await.expect("answered") {
            InteractionEvent::Callback {
                kind: CALLBACK_DEFERRED,
                ..
            } => self.deferred(ix).await,
            InteractionEvent::Callback {
                kind: CALLBACK_MESSAGE,
                data: Some(data),
                ..
            } => {
                assert_no_mentions(&data);
                (is_ephemeral(&data), data)
            }
            other => panic!("expected a message or a deferral, got {other:?}"),
        }
    }

    /// `/track add user:{online_id}` by [`ADMIN`] in the default guild and channel (where the
    /// announcements then go, unless the server set an announce channel): the reply and
    /// whether it is ephemeral.
    pub async fn track_add(&self, online_id: &str) -> (bool, Value) {
        self.track_add_in(GUILD, CHANNEL, ADMIN, online_id, None)
            .await
    }

    /// `/track add` in any guild, by a member with Manage Server there, optionally naming the
    /// announcement channel.
    pub async fn track_add_in(
        &self,
        guild: u64,
        channel: u64,
        admin: u64,
        online_id: &str,
        announce_in: Option<u64>,
    ) -> (bool, Value) {
        let mut options = vec![opt("user", online_id)];
        options.extend(announce_in.map(|c| channel_opt("channel", c)));
        let ix = self
            .slash_in(guild, channel, admin, "track", subcommand("add", options))
            .await;
        self.any_reply(ix).await
    }

    /// The user's title with the most trophies (so its list has several pages), asked of the
    /// simulator through the real client.
    pub async fn biggest_title(&self, online_id: &str) -> String {
        let client = super::sim_client(&self.sim_server.base_url);
        let online_id = psn::OnlineId::parse(online_id).expect("a valid online ID");
        let account = client.resolve_user(&online_id).await.expect("a sim user");
        let titles = client
            .recent_titles(&account, 50)
            .await
            .expect("their titles");
        titles
            .into_iter()
            .max_by_key(|t| t.defined.total())
            .expect("the user has titles")
            .np_communication_id
    }
}

fn registrations(discord: &FakeDiscord) -> usize {
    discord
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/commands") && r.status < 300)
        .count()
}

/// Waits until `probe` yields `Some` (state outside the fake, such as the database), asking
/// again every few milliseconds up to [`WAIT_LIMIT`]. For the fake's own state use
/// `FakeDiscord::wait_for`, which wakes on each change instead.
pub async fn wait_until<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_until_within(what, WAIT_LIMIT, probe).await
}

/// [`wait_until`] with a safety net of `limit`, for a condition that waits its turn behind
/// other work of the bot (the tracker's first rounds on a loaded machine).
pub async fn wait_until_within<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let waiting = async {
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            tokio::time::sleep(PROBE_INTERVAL).await;
        }
    };
    tokio::time::timeout(limit, waiting)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

pub fn assert_no_mentions(body: &Value) {
    assert_eq!(
        body["allowed_mentions"]["parse"],
        json!([]),
        "mentions must never be parsed: {body}"
    );
}

/// The `custom_id` of a reply's enabled "Next" page button.
pub fn next_page_button(reply: &Value) -> String {
    reply["components"][0]["components"]
        .as_array()
        .and_then(|buttons| {
            buttons.iter().find(|b| {
                b["disabled"] != json!(true) && b["label"].as_str().unwrap_or("").contains("Next")
            })
        })
        .and_then(|b| b["custom_id"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("a Next button on the page: {reply}"))
}

pub fn is_ephemeral(body: &Value) -> bool {
    body["flags"].as_u64().unwrap_or(0) & EPHEMERAL == EPHEMERAL
}

/// The payload as lower-case text with markdown escapes removed, for looking up words.
pub fn text_of(body: &Value) -> String {
    body.to_string().replace('\\', "").to_lowercase()
}

/// A string option.
pub fn opt(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// An integer option (also how poise's choice parameters travel: the choice's index).
pub fn int_opt(name: &str, value: i64) -> Value {
    json!({"name": name, "type": 4, "value": value})
}

/// A boolean option.
pub fn bool_opt(name: &str, value: bool) -> Value {
    json!({"name": name, "type": 5, "value": value})
}

/// A number option.
pub fn number_opt(name: &str, value: f64) -> Value {
    json!({"name": name, "type": 10, "value": value})
}

/// A channel option (the fake adds the channel to `resolved`).
pub fn channel_opt(name: &str, channel_id: u64) -> Value {
    json!({"name": name, "type": 7, "value": channel_id.to_string()})
}

/// The options of a subcommand invocation, e.g. `subcommand("add", vec![opt("user", "x")])`
/// for `/track add user:x`.
pub fn subcommand(name: &str, options: Vec<Value>) -> Value {
    json!([{"name": name, "type": 1, "options": options}])
}
