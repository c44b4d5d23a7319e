//! SQL for `stripe_settings`, `stripe_payment_intents` and `stripe_events`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct SettingsRow {
    pub secret_key_enc: Vec<u8>,
    pub secret_key_last4: String,
    pub webhook_secret_enc: Vec<u8>,
    pub publishable_key: Option<String>,
    pub updated_at: DateTime<Utc>,
}

pub async fn settings(conn: &mut PgConnection) -> Result<Option<SettingsRow>, sqlx::Error> {
    sqlx::query_as!(
        SettingsRow,
        "SELECT secret_key_enc, secret_key_last4, webhook_secret_enc, publishable_key, updated_at FROM stripe_settings"
    )
    .fetch_optional(conn)
    .await
}

pub async fn upsert_settings(
    conn: &mut PgConnection,
    account_id: Uuid,
    secret_key_enc: &[u8],
    secret_key_last4: &str,
    webhook_secret_enc: &[u8],
    publishable_key: Option<&str>,
    user_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO stripe_settings (account_id, secret_key_enc, secret_key_last4, webhook_secret_enc, publishable_key, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (account_id) DO UPDATE SET secret_key_enc = $2, secret_key_last4 = $3, webhook_secret_enc = $4, publishable_key = $5, updated_by = $6",
        account_id,
        secret_key_enc,
        secret_key_last4,
        webhook_secret_enc,
        publishable_key,
        user_id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn delete_settings(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!("DELETE FROM stripe_settings")
        .execute(conn)
        .await?
        .rows_affected())
}

pub async fn register_intent(
    conn: &mut PgConnection,
    account_id: Uuid,
    intent_id: &str,
    payment_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO stripe_payment_intents (intent_id, account_id, payment_id) VALUES ($1, $2, $3)",
        intent_id,
        account_id,
        payment_id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Which account and payment a PaymentIntent belongs to (readable without a tenant).
pub async fn find_intent(
    conn: &mut PgConnection,
    intent_id: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT account_id, payment_id FROM stripe_payment_intents WHERE intent_id = $1",
        intent_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.account_id, r.payment_id)))
}

/// Remember an event; false when it was processed before (a redelivery).
pub async fn insert_event(
    conn: &mut PgConnection,
    account_id: Uuid,
    event_id: &str,
    event_type: &str,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        "INSERT INTO stripe_events (account_id, event_id, type) VALUES ($1, $2, $3) ON CONFLICT (account_id, event_id) DO NOTHING",
        account_id,
        event_id,
        event_type
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Take the reconciliation lock of a payment for the caller's transaction; false
/// when another reconciliation of it holds it.
/// Wait for the reconciliation lock of a payment (held to the end of the transaction).
pub async fn lock_reconciliation(
    conn: &mut PgConnection,
    payment_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('reconcile_card_payment:' || $1::text, 0))",
        payment_id.to_string()
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn try_lock_reconciliation(
    conn: &mut PgConnection,
    payment_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtextextended('reconcile_card_payment:' || $1::text, 0)) AS "locked!""#,
        payment_id.to_string()
    )
    .fetch_one(conn)
    .await?;
    Ok(locked)
}
