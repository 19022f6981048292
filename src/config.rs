//! Typed settings from the environment and `.env` (the environment wins). Every problem is found
//! at once, so the operator fixes them in one go. Secrets print as `[redacted]`.

use std::net::SocketAddr;
use std::time::Duration;

use psn::{ApiKind, Credential, RateLimit, Secret};

/// What the settings are for: the bot needs more than the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `trophybot run`: Discord and a refreshable PSN credential.
    Bot,
    /// `trophybot console`: a PSN credential of either kind.
    Console,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub discord_token: Option<Secret>,
    pub database_url: String,
    /// The PSN client's settings, credential included (the first of `PSN_NPSSO`'s).
    pub psn: psn::Config,
    /// Every NPSSO of `PSN_NPSSO` (`a,b,c`), in order: the pool of credentials, each with its
    /// own client and budget (see [`crate::pool`]). Empty with the legacy API.
    pub psn_pool: Vec<Secret>,
    pub discord_api_url: Option<String>,
    /// `DISCORD_API_ADDR`: connect to this address for `discord.com` (the host name, TLS and
    /// certificate checks stay), like curl's `--resolve`.
    pub discord_api_addr: Option<SocketAddr>,
    /// `DISCORD_EXTRA_CA`: certificate authorities (read from a PEM file) trusted for Discord's
    /// REST besides the usual roots, e.g. a TLS-inspecting proxy's or a stand-in's.
    pub discord_extra_ca: Vec<reqwest::Certificate>,
    /// `DISCORD_CALL_TIMEOUT`: how long one Discord call may take, rate-limit waits included,
    /// before it is given up (an announcement is retried later).
    pub discord_call_timeout: Duration,
    pub discord_dev_guild: Option<u64>,
    /// A channel where the bot warns the operator (e.g. the PSN credential nearing its end).
    pub ops_alert_channel: Option<u64>,
    pub tracker_max_staleness: Duration,
    /// How many PSN accounts one server may track, so one server cannot take the whole budget.
    pub tracker_max_accounts_per_guild: usize,
    /// `COMMAND_SHARE_USER`, `COMMAND_SHARE_SERVER`: the PSN requests one Discord user and one
    /// server may cause per `PSN_RATE_LIMIT` window (see [`crate::commands::shares`]).
    pub command_shares: crate::commands::shares::ShareLimits,
    /// `OUTBOX_RETENTION`: how long delivered (and given-up) announcements stay in the outbox.
    pub outbox_retention: Duration,
    /// `PSN_IMAGE_HOSTS`: the only hosts the image cards' pictures are fetched from (lower-case
    /// host names, or `host:port`).
    pub image_hosts: Vec<String>,
    /// This process's name in leases on shared work (`TROPHYBOT_INSTANCE`, else `host:pid`).
    /// A restart under the same name takes back at once what the previous run held.
    pub instance: String,
    /// `SHARD_COUNT`: the bot's total number of Discord shards over every process; `None`:
    /// Discord's recommended count (`GET /gateway/bot`).
    pub shard_count: Option<u32>,
    /// `SHARDS`: the shards this process takes first (`0-3,6`); the rest go to whichever
    /// process has room (see [`crate::shards`]).
    pub preferred_shards: Vec<u32>,
    /// `SHARD_LEASE`: how long a shard's lease (and a process's heartbeat) lasts unrenewed: a
    /// dead process's shards move after at most this long.
    pub shard_lease: Duration,
    /// Test hook (`TROPHYBOT_FAILPOINT`, see [`crate::failpoint`]): the step the bot stops at.
    /// Never set in production.
    pub failpoint: Option<crate::failpoint::Failpoint>,
    /// `TROPHYBOT_ALLOW_APPLICATION_CHANGE`: start even though the token belongs to another
    /// Discord application than the one the database was used with, and store the new one.
    pub allow_application_change: bool,
    pub http_addr: SocketAddr,
    pub log_filter: String,
}

/// Every problem found in the settings, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.join("\n  "))]
pub struct ConfigErrors(pub Vec<String>);

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@localhost:5432/trophybot";
pub const DEFAULT_HTTP_ADDR: &str = "0.0.0.0:8080";
pub const DEFAULT_MAX_STALENESS: &str = "30m";
pub const DEFAULT_COMMAND_RESERVE: &str = "30%";
pub const DEFAULT_MAX_ACCOUNTS_PER_GUILD: usize = 25;
/// A sanity bound: far beyond what one PSN credential can poll usefully.
pub const MAX_ACCOUNTS_PER_GUILD_LIMIT: usize = 10_000;
pub const DEFAULT_LOG_FILTER: &str = "info";
pub const DEFAULT_OUTBOX_RETENTION: &str = "30d";
/// A delivered row is what stops a resend of its announcement after a crash (its nonce): it
/// must outlive every retry and history search, which take minutes, by a wide margin.
pub const MIN_OUTBOX_RETENTION: Duration = Duration::from_secs(24 * 3600);
/// A year: the longest interval the store passes to the database (`store::interval_secs`).
pub const MAX_OUTBOX_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);
pub const DEFAULT_SHARD_LEASE: &str = "30s";
/// Renewals come every third of the lease: a lease shorter than this leaves too little room.
pub const MIN_SHARD_LEASE: Duration = Duration::from_secs(3);
pub const MAX_SHARD_LEASE: Duration = Duration::from_secs(10 * 60);
/// Far beyond any bot's shard count (Discord asks for one shard per 1000 to 2500 servers).
pub const MAX_SHARD_COUNT: u32 = 4096;
pub const DEFAULT_DISCORD_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest `DISCORD_CALL_TIMEOUT`: past it a hung call would hold a channel too long.
pub const MAX_DISCORD_CALL_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The test hook's variable (see [`Config::failpoint`]).
pub const FAILPOINT_ENV: &str = "TROPHYBOT_FAILPOINT";

