//! `pdf.generation`: render a quote's or invoice's PDF and keep it in storage (the
//! documents module), queued when the document is sent. Rendering again is harmless.

use anyhow::Context as _;

use super::Context;
use crate::modules::documents::{self, service::PdfJob};
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("a pdf.generation job without an account")?;
    let data: PdfJob =
        serde_json::from_value(job.data.clone()).context("malformed pdf.generation job")?;
    let stored = documents::service::render_and_store(
        &ctx.db,
        &ctx.storage,
        &ctx.keys,
        &ctx.config.public_url,
        account_id,
        data.kind,
        data.id,
    )
    .await
    .map_err(anyhow::Error::from)?;
    tracing::info!(kind = ?data.kind, id = %data.id, file = %stored.filename, "pdf rendered");
    Ok(())
}
