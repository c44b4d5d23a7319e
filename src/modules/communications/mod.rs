//! Emails and texts to clients. A message is written to the outbox (`messages`,
//! status `queued`) inside the transaction of the change that causes it; the
//! background worker delivers it and records the outcome. So nothing is sent for a
//! change that rolled back, and nothing committed is forgotten.

pub mod repo;
pub mod templates;

use uuid::Uuid;

/// A message ready for the outbox.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub client_id: Option<Uuid>,
    pub template: &'static str,
    pub to: String,
    pub subject: String,
    pub body_text: String,
    /// The record it is about, e.g. `("quote", id)`.
    pub about: Option<(&'static str, Uuid)>,
}

/// Queue an email in the caller's transaction; returns the message id.
pub async fn queue_email_in(
    tx: &mut crate::platform::database::Tx,
    account_id: Uuid,
    created_by: Option<Uuid>,
    email: &OutgoingEmail,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    repo::insert_email(tx, account_id, id, created_by, email).await?;
    Ok(id)
}