/// The override for a token of another Discord application (see
/// [`Config::allow_application_change`]).
pub const ALLOW_APPLICATION_CHANGE_ENV: &str = "TROPHYBOT_ALLOW_APPLICATION_CHANGE";

/// One setting from the process environment (after `.env`): trimmed, `None` when unset or empty.
/// The only place the program reads its environment.
#[allow(clippy::disallowed_methods, reason = "this is the one place")]
fn env_setting(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// `DATABASE_URL` (after `.env`), or the default: all `trophybot migrate` needs.
pub fn database_url_from_env() -> String {
    load_dotenv();
    env_setting("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}

/// `HTTP_ADDR` as `run` reads it (after `.env`): all `trophybot healthcheck` needs. The error
/// is the text that is not an address.
pub fn http_addr_from_env() -> Result<SocketAddr, String> {
    load_dotenv();
    let text = env_setting("HTTP_ADDR").unwrap_or_else(|| DEFAULT_HTTP_ADDR.to_string());
    text.parse().map_err(|_| text)
}

/// `RUST_LOG`, or the default filter: read before the rest, so that logging starts first.
pub fn log_filter_from_env() -> String {
    env_setting("RUST_LOG").unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string())
}

/// A name for this process when `TROPHYBOT_INSTANCE` is not set: `hostname:pid`. Distinct for
/// every running process on one database, and the same again when a container restarts (its
/// hostname stays and the bot runs as pid 1), so a restarted bot takes back its leases at once.
fn default_instance(hostname: Option<String>) -> String {
    let host = hostname
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}:{}", std::process::id())
}

/// Loads `.env` into the environment without overriding what is already set.
pub fn load_dotenv() {
    // A missing .env is the normal case; a malformed one is reported but not fatal.
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("warning: ignoring .env: {err}");
        }
    }
}

impl Config {
    /// Reads the process environment (after `.env`).
    pub fn from_env(mode: Mode) -> Result<Config, ConfigErrors> {
        load_dotenv();
        Config::from_vars(mode, env_setting)
    }

