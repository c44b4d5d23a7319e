//! The account's Stripe keys, the directory of its PaymentIntents, and how a Stripe
//! failure is reported. What settles card payments (the webhook, reconciliation,
//! cancelling) is `invoices::cards`, above this module.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo;
use crate::error::{Error, ErrorCode, FieldError};
use crate::integrations::stripe::{Stripe, StripeError};
use crate::platform::crypto::SecretBox;
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};

/// What card payments need: Stripe's API and the key that opens stored secrets.
#[derive(Clone)]
pub struct Gateway {
    pub stripe: Stripe,
    pub secrets: Arc<SecretBox>,
}

fn secret_key_context(account_id: Uuid) -> String {
    format!("{account_id}:stripe_secret_key")
}

fn webhook_secret_context(account_id: Uuid) -> String {
    format!("{account_id}:stripe_webhook_secret")
}

/// The account's Stripe settings as shown: never the secrets themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct StripeStatus {
    pub configured: bool,
    /// Last four characters of the secret key.
    pub secret_key_last4: Option<String>,
    /// The publishable key (`pk_…`) the client hub loads Stripe's Payment Element
    /// with; public by design. Null: the hub cannot take cards.
    pub publishable_key: Option<String>,
    /// Where to point the Stripe webhook endpoint.
    pub webhook_url: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// `PUT /settings/payments/stripe`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StripeKeysInput {
    /// The account's secret (`sk_…`) or restricted (`rk_…`) API key.
    #[schema(value_type = String)]
    pub secret_key: SecretString,
    /// The webhook endpoint's signing secret (`whsec_…`).
    #[schema(value_type = String)]
    pub webhook_secret: SecretString,
    /// The publishable key (`pk_…`), for card payments in the client hub.
    pub publishable_key: Option<String>,
}

fn status_of(row: Option<repo::SettingsRow>, public_url: &str) -> StripeStatus {
    StripeStatus {
        configured: row.is_some(),
        secret_key_last4: row.as_ref().map(|r| r.secret_key_last4.clone()),
        publishable_key: row.as_ref().and_then(|r| r.publishable_key.clone()),
        webhook_url: format!("{public_url}/api/v1/webhooks/stripe"),
        updated_at: row.map(|r| r.updated_at),
    }
}

pub async fn stripe_status(db: &Db, ctx: &Ctx, public_url: &str) -> Result<StripeStatus, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let row = repo::settings(&mut tx).await?;
    tx.commit().await?;
    Ok(status_of(row, public_url))
}

