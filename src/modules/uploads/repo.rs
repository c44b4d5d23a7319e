//! SQL for `temp_uploads`. The `purge` functions run across accounts on the runner's
//! connection (policies for the migrating role let it read and delete every row).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct TempUploadRow {
    pub id: Uuid,
    pub storage_key: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: i64,
    pub uploaded_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub struct NewUpload<'a> {
    pub id: Uuid,
    pub storage_key: &'a str,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub bytes: i64,
    pub uploaded_by: Uuid,
    pub keep_hours: i32,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    new: &NewUpload<'_>,
) -> Result<TempUploadRow, sqlx::Error> {
    sqlx::query_as!(
        TempUploadRow,
        "INSERT INTO temp_uploads (account_id, id, storage_key, filename, content_type, bytes, uploaded_by, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(hours => $8))
         RETURNING id, storage_key, filename, content_type, bytes, uploaded_by, created_at, expires_at",
        account_id,
        new.id,
        new.storage_key,
        new.filename,
        new.content_type,
        new.bytes,
        new.uploaded_by,
        new.keep_hours
    )
    .fetch_one(conn)
    .await
}

/// The upload, locked until the transaction ends (a second use waits, then finds it
/// deleted).
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<TempUploadRow>, sqlx::Error> {
    sqlx::query_as!(
        TempUploadRow,
        "SELECT id, storage_key, filename, content_type, bytes, uploaded_by, created_at, expires_at
         FROM temp_uploads WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM temp_uploads WHERE id = $1", id)
        .execute(conn)
        .await
        .map(drop)
}

/// Across accounts: delete up to `limit` uploads expired at `now`; their storage keys.
pub async fn purge_expired(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "DELETE FROM temp_uploads WHERE (account_id, id) IN (
             SELECT account_id, id FROM temp_uploads WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)
         RETURNING storage_key",
        now,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Across accounts: which of the uploads `(accounts[i], ids[i])` still have a row.
pub async fn purge_existing(
    conn: &mut PgConnection,
    accounts: &[Uuid],
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Uuid)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT account_id, id FROM temp_uploads
         WHERE (account_id, id) IN (SELECT * FROM unnest($1::uuid[], $2::uuid[]))",
        accounts,
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.account_id, r.id)).collect())
}
