//! Card payments settled with Stripe: its signed webhook, the reconciliation of
//! payments whose webhook was lost, and cancelling a card payment the payer did not
//! complete. They change invoices and payments (this module's `payments`) with the
//! account's Stripe keys and client (`modules::payments`, below this module).

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, ErrorCode};
use crate::integrations::stripe::{self, SIGNATURE_TOLERANCE_SECS};
use crate::modules::invoices;
use crate::modules::payments::service::{
    self as stripe_keys, Gateway, Keys, keys_in, provider_error,
};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReply {
    pub received: bool,
    /// The event was processed before (a redelivery): nothing changed.
    pub duplicate: bool,
    /// The event is about nothing jobber knows (another integration's payment).
    pub ignored: bool,
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    type_: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

fn bad_signature(detail: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidWebhookSignature, detail)
}

/// The PaymentIntent an event is about: the object itself, or a charge's.
fn intent_of(object: &serde_json::Value) -> Option<&str> {
    match object.get("object").and_then(|o| o.as_str()) {
        Some("payment_intent") => object.get("id").and_then(|v| v.as_str()),
        Some("charge") | Some("refund") => match object.get("payment_intent") {
            Some(serde_json::Value::String(id)) => Some(id.as_str()),
            Some(other) => other.get("id").and_then(|v| v.as_str()),
            None => None,
        },
        _ => None,
    }
}

/// The fee of the intent's charge: in the payload when its balance transaction is
/// expanded, else read from Stripe; 0 when Stripe does not say.
async fn fee_of(gateway: &Gateway, key: &SecretString, intent: &serde_json::Value) -> i64 {
    let charge = intent
        .get("latest_charge")
        .filter(|c| c.is_object())
        .or_else(|| intent.pointer("/charges/data/0").filter(|c| c.is_object()));
    let Some(txn) = charge.and_then(|c| c.get("balance_transaction")) else {
        return 0;
    };
    if let Some(fee) = txn.get("fee").and_then(|f| f.as_i64()) {
        return fee;
    }
    match txn.as_str() {
        Some(id) => match gateway.stripe.balance_transaction_fee(key, id).await {
            Ok(fee) => fee,
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the charge's fee; recording 0");
                0
            }
        },
        None => 0,
    }
}

/// Apply a succeeded PaymentIntent (from its webhook, or found by reconciliation)
/// to its payment; whatever exceeds the balance goes back to the card.
#[allow(clippy::too_many_arguments)]
async fn settle_success(
    tx: &mut Tx,
    gateway: &Gateway,
    keys: &Keys,
    account_id: Uuid,
    payment_id: Uuid,
    intent_id: &str,
    intent: &serde_json::Value,
    fee: i64,
) -> Result<(), Error> {
    let amount = intent.get("amount").and_then(|a| a.as_i64()).unwrap_or(0);
    let outcome =
        invoices::payments::card_succeeded_in(tx, account_id, payment_id, amount, fee).await?;
    if outcome.excess > 0 {
        // More than the balance (the invoice changed meanwhile): what does not fit
        // goes back to the card, recorded as refunded with the payment.
        gateway
            .stripe
            .create_refund(
                &keys.secret_key,
                &format!("jobber-overpayment-{payment_id}"),
                intent_id,
                outcome.excess,
            )
            .await
            .map_err(provider_error)?;
    }
    Ok(())
}

/// The data of a `payment.processing` job: look at one pending card payment at
/// Stripe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReconcileJob {
    pub payment_id: Uuid,
}

/// Pending card payments older than this are looked up at Stripe: its webhook
/// normally settles them within seconds, so one still pending was lost or delayed.
pub const RECONCILE_AFTER: chrono::Duration = chrono::Duration::minutes(30);
/// A card payment the payer has not completed after this long is cancelled at Stripe
/// and fails, releasing the part of the balance it held.
pub const PENDING_CARD_TTL: chrono::Duration = chrono::Duration::hours(24);

