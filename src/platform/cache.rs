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
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::notification::RemovalCause;
use sha2::{Digest, Sha256};
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
    /// A bearer token's login (its refresh-token family) checked live: its user is
    /// active, its role now, the family not revoked (`auth::session::check_token`).
    /// 15 minutes, an access token's life (seed: `session:{id}`, 24 h).
    Tokens,
    /// `GET /clients/{id}` (seed: `client:{id}:details`, 15 min).
    Clients,
    /// `GET /schedule`: a window's visits for a set of lanes, as one role sees them
    /// (seed: `schedule:{userId}:{date}`, 5 min). Weighed in visits.
    Schedule,
    /// The dashboard and the revenue, jobs and aging reports, per exact parameters
    /// (the seed names no TTL for reports; 5 minutes, as the schedule's). Weighed in
    /// rows.
    Reports,
    /// `GET /me/visits`: the caller's own visits in a window with their work lines
    /// and clients, per user, role and window (the field app's hottest read; 5
    /// minutes, as the schedule's). Weighed in visits.
    MyVisits,
}

impl Name {
    pub const ALL: [Name; 7] = [
        Name::Settings,
        Name::Sessions,
        Name::Tokens,
        Name::Clients,
        Name::Schedule,
        Name::Reports,
        Name::MyVisits,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Name::Settings => "settings",
            Name::Sessions => "sessions",
            Name::Tokens => "tokens",
            Name::Clients => "clients",
            Name::Schedule => "schedule",
            Name::Reports => "reports",
            Name::MyVisits => "my_visits",
        }
    }

    pub fn parse(name: &str) -> Option<Name> {
        Name::ALL.into_iter().find(|n| n.as_str() == name)
    }

    /// The longest an entry may live: the upper bound a configured TTL may lower.
    pub fn ttl(self) -> Duration {
        match self {
            Name::Settings => Duration::from_secs(60 * 60),
            Name::Sessions => Duration::from_secs(60),
            Name::Tokens | Name::Clients => Duration::from_secs(15 * 60),
            Name::Schedule | Name::Reports | Name::MyVisits => Duration::from_secs(5 * 60),
        }
    }

    /// The default size: entries, or for [`Name::Schedule`], [`Name::Reports`] and
    /// [`Name::MyVisits`] the rows their entries hold (each entry weighs one plus its rows). The least
    /// recently and frequently used go first.
    pub fn capacity(self) -> u64 {
        match self {
            Name::Settings => 10_000,
            Name::Sessions | Name::Tokens | Name::Clients => 50_000,
            Name::Schedule | Name::MyVisits => 200_000,
            Name::Reports => 100_000,
        }
    }

    fn index(self) -> usize {
        match self {
            Name::Settings => 0,
            Name::Sessions => 1,
            Name::Tokens => 2,
            Name::Clients => 3,
            Name::Schedule => 4,
            Name::Reports => 5,
            Name::MyVisits => 6,
        }
    }
}

/// One cache's size and TTL (`[caches]` in `jobber.toml`, `JOBBER_CACHE_<NAME>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Entries (weighed, see [`Name::capacity`]); 0 turns the cache off.
    pub capacity: u64,
    /// At most [`Name::ttl`].
    pub ttl: Duration,
}

/// The size and TTL of every cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    limits: [Limit; 7],
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            limits: Name::ALL.map(|name| Limit {
                capacity: name.capacity(),
                ttl: name.ttl(),
            }),
        }
    }
}

impl Limits {
    pub fn get(&self, name: Name) -> Limit {
        self.limits[name.index()]
    }

