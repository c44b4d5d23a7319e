use sqlx::PgConnection;
use uuid::Uuid;

use super::{ActivityEntry, Subject};

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    actor_id: Option<Uuid>,
    subject: Subject,
    action: &str,
    changes: &serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO activity (account_id, id, subject_type, subject_id, client_id, action, actor_id, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        account_id,
        Uuid::now_v7(),
        subject.kind(),
        subject.id(),
        subject.client_id(),
        action,
        actor_id,
        changes
    )
    .execute(conn)
    .await
    .map(drop)
}

/// A client's history, newest first, including its properties'.
pub async fn for_client(
    conn: &mut PgConnection,
    client_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ActivityEntry>, sqlx::Error> {
    sqlx::query_as!(
        ActivityEntry,
        "SELECT id, subject_type, subject_id, action, actor_id, changes, created_at FROM activity
         WHERE client_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        client_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}