    /// Reads settings through `var` (tests pass a map instead of mutating the environment).
    pub fn from_vars(
        mode: Mode,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();

        let discord_token = var("DISCORD_TOKEN").map(Secret::new);
        if mode == Mode::Bot && discord_token.is_none() {
            problems.push("DISCORD_TOKEN is required to run the bot".to_string());
        }

        let api = match var("PSN_API").as_deref() {
            None | Some("modern") => ApiKind::Modern,
            Some("legacy") => ApiKind::Legacy,
            Some(other) => {
                problems.push(format!(
                    "PSN_API={other:?} is not an API: use modern or legacy"
                ));
                ApiKind::Modern
            }
        };
        let psn_pool = match var("PSN_NPSSO") {
            Some(list) => match npsso_pool(&list) {
                Ok(pool) => pool,
                Err(problem) => {
                    problems.push(problem);
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let npsso = psn_pool.first().cloned();
        let token = var("PSN_TOKEN").map(Secret::new);
        let credential = match (api, npsso, token) {
            (ApiKind::Modern, Some(npsso), _) => Some(Credential::Npsso(npsso)),
            // Already reported by `npsso_pool`.
            (ApiKind::Modern, None, _) if var("PSN_NPSSO").is_some() => None,
            (ApiKind::Modern, None, Some(_)) => {
                problems.push(
                    "PSN_TOKEN is a legacy bearer token: set PSN_API=legacy to use it, or set \
                     PSN_NPSSO for the modern API"
                        .to_string(),
                );
                None
            }
            (ApiKind::Modern, None, None) => {
                problems.push("PSN_NPSSO is required for the modern PSN API".to_string());
                None
            }
            (ApiKind::Legacy, _, Some(token)) => Some(Credential::Bearer(token)),
            (ApiKind::Legacy, _, None) => {
                problems.push("PSN_TOKEN is required for the legacy PSN API".to_string());
                None
            }
        };
        if mode == Mode::Bot && api == ApiKind::Legacy {
            problems.push(
                "the bot needs PSN_API=modern with PSN_NPSSO: a legacy bearer token (PSN_TOKEN) \
                 lives about 30 minutes and cannot be renewed"
                    .to_string(),
            );
        }

        // The credential is only a placeholder when it is missing: the error list then stops
        // the caller from using this configuration.
        let mut psn = psn::Config::new(
            api,
            credential.unwrap_or_else(|| Credential::Bearer(Secret::new(""))),
        );
        let mut url_setting = |name: &str, target: &mut String| {
            if let Some(value) = var(name) {
                let checked = value.replace("{region}", "gb");
                match url::Url::parse(&checked) {
                    Ok(url) if url.scheme() == "http" || url.scheme() == "https" => {
                        *target = value.trim_end_matches('/').to_string();
                    }
                    _ => problems.push(format!("{name}={value:?} is not an http(s) URL")),
                }
            }
        };
        url_setting("PSN_API_URL", &mut psn.api_url);
        url_setting("PSN_AUTH_URL", &mut psn.auth_url);
        url_setting("PSN_PROFILE_URL", &mut psn.profile_url);
        url_setting("PSN_LEGACY_URL", &mut psn.legacy_url);
        let mut discord_api_url = String::new();
        url_setting("DISCORD_API_URL", &mut discord_api_url);
        let discord_api_url = (!discord_api_url.is_empty()).then_some(discord_api_url);
        let discord_api_addr = var("DISCORD_API_ADDR").and_then(|text| match text.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                problems.push(format!(
                    "DISCORD_API_ADDR={text:?} is not an address such as 127.0.0.1:8443"
                ));
                None
            }
        });
        let discord_extra_ca = match var("DISCORD_EXTRA_CA") {
            None => Vec::new(),
            Some(path) => match read_certificates(&path) {
                Ok(certificates) => certificates,
                Err(why) => {
                    problems.push(format!("DISCORD_EXTRA_CA={path:?} {why}"));
                    Vec::new()
                }
            },
        };
        let discord_call_timeout = match var("DISCORD_CALL_TIMEOUT") {
            None => DEFAULT_DISCORD_CALL_TIMEOUT,
            Some(text) => match parse_duration(&text) {
                Some(d) if !d.is_zero() && d <= MAX_DISCORD_CALL_TIMEOUT => d,
                _ => {
                    problems.push(format!(
                        "DISCORD_CALL_TIMEOUT={text:?} is not a duration from 1s to 10m, such as 30s"
                    ));
                    DEFAULT_DISCORD_CALL_TIMEOUT
                }
            },
        };
        if discord_api_url.is_some() && (discord_api_addr.is_some() || !discord_extra_ca.is_empty())
        {
            problems.push(
                "DISCORD_API_URL replaces Discord's origin with plain HTTP; it cannot be combined \
                 with DISCORD_API_ADDR or DISCORD_EXTRA_CA (set one way to reach Discord)"
                    .to_string(),
            );
        }

        if let Some(region) = var("PSN_REGION") {
            if region.chars().all(|c| c.is_ascii_alphanumeric()) {
                psn.region = region.to_ascii_lowercase();
            } else {
                problems.push(format!(
                    "PSN_REGION={region:?} is not a region code such as gb, us, de or jp"
                ));
            }
        }
        if let Some(language) = var("PSN_LANGUAGE") {
            match psn::language(&language) {
                Some(listed) => psn.language = listed.to_string(),
                None => {
                    let codes: Vec<&str> = psn::LANGUAGES.iter().map(|(code, _)| *code).collect();
                    problems.push(format!(
                        "PSN_LANGUAGE={language:?} is not a language PSN serves: one of {}",
                        codes.join(", ")
                    ));
                }
            }
        }
        if let Some(spec) = var("PSN_RATE_LIMIT") {
            match spec.parse::<RateLimit>() {
                Ok(limit) => psn.rate_limit = limit,
                Err(err) => problems.push(format!("PSN_RATE_LIMIT: {err}")),
            }
        }

        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        if !crate::store::is_database_url(&database_url) {
            problems.push(format!(
                "DATABASE_URL={} is not a URL",
                crate::store::redact_database_url(&database_url)
            ));
        }

        let mut snowflake = |name: &str, what: &str| {
            var(name).and_then(|v| match v.parse::<u64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    problems.push(format!("{name}={v:?} is not a {what} ID (a number)"));
                    None
                }
            })
        };
        let discord_dev_guild = snowflake("DISCORD_DEV_GUILD", "guild");
        let ops_alert_channel = snowflake("OPS_ALERT_CHANNEL", "channel");

        let staleness =
            var("TRACKER_MAX_STALENESS").unwrap_or_else(|| DEFAULT_MAX_STALENESS.to_string());
        let tracker_max_staleness = match parse_duration(&staleness) {
            Some(d) if !d.is_zero() => d,
            _ => {
                problems.push(format!(
                    "TRACKER_MAX_STALENESS={staleness:?} is not a duration such as 30m, 45s or 1h"
                ));
                Duration::from_secs(30 * 60)
            }
        };

        let reserve =
            var("TRACKER_COMMAND_RESERVE").unwrap_or_else(|| DEFAULT_COMMAND_RESERVE.to_string());
        // `TRACKER_COMMAND_RESERVE` lives in the PSN settings: the budget enforces it.
        psn.command_reserve = match parse_percentage(&reserve) {
            Some(share) => share,
            None => {
                problems.push(format!(
                    "TRACKER_COMMAND_RESERVE={reserve:?} is not a percentage from 0% to 100%"
                ));
                0.3
            }
        };

        let tracker_max_accounts_per_guild = match var("TRACKER_MAX_ACCOUNTS_PER_GUILD") {
            None => DEFAULT_MAX_ACCOUNTS_PER_GUILD,
            Some(text) => match text.parse::<usize>() {
                Ok(cap) if (1..=MAX_ACCOUNTS_PER_GUILD_LIMIT).contains(&cap) => cap,
                _ => {
                    problems.push(format!(
                        "TRACKER_MAX_ACCOUNTS_PER_GUILD={text:?} is not a whole number from 1 to \
                         {MAX_ACCOUNTS_PER_GUILD_LIMIT}"
                    ));
                    DEFAULT_MAX_ACCOUNTS_PER_GUILD
                }
            },
        };

