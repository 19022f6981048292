//! The pool of PSN credentials (`PSN_NPSSO=a,b,c`): each credential has a client of its own
//! (sign-in, refresh token, budget of `PSN_RATE_LIMIT`, health). Tracked accounts are spread
//! over the live credentials by rendezvous (highest-random-weight) hashing of the account ID
//! over the credentials' fingerprints, so adding or removing one credential moves only its own
//! share of the accounts. A credential PSN rejects leaves the pool until it signs in again; if
//! every one is rejected, all stay in (the bot then behaves as with one credential today).
//!
//! Credentials are named by their position (`psn-1`, `psn-2`, …) in logs, metrics and
//! `/track list`: never by the secret.

use std::sync::Arc;

use sha2::{Digest, Sha256};

/// One credential of the pool.
#[derive(Clone)]
pub struct Member {
    /// `psn-1`, `psn-2`, …: the credential's position in `PSN_NPSSO`.
    pub label: String,
    /// The NPSSO's fingerprint ([`crate::credential::npsso_fingerprint`]): the rendezvous key.
    pub fingerprint: String,
    /// The credential's own client (commands' priority; the tracker takes `background()`).
    pub client: psn::Client,
}

impl Member {
    /// Whether PSN currently rejects this credential (from its first rejected sign-in until one
    /// succeeds).
    pub fn is_rejected(&self) -> bool {
        self.client.watch_credential_rejection().borrow().is_some()
    }
}

/// What `/track list` and the metrics show of one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStanding {
    pub label: String,
    pub rejected: bool,
    /// Tracked accounts assigned to it now.
    pub accounts: usize,
    /// API requests it sent (tracker and commands).
    pub requests: u64,
    /// Requests its budget would let out at once now.
    pub budget_remaining: u32,
}

/// Cheap to clone; clones share the members.
#[derive(Clone)]
pub struct Pool {
    members: Arc<[Member]>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<&str> = self.members.iter().map(|m| m.label.as_str()).collect();
        f.debug_struct("Pool").field("members", &labels).finish()
    }
}

/// The label of the credential at `index` (0-based) in `PSN_NPSSO`.
pub fn label(index: usize) -> String {
    format!("psn-{}", index + 1)
}

