//! The shared budget under load, in virtual time: a counting server records when each request
//! arrives (by tokio's paused clock), and no window of the budget's length may hold more.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use psn::{Account, ApiKind, Client, Config, Credential, Error, RateLimit, Secret};
use tokio::time::Instant;

type Arrivals = Arc<Mutex<Vec<Instant>>>;

async fn count(State(arrivals): State<Arrivals>) -> axum::Json<serde_json::Value> {
    arrivals.lock().unwrap().push(Instant::now());
    summary()
}

fn summary() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "accountId": "1", "trophyLevel": 3, "progress": 10, "tier": 1,
        "earnedTrophies": {"bronze": 1, "silver": 0, "gold": 0, "platinum": 0}
    }))
}

fn most_in_any_window(arrivals: &[Instant], window: Duration) -> usize {
    arrivals
        .iter()
        .map(|start| {
            arrivals
                .iter()
                .filter(|t| **t >= *start && **t <= *start + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_never_exceed_the_budget_in_any_window() {
    let arrivals: Arrivals = Arc::default();
    let app = Router::new().fallback(count).with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut config =
        Config::new(ApiKind::Modern, Credential::Bearer(Secret::new("t"))).with_base_url(&base_url);
    config.rate_limit = RateLimit {
        requests: 10,
        per: Duration::from_secs(60),
    };
    config.interactive_max_wait = Duration::from_secs(5);
    config.request_timeout = Duration::from_secs(3600);
    let client = Client::new(config).unwrap();
    let account = Account {
        account_id: "1".into(),
        online_id: "someone".into(),
    };

    let mut calls = Vec::new();
    for i in 0..20 {
        let caller = if i % 2 == 0 {
            client.background()
        } else {
            client.clone()
        };
        let account = account.clone();
        calls.push(tokio::spawn(async move {
            (i % 2 == 0, caller.trophy_summary(&account).await)
        }));
    }
    let (mut background_ok, mut interactive_ok, mut interactive_limited) = (0, 0, 0);
    for call in calls {
        match call.await.unwrap() {
            (true, Ok(_)) => background_ok += 1,
            (false, Ok(_)) => interactive_ok += 1,
            (false, Err(Error::RateLimited { .. })) => interactive_limited += 1,
            (background, Err(e)) => panic!("background={background}: {e:?}"),
        }
    }
    assert_eq!(background_ok, 10, "background callers wait and succeed");
    assert_eq!(interactive_ok + interactive_limited, 10);
    assert!(
        interactive_limited > 0,
        "interactive callers do not queue for minutes"
    );
    assert!(interactive_ok > 0, "interactive callers go first");

    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), background_ok + interactive_ok);
    let most = most_in_any_window(&arrivals, Duration::from_secs(60));
    assert!(most <= 10, "{most} requests in one 60 s window");
    assert_eq!(client.stats().requests_sent as usize, arrivals.len());
}

/// Answers 429 asking for absurd waits (the end of time; then 56 years, by an old `Date`), then
/// 200.
async fn absurd_429s(State(arrivals): State<Arrivals>) -> axum::response::Response {
    let seen = {
        let mut arrivals = arrivals.lock().unwrap();
        arrivals.push(Instant::now());
        arrivals.len()
    };
    let mut headers = HeaderMap::new();
    match seen {
        1 => {
            headers.insert("x-ratelimit-next-available", i64::MAX.into());
        }
        2 => {
            let now = chrono::Utc::now().timestamp();
            headers.insert("x-ratelimit-next-available", now.into());
            headers.insert("date", "Thu, 01 Jan 1970 00:00:00 GMT".parse().unwrap());
        }
        _ => return summary().into_response(),
    }
    (StatusCode::TOO_MANY_REQUESTS, headers, "{}").into_response()
}

#[tokio::test(start_paused = true)]
async fn absurd_429_waits_are_capped_at_fifteen_minutes_without_panicking() {
    let arrivals: Arrivals = Arc::default();
    let app = Router::new()
        .fallback(absurd_429s)
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut config =
        Config::new(ApiKind::Modern, Credential::Bearer(Secret::new("t"))).with_base_url(&base_url);
    config.request_timeout = Duration::from_secs(3600);
    let client = Client::new(config).unwrap().background();
    let account = Account {
        account_id: "1".into(),
        online_id: "someone".into(),
    };
    let summary = tokio::time::timeout(
        Duration::from_secs(31 * 60),
        client.trophy_summary(&account),
    )
    .await
    .expect("two capped waits end within 31 minutes");
    assert!(summary.is_ok(), "{summary:?}");
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 3);
    for pair in arrivals.windows(2) {
        let wait = pair[1] - pair[0];
        assert!(wait <= Duration::from_secs(15 * 60 + 1), "{wait:?}");
    }
    assert_eq!(client.stats().rate_limited, 2);
}

/// Closed windows of `window` inside `[0, run]`: the fewest of `times` any of them holds.
fn fewest_in_any_window(times: &[Duration], window: Duration, run: Duration) -> usize {
    std::iter::once(Duration::ZERO)
        .chain(times.iter().map(|t| *t + Duration::from_nanos(1)))
        .filter(|start| *start + window <= run)
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= start && **t <= start + window)
                .count()
        })
        .min()
        .expect("the run is longer than a window")
}

