//! The job queue (seed §6): apalis + apalis-postgres on the application database
//! (schema `apalis`), fed by a transactional outbox.
//!
//! - [`enqueue`] writes a `job_outbox` row in the caller's (business) transaction, so
//!   a change that rolls back enqueues nothing and a committed one is never lost.
//! - The relay ([`relay_pending`], run by the worker role) moves committed outbox rows
//!   into `apalis.jobs` in one transaction that also stamps them relayed, with the
//!   outbox id as apalis idempotency key.
//! - Retries follow seed §6.3 (1m, 5m, 15m, 1h, 6h, then dead). apalis-postgres
//!   re-fetches a failed job whose `run_at` has passed but never moves `run_at` itself,
//!   and apalis's retry layer retries in memory (lost on a crash, holding a worker slot
//!   for hours); so a failing handler pushes its own row's `run_at` by the backoff
//!   before it reports the failure ([`schedule_retry`]). A job whose attempts reach
//!   [`MAX_ATTEMPTS`] is dead: status `Failed` and attempts = max_attempts.
//!
//! This module never runs a handler itself (see `crate::workers`) and never touches a
//! tenant table other than the outbox.
//!
//! SQL on `apalis.*` is checked at run time (the schema belongs to apalis and is not
//! in the `.sqlx` preparation database); tests cover every statement.

use std::time::Duration;

use anyhow::Context as _;
use apalis::prelude::TaskBuilder;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// The queues of seed §6.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Queue {
    #[serde(rename = "notifications.high")]
    NotificationsHigh,
    #[serde(rename = "notifications.standard")]
    NotificationsStandard,
    #[serde(rename = "pdf.generation")]
    PdfGeneration,
    #[serde(rename = "image.processing")]
    ImageProcessing,
    #[serde(rename = "email.send")]
    EmailSend,
    #[serde(rename = "sms.send")]
    SmsSend,
    #[serde(rename = "payment.processing")]
    PaymentProcessing,
    #[serde(rename = "sync.quickbooks")]
    SyncQuickbooks,
    #[serde(rename = "reports.generation")]
    ReportsGeneration,
    #[serde(rename = "cleanup")]
    Cleanup,
}

impl Queue {
    pub const ALL: [Queue; 10] = [
        Queue::NotificationsHigh,
        Queue::NotificationsStandard,
        Queue::PdfGeneration,
        Queue::ImageProcessing,
        Queue::EmailSend,
        Queue::SmsSend,
        Queue::PaymentProcessing,
        Queue::SyncQuickbooks,
        Queue::ReportsGeneration,
        Queue::Cleanup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Queue::NotificationsHigh => "notifications.high",
            Queue::NotificationsStandard => "notifications.standard",
            Queue::PdfGeneration => "pdf.generation",
            Queue::ImageProcessing => "image.processing",
            Queue::EmailSend => "email.send",
            Queue::SmsSend => "sms.send",
            Queue::PaymentProcessing => "payment.processing",
            Queue::SyncQuickbooks => "sync.quickbooks",
            Queue::ReportsGeneration => "reports.generation",
            Queue::Cleanup => "cleanup",
        }
    }

    pub fn parse(name: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.name() == name)
    }

    /// Concurrent jobs per process (seed §6.3; reports and cleanup are not listed
    /// there: 2 and 1).
    pub fn default_concurrency(self) -> usize {
        match self {
            Queue::NotificationsHigh | Queue::NotificationsStandard => 5,
            Queue::PdfGeneration => 3,
            Queue::ImageProcessing => 2,
            Queue::EmailSend | Queue::SmsSend => 10,
            Queue::PaymentProcessing => 5,
            Queue::SyncQuickbooks => 2,
            Queue::ReportsGeneration => 2,
            Queue::Cleanup => 1,
        }
    }
}

impl std::fmt::Display for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What apalis stores for every job: the account it belongs to (jobs are
/// cross-tenant in apalis; the admin listing filters on this), the outbox row it came
/// from, and the handler's own data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    pub account_id: Option<Uuid>,
    pub outbox_id: Option<Uuid>,
    pub data: serde_json::Value,
}

/// The first run and five retries (seed §6.3).
pub const MAX_ATTEMPTS: usize = 6;

/// Backoff after failed attempt n (1-based): 1m, 5m, 15m, 1h, 6h.
pub const BACKOFF: [Duration; 5] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(6 * 60 * 60),
];

/// A job that cannot do its work yet because another worker holds it (an email
/// claimed under a lease by a worker that may have died): it runs again at `at`
/// instead of on the failure schedule, which would wait minutes for nothing.
#[derive(Debug)]
pub struct RetryLater {
    pub at: chrono::DateTime<chrono::Utc>,
    pub reason: String,
}

