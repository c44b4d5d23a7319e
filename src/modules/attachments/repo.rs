//! SQL for `job_attachments`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct AttachmentRow {
    pub id: Uuid,
    pub job_id: Uuid,
    pub visit_id: Option<Uuid>,
    pub storage_key: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: i64,
    pub uploaded_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    row: &AttachmentRow,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO job_attachments (account_id, id, job_id, visit_id, storage_key, filename, content_type, bytes, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        account_id,
        row.id,
        row.job_id,
        row.visit_id,
        row.storage_key,
        row.filename,
        row.content_type,
        row.bytes,
        row.uploaded_by
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn list(
    conn: &mut PgConnection,
    job_id: Uuid,
) -> Result<Vec<AttachmentRow>, sqlx::Error> {
    sqlx::query_as!(
        AttachmentRow,
        "SELECT id, job_id, visit_id, storage_key, filename, content_type, bytes, uploaded_by, created_at
         FROM job_attachments WHERE job_id = $1 ORDER BY id",
        job_id
    )
    .fetch_all(conn)
    .await
}

/// Delete one attachment of the job; returns its storage key.
pub async fn delete(
    conn: &mut PgConnection,
    job_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, Option<Uuid>)>, sqlx::Error> {
    let row = sqlx::query!(
        "DELETE FROM job_attachments WHERE id = $1 AND job_id = $2 RETURNING storage_key, uploaded_by",
        id,
        job_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.storage_key, r.uploaded_by)))
}
