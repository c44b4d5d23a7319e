//! Text messages through Twilio: delivery (once, like email), delivery statuses from
//! Twilio's callbacks, and clients' replies (STOP / START flip their opt-in).
//!
//! A reply finds its account through the last text sent to the replying number
//! (`messages_sms_route`): one Twilio number serves every account of the
//! installation, so the business that texted a number last owns its replies.

use secrecy::ExposeSecret;
use uuid::Uuid;

use super::{Delivery, repo};
use crate::config::TwilioConfig;
use crate::error::{Error, ErrorCode};
use crate::integrations::twilio::{self, Sms, SmsError, Twilio};
use crate::modules::activity::{self, Subject};
use crate::modules::clients;
use crate::platform::database::Db;
use crate::platform::events::Event;

/// The path of Twilio's delivery-status callbacks.
pub const STATUS_PATH: &str = "/api/v1/webhooks/twilio/status";
/// The path to give Twilio as the number's "A message comes in" webhook.
pub const INBOUND_PATH: &str = "/api/v1/webhooks/twilio/inbound";

/// Where Twilio reports the statuses of one text. The account and message are in the
/// query, which Twilio's signature covers: the callback needs no look-up and cannot
/// be pointed at another message.
pub fn status_callback_url(public_url: &str, account_id: Uuid, message_id: Uuid) -> String {
    format!("{public_url}{STATUS_PATH}?account={account_id}&message={message_id}")
}

/// Send one queued text: claimed (`sending`, with a lease and a claim token) before
/// Twilio is called, the lease renewed on the claim right before the call and the
/// call cut off before it runs out, marked `sent` with Twilio's SID after. See
/// `deliver_email`: a worker that lost its claim sends nothing.
#[tracing::instrument(skip(db, twilio, public_url), fields(%account_id, %message_id))]
pub async fn deliver_sms(
    db: &Db,
    twilio: Option<&Twilio>,
    public_url: &str,
    lease: std::time::Duration,
    account_id: Uuid,
    message_id: Uuid,
) -> anyhow::Result<Delivery> {
    let Some(twilio) = twilio else {
        anyhow::bail!("Twilio is not configured; the text waits in the queue");
    };
    let mut tx = db.tenant(account_id).await?;
    let Some(message) = repo::claim_sms(&mut tx, message_id, lease.as_secs_f64()).await? else {
        let state = repo::sms_state(&mut tx, message_id).await?;
        tx.commit().await?;
        return busy_or_done(state, message_id);
    };
    tx.commit().await?;
    let Some(budget) = super::renew_claim(db, account_id, message_id, message.claim, lease).await?
    else {
        let mut tx = db.tenant(account_id).await?;
        let state = repo::sms_state(&mut tx, message_id).await?;
        tx.commit().await?;
        return busy_or_done(state, message_id);
    };
    let callback = status_callback_url(public_url, account_id, message_id);
    let sms = Sms {
        to: &message.to_address,
        body: &message.body_text,
        status_callback: Some(&callback),
    };
    let outcome = match tokio::time::timeout(budget, twilio.send(&sms)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(SmsError::Transient(format!(
            "the call to Twilio was cut off after {} s, the time it was given (email_lease_secs less a margin), so that no other worker sends it meanwhile",
            budget.as_secs_f64()
        ))),
    };
    let mut tx = db.tenant(account_id).await?;
    let result = match outcome {
        Ok(sid) => {
            repo::mark_sms_sent(&mut tx, message_id, &sid).await?;
            Ok(Delivery::Sent(sid))
        }
        Err(SmsError::Rejected { code, message, .. }) => {
            repo::mark_sms_rejected(&mut tx, message_id, &message, code.as_deref()).await?;
            Ok(Delivery::Rejected(message))
        }
        Err(SmsError::Transient(reason)) => {
            repo::mark_failed(&mut tx, message_id, message.claim, &reason).await?;
            Err(anyhow::anyhow!(reason))
        }
    };
    tx.commit().await?;
    result
}

/// A text this worker could not claim, or lost its claim on: Twilio accepted it
/// already, or another worker holds it (try again once its lease is over).
fn busy_or_done(
    state: Option<(
        String,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
    )>,
    message_id: Uuid,
) -> anyhow::Result<Delivery> {
    match state {
        Some((_, _, Some(_))) => Ok(Delivery::AlreadySent),
        Some((status, lease_until, None)) if status == "sending" => {
            Err(crate::platform::queue::RetryLater {
                at: lease_until.unwrap_or_else(chrono::Utc::now) + chrono::Duration::seconds(1),
                reason: "another worker is sending it".into(),
            }
            .into())
        }
        Some((status, _, None)) => anyhow::bail!("the text is {status}"),
        None => anyhow::bail!("no text message {message_id}"),
    }
}

fn bad_signature(detail: &str) -> Error {
    Error::new(ErrorCode::InvalidWebhookSignature, detail)
}