impl std::fmt::Display for RetryLater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (again at {})", self.reason, self.at.to_rfc3339())
    }
}

impl std::error::Error for RetryLater {}

/// How long to wait after failed attempt `attempt` (1-based); `None`: the job is dead.
pub fn backoff(attempt: usize) -> Option<Duration> {
    if attempt == 0 || attempt >= MAX_ATTEMPTS {
        return None;
    }
    BACKOFF.get(attempt - 1).copied()
}

/// Enqueue a job in the caller's transaction (a tenant transaction: the outbox is
/// confined to `account_id` by row-level security). Returns the outbox id, which is
/// also the job's idempotency key in apalis.
pub async fn enqueue(
    conn: &mut PgConnection,
    account_id: Uuid,
    queue: Queue,
    data: &impl Serialize,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    let payload = serde_json::to_value(data).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query!(
        "INSERT INTO job_outbox (account_id, id, queue, payload) VALUES ($1, $2, $3, $4)",
        account_id,
        id,
        queue.name(),
        payload
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// The channel the outbox trigger notifies on commit.
pub const OUTBOX_CHANNEL: &str = "jobber_job_outbox";

/// Move up to 100 committed outbox rows into apalis; returns the queues that got jobs.
/// One transaction pushes and stamps, so a row is relayed exactly once even with
/// several relays running (rows are taken with SKIP LOCKED).
pub async fn relay_pending(pool: &PgPool) -> anyhow::Result<Vec<Queue>> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        r#"SELECT account_id, id, queue, payload, run_at FROM job_outbox
           WHERE relayed_at IS NULL ORDER BY created_at LIMIT 100 FOR UPDATE SKIP LOCKED"#
    )
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut touched = Vec::new();
    for queue in Queue::ALL {
        let batch: Vec<_> = rows.iter().filter(|r| r.queue == queue.name()).collect();
        if batch.is_empty() {
            continue;
        }
        let keys: Vec<String> = batch.iter().map(|r| r.id.to_string()).collect();
        // A row already in apalis (should not happen: push and stamp share one
        // transaction) is stamped, not pushed twice.
        let existing: Vec<String> = sqlx::query_scalar(
            "SELECT idempotency_key FROM apalis.jobs WHERE job_type = $1 AND idempotency_key = ANY($2)",
        )
        .bind(queue.name())
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
        let mut tasks = Vec::new();
        for row in batch {
            let key = row.id.to_string();
            if existing.contains(&key) {
                continue;
            }
            let job = Job {
                account_id: Some(row.account_id),
                outbox_id: Some(row.id),
                data: row.payload.clone(),
            };
            let run_at = u64::try_from(row.run_at.timestamp()).unwrap_or(0);
            tasks.push(
                TaskBuilder::new(serde_json::to_vec(&job)?)
                    .idempotency_key(key)
                    .max_attempts(MAX_ATTEMPTS)
                    .run_at_timestamp(run_at)
                    .build(),
            );
        }
        if !tasks.is_empty() {
            apalis_postgres::queries::push_tasks(&mut *tx, queue.name(), tasks).await?;
            touched.push(queue);
        }
    }
    let accounts: Vec<Uuid> = rows.iter().map(|r| r.account_id).collect();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    sqlx::query!(
        "UPDATE job_outbox SET relayed_at = now()
         WHERE (account_id, id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))",
        &accounts,
        &ids
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::debug!(count = rows.len(), "relayed outbox jobs");
    Ok(touched)
}

