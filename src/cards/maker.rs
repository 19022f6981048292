//! Making a card for a message: its pictures fetched on the runtime, the drawing done off it
//! (`spawn_blocking`) with at most [`CONCURRENT_RENDERS`] at once. A card that cannot be made is
//! `None`: the message goes without it.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{draw, CardSpec, IconFetcher, FILENAME};
use crate::model::reply::Attachment;

/// Drawings at once (each takes a core for tens of milliseconds).
pub const CONCURRENT_RENDERS: usize = 2;

pub struct CardMaker {
    icons: IconFetcher,
    renders: Semaphore,
}

impl CardMaker {
    pub fn new(image_hosts: Vec<String>) -> Arc<CardMaker> {
        Arc::new(CardMaker {
            icons: IconFetcher::new(image_hosts),
            renders: Semaphore::new(CONCURRENT_RENDERS),
        })
    }

    /// `spec` drawn as `card.png`, or `None` (logged) when it cannot be.
    pub async fn make(&self, spec: &CardSpec) -> Option<Attachment> {
        let icons = self.icons.fetch_all(&spec.icon_urls()).await;
        let _permit = self.renders.acquire().await.ok()?;
        let spec = spec.clone();
        match tokio::task::spawn_blocking(move || draw::render(&spec, &icons)).await {
            Ok(Ok(png)) => Some(Attachment::png(FILENAME, png.bytes)),
            Ok(Err(error)) => {
                tracing::warn!(%error, "a card could not be drawn; the message goes without it");
                None
            }
            Err(error) => {
                tracing::warn!(%error, "drawing a card failed; the message goes without it");
                None
            }
        }
    }
}
