//! SQL for `quickbooks_connections` and `quickbooks_records`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct ConnectionRow {
    pub realm_id: String,
    pub access_token_enc: Vec<u8>,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token_enc: Vec<u8>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub connected_by: Option<Uuid>,
    pub connected_at: DateTime<Utc>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

pub async fn connection(conn: &mut PgConnection) -> Result<Option<ConnectionRow>, sqlx::Error> {
    sqlx::query_as!(
        ConnectionRow,
        "SELECT realm_id, access_token_enc, access_expires_at, refresh_token_enc, refresh_expires_at,
                connected_by, connected_at, last_sync_at, last_error
         FROM quickbooks_connections"
    )
    .fetch_optional(conn)
    .await
}

/// The connection, locked: one refresh at a time (Intuit rotates refresh tokens).
pub async fn connection_for_update(
    conn: &mut PgConnection,
) -> Result<Option<ConnectionRow>, sqlx::Error> {
    sqlx::query_as!(
        ConnectionRow,
        "SELECT realm_id, access_token_enc, access_expires_at, refresh_token_enc, refresh_expires_at,
                connected_by, connected_at, last_sync_at, last_error
         FROM quickbooks_connections FOR UPDATE"
    )
    .fetch_optional(conn)
    .await
}

/// The realm of the account's connection, if any (the hook's one round trip).
pub async fn connected_realm(conn: &mut PgConnection) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!("SELECT realm_id FROM quickbooks_connections")
        .fetch_optional(conn)
        .await
}

pub struct NewConnection<'a> {
    pub realm_id: &'a str,
    pub access_token_enc: &'a [u8],
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token_enc: &'a [u8],
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub connected_by: Uuid,
}

pub async fn upsert_connection(
    conn: &mut PgConnection,
    account_id: Uuid,
    new: &NewConnection<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO quickbooks_connections (account_id, realm_id, access_token_enc, access_expires_at,
                refresh_token_enc, refresh_expires_at, connected_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (account_id) DO UPDATE SET realm_id = $2, access_token_enc = $3, access_expires_at = $4,
                refresh_token_enc = $5, refresh_expires_at = $6, connected_by = $7, connected_at = now(),
                last_error = NULL",
        account_id,
        new.realm_id,
        new.access_token_enc,
        new.access_expires_at,
        new.refresh_token_enc,
        new.refresh_expires_at,
        new.connected_by
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn update_tokens(
    conn: &mut PgConnection,
    access_token_enc: &[u8],
    access_expires_at: DateTime<Utc>,
    refresh_token_enc: &[u8],
    refresh_expires_at: Option<DateTime<Utc>>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quickbooks_connections SET access_token_enc = $1, access_expires_at = $2,
                refresh_token_enc = $3, refresh_expires_at = COALESCE($4, refresh_expires_at), last_error = NULL",
        access_token_enc,
        access_expires_at,
        refresh_token_enc,
        refresh_expires_at
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_connection_error(
    conn: &mut PgConnection,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE quickbooks_connections SET last_error = $1", error)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn touch_last_sync(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE quickbooks_connections SET last_sync_at = now()")
        .execute(conn)
        .await
        .map(drop)
}

pub async fn delete_connection(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!("DELETE FROM quickbooks_connections")
        .execute(conn)
        .await?
        .rows_affected())
}

/// Mappings to another company file mean nothing in this one.
pub async fn forget_other_realms(
    conn: &mut PgConnection,
    realm_id: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM quickbooks_records WHERE realm_id <> $1",
        realm_id
    )
    .execute(conn)
    .await?
    .rows_affected())
}

#[derive(Debug, Clone)]
pub struct RecordRow {
    pub id: Uuid,
    pub kind: String,
    pub local_id: Uuid,
    pub realm_id: String,
    pub qbo_id: Option<String>,
    pub sync_token: Option<String>,
    pub state: String,
    pub last_error: Option<String>,
    pub attempts: i32,
    /// Creates QuickBooks refused (the suffix of the next create's requestid).
    pub refusals: i32,
    pub wanted_version: i32,
    pub synced_version: i32,
    pub synced_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Ask for a push of (kind, local_id): a new record, or the next wanted version of
/// the existing one. Returns the record id.
pub async fn request_push(
    conn: &mut PgConnection,
    account_id: Uuid,
    kind: &str,
    local_id: Uuid,
    realm_id: &str,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        "INSERT INTO quickbooks_records (account_id, id, kind, local_id, realm_id)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, kind, local_id) DO UPDATE
            SET wanted_version = quickbooks_records.wanted_version + 1, state = 'pending', realm_id = $5
         RETURNING id",
        account_id,
        Uuid::now_v7(),
        kind,
        local_id,
        realm_id
    )
    .fetch_one(conn)
    .await
}

