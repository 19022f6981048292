//! Tracker scheduling benchmark: a discrete-event simulation in virtual time comparing the
//! adaptive scheduler with round-robin (the baseline, in `round_robin.rs` next to this file).
//! Run with `cargo bench --bench tracker`; prints a table and writes `docs/tracker-latency.svg`.
//! Fixed seed, so results are reproducible. `-- --pool` prints the pool rows instead: k = 1, 3
//! and 10 credentials with N = 1000 · k players, one lane per credential.

use std::fmt::Write as _;
use std::time::Duration;

use trophybot::tracker::poll::LISTING_PAGE;
use trophybot::tracker::schedule::{
    AccountKey, AdaptiveScheduler, Decision, PollOutcome, PollScheduler, ReportedPresence,
    RequestBudget, ScheduleConfig, PRESENCE_BATCH,
};

use trophybot::credential::npsso_fingerprint;
use trophybot::pool::rendezvous;

mod round_robin;
use round_robin::RoundRobinScheduler;

const DAY: f64 = 86_400.0;
const WARMUP_DAYS: f64 = 1.0;
const MEASURED_DAYS: f64 = 3.0;
/// After the measured window, polling goes on so late trophies can still be found.
const DRAIN: f64 = 24.0 * 3600.0;
/// Titles per listing page, most recently updated first, as the tracker asks. A changed title
/// (new last-update time or counts) is always above the unchanged ones, so one page shows
/// every change unless the whole page changed; then the tracker reads the next page too.
const TITLE_PAGE: usize = LISTING_PAGE as usize;

/// splitmix64: small, fast and good enough for a reproducible workload.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }
}

struct Trophy {
    earned_at: f64,
    session: usize,
}

struct Account {
    sessions: Vec<(f64, f64)>,
    trophies: Vec<Trophy>,
    visible: bool,
}

impl Account {
    fn playing(&self, t: f64) -> bool {
        self.sessions.iter().any(|&(s, e)| s <= t && t < e)
    }

    /// PSN's `lastOnlineDate` at `t` for an offline player: when their latest session ended
    /// (`None` before the first one).
    fn last_online(&self, t: f64) -> Option<f64> {
        self.sessions
            .iter()
            .map(|&(_, end)| end)
            .filter(|&end| end <= t)
            .max_by(f64::total_cmp)
    }
}

fn workload(n: usize, visible_share: f64, seed: u64) -> Vec<Account> {
    let mut rng = SplitMix64(seed);
    let days = (WARMUP_DAYS + MEASURED_DAYS + DRAIN / DAY).ceil() as usize;
    (0..n)
        .map(|i| {
            let mut sessions = Vec::new();
            let mut trophies = Vec::new();
            for day in 0..days {
                if rng.unit() < 0.35 {
                    let start = day as f64 * DAY + rng.unit() * DAY;
                    let end = start + rng.exp(2.0 * 3600.0);
                    let mut t = start + rng.exp(20.0 * 60.0);
                    while t < end {
                        trophies.push(Trophy {
                            earned_at: t,
                            session: sessions.len(),
                        });
                        t += rng.exp(20.0 * 60.0);
                    }
                    sessions.push((start, end));
                }
            }
            trophies.sort_by(|a, b| a.earned_at.total_cmp(&b.earned_at));
            Account {
                sessions,
                trophies,
                // Deterministic split: the first share of accounts is visible.
                visible: (i as f64) < visible_share * n as f64,
            }
        })
        .collect()
}

struct Outcome {
    latencies_min: Vec<f64>,
    /// The longest any account went without a poll inside the measured window, minutes.
    max_unchecked_min: f64,
    /// What the scheduler promised for that (`effective_staleness`) at the window's end.
    effective_staleness_min: f64,
    missed: usize,
    duplicates: usize,
    requests_in_window: u64,
    announced_in_window: u64,
}

