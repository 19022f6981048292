//! Several bot processes on one database: each Discord shard is leased in PostgreSQL by one
//! process, which connects the shard only while its lease lasts.
//!
//! A loop renews the process's heartbeat and its leases every third of the lease, closes a
//! shard whose lease it could not renew before that lease ends, gives up shards beyond its fair
//! share (`ceil(total / live processes)`), and takes free or expired shards up to that share,
//! its preferred ones first, so a dead process's shards move to the live ones. What the process
//! holds is published on a watch channel: the deliverer posts only for guilds on held shards,
//! the holder of shard 0 registers the commands, and the live processes split the tracker's
//! accounts and the PSN budgets between them.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::store::{BudgetReport, LiveProcess, ShardHolder, Store, StoreError};

/// The shard a guild's events come on: Discord's `(guild_id >> 22) % total`.
pub fn shard_of(guild_id: u64, total: u32) -> u32 {
    u32::try_from((guild_id >> 22) % u64::from(total.max(1))).unwrap_or(0)
}

/// How many shards one of `live` processes should hold at most: `ceil(total / live)`.
pub fn fair_share(total: u32, live: usize) -> usize {
    let total = total as usize;
    total.div_ceil(live.max(1))
}

/// What this process holds now, and who is alive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldShards {
    /// The bot's shard count; 0 before the first lease round.
    pub total: u32,
    pub shards: BTreeSet<u32>,
    /// The live processes' names, sorted (this one included once its heartbeat is written).
    pub live_processes: Vec<String>,
    /// The other live processes with their last budget reports.
    pub others: Vec<LiveProcess>,
    /// Whether the last heartbeat made this process one of the live ones anew (its first, or
    /// after its heartbeat had run out): the others counted it only from then on.
    pub joined: bool,
}

impl HeldShards {
    /// Everything, for a process that is the only one (tests and tools without leases).
    pub fn everything(total: u32) -> Self {
        Self {
            total,
            shards: (0..total).collect(),
            live_processes: Vec::new(),
            others: Vec::new(),
            joined: false,
        }
    }

    pub fn holds_guild(&self, guild_id: u64) -> bool {
        self.total > 0 && self.shards.contains(&shard_of(guild_id, self.total))
    }

    /// How many processes share the work: at least this one.
    pub fn live_count(&self) -> usize {
        self.live_processes.len().max(1)
    }
}

/// Which live process polls a tracked account: rendezvous hashing over the live processes'
/// names (as [`crate::pool`] spreads accounts over credentials), so a process joining or
/// leaving moves only its share. Alone (or before the first heartbeat), this process.
pub fn polls_account(held: &HeldShards, instance: &str, account_id: &str) -> bool {
    if held.live_processes.len() <= 1 {
        return true;
    }
    let live = &held.live_processes;
    let candidates = live.iter().enumerate().map(|(i, name)| (i, name.as_str()));
    crate::pool::rendezvous(account_id, candidates).is_some_and(|i| live[i] == instance)
}

/// For a process that joined running others: what each credential must keep clear of in its
/// first window. Once every other process divides its budgets by the live count (its part is
/// smaller from then on), a credential may send at once, its part less what the others spent of
/// the current window under their larger parts: `Some(label → that amount)` for each credential
/// whose part exceeds it (`whole`: label → `PSN_RATE_LIMIT` requests). `None` while another
/// process still divides by fewer: it may yet spend its larger part.
pub fn joiner_may_send(
    held: &HeldShards,
    whole: &[(String, u32)],
) -> Option<BTreeMap<String, u32>> {
    let parts = u32::try_from(held.live_count()).unwrap_or(u32::MAX);
    if held.others.iter().any(|other| other.budget.parts < parts) {
        return None;
    }
    let may_send = whole
        .iter()
        .filter_map(|(label, requests)| {
            let spent_by_others = held.others.iter().try_fold(0u32, |sum, other| {
                // A process reporting nothing of this credential may have spent all of it.
                other
                    .budget
                    .spent
                    .get(label)
                    .map(|spent| sum.saturating_add(*spent))
            })?;
            let part = requests / parts;
            (part > spent_by_others).then(|| (label.clone(), spent_by_others))
        })
        .collect();
    Some(may_send)
}

/// This process's split of the shared work: its name and what the lease loop publishes.
#[derive(Debug, Clone)]
pub struct ProcessSplit {
    pub instance: String,
    pub held: watch::Receiver<HeldShards>,
}

