//! SQL of the live hub: the tickets redeemed (`live_ticket_redemptions`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Record the use of the ticket `ticket_id`, valid until `expires_at`; `false` when
/// it was used before (by any process). The account's expired records go first, so
/// the table holds only the tickets of the last 30 seconds.
pub async fn redeem_ticket(
    conn: &mut PgConnection,
    account_id: Uuid,
    ticket_id: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    sqlx::query!(
        "DELETE FROM live_ticket_redemptions WHERE account_id = $1 AND expires_at < now()",
        account_id
    )
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query!(
        "INSERT INTO live_ticket_redemptions (account_id, ticket_id, expires_at)
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        account_id,
        ticket_id,
        expires_at
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
