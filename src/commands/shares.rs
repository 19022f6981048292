//! Fair shares of the command part of the PSN budget: one Discord user, and one server, may
//! cause at most so many PSN requests within a sliding window (`PSN_RATE_LIMIT`'s). A command is
//! admitted only if its worst-case cost ([`cost`]) fits what is left of both shares; once it ran,
//! what it really sent (its [`psn::Meter`]) is charged instead. Work nobody waits for (a
//! `/rarest` fill-in) is charged the same way, request by request, but only from what the
//! shares have to spare ([`Shares::admit_spare`]). Process-local.
//!
//! The console (no Discord user, one command per run) never comes here.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::errors::CommandError;
pub use crate::errors::ShareKind;

/// Worst-case PSN requests of each command, cold (see BENCHMARKS.md "PSN requests per command";
/// the online-ID lookup included), and the parts they are made of. Admission reserves a
/// command's estimate from the caches (its `estimate`: at most this, 0 warm); the actual count
/// is charged.
pub mod cost {
    /// `/trophies` of a profile: lookup, listing, trophy summary.
    pub const TROPHIES_PROFILE: u32 = 3;
    /// `/trophies` of one game: lookup, listing (a game given by name), definitions (2), earned.
    pub const TROPHIES_GAME: u32 = 5;
    /// `/compare`: lookups, listings and summaries of both players.
    pub const COMPARE: u32 = 6;
    /// `/compare` in one game: as above, with the game's definitions and both earned states.
    pub const COMPARE_GAME: u32 = 7;
    /// `/rarest` across titles without a cap (the console): lookup, listing, the earned state of
    /// each of the 50 recent titles, and the definitions (2 each) of the 10 titles shown. The
    /// bot holds it to [`CAP`] and estimates it from the cache (`commands::rarest::estimate`).
    pub const RAREST_ACROSS_TITLES: u32 = 72;
    /// `/rarest` in one game: as `/trophies` of one game.
    pub const RAREST_GAME: u32 = 5;
    /// A page button: the title's definitions (2) and the player's earned state.
    pub const PAGE: u32 = 3;
    /// `game` autocomplete: lookup and listing.
    pub const AUTOCOMPLETE: u32 = 2;
    /// `/track add`: lookup and trophy summary.
    pub const TRACK_ADD: u32 = 2;
    /// `/link`: lookup and the profile's "About me".
    pub const LINK: u32 = 2;
    /// The most one command may spend where it can answer with less (`/rarest` across titles,
    /// which then covers fewer titles and says so): 15, the goal for any command cold.
    pub const CAP: u32 = 15;
    /// The parts commands are estimated from, each as its worst case from a cold cache: the
    /// online-ID lookup, a page of the recent titles, one title's earned state, one title's
    /// definitions (trophies and groups).
    pub const LOOKUP: u32 = 1;
    pub const LISTING: u32 = 1;
    pub const EARNED: u32 = 1;
    pub const DEFINITIONS: u32 = 2;
    /// A player's trophy summary (level and counts).
    pub const SUMMARY: u32 = 1;
    /// The dearest command the bot runs (every one is held to [`CAP`]): a user's share is never
    /// smaller by default, so every command can run. The console, uncapped, is exempt.
    pub const MAX: u32 = CAP;
}

/// How much one user and one server may spend within `window`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShareLimits {
    pub user: u32,
    pub server: u32,
    pub window: Duration,
}

impl ShareLimits {
    /// The defaults for a command budget of `command_budget` requests per `window`: a user a
    /// quarter of it (but at least the dearest command), a server half (and at least a user's).
    pub fn defaults(command_budget: u32, window: Duration) -> ShareLimits {
        let user = (command_budget / 4).max(cost::MAX);
        ShareLimits {
            user,
            server: (command_budget / 2).max(user),
            window,
        }
    }
}

/// A command that did not fit: whose share, and how long until enough of the window has
/// passed for it to fit (if nothing else is spent meanwhile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub kind: ShareKind,
    pub retry_after: Duration,
}

impl From<Refusal> for CommandError {
    /// The refusal as the user reads it: the retry time rounded up to the next whole second, so
    /// the command fits by then.
    fn from(refusal: Refusal) -> CommandError {
        let latest = chrono::DateTime::<chrono::Utc>::MAX_UTC;
        let exact = chrono::Duration::from_std(refusal.retry_after)
            .ok()
            .and_then(|wait| chrono::Utc::now().checked_add_signed(wait))
            .unwrap_or(latest);
        let whole_seconds = exact.timestamp() + i64::from(exact.timestamp_subsec_nanos() > 0);
        CommandError::ShareUsed {
            kind: refusal.kind,
            retry_at: chrono::DateTime::from_timestamp(whole_seconds, 0).unwrap_or(latest),
        }
    }
}