/// The shards to try to take, in order: preferred first, then (with `others_too`) the rest by
/// number; none held here or live elsewhere, and no more than room below `share` allows.
pub fn shards_to_take(
    total: u32,
    preferred: &[u32],
    held: &BTreeSet<u32>,
    live_leases: &[ShardHolder],
    share: usize,
    others_too: bool,
) -> Vec<u32> {
    let room = share.saturating_sub(held.len());
    let taken = |shard: &u32| held.contains(shard) || live_leases.iter().any(|l| l.shard == *shard);
    let others = (0..total).filter(|s| others_too && !preferred.contains(s));
    let preferred_first = preferred
        .iter()
        .copied()
        .filter(|s| *s < total)
        .chain(others);
    preferred_first.filter(|s| !taken(s)).take(room).collect()
}

/// The held shards to give up to come down to `share`: those not preferred first, the
/// highest numbers first.
pub fn shards_to_release(held: &BTreeSet<u32>, preferred: &[u32], share: usize) -> Vec<u32> {
    let excess = held.len().saturating_sub(share);
    let mut order: Vec<u32> = held.iter().rev().copied().collect();
    order.sort_by_key(|s| preferred.contains(s));
    order.into_iter().take(excess).collect()
}

/// Starts and stops single shards of the gateway (serenity's shard manager in the bot).
pub trait ShardControl: Send + Sync + 'static {
    fn start(&self, shard: u32, total: u32) -> impl Future<Output = ()> + Send;
    fn stop(&self, shard: u32) -> impl Future<Output = ()> + Send;
}

#[derive(Debug, Clone)]
pub struct LeaseSettings {
    pub instance: String,
    pub total: u32,
    pub preferred: Vec<u32>,
    pub lease: Duration,
}

impl LeaseSettings {
    /// Renewals come every third of the lease: two may fail before the shard must close.
    pub fn renew_every(&self) -> Duration {
        self.lease / 3
    }

    /// The shards this process takes as soon as they are free: its preferred ones, or all of
    /// them when it prefers none.
    fn preferred_shards(&self) -> Vec<u32> {
        if self.preferred.is_empty() {
            (0..self.total).collect()
        } else {
            self.preferred.clone()
        }
    }
}

enum Action {
    Start(u32),
    Stop(u32),
    /// Close the shard, then give up its lease (rebalancing).
    Release(u32),
}