/// `with_last_online`: presence answers carry `lastOnlineDate` for offline players (as PSN's
/// do); without it, the scheduler sees only online/playing/offline (the benchmark before it).
fn simulate(
    sched: &mut dyn PollScheduler,
    accounts: &[Account],
    with_last_online: bool,
) -> Outcome {
    let keys: Vec<AccountKey> = accounts.iter().map(|_| sched.add_account()).collect();
    let window = (WARMUP_DAYS * DAY, (WARMUP_DAYS + MEASURED_DAYS) * DAY);
    let end = window.1 + DRAIN;
    let mut seen = vec![0usize; accounts.len()];
    let mut announcements = accounts
        .iter()
        .map(|a| vec![0u8; a.trophies.len()])
        .collect::<Vec<_>>();
    let mut latencies_min = Vec::new();
    let mut last_poll = vec![None::<f64>; accounts.len()];
    let mut max_unchecked: f64 = 0.0;
    let mut effective_staleness = None;
    let (mut requests_in_window, mut announced_in_window) = (0u64, 0u64);
    let in_window = |t: f64| t >= window.0 && t < window.1;
    let mut now = 0.0;
    while now < end {
        if effective_staleness.is_none() && now >= window.1 {
            effective_staleness = Some(sched.effective_staleness(accounts.len()));
        }
        match sched.next_decision(now) {
            Decision::WaitUntil(t) => {
                assert!(t > now, "scheduler must move time forward");
                now = t;
            }
            Decision::Poll(key) => {
                if let Some(previous) = last_poll[key.0].replace(now) {
                    if in_window(now) {
                        max_unchecked = max_unchecked.max(now - previous);
                    }
                }
                let account = &accounts[key.0];
                let first_new = seen[key.0];
                let visible_now = account.trophies[first_new..]
                    .iter()
                    .take_while(|t| t.earned_at <= now)
                    .count();
                let new = &account.trophies[first_new..first_new + visible_now];
                // Each session plays its own title: the titles with new trophies are the
                // changed listing entries (sessions may overlap, so sort before dedup).
                let mut sessions: Vec<usize> = new.iter().map(|t| t.session).collect();
                sessions.sort_unstable();
                sessions.dedup();
                // The first listing page is the poll itself; a fully changed page means the
                // next one must be read as well.
                let extra_pages = sessions.len() / TITLE_PAGE;
                let follow_ups = sessions.len() + extra_pages;
                for (offset, trophy) in new.iter().enumerate() {
                    announcements[key.0][first_new + offset] += 1;
                    if in_window(trophy.earned_at) {
                        latencies_min.push((now - trophy.earned_at) / 60.0);
                    }
                }
                seen[key.0] += visible_now;
                if in_window(now) {
                    requests_in_window += 1 + follow_ups as u64;
                    announced_in_window += visible_now as u64;
                }
                sched.record_poll(
                    key,
                    now,
                    PollOutcome {
                        new_trophies: visible_now as u32,
                        changed_titles: follow_ups as u32,
                    },
                );
            }
            Decision::PresenceBatch(batch) => {
                assert!(
                    batch.len() <= PRESENCE_BATCH,
                    "presence batch over the limit"
                );
                if in_window(now) {
                    requests_in_window += 1;
                }
                let answer: Vec<(AccountKey, ReportedPresence)> = batch
                    .iter()
                    .filter(|k| accounts[k.0].visible)
                    .map(|&k| {
                        let account = &accounts[k.0];
                        let presence = if account.playing(now) {
                            ReportedPresence::OnlinePlaying
                        } else {
                            ReportedPresence::Offline {
                                last_online: account.last_online(now).filter(|_| with_last_online),
                            }
                        };
                        (k, presence)
                    })
                    .collect();
                sched.record_presence(now, &batch, &answer);
            }
        }
    }
    let _ = keys;
    // An account never polled again after its last poll in the window counts up to the end.
    for previous in last_poll.iter().flatten() {
        if *previous < window.1 {
            max_unchecked = max_unchecked.max(window.1 - previous);
        }
    }
    let missed = accounts
        .iter()
        .zip(&announcements)
        .flat_map(|(a, ann)| a.trophies.iter().zip(ann))
        .filter(|(t, &count)| in_window(t.earned_at) && count == 0)
        .count();
    let duplicates = announcements.iter().flatten().filter(|&&c| c > 1).count();
    assert_eq!(
        duplicates, 0,
        "detection by state diff cannot announce twice"
    );
    latencies_min.sort_by(f64::total_cmp);
    Outcome {
        latencies_min,
        max_unchecked_min: max_unchecked / 60.0,
        effective_staleness_min: effective_staleness.unwrap_or_default().as_secs_f64() / 60.0,
        missed,
        duplicates,
        requests_in_window,
        announced_in_window,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

struct Row {
    seed: u64,
    n: usize,
    visibility: &'static str,
    scheduler: &'static str,
    outcome: Outcome,
}

fn svg_plot(rows: &[Row]) -> String {
    // Latency CDFs for N = 1000, one line per scheduler and visibility.
    let (w, h, left, bottom, top, right) = (800.0, 420.0, 60.0, 50.0, 30.0, 270.0);
    let max_min = 120.0;
    let x = |m: f64| left + (m.min(max_min) / max_min) * (w - left - right);
    let y = |f: f64| h - bottom - f * (h - bottom - top);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(
        s,
        r#"<text x="{}" y="18" font-size="14">Trophy detection latency, N = 1000 (CDF, first seed)</text>"#,
        left
    );
    for tick in (0..=120).step_by(20) {
        let tx = x(tick as f64);
        let _ = write!(
            s,
            r##"<line x1="{tx}" y1="{}" x2="{tx}" y2="{}" stroke="#ddd"/><text x="{tx}" y="{}" text-anchor="middle">{tick}</text>"##,
            y(0.0),
            y(1.0),
            y(0.0) + 16.0
        );
    }
    for tick in 0..=4 {
        let f = tick as f64 / 4.0;
        let ty = y(f);
        let _ = write!(
            s,
            r##"<line x1="{}" y1="{ty}" x2="{}" y2="{ty}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{:.0}%</text>"##,
            x(0.0),
            x(max_min),
            x(0.0) - 4.0,
            ty + 4.0,
            f * 100.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">minutes from earning to detection</text>"#,
        (x(0.0) + x(max_min)) / 2.0,
        h - 10.0
    );
    let colors = [
        "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#ff7f0e",
    ];
    for (i, row) in rows.iter().filter(|r| r.n == 1000).enumerate() {
        let lat = &row.outcome.latencies_min;
        let color = colors[i % colors.len()];
        let dash = if row.scheduler == "round-robin" {
            r#" stroke-dasharray="5,3""#
        } else {
            ""
        };
        let mut points = String::new();
        for step in 0..=240 {
            let m = step as f64 * max_min / 240.0;
            let f = lat.partition_point(|&v| v <= m) as f64 / lat.len().max(1) as f64;
            let _ = write!(points, "{:.1},{:.1} ", x(m), y(f));
        }
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="{points}"/>"#
        );
        let ly = top + 16.0 * i as f64 + 10.0;
        let _ = write!(
            s,
            r#"<line x1="{}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{}">{}, {}</text>"#,
            w - right + 10.0,
            w - right + 30.0,
            w - right + 34.0,
            ly + 4.0,
            row.scheduler,
            row.visibility
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The seeds every run covers (`-- --seed N`, repeatable, picks others): one seed's luck is
/// not a result.
const SEEDS: [u64; 3] = [42, 7, 12345];

/// The tracked-account counts every run covers (`-- --n N`, repeatable, picks others).
const SIZES: [usize; 3] = [100, 1000, 3000];

/// The values of every `--{name} V` argument, or `default` when there is none.
fn args_or<T: std::str::FromStr + Copy>(name: &str, default: &[T]) -> Vec<T> {
    let flag = format!("--{name}");
    let mut values = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == flag {
            match args.next().and_then(|value| value.parse().ok()) {
                Some(value) => values.push(value),
                None => {
                    eprintln!("{flag} needs a number");
                    std::process::exit(2);
                }
            }
        }
    }
    if values.is_empty() {
        values.extend_from_slice(default);
    }
    values
}

/// The pool sizes of the pool rows (`-- --pool`; `--k K`, repeatable, picks others).
const POOL_SIZES: [usize; 3] = [1, 3, 10];
/// Players per credential in the pool rows: N = 1000 · k (`--per-credential N` for a quick
/// run).
const PLAYERS_PER_CREDENTIAL: usize = 1000;

/// Spreads `accounts` over `k` credentials as the bot does: rendezvous hashing of an account
/// ID over the credentials' fingerprints (`trophybot::pool`). One lane per credential.
fn pool_lanes(accounts: Vec<Account>, k: usize) -> Vec<Vec<Account>> {
    let prints: Vec<String> = (0..k)
        .map(|i| npsso_fingerprint(&psn::Secret::new(format!("bench-npsso-{i}"))))
        .collect();
    let mut lanes: Vec<Vec<Account>> = (0..k).map(|_| Vec::new()).collect();
    for (i, account) in accounts.into_iter().enumerate() {
        // A PSN-like account ID (19 digits), distinct per player.
        let account_id = format!("{}", 4_000_000_000_000_000_000u64 + i as u64 * 7_919);
        let lane = rendezvous(
            &account_id,
            prints.iter().enumerate().map(|(j, p)| (j, p.as_str())),
        )
        .unwrap_or(0);
        lanes[lane].push(account);
    }
    lanes
}

/// The pool's outcome: each lane is a scheduler of its own at one credential's rate over its
/// players, as `tracker::spawn_pool_tracker` runs them (the lanes share nothing, so each is
/// simulated alone); latencies and counts add up, the unchecked time is the worst lane's.
fn simulate_pool(config: &ScheduleConfig, lanes: &[Vec<Account>]) -> Outcome {
    let mut total = Outcome {
        latencies_min: Vec::new(),
        max_unchecked_min: 0.0,
        effective_staleness_min: 0.0,
        missed: 0,
        duplicates: 0,
        requests_in_window: 0,
        announced_in_window: 0,
    };
    for lane in lanes {
        let mut scheduler = AdaptiveScheduler::new(config.clone());
        let o = simulate(&mut scheduler, lane, true);
        total.latencies_min.extend(o.latencies_min);
        total.max_unchecked_min = total.max_unchecked_min.max(o.max_unchecked_min);
        total.effective_staleness_min =
            total.effective_staleness_min.max(o.effective_staleness_min);
        total.missed += o.missed;
        total.duplicates += o.duplicates;
        total.requests_in_window += o.requests_in_window;
        total.announced_in_window += o.announced_in_window;
    }
    total.latencies_min.sort_by(f64::total_cmp);
    total
}

/// The pool rows (`-- --pool`): k credentials, N = 1000 · k players, the adaptive scheduler.
fn pool_rows(config: &ScheduleConfig, seeds: &[u64]) {
    let sizes = args_or("k", &POOL_SIZES);
    let per_credential = args_or("per-credential", &[PLAYERS_PER_CREDENTIAL])[0];
    let visibilities: [(&str, f64); 3] = [("none", 0.0), ("half", 0.5), ("all", 1.0)];
    println!(
        "pool of k credentials, each at the tracker rate {:.4} req/s; N = {per_credential} · k; seeds {seeds:?}",
        config.rate_per_sec
    );
    println!("| seed | k | N | presence visible | players per credential | trophies | p50 min | p95 min | max min | p50 / k=1 | p95 / k=1 | requests/trophy | missed | longest unchecked min |");
    println!(
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    );
    for &seed in seeds {
        for (visibility, share) in visibilities {
            let mut first: Option<(f64, f64)> = None;
            for &k in &sizes {
                let n = per_credential * k;
                let lanes = pool_lanes(workload(n, share, seed ^ n as u64), k);
                let (fewest, most) = lanes.iter().fold((usize::MAX, 0), |(lo, hi), lane| {
                    (lo.min(lane.len()), hi.max(lane.len()))
                });
                let o = simulate_pool(config, &lanes);
                let p50 = percentile(&o.latencies_min, 0.5);
                let p95 = percentile(&o.latencies_min, 0.95);
                let (base50, base95) = *first.get_or_insert((p50, p95));
                let per_trophy =
                    o.requests_in_window as f64 / (o.announced_in_window.max(1)) as f64;
                println!(
                    "| {seed} | {k} | {n} | {visibility} | {fewest}–{most} | {} | {p50:.1} | {p95:.1} | {:.1} | {:.2} | {:.2} | {per_trophy:.2} | {} | {:.0} |",
                    o.latencies_min.len(),
                    o.latencies_min.last().copied().unwrap_or(f64::NAN),
                    p50 / base50,
                    p95 / base95,
                    o.missed,
                    o.max_unchecked_min
                );
            }
        }
    }
}

fn main() {
    let rate = RequestBudget::tracker_rate(300, Duration::from_secs(15 * 60), 0.3);
    let config = ScheduleConfig::new(rate, Duration::from_secs(30 * 60));
    if std::env::args().any(|arg| arg == "--pool") {
        pool_rows(&config, &args_or("seed", &SEEDS));
        return;
    }
    let visibilities: [(&str, f64); 3] = [("none", 0.0), ("half", 0.5), ("all", 1.0)];
    let seeds = args_or("seed", &SEEDS);
    let sizes = args_or("n", &SIZES);
    let mut rows = Vec::new();
    for &seed in &seeds {
        for &n in &sizes {
            for (visibility, share) in visibilities {
                let accounts = workload(n, share, seed ^ n as u64);
                let row = |scheduler, outcome| Row {
                    seed,
                    n,
                    visibility,
                    scheduler,
                    outcome,
                };
                let mut adaptive = AdaptiveScheduler::new(config.clone());
                rows.push(row("adaptive", simulate(&mut adaptive, &accounts, true)));
                // Without presence nothing tells the two apart: one row says it.
                if share > 0.0 {
                    let mut without = AdaptiveScheduler::new(config.clone());
                    rows.push(row(
                        "adaptive, no lastOnlineDate",
                        simulate(&mut without, &accounts, false),
                    ));
                }
                let mut round_robin = RoundRobinScheduler::new(&config);
                rows.push(row(
                    "round-robin",
                    simulate(&mut round_robin, &accounts, true),
                ));
            }
        }
    }
    println!(
        "tracker rate {rate:.4} req/s; {MEASURED_DAYS} measured days after {WARMUP_DAYS} warm-up day; seeds {seeds:?}"
    );
    println!("| seed | N | presence visible | scheduler | trophies | p50 min | p95 min | max min | requests/trophy | missed | duplicates | longest unchecked min | effective staleness min |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in &rows {
        let o = &row.outcome;
        let per_trophy = o.requests_in_window as f64 / (o.announced_in_window.max(1)) as f64;
        println!(
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {} | {} | {:.0} | {:.0} |",
            row.seed,
            row.n,
            row.visibility,
            row.scheduler,
            o.latencies_min.len(),
            percentile(&o.latencies_min, 0.5),
            percentile(&o.latencies_min, 0.95),
            o.latencies_min.last().copied().unwrap_or(f64::NAN),
            per_trophy,
            o.missed,
            o.duplicates,
            o.max_unchecked_min,
            o.effective_staleness_min
        );
    }
    let plotted: Vec<Row> = rows.into_iter().filter(|r| r.seed == seeds[0]).collect();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/tracker-latency.svg");
    match std::fs::write(path, svg_plot(&plotted)) {
        Ok(()) => println!("wrote {path}"),
        Err(err) => eprintln!("could not write {path}: {err}"),
    }
}
