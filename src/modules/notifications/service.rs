//! Who is told what, and reading one's own notifications.

use uuid::Uuid;

use super::{NewNotification, Notification, NotifyJob, repo};
use crate::error::{Error, ErrorCode};
use crate::modules::users;
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};
use crate::platform::events::Event;
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::queue::{self, Queue};

/// Tell the office (active owners, admins and dispatchers), except `actor` who
/// caused it: enqueued in the caller's transaction, fanned out by the job.
pub async fn notify_office_in(
    tx: &mut Tx,
    account_id: Uuid,
    actor: Option<Uuid>,
    notification: NewNotification,
) -> Result<(), Error> {
    let queue = if notification.urgent() {
        Queue::NotificationsHigh
    } else {
        Queue::NotificationsStandard
    };
    let job = NotifyJob {
        event_id: Uuid::now_v7(),
        kind: notification.kind.to_string(),
        title: notification.title,
        body: notification.body,
        subject_type: notification.about.map(|(kind, _)| kind.to_string()),
        subject_id: notification.about.map(|(_, id)| id),
        actor,
    };
    queue::enqueue(tx, account_id, queue, &job).await?;
    Ok(())
}

/// Tell one user, in the caller's transaction. `event_id` makes it once only: the
/// same event told again adds nothing.
pub async fn notify_user_in(
    tx: &mut Tx,
    account_id: Uuid,
    user_id: Uuid,
    event_id: Uuid,
    notification: NewNotification,
) -> Result<(), Error> {
    let job = NotifyJob {
        event_id,
        kind: notification.kind.to_string(),
        title: notification.title,
        body: notification.body,
        subject_type: notification.about.map(|(kind, _)| kind.to_string()),
        subject_id: notification.about.map(|(_, id)| id),
        actor: None,
    };
    if repo::insert(tx, account_id, &[user_id], &job).await? > 0 {
        tx.raise(Event::NotificationCreated {
            event_id,
            user_ids: vec![user_id],
        });
    }
    Ok(())
}

/// The job's work: one row per office member at the time it runs. Running it again
/// adds nothing. Returns the rows added.
pub async fn fan_out(db: &Db, account_id: Uuid, job: &NotifyJob) -> Result<u64, Error> {
    let mut tx = db.tenant(account_id).await?;
    let mut recipients = users::service::office_ids_in(&mut tx).await?;
    recipients.retain(|id| Some(*id) != job.actor);
    let added = if recipients.is_empty() {
        0
    } else {
        repo::insert(&mut tx, account_id, &recipients, job).await?
    };
    if added > 0 {
        tx.raise(Event::NotificationCreated {
            event_id: job.event_id,
            user_ids: recipients,
        });
    }
    tx.commit().await?;
    Ok(added)
}

pub async fn list(
    db: &Db,
    ctx: &Ctx,
    unread_only: bool,
    page: PageRequest,
) -> Result<Page<Notification>, Error> {
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

pub async fn unread_count(db: &Db, ctx: &Ctx) -> Result<i64, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let count = repo::unread_count(&mut tx, ctx.user_id).await?;
    tx.commit().await?;
    Ok(count)
}

/// Reading twice is harmless; another user's notification is not found.
pub async fn mark_read(db: &Db, ctx: &Ctx, id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    if !repo::mark_read(&mut tx, ctx.user_id, id).await? {
        return Err(Error::code(ErrorCode::NotificationNotFound));
    }
    tx.commit().await?;
    Ok(())
}

pub async fn mark_all_read(db: &Db, ctx: &Ctx) -> Result<u64, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let marked = repo::mark_all_read(&mut tx, ctx.user_id).await?;
    tx.commit().await?;
    Ok(marked)
}
