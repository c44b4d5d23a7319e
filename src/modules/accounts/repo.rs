use sqlx::PgConnection;
use uuid::Uuid;

use super::model::Account;

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    time_zone: &str,
    currency: &str,
) -> Result<Account, sqlx::Error> {
    sqlx::query_as!(
        Account,
        r#"INSERT INTO accounts (id, name, time_zone, currency) VALUES ($1, $2, $3, $4)
           RETURNING id, name, time_zone, currency AS "currency!: String", version, created_at, updated_at"#,
        id,
        name,
        time_zone,
        currency
    )
    .fetch_one(conn)
    .await
}

/// The current tenant's account (row-level security shows no other).
pub async fn current(conn: &mut PgConnection) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as!(Account, r#"SELECT id, name, time_zone, currency AS "currency!: String", version, created_at, updated_at FROM accounts"#)
        .fetch_optional(conn)
        .await
}
