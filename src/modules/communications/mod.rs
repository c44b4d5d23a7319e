//! Emails and texts to clients. A message is written to the outbox (`messages`,
//! status `queued`) inside the transaction of the change that causes it; the
//! background worker delivers it and records the outcome. So nothing is sent for a
//! change that rolled back, and nothing committed is forgotten.

pub mod compose;
pub mod connections;
pub mod on_my_way;
pub mod repo;
pub mod routes;
pub mod sms;
pub mod templates;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::modules::accounts;
use crate::platform::mailer::{Attachment, Email, Mailer, SendError};
use crate::platform::queue::{self, Queue};

/// A message ready for the outbox.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub client_id: Option<Uuid>,
    pub template: &'static str,
    pub to: String,
    /// Subject, text and HTML.
    pub content: compose::Rendered,
    /// The record it is about, e.g. `("quote", id)`. A sent quote's or invoice's
    /// PDF is attached when the email goes out (`attachment_of`).
    pub about: Option<(&'static str, Uuid)>,
}

/// Whether an email from `template` about the record went out within `within`
/// (a rate limit by design: callers then send nothing). Locks the record's id for
/// the rest of the caller's transaction, so two racing callers send at most one.
pub async fn email_sent_recently_in(
    tx: &mut crate::platform::database::Tx,
    template: &str,
    about: (&str, Uuid),
    within: std::time::Duration,
) -> Result<bool, sqlx::Error> {
    repo::lock_and_find_recent_email(tx, template, about.0, about.1, within.as_secs_f64()).await
}

/// Claim a reminder (`kind`, the record, the step) for the caller's transaction:
/// false when it was claimed already, so each is sent once.
pub async fn claim_reminder_in(
    tx: &mut crate::platform::database::Tx,
    account_id: Uuid,
    kind: &str,
    subject_id: Uuid,
    step: i32,
) -> Result<bool, sqlx::Error> {
    repo::claim_reminder(tx, account_id, kind, subject_id, step).await
}

/// Record the message a claimed reminder was sent as.
pub async fn set_reminder_message_in(
    tx: &mut crate::platform::database::Tx,
    kind: &str,
    subject_id: Uuid,
    step: i32,
    message_id: Uuid,
) -> Result<(), sqlx::Error> {
    repo::set_reminder_message(tx, kind, subject_id, step, message_id).await
}

/// Queue an email in the caller's transaction (a service's `Tx`, or an
/// in-transaction listener's connection): the outbox message and the `email.send` job
/// that delivers it commit or roll back with the caller's change. Returns the
/// message id.
pub async fn queue_email_in(
    tx: &mut sqlx::PgConnection,
    account_id: Uuid,
    created_by: Option<Uuid>,
    email: &OutgoingEmail,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    repo::insert_email(tx, account_id, id, created_by, email).await?;
    queue::enqueue(
        tx,
        account_id,
        Queue::EmailSend,
        &EmailJob { message_id: id },
    )
    .await?;
    Ok(id)
}

/// A text ready for the outbox.
#[derive(Debug, Clone)]
pub struct OutgoingSms {
    pub client_id: Option<Uuid>,
    pub template: &'static str,
    /// E.164.
    pub to: String,
    pub body_text: String,
    pub about: Option<(&'static str, Uuid)>,
}

/// Queue a text in the caller's transaction (the message and its `sms.send` job).
/// The caller checks the recipient agreed to texts. Returns the message id.
pub async fn queue_sms_in(
    tx: &mut sqlx::PgConnection,
    account_id: Uuid,
    created_by: Option<Uuid>,
    sms: &OutgoingSms,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    repo::insert_sms(tx, account_id, id, created_by, sms).await?;
    queue::enqueue(tx, account_id, Queue::SmsSend, &SmsJob { message_id: id }).await?;
    Ok(id)
}

/// The data of an `sms.send` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsJob {
    pub message_id: Uuid,
}

/// The data of an `email.send` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailJob {
    pub message_id: Uuid,
}

/// What became of one delivery attempt that did not need a retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Sent now, with this Message-ID.
    Sent(String),
    /// An earlier run sent it; nothing was sent again.
    AlreadySent,
    /// The server refused it for good (bad address, 5xx): recorded, not retried.
    Rejected(String),
}

/// What delivering an email needs: the database, the file store (for the logo),
/// and who renders the PDF of a sent quote or invoice.
pub struct Env<'a> {
    pub db: &'a crate::platform::database::Db,
    pub storage: &'a crate::platform::storage::Storage,
    pub pdfs: &'a dyn Pdfs,
}

