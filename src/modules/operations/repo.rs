//! The one query of the operator's view: today's figures, summed across accounts by
//! `operations_today()` (migration 20261204000501), on the owner's connection.

use sqlx::PgConnection;

pub async fn today(conn: &mut PgConnection) -> Result<serde_json::Value, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT operations_today() AS "today!""#)
        .fetch_one(conn)
        .await
}
