use sqlx::PgConnection;
use uuid::Uuid;

use super::OutgoingEmail;

pub async fn insert_email(
    conn: &mut PgConnection,
    account_id: Uuid,
    id: Uuid,
    created_by: Option<Uuid>,
    m: &OutgoingEmail,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO messages (account_id, id, client_id, channel, template, to_address, subject, body_text, subject_type, subject_id, created_by)
         VALUES ($1, $2, $3, 'email', $4, $5, $6, $7, $8, $9, $10)",
        account_id,
        id,
        m.client_id,
        m.template,
        m.to,
        m.subject,
        m.body_text,
        m.about.map(|(kind, _)| kind),
        m.about.map(|(_, id)| id),
        created_by
    )
    .execute(conn)
    .await
    .map(drop)
}
