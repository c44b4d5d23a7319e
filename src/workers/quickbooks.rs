//! `sync.quickbooks`: push one client, invoice or payment to QuickBooks Online (see
//! `modules::quickbooks::sync`). A refused record is recorded `failed` and the job
//! ends; a transport or token problem fails the job, which the queue retries.

use anyhow::Context as _;

use super::Context;
use crate::modules::quickbooks::service::SyncJob;
use crate::modules::quickbooks::sync;
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("a sync.quickbooks job without an account")?;
    let data: SyncJob =
        serde_json::from_value(job.data.clone()).context("malformed sync.quickbooks job")?;
    sync::run(
        &ctx.db,
        ctx.quickbooks.client.as_ref(),
        &ctx.quickbooks.secrets,
        account_id,
        data.record_id,
    )
    .await
}