        // The fair shares stay as they are, over the whole pool's command budget.
        let credentials = u32::try_from(psn_pool.len().max(1)).unwrap_or(u32::MAX);
        let command_budget = ((f64::from(psn.rate_limit.requests) * psn.command_reserve).floor()
            as u32)
            .saturating_mul(credentials);
        let mut command_shares =
            crate::commands::shares::ShareLimits::defaults(command_budget, psn.rate_limit.per);
        let requests = psn.rate_limit.requests.saturating_mul(credentials);
        for (name, share) in [
            ("COMMAND_SHARE_USER", &mut command_shares.user),
            ("COMMAND_SHARE_SERVER", &mut command_shares.server),
        ] {
            if let Some(text) = var(name) {
                match text.trim().parse::<u32>() {
                    Ok(n) if (1..=requests.max(1)).contains(&n) => *share = n,
                    _ => problems.push(format!(
                        "{name}={text:?} is not a whole number of PSN requests from 1 to \
                         {requests} (PSN_RATE_LIMIT's requests per window, times the \
                         credentials in PSN_NPSSO)"
                    )),
                }
            }
        }

        let retention =
            var("OUTBOX_RETENTION").unwrap_or_else(|| DEFAULT_OUTBOX_RETENTION.to_string());
        let outbox_retention = match parse_duration(&retention) {
            Some(d) if (MIN_OUTBOX_RETENTION..=MAX_OUTBOX_RETENTION).contains(&d) => d,
            _ => {
                problems.push(format!(
                    "OUTBOX_RETENTION={retention:?} is not a duration from 1d to 365d, such as \
                     30d or 90d"
                ));
                Duration::from_secs(30 * 24 * 3600)
            }
        };

        let image_hosts = match var("PSN_IMAGE_HOSTS") {
            None => crate::cards::icons::DEFAULT_HOSTS
                .iter()
                .map(|h| h.to_string())
                .collect(),
            Some(list) => match parse_image_hosts(&list) {
                Ok(hosts) => hosts,
                Err(bad) => {
                    problems.push(format!(
                        "PSN_IMAGE_HOSTS has {bad:?}, which is not a host name or host:port; \
                         give a comma-separated list such as \
                         image.api.playstation.com,psnobj.prod.dl.playstation.net"
                    ));
                    Vec::new()
                }
            },
        };

        let instance = var("TROPHYBOT_INSTANCE");
        if let Some(name) = &instance {
            let valid = name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
            if !valid {
                problems.push(format!(
                    "TROPHYBOT_INSTANCE={name:?} is not a name of at most 64 letters, digits, \
                     '.', '_', ':' or '-'"
                ));
            }
        }

        let instance = instance.unwrap_or_else(|| default_instance(var("HOSTNAME")));

        let shard_count = match var("SHARD_COUNT") {
            None => None,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_SHARD_COUNT).contains(&n) => Some(n),
                _ => {
                    problems.push(format!(
                        "SHARD_COUNT={text:?} is not a whole number of shards from 1 to \
                         {MAX_SHARD_COUNT} (leave it unset for Discord's recommended count)"
                    ));
                    None
                }
            },
        };
        let preferred_shards = match var("SHARDS") {
            None => Vec::new(),
            Some(text) => match parse_shard_list(&text) {
                Some(shards) if shard_count.is_none_or(|n| shards.iter().all(|s| *s < n)) => shards,
                _ => {
                    problems.push(format!(
                        "SHARDS={text:?} is not a list of shard numbers or ranges such as 0-3,6, \
                         each below SHARD_COUNT (shards count from 0)"
                    ));
                    Vec::new()
                }
            },
        };
        let lease_text = var("SHARD_LEASE").unwrap_or_else(|| DEFAULT_SHARD_LEASE.to_string());
        let shard_lease = match parse_duration(&lease_text) {
            Some(d) if (MIN_SHARD_LEASE..=MAX_SHARD_LEASE).contains(&d) => d,
            _ => {
                problems.push(format!(
                    "SHARD_LEASE={lease_text:?} is not a duration from 3s to 10m, such as 30s"
                ));
                Duration::from_secs(30)
            }
        };
        let failpoint = match var(FAILPOINT_ENV).as_deref() {
            None => None,
            Some(name) => match crate::failpoint::Failpoint::parse(name) {
                Some(point) => Some(point),
                None => {
                    let names: Vec<&str> = crate::failpoint::Failpoint::ALL
                        .iter()
                        .map(|p| p.name())
                        .collect();
                    problems.push(format!(
                        "{FAILPOINT_ENV}={name:?} is not a failpoint: one of {} (a test hook; \
                         leave it unset in production)",
                        names.join(", ")
                    ));
                    None
                }
            },
        };

        let allow_application_change = match var(ALLOW_APPLICATION_CHANGE_ENV) {
            None => false,
            Some(value) if value == "1" || value.eq_ignore_ascii_case("true") => true,
            Some(other) => {
                problems.push(format!(
                    "{ALLOW_APPLICATION_CHANGE_ENV}={other:?} is not 1 or true: set it to 1 only \
                     for the start that moves this database to another Discord application, \
                     else leave it unset"
                ));
                false
            }
        };

        let http_addr_text = var("HTTP_ADDR").unwrap_or_else(|| DEFAULT_HTTP_ADDR.to_string());
        let http_addr = match http_addr_text.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                problems.push(format!(
                    "HTTP_ADDR={http_addr_text:?} is not an address such as 0.0.0.0:8080"
                ));
                SocketAddr::from(([0, 0, 0, 0], 8080))
            }
        };
        let log_filter = var("RUST_LOG").unwrap_or_else(|| DEFAULT_LOG_FILTER.to_string());

        if !problems.is_empty() {
            return Err(ConfigErrors(problems));
        }
        let psn_pool = if api == ApiKind::Modern {
            psn_pool
        } else {
            Vec::new()
        };
        Ok(Config {
            discord_token,
            database_url,
            psn,
            psn_pool,
            discord_api_url,
            discord_api_addr,
            discord_extra_ca,
            discord_call_timeout,
            discord_dev_guild,
            ops_alert_channel,
            tracker_max_staleness,
            tracker_max_accounts_per_guild,
            command_shares,
            outbox_retention,
            image_hosts,
            instance,
            shard_count,
            preferred_shards,
            shard_lease,
            failpoint,
            allow_application_change,
            http_addr,
            log_filter,
        })
    }
}