/// Check `X-Twilio-Signature` of a request to `public_url` + `path_and_query`.
pub fn verify(
    config: &TwilioConfig,
    public_url: &str,
    path_and_query: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> Result<(), Error> {
    let Some(token) = &config.auth_token else {
        return Err(bad_signature(
            "Twilio is not configured here (twilio_auth_token)",
        ));
    };
    let signature =
        signature.ok_or_else(|| bad_signature("the X-Twilio-Signature header is missing"))?;
    let url = format!("{public_url}{path_and_query}");
    if twilio::verify_signature(token.expose_secret().as_bytes(), &url, params, signature) {
        Ok(())
    } else {
        Err(bad_signature("X-Twilio-Signature does not match"))
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Twilio's status callback (already verified). Unknown or intermediate statuses
/// change nothing.
pub async fn record_status(
    db: &Db,
    account_id: Uuid,
    message_id: Uuid,
    params: &[(String, String)],
) -> Result<bool, Error> {
    let sid = param(params, "MessageSid")
        .or(param(params, "SmsSid"))
        .unwrap_or_default();
    let status = match param(params, "MessageStatus").or(param(params, "SmsStatus")) {
        Some("sent") => "sent",
        Some("delivered" | "read") => "delivered",
        Some("undelivered") => "undelivered",
        Some("failed" | "canceled") => "failed",
        _ => return Ok(false),
    };
    let error_code = param(params, "ErrorCode").filter(|c| !c.is_empty() && *c != "0");
    let mut tx = db.tenant(account_id).await?;
    let changed = repo::apply_sms_status(&mut tx, message_id, sid, status, error_code).await?;
    tx.commit().await?;
    tracing::info!(%account_id, %message_id, status, ?error_code, changed, "twilio status");
    Ok(changed)
}

/// Keywords Twilio itself honours for opting out and back in (Advanced Opt-Out's
/// defaults); jobber mirrors them on the client's phone.
const STOP_WORDS: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "OPTOUT",
    "REVOKE",
];
const START_WORDS: &[&str] = &["START", "YES", "UNSTOP", "OPTIN"];

/// What a reply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    /// No account texted this number: dropped (logged).
    Unrouted,
    /// Stored (and the office told); `Some(opt_in)` when it was STOP / START.
    Stored(Option<bool>),
    /// Twilio's retry of a stored reply.
    Duplicate,
}

/// What a reply's keyword does to the phone's opt-in: `Some(false)` for STOP and its
/// synonyms, `Some(true)` for START, `None` for any other text.
pub fn keyword_opt_in(body: &str) -> Option<bool> {
    let keyword = body.trim().to_ascii_uppercase();
    if STOP_WORDS.contains(&keyword.as_str()) {
        Some(false)
    } else if START_WORDS.contains(&keyword.as_str()) {
        Some(true)
    } else {
        None
    }
}

/// A received text, read on the caller's connection (`notifications::service::on_event`).
#[derive(Debug, Clone)]
pub struct InboundText {
    pub from: String,
    pub body: String,
    pub client_id: Option<Uuid>,
}

pub async fn inbound_on(
    conn: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Option<InboundText>, sqlx::Error> {
    Ok(repo::inbound(conn, id)
        .await?
        .map(|(from, body, client_id)| InboundText {
            from,
            body,
            client_id,
        }))
}

/// A client's reply (already verified): stored as an inbound message of the account
/// that texted the number last, the client's opt-in flipped on STOP / START, the
/// office notified.
pub async fn receive(db: &Db, params: &[(String, String)]) -> Result<Inbound, Error> {
    let from = param(params, "From").unwrap_or_default();
    let to = param(params, "To").unwrap_or_default();
    let body = param(params, "Body").unwrap_or_default();
    let sid = param(params, "MessageSid")
        .or(param(params, "SmsSid"))
        .unwrap_or_default();
    if from.is_empty() || sid.is_empty() {
        return Err(Error::field("From", "From and MessageSid are required"));
    }
    let account_id = {
        let mut conn = db.pool().acquire().await?;
        repo::last_sms_account(&mut conn, from).await?
    };
    let Some(account_id) = account_id else {
        tracing::info!(from, "a text from a number no account has texted; dropped");
        return Ok(Inbound::Unrouted);
    };
    let opt_in = keyword_opt_in(body);
    let mut tx = db.tenant(account_id).await?;
    let clients = clients::service::find_by_phone_in(&mut tx, from).await?;
    let client = clients.first();
    let id = Uuid::now_v7();
    if !repo::insert_inbound_sms(
        &mut tx,
        account_id,
        id,
        client.map(|c| c.id),
        from,
        to,
        body,
        sid,
    )
    .await?
    {
        tx.commit().await?;
        return Ok(Inbound::Duplicate);
    }
    if let Some(opt_in) = opt_in {
        // Every client with this number: the keyword is about the phone.
        for c in &clients {
            clients::service::set_sms_opt_in_in(&mut tx, c.id, from, opt_in).await?;
        }
    }
    if let Some(client) = client {
        activity::service::record(
            &mut tx,
            account_id,
            None,
            Subject::Client(client.id),
            "message.received",
            serde_json::json!({"message_id": id, "channel": "sms", "from": from, "sms_opt_in": opt_in}),
        )
        .await?;
    }
    tx.raise(Event::MessageReceived {
        message_id: id,
        client_id: client.map(|c| c.id),
    });
    tx.commit().await?;
    tracing::info!(%account_id, message_id = %id, ?opt_in, "text received");
    Ok(Inbound::Stored(opt_in))
}
