//! Connection pool, migrations and the tenant transaction.
//!
//! All tenant work runs in [`Db::tenant`]: one round trip opens the transaction, drops to
//! the unprivileged `jobber_app` role and sets `app.account_id`, so row-level security
//! confines every statement to one account even if a query forgets its `WHERE`.
//! Modules must never run tenant queries on a bare pool connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// The migrations compiled into this binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The role tenant transactions run as; created by the first migration.
pub const APP_ROLE: &str = "jobber_app";

pub type Tx = Transaction<'static, Postgres>;

#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    waiting: Arc<AtomicI64>,
    schema_current: Arc<AtomicBool>,
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let options: PgConnectOptions = url.parse().context("invalid database URL")?;
        let options = options.application_name("jobber");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            // The ping costs a round trip on every acquire (ARCHITECTURE §6); a dead
            // connection surfaces as an error on first use instead and is discarded.
            .test_before_acquire(false)
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
        }
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
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let tx = self.pool.begin_with(AssertSqlSafe(begin)).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        tx
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
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .context("database unreachable")?;
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