/// `SHARDS`: shard numbers and inclusive ranges separated by commas (`0-3,6`), sorted and
/// without repeats; `None` when any part is not one.
fn parse_shard_list(text: &str) -> Option<Vec<u32>> {
    let mut shards = std::collections::BTreeSet::new();
    for part in text.split(',').map(str::trim) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        if first > last || last >= MAX_SHARD_COUNT {
            return None;
        }
        shards.extend(first..=last);
    }
    Some(shards.into_iter().collect())
}

/// `PSN_NPSSO`'s credentials: one NPSSO, or several separated by commas (a pool). An empty
/// entry or the same NPSSO twice is refused; the message names positions, never a secret.
fn npsso_pool(list: &str) -> Result<Vec<Secret>, String> {
    let entries: Vec<&str> = list.split(',').map(str::trim).collect();
    let count = entries.len();
    if let Some(empty) = entries.iter().position(|entry| entry.is_empty()) {
        return Err(format!(
            "PSN_NPSSO's entry {} of {count} is empty: list the NPSSOs separated by commas, \
             with nothing between two commas or after the last",
            empty + 1
        ));
    }
    for (later, entry) in entries.iter().enumerate() {
        if let Some(earlier) = entries[..later].iter().position(|e| e == entry) {
            return Err(format!(
                "PSN_NPSSO's entries {} and {} are the same NPSSO: list each credential once",
                earlier + 1,
                later + 1
            ));
        }
    }
    Ok(entries.into_iter().map(Secret::new).collect())
}

/// The certificates of a PEM file: at least one, each readable.
fn read_certificates(path: &str) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|err| format!("cannot be read: {err}"))?;
    let certificates = match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certificates) if !certificates.is_empty() => certificates,
        Ok(_) => return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".to_string()),
        Err(_) => return Err("holds a certificate that is not valid PEM".to_string()),
    };
    // The TLS library reads each one only when a client is built: build one now, so a bad
    // certificate stops the start instead of the first request.
    certificates
        .iter()
        .cloned()
        .fold(
            reqwest::Client::builder(),
            reqwest::ClientBuilder::add_root_certificate,
        )
        .build()
        .map_err(|_| {
            "holds a certificate that is not a usable certificate authority".to_string()
        })?;
    Ok(certificates)
}

/// `45s`, `30m`, `1h`, `2d`, or combinations such as `1h30m`.
/// `PSN_IMAGE_HOSTS`: comma-separated host names (or `host:port`), lower-cased; the first entry
/// that is not one is the error.
pub fn parse_image_hosts(list: &str) -> Result<Vec<String>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (host, port) = match entry.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (entry, None),
            };
            let host_ok = !host.is_empty()
                && host.len() <= 253
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label.len() <= 63
                        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                });
            let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
            if host_ok && port_ok {
                Ok(entry.to_ascii_lowercase())
            } else {
                Err(entry.to_string())
            }
        })
        .collect()
}

pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let amount: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds_per = match &rest[..unit_len] {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return None,
        };
        total = total.checked_add(amount.checked_mul(seconds_per)?)?;
        rest = &rest[unit_len..];
    }
    Some(Duration::from_secs(total))
}

