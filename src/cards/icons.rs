//! PSN's title and trophy pictures for the cards: fetched only from the configured image hosts
//! (`PSN_IMAGE_HOSTS`), at most [`MAX_ICON_BYTES`] each within [`FETCH_TIMEOUT`], decoded only
//! when the PNG header says it is at most [`MAX_ICON_PIXELS`] a side, shrunk to the largest slot
//! a card has, and kept in a bounded in-memory cache. These are not trophy-API requests: they
//! never spend the PSN budget.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use resvg::tiny_skia::{FilterQuality, Pixmap, PixmapPaint, Transform};
use tokio::time::Instant;

/// Pictures by URL, as [`super::render`] takes them.
pub type Icons = HashMap<String, Arc<Pixmap>>;

/// The most one picture may weigh; a bigger answer is abandoned as it streams.
pub const MAX_ICON_BYTES: usize = 1024 * 1024;
/// The widest and tallest picture decoded (a bigger one would cost memory for nothing).
pub const MAX_ICON_PIXELS: u32 = 2048;
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest slot on a card: pictures are kept at most this size.
const KEPT_PIXELS: u32 = 256;
/// Pictures kept (≤ 256 kB each at [`KEPT_PIXELS`]: at most 32 MB).
const CACHE_ENTRIES: usize = 128;
/// How long a picture that could not be had is not asked for again (a host that is down should
/// not hold every post up for its timeout).
const FAILURE_MEMORY: Duration = Duration::from_secs(10 * 60);

/// The hosts of PSN's pictures, as seen in recorded answers.
pub const DEFAULT_HOSTS: [&str; 3] = [
    "image.api.playstation.com",
    "psnobj.prod.dl.playstation.net",
    "image.api.np.km.playstation.net",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IconError {
    #[error("not a URL of an allowed image host")]
    HostNotAllowed,
    #[error("the picture could not be fetched: {0}")]
    Fetch(String),
    #[error("the picture is over {MAX_ICON_BYTES} bytes")]
    TooBig,
    #[error("not a PNG of at most {MAX_ICON_PIXELS} pixels a side")]
    Undecodable,
    #[error("fetched recently without success")]
    FailedRecently,
}

/// Whether `url` is an http(s) URL on one of `hosts` (a host name, or `host:port`).
pub fn host_allowed(url: &str, hosts: &[String]) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    let with_port = url.port().map(|port| format!("{host}:{port}"));
    hosts
        .iter()
        .any(|allowed| *allowed == host || Some(allowed) == with_port.as_ref())
}

/// A PNG's size from its header, before anything is decoded.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let read =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((read(16), read(20)))
}

/// `bytes` as a picture of at most [`KEPT_PIXELS`] a side, when it is a PNG within the caps.
pub fn decode(bytes: &[u8]) -> Result<Pixmap, IconError> {
    let (width, height) = png_size(bytes).ok_or(IconError::Undecodable)?;
    if width == 0 || height == 0 || width > MAX_ICON_PIXELS || height > MAX_ICON_PIXELS {
        return Err(IconError::Undecodable);
    }
    let full = Pixmap::decode_png(bytes).map_err(|_| IconError::Undecodable)?;
    let longest = full.width().max(full.height());
    if longest <= KEPT_PIXELS {
        return Ok(full);
    }
    let scale = KEPT_PIXELS as f32 / longest as f32;
    let (w, h) = (
        ((full.width() as f32 * scale).round() as u32).max(1),
        ((full.height() as f32 * scale).round() as u32).max(1),
    );
    let mut small = Pixmap::new(w, h).ok_or(IconError::Undecodable)?;
    small.draw_pixmap(
        0,
        0,
        full.as_ref(),
        &PixmapPaint {
            quality: FilterQuality::Bicubic,
            ..PixmapPaint::default()
        },
        Transform::from_scale(scale, scale),
        None,
    );
    Ok(small)
}

enum Entry {
    Icon(Arc<Pixmap>),
    Failed { until: Instant },
}

struct Cache {
    entries: HashMap<String, (Entry, u64)>,
    clock: u64,
}

impl Cache {
    fn get(&mut self, url: &str) -> Option<Result<Arc<Pixmap>, IconError>> {
        self.clock += 1;
        let clock = self.clock;
        let (entry, used) = self.entries.get_mut(url)?;
        *used = clock;
        match entry {
            Entry::Icon(icon) => Some(Ok(icon.clone())),
            Entry::Failed { until } if Instant::now() < *until => {
                Some(Err(IconError::FailedRecently))
            }
            Entry::Failed { .. } => None,
        }
    }

