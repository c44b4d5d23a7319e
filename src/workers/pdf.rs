//! `pdf.generation`: PDF rendering of quotes and invoices. No job is enqueued on this queue yet; when
//! one arrives it is acknowledged and logged, so nothing piles up unnoticed.

use super::Context;
use crate::platform::queue::Job;

pub async fn run(_ctx: &Context, job: &Job) -> anyhow::Result<()> {
    tracing::warn!(data = %job.data, "no handler for pdf.generation jobs yet; acknowledged");
    Ok(())
}