/// Renders the PDF an email carries. The documents module does
/// (`documents::service::Env`), passed in by the email worker: documents sit above
/// this module, which only knows which emails carry one.
pub trait Pdfs: Send + Sync {
    /// The PDF of `("quote" | "invoice", id)` as an attachment; `None` when the
    /// document is gone (the email goes without it); an error means "try again
    /// later".
    fn attachment<'a>(
        &'a self,
        account_id: Uuid,
        about: (&'static str, Uuid),
    ) -> futures_util::future::BoxFuture<'a, anyhow::Result<Option<Attachment>>>;
}

/// The document whose PDF an email carries: a sent quote's or invoice's own.
fn attachment_of(template: &str, about: Option<(&str, Uuid)>) -> Option<(&'static str, Uuid)> {
    match (template, about?) {
        ("quote_sent", ("quote", id)) => Some(("quote", id)),
        ("invoice_sent", ("invoice", id)) => Some(("invoice", id)),
        _ => None,
    }
}

/// The account's logo as an inline image, when the HTML shows it and it can be read.
/// A missing logo is not worth failing an email over: the HTML's `alt` text (the
/// business's name) shows instead.
async fn inline_logo(env: &Env<'_>, key: Option<&str>, html: Option<&str>) -> Option<Attachment> {
    let cid = compose::LOGO_CID;
    if !html?.contains(&format!("cid:{cid}")) {
        return None;
    }
    let key = crate::platform::storage::ObjectKey::parse(key?)?;
    match env.storage.get(&key).await {
        Ok(Some(bytes)) => {
            let (content_type, ext) = if bytes.starts_with(b"\x89PNG") {
                ("image/png", "png")
            } else {
                ("image/jpeg", "jpg")
            };
            Some(Attachment {
                filename: format!("logo.{ext}"),
                content_type: content_type.to_string(),
                bytes,
                content_id: Some(cid.to_string()),
            })
        }
        Ok(None) => {
            tracing::warn!(
                key = key.as_str(),
                "the logo file is missing; emailing without it"
            );
            None
        }
        Err(error) => {
            tracing::warn!(
                error = format!("{error:#}"),
                "cannot read the logo; emailing without it"
            );
            None
        }
    }
}

/// The files an email carries. An error means "try again later" (storage is down);
/// a document that is gone is sent without its PDF.
async fn attachments(
    env: &Env<'_>,
    account_id: Uuid,
    message: &repo::ClaimedEmail,
    logo_key: Option<&str>,
) -> anyhow::Result<Vec<Attachment>> {
    let mut files = Vec::new();
    if let Some(logo) = inline_logo(env, logo_key, message.body_html.as_deref()).await {
        files.push(logo);
    }
    let about = message.subject_type.as_deref().zip(message.subject_id);
    if let Some(about) = attachment_of(&message.template, about)
        && let Some(pdf) = env.pdfs.attachment(account_id, about).await?
    {
        files.push(pdf);
    }
    Ok(files)
}

/// The share of a lease a send may take once the lease is renewed: the rest is the
/// margin for the round trip that renewed it and for dropping the connection, so a
/// send that is cut off ends before another worker may claim the message.
fn send_budget(lease: std::time::Duration) -> std::time::Duration {
    lease.mul_f64(0.9)
}

/// Right before the provider (SMTP, SendGrid, Twilio) is spoken to, renew the lease
/// of the message this worker claimed, by compare-and-set on its claim token.
/// `Some(budget)`: the claim holds, and the send must be over within `budget` (it is
/// cut off after, see `send_budget`). `None`: the lease ran out while the worker
/// was busy (rendering the PDF, a slow storage) and another worker claimed the
/// message: this one must not send (logged at WARN).
pub(crate) async fn renew_claim(
    db: &crate::platform::database::Db,
    account_id: Uuid,
    message_id: Uuid,
    claim: i32,
    lease: std::time::Duration,
) -> anyhow::Result<Option<std::time::Duration>> {
    let mut tx = db.tenant(account_id).await?;
    let renewed = repo::renew_lease(&mut tx, message_id, claim, lease.as_secs_f64()).await?;
    tx.commit().await?;
    if renewed {
        Ok(Some(send_budget(lease)))
    } else {
        tracing::warn!(
            %account_id,
            %message_id,
            claim,
            lease_secs = lease.as_secs_f64(),
            "the message's lease ran out before it was sent and another worker claimed it; not sending (raise email_lease_secs if this repeats)"
        );
        Ok(None)
    }
}

