//! Connection pool, migrations and the tenant transaction.
//!
//! All tenant work runs in [`Db::tenant`]: one round trip opens the transaction, drops to
//! the unprivileged `jobber_app` role and sets `app.account_id`, so row-level security
//! confines every statement to one account even if a query forgets its `WHERE`.
//! Modules must never run tenant queries on a bare pool connection.
//!
//! Read-only work asks for [`Db::read`] instead: the same confinement in a `READ ONLY`
//! transaction, served by the streaming replica when one is configured
//! (`--database-read-url`, docs/scaling.md) and by the primary otherwise. A user's
//! reads go to the primary for a few seconds after their own write (the replica may
//! not have replayed it yet), and all reads do while the replica is down; a probe
//! brings it back ([`watch_replica`]).
//!
//! A lost database is an outage, not a bug: [`is_unavailable`] tells connection-class
//! errors (the server gone, restarting, unreachable, or no connection within the
//! acquire timeout) from failing statements, so the API answers them with
//! `503 database_unavailable` instead of 500. Broken connections leave the pool on
//! their first error (sqlx pings a connection when it is released and drops it if the
//! ping fails), the first such error closes the idle ones (they died with the server),
//! and a connection that sat idle is pinged before it is handed out; so once the
//! server is back, requests succeed without restarting jobber.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{
    AssertSqlSafe, ConnectOptions, Connection, PgConnection, PgPool, Postgres, Transaction,
};
use uuid::Uuid;

use crate::platform::cache::{self, Caches};
use crate::platform::events::{Actor, Bus, Event, Fanout, Listeners, Sequencer};

/// The migrations compiled into this binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The role tenant transactions run as; created by the first migration.
pub const APP_ROLE: &str = "jobber_app";

/// A tenant transaction: a PostgreSQL transaction confined to one account. It derefs
/// to the connection, so repo functions take `&mut PgConnection` as before.
pub struct Tx {
    inner: Transaction<'static, Postgres>,
    account_id: Uuid,
    /// Raised by the change so far; written with the commit (`platform::events`).
    events: Vec<Event>,
    /// How many of `events` are written already ([`Tx::write_events`]), and their
    /// rows' ids.
    written: usize,
    written_ids: Vec<i64>,
    /// Numbers the events after the commit.
    sequencer: Sequencer,
    listeners: Listeners,
    caches: Caches,
    /// Cache entries this transaction wrote: read from the database here, dropped on
    /// commit (`platform::cache`).
    touched: Vec<(cache::Name, cache::Key)>,
    kind: Kind,
    /// The read replica, if configured: a write's commit sends its user's next reads
    /// to the primary; a read on the replica reports the replica's failure.
    replica: Option<Arc<Replica>>,
}

/// What a [`Tx`] was begun for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// [`Db::tenant`]: a change (or a read that has not asked for [`Db::read`]).
    Write,
    /// [`Db::read`] served by the primary: `READ ONLY`.
    Read,
    /// [`Db::read`] served by the replica: `READ ONLY`, and filling no cache.
    ReplicaRead,
}

impl Tx {
    pub fn account_id(&self) -> Uuid {
        self.account_id
    }

    /// Say what this change did. The event is written with the commit and published
    /// to listeners after it; a rollback forgets it.
    pub fn raise(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Write the events raised so far now rather than with the commit (which still
    /// numbers and publishes them): later statements of this transaction find their
    /// rows. They stay unnumbered and unseen by others until the commit, and a
    /// rollback removes them.
    pub async fn write_events(&mut self) -> Result<(), sqlx::Error> {
        let ids = crate::platform::events::write(
            &mut self.inner,
            self.account_id,
            &self.events[self.written..],
        )
        .await?;
        self.written = self.events.len();
        self.written_ids.extend(ids);
        Ok(())
    }

    /// This process's caches, for reads that may be answered from them (see
    /// [`Tx::touched`] first).
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// Say that this transaction writes what `key` caches in `name`: its own reads of
    /// it must see the write (not the cache), and the commit drops the entry on this
    /// instance. Other instances hear of the change by its event.
    pub fn touch(&mut self, name: cache::Name, key: cache::Key) {
        if !self.touched.contains(&(name, key)) {
            self.touched.push((name, key));
        }
    }

    /// Whether this transaction wrote what `key` caches in `name` ([`Tx::touch`]).
    pub fn touched(&self, name: cache::Name, key: &cache::Key) -> bool {
        self.touched.contains(&(name, *key))
    }

    /// Commit, unless the request being served holds its commit (see [`CommitHold`]):
    /// then the transaction is handed to the hold, which commits it with the response.
    /// A read ([`Db::read`]) just ends: it changed nothing and is never held.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        if self.kind != Kind::Write {
            let result = self.inner.commit().await;
            if let (Kind::ReplicaRead, Some(replica), Err(error)) =
                (self.kind, &self.replica, &result)
                && is_unavailable(error)
            {
                replica.failed(error).await;
            }
            return result;
        }
        match CommitHold::offer(self) {
            Some(tx) => {
                // A transaction held earlier in this request committed first, in order.
                CommitHold::flush().await?;
                tx.finish().await
            }
            None => Ok(()),
        }
    }