/// The rendezvous weight of `account_id` on the credential with `fingerprint`: stable across
/// processes and restarts (SHA-256, not the process-seeded std hasher).
fn weight(fingerprint: &str, account_id: &str) -> u64 {
    let digest = Sha256::new()
        .chain_update(fingerprint.as_bytes())
        .chain_update([0u8])
        .chain_update(account_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// Of `candidates` (index, fingerprint), the one `account_id` goes to: the highest weight.
/// Removing a candidate moves only the accounts that were on it.
pub fn rendezvous<'a>(
    account_id: &str,
    candidates: impl IntoIterator<Item = (usize, &'a str)>,
) -> Option<usize> {
    candidates
        .into_iter()
        .max_by_key(|(index, fingerprint)| (weight(fingerprint, account_id), *index))
        .map(|(index, _)| index)
}

impl Pool {
    /// A pool of `members`; at least one (the configuration requires a credential).
    pub fn new(members: Vec<Member>) -> Pool {
        Pool {
            members: members.into(),
        }
    }

    /// A pool of one client, as the console and single-credential tests use it.
    pub fn single(client: psn::Client) -> Pool {
        Pool::new(vec![Member {
            label: label(0),
            fingerprint: String::new(),
            client,
        }])
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Indices of the credentials accounts may be assigned to: those PSN does not reject, or
    /// all of them when it rejects every one (nothing better to do than keep trying, as with
    /// one credential).
    pub fn live(&self) -> Vec<usize> {
        let live: Vec<usize> = (0..self.members.len())
            .filter(|&i| !self.members[i].is_rejected())
            .collect();
        if live.is_empty() {
            (0..self.members.len()).collect()
        } else {
            live
        }
    }

    /// Whether PSN rejects every credential of the pool.
    pub fn all_rejected(&self) -> bool {
        self.members.iter().all(Member::is_rejected)
    }

    /// The credential (index) polling `account_id`, among `live`.
    pub fn assigned_among(&self, account_id: &str, live: &[usize]) -> usize {
        rendezvous(
            account_id,
            live.iter()
                .map(|&i| (i, self.members[i].fingerprint.as_str())),
        )
        .unwrap_or(0)
    }

    /// The credential (index) polling `account_id` now.
    pub fn assigned(&self, account_id: &str) -> usize {
        self.assigned_among(account_id, &self.live())
    }

    /// The account ID behind `player` if any credential's client has looked it up.
    pub fn cached_account_id(&self, player: &psn::OnlineId) -> Option<String> {
        self.members
            .iter()
            .find_map(|m| m.client.cached_user(player))
            .map(|account| account.account_id)
    }

    /// The client a command about `account_id` (when known) uses: the player's assigned
    /// credential when its budget has room for `cost` now, else the live credential with the
    /// most room.
    pub fn command_client(&self, account_id: Option<&str>, cost: u32) -> &psn::Client {
        let live = self.live();
        let room = |i: usize| self.members[i].client.stats().budget_remaining;
        if let Some(account_id) = account_id {
            let assigned = self.assigned_among(account_id, &live);
            if room(assigned) >= cost.max(1) {
                return &self.members[assigned].client;
            }
        }
        let roomiest = live
            .iter()
            .copied()
            .max_by_key(|&i| (room(i), std::cmp::Reverse(i)))
            .unwrap_or(0);
        &self.members[roomiest].client
    }

    /// Each credential's standing, given the tracked account IDs (for the assignment counts).
    pub fn standings<'a>(
        &self,
        account_ids: impl IntoIterator<Item = &'a str>,
    ) -> Vec<MemberStanding> {
        let live = self.live();
        let mut accounts = vec![0usize; self.members.len()];
        for account_id in account_ids {
            accounts[self.assigned_among(account_id, &live)] += 1;
        }
        self.members
            .iter()
            .zip(accounts)
            .map(|(member, accounts)| {
                let stats = member.client.stats();
                MemberStanding {
                    label: member.label.clone(),
                    rejected: member.is_rejected(),
                    accounts,
                    requests: stats.tracker_requests + stats.command_requests,
                    budget_remaining: stats.budget_remaining,
                }
            })
            .collect()
    }

    /// The statistics of every credential's client added up (the pool as one budget).
    pub fn total_stats(&self) -> psn::ClientStats {
        self.members
            .iter()
            .map(|m| m.client.stats())
            .fold(psn::ClientStats::default(), |sum, s| psn::ClientStats {
                requests_sent: sum.requests_sent + s.requests_sent,
                tracker_requests: sum.tracker_requests + s.tracker_requests,
                tracker_borrowed: sum.tracker_borrowed + s.tracker_borrowed,
                command_requests: sum.command_requests + s.command_requests,
                sign_in_requests: sum.sign_in_requests + s.sign_in_requests,
                rate_limited: sum.rate_limited + s.rate_limited,
                budget_remaining: sum.budget_remaining.saturating_add(s.budget_remaining),
                cache_hits: sum.cache_hits + s.cache_hits,
                cache_misses: sum.cache_misses + s.cache_misses,
            })
    }

    /// Resolves when any credential is rejected or accepted again (the assignment changes).
    pub async fn changed(&self) {
        let mut watches: Vec<_> = self
            .members
            .iter()
            .map(|m| m.client.watch_credential_rejection())
            .collect();
        for watch in &mut watches {
            watch.borrow_and_update();
        }
        let waits = watches.iter_mut().map(|watch| Box::pin(watch.changed()));
        let _ = futures::future::select_all(waits).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprints(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| crate::credential::npsso_fingerprint(&psn::Secret::new(format!("npsso-{i}"))))
            .collect()
    }

    fn assign(account_id: &str, prints: &[String], live: &[usize]) -> usize {
        rendezvous(account_id, live.iter().map(|&i| (i, prints[i].as_str()))).expect("a credential")
    }

    #[test]
    fn removing_one_of_three_credentials_moves_only_its_accounts() {
        let prints = fingerprints(3);
        let accounts: Vec<String> = (0..3000).map(|n| format!("{n:020}")).collect();
        let before: Vec<usize> = accounts
            .iter()
            .map(|a| assign(a, &prints, &[0, 1, 2]))
            .collect();
        // Spread over all three, roughly evenly.
        for credential in 0..3 {
            let share = before.iter().filter(|&&c| c == credential).count();
            assert!(
                (800..=1200).contains(&share),
                "credential {credential}: {share}"
            );
        }
        let after: Vec<usize> = accounts
            .iter()
            .map(|a| assign(a, &prints, &[0, 2]))
            .collect();
        for (was, is) in before.iter().zip(&after) {
            if *was == 1 {
                assert_ne!(*is, 1);
            } else {
                assert_eq!(was, is, "an account not on the removed credential moved");
            }
        }
        // Both others take part of the removed one's accounts.
        let moved_to = |c: usize| {
            before
                .iter()
                .zip(&after)
                .filter(|(w, i)| **w == 1 && **i == c)
                .count()
        };
        assert!(moved_to(0) > 300 && moved_to(2) > 300);
        // Adding it back restores the first assignment exactly.
        let again: Vec<usize> = accounts
            .iter()
            .map(|a| assign(a, &prints, &[0, 1, 2]))
            .collect();
        assert_eq!(before, again);
    }

    #[test]
    fn the_assignment_does_not_depend_on_the_order_of_the_credentials() {
        let prints = fingerprints(3);
        for n in 0..200 {
            let account = format!("account-{n}");
            let forward = rendezvous(&account, [0, 1, 2].map(|i| (i, prints[i].as_str())));
            let backward = rendezvous(&account, [2, 1, 0].map(|i| (i, prints[i].as_str())));
            assert_eq!(forward, backward);
        }
    }

    /// A member whose client never sends anything, with `requests` per 15 minutes.
    fn member(index: usize, requests: u32) -> Member {
        let npsso = psn::Secret::new(format!("npsso-{index}"));
        let mut config =
            psn::Config::new(psn::ApiKind::Modern, psn::Credential::Npsso(npsso.clone()))
                .with_base_url("http://127.0.0.1:9");
        config.rate_limit = format!("{requests}/15m").parse().expect("a rate limit");
        Member {
            label: label(index),
            fingerprint: crate::credential::npsso_fingerprint(&npsso),
            client: psn::Client::new(config).expect("client"),
        }
    }

    fn index_of(pool: &Pool, client: &psn::Client) -> usize {
        let room = client.stats().budget_remaining;
        let chosen: Vec<usize> = (0..pool.len())
            .filter(|&i| pool.members()[i].client.stats().budget_remaining == room)
            .collect();
        assert_eq!(chosen.len(), 1, "budgets told apart");
        chosen[0]
    }

    #[test]
    fn a_command_takes_the_players_credential_when_it_has_room_else_the_roomiest() {
        // Budgets told apart by their size: 300, 400, 500 requests.
        let pool = Pool::new((0..3).map(|i| member(i, 300 + 100 * i as u32)).collect());
        for n in 0..30 {
            let account = format!("account-{n}");
            let assigned = pool.assigned(&account);
            assert_eq!(
                index_of(&pool, pool.command_client(Some(&account), 15)),
                assigned
            );
        }
        // Unknown player: the most room.
        assert_eq!(index_of(&pool, pool.command_client(None, 15)), 2);

        // The player's credential has less room than the command may cost: the roomiest.
        let small = Pool::new(vec![member(0, 20), member(1, 300), member(2, 200)]);
        let on_small = (0..100)
            .map(|n| format!("account-{n}"))
            .find(|a| small.assigned(a) == 0)
            .expect("an account of psn-1");
        assert_eq!(
            index_of(&small, small.command_client(Some(&on_small), 15)),
            1
        );
        assert_eq!(
            index_of(&small, small.command_client(Some(&on_small), 1)),
            0
        );
    }

    #[test]
    fn labels_name_positions_not_secrets() {
        assert_eq!(label(0), "psn-1");
        assert_eq!(label(9), "psn-10");
    }
}
