//! Scheduled work: a small cron in the worker role. Every task has a period; each
//! period is one slot, and a slot is claimed by inserting `(name, slot)` into
//! `cron_runs` (primary key), so with several worker pods each slot runs once. The
//! claim and the `cleanup` job that does the work are one transaction; the job then
//! runs with the queue's retries, and records its outcome in the `cron_runs` row.
//!
//! To add a task: a [`CronTask`] in [`TASKS`] and its arm in `workers::cleanup`.

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::TaskBuilder;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Context;
use crate::platform::queue::{Job, MAX_ATTEMPTS, Queue};

pub struct CronTask {
    pub name: &'static str,
    pub every: Duration,
}

pub const TASKS: &[CronTask] = &[
    // 24-hour Idempotency-Key records (http::idempotency).
    CronTask {
        name: "purge_idempotency_keys",
        every: Duration::from_secs(60 * 60),
    },
    // Expired refresh tokens, and revoked ones after a week.
    CronTask {
        name: "purge_refresh_tokens",
        every: Duration::from_secs(60 * 60),
    },
    // Password-reset and invitation tokens, a week after expiry or use.
    CronTask {
        name: "purge_user_tokens",
        every: Duration::from_secs(60 * 60),
    },
    // Outbox rows relayed more than a week ago.
    CronTask {
        name: "purge_job_outbox",
        every: Duration::from_secs(6 * 60 * 60),
    },
    // Finished background jobs past their retention (`job_retention_days`, 7 days).
    CronTask {
        name: "purge_finished_jobs",
        every: Duration::from_secs(6 * 60 * 60),
    },
    // Domain events older than 7 days (platform::events; clients resuming further
    // back are told to resync).
    CronTask {
        name: "purge_events",
        every: Duration::from_secs(6 * 60 * 60),
    },
    // Recurring jobs keep about a year of visits ahead (jobs::service::extend_series).
    CronTask {
        name: "extend_recurring_series",
        every: Duration::from_secs(24 * 60 * 60),
    },
    // Unanswered quotes past their valid_until become `expired`.
    CronTask {
        name: "expire_quotes",
        every: Duration::from_secs(60 * 60),
    },
    // Visit reminders and overdue-invoice follow-ups (invoices::reminders).
    CronTask {
        name: "send_reminders",
        every: Duration::from_secs(60 * 60),
    },
    // CSV exports older than 7 days, with their files (reports::exports).
    CronTask {
        name: "purge_report_exports",
        every: Duration::from_secs(60 * 60),
    },
    // Temporary uploads unused after 24 hours, and their files (uploads::service::purge).
    CronTask {
        name: "purge_temp_uploads",
        every: Duration::from_secs(60 * 60),
    },
    // A backup of the database, files and keys, pruned past `backup_retention_days`
    // (platform::backup; a no-op when that is 0).
    CronTask {
        name: "daily_backup",
        every: Duration::from_secs(24 * 60 * 60),
    },
    CronTask {
        name: "reconcile_card_payments",
        every: Duration::from_secs(15 * 60),
    },
];

/// How often the scheduler looks at the clock.
const TICK: Duration = Duration::from_secs(30);

/// The slot `now` falls in for a task run every `every`.
pub fn slot(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let period = i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(1);
    let start = now.timestamp().div_euclid(period) * period;
    DateTime::from_timestamp(start, 0).unwrap_or(now)
}

pub async fn scheduler(ctx: Arc<Context>, stop: watch::Receiver<bool>) {
    loop {
        for task in TASKS {
            if *stop.borrow() {
                return;
            }
            if let Err(error) = claim(&ctx, task, Utc::now()).await {
                tracing::warn!(
                    task = task.name,
                    error = format!("{error:#}"),
                    "cron: cannot schedule"
                );
                // With the database unreachable every other claim would wait out
                // its own timeout too; the next tick tries them all again.
                if crate::platform::database::chain_is_unavailable(error.as_ref()) {
                    break;
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {}
            () = super::wait_stop(stop.clone()) => return,
        }
    }
}

/// Claim this slot of `task` and enqueue its job; false when another pod (or an
/// earlier tick) already has.
pub async fn claim(ctx: &Context, task: &CronTask, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let slot = slot(now, task.every);
    let mut tx = ctx.pool.begin().await?;
    let claimed = sqlx::query!(
        "INSERT INTO cron_runs (name, slot) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        task.name,
        slot
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !claimed {
        return Ok(false);
    }
    let job = Job {
        account_id: None,
        outbox_id: None,
        data: serde_json::json!({"task": task.name, "slot": slot}),
    };
    let key = format!("cron:{}:{}", task.name, slot.timestamp());
    let task_row = TaskBuilder::new(serde_json::to_vec(&job)?)
        .idempotency_key(key)
        .max_attempts(MAX_ATTEMPTS)
        .build();
    apalis_postgres::queries::push_tasks(&mut *tx, Queue::Cleanup.name(), vec![task_row]).await?;
    tx.commit().await?;
    tracing::debug!(task = task.name, %slot, "cron: enqueued");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_period_aligned() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T10:47:12Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            slot(t, Duration::from_secs(3600)).to_rfc3339(),
            "2026-03-01T10:00:00+00:00"
        );
        assert_eq!(
            slot(t, Duration::from_secs(6 * 3600)).to_rfc3339(),
            "2026-03-01T06:00:00+00:00"
        );
    }
}