/// What reconciling one card payment found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reconciled {
    /// Not pending any more (settled by its webhook meanwhile): nothing to do.
    NotPending,
    /// Stripe says it succeeded (its webhook was lost): applied now.
    Succeeded,
    /// Stripe says it was cancelled: failed.
    Failed,
    /// Not completed in `PENDING_CARD_TTL`: cancelled at Stripe, failed here.
    Expired,
    /// Still waiting for the payer or the bank.
    StillOpen,
}

/// Queue a reconciliation of every card payment pending for longer than
/// `RECONCILE_AFTER`, in every account (the `reconcile_card_payments` cron task).
pub async fn queue_reconciliations(db: &Db) -> anyhow::Result<u64> {
    let accounts = crate::modules::accounts::service::all_ids(db)
        .await
        .map_err(anyhow::Error::from)?;
    let mut queued = 0u64;
    for account_id in accounts {
        let mut tx = db.tenant(account_id).await?;
        let stale =
            invoices::payments::pending_card_payments_before(&mut tx, Utc::now() - RECONCILE_AFTER)
                .await
                .map_err(|e| anyhow::Error::new(e).context(format!("account {account_id}")))?;
        for payment_id in stale {
            crate::platform::queue::enqueue(
                &mut tx,
                account_id,
                crate::platform::queue::Queue::PaymentProcessing,
                &ReconcileJob { payment_id },
            )
            .await?;
            queued += 1;
        }
        tx.commit().await?;
    }
    Ok(queued)
}

/// Bring one pending card payment in line with Stripe: apply it if it succeeded
/// (a lost webhook), fail it if it was cancelled, and cancel it (at Stripe first)
/// when the payer has not completed it in `PENDING_CARD_TTL`. Safe to run again
/// and alongside the webhook: each change happens with the payment row locked and
/// only from `pending`.
#[tracing::instrument(skip(db, gateway))]
pub async fn reconcile(
    db: &Db,
    gateway: &Gateway,
    account_id: Uuid,
    payment_id: Uuid,
) -> Result<Reconciled, Error> {
    // One reconciliation of a payment at a time (two jobs for it may run together:
    // one could cancel it at Stripe while the other reads it as cancelled). The
    // guard's transaction holds the lock and nothing else until the end.
    let mut guard = db.tenant(account_id).await?;
    if !stripe_keys::try_lock_reconciliation_in(&mut guard, payment_id).await? {
        return Ok(Reconciled::StillOpen);
    }
    let outcome = reconcile_locked(db, gateway, account_id, payment_id).await;
    guard.rollback().await?;
    outcome
}

/// The payment and, when it is a pending card payment, its PaymentIntent's id and
/// the keys to ask Stripe about it.
async fn open_intent(
    db: &Db,
    gateway: &Gateway,
    account_id: Uuid,
    payment_id: Uuid,
) -> Result<(invoices::model::Payment, Option<(String, Keys)>), Error> {
    let mut tx = db.tenant(account_id).await?;
    let payment = invoices::payments::get_in(&mut tx, payment_id).await?;
    let open = match payment
        .stripe_payment_intent_id
        .clone()
        .filter(|_| payment.status == "pending")
    {
        Some(intent_id) => Some((
            intent_id,
            keys_in(&mut tx, &gateway.secrets, account_id).await?,
        )),
        None => None,
    };
    tx.commit().await?;
    Ok((payment, open))
}