/// Delete outbox rows relayed more than 7 days ago (the `cleanup` cron task).
pub async fn purge_relayed(pool: &PgPool) -> anyhow::Result<u64> {
    let done = sqlx::query!("DELETE FROM job_outbox WHERE relayed_at < now() - interval '7 days'")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Delete finished (done) jobs that finished more than `retention` ago (the `cleanup`
/// cron task), in batches so no statement holds the table long. Dead jobs, retries
/// and anything running are kept: only `Done` rows go.
pub async fn purge_finished(pool: &PgPool, retention: Duration) -> anyhow::Result<u64> {
    const BATCH: i64 = 10_000;
    let mut total = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM apalis.jobs WHERE id IN (
                SELECT id FROM apalis.jobs
                WHERE status = 'Done' AND done_at < now() - make_interval(secs => $1)
                LIMIT $2)",
        )
        .bind(retention.as_secs_f64())
        .bind(BATCH)
        .execute(pool)
        .await?;
        total += done.rows_affected();
        if done.rows_affected() < u64::try_from(BATCH).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}

/// Push a job straight into apalis (system work without an account, e.g. cron
/// tasks). Not transactional with anything: business code uses [`enqueue`].
pub async fn push_now(
    pool: &PgPool,
    queue: Queue,
    data: serde_json::Value,
    idempotency_key: &str,
) -> anyhow::Result<()> {
    let job = Job {
        account_id: None,
        outbox_id: None,
        data,
    };
    let mut conn = pool.acquire().await?;
    let task = TaskBuilder::new(serde_json::to_vec(&job)?)
        .idempotency_key(idempotency_key)
        .max_attempts(MAX_ATTEMPTS)
        .build();
    apalis_postgres::queries::push_tasks(&mut *conn, queue.name(), vec![task]).await?;
    Ok(())
}

/// Delay the next attempt of a job that is failing now (see the module comment).
pub async fn schedule_retry(pool: &PgPool, task_id: &str, delay: Duration) -> anyhow::Result<()> {
    sqlx::query("UPDATE apalis.jobs SET run_at = now() + make_interval(secs => $2) WHERE id = $1")
        .bind(task_id)
        .bind(delay.as_secs_f64())
        .execute(pool)
        .await?;
    Ok(())
}

/// Whether worker `worker` of `queue` has free slots while a job has been due for
/// longer than `patience` (see `workers::watchdog`).
pub async fn stalled(
    pool: &PgPool,
    queue: Queue,
    worker: &str,
    concurrency: usize,
    patience: Duration,
) -> anyhow::Result<bool> {
    let (due, busy): (bool, i64) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM apalis.jobs WHERE job_type = $1
                          AND (status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts))
                          AND run_at < now() - make_interval(secs => $3)),
                (SELECT count(*) FROM apalis.jobs WHERE lock_by = $2 AND status IN ('Queued', 'Running'))",
    )
    .bind(queue.name())
    .bind(worker)
    .bind(patience.as_secs_f64())
    .fetch_one(pool)
    .await?;
    Ok(due && busy < i64::try_from(concurrency).unwrap_or(i64::MAX))
}

/// A job as the admin API and `jobber jobs list` show it.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobInfo {
    pub id: String,
    pub queue: String,
    /// `pending`, `scheduled` (waiting for a retry), `running`, `done`, `dead`.
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: chrono::DateTime<chrono::Utc>,
    pub done_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
    pub account_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
}

/// The states a listing can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Pending,
    Scheduled,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Scheduled => "scheduled",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

/// apalis's statuses mapped onto ours. Dead: failed (or killed) with no attempts left.
const STATE_SQL: &str = "CASE
        WHEN j.status IN ('Failed', 'Killed') AND j.attempts >= j.max_attempts THEN 'dead'
        WHEN j.status = 'Done' THEN 'done'
        WHEN j.status IN ('Running', 'Queued') THEN 'running'
        WHEN j.status = 'Failed' OR j.run_at > now() THEN 'scheduled'
        ELSE 'pending' END";

fn job_json_sql() -> &'static str {
    "convert_from(j.job, 'UTF8')::jsonb"
}

/// Dead: the condition of STATE_SQL's first branch, as the partial index of
/// [`migrate`] states it.
const DEAD_SQL: &str = "j.status IN ('Failed', 'Killed') AND j.attempts >= j.max_attempts";

/// The job's account, as indexed by [`migrate`] (migration `job_account_function`).
const ACCOUNT_SQL: &str = "public.jobber_job_account(j.job)";

/// Jobs, newest first; `account` confines the listing to one account's jobs.
pub async fn list(
    pool: &PgPool,
    account: Option<Uuid>,
    state: Option<JobState>,
    limit: i64,
) -> anyhow::Result<Vec<JobInfo>> {
    select(pool, account, state, None, limit).await
}

/// One job by its id (within `account`, when given).
pub async fn get(
    pool: &PgPool,
    account: Option<Uuid>,
    id: &str,
) -> anyhow::Result<Option<JobInfo>> {
    Ok(select(pool, account, None, Some(id), 1)
        .await?
        .into_iter()
        .next())
}

async fn select(
    pool: &PgPool,
    account: Option<Uuid>,
    state: Option<JobState>,
    id: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<JobInfo>> {
    let json = job_json_sql();
    // One account's listing walks the (account, run_at) index newest first; the
    // condition is left out entirely for the operator's all-accounts listing, since
    // "$1 IS NULL OR …" would keep a generic plan from using the index.
    let account_filter = match account {
        Some(_) => format!("{ACCOUNT_SQL} = $1"),
        None => "$1::uuid IS NULL".to_string(),
    };
    // Dead jobs are few among many: their own partial index finds them (the state
    // computed by STATE_SQL cannot use an index).
    let dead_filter = match state {
        Some(JobState::Dead) => DEAD_SQL,
        _ => "true",
    };
    let sql = format!(
        "SELECT * FROM (
            SELECT j.id, j.job_type AS queue, {STATE_SQL} AS state, j.attempts, j.max_attempts,
                   j.run_at, j.done_at, j.last_result ->> 'Err' AS last_error,
                   {ACCOUNT_SQL} AS account_id, {json} -> 'data' AS data
            FROM apalis.jobs j
            WHERE {account_filter} AND {dead_filter}) s
         WHERE ($2::text IS NULL OR s.state = $2) AND ($4::text IS NULL OR s.id = $4)
         ORDER BY s.run_at DESC, s.id DESC LIMIT $3"
    );
    // The statement is built from constants only; every value is a bind.
    Ok(sqlx::query_as::<_, JobInfo>(sqlx::AssertSqlSafe(sql))
        .bind(account)
        .bind(state.map(JobState::as_str))
        .bind(limit)
        .bind(id)
        .fetch_all(pool)
        .await?)
}

