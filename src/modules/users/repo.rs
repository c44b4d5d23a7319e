//! SQL for `users` and the global `user_logins` directory.

use sqlx::{PgConnection, Row, postgres::PgRow};
use uuid::Uuid;

use super::model::{NewUser, Role, User};

macro_rules! columns {
    () => {
        "account_id, id, email, name, role, active, last_login_at, version, created_at, updated_at"
    };
}

fn user_from_row(row: &PgRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
        active: row.try_get("active")?,
        last_login_at: row.try_get("last_login_at")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// Insert the user and claim its email in the login directory.
pub async fn insert(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    user: &NewUser,
) -> Result<User, sqlx::Error> {
    let row = sqlx::query(concat!("INSERT INTO users (account_id, id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ", columns!()))
    .bind(account_id)
    .bind(id)
    .bind(user.email.as_str())
    .bind(&user.name)
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO user_logins (email, account_id, user_id) VALUES ($1, $2, $3)")
        .bind(user.email.normalized())
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    user_from_row(&row)
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<User>, sqlx::Error> {
    sqlx::query(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(user_from_row)
        .transpose()
}

/// Lock the row for an update.
pub async fn get_for_update(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<User>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(user_from_row)
    .transpose()
}

pub async fn list(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<User>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?
    .iter()
    .map(user_from_row)
    .collect()
}

/// The password hash and state needed to log a user in.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

pub async fn credentials(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<Credentials>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        ", password_hash FROM users WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(Credentials {
            user: user_from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
        })),
    }
}

/// Which account and user an email logs in to (the global directory; no tenant needed).
pub async fn find_login(
    conn: &mut PgConnection,
    normalized_email: &str,
) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    sqlx::query_as("SELECT account_id, user_id FROM user_logins WHERE email = $1")
        .bind(normalized_email)
        .fetch_optional(conn)
        .await
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
    let row = sqlx::query(concat!("UPDATE users SET name = $2, email = $3, role = $4, active = $5, version = version + 1 WHERE id = $1 RETURNING ", columns!()))
    .bind(id)
    .bind(changes.name)
    .bind(changes.email.as_str())
    .bind(changes.role.as_str())
    .bind(changes.active)
    .fetch_one(&mut *conn)
    .await?;
    if old_email.to_lowercase() != changes.email.normalized() {
        sqlx::query("UPDATE user_logins SET email = $2 WHERE user_id = $1")
            .bind(id)
            .bind(changes.email.normalized())
            .execute(&mut *conn)
            .await?;
    }
    user_from_row(&row)
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn touch_login(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_login_at = now() WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// Active owners other than `except`.
pub async fn count_other_active_owners(
    conn: &mut PgConnection,
    except: Uuid,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'owner' AND active AND id <> $1")
        .bind(except)
        .fetch_one(conn)
        .await
}