    /// Let the in-transaction listeners react, write the raised events, commit for
    /// real, then number the events (`platform::events::number`).
    async fn finish(mut self) -> Result<(), sqlx::Error> {
        self.listeners
            .run(&mut self.inner, self.account_id, &self.events)
            .await?;
        self.write_events().await?;
        self.inner.commit().await?;
        // Read-your-writes on this instance: stale entries go before the caller
        // answers; the other instances drop them when the events reach their relay.
        for (name, key) in &self.touched {
            self.caches.get(*name).invalidate(key).await;
        }
        for event in &self.events {
            self.caches.on_event(self.account_id, event).await;
        }
        // Done here once: the relay, hearing them back, leaves the caches be.
        self.caches.applied(&self.written_ids);
        // Numbered in a transaction of its own, so the account's other writers never
        // wait for this commit (`platform::events::Sequencer`).
        if !self.events.is_empty() {
            self.sequencer.committed(self.account_id).await;
        }
        // Read-your-writes across the replica: this user's reads go to the primary
        // for a while (`Replica::wrote`). A change raises an event or touches a cache
        // entry; a transaction that did neither only read.
        if let Some(replica) = &self.replica
            && !(self.events.is_empty() && self.touched.is_empty())
            && let Some(Actor::User(user_id)) = crate::platform::events::current_actor()
        {
            replica.wrote(self.account_id, user_id);
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl Deref for Tx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.inner
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.inner
    }
}

tokio::task_local! {
    static HOLD: Arc<CommitHold>;
}

/// Lets a request keep its first tenant commit open until its response is known, so
/// that something about the response can be written in the same transaction as the
/// change it answers for. The `Idempotency-Key` middleware uses it: the stored
/// response commits with the write, so a crash between the two cannot leave a change
/// whose retry would run it a second time.
///
/// Only the first commit of the hold's account is held. A request that begins another
/// tenant transaction afterwards (to read back what it wrote, or a multi-step flow)
/// gets the held one committed first, so it sees its own writes and never waits on
/// its own locks; the hold is then spent and the caller falls back to its own
/// transaction for the response.
pub struct CommitHold {
    account_id: Uuid,
    state: Mutex<HoldState>,
}

enum HoldState {
    Open,
    Held(Box<Tx>),
    Spent,
}

impl CommitHold {
    pub fn new(account_id: Uuid) -> Arc<Self> {
        Arc::new(Self {
            account_id,
            state: Mutex::new(HoldState::Open),
        })
    }

    /// Run `work` (the request) with this hold in force on its task.
    pub async fn scope<F: std::future::Future>(self: Arc<Self>, work: F) -> F::Output {
        HOLD.scope(self, work).await
    }

    /// The held transaction, if the work ended with one still open.
    pub fn take(&self) -> Option<Tx> {
        let mut state = self.state.lock().ok()?;
        match std::mem::replace(&mut *state, HoldState::Spent) {
            HoldState::Held(tx) => Some(*tx),
            other => {
                *state = other;
                None
            }
        }
    }

    /// Hold `tx` when the current task has an open hold for its account; otherwise
    /// give it back to be committed now.
    fn offer(tx: Tx) -> Option<Tx> {
        let Ok(hold) = HOLD.try_with(Arc::clone) else {
            return Some(tx);
        };
        if hold.account_id != tx.account_id {
            return Some(tx);
        }
        let Ok(mut state) = hold.state.lock() else {
            return Some(tx);
        };
        match &*state {
            HoldState::Open => {
                *state = HoldState::Held(Box::new(tx));
                None
            }
            HoldState::Held(_) | HoldState::Spent => Some(tx),
        }
    }

    /// Commit a held transaction before the task opens another one.
    async fn flush() -> Result<(), sqlx::Error> {
        let held = HOLD.try_with(|hold| {
            let mut state = hold.state.lock().ok()?;
            match std::mem::replace(&mut *state, HoldState::Spent) {
                HoldState::Held(tx) => Some(*tx),
                HoldState::Open => {
                    *state = HoldState::Open;
                    None
                }
                HoldState::Spent => None,
            }
        });
        match held {
            Ok(Some(tx)) => tx.finish().await,
            _ => Ok(()),
        }
    }
}

#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    waiting: Arc<AtomicI64>,
    schema_current: Arc<AtomicBool>,
    events: Bus,
    fanout: Fanout,
    sequencer: Sequencer,
    listeners: Listeners,
    caches: Caches,
    /// The streaming replica that serves [`Db::read`], if configured.
    replica: Option<Arc<Replica>>,
}

/// Who is calling: the account every query is confined to, the user and their role.
/// The HTTP layer builds it from a bearer token or a session (`http::extract`);
/// services take it to open the caller's transaction and check the role.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub account_id: Uuid,
    pub user_id: Uuid,
    pub role: crate::domain::Role,
}

/// `db.read(&ctx)`: the caller's account, and the caller, whose own recent writes
/// are read from the primary ([`Db::read`]).
impl From<&Ctx> for Reader {
    fn from(ctx: &Ctx) -> Self {
        Reader {
            account_id: ctx.account_id,
            user_id: Some(ctx.user_id),
        }
    }
}

/// Who reads, for [`Db::read`]: the account (row-level security confines the read
/// to it) and the user who asks, if any, whose own recent writes send the read to the
/// primary. A request's `Ctx` converts into one (`db.read(&ctx)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reader {
    pub account_id: Uuid,
    pub user_id: Option<Uuid>,
}

impl Reader {
    /// A read on no user's behalf (a calendar feed's secret address, a background job).
    pub fn account(account_id: Uuid) -> Self {
        Self {
            account_id,
            user_id: None,
        }
    }
}

/// How [`Db::read`] uses a replica (`--database-read-url`, docs/scaling.md).
#[derive(Debug, Clone)]
pub struct ReplicaSettings {
    /// A user's reads go to the primary this long after their own write: longer than
    /// the replica's usual lag.
    pub read_your_writes: Duration,
    /// How often [`watch_replica`] checks the replica (and measures its lag).
    pub probe_interval: Duration,
}

pub const DEFAULT_READ_YOUR_WRITES: Duration = Duration::from_secs(5);
pub const DEFAULT_REPLICA_PROBE: Duration = Duration::from_secs(2);

