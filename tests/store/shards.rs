//! Shard leases against a real PostgreSQL: three lease loops (three processes) on one database
//! share the shards without ever running one twice, and a killed one's shards and players move
//! to the others once its leases run out. Waits are on explicit conditions with an overall
//! limit; the leases themselves run on PostgreSQL's clock, so they are a few seconds long.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use trophybot::shards::{
    polls_account, spawn_shard_leases, HeldShards, LeaseSettings, ShardControl,
};

use trophybot::store::BudgetReport;

use crate::support::db::TestDb;

const TOTAL: u32 = 6;
const LEASE: Duration = Duration::from_secs(3);

#[tokio::test]
async fn a_shard_lease_is_one_processes_until_it_ends_or_is_given_up() {
    let (_db, store) = TestDb::migrated().await;
    assert!(store.take_shard_lease("a", 0, 2, LEASE).await.unwrap());
    assert!(
        !store.take_shard_lease("b", 0, 2, LEASE).await.unwrap(),
        "a holds it"
    );
    assert!(
        store.take_shard_lease("a", 0, 2, LEASE).await.unwrap(),
        "its own again"
    );
    assert_eq!(
        store.renew_shard_leases("a", 2, LEASE, &[]).await.unwrap(),
        vec![0]
    );
    assert!(store
        .renew_shard_leases("b", 2, LEASE, &[])
        .await
        .unwrap()
        .is_empty());
    store.release_shard_lease("a", 0).await.unwrap();
    assert!(
        store.take_shard_lease("b", 0, 2, LEASE).await.unwrap(),
        "given up"
    );
    let report = BudgetReport {
        parts: 2,
        spent: [("psn-1".to_string(), 17)].into_iter().collect(),
    };
    let (live, joined) = store.process_heartbeat("b", LEASE, &report).await.unwrap();
    assert!(joined);
    assert_eq!(live.len(), 1);
    assert_eq!(
        (live[0].instance.as_str(), &live[0].budget),
        ("b", &report),
        "the report read back"
    );
    let (_, joined) = store
        .process_heartbeat("b", LEASE, &BudgetReport::default())
        .await
        .unwrap();
    assert!(
        !joined,
        "already one of the live ones (a restart under its name, too)"
    );
    store.leave_shards("b").await.unwrap();
    assert!(store.live_shard_leases().await.unwrap().is_empty());
}

/// What every process's gateway runs, in the order it happened.
#[derive(Default)]
struct Gateway {
    /// Shard → the processes running it now.
    running: BTreeMap<u32, BTreeSet<String>>,
    /// Shard → how many times any process started it.
    starts: BTreeMap<u32, usize>,
    /// A shard started while another process ran it.
    doubled: Vec<u32>,
}

#[derive(Clone)]
struct Recorder {
    process: String,
    gateway: Arc<Mutex<Gateway>>,
}

impl ShardControl for Recorder {
    async fn start(&self, shard: u32, _total: u32) {
        let mut gateway = self.gateway.lock().unwrap();
        let running = gateway.running.entry(shard).or_default();
        if !running.is_empty() {
            gateway.doubled.push(shard);
        }
        gateway
            .running
            .entry(shard)
            .or_default()
            .insert(self.process.clone());
        *gateway.starts.entry(shard).or_default() += 1;
    }

    async fn stop(&self, shard: u32) {
        let mut gateway = self.gateway.lock().unwrap();
        gateway
            .running
            .entry(shard)
            .or_default()
            .remove(&self.process);
    }
}

impl Gateway {
    /// Each process's shards, when every shard runs in exactly one process.
    fn owners(&self) -> Option<BTreeMap<String, BTreeSet<u32>>> {
        let mut owners: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
        for shard in 0..TOTAL {
            let running = self.running.get(&shard)?;
            if running.len() != 1 {
                return None;
            }
            let process = running.iter().next()?.clone();
            owners.entry(process).or_default().insert(shard);
        }
        Some(owners)
    }
}

type Process = (
    &'static str,
    tokio::sync::watch::Receiver<HeldShards>,
    tokio::task::JoinHandle<()>,
    CancellationToken,
);

