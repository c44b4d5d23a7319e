//! `notifications.high` and `notifications.standard`: in-app and push notifications
//! (seed §6.2). No job is enqueued on these queues yet; when one arrives it is
//! acknowledged and logged, so nothing piles up unnoticed.

use super::Context;
use crate::platform::queue::{Job, Queue};

pub async fn run(_ctx: &Context, queue: Queue, job: &Job) -> anyhow::Result<()> {
    tracing::warn!(%queue, data = %job.data, "no handler for notification jobs yet; acknowledged");
    Ok(())
}
