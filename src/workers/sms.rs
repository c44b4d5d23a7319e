//! `sms.send`: deliver one text `messages` row through Twilio (communications
//! module). At most once per message, like `email.send`: the row is claimed before
//! Twilio is called and a text Twilio accepted is never sent again.

use anyhow::Context as _;

use super::Context;
use crate::modules::communications::{Delivery, SmsJob, sms};
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("an sms.send job without an account")?;
    let data: SmsJob =
        serde_json::from_value(job.data.clone()).context("malformed sms.send job")?;
    let delivery = sms::deliver_sms(
        &ctx.db,
        ctx.twilio.as_ref(),
        &ctx.config.public_url,
        ctx.config.jobs.email_lease,
        account_id,
        data.message_id,
    )
    .await?;
    match delivery {
        Delivery::Sent(sid) => tracing::info!(message_id = %data.message_id, %sid, "text sent"),
        Delivery::AlreadySent => {
            tracing::info!(message_id = %data.message_id, "text was already sent; not sending again");
        }
        Delivery::Rejected(reason) => {
            tracing::warn!(message_id = %data.message_id, %reason, "text refused by Twilio; not retried");
        }
    }
    Ok(())
}
