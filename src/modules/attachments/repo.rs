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
    pub thumbnail_key: Option<String>,
    /// `pending`, `ready` or `failed`; None for documents.
    pub thumbnail_status: Option<String>,
    /// `photo`, `signature` or `document`.
    pub kind: String,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    row: &AttachmentRow,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO job_attachments (account_id, id, job_id, visit_id, storage_key, filename, content_type, bytes, uploaded_by, thumbnail_status, kind)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        account_id,
        row.id,
        row.job_id,
        row.visit_id,
        row.storage_key,
        row.filename,
        row.content_type,
        row.bytes,
        row.uploaded_by,
        row.thumbnail_status,
        row.kind
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
        "SELECT id, job_id, visit_id, storage_key, filename, content_type, bytes, uploaded_by, created_at,
                thumbnail_key, thumbnail_status, kind
         FROM job_attachments WHERE job_id = $1 ORDER BY id",
        job_id
    )
    .fetch_all(conn)
    .await
}

/// What deleting an attachment leaves to remove from storage.
pub struct Deleted {
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
    pub uploaded_by: Option<Uuid>,
}

/// Delete one attachment of the job.
pub async fn delete(
    conn: &mut PgConnection,
    job_id: Uuid,
    id: Uuid,
) -> Result<Option<Deleted>, sqlx::Error> {
    sqlx::query_as!(
        Deleted,
        "DELETE FROM job_attachments WHERE id = $1 AND job_id = $2 RETURNING storage_key, thumbnail_key, uploaded_by",
        id,
        job_id
    )
    .fetch_optional(conn)
    .await
}

/// An attachment whose thumbnail is still to be made, locked (None: gone, or done).
pub async fn pending_thumbnail_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT job_id, storage_key FROM job_attachments
         WHERE id = $1 AND thumbnail_status = 'pending' FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.job_id, r.storage_key)))
}

/// Record the thumbnail's outcome: `ready` with its key, or `failed`.
pub async fn set_thumbnail(
    conn: &mut PgConnection,
    id: Uuid,
    key: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE job_attachments
         SET thumbnail_key = $2, thumbnail_status = CASE WHEN $2::text IS NULL THEN 'failed' ELSE 'ready' END
         WHERE id = $1",
        id,
        key
    )
    .execute(conn)
    .await
    .map(drop)
}