/// Starts one process's lease loop (its gateway recorded in `gateway`).
fn start_process(
    store: &trophybot::store::Store,
    gateway: &Arc<Mutex<Gateway>>,
    name: &'static str,
    preferred: &[u32],
) -> Process {
    let cancel = CancellationToken::new();
    let (held, task) = spawn_shard_leases(
        store.clone(),
        LeaseSettings {
            instance: name.to_string(),
            total: TOTAL,
            preferred: preferred.to_vec(),
            lease: LEASE,
        },
        Recorder {
            process: name.to_string(),
            gateway: gateway.clone(),
        },
        BudgetReport::default,
        cancel.clone(),
    );
    (name, held, task, cancel)
}

/// Each process's name and what it holds.
fn views(processes: &[Process]) -> Vec<(&'static str, tokio::sync::watch::Receiver<HeldShards>)> {
    processes
        .iter()
        .map(|(name, held, _, _)| (*name, held.clone()))
        .collect()
}

/// Waits (up to `limit`) until `check` says yes.
async fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(limit, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what} within {limit:?}");
}

#[tokio::test]
async fn three_processes_split_the_shards_and_a_killed_ones_move_within_the_lease() {
    let (_db, store) = TestDb::migrated().await;
    let gateway = Arc::new(Mutex::new(Gateway::default()));
    let mut processes: Vec<Process> = ["a", "b", "c"]
        .into_iter()
        .map(|name| start_process(&store, &gateway, name, &[]))
        .collect();
    let balanced = |gateway: &Gateway, names: &[&str], each: usize| {
        gateway.owners().is_some_and(|owners| {
            owners.len() == names.len()
                && names
                    .iter()
                    .all(|n| owners.get(*n).is_some_and(|s| s.len() == each))
        })
    };
    wait_until(
        "every shard in exactly one of three processes, two each",
        LEASE * 10,
        || balanced(&gateway.lock().unwrap(), &["a", "b", "c"], 2),
    )
    .await;
    let live =
        |held: &tokio::sync::watch::Receiver<HeldShards>| held.borrow().live_processes.clone();
    wait_until("every process sees the three", LEASE * 2, || {
        processes
            .iter()
            .all(|(_, held, _, _)| live(held).len() == 3)
    })
    .await;
    // The players: each polled by exactly one process.
    let accounts: Vec<String> = (0..60).map(|i| format!("account-{i}")).collect();
    let pollers = |processes: &[(&str, tokio::sync::watch::Receiver<HeldShards>)],
                   account: &str| {
        processes
            .iter()
            .filter(|(name, held)| polls_account(&held.borrow(), name, account))
            .count()
    };
    let three = views(&processes);
    assert!(accounts.iter().all(|a| pollers(&three, a) == 1));

    // "c" dies without a word: its gateway is gone, its leases stay until they run out.
    let (_, _, task, _) = processes.pop().expect("c");
    task.abort();
    let _ = task.await;
    {
        let mut gateway = gateway.lock().unwrap();
        for running in gateway.running.values_mut() {
            running.remove("c");
        }
    }
    // Its leases end within LEASE; the others see it at their next renewal (a third of it).
    wait_until("c's shards run in a and b, three each", LEASE * 2, || {
        balanced(&gateway.lock().unwrap(), &["a", "b"], 3)
    })
    .await;
    wait_until("a and b see only each other", LEASE * 2, || {
        processes
            .iter()
            .all(|(_, held, _, _)| live(held).len() == 2)
    })
    .await;
    let two = views(&processes);
    assert!(
        accounts.iter().all(|a| pollers(&two, a) == 1),
        "c's players moved too"
    );
    let doubled = gateway.lock().unwrap().doubled.clone();
    assert!(doubled.is_empty(), "a shard ran twice: {doubled:?}");

    // A clean stop closes the shards and gives the leases up.
    for (_, _, task, cancel) in processes {
        cancel.cancel();
        task.await.expect("the lease loop stops");
    }
    assert!(gateway
        .lock()
        .unwrap()
        .running
        .values()
        .all(BTreeSet::is_empty));
    assert!(store.live_shard_leases().await.unwrap().is_empty());
}