/// Past this wait for a replica connection a read goes to the primary: a replica
/// that does not answer at once is treated as down until the probe says otherwise.
const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// While the replica stays down, the warning is repeated at most this often.
const REPLICA_WARN_EVERY: Duration = Duration::from_secs(60);

/// The streaming replica behind [`Db::read`] and what this process knows of it.
struct Replica {
    pool: PgPool,
    settings: ReplicaSettings,
    /// Whether reads go to it: cleared by a failed read or probe, set by a probe.
    up: AtomicBool,
    /// Who wrote lately (account, user) and when; their reads go to the primary.
    writers: Mutex<HashMap<(Uuid, Uuid), Instant>>,
    /// Caches that are never enabled: a read on the replica may predate a change whose
    /// event already emptied the real cache entry, so it must not fill it again.
    read_through: Caches,
    /// Reads served by the replica, and by the primary (its own writer's reads, or
    /// the replica down).
    replica_reads: AtomicU64,
    primary_reads: AtomicU64,
    /// Reads the replica should have served but the primary did (it was down).
    fallbacks: AtomicU64,
    /// How far the replica's replay was behind the primary's WAL at the last probe,
    /// in bytes (-1: not measured).
    lag_bytes: AtomicI64,
    /// When the last "replica down" warning was logged, and the fallbacks then.
    warned: Mutex<Option<(Instant, u64)>>,
}

impl Replica {
    /// `user_id` changed something in `account_id` just now.
    fn wrote(&self, account_id: Uuid, user_id: Uuid) {
        if self.settings.read_your_writes.is_zero() {
            return;
        }
        if let Ok(mut writers) = self.writers.lock() {
            writers.insert((account_id, user_id), Instant::now());
        }
    }

    /// Whether `reader` wrote within the read-your-writes window.
    fn wrote_lately(&self, reader: Reader) -> bool {
        let Some(user_id) = reader.user_id else {
            return false;
        };
        let Ok(writers) = self.writers.lock() else {
            return true;
        };
        writers
            .get(&(reader.account_id, user_id))
            .is_some_and(|at| at.elapsed() < self.settings.read_your_writes)
    }

    /// Forget writers whose window has passed (the probe does it).
    fn forget_old_writers(&self) {
        if let Ok(mut writers) = self.writers.lock() {
            let window = self.settings.read_your_writes;
            writers.retain(|_, at| at.elapsed() < window);
        }
    }

    /// A read or a probe found the replica failing: reads go to the primary until a
    /// probe succeeds. Warns on the change, then at most once a minute.
    async fn failed(&self, error: &sqlx::Error) {
        let was_up = self.up.swap(false, Ordering::AcqRel);
        discard_idle(&self.pool).await;
        let fallbacks = self.fallbacks.load(Ordering::Relaxed);
        let Ok(mut warned) = self.warned.lock() else {
            return;
        };
        let due = match *warned {
            _ if was_up => true,
            None => true,
            Some((at, _)) => at.elapsed() >= REPLICA_WARN_EVERY,
        };
        if due {
            let since = warned.map_or(0, |(_, then)| fallbacks.saturating_sub(then));
            *warned = Some((Instant::now(), fallbacks));
            if was_up {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "read replica failed; reads go to the primary until it answers again"
                );
            } else {
                tracing::warn!(
                    error = format!("{error:#}"),
                    fallbacks_since_last_warning = since,
                    "read replica still down; reads go to the primary"
                );
            }
        }
    }

    /// A probe reached the replica.
    fn answered(&self) {
        if !self.up.swap(true, Ordering::AcqRel) {
            tracing::info!("read replica answers again; reads go back to it");
            if let Ok(mut warned) = self.warned.lock() {
                *warned = None;
            }
        }
    }
}

/// The read replica's figures, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStats {
    pub up: bool,
    pub replica_reads: u64,
    pub primary_reads: u64,
    pub fallbacks: u64,
    /// Bytes of WAL the replica had not replayed at the last probe; None: unknown.
    pub lag_bytes: Option<i64>,
}

/// How a [`Db`] pool behaves.
#[derive(Debug, Clone)]
pub struct DbSettings {
    pub max_connections: u32,
    /// How long a caller waits for a pooled connection; past it the caller gets
    /// `PoolTimedOut` (503 `database_unavailable` in the API). Short, so that requests
    /// fail fast while the database is down instead of piling up.
    pub acquire_timeout: Duration,
    /// The level of sqlx's "slow statement" events (statements slower than
    /// `slow_statement`). The server warns; bulk commands (`admin seed-demo`,
    /// `migrate`) make slow statements on purpose and log them at info, so
    /// `--log warn` hides them.
    pub slow_statement_level: log::LevelFilter,
    pub slow_statement: Duration,
    /// The sizes and TTLs of the process's caches (`[caches]`, docs/scaling.md).
    pub caches: cache::Limits,
}

impl DbSettings {
    /// The defaults of a server: 3 s acquire timeout, slow statements warned.
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            slow_statement_level: log::LevelFilter::Warn,
            slow_statement: DEFAULT_SLOW_STATEMENT,
            caches: cache::Limits::default(),
        }
    }

    /// One-shot commands: two connections, slow statements at info.
    pub fn command() -> Self {
        Self {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(10),
            slow_statement_level: log::LevelFilter::Info,
            slow_statement: DEFAULT_SLOW_STATEMENT,
            caches: cache::Limits::default(),
        }
    }
}

pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// sqlx's own default threshold of a slow statement.
pub const DEFAULT_SLOW_STATEMENT: Duration = Duration::from_secs(1);

