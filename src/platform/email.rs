//! An email as the outbox hands it to a transport, and how sending it failed: the
//! types the SMTP mailer (`platform::mailer`) and SendGrid's client
//! (`integrations::sendgrid`) share, apart from both so neither imports the other.

use uuid::Uuid;

/// One email, as the outbox holds it.
#[derive(Debug, Clone)]
pub struct Email<'a> {
    /// The outbox message id; the Message-ID header is derived from it, so a receiver
    /// can tell a (rare) re-send after a crash from a new email.
    pub id: Uuid,
    /// The sender's display name (the business), shown instead of the configured
    /// `smtp_from` name; the address is always `smtp_from`'s, which the operator's
    /// mail domain is set up to send (SPF, DKIM).
    pub from_name: Option<&'a str>,
    /// Where the client's reply goes: the business's own address.
    pub reply_to: Option<&'a str>,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: Option<&'a str>,
    /// Files attached (a quote's PDF) and images the HTML shows inline (the logo).
    pub attachments: &'a [Attachment],
}

/// A file carried by an email.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: bytes::Bytes,
    /// Set for an inline image the HTML refers to as `cid:{content_id}`.
    pub content_id: Option<String>,
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
