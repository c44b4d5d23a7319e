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

use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use uuid::Uuid;

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Sendgrid(crate::integrations::sendgrid::SendGrid),
}

fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .map_err(|e| anyhow::anyhow!("smtp_from {from:?} is not an email address: {e}"))
}

/// One email, as the outbox holds it.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    /// The outbox message id; the Message-ID header is derived from it, so a receiver
    /// can tell a (rare) re-send after a crash from a new email.
    pub id: Uuid,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The message itself is unacceptable (bad address, rejected with a 5xx):
    /// retrying will not help.
    #[error("{0}")]
    Permanent(String),
    /// The server or the network failed; try again later.
    #[error("{0}")]
    Transient(String),
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let from = parse_from(from)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("smtp_url is invalid: {e}"))?
            .timeout(Some(Duration::from_secs(60)))
            .build();
        Ok(Self {
            transport: Transport::Smtp(transport),
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

    /// Send; returns the Message-ID the email carries.
    pub async fn send(&self, email: &Email<'_>) -> Result<String, SendError> {
        let transport = match &self.transport {
            Transport::Smtp(transport) => transport,
            Transport::Sendgrid(sendgrid) => {
                if email.to.parse::<Mailbox>().is_err() {
                    return Err(SendError::Permanent(format!(
                        "invalid recipient {:?}",
                        email.to
                    )));
                }
                return sendgrid
                    .send(email, self.from.name.as_deref(), self.from.email.as_ref())
                    .await;
            }
        };
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| SendError::Permanent(format!("invalid recipient {:?}: {e}", email.to)))?;
        let domain = self.from.email.domain().to_string();
        let message_id = format!("<{}@{domain}>", email.id.simple());
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(message_id.clone()));
        let message = match email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                email.text.to_string(),
                html.to_string(),
            )),
            None => builder.singlepart(SinglePart::plain(email.text.to_string())),
        }
        .map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))?;
        match transport.send(message).await {
            Ok(_) => Ok(message_id),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::Transient(format!("SMTP: {e}"))),
        }
    }
}