/// A connection idle longer than this is pinged before it is handed out: it may have
/// outlived its server (a restart, a failover). Busy connections are not pinged, so
/// the round trip ARCHITECTURE §6 saves stays saved under load.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        Self::connect_with(url, &DbSettings::new(max_connections)).await
    }

    pub async fn connect_with(url: &str, settings: &DbSettings) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("invalid database URL")?;
        let options = options
            .application_name("jobber")
            .log_slow_statements(settings.slow_statement_level, settings.slow_statement);
        let pool = pool_options(settings)
            .connect_with(options)
            .await
            .context("cannot connect to PostgreSQL")?;
        let mut db = Self::from_pool(pool);
        db.caches = Caches::new(&settings.caches);
        Ok(db)
    }

    pub fn from_pool(pool: PgPool) -> Self {
        let fanout = Fanout::default();
        Self {
            sequencer: Sequencer::new(pool.clone(), fanout.clone()),
            pool,
            waiting: Arc::default(),
            schema_current: Arc::default(),
            events: Bus::default(),
            listeners: Listeners::default(),
            fanout,
            caches: Caches::default(),
            replica: None,
        }
    }

    /// The same database through a small pool of its own (`connections` at most,
    /// opened on first use), sharing everything else: the event bus, the caches, the
    /// listeners. The event relay reads through it, so it never waits behind
    /// requests for a connection: a relay that fell behind a busy pool kept emptying
    /// the caches long after the writes that caused it (docs/performance.md).
    pub fn with_own_pool(&self, connections: u32) -> Self {
        let options = (*self.pool.connect_options()).clone();
        let pool = pool_options(&DbSettings::new(connections))
            .min_connections(0)
            .connect_lazy_with(options);
        Self {
            pool,
            ..self.clone()
        }
    }

    /// Serve [`Db::read`]s from the streaming replica at `url` too. The pool connects
    /// lazily: a replica that is down at start leaves reads on the primary until
    /// [`watch_replica`] reaches it.
    pub fn with_replica(
        mut self,
        url: &str,
        settings: &DbSettings,
        replica: ReplicaSettings,
    ) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("invalid database read URL")?;
        let options = options
            .application_name("jobber")
            .log_slow_statements(settings.slow_statement_level, settings.slow_statement);
        let pool = pool_options(settings)
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout.min(REPLICA_ACQUIRE_TIMEOUT))
            .connect_lazy_with(options);
        self.replica = Some(Arc::new(Replica {
            pool,
            settings: replica,
            up: AtomicBool::new(true),
            writers: Mutex::default(),
            read_through: Caches::default(),
            replica_reads: AtomicU64::new(0),
            primary_reads: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            lag_bytes: AtomicI64::new(-1),
            warned: Mutex::default(),
        }));
        Ok(self)
    }

    /// Whether a read replica is configured.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// The replica's figures; None without one.
    pub fn replica_stats(&self) -> Option<ReplicaStats> {
        self.replica.as_ref().map(|r| ReplicaStats {
            up: r.up.load(Ordering::Acquire),
            replica_reads: r.replica_reads.load(Ordering::Relaxed),
            primary_reads: r.primary_reads.load(Ordering::Relaxed),
            fallbacks: r.fallbacks.load(Ordering::Relaxed),
            lag_bytes: Some(r.lag_bytes.load(Ordering::Relaxed)).filter(|lag| *lag >= 0),
        })
    }

    /// This process's caches (on while its event relay listens: `platform::cache`).
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The listeners that react inside each tenant transaction before it commits.
    pub fn listeners(&self) -> &Listeners {
        &self.listeners
    }

    /// How this process announces its commits' events to the others.
    pub fn fanout(&self) -> &Fanout {
        &self.fanout
    }

    /// The events committed on this database, by any instance, as this process's
    /// relay hears of them (`platform::events`).
    pub fn events(&self) -> &Bus {
        &self.events
    }

    /// The owner's pool: migrations, health checks and cross-tenant look-ups that the
    /// auth module makes through tables designed for it. Never for tenant data.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begin a transaction confined to `account_id` by row-level security, on the
    /// primary: for changes, and for reads that must see every commit.
    pub async fn tenant(&self, account_id: Uuid) -> Result<Tx, sqlx::Error> {
        CommitHold::flush().await?;
        let tx = self.begin(&self.pool, account_id, "BEGIN").await;
        if let Err(error) = &tx
            && is_unavailable(error)
        {
            // The server went away: the other idle connections died with this one.
            self.discard_idle().await;
        }
        Ok(self.tx(tx?, account_id, Kind::Write))
    }

    /// Begin a `READ ONLY` transaction confined to `reader`'s account by row-level
    /// security, for work that changes nothing: lists, search, reports, feeds. With
    /// a read replica it runs there, unless the reader wrote within the
    /// read-your-writes window or the replica is down (then on the primary, counted
    /// as a fallback). A replica's data lags the primary's by its replay delay; a
    /// read that must see another user's commit of a moment ago asks
    /// [`Db::tenant`]. Caches are not filled from a replica's reads (`Tx::caches`
    /// reads through there); for the same reason a cache's loader begins its
    /// transaction with [`Db::read_to_cache`] (or [`Db::tenant`]), never here.
    pub async fn read(&self, reader: impl Into<Reader>) -> Result<Tx, sqlx::Error> {
        let reader = reader.into();
        // The caller's held commit goes first: its own change must be visible, and
        // the commit sends the caller's next reads to the primary.
        CommitHold::flush().await?;
        if let Some(replica) = &self.replica {
            if replica.wrote_lately(reader) {
                replica.primary_reads.fetch_add(1, Ordering::Relaxed);
            } else if replica.up.load(Ordering::Acquire) {
                match self
                    .begin(&replica.pool, reader.account_id, "BEGIN READ ONLY")
                    .await
                {
                    Ok(tx) => {
                        replica.replica_reads.fetch_add(1, Ordering::Relaxed);
                        let mut tx = self.tx(tx, reader.account_id, Kind::ReplicaRead);
                        tx.caches = replica.read_through.clone();
                        return Ok(tx);
                    }
                    // Any failure to begin (unreachable, shutting down, refusing our
                    // role): the primary answers instead.
                    Err(error) => {
                        replica.fallbacks.fetch_add(1, Ordering::Relaxed);
                        replica.primary_reads.fetch_add(1, Ordering::Relaxed);
                        replica.failed(&error).await;
                    }
                }
            } else {
                replica.fallbacks.fetch_add(1, Ordering::Relaxed);
                replica.primary_reads.fetch_add(1, Ordering::Relaxed);
            }
        }
        let tx = self
            .begin(&self.pool, reader.account_id, "BEGIN READ ONLY")
            .await;
        if let Err(error) = &tx
            && is_unavailable(error)
        {
            self.discard_idle().await;
        }
        Ok(self.tx(tx?, reader.account_id, Kind::Read))
    }

    /// A `READ ONLY` transaction for a cache's loader (a report, a schedule window,
    /// a technician's visits). What it reads is stored, so while this process caches
    /// it must see every change whose event this process has already heard (that
    /// event emptied the entry being loaded): the replica serves it only when it has
    /// replayed the primary's WAL up to where the primary stands now (checked in the
    /// replica transaction itself, against one `pg_current_wal_lsn()` on the
    /// primary); else, and for a reader within their read-your-writes window or
    /// while the replica is down, the primary does. Without caching (nothing is
    /// stored) a plain [`Db::read`].
    pub async fn read_to_cache(&self, reader: impl Into<Reader>) -> Result<Tx, sqlx::Error> {
        let reader = reader.into();
        let Some(replica) = self.replica.as_ref().filter(|_| self.caches.enabled()) else {
            return self.read(reader).await;
        };
        CommitHold::flush().await?;
        if replica.wrote_lately(reader) {
            replica.primary_reads.fetch_add(1, Ordering::Relaxed);
        } else if !replica.up.load(Ordering::Acquire) {
            replica.fallbacks.fetch_add(1, Ordering::Relaxed);
            replica.primary_reads.fetch_add(1, Ordering::Relaxed);
        } else if let Some(tx) = self.caught_up_replica(replica, reader.account_id).await {
            replica.replica_reads.fetch_add(1, Ordering::Relaxed);
            let mut tx = self.tx(tx, reader.account_id, Kind::ReplicaRead);
            tx.caches = replica.read_through.clone();
            return Ok(tx);
        } else {
            replica.primary_reads.fetch_add(1, Ordering::Relaxed);
        }
        let tx = self
            .begin(&self.pool, reader.account_id, "BEGIN READ ONLY")
            .await;
        if let Err(error) = &tx
            && is_unavailable(error)
        {
            self.discard_idle().await;
        }
        Ok(self.tx(tx?, reader.account_id, Kind::Read))
    }

    /// A `READ ONLY` transaction on the replica that sees at least what the primary
    /// has written by now, or `None` (the replica is behind, or not a standby, or
    /// the primary's position is unknown; a replica that fails is marked down).
    async fn caught_up_replica(
        &self,
        replica: &Replica,
        account_id: Uuid,
    ) -> Option<Transaction<'static, Postgres>> {
        let written: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&self.pool)
            .await
            .ok()?;
        let mut tx = match self
            .begin(&replica.pool, account_id, "BEGIN READ ONLY")
            .await
        {
            Ok(tx) => tx,
            Err(error) => {
                replica.fallbacks.fetch_add(1, Ordering::Relaxed);
                replica.failed(&error).await;
                return None;
            }
        };
        // The transaction's later statements see at least what was replayed here.
        let replayed: Result<bool, sqlx::Error> =
            sqlx::query_scalar("SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)")
                .bind(written)
                .fetch_one(&mut *tx)
                .await;
        match replayed {
            Ok(true) => Some(tx),
            Ok(false) => None,
            Err(error) => {
                replica.fallbacks.fetch_add(1, Ordering::Relaxed);
                replica.failed(&error).await;
                None
            }
        }
    }

    /// `begin` (`BEGIN` or `BEGIN READ ONLY`), the app role and the account, in one
    /// round trip on `pool`.
    async fn begin(
        &self,
        pool: &PgPool,
        account_id: Uuid,
        begin: &str,
    ) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        // A UUID's text form is hex digits and dashes only, so formatting it into the
        // statement cannot inject SQL; it saves the round trip a bind would need.
        let begin = format!(
            "{begin}; SET LOCAL ROLE {APP_ROLE}; SELECT set_config('app.account_id', '{}', true)",
            account_id.as_hyphenated()
        );
        self.waiting.fetch_add(1, Ordering::Relaxed);
        // Begun on a task of its own: a request dropped while BEGIN is on the wire (a
        // browser that navigated away) must not hand its connection back to the pool
        // inside an open transaction. sqlx counts the transaction only once BEGIN has
        // answered, so a cancelled begin would skip the rollback, and the next user of
        // that connection would run inside it, as `jobber_app`.
        let pool = pool.clone();
        let tx = tokio::spawn(async move { pool.begin_with(AssertSqlSafe(begin)).await })
            .await
            .unwrap_or_else(|error| Err(sqlx::Error::Protocol(format!("BEGIN failed: {error}"))));
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        tx
    }

    fn tx(&self, inner: Transaction<'static, Postgres>, account_id: Uuid, kind: Kind) -> Tx {
        Tx {
            inner,
            account_id,
            events: Vec::new(),
            written: 0,
            written_ids: Vec::new(),
            sequencer: self.sequencer.clone(),
            listeners: self.listeners.clone(),
            caches: self.caches.clone(),
            touched: Vec::new(),
            kind,
            replica: self.replica.clone(),
        }
    }

    /// Connections currently waiting for a pooled connection (for `/metrics`).
    pub fn waiting(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Apply pending migrations under PostgreSQL's advisory lock (sqlx takes it), so
    /// several pods starting at once apply each migration once.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.check_not_newer().await?;
        MIGRATOR.run(&self.pool).await.context("migration failed")?;
        // The job queue's own schema (apalis), after ours.
        crate::platform::queue::migrate(&self.pool).await?;
        self.schema_current.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Refuse a database that a newer jobber has migrated: this binary would not know
    /// its tables.
    pub async fn check_not_newer(&self) -> anyhow::Result<()> {
        let status = self.migration_status().await?;
        if let Some(unknown) = status.iter().find(|m| m.state == MigrationState::Unknown) {
            anyhow::bail!(
                "the database has migration {} ({}) that this jobber {} does not know: it was migrated by a newer version; upgrade jobber",
                unknown.version,
                unknown.description,
                env!("CARGO_PKG_VERSION")
            );
        }
        Ok(())
    }

    /// Whether the role tenant transactions run as ([`APP_ROLE`]) is held by row-level
    /// security: not a superuser, no `BYPASSRLS`, owner of no table with policies, and
    /// not a member of a role that is any of these (docs/operations.md, "On Amazon RDS").
    /// On an external database a DBA may have created it otherwise; `jobber serve`
    /// refuses to start then, and `jobber migrate status` reports it.
    pub async fn check_app_role(&self) -> anyhow::Result<AppRoleCheck> {
        let superuser: Option<bool> =
            sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = $1")
                .bind(APP_ROLE)
                .fetch_optional(&self.pool)
                .await?;
        match superuser {
            None => return Ok(AppRoleCheck::Missing),
            // A superuser counts as a member of every role: nothing more to say.
            Some(true) => {
                return Ok(AppRoleCheck::Unsafe(vec![AppRoleProblem {
                    problem: format!("{APP_ROLE} is a superuser"),
                    fix: format!("ALTER ROLE {APP_ROLE} NOSUPERUSER;"),
                }]));
            }
            Some(false) => {}
        }
        // Every role jobber_app is (itself) or may become by SET ROLE (its memberships,
        // direct or not): attributes and ownership are what SET ROLE hands it.
        let roles: Vec<(String, bool, bool)> = sqlx::query_as(
            "SELECT r.rolname::text, r.rolsuper, r.rolbypassrls FROM pg_roles r
              WHERE pg_has_role((SELECT oid FROM pg_roles WHERE rolname = $1), r.oid, 'MEMBER')
                AND (r.rolsuper OR r.rolbypassrls)
              ORDER BY r.rolname",
        )
        .bind(APP_ROLE)
        .fetch_all(&self.pool)
        .await?;
        let owned: Vec<(String, String)> = sqlx::query_as(
            "SELECT o.rolname::text, c.relname::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_roles o ON o.oid = c.relowner
              WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                AND c.relrowsecurity
                AND pg_has_role((SELECT oid FROM pg_roles WHERE rolname = $1), o.oid, 'MEMBER')
              ORDER BY c.relname",
        )
        .bind(APP_ROLE)
        .fetch_all(&self.pool)
        .await?;
        let who = |role: &str| {
            if role == APP_ROLE {
                APP_ROLE.to_string()
            } else {
                format!("{APP_ROLE} (a member of {role})")
            }
        };
        let fix = |role: &str, attribute: &str| {
            if role == APP_ROLE {
                format!("ALTER ROLE {APP_ROLE} NO{attribute};")
            } else {
                format!("REVOKE {role} FROM {APP_ROLE};")
            }
        };
        let mut problems = Vec::new();
        for (role, superuser, bypassrls) in &roles {
            if *superuser {
                problems.push(AppRoleProblem {
                    problem: format!("{} is a superuser", who(role)),
                    fix: fix(role, "SUPERUSER"),
                });
            }
            if *bypassrls {
                problems.push(AppRoleProblem {
                    problem: format!("{} has BYPASSRLS", who(role)),
                    fix: fix(role, "BYPASSRLS"),
                });
            }
        }
        let mut by_owner: Vec<(String, Vec<String>)> = Vec::new();
        for (owner, table) in owned {
            match by_owner.iter_mut().find(|(o, _)| *o == owner) {
                Some((_, tables)) => tables.push(table),
                None => by_owner.push((owner, vec![table])),
            }
        }
        for (owner, tables) in by_owner {
            let shown = match tables.len() {
                1..=3 => tables.join(", "),
                n => format!("{} and {} more", tables[..3].join(", "), n - 3),
            };
            problems.push(AppRoleProblem {
                problem: format!(
                    "{} owns tables with row-level security ({shown}), so it may switch the policies off",
                    who(&owner)
                ),
                fix: if owner == APP_ROLE {
                    format!("REASSIGN OWNED BY {APP_ROLE} TO <the user of database_url>;")
                } else {
                    fix(&owner, "")
                },
            });
        }
        Ok(if problems.is_empty() {
            AppRoleCheck::Held
        } else {
            AppRoleCheck::Unsafe(problems)
        })
    }

    /// Each migration of the binary and the database, and whether it is applied.
    pub async fn migration_status(&self) -> anyhow::Result<Vec<MigrationRow>> {
        let table_exists: bool =
            sqlx::query_scalar("SELECT to_regclass('public._sqlx_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        let applied: Vec<(i64, String, bool)> = if table_exists {
            sqlx::query_as(
                "SELECT version, description, success FROM _sqlx_migrations ORDER BY version",
            )
            .fetch_all(&self.pool)
            .await?
        } else {
            Vec::new()
        };
        let mut rows: Vec<MigrationRow> = MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| MigrationRow {
                version: m.version,
                description: m.description.to_string(),
                state: match applied.iter().find(|(v, _, _)| *v == m.version) {
                    Some((_, _, true)) => MigrationState::Applied,
                    Some((_, _, false)) => MigrationState::Failed,
                    None => MigrationState::Pending,
                },
            })
            .collect();
        for (version, description, _) in &applied {
            if !rows.iter().any(|r| r.version == *version) {
                rows.push(MigrationRow {
                    version: *version,
                    description: description.clone(),
                    state: MigrationState::Unknown,
                });
            }
        }
        rows.sort_by_key(|r| r.version);
        Ok(rows)
    }

    /// Ready means: the database answers and every migration of this binary is applied.
    pub async fn ready(&self) -> anyhow::Result<()> {
        if let Err(error) = sqlx::query("SELECT 1").execute(&self.pool).await {
            if is_unavailable(&error) {
                self.discard_idle().await;
            }
            return Err(error).context("database unreachable");
        }
        if !self.schema_current.load(Ordering::Relaxed) {
            let status = self.migration_status().await?;
            if let Some(m) = status.iter().find(|m| m.state != MigrationState::Applied) {
                anyhow::bail!(
                    "migration {} ({}) is {}",
                    m.version,
                    m.description,
                    m.state.as_str()
                );
            }
            self.schema_current.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(replica) = &self.replica {
            replica.pool.close().await;
        }
        self.pool.close().await;
    }

    /// Close every idle connection: after the server restarted they are all dead.
    /// Connections in use are dropped by the pool when their holder releases them.
    pub async fn discard_idle(&self) {
        discard_idle(&self.pool).await;
    }
}

