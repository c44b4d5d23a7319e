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
        "INSERT INTO messages (account_id, id, client_id, channel, template, to_address, subject, body_text, body_html, subject_type, subject_id, created_by)
         VALUES ($1, $2, $3, 'email', $4, $5, $6, $7, $8, $9, $10, $11)",
        account_id,
        id,
        m.client_id,
        m.template,
        m.to,
        m.content.subject,
        m.content.text,
        m.content.html,
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
    /// The claim's token: the row's attempt number, which every claim increments.
    /// The worker holding it renews its lease and records a failure only while the
    /// row still carries it (`renew_lease`, `mark_failed`), so a worker whose lease
    /// ran out and was taken over by another can tell, and backs off.
    pub claim: i32,
    pub template: String,
    pub to_address: String,
    pub subject: Option<String>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
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
         RETURNING attempts AS claim, template, to_address, subject, body_text, body_html, subject_type, subject_id",
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

/// Renew the lease of a message this worker claimed (`claim`, its token): a
/// compare-and-set that succeeds only while the row is still `sending` under that
/// claim. False means the lease ran out and another worker claimed the message
/// (or finished it): this worker must not send.
pub async fn renew_lease(
    conn: &mut PgConnection,
    id: Uuid,
    claim: i32,
    lease_secs: f64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE messages SET lease_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND status = 'sending' AND attempts = $2",
        id,
        claim,
        lease_secs
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Record a failed attempt of the worker holding `claim`. A worker that lost its
/// claim changes nothing: the message belongs to the worker that took it over.
pub async fn mark_failed(
    conn: &mut PgConnection,
    id: Uuid,
    claim: i32,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET status = 'failed', error = $2, lease_until = NULL
         WHERE id = $1 AND status <> 'sent' AND attempts = $3",
        id,
        reason,
        claim
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn insert_sms(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    created_by: Option<Uuid>,
    m: &super::OutgoingSms,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO messages (account_id, id, client_id, channel, template, to_address, body_text, subject_type, subject_id, created_by)
         VALUES ($1, $2, $3, 'sms', $4, $5, $6, $7, $8, $9)",
        account_id,
        id,
        m.client_id,
        m.template,
        m.to,
        m.body_text,
        m.about.map(|(kind, _)| kind),
        m.about.map(|(_, id)| id),
        created_by
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A text claimed for sending.
pub struct ClaimedSms {
    /// The claim's token (see `ClaimedEmail::claim`).
    pub claim: i32,
    pub to_address: String,
    pub body_text: String,
}

/// Claim a text for sending: `queued`, `failed` before Twilio accepted it (no
/// provider id), or `sending` whose lease ran out. A text Twilio accepted is never
/// claimed again, whatever its delivery status.
pub async fn claim_sms(
    conn: &mut PgConnection,
    id: Uuid,
    lease_secs: f64,
) -> Result<Option<ClaimedSms>, sqlx::Error> {
    sqlx::query_as!(
        ClaimedSms,
        "UPDATE messages SET status = 'sending', lease_until = now() + make_interval(secs => $2),
                attempts = attempts + 1
         WHERE id = $1 AND channel = 'sms' AND direction = 'outbound'
           AND (status = 'queued' OR (status = 'failed' AND provider_id IS NULL)
                OR (status = 'sending' AND lease_until < now()))
         RETURNING attempts AS claim, to_address, body_text",
        id,
        lease_secs
    )
    .fetch_optional(conn)
    .await
}

/// Status, lease and provider id of a text.
pub async fn sms_state(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<
    Option<(
        String,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<String>,
    )>,
    sqlx::Error,
> {
    let row = sqlx::query!(
        "SELECT status, lease_until, provider_id FROM messages
         WHERE id = $1 AND channel = 'sms' AND direction = 'outbound'",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.status, r.lease_until, r.provider_id)))
}

/// Twilio accepted the text: record its SID. A delivery status that arrived first
/// (status callbacks race the API's answer) is kept.
pub async fn mark_sms_sent(
    conn: &mut PgConnection,
    id: Uuid,
    sid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET provider_id = $2, sent_at = coalesce(sent_at, now()), lease_until = NULL, error = NULL,
                status = CASE WHEN status = 'sending' THEN 'sent' ELSE status END
         WHERE id = $1",
        id,
        sid
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Twilio refused the text for good.
pub async fn mark_sms_rejected(
    conn: &mut PgConnection,
    id: Uuid,
    reason: &str,
    code: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE messages SET status = 'failed', error = $2, error_code = $3, lease_until = NULL
         WHERE id = $1 AND provider_id IS NULL",
        id,
        reason,
        code
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Apply a delivery status from Twilio's callback. Statuses only move forward
/// (queued < sending < sent < delivered | undelivered | failed), so a late or
/// repeated callback changes nothing. Returns whether the row changed.
pub async fn apply_sms_status(
    conn: &mut PgConnection,
    id: Uuid,
    sid: &str,
    status: &str,
    error_code: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE messages SET status = $3, provider_id = coalesce(provider_id, $2),
                error_code = coalesce($4, error_code),
                error = CASE WHEN $4::text IS NULL THEN error ELSE 'Twilio error ' || $4 END,
                sent_at = coalesce(sent_at, now())
         WHERE id = $1 AND channel = 'sms' AND direction = 'outbound'
           AND (provider_id IS NULL OR provider_id = $2)
           AND (CASE status WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'failed' THEN
                    (CASE WHEN provider_id IS NULL THEN 1 ELSE 3 END)
                WHEN 'sent' THEN 2 ELSE 3 END)
             < (CASE $3 WHEN 'sent' THEN 2 ELSE 3 END)",
        id,
        sid,
        status,
        error_code
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The account that last texted `to` (a reply's account), across accounts: runs
/// on the owner's connection (policy `messages_sms_route`).
pub async fn last_sms_account(
    conn: &mut PgConnection,
    to: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT account_id FROM messages
         WHERE channel = 'sms' AND direction = 'outbound' AND to_address = $1
         ORDER BY created_at DESC LIMIT 1",
        to
    )
    .fetch_optional(conn)
    .await
}

/// Store a reply; false when this SID was stored before (Twilio retried).
#[allow(clippy::too_many_arguments)]
pub async fn insert_inbound_sms(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    client_id: Option<Uuid>,
    from: &str,
    to: &str,
    body: &str,
    sid: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO messages (account_id, id, client_id, channel, direction, template, to_address, from_address,
                               body_text, status, provider_id, sent_at)
         VALUES ($1, $2, $3, 'sms', 'inbound', 'inbound', $4, $5, $6, 'received', $7, now())
         ON CONFLICT (account_id, provider_id) WHERE direction = 'inbound' DO NOTHING",
        account_id,
        id,
        client_id,
        to,
        from,
        body,
        sid
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An inbound text: who sent it, what it says, and the client it was filed under.
pub async fn inbound(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(String, String, Option<Uuid>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(from_address, ''), body_text, client_id FROM messages
         WHERE id = $1 AND direction = 'inbound'",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Claim one reminder (`kind`, subject, step): false when it was sent before (or
/// another worker holds it in an open transaction that then commits).
pub async fn claim_reminder(
    conn: &mut PgConnection,
    account_id: Uuid,
    kind: &str,
    subject_id: Uuid,
    step: i32,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO client_reminders (account_id, kind, subject_id, step) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
        account_id,
        kind,
        subject_id,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_reminder_message(
    conn: &mut PgConnection,
    kind: &str,
    subject_id: Uuid,
    step: i32,
    message_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE client_reminders SET message_id = $4 WHERE kind = $1 AND subject_id = $2 AND step = $3",
        kind,
        subject_id,
        step,
        message_id
    )
    .execute(conn)
    .await
    .map(drop)
}

/// One message of a client's communication history.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub id: Uuid,
    /// `email` or `sms`.
    pub channel: String,
    /// `outbound` (from the business) or `inbound` (a client's reply).
    pub direction: String,
    /// What it was: `quote_sent`, `invoice_sent`, `visit_reminder`, `on_my_way`, ….
    pub template: String,
    pub to_address: String,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    pub body_text: String,
    /// `queued`, `sending`, `sent`, `delivered`, `undelivered`, `failed`, `received`.
    pub status: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The record it is about, e.g. `quote` and its id.
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A client's messages, newest first.
pub async fn history(
    conn: &mut PgConnection,
    client_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    sqlx::query_as!(
        HistoryEntry,
        "SELECT id, channel, direction, template, to_address, from_address, subject, body_text, status,
                error, subject_type, subject_id, created_at, sent_at
         FROM messages WHERE client_id = $1 AND ($2::uuid IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3",
        client_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Whether an email from `template` about the record was queued in the last
/// `within_secs`, after taking a transaction-scoped lock on the record's id, so two
/// concurrent callers cannot both see "no" (the lock ends with the transaction).
pub async fn lock_and_find_recent_email(
    conn: &mut PgConnection,
    template: &str,
    subject_type: &str,
    subject_id: Uuid,
    within_secs: f64,
) -> Result<bool, sqlx::Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        format!("{template}:{subject_id}")
    )
    .fetch_one(&mut *conn)
    .await?;
    let found = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM messages
                  WHERE template = $1 AND subject_type = $2 AND subject_id = $3
                    AND created_at > now() - make_interval(secs => $4)) AS "found!""#,
        template,
        subject_type,
        subject_id,
        within_secs
    )
    .fetch_one(conn)
    .await?;
    Ok(found)
}