async fn reconcile_locked(
    db: &Db,
    gateway: &Gateway,
    account_id: Uuid,
    payment_id: Uuid,
) -> Result<Reconciled, Error> {
    let (payment, open) = open_intent(db, gateway, account_id, payment_id).await?;
    let Some((intent_id, keys)) = open else {
        return Ok(Reconciled::NotPending);
    };
    let intent = gateway
        .stripe
        .retrieve_payment_intent(&keys.secret_key, &intent_id)
        .await
        .map_err(provider_error)?;
    let status = intent
        .get("status")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    let outcome = match status {
        "succeeded" => {
            let fee = fee_of(gateway, &keys.secret_key, &intent).await;
            let mut tx = db.tenant(account_id).await?;
            settle_success(
                &mut tx, gateway, &keys, account_id, payment_id, &intent_id, &intent, fee,
            )
            .await?;
            tx.commit().await?;
            Reconciled::Succeeded
        }
        "canceled" => {
            let mut tx = db.tenant(account_id).await?;
            invoices::payments::card_abandoned_in(
                &mut tx,
                account_id,
                payment_id,
                "Cancelled at Stripe",
            )
            .await?;
            tx.commit().await?;
            Reconciled::Failed
        }
        // The payer confirmed; the bank decides.
        "processing" | "requires_capture" => Reconciled::StillOpen,
        _ if payment.created_at + PENDING_CARD_TTL <= Utc::now() => {
            // Stripe first: once cancelled there, the payer can no longer pay it. If
            // it succeeded a moment ago Stripe refuses, the job retries, and the next
            // run finds it succeeded.
            gateway
                .stripe
                .cancel_payment_intent(&keys.secret_key, &intent_id)
                .await
                .map_err(provider_error)?;
            let mut tx = db.tenant(account_id).await?;
            invoices::payments::card_abandoned_in(
                &mut tx,
                account_id,
                payment_id,
                "Not completed within 24 hours; cancelled",
            )
            .await?;
            tx.commit().await?;
            Reconciled::Expired
        }
        _ => Reconciled::StillOpen,
    };
    tracing::info!(%payment_id, stripe_status = status, ?outcome, "card payment reconciled");
    Ok(outcome)
}

/// The note of a card payment the office cancelled.
const CANCELLED_NOTE: &str = "Cancelled by the office";

/// Cancel a card payment the payer has not completed (a checkout left open, a
/// payment started twice): cancelled at Stripe first, so it can no longer be paid,
/// then failed here, freeing the balance it held. If it succeeded meanwhile, it is
/// applied instead and the answer is 409 (refund it). Only a pending card payment
/// can be cancelled (409 `invalid_transition` otherwise).
#[tracing::instrument(skip(db, gateway, ctx), fields(account_id = %ctx.account_id))]
pub async fn cancel_card(
    db: &Db,
    gateway: &Gateway,
    ctx: &Ctx,
    payment_id: Uuid,
) -> Result<(), Error> {
    // Not while a reconciliation of it runs (it may be applying its success).
    let mut guard = db.tenant(ctx.account_id).await?;
    stripe_keys::lock_reconciliation_in(&mut guard, payment_id).await?;
    let outcome = cancel_locked(db, gateway, ctx, payment_id).await;
    guard.rollback().await?;
    outcome
}