    /// Set a cache's limit; refused with the reason when the TTL is zero or longer
    /// than the cache allows.
    pub fn set(&mut self, name: Name, limit: Limit) -> Result<(), String> {
        if limit.ttl.is_zero() {
            return Err("ttl_secs must be at least 1".into());
        }
        if limit.ttl > name.ttl() {
            return Err(format!(
                "ttl_secs must be at most {} (the longest a {} entry may live)",
                name.ttl().as_secs(),
                name.as_str()
            ));
        }
        self.limits[name.index()] = limit;
        Ok(())
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

    /// A question asked of the account (a report, a schedule window): `question`
    /// spells out everything that changes the answer. It is kept as 128 bits of its
    /// SHA-256, so two different questions never share an entry in practice.
    pub fn query(account_id: Uuid, question: &str) -> Self {
        let digest = Sha256::digest(question.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self {
            account_id,
            item: Some(Uuid::from_bytes(bytes)),
        }
    }

    pub fn account_id(&self) -> Uuid {
        self.account_id
    }
}

/// A stored value, with the account's change count when its load began and its
/// weight.
#[derive(Clone)]
struct Stored {
    stamp: u64,
    weight: u32,
    value: Arc<dyn Any + Send + Sync>,
}

/// An account's invalidations in one cache: `changes` counts them all (a load that
/// straddles one does not store its value); entries stamped below `floor` were
/// loaded before the account's last account-wide invalidation and count as gone.
#[derive(Debug, Clone, Copy, Default)]
struct Epoch {
    changes: u64,
    floor: u64,
}

/// One named cache and its counters.
pub struct Cache {
    name: Name,
    entries: moka::future::Cache<Key, Stored>,
    capacity: u64,
    hits: AtomicU64,
    misses: AtomicU64,
    /// Entries dropped for their age or for room (moka's `Expired` and `Size`).
    evictions: Arc<AtomicU64>,
    /// Entries (or, account-wide, accounts' entries) dropped by an event or a write.
    invalidations: AtomicU64,
    /// Per account, see [`Epoch`]: an account-wide invalidation is O(1), whatever the
    /// cache holds.
    epochs: Mutex<HashMap<Uuid, Epoch>>,
    /// Bumped when the whole cache is emptied: a load that began before does not
    /// store its value.
    cleared: AtomicU64,
    enabled: Arc<AtomicBool>,
    /// The loads under way in [`Cache::get_or_compute`], one per key: requests that
    /// miss the same entry together wait for the first one's load instead of each
    /// running the same report (after an event, a busy office's dashboard is asked
    /// for by every open screen at once). The lock keeps the key's last load, so a
    /// request that waited may take it even when it could not be stored.
    flights: Mutex<HashMap<Key, Flight>>,
}

/// The loads of one key, in turn, and the last one's answer.
type Flight = Arc<tokio::sync::Mutex<Option<Loaded>>>;

/// What a load found and where it began ([`Cache::begin`]).
struct Loaded {
    start: (u64, u64),
    value: Arc<dyn Any + Send + Sync>,
}

impl Loaded {
    /// The answer, if its load began no earlier than `arrival` (nothing the account
    /// changed before the request arrived is missing from it) and it is a `T`.
    fn answers<T: Clone + 'static>(&self, arrival: (u64, u64)) -> Option<T> {
        let fresh = self.start.0 >= arrival.0 && self.start.1 >= arrival.1;
        if !fresh {
            return None;
        }
        self.value.downcast_ref::<T>().cloned()
    }
}

/// A request's place in a key's loads ([`Cache::get_or_compute`]): when it ends,
/// however it ends (answered, failed, or dropped with its request), the key's lock is
/// forgotten unless another request holds or waits for it.
struct Landing<'a> {
    cache: &'a Cache,
    key: Key,
    flight: Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.cache.flights.lock().unwrap_or_else(|e| e.into_inner());
        // The map's and ours: nobody else has a clone (they are taken under this lock).
        if Arc::strong_count(&self.flight) <= 2 {
            flights.remove(&self.key);
        }
    }
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
    fn new(name: Name, limit: Limit, enabled: Arc<AtomicBool>) -> Self {
        let evictions = Arc::new(AtomicU64::new(0));
        let counted = evictions.clone();
        let entries = moka::future::Cache::builder()
            .name(name.as_str())
            .max_capacity(limit.capacity)
            .weigher(|_key, stored: &Stored| stored.weight)
            .time_to_live(limit.ttl)
            .eviction_listener(move |_key, _value, cause| {
                if matches!(cause, RemovalCause::Expired | RemovalCause::Size) {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build();
        Self {
            name,
            entries,
            capacity: limit.capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            evictions,
            invalidations: AtomicU64::new(0),
            epochs: Mutex::default(),
            cleared: AtomicU64::new(0),
            enabled,
            flights: Mutex::default(),
        }
    }

    pub fn name(&self) -> Name {
        self.name
    }

    fn epoch(&self, account_id: Uuid) -> Epoch {
        self.epochs
            .lock()
            .map(|epochs| epochs.get(&account_id).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    fn on(&self) -> bool {
        self.capacity > 0 && self.enabled.load(Ordering::Acquire)
    }

    /// The live entry under `key`, counted as a hit.
    async fn lookup<T: Clone + 'static>(&self, key: &Key) -> Option<T> {
        let stored = self.entries.get(key).await?;
        if stored.stamp < self.epoch(key.account_id).floor {
            // Loaded before an account-wide invalidation.
            self.entries.remove(key).await;
            return None;
        }
        let value = stored.value.downcast_ref::<T>()?.clone();
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(value)
    }

    /// Where a load begins: the cache's clear count and the account's change count.
    fn begin(&self, key: &Key) -> (u64, u64) {
        (
            self.cleared.load(Ordering::Acquire),
            self.epoch(key.account_id).changes,
        )
    }

    /// Store what a load that began at `start` found, unless something was
    /// invalidated in the account (or the cache emptied) meanwhile.
    async fn store<T: Send + Sync + 'static>(
        &self,
        key: Key,
        start: (u64, u64),
        value: T,
        weight: u32,
    ) {
        let unchanged =
            |cache: &Self| cache.enabled.load(Ordering::Acquire) && cache.begin(&key) == start;
        if !unchanged(self) {
            return;
        }
        let stored = Stored {
            stamp: start.1,
            weight: weight.max(1),
            value: Arc::new(value),
        };
        self.entries.insert(key, stored).await;
        // An invalidation of this key that slipped in between the check and the
        // insert: take the insert back.
        if !unchanged(self) {
            self.entries.remove(&key).await;
        }
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
        if !self.on() {
            return load().await;
        }
        if let Some(value) = self.lookup::<T>(&key).await {
            return Ok(Some(value));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let start = self.begin(&key);
        let loaded = load().await?;
        if let Some(value) = &loaded {
            self.store(key, start, value.clone(), 1).await;
        }
        Ok(loaded)
    }

    /// Cache-aside for an answer that always exists (a report, a schedule window):
    /// the entry under `key`, else what `load` computes, stored with the weight
    /// `weigh` gives it (one plus its rows).
    pub async fn get_or_compute<T, E, Fut>(
        &self,
        key: Key,
        weigh: impl FnOnce(&T) -> usize,
        load: impl FnOnce() -> Fut,
    ) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>>,
    {
        if !self.on() {
            return load().await;
        }
        if let Some(value) = self.lookup::<T>(&key).await {
            return Ok(value);
        }
        // Where this request stands: a load that begins later sees everything the
        // account changed before it, so its answer serves this request as well.
        let arrival = self.begin(&key);
        let landing = Landing {
            cache: self,
            key,
            flight: self.flight(key),
        };
        let flight = landing.flight.clone();
        let mut turn = flight.lock().await;
        // The load this request waited for may have stored the answer, or, when the
        // account changed while it ran (a busy office writes all the time), at least
        // answered everyone who arrived before it began.
        if let Some(value) = self.lookup::<T>(&key).await {
            return Ok(value);
        }
        if let Some(value) = turn.as_ref().and_then(|last| last.answers::<T>(arrival)) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(value);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let start = self.begin(&key);
        let value = load().await?;
        let weight = u32::try_from(weigh(&value).saturating_add(1)).unwrap_or(u32::MAX);
        self.store(key, start, value.clone(), weight).await;
        *turn = Some(Loaded {
            start,
            value: Arc::new(value.clone()),
        });
        Ok(value)
    }

    /// The lock that orders the loads of `key`.
    fn flight(&self, key: Key) -> Flight {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        flights.entry(key).or_default().clone()
    }

    fn bump(&self, account_id: Uuid, account_wide: bool) {
        if let Ok(mut epochs) = self.epochs.lock() {
            let epoch = epochs.entry(account_id).or_default();
            epoch.changes += 1;
            if account_wide {
                epoch.floor = epoch.changes;
            }
        }
    }

    /// Drop the entry under `key`.
    pub async fn invalidate(&self, key: &Key) {
        self.bump(key.account_id, false);
        if self.entries.remove(key).await.is_some() {
            self.invalidations.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Drop every entry of an account (a user's role, status or sign-ins changed:
    /// any of their sessions may be among them; a change that moves a report's
    /// figures). Entries stay in memory until read, aged or pushed out, but none
    /// answers again.
    pub async fn invalidate_account(&self, account_id: Uuid) {
        self.bump(account_id, true);
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    fn clear(&self) {
        self.cleared.fetch_add(1, Ordering::AcqRel);
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
    caches: Arc<[Cache; 7]>,
    enabled: Arc<AtomicBool>,
    /// Events this process committed and has applied here already ([`Caches::applied`]).
    applied: Arc<Mutex<Applied>>,
}

/// The `events` ids of changes this process committed, until the relay hears them
/// back; the oldest are forgotten past [`Applied::LIMIT`] (the relay then applies
/// them a second time, which is only wasteful).
#[derive(Default)]
struct Applied {
    ids: std::collections::HashSet<i64>,
    order: std::collections::VecDeque<i64>,
}

impl Applied {
    const LIMIT: usize = 16_384;
}

impl Default for Caches {
    fn default() -> Self {
        Self::new(&Limits::default())
    }
}

impl Caches {
    pub fn new(limits: &Limits) -> Self {
        let enabled = Arc::new(AtomicBool::new(false));
        let caches =
            Arc::new(Name::ALL.map(|name| Cache::new(name, limits.get(name), enabled.clone())));
        Self {
            caches,
            enabled,
            applied: Arc::default(),
        }
    }

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

    /// Say that the events with these `events` ids, committed by this process, have
    /// been applied to its caches ([`Caches::on_event`] right after the commit).
    pub fn applied(&self, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        for &id in ids {
            if applied.ids.insert(id) {
                applied.order.push_back(id);
            }
        }
        while applied.order.len() > Applied::LIMIT {
            if let Some(old) = applied.order.pop_front() {
                applied.ids.remove(&old);
            }
        }
    }

    /// Whether the event with this `events` id was applied here already (then
    /// forgotten: it is heard once). The relay skips those: applying an event again
    /// drops nothing stale, but keeps every load begun since its commit from being
    /// stored, which on a busy account means a report never stays cached.
    pub fn take_applied(&self, id: i64) -> bool {
        let mut applied = self.applied.lock().unwrap_or_else(|e| e.into_inner());
        // `order` keeps the id until it ages out: removing from the middle of a deque
        // is linear, and a stale id there only ages out a little sooner.
        applied.ids.remove(&id)
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
    let mut stale = Vec::new();
    let settings = (Name::Settings, Some(Key::account(account_id)));
    match event {
        Event::SettingsUpdated {} => stale.push(settings),
        // Each takes the account's next document number, kept with its settings.
        Event::QuoteCreated { .. } | Event::JobCreated { .. } | Event::InvoiceSent { .. } => {
            stale.push(settings);
        }
        Event::ClientCreated { client_id }
        | Event::ClientUpdated { client_id }
        | Event::ClientDeleted { client_id }
        | Event::ClientArchived { client_id }
        | Event::ClientAvatarChanged { client_id } => {
            stale.push((Name::Clients, Some(Key::item(account_id, *client_id))));
        }
        Event::SessionRevoked { session_id, .. } => {
            // A browser session, or a token login (its refresh-token family).
            stale.push((Name::Sessions, Some(Key::item(account_id, *session_id))));
            stale.push((Name::Tokens, Some(Key::item(account_id, *session_id))));
        }
        // A session's or token's entry holds its user's role and stands for an
        // active user.
        Event::UserUpdated { .. } | Event::UserSessionsRevoked { .. } => {
            stale.push((Name::Sessions, None));
            stale.push((Name::Tokens, None));
        }
        _ => {}
    }
    if moves_reports(event) {
        stale.push((Name::Reports, None));
    }
    if moves_schedule(event) {
        stale.push((Name::Schedule, None));
        // The same visits, with their jobs' work lines, their clients' phones and
        // emails, and the account's price setting: all moved by the same events.
        stale.push((Name::MyVisits, None));
    }
    stale
}

/// Whether an event may change a report's figures (the dashboard, revenue, jobs,
/// aging). Every event but those that cannot: a new kind of event empties the
/// account's reports until it is listed here.
fn moves_reports(event: &Event) -> bool {
    !matches!(
        event,
        // A new client has no quote, job, invoice or payment yet.
        Event::ClientCreated { .. }
            | Event::ClientAvatarChanged { .. }
            | Event::MessageReceived { .. }
            | Event::RequestReceived { .. }
            | Event::NotificationCreated { .. }
            | Event::SessionRevoked { .. }
            | Event::UserSessionsRevoked { .. }
            | Event::PaymentStarted { .. }
            | Event::PaymentFailed { .. }
    )
}

/// Whether an event may change a schedule window: its visits, their jobs (title,
/// number), clients (name, address), assignees and the account's zone. Every event
/// but those that cannot.
fn moves_schedule(event: &Event) -> bool {
    !matches!(
        event,
        // A new client has no visit yet.
        Event::ClientCreated { .. }
            | Event::ClientAvatarChanged { .. }
            | Event::MessageReceived { .. }
            | Event::RequestReceived { .. }
            | Event::NotificationCreated { .. }
            | Event::SessionRevoked { .. }
            | Event::UserSessionsRevoked { .. }
            | Event::PaymentRecorded { .. }
            | Event::PaymentStarted { .. }
            | Event::PaymentSucceeded { .. }
            | Event::PaymentFailed { .. }
            | Event::PaymentRefunded { .. }
            | Event::QuoteUpdated { .. }
            | Event::QuoteSent { .. }
            | Event::QuoteDeclined { .. }
            | Event::QuoteChangesRequested { .. }
            | Event::QuoteArchived { .. }
            | Event::QuoteExpired { .. }
    )
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

    #[test]
    fn questions_are_keyed_by_account_and_every_word() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let q = "revenue 2026-01-01 2026-12-31 month";
        assert_eq!(Key::query(a, q), Key::query(a, q));
        assert_ne!(Key::query(a, q), Key::query(b, q));
        assert_ne!(
            Key::query(a, q),
            Key::query(a, "revenue 2026-01-01 2026-12-31 week")
        );
    }

    async fn compute(cache: &Cache, key: Key, value: &str) -> String {
        let value = value.to_owned();
        cache
            .get_or_compute(key, String::len, || async { Ok::<_, ()>(value) })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_new_client_leaves_reports_and_schedules_but_an_edited_one_does_not() {
        let caches = enabled();
        let account = Uuid::now_v7();
        let client_id = Uuid::now_v7();
        let entries = [
            (Name::Reports, Key::query(account, "dashboard")),
            (Name::Schedule, Key::query(account, "schedule week")),
            (Name::MyVisits, Key::query(account, "my_visits")),
        ];
        for (name, key) in entries {
            compute(caches.get(name), key, "before").await;
        }
        // An office adding clients all day keeps its dashboard and calendar cached.
        caches
            .on_event(account, &Event::ClientCreated { client_id })
            .await;
        for (name, key) in entries {
            assert_eq!(
                compute(caches.get(name), key, "x").await,
                "before",
                "{name:?}"
            );
        }
        // A renamed client's name is on its visits and its invoices' aging rows.
        caches
            .on_event(account, &Event::ClientUpdated { client_id })
            .await;
        for (name, key) in entries {
            assert_eq!(
                compute(caches.get(name), key, "after").await,
                "after",
                "{name:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_report_event_empties_its_account_only_and_straddling_loads_stay_out() {
        let caches = enabled();
        let cache = caches.get(Name::Reports);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (a1, a2, b1) = (
            Key::query(a, "dashboard"),
            Key::query(a, "aging"),
            Key::query(b, "dashboard"),
        );
        compute(cache, a1, "a1").await;
        compute(cache, a2, "a2").await;
        compute(cache, b1, "b1").await;
        assert_eq!(compute(cache, a1, "x").await, "a1");
        let paid = Event::PaymentRecorded {
            payment_id: Uuid::now_v7(),
        };
        caches.on_event(a, &paid).await;
        assert_eq!(compute(cache, a1, "new").await, "new");
        assert_eq!(compute(cache, a2, "new").await, "new");
        assert_eq!(compute(cache, b1, "x").await, "b1");
        // A message moves no figure.
        let message = Event::MessageReceived {
            message_id: Uuid::now_v7(),
            client_id: None,
        };
        caches.on_event(a, &message).await;
        assert_eq!(compute(cache, a1, "x").await, "new");
        // A load during which the account changed answers, but is not kept.
        let old = cache
            .get_or_compute(Key::query(a, "jobs"), String::len, || async {
                caches.on_event(a, &paid).await;
                Ok::<_, ()>("old".to_owned())
            })
            .await;
        assert_eq!(old, Ok("old".to_owned()));
        assert_eq!(
            compute(cache, Key::query(a, "jobs"), "fresh").await,
            "fresh"
        );
        // Another account's change does not keep a load out.
        let kept = cache
            .get_or_compute(Key::query(b, "jobs"), String::len, || async {
                caches.on_event(a, &paid).await;
                Ok::<_, ()>("kept".to_owned())
            })
            .await;
        assert_eq!(kept, Ok("kept".to_owned()));
        assert_eq!(compute(cache, Key::query(b, "jobs"), "x").await, "kept");
        let stats = cache.stats();
        assert!(stats.hits >= 4 && stats.misses >= 6 && stats.invalidations >= 3);
    }

    #[tokio::test]
    async fn requests_that_miss_together_share_one_load() {
        let caches = enabled();
        let cache = caches.get(Name::Reports);
        let key = Key::query(Uuid::now_v7(), "dashboard");
        let loads = AtomicU64::new(0);
        let (started, release) = (tokio::sync::Notify::new(), tokio::sync::Semaphore::new(0));
        let ask = || {
            cache.get_or_compute(key, String::len, || async {
                loads.fetch_add(1, Ordering::SeqCst);
                started.notify_one();
                let _go = release.acquire().await;
                Ok::<_, ()>("report".to_owned())
            })
        };
        let first = ask();
        let others = futures_util::future::join_all((0..7).map(|_| ask()));
        let (answers, ()) = tokio::join!(
            async { futures_util::future::join(first, others).await },
            async {
                // Release the loads only once the first runs: the seven others have
                // missed by then, and wait behind it (or, without the lock, load too).
                started.notified().await;
                tokio::task::yield_now().await;
                release.add_permits(8);
            }
        );
        assert_eq!(answers.0, Ok("report".to_owned()));
        assert!(answers.1.iter().all(|a| a == &Ok("report".to_owned())));
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "one load for eight requests"
        );
        assert_eq!(cache.stats().misses, 1);
        assert!(
            cache.flights.lock().unwrap().is_empty(),
            "no lock left behind"
        );
    }

    #[tokio::test]
    async fn a_load_that_could_not_be_stored_still_answers_who_arrived_before_it() {
        let caches = enabled();
        let cache = caches.get(Name::Reports);
        let account = Uuid::now_v7();
        let key = Key::query(account, "dashboard");
        let loads = AtomicU64::new(0);
        let (started, release) = (tokio::sync::Notify::new(), tokio::sync::Semaphore::new(0));
        // A busy office: the account changes while every load runs, so none is stored.
        let ask = || {
            cache.get_or_compute(key, String::len, || async {
                let n = loads.fetch_add(1, Ordering::SeqCst) + 1;
                cache.invalidate(&Key::query(account, "client")).await;
                started.notify_one();
                let _go = release.acquire().await;
                Ok::<_, ()>(format!("load {n}"))
            })
        };
        let first = ask();
        tokio::pin!(first);
        tokio::select! {
            _ = &mut first => panic!("the first load was released"),
            () = started.notified() => {}
        }
        // Seven requests arrive after the change the first load missed: it cannot
        // answer them, but the next load, begun after they arrived, answers them all.
        let others = futures_util::future::join_all((0..7).map(|_| ask()));
        let (first, others, ()) = tokio::join!(first, others, async {
            tokio::task::yield_now().await;
            release.add_permits(8);
        });
        assert_eq!(first, Ok("load 1".to_owned()));
        assert!(
            others.iter().all(|a| a == &Ok("load 2".to_owned())),
            "{others:?}"
        );
        assert_eq!(
            loads.load(Ordering::SeqCst),
            2,
            "two loads for eight requests"
        );
        assert!(
            cache.lookup::<String>(&key).await.is_none(),
            "neither load was stored"
        );
        assert!(cache.flights.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn schedule_and_token_entries_follow_their_events() {
        let caches = enabled();
        let (account, login) = (Uuid::now_v7(), Uuid::now_v7());
        let schedule = caches.get(Name::Schedule);
        let window = Key::query(account, "schedule week staff []");
        let mine = caches.get(Name::MyVisits);
        let day = Key::query(account, "my_visits tech Technician monday tuesday");
        compute(schedule, window, "before").await;
        compute(mine, day, "before").await;
        let payment = Event::PaymentRecorded {
            payment_id: Uuid::now_v7(),
        };
        caches.on_event(account, &payment).await;
        assert_eq!(compute(schedule, window, "x").await, "before");
        assert_eq!(compute(mine, day, "x").await, "before");
        let moved = Event::ScheduleChanged {
            visit_id: Uuid::now_v7(),
            job_id: Uuid::now_v7(),
            assigned: Vec::new(),
            unassigned: Vec::new(),
        };
        caches.on_event(account, &moved).await;
        assert_eq!(compute(schedule, window, "after").await, "after");
        assert_eq!(compute(mine, day, "after").await, "after");
        // A client's phone, shown with the technician's visits.
        let client_id = Uuid::now_v7();
        caches
            .on_event(account, &Event::ClientUpdated { client_id })
            .await;
        assert_eq!(compute(mine, day, "phoned").await, "phoned");

        let tokens = caches.get(Name::Tokens);
        let key = Key::item(account, login);
        load(tokens, key, "live").await;
        let other = Event::SessionRevoked {
            session_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
        };
        caches.on_event(account, &other).await;
        assert_eq!(load(tokens, key, "x").await.unwrap(), "live");
        let revoked = Event::SessionRevoked {
            session_id: login,
            user_id: Uuid::now_v7(),
        };
        caches.on_event(account, &revoked).await;
        assert_eq!(load(tokens, key, "reloaded").await.unwrap(), "reloaded");
        caches
            .on_event(
                account,
                &Event::UserUpdated {
                    user_id: Uuid::now_v7(),
                },
            )
            .await;
        assert_eq!(load(tokens, key, "again").await.unwrap(), "again");
    }

    #[tokio::test]
    async fn limits_size_and_turn_off_a_cache() {
        let mut limits = Limits::default();
        let off = Limit {
            capacity: 0,
            ttl: Name::Clients.ttl(),
        };
        limits.set(Name::Clients, off).unwrap();
        let too_long = Limit {
            capacity: 1,
            ttl: Name::Reports.ttl() + Duration::from_secs(1),
        };
        assert!(limits.set(Name::Reports, too_long).is_err());
        let zero = Limit {
            capacity: 1,
            ttl: Duration::ZERO,
        };
        assert!(limits.set(Name::Reports, zero).is_err());
        let caches = Caches::new(&limits);
        caches.enable();
        let clients = caches.get(Name::Clients);
        let key = Key::item(Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(load(clients, key, "1").await.unwrap(), "1");
        assert_eq!(load(clients, key, "2").await.unwrap(), "2");
        assert_eq!(clients.stats().hits, 0);
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