/// The simulator judges: its own sliding-window limit (the same as the bot's) answers 429 to
/// any request over it, and its request log, on a clock kept at tokio's, shows the tracker's
/// share in every window while commands hammer.
#[tokio::test(start_paused = true)]
async fn against_the_simulator_commands_never_take_the_trackers_share() {
    let (requests, window) = (30, Duration::from_secs(60));
    // The simulator's clock follows tokio's (paused) one.
    let sim = psn_sim::Sim::new(psn_sim::SimConfig {
        rate_limit: requests,
        rate_window: window,
        clock: psn_sim::SimClock::Tokio,
        ..psn_sim::SimConfig::default()
    });
    let start = Instant::now();
    let sim_start = sim.now();
    let router = sim.router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let mut config = Config::new(
        ApiKind::Modern,
        Credential::Npsso(Secret::new(psn_sim::SIM_NPSSO)),
    )
    .with_base_url(&base_url);
    config.rate_limit = RateLimit {
        requests,
        per: window,
    };
    config.command_reserve = 0.3;
    config.request_timeout = Duration::from_secs(3600);
    let client = Client::new(config).unwrap();
    let resolve = |name: &str| {
        let id = sim.account_id(name).unwrap();
        Account {
            account_id: id,
            online_id: name.into(),
        }
    };
    // The tracker asks about one player, commands about another: the log tells them apart.
    let (tracked, asked) = (resolve("sim_hunter"), resolve("sim_casual"));

    let run = window * 3 + window / 2;
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let (tracker, account) = (client.background(), tracked.clone());
        callers.spawn(async move {
            loop {
                tracker.trophy_summary(&account).await.unwrap();
            }
        });
    }
    for _ in 0..10 {
        let (client, account) = (client.clone(), asked.clone());
        callers.spawn(async move {
            loop {
                match client.trophy_summary(&account).await {
                    Ok(_) => {}
                    Err(Error::RateLimited { .. }) => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(other) => panic!("{other:?}"),
                }
            }
        });
    }
    tokio::time::sleep_until(start + run).await;
    callers.abort_all();
    while callers.join_next().await.is_some() {}

    let log = sim.requests();
    let api: Vec<_> = log.iter().filter(|r| r.path.contains("/trophy/")).collect();
    assert!(
        api.iter().all(|r| r.status == 200),
        "the simulator refused some: {:?}",
        api.iter().filter(|r| r.status != 200).collect::<Vec<_>>()
    );
    let at = |r: &psn_sim::RecordedRequest| (r.at - sim_start).to_std().unwrap_or_default();
    let tracker: Vec<Duration> = api
        .iter()
        .filter(|r| r.path.contains(&tracked.account_id))
        .map(|r| at(r))
        .collect();
    let commands = api
        .iter()
        .filter(|r| r.path.contains(&asked.account_id))
        .count();
    // ⌊0.7 · 30⌋ − 1.
    let fewest = fewest_in_any_window(&tracker, window, run);
    assert!(fewest >= 20, "the tracker got only {fewest} in one window");
    assert!(commands >= 9 * 3, "commands got {commands}");
    let all: Vec<Duration> = api.iter().map(|r| at(r)).collect();
    let most = most_in_any_window_d(&all, window);
    assert!(most <= requests as usize, "{most} in one window");
}

fn most_in_any_window_d(times: &[Duration], window: Duration) -> usize {
    times
        .iter()
        .map(|start| {
            times
                .iter()
                .filter(|t| **t >= *start && **t <= *start + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}
