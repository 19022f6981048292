//! Discord's per-route rate limits, counted on the fake's clock: every REST answer carries
//! `X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket`, and a request over its bucket's limit
//! gets a 429 with `retry_after`, as Discord documents
//! (<https://discord.com/developers/docs/topics/rate-limits>).
//!
//! A bucket is one route (method and path with ids replaced) for one major parameter (the
//! channel, guild, webhook or interaction in the path): Discord limits each channel's message
//! creates separately. Because the fake's clock only moves when a test advances it, a bucket
//! that is used up stays used up until then.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How many requests one bucket allows per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteLimit {
    pub limit: u32,
    pub per: Duration,
}

impl RouteLimit {
    pub const fn new(limit: u32, per: Duration) -> Self {
        Self { limit, per }
    }
}

/// Discord's message create limit: 5 per 5 seconds per channel.
pub const MESSAGE_CREATE_LIMIT: RouteLimit = RouteLimit::new(5, Duration::from_secs(5));
/// Every other route: roomy, so only message creates run out in ordinary tests.
pub const OTHER_ROUTE_LIMIT: RouteLimit = RouteLimit::new(50, Duration::from_secs(1));

/// The rate-limit headers of one answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BucketHeaders {
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window ends.
    pub reset_after: f64,
    /// The window's end, Unix seconds.
    pub reset: f64,
    pub bucket: String,
}

impl BucketHeaders {
    pub fn to_headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", format!("{:.3}", self.reset)),
            (
                "x-ratelimit-reset-after",
                format!("{:.3}", self.reset_after),
            ),
            ("x-ratelimit-bucket", self.bucket.clone()),
        ]
    }
}

/// What a request's bucket says.
pub(crate) enum Admission {
    /// Counted; answer with these headers.
    Allowed(BucketHeaders),
    /// Over the limit: answer 429, retry after `reset_after`.
    Exhausted(BucketHeaders),
}

struct Window {
    used: u32,
    ends: DateTime<Utc>,
}

#[derive(Default)]
pub(crate) struct Buckets {
    windows: HashMap<String, Window>,
}

/// A route's bucket: its Discord-style hash (the same for every channel) and its key (one per
/// major parameter).
pub(crate) struct Route {
    pub hash: String,
    pub key: String,
    pub limit: RouteLimit,
}

impl Route {
    pub fn of(method: &str, path: &str, message_create: RouteLimit, other: RouteLimit) -> Self {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let major_len = match segments.first().copied() {
            Some("channels" | "guilds" | "interactions") => 2,
            Some("webhooks") => 3,
            _ => 0,
        };
        let major = segments
            .iter()
            .take(major_len)
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        let template: Vec<&str> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i >= 1 && (s.parse::<u64>().is_ok() || (major_len == 3 && i == 2)) {
                    "{id}"
                } else {
                    s
                }
            })
            .collect();
        let template = format!("{method} /{}", template.join("/"));
        let limit = match (method, segments.as_slice()) {
            ("POST", ["channels", _, "messages"]) => message_create,
            _ => other,
        };
        Self {
            hash: bucket_hash(&template),
            key: format!("{template} @{major}"),
            limit,
        }
    }
}

/// A stable hex name for a route, like Discord's opaque bucket hashes.
fn bucket_hash(template: &str) -> String {
    // FNV-1a: stable across runs, unlike the standard library's hasher.
    let hash = template.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

impl Buckets {
    /// Counts a request against its bucket at `now`.
    pub fn admit(&mut self, route: &Route, now: DateTime<Utc>) -> Admission {
        let per = chrono::Duration::from_std(route.limit.per).unwrap_or(chrono::Duration::MAX);
        let window = self
            .windows
            .entry(route.key.clone())
            .or_insert_with(|| Window { used: 0, ends: now });
        if window.ends <= now {
            window.used = 0;
            window.ends = now.checked_add_signed(per).unwrap_or(now);
        }
        let allowed = window.used < route.limit.limit;
        if allowed {
            window.used += 1;
        }
        let reset_after = (window.ends - now).num_milliseconds().max(0) as f64 / 1000.0;
        let headers = BucketHeaders {
            limit: route.limit.limit,
            remaining: route.limit.limit.saturating_sub(window.used),
            reset_after,
            reset: window.ends.timestamp_millis() as f64 / 1000.0,
            bucket: route.hash.clone(),
        };
        if allowed {
            Admission::Allowed(headers)
        } else {
            Admission::Exhausted(headers)
        }
    }

    /// The bucket's headers without counting a request (for injected faults).
    pub fn peek(&self, route: &Route, now: DateTime<Utc>) -> BucketHeaders {
        let (used, ends) = match self.windows.get(&route.key) {
            Some(window) if window.ends > now => (window.used, window.ends),
            _ => (0, now),
        };
        BucketHeaders {
            limit: route.limit.limit,
            remaining: route.limit.limit.saturating_sub(used),
            reset_after: (ends - now).num_milliseconds().max(0) as f64 / 1000.0,
            reset: ends.timestamp_millis() as f64 / 1000.0,
            bucket: route.hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).expect("a valid time")
    }

    fn route(method: &str, path: &str) -> Route {
        Route::of(method, path, MESSAGE_CREATE_LIMIT, OTHER_ROUTE_LIMIT)
    }

    #[test]
    fn message_creates_are_limited_per_channel_and_refill_after_the_window() {
        let mut buckets = Buckets::default();
        let channel_a = route("POST", "/channels/10/messages");
        let channel_b = route("POST", "/channels/11/messages");
        assert_eq!(channel_a.hash, channel_b.hash, "one route, one bucket hash");
        for expected_remaining in (0..5).rev() {
            match buckets.admit(&channel_a, at(0)) {
                Admission::Allowed(h) => assert_eq!(h.remaining, expected_remaining),
                Admission::Exhausted(_) => panic!("within the limit"),
            }
        }
        match buckets.admit(&channel_a, at(2)) {
            Admission::Exhausted(h) => {
                assert_eq!(h.remaining, 0);
                assert!((h.reset_after - 3.0).abs() < 1e-9, "{h:?}");
            }
            Admission::Allowed(_) => panic!("the sixth in 5 s is over the limit"),
        }
        assert!(matches!(
            buckets.admit(&channel_b, at(2)),
            Admission::Allowed(_)
        ));
        assert!(matches!(
            buckets.admit(&channel_a, at(5)),
            Admission::Allowed(_)
        ));
    }

    #[test]
    fn ids_are_replaced_in_the_bucket_but_the_major_parameter_keys_it() {
        let edit_a = route("PATCH", "/channels/10/messages/77");
        let edit_b = route("PATCH", "/channels/10/messages/78");
        assert_eq!(edit_a.key, edit_b.key);
        assert_ne!(edit_a.key, route("PATCH", "/channels/12/messages/77").key);
        assert_eq!(edit_a.limit, OTHER_ROUTE_LIMIT);
        let hook = route("POST", "/webhooks/1/token-a");
        assert_eq!(hook.hash, route("POST", "/webhooks/1/token-b").hash);
        assert_ne!(hook.key, route("POST", "/webhooks/1/token-b").key);
    }
}