/// A user or server at this share of their limit or more is "near" it (`/track list`, metrics).
pub const NEAR_LIMIT: f64 = 0.8;

/// The shares as one server's `/track list` shows them (see [`Shares::standing`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    pub limits: ShareLimits,
    /// Requests charged (and reserved) to every user's commands within the window.
    pub commands_used: u32,
    /// This server's, within the window.
    pub server_used: u32,
    /// Members who spent in this server and used [`NEAR_LIMIT`] of their share or more: Discord
    /// user ID and requests used, most used first.
    pub members_near_limit: Vec<(u64, u32)>,
}

/// All shares at a glance (see [`Shares::overview`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overview {
    pub commands_used: u32,
    pub users_near_limit: u32,
    pub servers_near_limit: u32,
}

/// What an admission reserves of each share, and what it must leave free besides.
#[derive(Default, Clone, Copy)]
struct Needs {
    user: u32,
    server: u32,
    user_keeps: u32,
    server_keeps: u32,
}

/// The ledger; cheap to clone, clones share it.
#[derive(Clone)]
pub struct Shares {
    /// The whole shares (`COMMAND_SHARE_*`).
    whole: ShareLimits,
    /// This process's part of them (the whole, divided among the live processes).
    limits: Arc<std::sync::RwLock<ShareLimits>>,
    ledger: Arc<Mutex<Ledger>>,
}

#[derive(Default)]
struct Ledger {
    users: HashMap<u64, Spending>,
    servers: HashMap<u64, Spending>,
    /// Idle entries are dropped once a window after the last sweep, or sooner when a map grows
    /// past this (amortised: twice what a sweep left).
    sweep_at: usize,
    swept: Option<Instant>,
}

/// One user's or server's requests within the window, oldest first (each with the server it was
/// spent in, `None` in DMs), and the estimates of its commands still running (they count until
/// the command's actual cost replaces them).
#[derive(Default)]
struct Spending {
    charges: VecDeque<(Instant, u32, Option<u64>)>,
    reserved: u32,
}

impl Spending {
    fn forget_before(&mut self, start: Instant) {
        while self.charges.front().is_some_and(|&(at, _, _)| at <= start) {
            self.charges.pop_front();
        }
    }

    fn used(&self) -> u32 {
        self.charges
            .iter()
            .fold(self.reserved, |sum, &(_, n, _)| sum.saturating_add(n))
    }

    /// How long until `needed` more fits under `limit`, as the oldest charges leave the window.
    /// Running commands' estimates do not leave by themselves: then a whole window.
    fn wait_for(
        &self,
        needed: u32,
        limit: u32,
        now: Instant,
        window: Duration,
    ) -> Option<Duration> {
        let mut used = self.used();
        if used.saturating_add(needed) <= limit {
            return None;
        }
        for &(at, n, _) in &self.charges {
            used -= n;
            if used.saturating_add(needed) <= limit {
                return Some((at + window).saturating_duration_since(now));
            }
        }
        Some(window)
    }

    fn is_idle(&self) -> bool {
        self.charges.is_empty() && self.reserved == 0
    }
}

const MIN_SWEEP: usize = 1_024;

impl Shares {
    pub fn new(limits: ShareLimits) -> Shares {
        Shares {
            whole: limits,
            limits: Arc::new(std::sync::RwLock::new(limits)),
            ledger: Arc::new(Mutex::new(Ledger {
                sweep_at: MIN_SWEEP,
                ..Ledger::default()
            })),
        }
    }