/// Runs the lease loop until `cancel`, then closes every held shard and leaves the table.
/// Each heartbeat carries `report()`. Returns what the process holds, updated every round.
pub fn spawn_shard_leases<C: ShardControl>(
    store: Store,
    settings: LeaseSettings,
    control: C,
    report: impl Fn() -> BudgetReport + Send + 'static,
    cancel: CancellationToken,
) -> (watch::Receiver<HeldShards>, tokio::task::JoinHandle<()>) {
    let (held_tx, held_rx) = watch::channel(HeldShards {
        total: settings.total,
        ..HeldShards::default()
    });
    // Shard starts and stops wait on serenity (a shard's IDENTIFY waits its turn): they run in
    // order on their own task so renewals never wait behind them.
    let (actions, mut queued) = mpsc::unbounded_channel::<Action>();
    // Handovers that ended (the shard closed, its lease given up or left to run out).
    let (handed_over, mut handovers_done) = mpsc::unbounded_channel::<u32>();
    let actor_store = store.clone();
    let instance = settings.instance.clone();
    let total = settings.total;
    let actor = tokio::spawn(async move {
        while let Some(action) = queued.recv().await {
            match action {
                Action::Start(shard) => control.start(shard, total).await,
                Action::Stop(shard) => control.stop(shard).await,
                Action::Release(shard) => {
                    control.stop(shard).await;
                    if let Err(error) = actor_store.release_shard_lease(&instance, shard).await {
                        tracing::warn!(
                            %error,
                            shard,
                            "could not give up the shard's lease; it runs out unrenewed"
                        );
                    }
                    let _ = handed_over.send(shard);
                }
            }
        }
    });
    let task = tokio::spawn(async move {
        let mut running = BTreeSet::new();
        // Shards being handed over: closed (or closing) here and never renewed again, so the
        // next round cannot start one anew while it closes, and a release that fails leaves
        // only a lease that runs out.
        let mut releasing = BTreeSet::new();
        let mut last_renewed: Option<Instant> = None;
        let mut first_renewed: Option<Instant> = None;
        let every = settings.renew_every();
        let preferred = settings.preferred_shards();
        loop {
            while let Ok(shard) = handovers_done.try_recv() {
                releasing.remove(&shard);
            }
            let sent = Instant::now();
            let except: Vec<u32> = releasing.iter().copied().collect();
            let report = report();
            let round = lease_round(&store, &settings, &except, &report);
            let round = tokio::time::timeout(every, round).await;
            match round {
                Ok(Ok(round)) => {
                    last_renewed = Some(sent);
                    // Shards others prefer are left to them for a whole lease after this
                    // process joins, so processes started together each get their own first.
                    let settled = *first_renewed.get_or_insert(sent) + settings.lease <= sent;
                    let renewed: BTreeSet<u32> = round.renewed.iter().copied().collect();
                    for lost in running.difference(&renewed).copied().collect::<Vec<_>>() {
                        tracing::warn!(shard = lost, "the shard's lease was lost: closing it");
                        let _ = actions.send(Action::Stop(lost));
                        running.remove(&lost);
                    }
                    // Leases of a previous run under this name (a restart): take them back.
                    for kept in renewed.difference(&running).copied().collect::<Vec<_>>() {
                        tracing::info!(shard = kept, "took back the shard's lease");
                        let _ = actions.send(Action::Start(kept));
                        running.insert(kept);
                    }
                    let share = fair_share(settings.total, round.live.len());
                    for shard in shards_to_release(&running, &settings.preferred, share) {
                        tracing::info!(shard, share, "handing the shard over to another process");
                        let _ = actions.send(Action::Release(shard));
                        running.remove(&shard);
                        releasing.insert(shard);
                    }
                    let wanted = shards_to_take(
                        settings.total,
                        &preferred,
                        &running,
                        &round.leases,
                        share,
                        settled,
                    );
                    for shard in wanted {
                        match store
                            .take_shard_lease(
                                &settings.instance,
                                shard,
                                settings.total,
                                settings.lease,
                            )
                            .await
                        {
                            Ok(true) => {
                                tracing::info!(shard, total = settings.total, "took the shard");
                                let _ = actions.send(Action::Start(shard));
                                running.insert(shard);
                            }
                            Ok(false) => {}
                            Err(error) => {
                                tracing::warn!(%error, shard, "could not take the shard");
                            }
                        }
                    }
                    // The store lists the live processes sorted by name.
                    let live_processes = round.live.iter().map(|p| p.instance.clone()).collect();
                    let others = round
                        .live
                        .into_iter()
                        .filter(|p| p.instance != settings.instance)
                        .collect();
                    held_tx.send_replace(HeldShards {
                        total: settings.total,
                        shards: running.clone(),
                        live_processes,
                        others,
                        joined: round.joined,
                    });
                }
                failed => {
                    match failed {
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "could not renew the shard leases")
                        }
                        _ => tracing::warn!("renewing the shard leases took too long"),
                    }
                    // The next round may come too late: close every shard while the lease
                    // still holds, so no two processes ever run one shard.
                    let closing =
                        last_renewed.is_none_or(|at| Instant::now() + every >= at + settings.lease);
                    if closing && !running.is_empty() {
                        tracing::warn!(
                            "the shard leases may end before they are renewed: closing the shards"
                        );
                        for shard in std::mem::take(&mut running) {
                            let _ = actions.send(Action::Stop(shard));
                        }
                        held_tx.send_modify(|held| held.shards.clear());
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(every) => {}
            }
        }
        for shard in std::mem::take(&mut running) {
            let _ = actions.send(Action::Stop(shard));
        }
        held_tx.send_modify(|held| held.shards.clear());
        drop(actions);
        // Every shard closed before the leases go.
        let _ = actor.await;
        if let Err(error) = store.leave_shards(&settings.instance).await {
            tracing::warn!(%error, "could not give up the shard leases; they run out on their own");
        }
    });
    (held_rx, task)
}

struct Round {
    live: Vec<LiveProcess>,
    joined: bool,
    renewed: Vec<u32>,
    leases: Vec<ShardHolder>,
}

