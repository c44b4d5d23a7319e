//! SQL for `notifications`.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Notification, NotifyJob};

/// One row per recipient; a recipient who has this event already gets nothing.
/// Returns the recipients who got a row now.
pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    recipients: &[Uuid],
    n: &NotifyJob,
) -> Result<Vec<Uuid>, sqlx::Error> {
    let ids: Vec<Uuid> = recipients.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query_scalar::<_, Uuid>(
        "INSERT INTO notifications (account_id, id, user_id, event_id, kind, title, body, subject_type, subject_id)
         SELECT $1, id, user_id, $4, $5, $6, $7, $8, $9 FROM unnest($2::uuid[], $3::uuid[]) AS r(id, user_id)
         ON CONFLICT (account_id, event_id, user_id) WHERE event_id IS NOT NULL DO NOTHING
         RETURNING user_id",
    )
    .bind(account_id)
    .bind(&ids)
    .bind(recipients)
    .bind(n.event_id)
    .bind(&n.kind)
    .bind(&n.title)
    .bind(&n.body)
    .bind(&n.subject_type)
    .bind(n.subject_id)
    .fetch_all(conn)
    .await
}

/// A notification not emailed yet, locked for the caller's transaction.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Unemailed {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
}

/// The notifications of `event_id` for `user_ids` that were not emailed, locked so
/// that two transactions cannot both email one.
pub async fn unemailed(
    conn: &mut PgConnection,
    event_id: Uuid,
    user_ids: &[Uuid],
) -> Result<Vec<Unemailed>, sqlx::Error> {
    sqlx::query_as::<_, Unemailed>(
        "SELECT id, user_id, kind, title, body, subject_type, subject_id FROM notifications
         WHERE event_id = $1 AND user_id = ANY($2) AND email_message_id IS NULL
         ORDER BY user_id FOR UPDATE",
    )
    .bind(event_id)
    .bind(user_ids)
    .fetch_all(conn)
    .await
}

/// Record the outbox message a notification was emailed as.
pub async fn set_emailed(
    conn: &mut PgConnection,
    id: Uuid,
    message_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE notifications SET email_message_id = $2 WHERE id = $1")
        .bind(id)
        .bind(message_id)
        .execute(conn)
        .await
        .map(drop)
}

/// The kinds a user chose to get by email; None while their role's defaults apply.
pub async fn email_kinds(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<Vec<String>>, sqlx::Error> {
    sqlx::query_scalar::<_, Vec<String>>(
        "SELECT kinds FROM notification_email_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await
}

/// Replace the kinds a user gets by email.
pub async fn set_email_kinds(
    conn: &mut PgConnection,
    account_id: Uuid,
    user_id: Uuid,
    kinds: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_email_settings (account_id, user_id, kinds) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, user_id) DO UPDATE SET kinds = EXCLUDED.kinds",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(kinds)
    .execute(conn)
    .await
    .map(drop)
}

/// The user's notifications, newest first.
pub async fn list(
    conn: &mut PgConnection,
    user_id: Uuid,
    unread_only: bool,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    sqlx::query_as!(
        Notification,
        "SELECT id, kind, title, body, subject_type, subject_id, read_at, created_at FROM notifications
         WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL) AND ($3::uuid IS NULL OR id < $3)
         ORDER BY id DESC LIMIT $4",
        user_id,
        unread_only,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

pub async fn unread_count(conn: &mut PgConnection, user_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM notifications WHERE user_id = $1 AND read_at IS NULL"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

/// Mark one read; false when the user has no such notification.
pub async fn mark_read(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query!(
        "UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = $1 AND user_id = $2",
        id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(found.rows_affected() == 1)
}

pub async fn mark_all_read(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
        user_id
    )
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}
