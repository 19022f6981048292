//! The PSN client's title definitions in the database: loaded at start, saved as PSN answers
//! them (so a crash keeps what was fetched), and the whole cache once more at a clean stop.
//! Titles' earned rates are saved the same way, as earned states come in (`/rarest` ranks a
//! tracked player's stored library with them).

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

/// Saves title definitions and earned rates as the client fetches them, until `cancel`: each
/// wake-up saves everything fetched since the last one, in one statement per language (and one
/// for the rates).
pub fn spawn_title_saver(
    store: Store,
    client: psn::Client,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let stop = tokio::select! {
                _ = cancel.cancelled() => true,
                () = client.fetched() => false,
            };
            // At the stop too: rates are not in the cache the clean stop saves.
            save_fetched(&store, &client).await;
            if stop {
                break;
            }
        }
    })
}

/// Saves what the client fetched since the last save (one step of the saver). A failed save of
/// rates is logged; the next earned state of the title brings them again.
pub async fn save_fetched(store: &Store, client: &psn::Client) {
    let fetched = client.take_fetched();
    save_by_language(store, fetched.titles).await;
    if !fetched.rates.is_empty() {
        if let Err(err) = store.save_trophy_rates(&fetched.rates).await {
            tracing::warn!(%err, titles = fetched.rates.len(), "could not save earned rates");
        }
    }
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
