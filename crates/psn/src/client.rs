//! The client: one interface over both APIs, sharing budget, tokens and caches among clones.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::auth::Auth;
use crate::budget::{Budget, Priority};
use crate::cache::TtlCache;
use crate::config::{ApiKind, Config};
use crate::error::{Error, Result};
use crate::http::Transport;
use crate::model::*;
use crate::online_id::OnlineId;
use crate::secret::Secret;
use crate::stats::{ClientStats, Counters, Meter};
use crate::{legacy, modern};

/// Title definitions are shared by every user and change only with patches.
const TITLE_TTL: Duration = Duration::from_secs(24 * 3600);
const TITLE_CAPACITY: usize = 2_000;
/// Online ID → account ID is stable (a rename keeps the account ID). Modern API only.
const USER_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
const USER_CAPACITY: usize = 10_000;
/// A user's title pages: long enough for autocomplete and the command that follows it.
const PAGE_TTL: Duration = Duration::from_secs(60);
/// How long a title page stays for [`Client::typed_titles`] (autocomplete), past the minute
/// commands reuse it for.
pub const TYPED_TITLES_TTL: Duration = Duration::from_secs(5 * 60);
/// A trophy summary is shown with the title listing: reused as long.
const SUMMARY_TTL: Duration = PAGE_TTL;
const SUMMARY_CAPACITY: usize = PAGE_CAPACITY;
const PAGE_CAPACITY: usize = 1_000;
const SERVICE_CAPACITY: usize = 100_000;
/// A user's earned state of a title is reused while the title listing shows the same
/// last-update time (PSN bumps it whenever a trophy is earned).
const EARNED_TTL: Duration = Duration::from_secs(24 * 3600);
const EARNED_CAPACITY: usize = 20_000;
/// Fetched definitions (and titles' earned rates) waiting for [`Client::take_fetched`]; past
/// this the oldest are dropped from the queue (definitions stay in the cache, so a save of the
/// whole cache still has them; rates come again with the next earned state).
const FETCHED_QUEUE_CAPACITY: usize = TITLE_CAPACITY;

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) transport: Transport,
    pub(crate) counters: Arc<Counters>,
    /// By (language, npCommunicationId): definitions hold names, which PSN gives in the
    /// language asked for.
    pub(crate) titles: TtlCache<(String, String), TitleDefinition>,
    pub(crate) services: TtlCache<String, NpService>,
    /// By lower-cased online ID (modern API: the legacy one has no lookup to cache).
    pub(crate) users: TtlCache<String, Account>,
    /// By (language, account ID, offset, limit): listings hold title names.
    pub(crate) pages: TtlCache<(String, String, u32, u32), TitlePage>,
    /// By account ID: the summaries `/trophies` and `/compare` show (see
    /// [`Client::recent_trophy_summary`]).
    pub(crate) summaries: TtlCache<String, TrophySummary>,
    /// By (account ID, npCommunicationId): the last-update time the freshest listing showed.
    pub(crate) listed_updates: TtlCache<(String, String), DateTime<Utc>>,
    /// By (account ID, npCommunicationId): earned state with the last-update time it reflects.
    pub(crate) earned: TtlCache<(String, String), (DateTime<Utc>, Vec<EarnedTrophy>)>,
    /// The legacy API's own user (learned from `fromUser`): asked without `comparedUser`.
    pub(crate) legacy_own_id: Mutex<Option<String>>,
    /// Definitions fetched from PSN (not primed) since the last take, with their language, and
    /// the earned rates that came with earned states; and the signal that some are waiting: a
    /// store saves them as they come, not only at shutdown.
    pub(crate) fetched: Mutex<FetchedQueue>,
    pub(crate) something_fetched: tokio::sync::Notify,
}

#[derive(Default)]
pub(crate) struct FetchedQueue {
    titles: std::collections::VecDeque<(String, TitleDefinition)>,
    rates: std::collections::VecDeque<TitleRates>,
}

