//! SQL for `refresh_tokens`, `user_tokens`, `sessions`, `user_totp` and `recovery_codes`.

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

/// The role of the user a token login (refresh-token family) belongs to, if the
/// user is active and the login not revoked or expired.
pub async fn live_login_role(
    conn: &mut PgConnection,
    user_id: Uuid,
    family_id: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT u.role FROM users u
          WHERE u.id = $1 AND u.active
            AND EXISTS (SELECT FROM refresh_tokens r
                         WHERE r.account_id = u.account_id AND r.family_id = $2
                           AND r.user_id = u.id AND r.revoked_at IS NULL
                           AND r.expires_at > now())",
    )
    .bind(user_id)
    .bind(family_id)
    .fetch_optional(conn)
    .await
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

/// End every session of a user (password change, deactivation, "log out
/// everywhere"): their token logins and their browser sessions.
pub async fn revoke_user(conn: &mut PgConnection, user_id: Uuid) -> Result<u64, sqlx::Error> {
    let tokens = sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let sessions = sqlx::query!(
        "UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        user_id
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(tokens + sessions)
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
/// more than 7 days ago (their family is revoked; reuse detection has done its job);
/// and browser sessions that ended more than a day ago. Across accounts, on the
/// owner's connection (the `cleanup` cron task).
pub async fn purge_refresh_tokens(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM refresh_tokens WHERE expires_at < now() OR revoked_at < now() - interval '7 days'"
    )
    .execute(pool)
    .await?;
    let sessions = purge_sessions(pool, super::session::IDLE_SECONDS).await?;
    Ok(done.rows_affected() + sessions)
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

// ---- Browser sessions (`sessions`) ----

/// A session as its owner sees it in the list of their sign-ins.
pub struct SessionRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// A new browser session.
pub struct NewSession<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: &'a [u8],
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_session(
    conn: &mut PgConnection,
    account_id: Uuid,
    s: &NewSession<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO sessions (account_id, id, user_id, secret_hash, user_agent, ip, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        account_id,
        s.id,
        s.user_id,
        s.secret_hash,
        s.user_agent,
        s.ip,
        s.expires_at
    )
    .execute(conn)
    .await
    .map(drop)
}

/// The cookie check: one round trip on the owner's connection, through
/// `session_check` (migration 20261203000100), which also slides the idle expiry.
/// The user and their role when the session is live and its user active.
pub async fn check_session(
    pool: &sqlx::PgPool,
    account_id: Uuid,
    id: Uuid,
    secret_hash: &[u8],
    idle_seconds: i32,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT user_id AS "user_id!", role AS "role!" FROM session_check($1, $2, $3, $4)"#,
        account_id,
        id,
        secret_hash,
        idle_seconds
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| (r.user_id, r.role)))
}

/// The user's live browser sessions, newest first.
pub async fn list_sessions(
    conn: &mut PgConnection,
    user_id: Uuid,
    idle_seconds: i32,
) -> Result<Vec<SessionRow>, sqlx::Error> {
    sqlx::query_as!(
        SessionRow,
        "SELECT id, created_at, last_seen_at, user_agent, ip FROM sessions
          WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
            AND last_seen_at > now() - make_interval(secs => $2)
          ORDER BY id DESC",
        user_id,
        f64::from(idle_seconds)
    )
    .fetch_all(conn)
    .await
}

/// Revoke one of the user's sessions; whether it was live.
pub async fn revoke_session(
    conn: &mut PgConnection,
    user_id: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A token login (refresh-token family) as its owner sees it: when it began and when
/// it was last refreshed.
pub struct FamilyRow {
    pub family_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// The user's live token logins: families with an unrotated, unexpired token and no
/// revocation.
pub async fn list_families(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Vec<FamilyRow>, sqlx::Error> {
    sqlx::query_as!(
        FamilyRow,
        r#"SELECT family_id, min(created_at) AS "created_at!", max(created_at) AS "last_seen_at!"
             FROM refresh_tokens WHERE user_id = $1
            GROUP BY family_id
           HAVING bool_and(revoked_at IS NULL) AND bool_or(rotated_at IS NULL AND expires_at > now())
            ORDER BY family_id DESC"#,
        user_id
    )
    .fetch_all(conn)
    .await
}

/// Revoke one of the user's token logins; whether it was live.
pub async fn revoke_user_family(
    conn: &mut PgConnection,
    user_id: Uuid,
    family_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL",
        family_id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Delete browser sessions that ended more than a day ago (the `cleanup` cron task,
/// across accounts on the owner's connection).
pub async fn purge_sessions(pool: &sqlx::PgPool, idle_seconds: i32) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE expires_at < now() - interval '1 day'
            OR revoked_at < now() - interval '1 day'
            OR last_seen_at < now() - make_interval(secs => $1) - interval '1 day'",
        f64::from(idle_seconds)
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

// ---- TOTP (`user_totp`, `recovery_codes`) ----

pub struct TotpRow {
    pub secret_sealed: Vec<u8>,
    pub enabled: bool,
}

pub async fn get_totp(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<Option<TotpRow>, sqlx::Error> {
    sqlx::query_as!(
        TotpRow,
        r#"SELECT secret_sealed, enabled_at IS NOT NULL AS "enabled!" FROM user_totp WHERE user_id = $1"#,
        user_id
    )
    .fetch_optional(conn)
    .await
}

/// Store a pending (unconfirmed) secret, replacing an earlier pending one; an
/// enabled one is kept (then `false`).
pub async fn set_pending_totp(
    conn: &mut PgConnection,
    account_id: Uuid,
    user_id: Uuid,
    secret_sealed: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO user_totp (account_id, user_id, secret_sealed) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, user_id) DO UPDATE
            SET secret_sealed = EXCLUDED.secret_sealed, last_step = NULL, created_at = now()
          WHERE user_totp.enabled_at IS NULL",
        account_id,
        user_id,
        secret_sealed
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Accept a code's step: only one later than every step accepted before, so a code
/// works once (RFC 6238 §5.2). Enables a pending secret. Whether it was accepted.
pub async fn use_totp_step(
    conn: &mut PgConnection,
    user_id: Uuid,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE user_totp SET last_step = $2, enabled_at = coalesce(enabled_at, now())
          WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
        user_id,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn delete_totp(conn: &mut PgConnection, user_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM user_totp WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(conn)
        .await
        .map(drop)
}

/// Replace the user's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut PgConnection,
    account_id: Uuid,
    user_id: Uuid,
    hashes: &[Vec<u8>],
) -> Result<(), sqlx::Error> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    let ids: Vec<Uuid> = hashes.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query!(
        "INSERT INTO recovery_codes (account_id, id, user_id, code_hash)
         SELECT $1, id, $2, code_hash FROM unnest($3::uuid[], $4::bytea[]) AS t (id, code_hash)",
        account_id,
        user_id,
        &ids,
        hashes
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Spend a recovery code; whether it was unused.
pub async fn use_recovery_code(
    conn: &mut PgConnection,
    user_id: Uuid,
    code_hash: &[u8],
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE recovery_codes SET used_at = now() WHERE id = (
             SELECT id FROM recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL LIMIT 1)
           AND used_at IS NULL",
        user_id,
        code_hash
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn recovery_codes_left(
    conn: &mut PgConnection,
    user_id: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"#,
        user_id
    )
    .fetch_one(conn)
    .await
}
