//! Connection pool, migrations and the tenant transaction.
//!
//! All tenant work runs in [`Db::tenant`]: one round trip opens the transaction, drops to
//! the unprivileged `jobber_app` role and sets `app.account_id`, so row-level security
//! confines every statement to one account even if a query forgets its `WHERE`.
//! Modules must never run tenant queries on a bare pool connection.
//!
//! A lost database is an outage, not a bug: [`is_unavailable`] tells connection-class
//! errors (the server gone, restarting, unreachable, or no connection within the
//! acquire timeout) from failing statements, so the API answers them with
//! `503 database_unavailable` instead of 500. Broken connections leave the pool on
//! their first error (sqlx pings a connection when it is released and drops it if the
//! ping fails), the first such error closes the idle ones (they died with the server),
//! and a connection that sat idle is pinged before it is handed out; so once the
//! server is back, requests succeed without restarting jobber.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{
    AssertSqlSafe, ConnectOptions, Connection, PgConnection, PgPool, Postgres, Transaction,
};
use uuid::Uuid;

use crate::platform::cache::{self, Caches};
use crate::platform::events::{Bus, Event, Fanout, Listeners};

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
    listeners: Listeners,
    fanout: Fanout,
    caches: Caches,
    /// Cache entries this transaction wrote: read from the database here, dropped on
    /// commit (`platform::cache`).
    touched: Vec<(cache::Name, cache::Key)>,
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
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match CommitHold::offer(self) {
            Some(tx) => {
                // A transaction held earlier in this request committed first, in order.
                CommitHold::flush().await?;
                tx.finish().await
            }
            None => Ok(()),
        }
    }

    /// Let the in-transaction listeners react, write the raised events, then commit
    /// for real.
    async fn finish(mut self) -> Result<(), sqlx::Error> {
        self.listeners
            .run(&mut self.inner, self.account_id, &self.events)
            .await?;
        let written =
            crate::platform::events::write(&mut self.inner, self.account_id, &self.events).await?;
        self.inner.commit().await?;
        // Read-your-writes on this instance: stale entries go before the caller
        // answers; the other instances drop them when the events reach their relay.
        for (name, key) in &self.touched {
            self.caches.get(*name).invalidate(key).await;
        }
        for event in &self.events {
            self.caches.on_event(self.account_id, event).await;
        }
        if let Some(range) = written {
            self.fanout.announce(self.account_id, range);
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
    Held(Tx),
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
            HoldState::Held(tx) => Some(tx),
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
                *state = HoldState::Held(tx);
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
                HoldState::Held(tx) => Some(tx),
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
    listeners: Listeners,
    caches: Caches,
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
}

impl DbSettings {
    /// The defaults of a server: 3 s acquire timeout, slow statements warned.
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            slow_statement_level: log::LevelFilter::Warn,
            slow_statement: DEFAULT_SLOW_STATEMENT,
        }
    }

    /// One-shot commands: two connections, slow statements at info.
    pub fn command() -> Self {
        Self {
            max_connections: 2,
            acquire_timeout: Duration::from_secs(10),
            slow_statement_level: log::LevelFilter::Info,
            slow_statement: DEFAULT_SLOW_STATEMENT,
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
        let pool = PgPoolOptions::new()
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
            .connect_with(options)
            .await
            .context("cannot connect to PostgreSQL")?;
        Ok(Self::from_pool(pool))
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            waiting: Arc::default(),
            schema_current: Arc::default(),
            events: Bus::default(),
            listeners: Listeners::default(),
            fanout: Fanout::default(),
            caches: Caches::default(),
        }
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

    /// Begin a transaction confined to `account_id` by row-level security.
    pub async fn tenant(&self, account_id: Uuid) -> Result<Tx, sqlx::Error> {
        // A UUID's text form is hex digits and dashes only, so formatting it into the
        // statement cannot inject SQL; it saves the round trip a bind would need.
        let begin = format!(
            "BEGIN; SET LOCAL ROLE {APP_ROLE}; SELECT set_config('app.account_id', '{}', true)",
            account_id.as_hyphenated()
        );
        CommitHold::flush().await?;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        // Begun on a task of its own: a request dropped while BEGIN is on the wire (a
        // browser that navigated away) must not hand its connection back to the pool
        // inside an open transaction. sqlx counts the transaction only once BEGIN has
        // answered, so a cancelled begin would skip the rollback, and the next user of
        // that connection would run inside it, as `jobber_app`.
        let pool = self.pool.clone();
        let tx = tokio::spawn(async move { pool.begin_with(AssertSqlSafe(begin)).await })
            .await
            .unwrap_or_else(|error| Err(sqlx::Error::Protocol(format!("BEGIN failed: {error}"))));
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        if let Err(error) = &tx
            && is_unavailable(error)
        {
            // The server went away: the other idle connections died with this one.
            self.discard_idle().await;
        }
        Ok(Tx {
            inner: tx?,
            account_id,
            events: Vec::new(),
            listeners: self.listeners.clone(),
            fanout: self.fanout.clone(),
            caches: self.caches.clone(),
            touched: Vec::new(),
        })
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
        self.pool.close().await;
    }

    /// Close every idle connection: after the server restarted they are all dead.
    /// Connections in use are dropped by the pool when their holder releases them.
    pub async fn discard_idle(&self) {
        // Bounded by the count now idle: the pool may open fresh ones meanwhile.
        let mut closed = 0;
        for _ in 0..self.pool.num_idle() {
            let Some(mut conn) = self.pool.try_acquire() else {
                break;
            };
            conn.close_on_drop();
            closed += 1;
        }
        if closed > 0 {
            tracing::debug!(closed, "closed idle database connections");
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
