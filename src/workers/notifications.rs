//! `notifications.high` and `notifications.standard` (seed §6.2): fan an in-app
//! notification out to the office, one row per person, at most once each (the
//! notifications module). Quote approvals, payments and client messages go on the
//! high queue; visit completions on the standard one.

use anyhow::Context as _;

use super::Context;
use crate::modules::notifications::{self, NotifyJob};
use crate::platform::queue::{Job, Queue};

pub async fn run(ctx: &Context, queue: Queue, job: &Job) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("a notification job without an account")?;
    let data: NotifyJob =
        serde_json::from_value(job.data.clone()).context("malformed notification job")?;
    let added = notifications::service::fan_out(&ctx.db, account_id, &data)
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!(%queue, kind = %data.kind, added, "notification delivered");
    Ok(())
}
