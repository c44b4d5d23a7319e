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

/// A password-reset or invitation token, as stored.
pub struct UserTokenRow {
    pub user_id: Uuid,
    pub purpose: String,
    pub token_hash: Vec<u8>,
    pub usable: bool,
}

/// A token about to be emailed.
pub struct NewUserToken<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub purpose: &'a str,
    pub token_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
}

/// Store a new emailed token; earlier unused ones of the same purpose stop working
/// (only the latest email's link works).
pub async fn insert_user_token(
    conn: &mut PgConnection,
    account_id: Uuid,
    t: &NewUserToken<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE user_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
        t.user_id,
        t.purpose
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO user_tokens (account_id, id, user_id, purpose, token_hash, expires_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        account_id,
        t.id,
        t.user_id,
        t.purpose,
        t.token_hash,
        t.expires_at,
        t.created_by
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn user_token_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<UserTokenRow>, sqlx::Error> {
    sqlx::query_as!(
        UserTokenRow,
        r#"SELECT user_id, purpose, token_hash, (used_at IS NULL AND expires_at > now()) AS "usable!"
           FROM user_tokens WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn use_user_token(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE user_tokens SET used_at = now() WHERE id = $1", id)
        .execute(conn)
        .await
        .map(drop)
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

/// Delete emailed tokens a week after they expired or were used (the `cleanup`
/// cron task, across accounts on the owner's connection).
pub async fn purge_user_tokens(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM user_tokens WHERE expires_at < now() - interval '7 days' OR used_at < now() - interval '7 days'"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