async fn cancel_locked(
    db: &Db,
    gateway: &Gateway,
    ctx: &Ctx,
    payment_id: Uuid,
) -> Result<(), Error> {
    let (payment, open) = open_intent(db, gateway, ctx.account_id, payment_id).await?;
    // A retried cancellation that went through answers as the first one did.
    if payment.status == "failed" && payment.note.as_deref() == Some(CANCELLED_NOTE) {
        return Ok(());
    }
    let Some((intent_id, keys)) = open else {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!(
                "only a pending card payment can be cancelled; this one is {}",
                payment.status
            ),
        ));
    };
    if let Err(error) = gateway
        .stripe
        .cancel_payment_intent(&keys.secret_key, &intent_id)
        .await
    {
        // Stripe refuses to cancel an intent that succeeded or is being processed:
        // bring the payment in line with Stripe, then answer for what it is.
        return match reconcile_locked(db, gateway, ctx.account_id, payment_id).await? {
            Reconciled::Failed | Reconciled::Expired => Ok(()),
            Reconciled::Succeeded | Reconciled::NotPending => Err(Error::new(
                ErrorCode::InvalidTransition,
                "the payer completed this payment meanwhile; refund it instead",
            )),
            Reconciled::StillOpen => Err(provider_error(error)),
        };
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    invoices::payments::card_abandoned_in(&mut tx, ctx.account_id, payment_id, CANCELLED_NOTE)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `POST /webhooks/stripe`: verify, de-duplicate by event id, apply.
///
/// The account is found from the PaymentIntent the event is about (the directory
/// written when the intent was created), and the signature is checked with that
/// account's signing secret. Everything an event changes happens in one transaction
/// with the event's id, so a redelivery (or a concurrent duplicate) changes nothing.
#[tracing::instrument(skip_all)]
pub async fn handle_webhook(
    db: &Db,
    gateway: &Gateway,
    signature: Option<&str>,
    body: &[u8],
) -> Result<WebhookReply, Error> {
    // What can be checked without knowing the account is checked first, and the same
    // way for every event: the answer must not tell whether a PaymentIntent exists.
    let signature =
        signature.ok_or_else(|| bad_signature("the Stripe-Signature header is missing"))?;
    let signature =
        stripe::Signature::parse(signature).map_err(|e| bad_signature(e.to_string()))?;
    signature
        .check_fresh(Utc::now().timestamp(), SIGNATURE_TOLERANCE_SECS)
        .map_err(|e| bad_signature(e.to_string()))?;
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| Error::new(ErrorCode::MalformedJson, format!("not a Stripe event: {e}")))?;
    let ignored = WebhookReply {
        received: true,
        duplicate: false,
        ignored: true,
    };
    let Some(intent_id) = intent_of(&event.data.object).map(str::to_owned) else {
        tracing::info!(event_type = %event.type_, "stripe event about no payment intent; ignored");
        return Ok(ignored);
    };
    let found = stripe_keys::find_intent(db, &intent_id).await?;
    let (account, keys) = match found {
        Some((account_id, payment_id)) => {
            let mut tx = db.tenant(account_id).await?;
            match keys_in(&mut tx, &gateway.secrets, account_id).await {
                Ok(keys) => (Some((account_id, payment_id, tx)), Some(keys)),
                Err(e) if e.code == ErrorCode::StripeNotConfigured => (None, None),
                Err(e) => return Err(e),
            }
        }
        None => (None, None),
    };
    // The signature is checked off the request threads (the body may be large), and
    // against a throwaway secret when there is no account's: an unknown intent costs
    // the same as a known one with a wrong signature, and both are answered alike.
    let secret = match &keys {
        Some(keys) => keys.webhook_secret.expose_secret().as_bytes().to_vec(),
        None => rand::random::<[u8; 32]>().to_vec(),
    };
    let owned_body = body.to_vec();
    let verified = tokio::task::spawn_blocking(move || signature.matches(&owned_body, &secret))
        .await
        .unwrap_or(false);
    let (Some((account_id, payment_id, mut tx)), Some(keys), true) = (account, keys, verified)
    else {
        if found.is_some() {
            // Known intent, but no secret or a wrong one: most likely a misconfigured
            // signing secret (reconciliation settles the payment meanwhile).
            tracing::warn!(event_type = %event.type_, "stripe event for a known payment intent did not verify; ignored");
        } else {
            tracing::info!(event_type = %event.type_, "stripe event about an unknown payment intent; ignored");
        }
        return Ok(ignored);
    };
    tracing::info!(%account_id, event_type = %event.type_, event_id = %event.id, "stripe event");

    let fee = if event.type_ == "payment_intent.succeeded" {
        fee_of(gateway, &keys.secret_key, &event.data.object).await
    } else {
        0
    };
    if !stripe_keys::record_event_in(&mut tx, account_id, &event.id, &event.type_).await? {
        tx.commit().await?;
        return Ok(WebhookReply {
            received: true,
            duplicate: true,
            ignored: false,
        });
    }
    let object = &event.data.object;
    match event.type_.as_str() {
        "payment_intent.succeeded" => {
            settle_success(
                &mut tx, gateway, &keys, account_id, payment_id, &intent_id, object, fee,
            )
            .await?;
        }
        "payment_intent.payment_failed" => {
            let message = object
                .pointer("/last_payment_error/message")
                .and_then(|m| m.as_str());
            invoices::payments::card_failed_in(&mut tx, account_id, payment_id, message).await?;
        }
        "charge.refunded" => {
            let refunded = object
                .get("amount_refunded")
                .and_then(|a| a.as_i64())
                .unwrap_or(0);
            invoices::payments::card_refunded_in(&mut tx, account_id, payment_id, refunded).await?;
        }
        other => {
            tracing::debug!(event_type = other, "stripe event not used");
        }
    }
    tx.commit().await?;
    Ok(WebhookReply {
        received: true,
        duplicate: false,
        ignored: false,
    })
}
