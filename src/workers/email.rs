//! `email.send`: deliver one `messages` row over SMTP (communications module). At most
//! once per message: the communications service claims the row before sending and
//! never sends a `sent` one again.

use anyhow::Context as _;

use super::Context;
use crate::modules::communications::{self, Delivery, EmailJob};
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("an email.send job without an account")?;
    let data: EmailJob =
        serde_json::from_value(job.data.clone()).context("malformed email.send job")?;
    let documents = crate::modules::documents::service::Env {
        db: &ctx.db,
        storage: &ctx.storage,
        keys: &ctx.keys,
        public_url: &ctx.config.public_url,
    };
    let env = communications::Env {
        db: &ctx.db,
        storage: &ctx.storage,
        pdfs: &documents,
    };
    let delivery = communications::deliver_email(
        &env,
        ctx.mailer.as_ref(),
        ctx.config.jobs.email_lease,
        account_id,
        data.message_id,
    )
    .await?;
    match delivery {
        Delivery::Sent(provider_id) => {
            tracing::info!(message_id = %data.message_id, %provider_id, "email sent");
        }
        Delivery::AlreadySent => {
            tracing::info!(message_id = %data.message_id, "email was already sent; not sending again");
        }
        Delivery::Rejected(reason) => {
            tracing::warn!(message_id = %data.message_id, %reason, "email rejected by the SMTP server; not retried");
        }
    }
    Ok(())
}