    pub fn limits(&self) -> ShareLimits {
        *self.limits.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps to one of `parts` equal parts of every share: the same users and servers reach
    /// `parts` processes (through guilds on their shards), whose parts add up to the whole.
    /// A part below a command's estimate still admits it when that part is unused (see
    /// [`Shares::admit`]), so no command is refused forever.
    pub fn share_among(&self, parts: u32) {
        let parts = parts.max(1);
        let whole = self.whole;
        let part = ShareLimits {
            user: (whole.user / parts).max(1),
            server: (whole.server / parts).max(1),
            window: whole.window,
        };
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = part;
    }

    /// Admits a command of `user` in `server` (`None`: a DM, charged to the user only) whose
    /// worst case is `estimate` requests, reserving it; or says whose share it does not fit and
    /// when it would. An estimate above a share counts as the whole share (the command then runs
    /// when that share is unused), so no command is refused forever.
    pub fn admit(
        &self,
        user: u64,
        server: Option<u64>,
        estimate: u32,
    ) -> Result<Admission, Refusal> {
        let needs = Needs {
            user: estimate.min(self.limits().user),
            server: estimate.min(self.limits().server),
            ..Needs::default()
        };
        self.admit_needing(user, server, needs)
    }

    /// Admits work nobody waits for (a `/rarest` fill-in) that `user` caused in `server`,
    /// costing up to `estimate`, only from what the shares have to spare: it must leave the user
    /// one command's cap ([`cost::CAP`]) and the server half its share (at least a cap) for what
    /// they and its other members ask next. When it does not fit, the refusal says when it may
    /// (the work waits or stops; nobody is told or counted as refused).
    pub fn admit_spare(
        &self,
        user: u64,
        server: Option<u64>,
        estimate: u32,
    ) -> Result<Admission, Refusal> {
        let needs = Needs {
            user: estimate,
            server: estimate,
            user_keeps: cost::CAP,
            server_keeps: (self.limits().server / 2).max(cost::CAP),
        };
        self.admit_needing(user, server, needs)
    }

    fn admit_needing(
        &self,
        user: u64,
        server: Option<u64>,
        needs: Needs,
    ) -> Result<Admission, Refusal> {
        let now = Instant::now();
        let start = now.checked_sub(self.limits().window);
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        ledger.sweep(now, self.limits().window);
        let mut refusal: Option<Refusal> = None;
        let mut check = |spending: Option<&mut Spending>, needed: u32, limit, kind| {
            let Some(spending) = spending else {
                if needed > limit {
                    refusal = Some(Refusal {
                        kind,
                        retry_after: self.limits().window,
                    });
                }
                return;
            };
            if let Some(start) = start {
                spending.forget_before(start);
            }
            if let Some(wait) = spending.wait_for(needed, limit, now, self.limits().window) {
                // The later of the two: the command fits only when both shares allow it.
                if refusal.is_none_or(|r| wait > r.retry_after) {
                    refusal = Some(Refusal {
                        kind,
                        retry_after: wait,
                    });
                }
            }
        };
        check(
            ledger.users.get_mut(&user),
            needs.user.saturating_add(needs.user_keeps),
            self.limits().user,
            ShareKind::User,
        );
        if let Some(server) = server {
            check(
                ledger.servers.get_mut(&server),
                needs.server.saturating_add(needs.server_keeps),
                self.limits().server,
                ShareKind::Server,
            );
        }
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        ledger.users.entry(user).or_default().reserved += needs.user;
        if let Some(server) = server {
            ledger.servers.entry(server).or_default().reserved += needs.server;
        }
        Ok(Admission {
            shares: self.clone(),
            user,
            server,
            reserved: (needs.user, needs.server),
            meter: psn::Meter::new(),
            #[cfg(test)]
            sent_in_test: 0,
        })
    }

    /// What `user` has spent (and reserved) within the window now.
    pub fn user_used(&self, user: u64) -> u32 {
        self.used(|ledger| ledger.users.get_mut(&user))
    }

    /// What `server` has spent (and reserved) within the window now.
    pub fn server_used(&self, server: u64) -> u32 {
        self.used(|ledger| ledger.servers.get_mut(&server))
    }

    fn used(&self, pick: impl FnOnce(&mut Ledger) -> Option<&mut Spending>) -> u32 {
        let start = Instant::now().checked_sub(self.limits().window);
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let Some(spending) = pick(&mut ledger) else {
            return 0;
        };
        if let Some(start) = start {
            spending.forget_before(start);
        }
        spending.used()
    }

    /// How the shares stand now, as `/track list` in `server` shows them: what commands of
    /// all users spent within the window, what `server` spent, and the members who spent there
    /// and have used at least [`NEAR_LIMIT`] of their share (most used first).
    pub fn standing(&self, server: u64) -> Standing {
        let start = Instant::now().checked_sub(self.limits().window);
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let mut standing = Standing {
            limits: self.limits(),
            ..Standing::default()
        };
        let near = |used: u32, limit: u32| f64::from(used) >= NEAR_LIMIT * f64::from(limit);
        for (&user, spending) in ledger.users.iter_mut() {
            if let Some(start) = start {
                spending.forget_before(start);
            }
            let used = spending.used();
            standing.commands_used = standing.commands_used.saturating_add(used);
            let spent_here = spending.charges.iter().any(|c| c.2 == Some(server));
            if spent_here && near(used, self.limits().user) {
                standing.members_near_limit.push((user, used));
            }
        }
        if let Some(spending) = ledger.servers.get_mut(&server) {
            if let Some(start) = start {
                spending.forget_before(start);
            }
            standing.server_used = spending.used();
        }
        standing
            .members_near_limit
            .sort_by_key(|&(user, used)| (std::cmp::Reverse(used), user));
        standing
    }

    /// Every user's and server's use of the window now, for the operator's metrics and log:
    /// what commands spent in all, and how many users and servers are near their shares.
    pub fn overview(&self) -> Overview {
        let start = Instant::now().checked_sub(self.limits().window);
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let ledger = &mut *ledger;
        let mut overview = Overview::default();
        let near = |used: u32, limit: u32| f64::from(used) >= NEAR_LIMIT * f64::from(limit);
        for (spendings, limit, is_user) in [
            (&mut ledger.users, self.limits().user, true),
            (&mut ledger.servers, self.limits().server, false),
        ] {
            for spending in spendings.values_mut() {
                if let Some(start) = start {
                    spending.forget_before(start);
                }
                let used = spending.used();
                match (is_user, near(used, limit)) {
                    (true, near) => {
                        overview.commands_used = overview.commands_used.saturating_add(used);
                        overview.users_near_limit += u32::from(near);
                    }
                    (false, near) => overview.servers_near_limit += u32::from(near),
                }
            }
        }
        overview
    }

    /// Replaces an admission's reservation by what its meter counted, charged now.
    fn settle(&self, admission: &Admission) {
        let now = Instant::now();
        #[cfg(not(test))]
        let sent = admission.meter.count();
        #[cfg(test)]
        let sent = admission.meter.count() + admission.sent_in_test;
        let spent = u32::try_from(sent).unwrap_or(u32::MAX);
        let mut ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let charge = |spending: Option<&mut Spending>, reserved: u32| {
            let Some(spending) = spending else { return };
            spending.reserved = spending.reserved.saturating_sub(reserved);
            if spent > 0 {
                spending.charges.push_back((now, spent, admission.server));
            }
        };
        charge(ledger.users.get_mut(&admission.user), admission.reserved.0);
        if let Some(server) = admission.server {
            charge(ledger.servers.get_mut(&server), admission.reserved.1);
        }
    }
}

impl Ledger {
    /// Drops idle users and servers once a map has grown, so the ledger holds only those who
    /// spent within the window.
    fn sweep(&mut self, now: Instant, window: Duration) {
        let grown = self.users.len().max(self.servers.len()) >= self.sweep_at;
        let due = self.swept.is_none_or(|swept| now >= swept + window);
        if !grown && !due {
            return;
        }
        self.swept = Some(now);
        let start = now.checked_sub(window);
        for map in [&mut self.users, &mut self.servers] {
            map.retain(|_, spending| {
                if let Some(start) = start {
                    spending.forget_before(start);
                }
                !spending.is_idle()
            });
        }
        self.sweep_at = (self.users.len().max(self.servers.len()) * 2).max(MIN_SWEEP);
    }
}

/// An admitted command: run it with clients carrying [`Admission::meter`]. When the admission
/// is dropped (the command answered, failed or was cancelled), what the meter counted is
/// charged to the user and the server in place of the estimate.
pub struct Admission {
    shares: Shares,
    user: u64,
    server: Option<u64>,
    reserved: (u32, u32),
    meter: psn::Meter,
    /// Requests a unit test's pretend command sent (no PSN client there to count them).
    #[cfg(test)]
    sent_in_test: u64,
}

impl Admission {
    /// The meter the command's PSN clients count in.
    pub fn meter(&self) -> psn::Meter {
        self.meter.clone()
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.shares.settle(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(60);

    fn shares(user: u32, server: u32) -> Shares {
        Shares::new(ShareLimits {
            user,
            server,
            window: WINDOW,
        })
    }

    /// Runs an admitted command that sends `requests` requests.
    fn spend(mut admission: Admission, requests: u64) {
        admission.sent_in_test = requests;
    }

    #[test]
    fn defaults_give_a_user_a_quarter_and_a_server_half_but_never_less_than_a_command() {
        let defaults = ShareLimits::defaults(90, WINDOW);
        assert_eq!((defaults.user, defaults.server), (22, 45));
        let small = ShareLimits::defaults(40, WINDOW);
        assert_eq!((small.user, small.server), (cost::MAX, 20));
        let big = ShareLimits::defaults(1_000, WINDOW);
        assert_eq!((big.user, big.server), (250, 500));
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_slides_and_a_refusal_names_when_enough_of_it_has_passed() {
        let shares = shares(6, 100);
        spend(shares.admit(1, Some(10), 3).unwrap(), 3);
        tokio::time::advance(Duration::from_secs(20)).await;
        spend(shares.admit(1, Some(10), 3).unwrap(), 2);
        assert_eq!(shares.user_used(1), 5);
        // 5 used of 6: a 3-request command waits until the first charge (3) leaves, 40 s on.
        let refusal = shares.admit(1, Some(10), 3).err().unwrap();
        assert_eq!(refusal.kind, ShareKind::User);
        assert_eq!(refusal.retry_after, Duration::from_secs(40));
        // A 1-request command still fits; nothing was reserved by the refusal.
        assert_eq!(shares.user_used(1), 5);
        spend(shares.admit(1, Some(10), 1).unwrap(), 1);
        assert!(shares.admit(1, Some(10), 1).is_err());

        tokio::time::advance(Duration::from_secs(40)).await;
        assert_eq!(shares.user_used(1), 3, "the first charge left the window");
        spend(shares.admit(1, Some(10), 3).unwrap(), 3);
        // The two charges left (2 and 1 at 20 s, 3 now) free 3 requests 20 s later.
        assert_eq!(
            shares.admit(1, Some(10), 3).err().unwrap().retry_after,
            Duration::from_secs(20)
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(shares.user_used(1), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn running_commands_count_with_their_estimate_then_with_what_they_sent() {
        let shares = shares(10, 100);
        let first = shares.admit(1, None, 6).unwrap();
        assert_eq!(shares.user_used(1), 6);
        // Spam while the first runs: its estimate holds the share, whose end no time frees.
        let refusal = shares.admit(1, None, 6).err().unwrap();
        assert_eq!(refusal.retry_after, WINDOW);
        spend(first, 1);
        assert_eq!(
            shares.user_used(1),
            1,
            "charged what it sent, not the estimate"
        );
        let cached = shares.admit(1, None, 6).unwrap();
        drop(cached);
        assert_eq!(
            shares.user_used(1),
            1,
            "a command answered from caches costs nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_share_binds_its_members_together_and_a_user_alone() {
        let shares = shares(6, 10);
        spend(shares.admit(1, Some(10), 6).unwrap(), 6);
        assert_eq!(
            shares.admit(1, Some(10), 1).err().unwrap().kind,
            ShareKind::User
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        spend(shares.admit(2, Some(10), 3).unwrap(), 3);
        // Member 2 has 3 of 6 left, but the server only 1 of 10 until 30 s from now.
        let refusal = shares.admit(2, Some(10), 3).err().unwrap();
        assert_eq!(refusal.kind, ShareKind::Server);
        assert_eq!(refusal.retry_after, Duration::from_secs(30));
        assert_eq!(shares.server_used(10), 9);
        // Another server is not affected by this one.
        spend(shares.admit(2, Some(11), 3).unwrap(), 3);
        assert_eq!(shares.server_used(11), 3);
        assert_eq!(shares.user_used(2), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn direct_messages_count_to_the_user_only() {
        let shares = shares(6, 10);
        spend(shares.admit(1, None, 4).unwrap(), 4);
        assert_eq!((shares.user_used(1), shares.server_used(10)), (4, 0));
        // ...and the user's share is one, in DMs and servers alike.
        let refusal = shares.admit(1, Some(10), 3).err().unwrap();
        assert_eq!(refusal.kind, ShareKind::User);
        assert_eq!(refusal.retry_after, WINDOW);
        assert_eq!(
            shares.server_used(10),
            0,
            "a refused command reserves nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_command_dearer_than_a_share_runs_when_the_share_is_unused() {
        let shares = shares(6, 10);
        let dear = shares.admit(1, Some(10), cost::MAX).unwrap();
        assert_eq!(shares.user_used(1), 6);
        spend(dear, 20);
        assert_eq!(shares.user_used(1), 20);
        let refusal = shares.admit(1, Some(10), cost::MAX).err().unwrap();
        assert_eq!(refusal.retry_after, WINDOW);
        tokio::time::advance(WINDOW).await;
        assert!(shares.admit(1, Some(10), cost::MAX).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn spare_work_counts_but_leaves_a_cap_to_the_user_and_half_to_the_server() {
        let shares = shares(40, 60);
        // The user may spend 40 - 15 on fill-ins, the server 60 - 30.
        let mut spent = 0;
        while let Ok(admission) = shares.admit_spare(1, Some(10), 1) {
            spend(admission, 1);
            spent += 1;
        }
        assert_eq!(spent, 25);
        assert_eq!((shares.user_used(1), shares.server_used(10)), (25, 25));
        // What it left is the user's own: a command of a whole cap still runs.
        spend(
            shares.admit(1, Some(10), cost::CAP).unwrap(),
            cost::CAP.into(),
        );
        // Another member's fill-in stops at the server's half.
        let mut other = 0;
        while let Ok(admission) = shares.admit_spare(2, Some(10), 1) {
            spend(admission, 1);
            other += 1;
        }
        assert_eq!(other, 0, "the server has {} used", shares.server_used(10));
        // ...while the member's own commands still fit the server's rest.
        assert!(shares.admit(2, Some(10), 5).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_users_are_forgotten() {
        let shares = shares(6, 10);
        for user in 0..(MIN_SWEEP as u64 + 10) {
            spend(shares.admit(user, None, 1).unwrap(), 1);
        }
        tokio::time::advance(WINDOW * 2).await;
        spend(shares.admit(u64::MAX, None, 1).unwrap(), 1);
        let ledger = shares.ledger.lock().unwrap();
        assert_eq!(ledger.users.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_standing_names_this_servers_members_near_their_share_and_the_totals() {
        let shares = shares(10, 100);
        spend(shares.admit(1, Some(10), 9).unwrap(), 9);
        spend(shares.admit(2, Some(10), 3).unwrap(), 3);
        // Near the share, but from another server only: not this server's to see.
        spend(shares.admit(3, Some(11), 8).unwrap(), 8);
        spend(shares.admit(4, None, 8).unwrap(), 8);
        let standing = shares.standing(10);
        assert_eq!(standing.commands_used, 28);
        assert_eq!(standing.server_used, 12);
        assert_eq!(standing.members_near_limit, [(1, 9)]);
        assert_eq!(shares.standing(11).members_near_limit, [(3, 8)]);
        assert_eq!(
            shares.overview(),
            Overview {
                commands_used: 28,
                users_near_limit: 3,
                servers_near_limit: 0,
            }
        );
        tokio::time::advance(WINDOW).await;
        assert_eq!(
            shares.standing(10),
            Standing {
                limits: shares.limits(),
                ..Standing::default()
            }
        );
    }

    #[test]
    fn a_refusal_tells_the_user_rate_limit_and_when_to_retry_only_to_them() {
        for (kind, whose) in [
            (ShareKind::User, "You have"),
            (ShareKind::Server, "This server"),
        ] {
            let before = chrono::Utc::now().timestamp();
            let err = CommandError::from(Refusal {
                kind,
                retry_after: Duration::from_millis(40_500),
            });
            let reply = crate::errors::error_reply(&err);
            assert!(reply.ephemeral());
            let embed = &reply.embeds()[0];
            let text = format!("{:?} {:?}", embed.title, embed.description).to_lowercase();
            assert!(text.contains("rate limit"), "{text}");
            assert!(text.contains(&whose.to_lowercase()), "{text}");
            let at: i64 = text
                .split("<t:")
                .nth(1)
                .and_then(|rest| rest.split(":r>").next())
                .and_then(|ts| ts.parse().ok())
                .unwrap_or_else(|| panic!("no <t:UNIX:R> in {text}"));
            // Rounded up: never before the share allows the command.
            assert!(
                (before + 41..=chrono::Utc::now().timestamp() + 42).contains(&at),
                "{at}"
            );
        }
    }

    #[test]
    fn the_parts_of_several_processes_add_up_to_no_more_than_the_whole() {
        let whole = ShareLimits {
            user: 22,
            server: 45,
            window: Duration::from_secs(900),
        };
        let shares = Shares::new(whole);
        shares.share_among(3);
        let part = shares.limits();
        assert_eq!((part.user, part.server), (7, 15));
        assert!(part.user * 3 <= whole.user && part.server * 3 <= whole.server);
        shares.share_among(1);
        assert_eq!(shares.limits(), whole, "alone again, the whole");
    }
}
