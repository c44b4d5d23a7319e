use sqlx::PgConnection;
use uuid::Uuid;

use super::OutgoingEmail;

pub async fn insert_email(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    created_by: Option<Uuid>,
    m: &OutgoingEmail,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO messages (account_id, id, client_id, channel, template, to_address, subject, body_text, subject_type, subject_id, created_by)
         VALUES ($1, $2, $3, 'email', $4, $5, $6, $7, $8, $9, $10)",
        account_id,
        id,
        m.client_id,
        m.template,
        m.to,
        m.subject,
        m.body_text,
        m.about.map(|(kind, _)| kind),
        m.about.map(|(_, id)| id),
        created_by
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A message claimed for sending.
pub struct ClaimedEmail {
    pub to_address: String,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
}

/// Claim an email for sending: `queued` or `failed`, or `sending` whose lease ran out
/// (its worker died). Returns None when it is sent, leased by a live worker, or absent.
pub async fn claim_email(
    conn: &mut PgConnection,
    id: Uuid,
    lease_secs: f64,
) -> Result<Option<ClaimedEmail>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedEmail,
        "UPDATE messages SET status = 'sending', lease_until = now() + make_interval(secs => $2),
                attempts = attempts + 1
         WHERE id = $1 AND channel = 'email'
           AND (status IN ('queued', 'failed') OR (status = 'sending' AND lease_until < now()))
         RETURNING to_address, subject, body_text, body_html",
        id,
        lease_secs
    )
    .fetch_optional(conn)
    .await
}

pub async fn email_status(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(String, Option<chrono::DateTime<chrono::Utc>>)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT status, lease_until FROM messages WHERE id = $1 AND channel = 'email'",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.status, r.lease_until)))
}

pub async fn mark_sent(
    conn: &mut PgConnection,
    id: Uuid,
    provider_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET status = 'sent', sent_at = now(), provider_id = $2, lease_until = NULL, error = NULL
         WHERE id = $1",
        id,
        provider_id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn mark_failed(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET status = 'failed', error = $2, lease_until = NULL WHERE id = $1 AND status <> 'sent'",
        id,
        reason
    )
    .execute(conn)
    .await
    .map(drop)
}