    fn put(&mut self, url: &str, entry: Entry) {
        if self.entries.len() >= CACHE_ENTRIES && !self.entries.contains_key(url) {
            // The least recently used goes.
            if let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(url, _)| url.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        self.clock += 1;
        self.entries.insert(url.to_string(), (entry, self.clock));
    }
}

/// Fetches the cards' pictures; one per process, shared.
pub struct IconFetcher {
    http: reqwest::Client,
    hosts: Vec<String>,
    cache: Mutex<Cache>,
}

impl IconFetcher {
    /// A fetcher for pictures on `hosts` (lower-case host names or `host:port`).
    pub fn new(hosts: Vec<String>) -> IconFetcher {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            // A redirect could lead off the allowed hosts.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        IconFetcher {
            http,
            hosts,
            cache: Mutex::new(Cache {
                entries: HashMap::new(),
                clock: 0,
            }),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every picture of `urls` that could be had (the others are left out, and logged).
    pub async fn fetch_all(&self, urls: &[&str]) -> Icons {
        let results = futures::future::join_all(urls.iter().map(|url| self.fetch(url))).await;
        let mut icons = Icons::new();
        for (url, result) in urls.iter().zip(results) {
            match result {
                Ok(icon) => {
                    icons.insert(url.to_string(), icon);
                }
                Err(error) => tracing::debug!(%error, "a card goes without one of its pictures"),
            }
        }
        icons
    }

    pub async fn fetch(&self, url: &str) -> Result<Arc<Pixmap>, IconError> {
        if !host_allowed(url, &self.hosts) {
            return Err(IconError::HostNotAllowed);
        }
        if let Some(known) = self.cache().get(url) {
            return known;
        }
        let fetched = self.download(url).await.and_then(|bytes| decode(&bytes));
        let entry = match &fetched {
            Ok(icon) => Entry::Icon(Arc::new(icon.clone())),
            Err(_) => Entry::Failed {
                until: Instant::now() + FAILURE_MEMORY,
            },
        };
        self.cache().put(url, entry);
        fetched.map(Arc::new)
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, IconError> {
        let fetch_error = |e: reqwest::Error| IconError::Fetch(e.without_url().to_string());
        let mut response = self.http.get(url).send().await.map_err(fetch_error)?;
        if !response.status().is_success() {
            return Err(IconError::Fetch(format!("status {}", response.status())));
        }
        if response
            .content_length()
            .is_some_and(|length| length > MAX_ICON_BYTES as u64)
        {
            return Err(IconError::TooBig);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
            if bytes.len() + chunk.len() > MAX_ICON_BYTES {
                return Err(IconError::TooBig);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        Pixmap::new(width, height)
            .expect("pixmap")
            .encode_png()
            .expect("png")
    }

    #[test]
    fn only_listed_hosts_are_allowed() {
        let hosts = vec![
            "image.api.playstation.com".to_string(),
            "127.0.0.1:9000".to_string(),
        ];
        assert!(host_allowed(
            "https://image.api.playstation.com/a/b.png",
            &hosts
        ));
        assert!(host_allowed(
            "https://IMAGE.api.playstation.com/a.png",
            &hosts
        ));
        assert!(host_allowed("http://127.0.0.1:9000/icons/a.png", &hosts));
        assert!(!host_allowed("http://127.0.0.1:9001/icons/a.png", &hosts));
        assert!(!host_allowed(
            "https://image.api.playstation.com.evil.example/a.png",
            &hosts
        ));
        assert!(!host_allowed("file:///etc/passwd", &hosts));
        assert!(!host_allowed("not a url", &hosts));
    }

    #[test]
    fn decoding_is_capped_and_shrinks_to_the_largest_slot() {
        assert_eq!(
            decode(&png(64, 32)).map(|p| (p.width(), p.height())),
            Ok((64, 32))
        );
        assert_eq!(
            decode(&png(1024, 512)).map(|p| (p.width(), p.height())),
            Ok((256, 128))
        );
        assert_eq!(
            decode(&png(MAX_ICON_PIXELS + 1, 1)).err(),
            Some(IconError::Undecodable)
        );
        assert_eq!(decode(b"GIF89a....").err(), Some(IconError::Undecodable));
        // A header claiming a small size on a broken body still fails cleanly.
        let mut broken = png(8, 8);
        broken.truncate(30);
        assert_eq!(decode(&broken).err(), Some(IconError::Undecodable));
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_pictures() {
        let mut cache = Cache {
            entries: HashMap::new(),
            clock: 0,
        };
        let icon = Arc::new(Pixmap::new(1, 1).expect("pixmap"));
        for i in 0..CACHE_ENTRIES + 10 {
            cache.put(&format!("u{i}"), Entry::Icon(icon.clone()));
            // The first stays in use, so it is never the one to go.
            assert!(cache.get("u0").is_some());
        }
        assert_eq!(cache.entries.len(), CACHE_ENTRIES);
        assert!(cache.get("u1").is_none());
    }
}