/// Put a dead job back to the queue with a fresh set of attempts. Returns false when
/// no dead job has that id (within `account`, when given).
pub async fn retry_dead(pool: &PgPool, account: Option<Uuid>, id: &str) -> anyhow::Result<bool> {
    let json = job_json_sql();
    let sql = format!(
        "UPDATE apalis.jobs j SET status = 'Pending', attempts = 0, run_at = now(), done_at = NULL,
                lock_by = NULL, lock_at = NULL
         WHERE j.id = $1 AND j.status IN ('Failed', 'Killed') AND j.attempts >= j.max_attempts
           AND ($2::uuid IS NULL OR ({json} ->> 'account_id')::uuid = $2)"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(account)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Per-queue counts for `/metrics`.
#[derive(Debug, Default, Clone)]
pub struct QueueStats {
    pub queue: String,
    pub pending: i64,
    pub running: i64,
    pub scheduled: i64,
    pub dead: i64,
}

pub async fn stats(pool: &PgPool) -> anyhow::Result<(Vec<QueueStats>, i64)> {
    let sql = format!(
        "SELECT job_type, state, count(*) FROM (
            SELECT j.job_type, {STATE_SQL} AS state FROM apalis.jobs j WHERE j.status <> 'Done') s
         GROUP BY job_type, state"
    );
    let rows: Vec<(String, String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    let mut out: Vec<QueueStats> = Queue::ALL
        .iter()
        .map(|q| QueueStats {
            queue: q.name().to_string(),
            ..QueueStats::default()
        })
        .collect();
    for (queue, state, count) in rows {
        if let Some(s) = out.iter_mut().find(|s| s.queue == queue) {
            match state.as_str() {
                "pending" => s.pending += count,
                "running" => s.running += count,
                "scheduled" => s.scheduled += count,
                "dead" => s.dead += count,
                _ => {}
            }
        }
    }
    let outbox = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM job_outbox WHERE relayed_at IS NULL"#
    )
    .fetch_one(pool)
    .await?;
    Ok((out, outbox))
}

/// Apply apalis's own migrations (schema `apalis`, history in
/// `apalis._sqlx_migrations`); run after ours by `jobber migrate` and `serve`.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    apalis_postgres::PostgresStorage::migrations()
        .run(pool)
        .await
        .map_err(|e| anyhow::anyhow!("apalis migration failed: {e}"))?;
    // Our indexes on apalis's table, which only exists once its migrations ran (after
    // ours): the admin listing of one account's jobs, newest first, the dead-job
    // listing and the purge of finished jobs. Idempotent, so every migrate run
    // ensures them. Several pods may migrate at once and `IF NOT EXISTS` does not
    // keep two concurrent creations of one index from colliding: one transaction
    // holding an advisory lock does them.
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('jobber: apalis.jobs indexes'))")
        .execute(&mut *tx)
        .await?;
    for statement in [
        "CREATE INDEX IF NOT EXISTS jobber_jobs_account_run_at
             ON apalis.jobs (public.jobber_job_account(job), run_at DESC, id DESC)",
        "CREATE INDEX IF NOT EXISTS jobber_jobs_done_at
             ON apalis.jobs (done_at) WHERE status = 'Done'",
        "CREATE INDEX IF NOT EXISTS jobber_jobs_dead
             ON apalis.jobs (run_at DESC, id DESC)
             WHERE status IN ('Failed', 'Killed') AND attempts >= max_attempts",
    ] {
        sqlx::query(statement)
            .execute(&mut *tx)
            .await
            .context("cannot index apalis.jobs")?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_seed() {
        let minutes: Vec<u64> = (1..=5)
            .map(|n| backoff(n).unwrap().as_secs() / 60)
            .collect();
        assert_eq!(minutes, [1, 5, 15, 60, 360]);
        assert_eq!(backoff(6), None);
        assert_eq!(backoff(0), None);
    }

    #[test]
    fn queue_names_round_trip() {
        for q in Queue::ALL {
            assert_eq!(Queue::parse(q.name()), Some(q));
            assert_eq!(serde_json::to_value(q).unwrap(), q.name());
        }
    }
}