/// The pool options of the primary and the replica.
fn pool_options(settings: &DbSettings) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .min_connections(1)
        .acquire_timeout(settings.acquire_timeout)
        // The ping costs a round trip on every acquire (ARCHITECTURE §6); a dead
        // connection surfaces as an error on first use instead and is discarded
        // when released. Only a connection that sat idle is pinged first.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_IF_IDLE_FOR {
                    return Ok(true);
                }
                // A failed ping discards the connection and the pool opens another.
                Ok(conn.ping().await.is_ok())
            })
        })
}

/// Close `pool`'s idle connections (see [`Db::discard_idle`]).
async fn discard_idle(pool: &PgPool) {
    // Bounded by the count now idle: the pool may open fresh ones meanwhile.
    let mut closed = 0;
    for _ in 0..pool.num_idle() {
        let Some(mut conn) = pool.try_acquire() else {
            break;
        };
        conn.close_on_drop();
        closed += 1;
    }
    if closed > 0 {
        tracing::debug!(closed, "closed idle database connections");
    }
}

/// Keep the read replica's state current until `stop`: probe it every
/// `probe_interval` (down → up when it answers, up → down when it does not, and its
/// lag behind the primary), and send the reads of users who changed something on
/// another instance to the primary too (their events reach this process's bus).
/// Returns at once without a replica.
pub async fn watch_replica(db: Db, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(replica) = db.replica.clone() else {
        return;
    };
    let mut events = db.events().subscribe();
    let mut probe = tokio::time::interval(replica.settings.probe_interval);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    use tokio::sync::broadcast::error::RecvError;
    enum Wake {
        Probe,
        Event(Result<Arc<crate::platform::events::Published>, RecvError>),
        Stop,
    }
    loop {
        // Chosen first, acted on after: the stop signal's borrow must not be held
        // across the probe's awaits (it would make this task not `Send`).
        let wake = tokio::select! {
            _ = probe.tick() => Wake::Probe,
            published = events.recv() => Wake::Event(published),
            _ = stop.wait_for(|stopped| *stopped) => Wake::Stop,
        };
        match wake {
            Wake::Probe => {
                probe_replica(&db.pool, &replica).await;
                replica.forget_old_writers();
            }
            Wake::Event(Ok(published)) => {
                if let Some(Actor::User(user_id)) = &published.actor {
                    replica.wrote(published.account_id, *user_id);
                }
            }
            // Missed events only shorten someone's stay on the primary.
            Wake::Event(Err(RecvError::Lagged(_))) => {}
            // The bus lives as long as `db`, which this task holds.
            Wake::Event(Err(RecvError::Closed)) | Wake::Stop => return,
        }
    }
}

