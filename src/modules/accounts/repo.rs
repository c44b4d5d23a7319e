use sqlx::PgConnection;
use uuid::Uuid;

use super::model::Account;

type Row = (
    Uuid,
    String,
    String,
    String,
    i32,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
);

fn account((id, name, time_zone, currency, version, created_at, updated_at): Row) -> Account {
    Account {
        id,
        name,
        time_zone,
        currency,
        version,
        created_at,
        updated_at,
    }
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    name: &str,
    time_zone: &str,
    currency: &str,
) -> Result<Account, sqlx::Error> {
    sqlx::query_as::<_, Row>(
        "INSERT INTO accounts (id, name, time_zone, currency) VALUES ($1, $2, $3, $4)
         RETURNING id, name, time_zone, currency, version, created_at, updated_at",
    )
    .bind(id)
    .bind(name)
    .bind(time_zone)
    .bind(currency)
    .fetch_one(conn)
    .await
    .map(account)
}

/// The current tenant's account (row-level security shows no other).
pub async fn current(conn: &mut PgConnection) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as::<_, Row>(
        "SELECT id, name, time_zone, currency, version, created_at, updated_at FROM accounts",
    )
    .fetch_optional(conn)
    .await
    .map(|row| row.map(account))
}
