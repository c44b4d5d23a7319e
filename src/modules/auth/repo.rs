//! SQL for `refresh_tokens`.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub struct RefreshRow {
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expired: bool,
    pub rotated: bool,
    pub revoked: bool,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    family_id: Uuid,
    user_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO refresh_tokens (account_id, id, family_id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        account_id,
        id,
        family_id,
        user_id,
        token_hash,
        expires_at
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Lock the token row: two refreshes with one token serialize here, and the second
/// sees it rotated.
pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<RefreshRow>, sqlx::Error> {
    sqlx::query_as!(
        RefreshRow,
        r#"SELECT family_id, user_id, token_hash, expires_at <= now() AS "expired!", rotated_at IS NOT NULL AS "rotated!",
                  revoked_at IS NOT NULL AS "revoked!"
           FROM refresh_tokens WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn mark_rotated(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET rotated_at = now() WHERE id = $1",
        id
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn revoke_family(conn: &mut PgConnection, family_id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
        family_id
    )
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}

/// End every session of a user (password change, deactivation).
pub async fn revoke_user(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, sqlx::Error> {
    sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id
    )
    .execute(conn)
    .await
    .map(|r| r.rows_affected())
}

/// Delete refresh tokens that can no longer be used: expired ones, and ones revoked
/// more than 7 days ago (their family is revoked; reuse detection has done its job).
/// Across accounts, on the owner's connection (the `cleanup` cron task).
pub async fn purge_refresh_tokens(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM refresh_tokens WHERE expires_at < now() OR revoked_at < now() - interval '7 days'"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
