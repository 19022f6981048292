//! The slash commands' logic, written once for the console and the bot: read the input, ask the
//! PSN client, hand model values to `render`. No formatting here.

pub mod compare;
pub mod game;
pub mod help;
pub mod leaderboard;
pub mod link;
pub mod page;
pub mod rarest;
pub mod settings;
pub mod track;
pub mod trophies;

pub use game::{autocomplete_game, Choice};

use psn::{Account, Client, TitleProgress};

use crate::store::Store;

/// How many recent titles commands ask for: one page of the modern API, and always the same
/// count so the client's per-user cache serves autocomplete and the next command.
pub const RECENT_TITLES: u32 = 50;

/// What every command works with: the PSN client, and the store where there is one.
#[derive(Clone)]
pub struct Services {
    pub client: Client,
    /// The tracker's stored libraries (the bot has them; the console does not).
    library: Option<Store>,
}

impl Services {
    pub fn new(client: Client) -> Services {
        Services {
            client,
            library: None,
        }
    }

    /// Game names are then resolved and autocompleted over a tracked player's whole stored
    /// library, without asking PSN.
    pub fn with_library(mut self, store: Store) -> Services {
        self.library = Some(store);
        self
    }

    /// The same services asking PSN for names in `language` (a server's choice); `None` keeps
    /// the client's default. Budget, sign-in and caches stay shared.
    pub fn in_language(&self, language: Option<&str>) -> Services {
        match language {
            Some(language) if language != self.client.language() => Services {
                client: self.client.in_language(language),
                library: self.library.clone(),
            },
            _ => self.clone(),
        }
    }

    /// A tracked player's whole library as the tracker last stored it; `None` when the player
    /// is not tracked (or not checked yet), or the store cannot answer.
    pub(crate) async fn stored_library(&self, account: &Account) -> Option<Vec<TitleProgress>> {
        let store = self.library.as_ref()?;
        match store.user_library(&account.account_id).await {
            Ok(titles) if !titles.is_empty() => Some(titles),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(%err, "could not read a stored library; asking PSN");
                None
            }
        }
    }
}
