//! Visit reminders and overdue-invoice follow-ups (the hourly `send_reminders` cron
//! task). Each account's settings turn them on (`visit_reminders`,
//! `invoice_followups`); each reminder is claimed in `client_reminders` in the
//! transaction that queues its messages, so it is sent once even when two workers
//! (or two runs) overlap.
//!
//! - A visit (scheduled, starting within `visit_reminder_hours_before`) gets one
//!   email (when the client has an address) and one text (when a phone has
//!   `sms_opt_in` and this server has Twilio).
//! - An issued invoice with a balance gets one email per step of
//!   `invoice_followup_days` reached (days after the due date, in the account's time
//!   zone). A run that finds several steps reached at once (follow-ups just turned
//!   on) sends only the latest and records the earlier ones as done. Paid, void and
//!   bad-debt invoices are never followed up.
//!
//! The task reads visits and invoices and signs hub links, so it sits here, above
//! jobs and communications (which queues the messages and keeps the claims).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::error::Error;
use crate::modules::auth::links;
use crate::modules::auth::token::TokenKeys;
use crate::modules::communications::{
    self, OutgoingEmail, OutgoingSms, queue_email_in, queue_sms_in, templates,
};
use crate::modules::{accounts, clients, invoices, jobs};
use crate::platform::database::Db;

const VISIT: &str = "visit_reminder";
const INVOICE: &str = "invoice_followup";

/// What the task needs from the process.
pub struct Senders<'a> {
    pub public_url: &'a str,
    pub keys: &'a TokenKeys,
    /// Whether texts can be sent (Twilio configured).
    pub sms: bool,
}

/// Every account's reminders (runner only). Returns the reminders queued; an
/// account that fails is logged and the others go on.
pub async fn run_all(db: &Db, senders: &Senders<'_>, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let accounts = accounts::service::all_ids(db)
        .await
        .map_err(anyhow::Error::from)?;
    let mut sent = 0;
    let mut failed = 0;
    for account_id in accounts {
        match run_account(db, senders, account_id, now).await {
            Ok(n) => sent += n,
            Err(error) => {
                failed += 1;
                tracing::warn!(%account_id, error = crate::error::chain(&error), "cannot send reminders");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} account(s) failed; {sent} reminders queued for the others");
    }
    Ok(sent)
}

/// One account's reminders, in one tenant transaction.
pub async fn run_account(
    db: &Db,
    senders: &Senders<'_>,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    let mut tx = db.tenant(account_id).await?;
    let settings = accounts::service::settings_in(&mut tx).await?;
    let mut sent = 0;
    if settings.visit_reminders {
        let until = now + Duration::hours(i64::from(settings.visit_reminder_hours_before));
        for visit in jobs::service::visits_starting_in(&mut tx, now, until).await? {
            let Some(starts_at) = visit.starts_at else {
                continue;
            };
            let client = clients::service::get_in(&mut tx, visit.client_id).await?;
            let email = client.email_to(None).ok();
            let phone = client.sms_number().filter(|_| senders.sms);
            if email.is_none() && phone.is_none() {
                continue;
            }
            if !communications::claim_reminder_in(&mut tx, account_id, VISIT, visit.id, 0).await? {
                continue;
            }
            let when = templates::visit_when(&settings, starts_at, visit.anytime);
            let mut first = None;
            if let Some(to) = email {
                let content = templates::visit_reminder(&settings, &client, &visit, &when);
                let id = queue_email_in(
                    &mut tx,
                    account_id,
                    None,
                    &OutgoingEmail {
                        client_id: Some(client.id),
                        template: VISIT,
                        to,
                        content,
                        about: Some(("visit", visit.id)),
                    },
                )
                .await?;
                first = Some(id);
            }
            if let Some(to) = phone {
                let id = queue_sms_in(
                    &mut tx,
                    account_id,
                    None,
                    &OutgoingSms {
                        client_id: Some(client.id),
                        template: VISIT,
                        to,
                        body_text: templates::visit_reminder_sms(&settings, &visit.title, &when),
                        about: Some(("visit", visit.id)),
                    },
                )
                .await?;
                first = first.or(Some(id));
            }
            if let Some(id) = first {
                communications::set_reminder_message_in(&mut tx, VISIT, visit.id, 0, id).await?;
            }
            sent += 1;
        }
    }
    if settings.invoice_followups && !settings.invoice_followup_days.is_empty() {
        let tz = jobs::service::zone(&settings);
        let today = now.with_timezone(&tz).date_naive();
        for invoice in invoices::service::overdue_in(&mut tx, &settings, today).await? {
            let Some(due) = invoice.due_date else {
                continue;
            };
            let days_late = (today - due).num_days();
            let reached: Vec<i32> = settings
                .invoice_followup_days
                .iter()
                .copied()
                .filter(|d| i64::from(*d) <= days_late)
                .collect();
            let Some(step) = reached.iter().copied().max() else {
                continue;
            };
            let client = clients::service::get_in(&mut tx, invoice.client_id).await?;
            let Ok(to) = client.email_to(None) else {
                continue;
            };
            if !communications::claim_reminder_in(&mut tx, account_id, INVOICE, invoice.id, step)
                .await?
            {
                continue;
            }
            // Earlier steps are past: never send them later.
            for earlier in reached.iter().copied().filter(|d| *d != step) {
                communications::claim_reminder_in(
                    &mut tx, account_id, INVOICE, invoice.id, earlier,
                )
                .await?;
            }
            let link = links::link(
                senders.public_url,
                senders.keys,
                links::Kind::Invoice,
                account_id,
                invoice.id,
            );
            let content =
                super::emails::invoice_overdue(&settings, &client, &invoice, days_late, &link);
            let id = queue_email_in(
                &mut tx,
                account_id,
                None,
                &OutgoingEmail {
                    client_id: Some(client.id),
                    template: INVOICE,
                    to,
                    content,
                    about: Some(("invoice", invoice.id)),
                },
            )
            .await?;
            communications::set_reminder_message_in(&mut tx, INVOICE, invoice.id, step, id).await?;
            sent += 1;
        }
    }
    tx.commit().await?;
    Ok(sent)
}
