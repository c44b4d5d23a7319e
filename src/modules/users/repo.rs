//! SQL for `users` and the global `user_logins` directory.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{NewUser, Role, User};

struct UserRow {
    account_id: Uuid,
    id: Uuid,
    email: String,
    name: String,
    role: String,
    active: bool,
    last_login_at: Option<DateTime<Utc>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    invited: bool,
}

impl TryFrom<UserRow> for User {
    type Error = sqlx::Error;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: row.id,
            account_id: row.account_id,
            email: row.email,
            name: row.name,
            role: Role::parse(&row.role)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {}", row.role).into()))?,
            active: row.active,
            last_login_at: row.last_login_at,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            invited: row.invited,
        })
    }
}

/// Insert the user and claim its email in the login directory.
pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    user: &NewUser,
) -> Result<User, sqlx::Error> {
    let row = sqlx::query_as!(
        UserRow,
        "INSERT INTO users (account_id, id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING account_id, id, email, name, role, active, last_login_at, version, created_at, updated_at, (password_hash IS NULL) AS \"invited!\"",
        account_id,
        id,
        user.email.as_str(),
        user.name,
        user.role.as_str(),
        user.password_hash,
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO user_logins (email, account_id, user_id) VALUES ($1, $2, $3)",
        user.email.normalized(),
        account_id,
        id
    )
    .execute(&mut *conn)
    .await?;
    row.try_into()
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "SELECT account_id, id, email, name, role, active, last_login_at, version, created_at, updated_at, (password_hash IS NULL) AS \"invited!\" FROM users WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?
    .map(User::try_from)
    .transpose()
}

/// Lock the row for an update.
pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "SELECT account_id, id, email, name, role, active, last_login_at, version, created_at, updated_at, (password_hash IS NULL) AS \"invited!\" FROM users WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(conn)
    .await?
    .map(User::try_from)
    .transpose()
}

pub async fn list(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query_as!(
        UserRow,
        "SELECT account_id, id, email, name, role, active, last_login_at, version, created_at, updated_at, (password_hash IS NULL) AS \"invited!\" FROM users
         WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2",
        after,
        limit
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(User::try_from)
    .collect()
}

/// The password hash and state needed to log a user in.
pub struct Credentials {
    pub user: User,
    /// None until an invited user accepts their invitation.
    pub password_hash: Option<String>,
}

pub async fn credentials(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Credentials>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        "SELECT account_id, id, email, name, role, active, last_login_at, version, created_at, updated_at, password_hash FROM users WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let user = UserRow {
        account_id: row.account_id,
        id: row.id,
        email: row.email,
        name: row.name,
        role: row.role,
        active: row.active,
        last_login_at: row.last_login_at,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        invited: row.password_hash.is_none(),
    };
    Ok(Some(Credentials {
        user: user.try_into()?,
        password_hash: row.password_hash,
    }))
}

/// Which account and user an email logs in to (the global directory; no tenant needed).
pub async fn find_login(
    conn: &mut PgConnection,
    normalized_email: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT account_id, user_id FROM user_logins WHERE email = $1",
        normalized_email
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.account_id, r.user_id)))
}

pub struct UserChanges<'a> {
    pub name: &'a str,
    pub email: &'a crate::domain::Email,
    pub role: Role,
    pub active: bool,
}

pub async fn update(
    conn: &mut PgConnection,
    id: Uuid,
    old_email: &str,
    changes: &UserChanges<'_>,
) -> Result<User, sqlx::Error> {
    let row = sqlx::query_as!(
        UserRow,
        "UPDATE users SET name = $2, email = $3, role = $4, active = $5, version = version + 1 WHERE id = $1
         RETURNING account_id, id, email, name, role, active, last_login_at, version, created_at, updated_at, (password_hash IS NULL) AS \"invited!\"",
        id,
        changes.name,
        changes.email.as_str(),
        changes.role.as_str(),
        changes.active,
    )
    .fetch_one(&mut *conn)
    .await?;
    if old_email.to_lowercase() != changes.email.normalized() {
        sqlx::query!(
            "UPDATE user_logins SET email = $2 WHERE user_id = $1",
            id,
            changes.email.normalized()
        )
        .execute(&mut *conn)
        .await?;
    }
    row.try_into()
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        id,
        password_hash
    )
    .execute(conn)
    .await
    .map(drop)
}

pub async fn touch_login(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE users SET last_login_at = now() WHERE id = $1", id)
        .execute(conn)
        .await
        .map(drop)
}

/// Lock the active owners' rows, in id order (so concurrent changes queue instead of
/// deadlocking), and return their ids.
pub async fn lock_active_owners(conn: &mut PgConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM users WHERE role = 'owner' AND active ORDER BY id FOR UPDATE"
    )
    .fetch_all(conn)
    .await
}

/// The user's calendar-feed secret, creating it when `rotate` or when there is none.
pub async fn calendar_token(
    conn: &mut PgConnection,
    id: Uuid,
    new_token: &str,
    rotate: bool,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"UPDATE users SET calendar_token = CASE WHEN $3 OR calendar_token IS NULL THEN $2 ELSE calendar_token END
           WHERE id = $1 RETURNING calendar_token AS "calendar_token!""#,
        id,
        new_token,
        rotate
    )
    .fetch_optional(conn)
    .await
}

/// The active user a calendar-feed secret belongs to.
pub async fn by_calendar_token(
    conn: &mut PgConnection,
    token: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM users WHERE calendar_token = $1 AND active",
        token
    )
    .fetch_optional(conn)
    .await
}

/// Serialize work that must see one person's bookings and clock consistently
/// (double-booking checks, clock-in): lock their rows in id order, so two
/// transactions over overlapping sets cannot deadlock. `FOR NO KEY UPDATE` does
/// not block rows that merely reference the user.
pub async fn lock_people(conn: &mut PgConnection, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        ids
    )
    .fetch_all(conn)
    .await
    .map(drop)
}

/// Active owners, admins and dispatchers.
pub async fn office_ids(conn: &mut PgConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM users WHERE active AND role IN ('owner', 'admin', 'dispatcher') ORDER BY id"
    )
    .fetch_all(conn)
    .await
}

/// Who online bookings are given to: the active technicians, or the active owners of
/// a business without any (one person doing the work).
pub async fn bookable_ids(conn: &mut PgConnection) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM users WHERE active AND (role = 'technician'
            OR (role = 'owner' AND NOT EXISTS (SELECT 1 FROM users t WHERE t.active AND t.role = 'technician')))
         ORDER BY id"
    )
    .fetch_all(conn)
    .await
}
