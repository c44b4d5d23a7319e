//! In-process caches (moka), seed §5.2: named, size-bounded, keyed by account first,
//! read cache-aside, and emptied by the domain events of every instance.
//!
//! What a cache may hold and for how long is written here, once ([`Name`]): the
//! seed's TTL is the upper bound of an entry's life; what empties it sooner is an
//! event ([`Caches::on_event`]): on the instance that made the change, synchronously
//! right after its commit (`database::Tx`), so its next request reads its own write;
//! on every other instance when the event relay hears of it (`events::relay`),
//! before the event reaches the WebSocket hub, so a client that refetches on an
//! event never gets the value it replaces.
//!
//! Caching is on only while this process's relay listens: a worker (no relay), a
//! one-shot command, or an API whose relay lost its connection reads through to the
//! database, and a relay that (re)connects starts from empty caches, because events
//! committed while nobody listened are never heard.
//!
//! A [`Key`] always carries the account: an entry can only answer the account it
//! was loaded for. This module stores values without knowing their types (the
//! modules own them) and knows no module.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use moka::notification::RemovalCause;
use uuid::Uuid;

use crate::platform::events::Event;

/// The caches of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Name {
    /// `accounts.service::settings_in`: the account row (seed: `account:{id}:settings`, 1 h).
    Settings,
    /// A browser session's check (`auth::session`): its user, role and secret hash.
    /// The seed allows 24 h; entries live 1 minute because the check also keeps the
    /// session's idle clock (`last_seen_at`, moved once a minute).
    Sessions,
    /// `GET /clients/{id}` (seed: `client:{id}:details`, 15 min).
    Clients,
}

impl Name {
    pub const ALL: [Name; 3] = [Name::Settings, Name::Sessions, Name::Clients];

    pub fn as_str(self) -> &'static str {
        match self {
            Name::Settings => "settings",
            Name::Sessions => "sessions",
            Name::Clients => "clients",
        }
    }

    /// The longest an entry lives.
    pub fn ttl(self) -> Duration {
        match self {
            Name::Settings => Duration::from_secs(60 * 60),
            Name::Sessions => Duration::from_secs(60),
            Name::Clients => Duration::from_secs(15 * 60),
        }
    }

    /// The most entries it holds (least recently and frequently used go first).
    pub fn capacity(self) -> u64 {
        match self {
            Name::Settings => 10_000,
            Name::Sessions => 50_000,
            Name::Clients => 50_000,
        }
    }

    fn index(self) -> usize {
        match self {
            Name::Settings => 0,
            Name::Sessions => 1,
            Name::Clients => 2,
        }
    }
}

/// What an entry is about, within one account. Its fields are private: a key is
/// made from an account id (and an item of that account), so no entry loaded for
/// one account is ever found under another's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    account_id: Uuid,
    item: Option<Uuid>,
}

impl Key {
    /// The account's own entry (its settings).
    pub fn account(account_id: Uuid) -> Self {
        Self {
            account_id,
            item: None,
        }
    }

    /// An item of the account (a client, a session).
    pub fn item(account_id: Uuid, id: Uuid) -> Self {
        Self {
            account_id,
            item: Some(id),
        }
    }

    pub fn account_id(&self) -> Uuid {
        self.account_id
    }
}

type Value = Arc<dyn Any + Send + Sync>;

/// One named cache and its counters.
pub struct Cache {
    name: Name,
    entries: moka::future::Cache<Key, Value>,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Entries dropped for their age or for room (moka's `Expired` and `Size`).
    evictions: Arc<AtomicU64>,
    /// Entries dropped by an event or a write (`invalidate`).
    invalidations: AtomicU64,
    /// Bumped by every invalidation: a load that began before one does not store its
    /// value (it may predate the change), though it still answers its caller.
    generation: AtomicU64,
    enabled: Arc<AtomicBool>,
}

/// A cache's counters, for `/metrics` and `GET /status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub invalidations: u64,
    pub entries: u64,
}

