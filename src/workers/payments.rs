//! `payment.processing`: bring a card payment still pending in line with Stripe
//! (`invoices::cards::reconcile`), queued by the `reconcile_card_payments` cron
//! task: a lost webhook's payment is applied, a cancelled one fails, an abandoned
//! one is cancelled after 24 hours. Running a job twice changes nothing more.

use anyhow::Context as _;

use super::Context;
use crate::error::ErrorCode;
use crate::modules::invoices::cards::{self as service, ReconcileJob};
use crate::platform::queue::Job;

pub async fn run(ctx: &Context, job: &Job) -> anyhow::Result<()> {
    let account_id = job
        .account_id
        .context("a payment.processing job without an account")?;
    let data: ReconcileJob =
        serde_json::from_value(job.data.clone()).context("malformed payment.processing job")?;
    match service::reconcile(&ctx.db, &ctx.gateway, account_id, data.payment_id).await {
        Ok(outcome) => {
            tracing::info!(payment_id = %data.payment_id, ?outcome, "card payment reconciled");
            Ok(())
        }
        // Gone, or the account removed its Stripe keys: nothing can be asked.
        Err(e)
            if matches!(
                e.code,
                ErrorCode::PaymentNotFound | ErrorCode::StripeNotConfigured
            ) =>
        {
            tracing::warn!(payment_id = %data.payment_id, error = crate::error::chain(&e), "card payment not reconciled");
            Ok(())
        }
        Err(e) => Err(anyhow::Error::from(e)),
    }
}
