//! Small in-memory caches with a time to live and a size bound. Their contents can be read out
//! and put back (`Client::cached_titles` / `Client::prime_title`) so a store can persist them.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

pub(crate) struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    ttl: Duration,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<V> {
        self.get_within(key, self.ttl)
    }

    /// The entry if it was put in less than `max_age` ago (at most the time to live).
    pub(crate) fn get_within(&self, key: &K, max_age: Duration) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((value, at)) if at.elapsed() < max_age.min(self.ttl) => Some(value.clone()),
            Some((_, at)) if at.elapsed() < self.ttl => None,
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn insert(&self, key: K, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    pub(crate) fn remove(&self, key: &K) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
    }

    /// Every live entry.
    pub(crate) fn entries(&self) -> Vec<(K, V)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .iter()
            .filter(|(_, (_, at))| at.elapsed() < self.ttl)
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn entries_expire_and_the_size_stays_bounded() {
        let cache = TtlCache::new(Duration::from_secs(60), 2);
        cache.insert("a", 1);
        tokio::time::advance(Duration::from_secs(1)).await;
        cache.insert("b", 2);
        cache.insert("c", 3);
        assert_eq!(cache.get(&"a"), None, "the oldest made room");
        assert_eq!(cache.get(&"b"), Some(2));
        assert_eq!(cache.entries().len(), 2);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(cache.get(&"c"), None);
        assert!(cache.entries().is_empty());
    }
}
