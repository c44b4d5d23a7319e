//! The settings page's view of the server's email and text transports: whether each
//! is configured, and a "send test" that goes through it now, so an owner setting up
//! the business learns at once whether clients will get their emails and texts.
//!
//! A test is not a client message: it is sent directly (not through the outbox),
//! recorded nowhere, and its outcome — including the server's refusal — is the
//! answer. The transports themselves are the operator's (`smtp_url`, SendGrid,
//! Twilio in `jobber.toml`); nothing here changes them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::{Config, EmailTransport};
use crate::domain::{Email as EmailAddress, e164};
use crate::error::{Error, ErrorCode};
use crate::integrations::twilio::{Sms, SmsError, Twilio};
use crate::modules::{accounts, users};
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::mailer::{Email, Mailer, SendError};

/// Which transport carries client emails, and texts.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessagingStatus {
    pub email: EmailStatus,
    pub sms: SmsStatus,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EmailStatus {
    /// False: client emails wait in the queue until the operator sets a transport.
    pub configured: bool,
    /// `smtp` or `sendgrid`; null when not configured.
    pub transport: Option<String>,
    /// The sender address (`smtp_from`); the business's name is shown with it.
    pub from: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SmsStatus {
    /// False: texts wait in the queue and "on my way" answers `sms_not_configured`.
    pub configured: bool,
    /// The sending number (E.164) or messaging service; null when not configured.
    pub from: Option<String>,
}

/// Where a test email goes.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TestEmailInput {
    /// Default: the signed-in user's own address.
    #[serde(default)]
    pub to: Option<String>,
}

/// Where a test text goes.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TestSmsInput {
    /// A mobile number; written as the person likes (`(555) 010-9999`, `+44 …`).
    #[serde(default)]
    pub to: Option<String>,
}

/// What became of a test.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestOutcome {
    /// True: the transport accepted the message (delivery is up to the receiver).
    pub sent: bool,
    /// The address or E.164 number it went to.
    pub to: String,
    /// The provider's id of the message when sent; the refusal's reason otherwise.
    pub detail: String,
}

pub fn status(config: &Config) -> MessagingStatus {
    let jobs = &config.jobs;
    let transport = match (jobs.email_transport, &jobs.smtp_url, &jobs.sendgrid_api_key) {
        (EmailTransport::Sendgrid, _, Some(_)) => Some("sendgrid"),
        (EmailTransport::Smtp, Some(_), _) => Some("smtp"),
        _ => None,
    };
    let twilio = &config.twilio;
    let sms_configured = twilio.account_sid.is_some()
        && twilio.auth_token.is_some()
        && (twilio.from.is_some() || twilio.messaging_service_sid.is_some());
    MessagingStatus {
        email: EmailStatus {
            configured: transport.is_some(),
            transport: transport.map(str::to_string),
            from: jobs.smtp_from.clone(),
        },
        sms: SmsStatus {
            configured: sms_configured,
            from: sms_configured
                .then(|| {
                    twilio
                        .messaging_service_sid
                        .clone()
                        .or_else(|| twilio.from.clone())
                })
                .flatten(),
        },
    }
}

/// Send a test email through the configured transport, from the business (its name
/// and Reply-To, as client emails have).
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn test_email(
    db: &Db,
    config: &Config,
    ctx: &Ctx,
    input: TestEmailInput,
) -> Result<TestOutcome, Error> {
    let to = match input.to.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(to) => EmailAddress::parse(to)
            .map_err(|m| Error::field("to", m))?
            .as_str()
            .to_string(),
        None => users::service::get(db, ctx, ctx.user_id).await?.email,
    };
    let mailer = Mailer::from_config(&config.jobs)
        .map_err(Error::internal)?
        .ok_or_else(|| Error::code(ErrorCode::EmailNotConfigured))?;
    let settings = accounts::service::settings(db, ctx).await?;
    let subject = format!("Test email from {}", settings.business_name);
    let text = format!(
        "This is a test email from jobber, sent from the settings of {}.\n\nIf you can read it, emails to your clients will arrive the same way.\n",
        settings.business_name
    );
    let email = Email {
        id: Uuid::now_v7(),
        from_name: Some(&settings.business_name),
        reply_to: settings.email.as_deref(),
        to: &to,
        subject: &subject,
        text: &text,
        html: None,
        attachments: &[],
    };
    let outcome = match mailer.send(&email).await {
        Ok(message_id) => TestOutcome {
            sent: true,
            to,
            detail: message_id,
        },
        Err(SendError::Permanent(reason) | SendError::Transient(reason)) => {
            tracing::warn!(%reason, "test email refused");
            TestOutcome {
                sent: false,
                to,
                detail: reason,
            }
        }
    };
    Ok(outcome)
}

/// Send a test text through Twilio to the number given.
#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn test_sms(
    db: &Db,
    config: &Config,
    ctx: &Ctx,
    input: TestSmsInput,
) -> Result<TestOutcome, Error> {
    let typed = input.to.as_deref().map(str::trim).unwrap_or_default();
    if typed.is_empty() {
        return Err(Error::field("to", "is required"));
    }
    let to = e164(typed).ok_or_else(|| {
        Error::field(
            "to",
            "must be a mobile number: 10 digits, or + and the country code",
        )
    })?;
    let twilio = Twilio::from_config(&config.twilio)
        .map_err(Error::internal)?
        .ok_or_else(|| Error::code(ErrorCode::SmsNotConfigured))?;
    let settings = accounts::service::settings(db, ctx).await?;
    let body = format!(
        "{}: a test text from jobber. Texts to your clients will arrive the same way.",
        settings.business_name
    );
    let outcome = match twilio
        .send(&Sms {
            to: &to,
            body: &body,
            status_callback: None,
        })
        .await
    {
        Ok(sid) => TestOutcome {
            sent: true,
            to,
            detail: sid,
        },
        Err(SmsError::Rejected { message, .. }) => TestOutcome {
            sent: false,
            to,
            detail: message,
        },
        Err(SmsError::Transient(reason)) => {
            tracing::warn!(%reason, "test text failed");
            TestOutcome {
                sent: false,
                to,
                detail: reason,
            }
        }
    };
    Ok(outcome)
}
