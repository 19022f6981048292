//! The PSN client's title definitions in the database: loaded at start, saved as PSN answers
//! them (so a crash keeps what was fetched), and the whole cache once more at a clean stop.

use std::collections::BTreeMap;

use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// Primes the client with every stored title definition, each in its language.
pub async fn load_title_definitions(store: &Store, client: &psn::Client) {
    let languages = match store.title_definition_languages().await {
        Ok(languages) => languages,
        Err(err) => {
            tracing::warn!(%err, "could not load cached title definitions");
            return;
        }
    };
    for language in languages {
        match store.load_title_definitions(&language).await {
            Ok(titles) => {
                tracing::info!(titles = titles.len(), %language,
                    "title definitions loaded from the database");
                let client = client.in_language(&language);
                titles.into_iter().for_each(|t| client.prime_title(t));
            }
            Err(err) => tracing::warn!(%err, %language, "could not load cached title definitions"),
        }
    }
}

/// Saves every cached title definition under its language (a clean stop).
pub async fn save_cached_title_definitions(store: &Store, client: &psn::Client) {
    save_by_language(store, client.cached_titles()).await;
}

/// Saves title definitions as the client fetches them, until `cancel`: each wake-up saves
/// everything fetched since the last one, in one statement per language.
pub fn spawn_title_saver(
    store: Store,
    client: psn::Client,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                () = client.titles_fetched() => {}
            }
            save_by_language(&store, client.take_fetched_titles()).await;
        }
    })
}

/// A failed save is logged: the definitions stay in the client's cache, and the save at a
/// clean stop writes the whole cache.
async fn save_by_language(store: &Store, titles: Vec<(String, psn::TitleDefinition)>) {
    let mut by_language: BTreeMap<String, Vec<psn::TitleDefinition>> = BTreeMap::new();
    for (language, title) in titles {
        by_language.entry(language).or_default().push(title);
    }
    for (language, titles) in by_language {
        if let Err(err) = store.save_title_definitions(&titles, &language).await {
            tracing::warn!(%err, %language, "could not save title definitions");
        }
    }
}