/// Adds `item` to a bounded queue, dropping the oldest past [`FETCHED_QUEUE_CAPACITY`].
fn push_bounded<T>(queue: &mut std::collections::VecDeque<T>, item: T) {
    if queue.len() >= FETCHED_QUEUE_CAPACITY {
        queue.pop_front();
    }
    queue.push_back(item);
}

/// Cheap to clone; clones share the budget, the caches and the tokens.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    priority: Priority,
    /// The language names are asked in (see [`Client::in_language`]).
    language: Arc<str>,
    /// Counts this clone's requests for the caller it serves (see [`Client::metered`]).
    meter: Option<Meter>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api", &self.inner.config.api)
            .field("priority", &self.priority)
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

/// One request in the making: the client's shared state, who is asking (the tracker or a
/// command: each has its share of the budget), and in which language names are wanted.
pub(crate) struct Request<'a> {
    pub(crate) inner: &'a Inner,
    pub(crate) priority: Priority,
    pub(crate) language: &'a str,
    pub(crate) meter: Option<&'a Meter>,
}

impl Request<'_> {
    /// GETs `url` through the shared transport and parses the JSON answer.
    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, &str)],
    ) -> std::result::Result<T, crate::http::Failure> {
        self.inner
            .transport
            .get(url, query, self.priority, self.language, self.meter)
            .await
    }
}

/// Whether a listing may be served from the page cache.
#[derive(Clone, Copy)]
enum Listing {
    Cached,
    Fresh,
}