/// `30%` or `30` as a share from 0.0 to 1.0.
pub fn parse_percentage(s: &str) -> Option<f64> {
    let number: f64 = s.trim().trim_end_matches('%').trim().parse().ok()?;
    (0.0..=100.0).contains(&number).then_some(number / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(mode: Mode, vars: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_vars(mode, |name| vars.get(name).cloned())
    }

    #[test]
    fn the_command_reserve_reaches_the_psn_budget() {
        let c = config(
            Mode::Console,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("TRACKER_COMMAND_RESERVE", "45%"),
            ],
        )
        .expect("valid");
        assert!((c.psn.command_reserve - 0.45).abs() < 1e-9);
    }

    #[test]
    fn defaults_apply_when_only_the_credential_is_set() {
        let c = config(Mode::Console, &[("PSN_NPSSO", "npsso-value")]).expect("valid");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.psn.api, ApiKind::Modern);
        assert_eq!(c.psn.api_url, "https://m.np.playstation.com");
        assert_eq!(c.psn.rate_limit.requests, 300);
        assert_eq!(c.tracker_max_staleness, Duration::from_secs(1800));
        assert!((c.psn.command_reserve - 0.3).abs() < 1e-9);
        assert_eq!(c.tracker_max_accounts_per_guild, 25);
        assert_eq!(c.outbox_retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(c.http_addr.to_string(), "0.0.0.0:8080");
        assert!(matches!(c.psn.credential, Credential::Npsso(_)));
    }

    #[test]
    fn outbox_retention_takes_days_within_its_bounds() {
        let with = |value: &str| {
            config(
                Mode::Bot,
                &[
                    ("DISCORD_TOKEN", "token"),
                    ("PSN_NPSSO", "npsso-value"),
                    ("OUTBOX_RETENTION", value),
                ],
            )
            .map(|c| c.outbox_retention)
        };
        assert_eq!(with("365d").unwrap(), Duration::from_secs(365 * 86_400));
        assert_eq!(with("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(with("1d").unwrap(), Duration::from_secs(86_400));
        for refused in ["23h", "0d", "366d", "forever"] {
            let err = with(refused).expect_err(refused);
            assert!(err.to_string().contains("OUTBOX_RETENTION"), "{err}");
        }
    }

    #[test]
    fn image_hosts_default_to_psns_and_are_checked() {
        let c = config(Mode::Console, &[("PSN_NPSSO", "npsso-value")]).expect("defaults");
        assert_eq!(
            c.image_hosts,
            [
                "image.api.playstation.com",
                "psnobj.prod.dl.playstation.net",
                "image.api.np.km.playstation.net"
            ]
        );
        let c = config(
            Mode::Console,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("PSN_IMAGE_HOSTS", " Image.example.com , 127.0.0.1:8080,"),
            ],
        )
        .expect("a list");
        assert_eq!(c.image_hosts, ["image.example.com", "127.0.0.1:8080"]);
        for bad in [
            "https://image.example.com",
            "a..b",
            "host:0",
            "host:99999",
            "a/b",
        ] {
            let err = config(
                Mode::Console,
                &[("PSN_NPSSO", "npsso-value"), ("PSN_IMAGE_HOSTS", bad)],
            )
            .unwrap_err();
            assert!(err.to_string().contains("PSN_IMAGE_HOSTS"), "{bad}: {err}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = config(
            Mode::Bot,
            &[
                ("PSN_API", "legacy"),
                ("PSN_API_URL", "not a url"),
                ("PSN_RATE_LIMIT", "300 per minute"),
                ("TRACKER_MAX_STALENESS", "soon"),
                ("TRACKER_COMMAND_RESERVE", "130%"),
                ("TRACKER_MAX_ACCOUNTS_PER_GUILD", "0"),
                ("COMMAND_SHARE_USER", "none"),
                ("OUTBOX_RETENTION", "1h"),
                ("HTTP_ADDR", "localhost"),
                ("PSN_LANGUAGE", "klingon"),
            ],
        )
        .expect_err("invalid");
        let text = err.to_string();
        for expected in [
            "DISCORD_TOKEN",
            "PSN_TOKEN is required",
            "cannot be renewed",
            "PSN_API_URL",
            "300/15m",
            "TRACKER_MAX_STALENESS",
            "TRACKER_COMMAND_RESERVE",
            "TRACKER_MAX_ACCOUNTS_PER_GUILD",
            "COMMAND_SHARE_USER",
            "OUTBOX_RETENTION=\"1h\" is not a duration from 1d to 365d",
            "HTTP_ADDR",
            "PSN_LANGUAGE=\"klingon\" is not a language PSN serves: one of en-US, en-GB, fr-FR",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert_eq!(err.0.len(), 12, "{text}");
    }

    #[test]
    fn the_default_language_is_one_psn_serves_in_its_listed_spelling() {
        let default = config(Mode::Console, &[("PSN_NPSSO", "npsso-value")]).expect("valid");
        assert_eq!(default.psn.language, "en-GB");
        let french = config(
            Mode::Console,
            &[("PSN_NPSSO", "npsso-value"), ("PSN_LANGUAGE", "FR-fr")],
        )
        .expect("valid");
        assert_eq!(french.psn.language, "fr-FR");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let c = config(
            Mode::Bot,
            &[
                ("PSN_NPSSO", "npsso-secret-value"),
                ("DISCORD_TOKEN", "discord-secret-value"),
            ],
        )
        .expect("valid");
        let debug = format!("{c:?}");
        assert!(!debug.contains("secret-value"), "{debug}");
        assert!(debug.contains("[redacted]"));
    }

    #[test]
    fn command_shares_default_from_the_command_budget_and_are_checked() {
        let with = |vars: &[(&str, &str)]| {
            let mut all = vec![("PSN_NPSSO", "npsso-value")];
            all.extend_from_slice(vars);
            config(Mode::Console, &all)
        };
        // 30 % of 300/15m is 90: a user gets a quarter (more than the dearest command, which a
        // user may always run), a server half, and never less than one user.
        let shares = with(&[]).expect("valid").command_shares;
        assert_eq!(
            (shares.user, shares.server, shares.window),
            (22, 45, Duration::from_secs(900))
        );
        let shares = with(&[
            ("PSN_RATE_LIMIT", "1000/1h"),
            ("TRACKER_COMMAND_RESERVE", "50%"),
        ])
        .expect("valid")
        .command_shares;
        assert_eq!((shares.user, shares.server), (125, 250));
        let shares = with(&[
            ("PSN_RATE_LIMIT", "60/1m"),
            ("COMMAND_SHARE_USER", "6"),
            ("COMMAND_SHARE_SERVER", "10"),
        ])
        .expect("valid")
        .command_shares;
        assert_eq!(
            (shares.user, shares.server, shares.window),
            (6, 10, Duration::from_secs(60))
        );
        for (name, bad) in [
            ("COMMAND_SHARE_USER", "0"),
            ("COMMAND_SHARE_USER", "lots"),
            ("COMMAND_SHARE_SERVER", "301"),
            ("COMMAND_SHARE_SERVER", "-5"),
        ] {
            let err = with(&[(name, bad)]).expect_err(bad);
            assert_eq!(err.0.len(), 1, "{err}");
            assert!(err.0[0].starts_with(name), "{err}");
        }
    }

    #[test]
    fn the_per_server_cap_is_read_and_checked() {
        let c = config(
            Mode::Console,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("TRACKER_MAX_ACCOUNTS_PER_GUILD", "3"),
            ],
        )
        .expect("valid");
        assert_eq!(c.tracker_max_accounts_per_guild, 3);
        for bad in ["-1", "lots", "10001"] {
            let err = config(
                Mode::Console,
                &[
                    ("PSN_NPSSO", "npsso-value"),
                    ("TRACKER_MAX_ACCOUNTS_PER_GUILD", bad),
                ],
            )
            .expect_err("invalid cap");
            assert!(
                err.to_string().contains("TRACKER_MAX_ACCOUNTS_PER_GUILD"),
                "{err}"
            );
        }
    }

    #[test]
    fn shard_settings_are_read_and_checked() {
        let c = config(Mode::Bot, &[("DISCORD_TOKEN", "t"), ("PSN_NPSSO", "n")]).expect("valid");
        assert_eq!(c.shard_count, None);
        assert!(c.preferred_shards.is_empty());
        assert_eq!(c.shard_lease, Duration::from_secs(30));
        let c = config(
            Mode::Bot,
            &[
                ("DISCORD_TOKEN", "t"),
                ("PSN_NPSSO", "n"),
                ("SHARD_COUNT", "8"),
                ("SHARDS", "0-2, 6,1"),
                ("SHARD_LEASE", "5s"),
            ],
        )
        .expect("valid");
        assert_eq!(c.shard_count, Some(8));
        assert_eq!(c.preferred_shards, vec![0, 1, 2, 6]);
        assert_eq!(c.shard_lease, Duration::from_secs(5));
        let err = config(
            Mode::Bot,
            &[
                ("DISCORD_TOKEN", "t"),
                ("PSN_NPSSO", "n"),
                ("SHARD_COUNT", "4"),
                ("SHARDS", "3-5"),
                ("SHARD_LEASE", "1s"),
            ],
        )
        .expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("SHARDS=\"3-5\""), "{text}");
        assert!(text.contains("SHARD_LEASE=\"1s\""), "{text}");
        for bad in ["0", "x"] {
            let err = config(
                Mode::Bot,
                &[
                    ("DISCORD_TOKEN", "t"),
                    ("PSN_NPSSO", "n"),
                    ("SHARD_COUNT", bad),
                ],
            )
            .expect_err("invalid");
            assert!(err.to_string().contains("SHARD_COUNT"), "{err}");
        }
    }

    #[test]
    fn the_instance_name_is_optional_and_checked() {
        let c = config(
            Mode::Console,
            &[("PSN_NPSSO", "npsso-value"), ("HOSTNAME", "box")],
        )
        .expect("valid");
        assert_eq!(c.instance, format!("box:{}", std::process::id()));
        let c = config(
            Mode::Console,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("TROPHYBOT_INSTANCE", "bot-a:1"),
            ],
        )
        .expect("valid");
        assert_eq!(c.instance, "bot-a:1");
        let err = config(
            Mode::Console,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("TROPHYBOT_INSTANCE", "bot a"),
            ],
        )
        .expect_err("a space is not allowed");
        assert!(err.to_string().contains("TROPHYBOT_INSTANCE"), "{err}");
    }

    #[test]
    fn the_application_change_override_accepts_1_or_true_only() {
        let unset = config(Mode::Console, &[("PSN_NPSSO", "npsso-value")]).expect("valid");
        assert!(!unset.allow_application_change);
        for yes in ["1", "true", "TRUE", " true "] {
            let c = config(
                Mode::Console,
                &[
                    ("PSN_NPSSO", "npsso-value"),
                    (ALLOW_APPLICATION_CHANGE_ENV, yes),
                ],
            )
            .expect("valid");
            assert!(c.allow_application_change, "{yes:?}");
        }
        for bad in ["0", "false", "yes", "2"] {
            let err = config(
                Mode::Console,
                &[
                    ("PSN_NPSSO", "npsso-value"),
                    (ALLOW_APPLICATION_CHANGE_ENV, bad),
                ],
            )
            .expect_err("refused");
            assert_eq!(err.0.len(), 1, "{err}");
            assert!(
                err.to_string()
                    .contains(&format!("TROPHYBOT_ALLOW_APPLICATION_CHANGE={bad:?}")),
                "{err}"
            );
        }
    }

    #[test]
    fn discord_address_and_extra_authority_are_read_and_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let good = dir.path().join("ca.pem");
        std::fs::write(
            &good,
            discord_fake::throwaway_authority_pem().expect("an authority"),
        )
        .expect("written");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n",
        )
        .expect("written");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate").expect("written");
        let good = good.to_string_lossy().to_string();
        let c = config(
            Mode::Bot,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("DISCORD_TOKEN", "t"),
                ("DISCORD_API_ADDR", "127.0.0.1:8443"),
                ("DISCORD_EXTRA_CA", &good),
            ],
        )
        .expect("valid");
        assert_eq!(
            c.discord_api_addr,
            Some("127.0.0.1:8443".parse().expect("addr"))
        );
        assert_eq!(c.discord_extra_ca.len(), 1);

        let err = config(
            Mode::Bot,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("DISCORD_TOKEN", "t"),
                ("DISCORD_API_ADDR", "discord.local"),
                ("DISCORD_EXTRA_CA", &empty.to_string_lossy()),
            ],
        )
        .expect_err("invalid");
        let text = err.to_string();
        assert!(
            text.contains("DISCORD_API_ADDR=\"discord.local\" is not an address"),
            "{text}"
        );
        assert!(text.contains("holds no PEM certificate"), "{text}");
        let missing = config(
            Mode::Bot,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("DISCORD_TOKEN", "t"),
                ("DISCORD_EXTRA_CA", "/nonexistent/ca.pem"),
            ],
        )
        .expect_err("unreadable");
        assert!(missing.to_string().contains("cannot be read"), "{missing}");
        let unusable = config(
            Mode::Bot,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("DISCORD_TOKEN", "t"),
                ("DISCORD_EXTRA_CA", &garbage.to_string_lossy()),
            ],
        )
        .expect_err("not a certificate");
        assert!(
            unusable
                .to_string()
                .contains("not a usable certificate authority"),
            "{unusable}"
        );
        let both = config(
            Mode::Bot,
            &[
                ("PSN_NPSSO", "npsso-value"),
                ("DISCORD_TOKEN", "t"),
                ("DISCORD_API_URL", "http://127.0.0.1:1"),
                ("DISCORD_API_ADDR", "127.0.0.1:8443"),
            ],
        )
        .expect_err("one way to reach Discord");
        assert!(both.to_string().contains("cannot be combined"), "{both}");
        assert_eq!(c.discord_call_timeout, DEFAULT_DISCORD_CALL_TIMEOUT);
        for (text, expected) in [("2s", Some(2)), ("0s", None), ("11m", None), ("soon", None)] {
            let read = config(
                Mode::Bot,
                &[
                    ("PSN_NPSSO", "npsso-value"),
                    ("DISCORD_TOKEN", "t"),
                    ("DISCORD_CALL_TIMEOUT", text),
                ],
            );
            match expected {
                Some(secs) => assert_eq!(
                    read.expect("valid").discord_call_timeout,
                    Duration::from_secs(secs)
                ),
                None => assert!(
                    read.expect_err("invalid")
                        .to_string()
                        .contains("DISCORD_CALL_TIMEOUT"),
                    "{text}"
                ),
            }
        }
    }

    #[test]
    fn durations_and_percentages_parse() {
        assert_eq!(parse_duration("45s"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("30"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_percentage("30%"), Some(0.3));
        assert_eq!(parse_percentage("101"), None);
    }

    #[test]
    fn psn_npsso_takes_a_pool_of_credentials_and_one_value_as_before() {
        let one = config(
            Mode::Bot,
            &[("PSN_NPSSO", "npsso-one"), ("DISCORD_TOKEN", "t")],
        )
        .expect("valid");
        assert_eq!(one.psn_pool, vec![Secret::new("npsso-one")]);
        let pool = config(
            Mode::Bot,
            &[
                ("PSN_NPSSO", "npsso-one, npsso-two ,npsso-three"),
                ("DISCORD_TOKEN", "t"),
            ],
        )
        .expect("valid");
        let expected: Vec<Secret> = ["npsso-one", "npsso-two", "npsso-three"]
            .into_iter()
            .map(Secret::new)
            .collect();
        assert_eq!(pool.psn_pool, expected);
        assert!(matches!(&pool.psn.credential, Credential::Npsso(first) if *first == expected[0]));
        // The shares are over the whole pool's command budget: 3 × 90, a user a quarter.
        assert_eq!(pool.command_shares.user, 67);
        assert_eq!(pool.command_shares.server, 135);
    }

    #[test]
    fn a_pool_with_an_empty_entry_or_a_repeated_npsso_is_refused_without_echoing_it() {
        for (list, expected) in [
            ("npsso-secret-a,,npsso-secret-b", "entry 2 of 3 is empty"),
            ("npsso-secret-a,npsso-secret-b,", "entry 3 of 3 is empty"),
            (
                "npsso-secret-a,npsso-secret-b, npsso-secret-a",
                "entries 1 and 3 are the same NPSSO",
            ),
        ] {
            let problems = config(Mode::Bot, &[("PSN_NPSSO", list), ("DISCORD_TOKEN", "t")])
                .expect_err("refused")
                .to_string();
            assert!(problems.contains(expected), "{problems}");
            assert!(!problems.contains("npsso-secret"), "{problems}");
            // Only the pool's own problem: not also "PSN_NPSSO is required".
            assert_eq!(problems.matches("PSN_NPSSO").count(), 1, "{problems}");
        }
    }
}
