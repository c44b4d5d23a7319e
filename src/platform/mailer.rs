//! Outbound email over SMTP (lettre on tokio + rustls), or through SendGrid's API
//! (`email_transport = "sendgrid"`, `integrations::sendgrid`).
//!
//! One URL says it all (lettre's connection URL): `smtp://host:25` (no TLS),
//! `smtp://user:pass@host:587?tls=required` (STARTTLS, refused without it),
//! `smtp://…?tls=opportunistic` (STARTTLS when offered), `smtps://user:pass@host:465`
//! (TLS from the first byte). Credentials are percent-encoded in the URL; the URL is a
//! secret (`JOBBER_SMTP_URL_FILE`).
//!
//! This module only talks SMTP; which message to send, and recording the outcome, is
//! the communications module's business.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use super::email::{Attachment, Email, SendError};

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

#[derive(Clone)]
enum Transport {
    Smtp(SmtpPool),
    Sendgrid(crate::integrations::sendgrid::SendGrid),
}

/// lettre's transport (a pool of SMTP connections), replaced by a fresh one after a
/// send is cut off ([`Mailer::send_within`]): lettre puts a connection whose send
/// was dropped mid-command back in its pool, where the next send would read the
/// late answer to the abandoned command as its own (a `MAIL FROM` answered with
/// the previous `250`, then `503 nested MAIL command`, a permanent failure). The
/// old pool is dropped once its last send is over, closing its connections.
#[derive(Clone)]
struct SmtpPool {
    url: std::sync::Arc<secrecy::SecretString>,
    current: std::sync::Arc<std::sync::Mutex<AsyncSmtpTransport<Tokio1Executor>>>,
}

impl SmtpPool {
    fn build(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("smtp_url is invalid: {e}"))?
            .timeout(Some(Duration::from_secs(60)))
            .build())
    }

    fn transport(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        match self.current.lock() {
            Ok(transport) => transport.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Start over with new connections.
    fn reset(&self) {
        use secrecy::ExposeSecret;
        match Self::build(self.url.expose_secret()) {
            Ok(fresh) => match self.current.lock() {
                Ok(mut current) => *current = fresh,
                Err(poisoned) => *poisoned.into_inner() = fresh,
            },
            // The URL was valid when the mailer was made; nothing changed it.
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot renew the SMTP pool")
            }
        }
    }
}

fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .map_err(|e| anyhow::anyhow!("smtp_from {from:?} is not an email address: {e}"))
}

/// The From mailbox: the configured address with the business's name, if any.
fn sender(from: &Mailbox, name: Option<&str>) -> Mailbox {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => Mailbox::new(Some(name.to_string()), from.email.clone()),
        None => from.clone(),
    }
}

fn part(attachment: &Attachment) -> Result<SinglePart, SendError> {
    let content_type = ContentType::parse(&attachment.content_type).map_err(|e| {
        SendError::Permanent(format!(
            "attachment {:?} has a bad type: {e}",
            attachment.filename
        ))
    })?;
    let body = attachment.bytes.to_vec();
    Ok(match &attachment.content_id {
        Some(cid) => lettre::message::Attachment::new_inline_with_name(
            cid.clone(),
            attachment.filename.clone(),
        )
        .body(body, content_type),
        None => {
            lettre::message::Attachment::new(attachment.filename.clone()).body(body, content_type)
        }
    })
}

/// The MIME tree: `mixed(related(alternative(text, html), inline images), files)`,
/// each level only when it has something to hold.
fn mime_body(email: &Email<'_>) -> Result<MultiPart, SendError> {
    let (inline, files): (Vec<&Attachment>, Vec<&Attachment>) = email
        .attachments
        .iter()
        .partition(|a| a.content_id.is_some() && email.html.is_some());
    let text = SinglePart::plain(email.text.to_string());
    let Some(html) = email.html else {
        // Text only: the files follow it in one `mixed`.
        let mut mixed = MultiPart::mixed().singlepart(text);
        for file in files {
            mixed = mixed.singlepart(part(file)?);
        }
        return Ok(mixed);
    };
    let mut body = MultiPart::alternative()
        .singlepart(text)
        .singlepart(SinglePart::html(html.to_string()));
    if !inline.is_empty() {
        let mut related = MultiPart::related().multipart(body);
        for image in inline {
            related = related.singlepart(part(image)?);
        }
        body = related;
    }
    if !files.is_empty() {
        let mut mixed = MultiPart::mixed().multipart(body);
        for file in files {
            mixed = mixed.singlepart(part(file)?);
        }
        body = mixed;
    }
    Ok(body)
}

