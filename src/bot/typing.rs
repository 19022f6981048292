//! Autocomplete asks PSN at most once per member within a few minutes: what that fetched (the
//! player's recent titles) is cached for the following keystrokes and the command, and other
//! keystrokes answer from caches only. Process-local.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// How long after one of a member's keystrokes asked PSN the next may: as long as what it
/// fetched stays cached for autocomplete.
pub const FETCH_INTERVAL: Duration = psn::TYPED_TITLES_TTL;

/// Past this many members the ledger forgets those whose interval is over.
const SWEEP_AT: usize = 1_024;

/// When each member's keystrokes last asked PSN. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct TypingFetches {
    last: Arc<Mutex<HashMap<u64, Instant>>>,
}

impl TypingFetches {
    /// Whether a keystroke of `user` may ask PSN now; if so, it counts as their fetch.
    pub fn try_fetch(&self, user: u64) -> bool {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() >= SWEEP_AT {
            last.retain(|_, at| now.duration_since(*at) < FETCH_INTERVAL);
        }
        match last.get(&user) {
            Some(at) if now.duration_since(*at) < FETCH_INTERVAL => false,
            _ => {
                last.insert(user, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_member_fetches_once_per_interval_and_members_apart() {
        let fetches = TypingFetches::default();
        assert!(fetches.try_fetch(1));
        assert!(
            !fetches.try_fetch(1),
            "the next keystroke answers from caches"
        );
        assert!(fetches.try_fetch(2), "another member has their own");
        tokio::time::advance(FETCH_INTERVAL - Duration::from_secs(1)).await;
        assert!(!fetches.try_fetch(1));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(fetches.try_fetch(1));
    }

    #[tokio::test(start_paused = true)]
    async fn members_whose_interval_is_over_are_forgotten() {
        let fetches = TypingFetches::default();
        for user in 0..SWEEP_AT as u64 {
            assert!(fetches.try_fetch(user));
        }
        tokio::time::advance(FETCH_INTERVAL).await;
        assert!(fetches.try_fetch(u64::MAX));
        assert_eq!(fetches.last.lock().unwrap().len(), 1);
    }
}
