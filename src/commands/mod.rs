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
pub mod trophy;

pub use game::{autocomplete_game, Choice};

use psn::{Account, Client, OnlineId, TitleProgress};

use self::shares::cost;

use crate::store::Store;

/// How many recent titles commands ask for: one page of the modern API, and always the same
/// count so the client's per-user cache serves autocomplete and the next command.
pub const RECENT_TITLES: u32 = 50;

/// The most title pages a command reads of one library (a game searched by name, `/compare`'s
/// shared titles), the first being the cached listing of the recent titles: with the command's
/// other requests it stays within [`cost::CAP`]. 7,200 titles on the modern API; the rest is
/// left out (and `/compare` says so).
pub const LIBRARY_PAGES: u32 = cost::CAP - cost::COMPARE;

// The dearest path through a library search, `/compare` in a game named past the recent titles:
// both lookups, the pages after the cached first one, the title's definitions and both players'
// earned states, within the cap.
const _: () = assert!(
    2 * cost::LOOKUP
        + (LIBRARY_PAGES - 1) * cost::LISTING
        + cost::LISTING
        + cost::DEFINITIONS
        + 2 * cost::EARNED
        <= cost::CAP
);

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

    /// The same services on another credential's client (a pool's, see [`crate::pool`]), in
    /// the same language.
    pub fn on_client(&self, client: &Client) -> Services {
        Services {
            client: client.in_language(self.client.language()),
            ..self.clone()
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
        self.stored_in_guild(|store, guild| {
            store.rarest_library_in_guild(&account.account_id, guild)
        })
        .await
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
        self.stored_in_guild(|store, guild| store.user_library_in_guild(&account.account_id, guild))
            .await
    }

    /// The names game autocomplete offers from a tracked player's stored library (the `limit`
    /// most recent titles; see [`Store::library_names_in_guild`]), under the same rule as
    /// [`Services::stored_library`]; `None` where that rule says to ask PSN.
    pub(crate) async fn stored_names(
        &self,
        account: &Account,
        limit: u32,
    ) -> Option<Vec<crate::store::LibraryName>> {
        self.stored_in_guild(|store, guild| {
            store.library_names_in_guild(&account.account_id, guild, limit)
        })
        .await
    }

    /// What `read` finds of a tracked player's stored library in this command's server, where
    /// it may be shown at all (a server, with the store): `None` (ask PSN) when it finds nothing
    /// or the store cannot answer.
    async fn stored_in_guild<'a, T, F, Fut>(&'a self, read: F) -> Option<Vec<T>>
    where
        F: FnOnce(&'a Store, u64) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, crate::store::StoreError>>,
    {
        let store = self.library.as_ref()?;
        let guild = self.guild?;
        match read(store, guild).await {
            Ok(found) if !found.is_empty() => Some(found),
            Ok(_) => None,
            Err(err) => {
                tracing::warn!(%err, "could not read a stored library; asking PSN");
                None
            }
        }
    }

    /// Whether game autocomplete offers `account`'s titles from the stored library.
    pub(crate) async fn stored_library_is_shown(&self, account: &Account) -> bool {
        self.stored_names(account, 1).await.is_some()
    }

    /// The PSN requests a command's online-ID lookup costs: none once the client has it.
    pub fn lookup_cost(&self, user: &OnlineId) -> u32 {
        match self.client.cached_user(user) {
            Some(_) => 0,
            None => cost::LOOKUP,
        }
    }

    /// The requests the recent titles cost: none while the client's page cache holds them.
    pub fn listing_cost(&self, account: &Account) -> u32 {
        match self.client.cached_recent_titles(account, RECENT_TITLES) {
            Some(_) => 0,
            None => cost::LISTING,
        }
    }

    /// The requests the trophy summary a profile shows costs (see
    /// [`psn::Client::recent_trophy_summary`]).
    pub fn summary_cost(&self, account: &Account) -> u32 {
        match self.client.has_summary_cached(account) {
            true => 0,
            false => cost::SUMMARY,
        }
    }

    /// The requests one title's trophy list of `account` costs: its definitions and the
    /// player's earned state, each unless cached.
    pub fn title_trophies_cost(&self, account: &Account, np_communication_id: &str) -> u32 {
        let definitions = match self.client.has_title_cached(np_communication_id) {
            true => 0,
            false => cost::DEFINITIONS,
        };
        let earned = match self.client.has_earned_cached(account, np_communication_id) {
            true => 0,
            false => cost::EARNED,
        };
        definitions + earned
    }

    /// The player's library, most recent first, read at most [`LIBRARY_PAGES`] pages deep
    /// (pages in the client's cache cost nothing), and whether that is the whole library.
    pub(crate) async fn library_within_cap(
        &self,
        account: &Account,
    ) -> Result<(Vec<TitleProgress>, bool), psn::Error> {
        let mut titles = Vec::new();
        let mut offset = 0;
        for _ in 0..LIBRARY_PAGES {
            let page = self
                .client
                .titles(account, offset, self.client.max_titles_page())
                .await?;
            titles.extend(page.titles);
            match page.next_offset {
                // A next offset that does not move forward would loop forever.
                Some(next) if next > offset => offset = next,
                _ => return Ok((titles, true)),
            }
        }
        Ok((titles, false))
    }
}
