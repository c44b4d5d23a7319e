//! SQL for `notifications`.

use sqlx::PgConnection;
use uuid::Uuid;

use super::{Notification, NotifyJob};

/// One row per recipient; a recipient who has this event already gets nothing.
pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    recipients: &[Uuid],
    n: &NotifyJob,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = recipients.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query!(
        "INSERT INTO notifications (account_id, id, user_id, event_id, kind, title, body, subject_type, subject_id)
         SELECT $1, id, user_id, $4, $5, $6, $7, $8, $9 FROM unnest($2::uuid[], $3::uuid[]) AS r(id, user_id)
         ON CONFLICT (account_id, event_id, user_id) WHERE event_id IS NOT NULL DO NOTHING",
        account_id,
        &ids,
        recipients,
        n.event_id,
        n.kind,
        n.title,
        n.body,
        n.subject_type,
        n.subject_id
    )
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
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
