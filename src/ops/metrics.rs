//! The bot's own counters and gauges, and the Prometheus text exposition of them together with
//! the PSN client's statistics. Hand-written: a few atomics do not need a metrics crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use psn::ClientStats;

use crate::errors::ShareKind;

const SHARE_KINDS: [ShareKind; 2] = [ShareKind::User, ShareKind::Server];

/// Upper bounds (seconds) of the announcement latency histogram: from "at once" to the default
/// 30-minute staleness and beyond.
pub const ANNOUNCEMENT_LATENCY_BUCKETS: [f64; 10] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// How a command ended, as the `outcome` label of `trophybot_commands_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandOutcome {
    /// The reply was what the user asked for.
    Ok,
    /// The reply explains a problem on the user's or PSN's side (private, not found, rate limit...).
    UserError,
    /// The bot could not answer (Discord failed, a panic).
    Failed,
}

impl CommandOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CommandOutcome::Ok => "ok",
            CommandOutcome::UserError => "user_error",
            CommandOutcome::Failed => "failed",
        }
    }
}

/// Cheap to clone; clones share the same values.
#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    commands: Mutex<BTreeMap<(String, CommandOutcome), u64>>,
    latency_buckets: [AtomicU64; ANNOUNCEMENT_LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    outbox_depth: AtomicU64,
    refresh_token_known: AtomicBool,
    refresh_token_expires_in_secs: AtomicI64,
    /// Discord answers that count towards its invalid-request ban (401, 403, 429), by status.
    discord_invalid: Mutex<BTreeMap<u16, u64>>,
    discord_rate_limit_waits: AtomicU64,
    /// The tracker's history backfill requests (part of the tracker lane).
    backfill: psn::Meter,
    /// Commands, keystrokes and page presses refused past a share, by [`ShareKind`].
    share_refusals: [AtomicU64; 2],
    /// The command shares' use of the window (see [`Metrics::set_command_shares`]).
    command_shares_used: AtomicU64,
    users_near_limit: AtomicU64,
    servers_near_limit: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Counts one finished slash command.
    pub fn record_command(&self, command: &str, outcome: CommandOutcome) {
        let mut commands = self
            .inner
            .commands
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *commands.entry((command.to_string(), outcome)).or_default() += 1;
    }

    /// Time from a trophy being earned (or first seen) to its announcement being posted.
    pub fn observe_announcement_latency(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        // Buckets are cumulative in the exposition; here each observation lands in its first one.
        if let Some(bucket) = ANNOUNCEMENT_LATENCY_BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
        {
            self.inner.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.inner.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.inner
            .latency_sum_micros
            .fetch_add(micros, Ordering::Relaxed);
    }

    /// The command shares as they stand: requests commands spent within the window, and how
    /// many users and servers used most of their share.
    pub fn set_command_shares(&self, overview: crate::commands::shares::Overview) {
        let inner = &self.inner;
        for (gauge, value) in [
            (&inner.command_shares_used, overview.commands_used),
            (&inner.users_near_limit, overview.users_near_limit),
            (&inner.servers_near_limit, overview.servers_near_limit),
        ] {
            gauge.store(u64::from(value), Ordering::Relaxed);
        }
    }

    /// Announcements waiting in the outbox to be posted.
    pub fn set_outbox_depth(&self, depth: u64) {
        self.inner.outbox_depth.store(depth, Ordering::Relaxed);
    }

    /// Seconds until the PSN refresh token expires (negative once expired); `None` while the
    /// client has not signed in yet, which leaves the gauge out of the exposition.
    pub fn set_refresh_token_expires_in(&self, seconds: Option<i64>) {
        if let Some(seconds) = seconds {
            self.inner
                .refresh_token_expires_in_secs
                .store(seconds, Ordering::Relaxed);
        }
        self.inner
            .refresh_token_known
            .store(seconds.is_some(), Ordering::Relaxed);
    }

    /// A 401, 403 or 429 answer from Discord: Discord bans a bot after 10,000 of them in 10
    /// minutes.
    pub fn record_discord_invalid_request(&self, status: u16) {
        let mut counts = self
            .inner
            .discord_invalid
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *counts.entry(status).or_default() += 1;
    }

    /// How many `status` answers [`Metrics::record_discord_invalid_request`] counted.
    pub fn discord_invalid_requests(&self, status: u16) -> u64 {
        let counts = self
            .inner
            .discord_invalid
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counts.get(&status).copied().unwrap_or(0)
    }

    /// serenity's limiter waited for a route or the global limit.
    pub fn record_discord_rate_limit_wait(&self) {
        self.inner
            .discord_rate_limit_waits
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A command (or autocomplete, or page button) refused because it did not fit `kind`'s
    /// share of the PSN budget.
    pub fn record_share_refusal(&self, kind: ShareKind) {
        self.inner.share_refusals[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The meter the tracker's history backfill counts its PSN requests with.
    pub fn backfill_meter(&self) -> psn::Meter {
        self.inner.backfill.clone()
    }

    pub fn discord_rate_limit_waits(&self) -> u64 {
        self.inner.discord_rate_limit_waits.load(Ordering::Relaxed)
    }

    /// [`Metrics::render`] over the pool's clients together, then each credential's own
    /// series, labelled by its position (`credential="psn-1"`), never the secret.
    pub fn render_pool(&self, pool: &crate::pool::Pool) -> String {
        let standings = pool.standings(std::iter::empty());
        let mut out = self.render(&pool.total_stats());
        for (name, kind, help) in [
            (
                "trophybot_psn_credential_requests_total",
                "counter",
                "API requests each PSN credential of the pool sent (tracker and commands).",
            ),
            (
                "trophybot_psn_credential_budget_remaining",
                "gauge",
                "Requests each credential's own budget would let out at once now.",
            ),
            (
                "trophybot_psn_credential_healthy",
                "gauge",
                "1 while PSN accepts the credential, 0 while it rejects it (it then polls no one).",
            ),
        ] {
            header(&mut out, name, kind, help);
            for standing in &standings {
                let value = match name {
                    "trophybot_psn_credential_requests_total" => standing.requests,
                    "trophybot_psn_credential_budget_remaining" => {
                        u64::from(standing.budget_remaining)
                    }
                    _ => u64::from(!standing.rejected),
                };
                let _ = writeln!(out, "{name}{{credential=\"{}\"}} {value}", standing.label);
            }
        }
        out
    }

    /// The Prometheus text exposition (format 0.0.4) of these metrics and the client's `psn`.
    pub fn render(&self, psn: &ClientStats) -> String {
        let mut out = String::with_capacity(2048);
        let inner = &*self.inner;
        header(
            &mut out,
            "trophybot_psn_requests_total",
            "counter",
            "HTTP requests sent to PSN, retries included, by lane of the budget (tracker, \
             command) and sign-in; their sum is the old unlabeled total.",
        );
        for (lane, count) in [
            ("tracker", psn.tracker_requests),
            ("command", psn.command_requests),
            ("sign_in", psn.sign_in_requests),
        ] {
            let _ = writeln!(
                out,
                "trophybot_psn_requests_total{{lane=\"{lane}\"}} {count}"
            );
        }
        metric(
            &mut out,
            "trophybot_tracker_backfill_requests_total",
            "counter",
            "PSN requests of the tracker's history backfill (earned states of titles stored \
             without one), counted in the tracker lane too.",
            inner.backfill.count(),
        );
        metric(
            &mut out,
            "trophybot_psn_rate_limited_total",
            "counter",
            "Rate-limit (429) answers from PSN.",
            psn.rate_limited,
        );
        metric(
            &mut out,
            "trophybot_psn_budget_remaining",
            "gauge",
            "Requests the shared PSN budget would let out at once now.",
            psn.budget_remaining,
        );
        metric(
            &mut out,
            "trophybot_psn_cache_hits_total",
            "counter",
            "PSN answers served from the client's caches.",
            psn.cache_hits,
        );
        metric(
            &mut out,
            "trophybot_psn_cache_misses_total",
            "counter",
            "PSN lookups the client's caches could not answer.",
            psn.cache_misses,
        );

        header(
            &mut out,
            "trophybot_commands_total",
            "counter",
            "Slash commands answered, by command and outcome.",
        );
        {
            let commands = inner
                .commands
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for ((command, outcome), count) in commands.iter() {
                let _ = writeln!(
                    out,
                    "trophybot_commands_total{{command=\"{}\",outcome=\"{}\"}} {count}",
                    escape_label(command),
                    outcome.as_str()
                );
            }
        }

        header(
            &mut out,
            "trophybot_command_refusals_total",
            "counter",
            "Commands, autocompletes and page buttons refused (nothing spent), by the share they did not fit.",
        );
        for kind in SHARE_KINDS {
            let _ = writeln!(
                out,
                "trophybot_command_refusals_total{{reason=\"{}\"}} {}",
                kind.as_str(),
                inner.share_refusals[kind as usize].load(Ordering::Relaxed)
            );
        }

        metric(
            &mut out,
            "trophybot_command_share_requests",
            "gauge",
            "PSN requests charged to commands (all users) within the budget's window.",
            inner.command_shares_used.load(Ordering::Relaxed),
        );
        metric(
            &mut out,
            "trophybot_command_share_users_near_limit",
            "gauge",
            "Users who used 80 % or more of their share of the command budget within the window.",
            inner.users_near_limit.load(Ordering::Relaxed),
        );
        metric(
            &mut out,
            "trophybot_command_share_servers_near_limit",
            "gauge",
            "Servers that used 80 % or more of their share of the command budget within the window.",
            inner.servers_near_limit.load(Ordering::Relaxed),
        );

        header(
            &mut out,
            "trophybot_announcement_latency_seconds",
            "histogram",
            "Time from a trophy being earned to its announcement being posted.",
        );
        let mut cumulative = 0;
        for (bound, bucket) in ANNOUNCEMENT_LATENCY_BUCKETS
            .iter()
            .zip(&inner.latency_buckets)
        {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "trophybot_announcement_latency_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = inner.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "trophybot_announcement_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = inner.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "trophybot_announcement_latency_seconds_sum {sum}");
        let _ = writeln!(out, "trophybot_announcement_latency_seconds_count {count}");

        metric(
            &mut out,
            "trophybot_outbox_depth",
            "gauge",
            "Announcements waiting to be posted.",
            inner.outbox_depth.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "trophybot_discord_invalid_requests_total",
            "counter",
            "Discord answers 401, 403 and 429, by status (Discord bans a bot at 10,000 in 10 minutes).",
        );
        {
            let counts = inner
                .discord_invalid
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for status in [401, 403, 429] {
                let count = counts.get(&status).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "trophybot_discord_invalid_requests_total{{status=\"{status}\"}} {count}"
                );
            }
        }
        metric(
            &mut out,
            "trophybot_discord_rate_limit_waits_total",
            "counter",
            "Waits of serenity's rate limiter for a Discord route or the global limit (after a 429 or before an empty bucket).",
            inner.discord_rate_limit_waits.load(Ordering::Relaxed),
        );
        header(
            &mut out,
            "trophybot_psn_refresh_token_expires_in_seconds",
            "gauge",
            "Seconds until the PSN refresh token expires; sign in again (PSN_NPSSO) before 0.",
        );
        if inner.refresh_token_known.load(Ordering::Relaxed) {
            let _ = writeln!(
                out,
                "trophybot_psn_refresh_token_expires_in_seconds {}",
                inner.refresh_token_expires_in_secs.load(Ordering::Relaxed)
            );
        }
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Label values escape backslash, double quote and newline (the exposition format's rule).
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample line named exactly `series` (name plus labels).
    fn sample(text: &str, series: &str) -> Option<String> {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .find_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                (name == series).then(|| value.to_string())
            })
    }

    fn stats() -> ClientStats {
        ClientStats {
            requests_sent: 12,
            tracker_requests: 7,
            tracker_borrowed: 2,
            command_requests: 4,
            sign_in_requests: 1,
            rate_limited: 1,
            budget_remaining: 288,
            cache_hits: 7,
            cache_misses: 5,
        }
    }

    #[test]
    fn client_stats_are_exported() {
        let text = Metrics::new().render(&stats());
        for (series, value) in [
            ("trophybot_psn_requests_total{lane=\"tracker\"}", "7"),
            ("trophybot_psn_requests_total{lane=\"command\"}", "4"),
            ("trophybot_psn_requests_total{lane=\"sign_in\"}", "1"),
        ] {
            assert_eq!(sample(&text, series).as_deref(), Some(value), "{series}");
        }
        assert_eq!(sample(&text, "trophybot_psn_requests_total"), None);
        assert_eq!(
            sample(&text, "trophybot_psn_rate_limited_total").as_deref(),
            Some("1")
        );
        assert_eq!(
            sample(&text, "trophybot_psn_budget_remaining").as_deref(),
            Some("288")
        );
        assert_eq!(
            sample(&text, "trophybot_psn_cache_hits_total").as_deref(),
            Some("7")
        );
        assert_eq!(
            sample(&text, "trophybot_psn_cache_misses_total").as_deref(),
            Some("5")
        );
    }

    #[test]
    fn commands_are_counted_by_command_and_outcome() {
        let metrics = Metrics::new();
        metrics.record_command("trophies", CommandOutcome::Ok);
        metrics.record_command("trophies", CommandOutcome::Ok);
        metrics.record_command("trophies", CommandOutcome::UserError);
        metrics.record_command("rarest", CommandOutcome::Failed);
        let text = metrics.render(&stats());
        assert_eq!(
            sample(
                &text,
                "trophybot_commands_total{command=\"trophies\",outcome=\"ok\"}"
            )
            .as_deref(),
            Some("2")
        );
        assert_eq!(
            sample(
                &text,
                "trophybot_commands_total{command=\"trophies\",outcome=\"user_error\"}"
            )
            .as_deref(),
            Some("1")
        );
        assert_eq!(
            sample(
                &text,
                "trophybot_commands_total{command=\"rarest\",outcome=\"failed\"}"
            )
            .as_deref(),
            Some("1")
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.record_command("a\"b\\c\nd", CommandOutcome::Ok);
        let text = metrics.render(&stats());
        assert!(
            text.contains(r#"command="a\"b\\c\nd""#),
            "escaped label in {text}"
        );
        assert!(
            text.lines()
                .all(|l| !l.starts_with("d\"") && !l.starts_with("d,")),
            "no raw newline splits a sample: {text}"
        );
    }

    #[test]
    fn latency_histogram_is_cumulative() {
        let metrics = Metrics::new();
        metrics.observe_announcement_latency(Duration::from_millis(500));
        metrics.observe_announcement_latency(Duration::from_secs(20));
        metrics.observe_announcement_latency(Duration::from_secs(7200));
        let text = metrics.render(&stats());
        let bucket = |le: &str| {
            sample(
                &text,
                &format!("trophybot_announcement_latency_seconds_bucket{{le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("1").as_deref(), Some("1"));
        assert_eq!(bucket("15").as_deref(), Some("1"));
        assert_eq!(bucket("30").as_deref(), Some("2"));
        assert_eq!(bucket("3600").as_deref(), Some("2"));
        assert_eq!(bucket("+Inf").as_deref(), Some("3"));
        assert_eq!(
            sample(&text, "trophybot_announcement_latency_seconds_count").as_deref(),
            Some("3")
        );
        assert_eq!(
            sample(&text, "trophybot_announcement_latency_seconds_sum").as_deref(),
            Some("7220.5")
        );
    }

    #[test]
    fn gauges_show_their_last_value_and_an_unknown_expiry_is_left_out() {
        let metrics = Metrics::new();
        metrics.set_outbox_depth(4);
        metrics.set_outbox_depth(3);
        let text = metrics.render(&stats());
        assert_eq!(
            sample(&text, "trophybot_outbox_depth").as_deref(),
            Some("3")
        );
        assert_eq!(
            sample(&text, "trophybot_psn_refresh_token_expires_in_seconds"),
            None
        );

        metrics.set_refresh_token_expires_in(Some(-60));
        let text = metrics.render(&stats());
        assert_eq!(
            sample(&text, "trophybot_psn_refresh_token_expires_in_seconds").as_deref(),
            Some("-60")
        );
    }

    #[test]
    fn discord_invalid_answers_are_counted_by_status() {
        let metrics = Metrics::new();
        let text = metrics.render(&stats());
        assert_eq!(
            sample(
                &text,
                "trophybot_discord_invalid_requests_total{status=\"429\"}"
            )
            .as_deref(),
            Some("0")
        );
        metrics.record_discord_invalid_request(429);
        metrics.record_discord_invalid_request(429);
        metrics.record_discord_invalid_request(403);
        metrics.record_discord_rate_limit_wait();
        let text = metrics.render(&stats());
        for (series, value) in [
            (
                "trophybot_discord_invalid_requests_total{status=\"401\"}",
                "0",
            ),
            (
                "trophybot_discord_invalid_requests_total{status=\"403\"}",
                "1",
            ),
            (
                "trophybot_discord_invalid_requests_total{status=\"429\"}",
                "2",
            ),
            ("trophybot_discord_rate_limit_waits_total", "1"),
        ] {
            assert_eq!(sample(&text, series).as_deref(), Some(value), "{series}");
        }
    }

    #[test]
    fn share_refusals_are_counted_by_reason() {
        let metrics = Metrics::new();
        let text = metrics.render(&stats());
        for reason in ["user_share", "server_share"] {
            let series = format!("trophybot_command_refusals_total{{reason=\"{reason}\"}}");
            assert_eq!(sample(&text, &series).as_deref(), Some("0"), "{series}");
        }
        metrics.record_share_refusal(ShareKind::User);
        metrics.record_share_refusal(ShareKind::User);
        metrics.record_share_refusal(ShareKind::Server);
        let text = metrics.render(&stats());
        for (reason, count) in [("user_share", "2"), ("server_share", "1")] {
            let series = format!("trophybot_command_refusals_total{{reason=\"{reason}\"}}");
            assert_eq!(sample(&text, &series).as_deref(), Some(count), "{series}");
        }
    }

    #[test]
    fn the_command_shares_use_is_a_gauge() {
        let metrics = Metrics::new();
        metrics.set_command_shares(crate::commands::shares::Overview {
            commands_used: 37,
            users_near_limit: 2,
            servers_near_limit: 1,
        });
        let text = metrics.render(&stats());
        for (series, value) in [
            ("trophybot_command_share_requests", "37"),
            ("trophybot_command_share_users_near_limit", "2"),
            ("trophybot_command_share_servers_near_limit", "1"),
        ] {
            assert_eq!(sample(&text, series).as_deref(), Some(value), "{series}");
        }
    }

    #[test]
    fn every_metric_has_help_and_type() {
        let text = Metrics::new().render(&stats());
        for name in [
            "trophybot_psn_requests_total",
            "trophybot_psn_rate_limited_total",
            "trophybot_tracker_backfill_requests_total",
            "trophybot_psn_budget_remaining",
            "trophybot_psn_cache_hits_total",
            "trophybot_psn_cache_misses_total",
            "trophybot_commands_total",
            "trophybot_command_refusals_total",
            "trophybot_command_share_requests",
            "trophybot_command_share_users_near_limit",
            "trophybot_command_share_servers_near_limit",
            "trophybot_announcement_latency_seconds",
            "trophybot_outbox_depth",
            "trophybot_psn_refresh_token_expires_in_seconds",
            "trophybot_discord_invalid_requests_total",
            "trophybot_discord_rate_limit_waits_total",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name} help");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} type");
        }
    }
}
