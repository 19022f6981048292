//! The slash commands' logic, written once for the console and the bot: read the input, ask the
//! PSN client, hand model values to `render`. No formatting here.

pub mod compare;
pub mod fill_in;
pub mod game;
pub mod help;
pub mod leaderboard;
pub mod link;
pub mod page;
pub mod rarest;
pub mod settings;
pub mod shares;
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
    /// The server the command runs in (`None` in DMs and the console): a stored library is
    /// used only for players this server tracks (see [`Store::user_library_in_guild`]).
    guild: Option<u64>,
}

impl Services {
    pub fn new(client: Client) -> Services {
        Services {
            client,
            library: None,
            guild: None,
        }
    }

    /// The same services for a command in `guild` (`None`: a DM).
    pub fn in_guild(&self, guild: Option<u64>) -> Services {
        Services {
            guild,
            ..self.clone()
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
                ..self.clone()
            },
            _ => self.clone(),
        }
    }

    /// The same services counting every PSN request they send in `meter` (see
    /// [`shares::Admission`]).
    pub fn metered(&self, meter: psn::Meter) -> Services {
        Services {
            client: self.client.metered(meter),
            ..self.clone()
        }
    }

    /// A tracked player's whole library for `/rarest`, with the stored earned ids and rates,
    /// under the rule of [`Services::stored_library`].
    pub(crate) async fn rarest_library(
        &self,
        account: &Account,
    ) -> Option<Vec<crate::store::RarestTitle>> {
        let store = self.library.as_ref()?;
        let guild = self.guild?;
        match store
            .rarest_library_in_guild(&account.account_id, guild)
            .await
        {
            Ok(titles) if !titles.is_empty() => Some(titles),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(%err, "could not read a stored library; asking PSN");
                None
            }
        }
    }

    /// Stores the earned ids a command fetched of a tracked player's titles (see
    /// [`Store::fill_in_earned_ids`]), so the next `/rarest` needs no request for them. A
    /// failure is logged: the next call fetches them again.
    pub(crate) async fn keep_earned_ids(
        &self,
        account: &Account,
        titles: &[crate::store::TitleState],
    ) {
        let Some(store) = self.library.as_ref() else {
            return;
        };
        if titles.is_empty() {
            return;
        }
        if let Err(err) = store.fill_in_earned_ids(&account.account_id, titles).await {
            tracing::warn!(%err, "could not store fetched earned ids");
        }
    }

    /// A tracked player's whole library as the tracker last stored it; `None` (ask PSN, which
    /// answers for a private player as it does for anyone) outside a server tracking the
    /// player, while the player's trophy list was last seen private, before the first check,
    /// or when the store cannot answer.
    pub(crate) async fn stored_library(&self, account: &Account) -> Option<Vec<TitleProgress>> {
        let store = self.library.as_ref()?;
        let guild = self.guild?;
        match store
            .user_library_in_guild(&account.account_id, guild)
            .await
        {
            Ok(titles) if !titles.is_empty() => Some(titles),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(%err, "could not read a stored library; asking PSN");
                None
            }
        }
    }
}