async fn lease_round(
    store: &Store,
    settings: &LeaseSettings,
    releasing: &[u32],
    report: &BudgetReport,
) -> Result<Round, StoreError> {
    let (live, joined) = store
        .process_heartbeat(&settings.instance, settings.lease, report)
        .await?;
    let renewed = store
        .renew_shard_leases(
            &settings.instance,
            settings.total,
            settings.lease,
            releasing,
        )
        .await?;
    let leases = store.live_shard_leases().await?;
    Ok(Round {
        live,
        joined,
        renewed,
        leases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(shards: &[u32]) -> BTreeSet<u32> {
        shards.iter().copied().collect()
    }

    fn lease(shard: u32, holder: &str) -> ShardHolder {
        ShardHolder {
            shard,
            holder: holder.to_string(),
        }
    }

    #[test]
    fn guilds_map_to_shards_by_discords_formula() {
        let guild = 41_771_983_423_143_937_u64;
        assert_eq!(shard_of(guild, 1), 0);
        assert_eq!(u64::from(shard_of(guild, 7)), (guild >> 22) % 7);
        assert_eq!(shard_of(0, 4), 0, "rows without a guild belong to shard 0");
    }

    #[test]
    fn the_fair_share_rounds_up_and_survives_no_live_process() {
        assert_eq!(fair_share(4, 3), 2);
        assert_eq!(fair_share(3, 3), 1);
        assert_eq!(fair_share(3, 0), 3);
        assert_eq!(fair_share(1, 5), 1);
    }

    #[test]
    fn preferred_free_shards_are_taken_first_up_to_the_share() {
        let taken = shards_to_take(6, &[4, 5], &set(&[]), &[lease(5, "other")], 3, true);
        assert_eq!(taken, vec![4, 0, 1]);
        let taken = shards_to_take(6, &[4, 5], &set(&[]), &[lease(5, "other")], 3, false);
        assert_eq!(
            taken,
            vec![4],
            "others' shards wait until the process has settled"
        );
        let taken = shards_to_take(6, &[], &set(&[0, 1]), &[lease(2, "other")], 3, true);
        assert_eq!(taken, vec![3]);
        assert!(shards_to_take(2, &[], &set(&[0]), &[lease(1, "x")], 2, true).is_empty());
    }

    #[test]
    fn accounts_split_between_live_processes_and_a_leaver_moves_only_its_own() {
        let held = |live: &[&str]| HeldShards {
            live_processes: live.iter().map(|s| s.to_string()).collect(),
            ..HeldShards::default()
        };
        let three = held(&["a", "b", "c"]);
        let two = held(&["a", "b"]);
        let accounts: Vec<String> = (0..300).map(|i| format!("account-{i}")).collect();
        let owner = |held: &HeldShards, account: &str| {
            ["a", "b", "c"]
                .into_iter()
                .filter(|p| polls_account(held, p, account))
                .collect::<Vec<_>>()
        };
        let mut per_process = [0; 3];
        for account in &accounts {
            let owners = owner(&three, account);
            assert_eq!(
                owners.len(),
                1,
                "{account} has exactly one poller: {owners:?}"
            );
            per_process[(owners[0].as_bytes()[0] - b'a') as usize] += 1;
            let after = owner(&two, account);
            assert_eq!(after.len(), 1);
            if owners[0] != "c" {
                assert_eq!(after, owners, "{account} stays where it was");
            }
        }
        assert!(per_process.iter().all(|n| *n > 50), "{per_process:?}");
        assert!(
            polls_account(&held(&["a"]), "z", "x"),
            "alone, every account"
        );
    }

    #[test]
    fn a_joiner_sends_once_the_others_divide_by_the_live_count_less_what_they_spent() {
        let other = |name: &str, parts: u32, spent: &[(&str, u32)]| LiveProcess {
            instance: name.to_string(),
            budget: BudgetReport {
                parts,
                spent: spent.iter().map(|(l, n)| (l.to_string(), *n)).collect(),
            },
        };
        let held = |others: Vec<LiveProcess>| HeldShards {
            live_processes: vec!["a".into(), "b".into(), "c".into()],
            others,
            ..HeldShards::default()
        };
        let whole = [("psn-1".to_string(), 300), ("psn-2".to_string(), 300)];
        let behind = held(vec![
            other("a", 3, &[("psn-1", 0), ("psn-2", 0)]),
            other("b", 2, &[("psn-1", 0), ("psn-2", 0)]),
        ]);
        assert_eq!(
            joiner_may_send(&behind, &whole),
            None,
            "b still divides by two"
        );
        let caught_up = held(vec![
            other("a", 3, &[("psn-1", 40), ("psn-2", 90)]),
            other("b", 3, &[("psn-1", 10), ("psn-2", 20)]),
        ]);
        let may = joiner_may_send(&caught_up, &whole).expect("both divide by three");
        assert_eq!(
            may.get("psn-1"),
            Some(&50),
            "a part of 100 less the 50 spent"
        );
        assert_eq!(
            may.get("psn-2"),
            None,
            "110 spent: nothing left of a part of 100"
        );
        let silent = held(vec![other("a", 3, &[]), other("b", 3, &[("psn-1", 0)])]);
        assert_eq!(
            joiner_may_send(&silent, &whole),
            Some(BTreeMap::new()),
            "what a process did not report may all have been spent"
        );
    }

    #[test]
    fn the_excess_given_up_is_not_preferred_first() {
        let released = shards_to_release(&set(&[0, 1, 2, 3]), &[3], 2);
        assert_eq!(released, vec![2, 1]);
        assert!(shards_to_release(&set(&[0, 1]), &[], 2).is_empty());
    }
}