#[tokio::test]
async fn renewals_leave_out_the_shards_being_handed_over() {
    let (_db, store) = TestDb::migrated().await;
    for shard in [0, 1] {
        assert!(store.take_shard_lease("a", shard, 2, LEASE).await.unwrap());
    }
    assert_eq!(
        store.renew_shard_leases("a", 2, LEASE, &[1]).await.unwrap(),
        vec![0],
        "shard 1 is closing: its lease is left to run out, never extended"
    );
}

#[tokio::test]
async fn a_dead_processs_poll_leases_are_free_once_its_heartbeat_has_ended() {
    let (_db, store) = TestDb::migrated().await;
    for (account, name) in [("acc-c", "player_c"), ("acc-b", "player_b")] {
        let tracked = trophybot::model::TrackedAccount {
            guild_id: 1,
            account_id: account.to_string(),
            online_id: name.to_string(),
            channel_id: None,
            added_by: 42,
            added_at: chrono::Utc::now(),
        };
        store.add_tracked_account(&tracked, 25).await.unwrap();
    }
    store.sync_account_state().await.unwrap();
    let poll_lease = Duration::from_secs(300);
    for (process, account, owner) in [("c", "acc-c", "c/psn-2"), ("b", "acc-b", "b")] {
        store
            .process_heartbeat(process, LEASE, &BudgetReport::default())
            .await
            .unwrap();
        assert!(store
            .claim_account(account, owner, poll_lease)
            .await
            .unwrap()
            .is_some());
    }
    // "c" was killed mid-poll: its heartbeat ends, its poll lease had minutes left.
    sqlx::query(
        "UPDATE process_heartbeats SET expires_at = now() - interval '1 second'
         WHERE instance = 'c'",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let (live, _) = store
        .process_heartbeat("a", LEASE, &BudgetReport::default())
        .await
        .unwrap();
    let live: Vec<String> = live.into_iter().map(|p| p.instance).collect();
    assert_eq!(live, vec!["a".to_string(), "b".to_string()]);
    assert!(
        store
            .claim_account("acc-c", "a", poll_lease)
            .await
            .unwrap()
            .is_some(),
        "the dead process's player is free at once"
    );
    assert!(
        store
            .claim_account("acc-b", "a", poll_lease)
            .await
            .unwrap()
            .is_none(),
        "a live process keeps its poll lease"
    );
}

#[tokio::test]
async fn processes_started_together_each_take_their_preferred_shards_once() {
    let (_db, store) = TestDb::migrated().await;
    let gateway = Arc::new(Mutex::new(Gateway::default()));
    let mut processes: Vec<Process> = [("a", [0, 1]), ("b", [2, 3]), ("c", [4, 5])]
        .into_iter()
        .map(|(name, preferred)| start_process(&store, &gateway, name, &preferred))
        .collect();
    // Past the moment each may take others' shards: a whole lease of renewal rounds.
    let rounds = (LEASE.as_millis() / LEASE.div_f64(3.0).as_millis()) as usize + 2;
    for (_, held, _, _) in &mut processes {
        for _ in 0..rounds {
            tokio::time::timeout(LEASE * 2, held.changed())
                .await
                .expect("a renewal round")
                .expect("the loop runs");
        }
    }
    {
        let gateway = gateway.lock().unwrap();
        let owners = gateway
            .owners()
            .expect("every shard in exactly one process");
        let expected: BTreeMap<String, BTreeSet<u32>> =
            [("a", [0, 1]), ("b", [2, 3]), ("c", [4, 5])]
                .into_iter()
                .map(|(name, shards)| (name.to_string(), shards.into_iter().collect()))
                .collect();
        assert_eq!(owners, expected);
        assert!(
            gateway.starts.values().all(|starts| *starts == 1),
            "no shard moved on the way: {:?}",
            gateway.starts
        );
    }
    for (_, _, task, cancel) in processes {
        cancel.cancel();
        task.await.expect("the lease loop stops");
    }
}