#[tracing::instrument(skip_all, fields(account_id = %ctx.account_id))]
pub async fn set_stripe_keys(
    db: &Db,
    gateway: &Gateway,
    ctx: &Ctx,
    public_url: &str,
    input: StripeKeysInput,
) -> Result<StripeStatus, Error> {
    let key = input.secret_key.expose_secret().trim();
    let hook = input.webhook_secret.expose_secret().trim();
    let mut errors = Vec::new();
    let key_ok = (key.starts_with("sk_") || key.starts_with("rk_"))
        && (8..=255).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_graphic());
    if !key_ok {
        errors.push(FieldError::new(
            "secret_key",
            "must be a Stripe secret key (sk_…) or restricted key (rk_…)",
        ));
    }
    if !(8..=255).contains(&hook.len()) || !hook.bytes().all(|b| b.is_ascii_graphic()) {
        errors.push(FieldError::new(
            "webhook_secret",
            "must be the webhook endpoint's signing secret (whsec_…)",
        ));
    }
    let publishable = input
        .publishable_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if let Some(pk) = publishable
        && !(pk.starts_with("pk_")
            && (8..=255).contains(&pk.len())
            && pk.bytes().all(|b| b.is_ascii_graphic()))
    {
        errors.push(FieldError::new(
            "publishable_key",
            "must be a Stripe publishable key (pk_…)",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let seal = |context: String, value: &str| {
        gateway
            .secrets
            .seal(&context, value.as_bytes())
            .map_err(Error::internal)
    };
    let key_enc = seal(secret_key_context(ctx.account_id), key)?;
    let hook_enc = seal(webhook_secret_context(ctx.account_id), hook)?;
    let last4: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::upsert_settings(
        &mut tx,
        ctx.account_id,
        &key_enc,
        &last4,
        &hook_enc,
        publishable,
        ctx.user_id,
    )
    .await?;
    let row = repo::settings(&mut tx).await?;
    tx.commit().await?;
    tracing::info!("stripe keys set");
    Ok(status_of(row, public_url))
}

pub async fn delete_stripe_keys(db: &Db, ctx: &Ctx) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::delete_settings(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

pub struct Keys {
    pub secret_key: SecretString,
    pub webhook_secret: SecretString,
}

/// The account's publishable key, for the client hub's card form (None when card
/// payments are not set up or the key was not given).
pub async fn publishable_key_in(tx: &mut Tx) -> Result<Option<String>, Error> {
    Ok(repo::settings(tx).await?.and_then(|r| r.publishable_key))
}

/// The account's decrypted Stripe keys; `stripe_not_configured` without them.
pub async fn keys_in(tx: &mut Tx, secrets: &SecretBox, account_id: Uuid) -> Result<Keys, Error> {
    let row = repo::settings(tx).await?.ok_or_else(|| {
        Error::new(
            ErrorCode::StripeNotConfigured,
            "card payments need the account's Stripe keys; an owner or admin sets them with PUT /api/v1/settings/payments/stripe",
        )
    })?;
    let open = |context: String, sealed: &[u8]| {
        secrets.open_string(&context, sealed).map_err(|e| {
            Error::internal(anyhow::anyhow!(
                "stored Stripe secret of account {account_id}: {e}; was the encryption key changed?"
            ))
        })
    };
    Ok(Keys {
        secret_key: open(secret_key_context(account_id), &row.secret_key_enc)?,
        webhook_secret: open(webhook_secret_context(account_id), &row.webhook_secret_enc)?,
    })
}

pub async fn register_intent_in(
    tx: &mut Tx,
    account_id: Uuid,
    intent_id: &str,
    payment_id: Uuid,
) -> Result<(), Error> {
    repo::register_intent(tx, account_id, intent_id, payment_id).await?;
    Ok(())
}

/// A Stripe failure as the API reports it: Stripe refusing is 502 with its message
/// kept; Stripe unreachable or failing on its side (no answer, a 5xx) is an outage,
/// 503 `payment_provider_unavailable` with `Retry-After`.
pub fn provider_error(error: StripeError) -> Error {
    tracing::warn!(error = %error, "stripe request failed");
    match &error {
        StripeError::Api { status, .. } if *status >= 500 => provider_unavailable(),
        StripeError::Api { message, code, .. } => {
            let detail = match code {
                Some(code) => format!("Stripe refused the request ({code}): {message}"),
                None => format!("Stripe refused the request: {message}"),
            };
            Error::new(ErrorCode::PaymentProviderError, detail)
        }
        StripeError::Transport(_) => provider_unavailable(),
    }
}

fn provider_unavailable() -> Error {
    let mut error = Error::new(
        ErrorCode::PaymentProviderUnavailable,
        "Stripe could not be reached; the same request is safe to repeat later",
    );
    error.retry_after = Some(PROVIDER_RETRY_AFTER_SECS);
    error
}

/// What `Retry-After` says while Stripe is unreachable.
const PROVIDER_RETRY_AFTER_SECS: u64 = 30;

/// The account and payment a PaymentIntent was created for (any account: on the
/// owner's connection, for Stripe's webhook).
pub async fn find_intent(db: &Db, intent_id: &str) -> Result<Option<(Uuid, Uuid)>, Error> {
    let mut conn = db.pool().acquire().await?;
    Ok(repo::find_intent(&mut conn, intent_id).await?)
}

/// Record a Stripe event as processed in the caller's transaction; false when it
/// was already (a redelivery).
pub async fn record_event_in(
    tx: &mut Tx,
    account_id: Uuid,
    event_id: &str,
    event_type: &str,
) -> Result<bool, Error> {
    Ok(repo::insert_event(tx, account_id, event_id, event_type).await?)
}

/// Take the reconciliation lock of a payment for the rest of the transaction,
/// waiting for it.
pub async fn lock_reconciliation_in(tx: &mut Tx, payment_id: Uuid) -> Result<(), Error> {
    Ok(repo::lock_reconciliation(tx, payment_id).await?)
}

/// Take the reconciliation lock of a payment for the rest of the transaction if
/// nobody holds it; false when somebody does.
pub async fn try_lock_reconciliation_in(tx: &mut Tx, payment_id: Uuid) -> Result<bool, Error> {
    Ok(repo::try_lock_reconciliation(tx, payment_id).await?)
}
