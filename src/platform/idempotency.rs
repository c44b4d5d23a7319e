//! How long stored `Idempotency-Key` answers are kept, and their purge. The keys
//! themselves are claimed and answered by the HTTP middleware (`http::idempotency`);
//! the purge is the cron's (`workers::cleanup`), which speaks no HTTP.

/// A stored answer is replayed for this long, then purged.
pub const KEEP_HOURS: i64 = 24;

/// Delete keys older than their [`KEEP_HOURS`], across accounts (the `cleanup` cron
/// task, on the owner's connection). Returns how many were deleted.
pub async fn purge_expired(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)",
        KEEP_HOURS as i32
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