impl Cache {
    fn new(name: Name, enabled: Arc<AtomicBool>) -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        let counted = evictions.clone();
        let entries = moka::future::Cache::builder()
            .name(name.as_str())
            .max_capacity(name.capacity())
            .time_to_live(name.ttl())
            .eviction_listener(move |_key, _value, cause| {
                if matches!(cause, RemovalCause::Expired | RemovalCause::Size) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Self {
            name,
            entries,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions,
            invalidations: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            enabled,
        }
    }

    pub fn name(&self) -> Name {
        self.name
    }

    /// Cache-aside: the entry under `key`, else what `load` finds (stored unless it
    /// is `None`: an absence is never cached, so nothing created later, or a wrong
    /// guess at a session's secret, is answered from here).
    pub async fn get_or_load<T, E, Fut>(
        &self,
        key: Key,
        load: impl FnOnce() -> Fut,
    ) -> Result<Option<T>, E>
    where
        T: Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        if !self.enabled.load(Ordering::Acquire) {
            return load().await;
        }
        if let Some(value) = self.entries.get(&key).await
            && let Some(value) = value.downcast_ref::<T>()
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Some(value.clone()));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = load().await?;
        if let Some(value) = &loaded
            && self.enabled.load(Ordering::Acquire)
            && self.generation.load(Ordering::Acquire) == generation
        {
            self.entries.insert(key, Arc::new(value.clone())).await;
        }
        Ok(loaded)
    }

    /// Drop the entry under `key`.
    pub async fn invalidate(&self, key: &Key) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if self.entries.remove(key).await.is_some() {
            self.invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drop every entry of an account (a user's role, status or sign-ins changed:
    /// any of their sessions may be among them).
    pub async fn invalidate_account(&self, account_id: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let keys: Vec<Arc<Key>> = self
            .entries
            .iter()
            .filter(|(key, _)| key.account_id == account_id)
            .map(|(key, _)| key)
            .collect();
        for key in keys {
            if self.entries.remove(&*key).await.is_some() {
                self.invalidations.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    pub fn stats(&self) -> Stats {
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            entries: self.entries.entry_count(),
        }
    }
}

/// Every cache of a process; clones share them.
#[derive(Clone)]
pub struct Caches {
    caches: Arc<[Cache; 3]>,
    enabled: Arc<AtomicBool>,
}

impl Default for Caches {
    fn default() -> Self {
        let enabled = Arc::new(AtomicBool::new(false));
        let caches = Arc::new(Name::ALL.map(|name| Cache::new(name, enabled.clone())));
        Self { caches, enabled }
    }
}

impl Caches {
    pub fn get(&self, name: Name) -> &Cache {
        &self.caches[name.index()]
    }

    /// Start caching, from empty (the relay listens: every later change is heard).
    pub fn enable(&self) {
        for cache in self.caches.iter() {
            cache.clear();
        }
        self.enabled.store(true, Ordering::Release);
    }

    /// Stop caching and forget everything (the relay lost its connection: changes
    /// made meanwhile would go unheard).
    pub fn disable(&self) {
        self.enabled.store(false, Ordering::Release);
        for cache in self.caches.iter() {
            cache.clear();
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Drop what `event`, committed in `account_id`, makes stale.
    pub async fn on_event(&self, account_id: Uuid, event: &Event) {
        for (name, key) in stale(account_id, event) {
            match key {
                Some(key) => self.get(name).invalidate(&key).await,
                None => self.get(name).invalidate_account(account_id).await,
            }
        }
    }

    /// Drop every entry of an account in every cache (the relay skipped some of its
    /// events).
    pub async fn forget_account(&self, account_id: Uuid) {
        for cache in self.caches.iter() {
            cache.invalidate_account(account_id).await;
        }
    }

    /// Each cache's counters, in [`Name::ALL`] order.
    pub fn stats(&self) -> Vec<(Name, Stats)> {
        Name::ALL
            .iter()
            .map(|name| (*name, self.get(*name).stats()))
            .collect()
    }
}

/// The entries an event makes stale: a key, or (`None`) every entry of the account.
fn stale(account_id: Uuid, event: &Event) -> Vec<(Name, Option<Key>)> {
    let settings = (Name::Settings, Some(Key::account(account_id)));
    match event {
        Event::SettingsUpdated {} => vec![settings],
        // Each takes the account's next document number, kept with its settings.
        Event::QuoteCreated { .. } | Event::JobCreated { .. } | Event::InvoiceSent { .. } => {
            vec![settings]
        }
        Event::ClientCreated { client_id }
        | Event::ClientUpdated { client_id }
        | Event::ClientDeleted { client_id }
        | Event::ClientArchived { client_id }
        | Event::ClientAvatarChanged { client_id } => {
            vec![(Name::Clients, Some(Key::item(account_id, *client_id)))]
        }
        Event::SessionRevoked { session_id, .. } => {
            vec![(Name::Sessions, Some(Key::item(account_id, *session_id)))]
        }
        // A session's entry holds its user's role and stands for an active user.
        Event::UserUpdated { .. } | Event::UserSessionsRevoked { .. } => {
            vec![(Name::Sessions, None)]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> Caches {
        let caches = Caches::default();
        caches.enable();
        caches
    }

    async fn load(cache: &Cache, key: Key, value: &str) -> Option<String> {
        let value = value.to_owned();
        cache
            .get_or_load(key, || async { Ok::<_, ()>(Some(value)) })
            .await
            .unwrap()
    }

    #[test]
    fn keys_carry_their_account() {
        let (a, b, item) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert_ne!(Key::item(a, item), Key::item(b, item));
        assert_ne!(Key::account(a), Key::account(b));
        assert_ne!(Key::account(a), Key::item(a, a));
        assert_eq!(Key::item(a, item), Key::item(a, item));
        assert_eq!(Key::item(b, item).account_id(), b);
    }

    #[tokio::test]
    async fn an_entry_answers_only_its_own_account() {
        let caches = enabled();
        let cache = caches.get(Name::Clients);
        let (a, b, item) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(load(cache, Key::item(a, item), "a's").await.unwrap(), "a's");
        assert_eq!(load(cache, Key::item(b, item), "b's").await.unwrap(), "b's");
        assert_eq!(load(cache, Key::item(a, item), "x").await.unwrap(), "a's");
        assert_eq!(load(cache, Key::item(b, item), "x").await.unwrap(), "b's");
    }

    #[tokio::test]
    async fn counters_follow_hits_misses_and_invalidations() {
        let caches = enabled();
        let cache = caches.get(Name::Settings);
        let account = Uuid::now_v7();
        let key = Key::account(account);
        assert_eq!(load(cache, key, "1").await.unwrap(), "1");
        assert_eq!(load(cache, key, "2").await.unwrap(), "1");
        assert_eq!(load(cache, key, "3").await.unwrap(), "1");
        caches.on_event(account, &Event::SettingsUpdated {}).await;
        assert_eq!(load(cache, key, "4").await.unwrap(), "4");
        // Another account's event leaves it.
        caches
            .on_event(Uuid::now_v7(), &Event::SettingsUpdated {})
            .await;
        assert_eq!(load(cache, key, "5").await.unwrap(), "4");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.invalidations), (3, 2, 1));
        // Nothing found is not stored.
        let other = Key::account(Uuid::now_v7());
        let none = cache
            .get_or_load(other, || async { Ok::<Option<String>, ()>(None) })
            .await;
        assert_eq!(none, Ok(None));
        assert_eq!(load(cache, other, "6").await.unwrap(), "6");
        assert_eq!(cache.stats().misses, 4);
    }

    #[tokio::test]
    async fn user_events_drop_every_session_of_the_account_only() {
        let caches = enabled();
        let cache = caches.get(Name::Sessions);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (s1, s2, s3) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        load(cache, Key::item(a, s1), "a1").await;
        load(cache, Key::item(a, s2), "a2").await;
        load(cache, Key::item(b, s3), "b3").await;
        caches
            .on_event(a, &Event::UserUpdated { user_id: s1 })
            .await;
        assert_eq!(load(cache, Key::item(a, s1), "new").await.unwrap(), "new");
        assert_eq!(load(cache, Key::item(a, s2), "new").await.unwrap(), "new");
        assert_eq!(load(cache, Key::item(b, s3), "new").await.unwrap(), "b3");
        caches
            .on_event(
                a,
                &Event::SessionRevoked {
                    session_id: s1,
                    user_id: s1,
                },
            )
            .await;
        assert_eq!(load(cache, Key::item(a, s1), "x").await.unwrap(), "x");
        assert_eq!(load(cache, Key::item(a, s2), "x").await.unwrap(), "new");
    }

    #[tokio::test]
    async fn a_load_that_straddles_an_invalidation_is_not_stored() {
        let caches = enabled();
        let cache = caches.get(Name::Settings);
        let account = Uuid::now_v7();
        let key = Key::account(account);
        let old = cache
            .get_or_load(key, || async {
                // The change commits and evicts while this load is on the wire.
                caches.on_event(account, &Event::SettingsUpdated {}).await;
                Ok::<_, ()>(Some("old".to_owned()))
            })
            .await;
        assert_eq!(old, Ok(Some("old".to_owned())));
        assert_eq!(load(cache, key, "new").await.unwrap(), "new");
    }

    #[tokio::test]
    async fn disabled_caches_read_through() {
        let caches = Caches::default();
        let cache = caches.get(Name::Settings);
        let key = Key::account(Uuid::now_v7());
        assert_eq!(load(cache, key, "1").await.unwrap(), "1");
        assert_eq!(load(cache, key, "2").await.unwrap(), "2");
        caches.enable();
        assert_eq!(load(cache, key, "3").await.unwrap(), "3");
        assert_eq!(load(cache, key, "4").await.unwrap(), "3");
        caches.disable();
        assert_eq!(load(cache, key, "5").await.unwrap(), "5");
    }
}