/// One probe: the replica answers (and how far behind the primary it replays), or
/// it is down.
async fn probe_replica(primary: &PgPool, replica: &Replica) {
    // The primary's WAL position first: the replica's replay is compared to it.
    let written: Option<String> = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
        .fetch_one(primary)
        .await
        .ok();
    let lag: Result<Option<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn())::bigint")
            .bind(written)
            .fetch_one(&replica.pool)
            .await;
    match lag {
        Ok(lag) => {
            // Not a standby (no replay position) or no primary position: unknown.
            replica
                .lag_bytes
                .store(lag.map_or(-1, |lag| lag.max(0)), Ordering::Relaxed);
            replica.answered();
        }
        Err(error) => {
            replica.lag_bytes.store(-1, Ordering::Relaxed);
            replica.failed(&error).await;
        }
    }
}

/// Whether `error` says the database cannot be reached, rather than that a statement
/// failed: no connection within the acquire timeout, a closed pool, a broken socket,
/// or PostgreSQL's own "shutting down / starting up / connection exception" codes
/// (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, class 08,
/// and 53300 too_many_connections).
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// [`is_unavailable`] anywhere in an error's chain of sources (an `anyhow` context, a
/// module's error wrapping a `sqlx::Error`).
pub fn chain_is_unavailable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_unavailable)
        {
            return true;
        }
        next = error.source();
    }
    false
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationState {
    Applied,
    Pending,
    Failed,
    /// In the database but not in this binary: a newer jobber migrated it.
    Unknown,
}