impl Client {
    pub fn new(config: Config) -> Result<Client> {
        // The APIs never redirect, and the authorize call must not follow its 302.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Unavailable(format!("cannot build the HTTP client: {e}")))?;
        let counters = Arc::new(Counters::default());
        let auth = Auth::new(
            &config.credential,
            config.saved_refresh_token.as_ref(),
            http.clone(),
            &config.auth_url,
            config.request_timeout,
        );
        let transport = Transport {
            http,
            auth,
            budget: Budget::new(
                config.rate_limit,
                config.command_reserve,
                config.interactive_max_wait,
            ),
            counters: counters.clone(),
            timeout: config.request_timeout,
            interactive_max_wait: config.interactive_max_wait,
            signals: Default::default(),
        };
        let language = Arc::from(config.language.as_str());
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                transport,
                counters,
                titles: TtlCache::new(TITLE_TTL, TITLE_CAPACITY),
                services: TtlCache::new(TITLE_TTL, SERVICE_CAPACITY),
                users: TtlCache::new(USER_TTL, USER_CAPACITY),
                pages: TtlCache::new(TYPED_TITLES_TTL, PAGE_CAPACITY),
                summaries: TtlCache::new(SUMMARY_TTL, SUMMARY_CAPACITY),
                listed_updates: TtlCache::new(PAGE_TTL, EARNED_CAPACITY),
                earned: TtlCache::new(EARNED_TTL, EARNED_CAPACITY),
                legacy_own_id: Mutex::new(None),
                fetched: Mutex::new(FetchedQueue::default()),
                something_fetched: tokio::sync::Notify::new(),
            }),
            priority: Priority::Interactive,
            language,
            meter: None,
        })
    }

    /// The same client for the tracker: same budget and caches, but its requests take the
    /// tracker's share of the budget (see `budget.rs`) and wait for it instead of failing fast.
    pub fn background(&self) -> Client {
        Client {
            priority: Priority::Background,
            ..self.clone()
        }
    }

    /// The same client for work nobody waits for (a `/rarest` fill-in): its requests take only
    /// command capacity left idle (see `budget.rs`) and wait for it as long as it takes.
    pub fn idle(&self) -> Client {
        Client {
            priority: Priority::Idle,
            ..self.clone()
        }
    }

    /// The same client asking for names in `language` (a code of [`crate::LANGUAGES`]): same
    /// budget, sign-in and caches; what holds names is cached per language, the rest is shared.
    pub fn in_language(&self, language: &str) -> Client {
        Client {
            language: Arc::from(language),
            ..self.clone()
        }
    }

    /// The same client counting every API request it sends in `meter` (retries included, cache
    /// hits not), so a command can be charged what it cost. Budget, sign-in and caches stay
    /// shared; clones of the returned client count in the same meter.
    pub fn metered(&self, meter: Meter) -> Client {
        Client {
            meter: Some(meter),
            ..self.clone()
        }
    }

    /// The language this client asks names in.
    pub fn language(&self) -> &str {
        &self.language
    }

    fn request(&self) -> Request<'_> {
        Request {
            inner: &self.inner,
            priority: self.priority,
            language: &self.language,
            meter: self.meter.as_ref(),
        }
    }

    fn title_key(&self, np_communication_id: &str) -> (String, String) {
        (self.language.to_string(), np_communication_id.to_string())
    }

    fn api(&self) -> ApiKind {
        self.inner.config.api
    }

    /// Whether [`Client::trophy_summary`] tells the trophy level in one request (the modern
    /// API); the legacy one knows no level and sums the whole library instead.
    pub fn tells_trophy_level(&self) -> bool {
        self.api() == ApiKind::Modern
    }

    /// The account behind an online ID (cached); a renamed user resolves to the current ID.
    /// The legacy API has no lookup (it names users by online ID, see [`Account`]): nothing is
    /// asked, and an unknown user is `UserNotFound` on the first request for them.
    pub async fn resolve_user(&self, online_id: &OnlineId) -> Result<Account> {
        if self.api() == ApiKind::Legacy {
            return Ok(legacy::account(online_id));
        }
        let key = online_id.key();
        if let Some(account) = self.inner.users.get(&key) {
            self.inner.counters.hit();
            return Ok(account);
        }
        self.inner.counters.miss();
        let account = modern::resolve_user(&self.request(), online_id).await?;
        self.inner.users.insert(key, account.clone());
        self.inner
            .users
            .insert(account.online_id.to_ascii_lowercase(), account.clone());
        Ok(account)
    }

    /// The user's profile as PSN shows it now, "About me" included. The online ID → account
    /// lookup may come from the cache (account IDs are stable); the profile itself never does,
    /// so a verification code saved a moment ago is seen. The online ID is the current one.
    /// The legacy API has no profiles: `Unsupported`, once the online ID is checked.
    pub async fn profile(&self, online_id: &OnlineId) -> Result<Profile> {
        let account = self.resolve_user(online_id).await?;
        match self.api() {
            ApiKind::Modern => modern::profile(&self.request(), &account).await,
            ApiKind::Legacy => Err(Error::Unsupported("profiles (\"About me\")".into())),
        }
    }

    pub async fn trophy_summary(&self, account: &Account) -> Result<TrophySummary> {
        match self.api() {
            ApiKind::Modern => modern::trophy_summary(&self.request(), account).await,
            ApiKind::Legacy => {
                // The legacy API has no summary: sum the whole library.
                let titles = self.all_titles(account).await?;
                let earned: TrophyCounts = titles.iter().map(|t| t.earned).sum();
                Ok(TrophySummary {
                    account: account.clone(),
                    level: None,
                    level_progress: None,
                    tier: None,
                    earned,
                })
            }
        }
    }

    /// The trophy summary as [`Client::trophy_summary`] gives it, reused for a minute as the
    /// title listing it is shown with (commands showing a profile; a check that must see PSN now,
    /// such as a trophy list's visibility, asks `trophy_summary`).
    pub async fn recent_trophy_summary(&self, account: &Account) -> Result<TrophySummary> {
        if let Some(summary) = self.inner.summaries.get(&account.account_id) {
            self.inner.counters.hit();
            return Ok(summary);
        }
        let summary = self.trophy_summary(account).await?;
        self.inner
            .summaries
            .insert(account.account_id.clone(), summary.clone());
        Ok(summary)
    }

    /// Whether [`Client::recent_trophy_summary`] would answer from the cache. Spends nothing.
    pub fn has_summary_cached(&self, account: &Account) -> bool {
        self.inner.summaries.get(&account.account_id).is_some()
    }

    /// One page of the user's titles, most recently updated first. Cached for a minute.
    pub async fn titles(&self, account: &Account, offset: u32, limit: u32) -> Result<TitlePage> {
        let limit = limit.clamp(1, self.max_titles_page());
        let key = self.page_key(account, offset, limit);
        if let Some(page) = self.inner.pages.get_within(&key, PAGE_TTL) {
            self.inner.counters.hit();
            return Ok(page);
        }
        self.inner.counters.miss();
        self.fetch_titles(account, offset, limit).await
    }

    /// One page of the user's titles, most recently updated first, always asked of PSN (the
    /// tracker's "anything new?" check must not see a cached page). It refreshes the caches
    /// `titles` and the earned-state reuse read, like any listing.
    pub async fn latest_titles(
        &self,
        account: &Account,
        offset: u32,
        limit: u32,
    ) -> Result<TitlePage> {
        let limit = limit.clamp(1, self.max_titles_page());
        self.inner.counters.miss();
        self.fetch_titles(account, offset, limit).await
    }

    fn page_key(&self, account: &Account, offset: u32, limit: u32) -> (String, String, u32, u32) {
        (
            self.language.to_string(),
            account.account_id.clone(),
            offset,
            limit,
        )
    }

    async fn fetch_titles(&self, account: &Account, offset: u32, limit: u32) -> Result<TitlePage> {
        let key = self.page_key(account, offset, limit);
        let page = match self.api() {
            ApiKind::Modern => modern::titles(&self.request(), account, offset, limit).await?,
            ApiKind::Legacy => legacy::titles(&self.request(), account, offset, limit).await?,
        };
        for title in &page.titles {
            let title_key = (
                account.account_id.clone(),
                title.np_communication_id.clone(),
            );
            // PSN's update time has whole seconds: a trophy earned in the same second as the
            // cached state leaves it unchanged, but not the listing's earned counts.
            if let Some((_, earned)) = self.inner.earned.get(&title_key) {
                if earned_counts(&earned) != title.earned {
                    self.inner.earned.remove(&title_key);
                }
            }
            if let Some(updated) = title.last_updated {
                self.inner.listed_updates.insert(title_key, updated);
            }
            if let Some(service) = title.service {
                self.inner
                    .services
                    .insert(title.np_communication_id.clone(), service);
            }
        }
        self.inner.pages.insert(key, page.clone());
        Ok(page)
    }

    /// The largest title page the API serves: `titles` and `latest_titles` clamp larger limits.
    pub fn max_titles_page(&self) -> u32 {
        match self.api() {
            ApiKind::Modern => modern::MAX_TITLES_PAGE,
            ApiKind::Legacy => legacy::MAX_TITLES_PAGE,
        }
    }

    /// The user's `count` most recent titles, in the largest pages the API allows (so the pages
    /// cached for autocomplete serve the next command too).
    pub async fn recent_titles(&self, account: &Account, count: u32) -> Result<Vec<TitleProgress>> {
        self.collect_titles(account, Some(count as usize), Listing::Cached)
            .await
    }

    /// The whole library.
    pub async fn all_titles(&self, account: &Account) -> Result<Vec<TitleProgress>> {
        self.collect_titles(account, None, Listing::Cached).await
    }

    /// The whole library, every page asked of PSN (see [`Client::latest_titles`]).
    pub async fn all_latest_titles(&self, account: &Account) -> Result<Vec<TitleProgress>> {
        self.collect_titles(account, None, Listing::Fresh).await
    }

    async fn collect_titles(
        &self,
        account: &Account,
        count: Option<usize>,
        listing: Listing,
    ) -> Result<Vec<TitleProgress>> {
        let mut titles = Vec::new();
        let mut offset = 0;
        loop {
            if count.is_some_and(|c| titles.len() >= c) {
                break;
            }
            let limit = self.max_titles_page();
            let page = match listing {
                Listing::Cached => self.titles(account, offset, limit).await?,
                Listing::Fresh => self.latest_titles(account, offset, limit).await?,
            };
            titles.extend(page.titles);
            match page.next_offset {
                // A next offset that does not move forward would loop forever.
                Some(next) if next > offset => offset = next,
                _ => break,
            }
        }
        if let Some(count) = count {
            titles.truncate(count);
        }
        Ok(titles)
    }

    /// A title's definitions, every trophy of every group, in the client's language (shared by
    /// all users; cached per language).
    pub async fn title(
        &self,
        np_communication_id: &str,
        service: Option<NpService>,
    ) -> Result<TitleDefinition> {
        if let Some(title) = self.inner.titles.get(&self.title_key(np_communication_id)) {
            self.inner.counters.hit();
            return Ok(title);
        }
        self.inner.counters.miss();
        let title = match self.api() {
            ApiKind::Modern => {
                let known =
                    service.or_else(|| self.inner.services.get(&np_communication_id.to_string()));
                modern::title(&self.request(), np_communication_id, known).await?
            }
            ApiKind::Legacy => legacy::title(&self.request(), np_communication_id).await?,
        };
        self.remember_fetched_title(title.clone());
        Ok(title)
    }

    /// One user's earned state of a title's trophies, without names: one request on the modern
    /// API (the `all` group); one per group on the legacy API.
    pub async fn earned_trophies(
        &self,
        account: &Account,
        np_communication_id: &str,
        service: Option<NpService>,
    ) -> Result<Vec<EarnedTrophy>> {
        let (earned, _) = self
            .earned_state(account, np_communication_id, service)
            .await?;
        Ok(earned)
    }

    /// [`Client::earned_trophies`] with the title's last-update time the state reflects (when
    /// PSN gave one), so a store can tell whether it matches a listing.
    pub async fn earned_state(
        &self,
        account: &Account,
        np_communication_id: &str,
        service: Option<NpService>,
    ) -> Result<(Vec<EarnedTrophy>, Option<DateTime<Utc>>)> {
        match self.api() {
            ApiKind::Modern => {
                let service = self.service_of(np_communication_id, service).await?;
                self.modern_earned(account, np_communication_id, service)
                    .await
            }
            ApiKind::Legacy => {
                let (_, earned, last_updated) =
                    self.legacy_user_title(account, np_communication_id).await?;
                Ok((earned, last_updated))
            }
        }
    }

    /// The user's earned state of a title: from the cache while the latest title listing shows
    /// the same last-update time as the cached state, else one user-level request.
    async fn modern_earned(
        &self,
        account: &Account,
        np_communication_id: &str,
        service: NpService,
    ) -> Result<(Vec<EarnedTrophy>, Option<DateTime<Utc>>)> {
        let key = (account.account_id.clone(), np_communication_id.to_string());
        if let (Some(listed), Some((seen, earned))) = (
            self.inner.listed_updates.get(&key),
            self.inner.earned.get(&key),
        ) {
            if listed == seen {
                self.inner.counters.hit();
                return Ok((earned, Some(seen)));
            }
        }
        self.inner.counters.miss();
        let (earned, last_updated) =
            modern::earned_trophies(&self.request(), account, np_communication_id, service).await?;
        self.remember_fetched_rates(np_communication_id, &earned);
        if let Some(updated) = last_updated {
            self.inner
                .earned
                .insert(key.clone(), (updated, earned.clone()));
            // The answer tells the title's last-update time as freshly as a listing would: a
            // page button or a repeat shortly after is served without asking again.
            let listed = self.inner.listed_updates.get(&key);
            if listed.is_none_or(|listed| listed < updated) {
                self.inner.listed_updates.insert(key, updated);
            }
        }
        Ok((earned, last_updated))
    }

    /// A title's trophies with the user's earned state: definitions (cached) joined with one
    /// user-level request.
    pub async fn user_trophies(
        &self,
        account: &Account,
        np_communication_id: &str,
    ) -> Result<UserTitleTrophies> {
        let (title, earned, last_updated) = match self.api() {
            ApiKind::Modern => {
                let title = self.title(np_communication_id, None).await?;
                let service = self.service_of(np_communication_id, title.service).await?;
                let (earned, last_updated) = self
                    .modern_earned(account, np_communication_id, service)
                    .await?;
                (title, earned, last_updated)
            }
            ApiKind::Legacy => self.legacy_user_title(account, np_communication_id).await?,
        };
        Ok(join_trophies(account, title, earned, last_updated))
    }

    async fn legacy_user_title(
        &self,
        account: &Account,
        np_communication_id: &str,
    ) -> Result<(TitleDefinition, Vec<EarnedTrophy>, Option<DateTime<Utc>>)> {
        let cached = self.inner.titles.get(&self.title_key(np_communication_id));
        let was_cached = cached.is_some();
        if was_cached {
            self.inner.counters.hit();
        } else {
            self.inner.counters.miss();
        }
        let (title, earned, last_updated) =
            legacy::user_title(&self.request(), account, np_communication_id, cached).await?;
        self.remember_fetched_rates(np_communication_id, &earned);
        if was_cached {
            self.prime_title(title.clone());
        } else {
            self.remember_fetched_title(title.clone());
        }
        Ok((title, earned, last_updated))
    }

    /// The trophy service of a title: given, learned from a title listing, or asked of the
    /// title-level groups endpoint (which needs no user, so no paging through a library).
    async fn service_of(
        &self,
        np_communication_id: &str,
        service: Option<NpService>,
    ) -> Result<NpService> {
        if let Some(service) = service {
            return Ok(service);
        }
        if let Some(service) = self.inner.services.get(&np_communication_id.to_string()) {
            self.inner.counters.hit();
            return Ok(service);
        }
        self.inner.counters.miss();
        let title = modern::title(&self.request(), np_communication_id, None).await?;
        self.remember_fetched_title(title.clone());
        title
            .service
            .ok_or_else(|| Error::TitleNotFound(np_communication_id.to_string()))
    }

    /// The account behind an online ID if it is known without asking PSN: from the cache, or
    /// at once on the legacy API (which has no lookup). Spends nothing, counts nothing.
    pub fn cached_user(&self, online_id: &OnlineId) -> Option<Account> {
        match self.api() {
            ApiKind::Legacy => Some(legacy::account(online_id)),
            ApiKind::Modern => self.inner.users.get(&online_id.key()),
        }
    }

    /// The user's `count` most recent titles if [`Client::recent_titles`] would serve them all
    /// from the page cache; `None` if it would ask PSN. Spends nothing, counts nothing.
    pub fn cached_recent_titles(
        &self,
        account: &Account,
        count: u32,
    ) -> Option<Vec<TitleProgress>> {
        self.titles_listed_within(account, count, PAGE_TTL)
    }

    /// The user's `count` most recent titles as listed within [`TYPED_TITLES_TTL`] (by any
    /// command or keystroke), for autocomplete: a few minutes of typing cost one listing. `None`
    /// if no such listing is cached. Spends nothing, counts nothing.
    pub fn typed_titles(&self, account: &Account, count: u32) -> Option<Vec<TitleProgress>> {
        self.titles_listed_within(account, count, TYPED_TITLES_TTL)
    }

    fn titles_listed_within(
        &self,
        account: &Account,
        count: u32,
        max_age: Duration,
    ) -> Option<Vec<TitleProgress>> {
        let count = count as usize;
        let mut titles = Vec::new();
        let mut offset = 0;
        while titles.len() < count {
            let key = self.page_key(account, offset, self.max_titles_page());
            let page = self.inner.pages.get_within(&key, max_age)?;
            titles.extend(page.titles);
            match page.next_offset {
                Some(next) if next > offset => offset = next,
                _ => break,
            }
        }
        titles.truncate(count);
        Some(titles)
    }

    /// The user's earned state of a title if [`Client::earned_trophies`] would serve it from the
    /// cache (the modern API, while the latest listing shows the cached update time); the legacy
    /// API keeps no earned states. Spends nothing, counts nothing.
    pub fn cached_earned(
        &self,
        account: &Account,
        np_communication_id: &str,
    ) -> Option<Vec<EarnedTrophy>> {
        if self.api() == ApiKind::Legacy {
            return None;
        }
        let key = (account.account_id.clone(), np_communication_id.to_string());
        let listed = self.inner.listed_updates.get(&key)?;
        let (seen, earned) = self.inner.earned.get(&key)?;
        (listed == seen).then_some(earned)
    }

    /// The user's earned state of a title if the cache holds it as of `last_updated` (a stored
    /// listing's time, where no fresh listing is at hand). Spends nothing, counts nothing.
    pub fn cached_earned_as_of(
        &self,
        account: &Account,
        np_communication_id: &str,
        last_updated: DateTime<Utc>,
    ) -> Option<Vec<EarnedTrophy>> {
        let key = (account.account_id.clone(), np_communication_id.to_string());
        let (seen, earned) = self.inner.earned.get(&key)?;
        (seen == last_updated).then_some(earned)
    }

    /// Whether [`Client::cached_earned`] has the user's earned state of a title.
    pub fn has_earned_cached(&self, account: &Account, np_communication_id: &str) -> bool {
        self.cached_earned(account, np_communication_id).is_some()
    }

    /// Whether [`Client::title`] would serve a title's definitions in this client's language
    /// from the cache. Spends nothing, counts nothing.
    pub fn has_title_cached(&self, np_communication_id: &str) -> bool {
        self.inner
            .titles
            .get(&self.title_key(np_communication_id))
            .is_some()
    }

    /// Presence of the given accounts, in batches of 100; hidden presences are left out. The
    /// legacy API has no presence (nor account IDs to ask it for): `Unsupported`.
    pub async fn presences(&self, account_ids: &[String]) -> Result<Vec<Presence>> {
        match self.api() {
            ApiKind::Modern => modern::presences(&self.request(), account_ids).await,
            ApiKind::Legacy => Err(Error::Unsupported("presence".into())),
        }
    }

    /// Every title definition in the cache, each with its language, for a store to persist.
    pub fn cached_titles(&self) -> Vec<(String, TitleDefinition)> {
        self.inner
            .titles
            .entries()
            .into_iter()
            .map(|((language, _), title)| (language, title))
            .collect()
    }

    /// Puts a title definition in the client's language (e.g. from a store) into the cache:
    /// `client.in_language(language).prime_title(title)`.
    pub fn prime_title(&self, title: TitleDefinition) {
        if let Some(service) = title.service {
            self.inner
                .services
                .insert(title.np_communication_id.clone(), service);
        }
        let key = self.title_key(&title.np_communication_id);
        self.inner.titles.insert(key, title);
    }

    /// Caches a definition fresh from PSN and queues it for [`Client::take_fetched`].
    fn remember_fetched_title(&self, title: TitleDefinition) {
        self.prime_title(title.clone());
        self.queue_fetched(|queue| {
            push_bounded(&mut queue.titles, (self.language.to_string(), title));
        });
    }

    /// Queues the earned rates an earned state fresh from PSN carries for
    /// [`Client::take_fetched`].
    fn remember_fetched_rates(&self, np_communication_id: &str, earned: &[EarnedTrophy]) {
        if earned.iter().all(|t| t.earned_rate.is_none()) {
            return;
        }
        let rates = TitleRates::of(np_communication_id, earned);
        self.queue_fetched(|queue| push_bounded(&mut queue.rates, rates));
    }

    fn queue_fetched(&self, add: impl FnOnce(&mut FetchedQueue)) {
        add(&mut self
            .inner
            .fetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
        self.inner.something_fetched.notify_one();
    }

    /// What was fetched from PSN since the last take, oldest first: definitions each with its
    /// language (those put in with [`Client::prime_title`] are not among them), and earned
    /// rates.
    pub fn take_fetched(&self) -> Fetched {
        let mut queue = self
            .inner
            .fetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Fetched {
            titles: queue.titles.drain(..).collect(),
            rates: queue.rates.drain(..).collect(),
        }
    }

    /// Waits until something was fetched that [`Client::take_fetched`] has not returned yet
    /// (at once if it was fetched while no one waited).
    pub async fn fetched(&self) {
        self.inner.something_fetched.notified().await;
    }

    /// Watches whether PSN rejects the credential: `Some(reason)` (never a secret) from the first
    /// rejected sign-in until one succeeds; retries within the backoff change nothing.
    pub fn watch_credential_rejection(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.inner.transport.auth.watch_rejection()
    }

    /// The current refresh token and when it expires, for the bot to persist (modern API, once
    /// signed in). Start from it again with `Credential::RefreshToken`.
    pub fn refresh_token(&self) -> Option<(Secret, DateTime<Utc>)> {
        self.inner.transport.auth.refresh_token()
    }

    /// Tells `observer` what each of PSN's answers says of the bot's standing (see [`crate::Signal`]),
    /// for every clone of this client. Set once: a second observer is refused (`false`).
    pub fn observe(&self, observer: crate::Observer) -> bool {
        self.inner.transport.signals.set(observer)
    }

    /// Keeps every clone to one of `parts` equal shares of `PSN_RATE_LIMIT` (the same
    /// credential used by `parts` processes, each with its share, so the sum never exceeds it).
    pub fn share_budget(&self, parts: u32) {
        self.inner.transport.budget.share(parts);
    }

    /// As [`Client::share_budget`], less `less` requests per window: a process that joined
    /// others keeps clear of what they spent of the current window under their larger parts.
    pub fn share_budget_less(&self, parts: u32, less: u32) {
        self.inner.transport.budget.share_less(parts, less);
    }

    /// Ends a [`Client::hold_budget`] early, once the others are known to keep to their
    /// smaller parts.
    pub fn lift_budget_hold(&self) {
        self.inner.transport.budget.lift_hold();
    }

    /// Into how many parts [`Client::share_budget`] last divided `PSN_RATE_LIMIT` (1 before).
    pub fn budget_parts(&self) -> u32 {
        self.inner.transport.budget.parts()
    }

    /// Requests this client's budget granted within the current window, every clone's.
    pub fn granted_in_window(&self) -> u32 {
        self.inner.transport.budget.granted_in_window()
    }

    /// This process's part of `PSN_RATE_LIMIT` now: the whole, or one of the parts
    /// [`Client::share_budget`] made. The tracker plans its polls on it.
    pub fn budget_share(&self) -> crate::RateLimit {
        self.inner.transport.budget.current_share()
    }

    /// Sends nothing for `wait`: a process that just joined waits until the others took their
    /// smaller shares.
    pub fn hold_budget(&self, wait: std::time::Duration) {
        self.inner.transport.budget.hold_for(wait);
    }

    pub fn stats(&self) -> ClientStats {
        let budget = &self.inner.transport.budget;
        self.inner.counters.snapshot(budget)
    }
}

fn earned_counts(trophies: &[EarnedTrophy]) -> TrophyCounts {
    let mut counts = TrophyCounts::default();
    for trophy in trophies.iter().filter(|t| t.earned) {
        counts.add(trophy.kind, 1);
    }
    counts
}

fn join_trophies(
    account: &Account,
    title: TitleDefinition,
    earned: Vec<EarnedTrophy>,
    last_updated: Option<DateTime<Utc>>,
) -> UserTitleTrophies {
    let trophies = title
        .trophies
        .iter()
        .map(|definition| {
            let state = earned.iter().find(|e| e.id == definition.id);
            UserTrophy {
                definition: definition.clone(),
                earned: state.is_some_and(|s| s.earned),
                earned_at: state.and_then(|s| s.earned_at),
                earned_rate: state.and_then(|s| s.earned_rate),
                rarity: state.and_then(|s| s.rarity),
            }
        })
        .collect();
    UserTitleTrophies {
        account: account.clone(),
        title,
        trophies,
        last_updated,
    }
}
