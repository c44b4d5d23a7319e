//! `reports.generation`: CSV exports (`reports::exports`), queued when office staff
//! ask for one. Writing an export again is harmless; when the last attempt fails the
//! export is marked `failed` with the error (a retried dead job writes it after all).

use anyhow::Context as _;

use super::Context;
use crate::modules::reports::exports::{self, ExportJob};
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job, last: bool) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("a reports.generation job without an account")?;
    let data: ExportJob =
        serde_json::from_value(job.data.clone()).context("malformed reports.generation job")?;
    let outcome = exports::generate(&ctx.db, &ctx.storage, account_id, data.export_id).await;
    if let (Err(error), true) = (&outcome, last) {
        exports::fail(&ctx.db, account_id, data.export_id, &format!("{error:#}")).await?;
    }
    outcome
}