/// Deliver one queued email. The message is claimed (`sending`, with a lease and a
/// claim token) in its own transaction before anything slow happens, the lease is
/// renewed by compare-and-set on the claim right before SMTP is spoken, the SMTP
/// conversation is cut off before the renewed lease runs out, and the message is
/// marked `sent` with its Message-ID after. A run that finds it `sent` sends
/// nothing; one that finds it `sending` under a live lease, or loses its claim
/// while rendering, sends nothing and is retried after the lease (it then finds the
/// message sent, or claims it again if that worker died). What remains at least
/// once: a worker that dies after the server's `250` and before recording `sent`
/// (the next claim sends again, under the same Message-ID). An error return means
/// "try again later" (the message is left `failed` with the reason).
///
/// The business's name is the sender's display name and its email the Reply-To; a
/// sent quote or invoice goes with its PDF (rendered now if the stored one is stale).
#[tracing::instrument(skip(env, mailer), fields(%account_id, %message_id))]
pub async fn deliver_email(
    env: &Env<'_>,
    mailer: Option<&Mailer>,
    lease: std::time::Duration,
    account_id: Uuid,
    message_id: Uuid,
) -> anyhow::Result<Delivery> {
    let Some(mailer) = mailer else {
        anyhow::bail!(
            "smtp_url is not configured (nor email_transport = sendgrid); the email waits in the queue"
        );
    };
    let db = env.db;
    let lease_secs = lease.as_secs_f64();
    let mut tx = db.tenant(account_id).await?;
    let claimed = repo::claim_email(&mut tx, message_id, lease_secs).await?;
    let message = match claimed {
        Some(message) => message,
        None => {
            let status = repo::email_status(&mut tx, message_id).await?;
            tx.commit().await?;
            return busy_or_done(status, message_id);
        }
    };
    let settings = accounts::service::settings_in(&mut tx)
        .await
        .map_err(|e| anyhow::Error::new(e).context("cannot read the account's settings"))?;
    tx.commit().await?;
    let outcome = match attachments(env, account_id, &message, settings.logo_key.as_deref()).await {
        Ok(files) => {
            let Some(budget) =
                renew_claim(db, account_id, message_id, message.claim, lease).await?
            else {
                let mut tx = db.tenant(account_id).await?;
                let status = repo::email_status(&mut tx, message_id).await?;
                tx.commit().await?;
                return busy_or_done(status, message_id);
            };
            let email = Email {
                id: message_id,
                from_name: Some(&settings.business_name),
                reply_to: settings.email.as_deref(),
                to: &message.to_address,
                subject: message.subject.as_deref().unwrap_or_default(),
                text: &message.body_text,
                html: message.body_html.as_deref(),
                attachments: &files,
            };
            mailer.send_within(&email, budget).await
        }
        Err(error) => Err(SendError::Transient(format!("{error:#}"))),
    };
    let mut tx = db.tenant(account_id).await?;
    let result = match outcome {
        Ok(provider_id) => {
            repo::mark_sent(&mut tx, message_id, &provider_id).await?;
            Ok(Delivery::Sent(provider_id))
        }
        Err(SendError::Permanent(reason)) => {
            repo::mark_failed(&mut tx, message_id, message.claim, &reason).await?;
            Ok(Delivery::Rejected(reason))
        }
        Err(SendError::Transient(reason)) => {
            repo::mark_failed(&mut tx, message_id, message.claim, &reason).await?;
            Err(anyhow::anyhow!(reason))
        }
    };
    tx.commit().await?;
    result
}

/// An email this worker could not claim, or lost its claim on: sent already, or
/// another worker holds it (try again once its lease is over).
fn busy_or_done(
    status: Option<(String, Option<chrono::DateTime<chrono::Utc>>)>,
    message_id: Uuid,
) -> anyhow::Result<Delivery> {
    match status {
        Some((status, _)) if status == "sent" => Ok(Delivery::AlreadySent),
        Some((status, lease_until)) if status == "sending" => {
            Err(crate::platform::queue::RetryLater {
                at: lease_until.unwrap_or_else(chrono::Utc::now) + chrono::Duration::seconds(1),
                reason: "another worker is sending it".into(),
            }
            .into())
        }
        Some((status, _)) => anyhow::bail!("the message is {status}"),
        None => anyhow::bail!("no email message {message_id}"),
    }
}

/// A client's communication history (emails and texts, both ways) with each
/// message's status, newest first. Office staff only.
pub async fn history(
    db: &crate::platform::database::Db,
    ctx: &crate::platform::database::Ctx,
    client_id: Uuid,
    page: crate::platform::pagination::PageRequest,
) -> Result<crate::platform::pagination::Page<repo::HistoryEntry>, crate::error::Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    // A client of another account (or none) is not found, not an empty history.
    crate::modules::clients::service::get_in(&mut tx, client_id).await?;
    let rows = repo::history(&mut tx, client_id, page.after, page.fetch_limit()).await?;
    tx.commit().await?;
    Ok(crate::platform::pagination::Page::from_rows(
        rows,
        page,
        |m| m.id,
    ))
}