impl MigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Failed => "failed",
            MigrationState::Unknown => "unknown",
        }
    }
}

/// What [`Db::check_app_role`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRoleCheck {
    /// Row-level security holds the app role.
    Held,
    /// The role does not exist yet: the first migration creates it.
    Missing,
    /// What lets the app role walk around row-level security, each with its fix.
    Unsafe(Vec<AppRoleProblem>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRoleProblem {
    pub problem: String,
    /// The SQL that removes it, run by the database's administrator.
    pub fix: String,
}

impl AppRoleCheck {
    /// One line for `jobber migrate status` and the logs.
    pub fn summary(&self) -> String {
        match self {
            Self::Held => format!("{APP_ROLE} is held by row-level security"),
            Self::Missing => {
                format!("{APP_ROLE} does not exist yet (the first migration creates it)")
            }
            Self::Unsafe(problems) => format!(
                "UNSAFE: {}",
                problems
                    .iter()
                    .map(|p| p.problem.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }

    /// The refusal `jobber serve` stops with: what is wrong, the SQL that fixes it and
    /// the override.
    pub fn refusal(problems: &[AppRoleProblem]) -> String {
        let mut text = format!(
            "the database role {APP_ROLE}, which every request runs as, can bypass row-level security, so one business could see another's data:\n"
        );
        for p in problems {
            text.push_str(&format!("  - {}\n", p.problem));
        }
        text.push_str("fix it as the database's administrator:\n");
        let mut fixes: Vec<&str> = Vec::new();
        for p in problems {
            if !fixes.contains(&p.fix.as_str()) {
                fixes.push(&p.fix);
                text.push_str(&format!("  {}\n", p.fix));
            }
        }
        text.push_str(
            "(docs/operations.md, \"On Amazon RDS: no BYPASSRLS, no owner, no superuser for the app role\"); to start anyway, set --allow-unsafe-db-role (JOBBER_ALLOW_UNSAFE_DB_ROLE=on)",
        );
        text
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationRow {
    pub version: i64,
    pub description: String,
    pub state: MigrationState,
}

/// The kind and constraint name of an integrity violation, for mapping named
/// constraints to precise API errors (never by parsing messages).
pub fn violation(error: &sqlx::Error) -> Option<(sqlx::error::ErrorKind, &str)> {
    let db = error.as_database_error()?;
    Some((db.kind(), db.constraint().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_replica(read_your_writes: Duration) -> Db {
        // Nothing listens there; the lazy pool never connects in these tests.
        let primary = PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(200))
            .connect_lazy("postgres://nobody@127.0.0.1:9/none")
            .unwrap();
        Db::from_pool(primary)
            .with_replica(
                "postgres://nobody@127.0.0.1:9/none",
                &DbSettings::new(2),
                ReplicaSettings {
                    read_your_writes,
                    probe_interval: DEFAULT_REPLICA_PROBE,
                },
            )
            .unwrap()
    }

    #[tokio::test]
    async fn a_users_own_write_sends_only_their_reads_to_the_primary() {
        let db = with_replica(Duration::from_secs(60));
        let replica = db.replica.as_ref().unwrap();
        let (account, other_account) = (Uuid::now_v7(), Uuid::now_v7());
        let (writer, colleague) = (Uuid::now_v7(), Uuid::now_v7());
        let reader = |account_id, user_id| Reader {
            account_id,
            user_id: Some(user_id),
        };
        assert!(!replica.wrote_lately(reader(account, writer)));
        replica.wrote(account, writer);
        assert!(replica.wrote_lately(reader(account, writer)));
        assert!(!replica.wrote_lately(reader(account, colleague)));
        assert!(!replica.wrote_lately(reader(other_account, writer)));
        assert!(!replica.wrote_lately(Reader::account(account)));
        replica.forget_old_writers();
        assert!(replica.wrote_lately(reader(account, writer)));
    }

    #[tokio::test]
    async fn the_window_ends_and_zero_turns_it_off() {
        let db = with_replica(Duration::ZERO);
        let replica = db.replica.as_ref().unwrap();
        let (account, user) = (Uuid::now_v7(), Uuid::now_v7());
        replica.wrote(account, user);
        assert!(!replica.wrote_lately(Reader {
            account_id: account,
            user_id: Some(user),
        }));

        let db = with_replica(Duration::from_millis(1));
        let replica = db.replica.as_ref().unwrap();
        replica.wrote(account, user);
        std::thread::sleep(Duration::from_millis(5));
        assert!(!replica.wrote_lately(Reader {
            account_id: account,
            user_id: Some(user),
        }));
        replica.forget_old_writers();
        assert!(replica.writers.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_replica_that_cannot_be_reached_is_down_and_counted() {
        let db = with_replica(Duration::from_secs(5));
        let replica = db.replica.as_ref().unwrap();
        assert_eq!(db.replica_stats().map(|s| s.up), Some(true));
        probe_replica(&db.pool, replica).await;
        let stats = db.replica_stats().unwrap();
        assert!(!stats.up);
        assert_eq!(stats.lag_bytes, None);
        replica.answered();
        assert!(db.replica_stats().unwrap().up);
    }
}
