//! `cleanup`: the housekeeping tasks the cron schedules (`workers::cron`), across
//! accounts on the runner's (owner's) connection. Each is a bounded DELETE, safe to
//! run twice.

use anyhow::Context as _;

use super::Context;
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job) -> anyhow::Result<()> {
    let task = job
        .data
        .get("task")
        .and_then(|t| t.as_str())
        .context("a cleanup job without a task")?;
    let slot = job
        .data
        .get("slot")
        .and_then(|s| serde_json::from_value::<chrono::DateTime<chrono::Utc>>(s.clone()).ok());
    let outcome = match task {
        "purge_idempotency_keys" => crate::platform::idempotency::purge_expired(&ctx.pool)
            .await
            .map_err(anyhow::Error::from),
        "purge_refresh_tokens" => crate::modules::auth::service::purge_refresh_tokens(&ctx.pool)
            .await
            .map_err(anyhow::Error::from),
        "purge_user_tokens" => crate::modules::auth::service::purge_user_tokens(&ctx.pool)
            .await
            .map_err(anyhow::Error::from),
        "purge_job_outbox" => crate::platform::queue::purge_relayed(&ctx.pool).await,
        "purge_events" => crate::platform::events::purge(&ctx.pool)
            .await
            .map_err(anyhow::Error::from),
        "purge_finished_jobs" => {
            crate::platform::queue::purge_finished(&ctx.pool, ctx.config.jobs.retention).await
        }
        "purge_temp_uploads" => {
            async {
                let mut conn = ctx.pool.acquire().await?;
                crate::modules::uploads::service::purge(&mut conn, &ctx.storage, chrono::Utc::now())
                    .await
            }
            .await
        }
        "expire_quotes" => crate::modules::quotes::service::expire_all(&ctx.db).await,
        "extend_recurring_series" => {
            crate::modules::jobs::service::extend_all_series(&ctx.db, chrono::Utc::now()).await
        }
        "send_reminders" => {
            let senders = crate::modules::invoices::reminders::Senders {
                public_url: &ctx.config.public_url,
                keys: &ctx.keys,
                sms: ctx.twilio.is_some(),
            };
            crate::modules::invoices::reminders::run_all(&ctx.db, &senders, chrono::Utc::now())
                .await
        }
        "purge_report_exports" => {
            crate::modules::reports::exports::purge_expired(&ctx.pool, &ctx.storage).await
        }
        "daily_backup" => {
            crate::platform::backup::scheduled(&ctx.db, &ctx.config, &ctx.storage).await
        }
        "reconcile_card_payments" => {
            crate::modules::invoices::cards::queue_reconciliations(&ctx.db).await
        }
        other => Err(anyhow::anyhow!("unknown cleanup task {other:?}")),
    };
    if let Some(slot) = slot {
        let (affected, error) = match &outcome {
            Ok(n) => (Some(i64::try_from(*n).unwrap_or(i64::MAX)), None),
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        sqlx::query!(
            "UPDATE cron_runs SET finished_at = now(), affected = $3, error = $4 WHERE name = $1 AND slot = $2",
            task,
            slot,
            affected,
            error
        )
        .execute(&ctx.pool)
        .await?;
    }
    let affected = outcome?;
    tracing::info!(task, affected, "cleanup done");
    Ok(())
}