/// The record of (kind, local_id), created (wanting its first push) if missing; its
/// pushes are serialized until the transaction ends.
pub async fn ensure_locked(
    conn: &mut PgConnection,
    account_id: Uuid,
    kind: &str,
    local_id: Uuid,
    realm_id: &str,
) -> Result<RecordRow, sqlx::Error> {
    sqlx::query!(
        "INSERT INTO quickbooks_records (account_id, id, kind, local_id, realm_id)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id, kind, local_id) DO NOTHING",
        account_id,
        Uuid::now_v7(),
        kind,
        local_id,
        realm_id
    )
    .execute(&mut *conn)
    .await?;
    // An advisory lock, not FOR UPDATE: pushes of one record run one at a time, while
    // the business transactions that bump `wanted_version` never wait on QuickBooks.
    let key = format!("quickbooks_record:{account_id}:{kind}:{local_id}");
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)
        .execute(&mut *conn)
        .await?;
    sqlx::query_as!(
        RecordRow,
        "SELECT id, kind, local_id, realm_id, qbo_id, sync_token, state, last_error, attempts, refusals,
                wanted_version, synced_version, synced_at, created_at, updated_at
         FROM quickbooks_records WHERE kind = $1 AND local_id = $2",
        kind,
        local_id
    )
    .fetch_one(conn)
    .await
}

pub async fn record(conn: &mut PgConnection, id: Uuid) -> Result<Option<RecordRow>, sqlx::Error> {
    sqlx::query_as!(
        RecordRow,
        "SELECT id, kind, local_id, realm_id, qbo_id, sync_token, state, last_error, attempts, refusals,
                wanted_version, synced_version, synced_at, created_at, updated_at
         FROM quickbooks_records WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn mark_synced(
    conn: &mut PgConnection,
    id: Uuid,
    qbo_id: &str,
    sync_token: &str,
    version: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quickbooks_records SET qbo_id = $2, sync_token = $3, synced_version = GREATEST(synced_version, $4),
                state = CASE WHEN $4 >= wanted_version THEN 'synced' ELSE 'pending' END,
                last_error = NULL, attempts = attempts + 1, synced_at = now()
         WHERE id = $1",
        id,
        qbo_id,
        sync_token,
        version
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Keep what was learnt (a created object's Id) even when a later step fails.
pub async fn set_remote(
    conn: &mut PgConnection,
    id: Uuid,
    qbo_id: &str,
    sync_token: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quickbooks_records SET qbo_id = $2, sync_token = $3 WHERE id = $1",
        id,
        qbo_id,
        sync_token
    )
    .execute(conn)
    .await
    .map(drop)
}

/// `failed` (QuickBooks refused: not retried) or `pending` (retried by the queue).
pub async fn mark_error(
    conn: &mut PgConnection,
    id: Uuid,
    state: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE quickbooks_records SET state = $2, last_error = $3, attempts = attempts + 1,
                refusals = refusals + CASE WHEN $2 = 'failed' AND qbo_id IS NULL THEN 1 ELSE 0 END
         WHERE id = $1",
        id,
        state,
        error
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Push again: pending, one more wanted version.
pub async fn retry(conn: &mut PgConnection, id: Uuid) -> Result<Option<RecordRow>, sqlx::Error> {
    sqlx::query_as!(
        RecordRow,
        "UPDATE quickbooks_records SET state = 'pending', wanted_version = wanted_version + 1
         WHERE id = $1
         RETURNING id, kind, local_id, realm_id, qbo_id, sync_token, state, last_error, attempts, refusals,
                wanted_version, synced_version, synced_at, created_at, updated_at",
        id
    )
    .fetch_optional(conn)
    .await
}

/// Records waiting for a push (re-queued on connect).
pub async fn pending_ids(conn: &mut PgConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM quickbooks_records WHERE state = 'pending' ORDER BY id")
        .fetch_all(conn)
        .await
}

pub async fn counts(conn: &mut PgConnection) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows =
        sqlx::query!(r#"SELECT state, count(*) AS "n!" FROM quickbooks_records GROUP BY state"#)
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().map(|r| (r.state, r.n)).collect())
}

pub struct RecordFilter<'a> {
    pub state: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub local_id: Option<Uuid>,
}

/// Newest first, keyset on id.
pub async fn list(
    conn: &mut PgConnection,
    filter: &RecordFilter<'_>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<RecordRow>, sqlx::Error> {
    sqlx::query_as!(
        RecordRow,
        "SELECT id, kind, local_id, realm_id, qbo_id, sync_token, state, last_error, attempts, refusals,
                wanted_version, synced_version, synced_at, created_at, updated_at
         FROM quickbooks_records
         WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)
           AND ($3::uuid IS NULL OR local_id = $3) AND ($4::uuid IS NULL OR id < $4)
         ORDER BY id DESC LIMIT $5",
        filter.state,
        filter.kind,
        filter.local_id,
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The latest failures (the status page's "recent errors").
pub async fn recent_errors(
    conn: &mut PgConnection,
    limit: i64,
) -> Result<Vec<RecordRow>, sqlx::Error> {
    sqlx::query_as!(
        RecordRow,
        "SELECT id, kind, local_id, realm_id, qbo_id, sync_token, state, last_error, attempts, refusals,
                wanted_version, synced_version, synced_at, created_at, updated_at
         FROM quickbooks_records WHERE last_error IS NOT NULL AND state <> 'synced'
         ORDER BY updated_at DESC LIMIT $1",
        limit
    )
    .fetch_all(conn)
    .await
}