impl Mailer {
    /// The transport the operator configured: SendGrid (`email_transport =
    /// "sendgrid"` with its key) or SMTP (`smtp_url`); None when neither is.
    pub fn from_config(jobs: &crate::config::JobsConfig) -> anyhow::Result<Option<Self>> {
        use secrecy::ExposeSecret;
        match (jobs.email_transport, &jobs.smtp_url, &jobs.sendgrid_api_key) {
            (crate::config::EmailTransport::Sendgrid, _, Some(key)) => Ok(Some(Self::sendgrid(
                &jobs.sendgrid_api_base,
                key.clone(),
                &jobs.smtp_from,
            )?)),
            (crate::config::EmailTransport::Smtp, Some(url), _) => {
                Ok(Some(Self::new(url.expose_secret(), &jobs.smtp_from)?))
            }
            _ => Ok(None),
        }
    }

    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let from = parse_from(from)?;
        let transport = SmtpPool::build(url)?;
        Ok(Self {
            transport: Transport::Smtp(SmtpPool {
                url: std::sync::Arc::new(url.into()),
                current: std::sync::Arc::new(std::sync::Mutex::new(transport)),
            }),
            from,
        })
    }

    /// Email through SendGrid's v3 API; `from` as for SMTP (`smtp_from`).
    pub fn sendgrid(
        api_base: &str,
        key: secrecy::SecretString,
        from: &str,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            transport: Transport::Sendgrid(crate::integrations::sendgrid::SendGrid::new(
                api_base, key,
            )?),
            from: parse_from(from)?,
        })
    }

    /// Send, and give up after `budget`: the conversation is cut off (a transient
    /// failure) and its connection is not used again. Whether the server took the
    /// message when it is cut off after the data was sent cannot be known.
    pub async fn send_within(
        &self,
        email: &Email<'_>,
        budget: Duration,
    ) -> Result<String, SendError> {
        match tokio::time::timeout(budget, self.send(email)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                if let Transport::Smtp(pool) = &self.transport {
                    pool.reset();
                }
                Err(SendError::Transient(format!(
                    "the send was cut off after {} s, the time it was given (email_lease_secs less a margin), so that no other worker sends it meanwhile",
                    budget.as_secs_f64()
                )))
            }
        }
    }

    /// Send; returns the Message-ID the email carries.
    pub async fn send(&self, email: &Email<'_>) -> Result<String, SendError> {
        let transport = match &self.transport {
            Transport::Smtp(pool) => pool.transport(),
            Transport::Sendgrid(sendgrid) => {
                if email.to.parse::<Mailbox>().is_err() {
                    return Err(SendError::Permanent(format!(
                        "invalid recipient {:?}",
                        email.to
                    )));
                }
                let from = sender(&self.from, email.from_name);
                return sendgrid
                    .send(email, from.name.as_deref(), self.from.email.as_ref())
                    .await;
            }
        };
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("invalid recipient {:?}: {e}", email.to)))?;
        let domain = self.from.email.domain().to_string();
        let message_id = format!("<{}@{domain}>", email.id.simple());
        let mut builder = Message::builder()
            .from(sender(&self.from, email.from_name))
            .to(to)
            .subject(email.subject)
            .message_id(Some(message_id.clone()));
        // A business address that doesn't parse is left out rather than failing the
        // email: replies then go to `smtp_from`.
        if let Some(reply_to) = email.reply_to.and_then(|r| r.parse::<Mailbox>().ok()) {
            builder = builder.reply_to(reply_to);
        }
        let message = if email.html.is_none() && email.attachments.is_empty() {
            builder.singlepart(SinglePart::plain(email.text.to_string()))
        } else {
            builder.multipart(mime_body(email)?)
        }
        .map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))?;
        match transport.send(message).await {
            Ok(_) => Ok(message_id),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::Transient(format!("SMTP: {e}"))),
        }
    }
}
