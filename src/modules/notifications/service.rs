//! Who is told what, and reading one's own notifications.

use uuid::Uuid;

use super::{NewNotification, Notification, repo};
use crate::http::extract::Ctx;
use crate::http::pagination::{Page, PageRequest};
use crate::http::{ApiError, ErrorCode};
use crate::modules::users;
use crate::platform::database::{Db, Tx};

/// Tell the office (active owners, admins and dispatchers), except `actor` who
/// caused it, in the caller's transaction.
pub async fn notify_office_in(
    tx: &mut Tx,
    account_id: Uuid,
    actor: Option<Uuid>,
    notification: NewNotification,
) -> Result<(), ApiError> {
    let mut recipients = users::service::office_ids_in(tx).await?;
    recipients.retain(|id| Some(*id) != actor);
    if recipients.is_empty() {
        return Ok(());
    }
    repo::insert(tx, account_id, &recipients, &notification).await?;
    Ok(())
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    unread_only: bool,
    page: PageRequest,
) -> Result<Page<Notification>, ApiError> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let rows = repo::list(
        &mut tx,
        ctx.user_id,
        unread_only,
        page.after,
        page.fetch_limit(),
    )
    .await?;
    tx.commit().await?;
    Ok(Page::from_rows(rows, page, |n| n.id))
}

pub async fn unread_count(db: &Db, ctx: &Ctx) -> Result<i64, ApiError> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let count = repo::unread_count(&mut tx, ctx.user_id).await?;
    tx.commit().await?;
    Ok(count)
}

/// Reading twice is harmless; another user's notification is not found.
pub async fn mark_read(db: &Db, ctx: &Ctx, id: Uuid) -> Result<(), ApiError> {
    let mut tx = db.tenant(ctx.account_id).await?;
    if !repo::mark_read(&mut tx, ctx.user_id, id).await? {
        return Err(ApiError::code(ErrorCode::NotificationNotFound));
    }
    tx.commit().await?;
    Ok(())
}

pub async fn mark_all_read(db: &Db, ctx: &Ctx) -> Result<u64, ApiError> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let marked = repo::mark_all_read(&mut tx, ctx.user_id).await?;
    tx.commit().await?;
    Ok(marked)
}
