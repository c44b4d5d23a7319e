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
    sqlx::query(
        "INSERT INTO activity (account_id, id, subject_type, subject_id, client_id, action, actor_id, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(account_id)
    .bind(Uuid::now_v7())
    .bind(subject.kind())
    .bind(subject.id())
    .bind(subject.client_id())
    .bind(action)
    .bind(actor_id)
    .bind(changes)
    .execute(conn)
    .await
    .map(drop)
}

type Row = (
    Uuid,
    String,
    Uuid,
    String,
    Option<Uuid>,
    serde_json::Value,
    chrono::DateTime<chrono::Utc>,
);

/// A client's history, newest first, including its properties'.
pub async fn for_client(
    conn: &mut PgConnection,
    client_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<ActivityEntry>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, subject_type, subject_id, action, actor_id, changes, created_at FROM activity
         WHERE client_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(client_id)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, subject_type, subject_id, action, actor_id, changes, created_at)| ActivityEntry {
                id,
                subject_type,
                subject_id,
                action,
                actor_id,
                changes,
                created_at,
            },
        )
        .collect())
}
