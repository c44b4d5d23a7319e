//! Who is told what, and reading one's own notifications.

use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    KINDS, KindSetting, NewNotification, Notification, NotificationSettings,
    NotificationSettingsInput, NotifyJob, repo,
};
use crate::domain::{FieldError, Role};
use crate::error::{Error, ErrorCode};
use crate::modules::requests::model::RequestSource;
use crate::modules::{accounts, clients, communications, invoices, jobs, quotes, requests, users};
use crate::platform::database::Ctx;
use crate::platform::database::{Db, Tx};
use crate::platform::events::{Actor, Event, current_actor};
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::queue::{self, Queue};

/// Who a notice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum To {
    /// The office: active owners, admins and dispatchers when the job runs.
    Office,
    /// These users (a visit's people).
    Users(Vec<Uuid>),
}

/// The in-transaction listener (`app::IN_TRANSACTION`, docs/events.md): the in-app
/// notices a change causes. It reads what a notice says through the modules that own
/// it, on the change's own connection, and enqueues a `notifications.*` job there, so
/// a change that rolls back tells no one and one that commits is told once. Whoever
/// made the change (the signed-in user) is not told of it.
pub fn on_event<'a>(
    conn: &'a mut PgConnection,
    account_id: Uuid,
    event: &'a Event,
) -> BoxFuture<'a, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let actor = match current_actor() {
            Some(Actor::User(user_id)) => Some(user_id),
            _ => None,
        };
        for (to, notification) in notices(conn, event).await? {
            let queue = if notification.urgent() {
                Queue::NotificationsHigh
            } else {
                Queue::NotificationsStandard
            };
            let user_ids = match to {
                To::Office => None,
                To::Users(ids) => Some(ids),
            };
            let job = NotifyJob {
                event_id: Uuid::now_v7(),
                kind: notification.kind.to_string(),
                title: notification.title,
                body: notification.body,
                subject_type: notification.about.map(|(kind, _)| kind.to_string()),
                subject_id: notification.about.map(|(_, id)| id),
                actor,
                user_ids,
            };
            queue::enqueue(conn, account_id, queue, &job).await?;
        }
        Ok(())
    })
}

/// What `event` tells whom; nothing for most events.
async fn notices(
    conn: &mut PgConnection,
    event: &Event,
) -> Result<Vec<(To, NewNotification)>, sqlx::Error> {
    let notice = match *event {
        Event::QuoteApproved { quote_id, .. } => quotes::service::notice_on(conn, quote_id)
            .await?
            .map(|quote| {
                let by = if quote.approved_by_user_id.is_none() {
                    "the client, in the client hub"
                } else {
                    "staff, for the client"
                };
                NewNotification {
                    kind: "quote_approved",
                    title: format!("Quote {} approved: {}", quote.number, quote.title),
                    body: Some(format!(
                        "Signed by {}, recorded by {by}.",
                        quote.signed_by.unwrap_or_default()
                    )),
                    about: Some(("quote", quote_id)),
                }
            }),
        Event::QuoteChangesRequested { quote_id } => quotes::service::notice_on(conn, quote_id)
            .await?
            .map(|quote| NewNotification {
                kind: "quote_changes_requested",
                title: format!("Changes requested on quote {}", quote.number),
                body: quote.changes_requested_note,
                about: Some(("quote", quote_id)),
            }),
        Event::VisitCompleted { visit_id, .. } => jobs::service::visit_on(conn, visit_id)
            .await?
            .map(|visit| NewNotification {
                kind: "visit_completed",
                title: format!("Visit completed: {} ({})", visit.title, visit.client_name),
                body: visit.notes,
                about: Some(("visit", visit_id)),
            }),
        Event::ScheduleChanged {
            visit_id,
            ref assigned,
            ref unassigned,
            ..
        } => return reassigned(conn, visit_id, assigned, unassigned).await,
        Event::InvoicePaid { invoice_id } => {
            match invoices::service::paid_notice_on(conn, invoice_id).await? {
                Some(invoice) => {
                    let settings = accounts::service::settings_on(conn).await?;
                    let number = invoice.number.as_deref().unwrap_or("(draft)");
                    Some(NewNotification {
                        kind: "invoice_paid",
                        title: format!("Invoice {number} paid: {}", invoice.title),
                        body: Some(format!(
                            "{} received.",
                            communications::templates::amount(&settings, invoice.total)
                        )),
                        about: Some(("invoice", invoice_id)),
                    })
                }
                None => None,
            }
        }
        Event::MessageReceived { message_id, .. } => {
            match communications::sms::inbound_on(conn, message_id).await? {
                Some(text) => {
                    let client = match text.client_id {
                        Some(id) => clients::service::get_on(conn, id).await?,
                        None => None,
                    };
                    let who = client
                        .as_ref()
                        .map_or_else(|| text.from.clone(), |c| c.display_name.clone());
                    let title = match communications::sms::keyword_opt_in(&text.body) {
                        Some(false) => format!("{who} opted out of text messages"),
                        Some(true) => format!("{who} opted in to text messages"),
                        None => format!("Text from {who}"),
                    };
                    Some(NewNotification {
                        kind: "message_received",
                        title,
                        body: Some(text.body.chars().take(1000).collect()),
                        about: client.map(|c| ("client", c.id)),
                    })
                }
                None => None,
            }
        }
        Event::RequestReceived { request_id } => {
            match requests::service::get_on(conn, request_id).await? {
                Some(request) => Some(match (request.source, request.job_id) {
                    (RequestSource::Booking, Some(job_id)) => {
                        let settings = accounts::service::settings_on(conn).await?;
                        let starts = jobs::service::first_start_on(conn, job_id).await?;
                        NewNotification {
                            kind: "request_received",
                            title: format!(
                                "New online booking: {} for {}",
                                request.service_name.unwrap_or_default(),
                                request.name
                            ),
                            body: starts.map(|at| {
                                at.with_timezone(&jobs::service::zone(&settings))
                                    .format("%Y-%m-%d %H:%M")
                                    .to_string()
                            }),
                            about: Some(("job", job_id)),
                        }
                    }
                    (RequestSource::Hub, _) => NewNotification {
                        kind: "request_received",
                        title: format!("{} asks for more work (client hub)", request.name),
                        body: request.service_name.or(request.details),
                        about: Some(("request", request_id)),
                    },
                    _ => NewNotification {
                        kind: "request_received",
                        title: format!("New work request from {}", request.name),
                        body: request.service_name.or(request.details),
                        about: Some(("request", request_id)),
                    },
                }),
                None => None,
            }
        }
        _ => None,
    };
    Ok(notice.map(|n| (To::Office, n)).into_iter().collect())
}

/// A visit's new people are told it is theirs, and the people taken off it that it
/// went to someone else.
async fn reassigned(
    conn: &mut PgConnection,
    visit_id: Uuid,
    assigned: &[Uuid],
    unassigned: &[Uuid],
) -> Result<Vec<(To, NewNotification)>, sqlx::Error> {
    if assigned.is_empty() && unassigned.is_empty() {
        return Ok(Vec::new());
    }
    let Some(visit) = jobs::service::visit_on(conn, visit_id).await? else {
        return Ok(Vec::new());
    };
    let what = format!("{} ({})", visit.title, visit.client_name);
    let mut notices = Vec::new();
    if !assigned.is_empty() {
        notices.push((
            To::Users(assigned.to_vec()),
            NewNotification {
                kind: "visit_assigned",
                title: format!("You were assigned {what}"),
                body: None,
                about: Some(("visit", visit_id)),
            },
        ));
    }
    if !unassigned.is_empty() {
        notices.push((
            To::Users(unassigned.to_vec()),
            NewNotification {
                kind: "visit_reassigned",
                title: format!("{what} was reassigned"),
                body: None,
                about: Some(("visit", visit_id)),
            },
        ));
    }
    Ok(notices)
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
        user_ids: None,
    };
    let added = repo::insert(tx, account_id, &[user_id], &job).await?;
    if !added.is_empty() {
        tx.raise(Event::NotificationCreated {
            event_id,
            user_ids: added,
        });
    }
    Ok(())
}

/// The job's work: one row per recipient (the office at the time it runs, or the
/// users named who are still active). Running it again adds nothing. Returns the
/// rows added. Its `notification.created` names only the people who got a row now,
/// so the listeners that hear it (the staff emails, `emails::StaffEmails`) react
/// once per person.
pub async fn fan_out(db: &Db, account_id: Uuid, job: &NotifyJob) -> Result<u64, Error> {
    let mut tx = db.tenant(account_id).await?;
    let mut recipients = match &job.user_ids {
        None => users::service::office_ids_in(&mut tx).await?,
        Some(ids) => {
            let gone = users::service::missing_active_in(&mut tx, ids).await?;
            ids.iter()
                .filter(|id| !gone.contains(id))
                .copied()
                .collect()
        }
    };
    recipients.retain(|id| Some(*id) != job.actor);
    let added = if recipients.is_empty() {
        Vec::new()
    } else {
        repo::insert(&mut tx, account_id, &recipients, job).await?
    };
    let count = added.len() as u64;
    if !added.is_empty() {
        tx.raise(Event::NotificationCreated {
            event_id: job.event_id,
            user_ids: added,
        });
    }
    tx.commit().await?;
    Ok(count)
}

/// Whether someone of `role` who chose `chosen` (None: never chose) wants `kind` by
/// email. The defaults: owners and admins get what a client did that asks for an
/// answer, and money in; dispatchers and technicians work in the app and get none.
pub fn wants_email(role: Role, chosen: Option<&[String]>, kind: &str) -> bool {
    match chosen {
        Some(kinds) => kinds.iter().any(|k| k == kind),
        None => role.is_admin() && KINDS.iter().any(|k| k.kind == kind && k.default_for_admins),
    }
}

fn settings_of(role: Role, chosen: Option<&[String]>) -> NotificationSettings {
    NotificationSettings {
        kinds: KINDS
            .iter()
            .filter(|k| k.reaches(role))
            .map(|k| KindSetting {
                kind: k.kind.to_string(),
                label: k.label.to_string(),
                email: wants_email(role, chosen, k.kind),
            })
            .collect(),
        customized: chosen.is_some(),
    }
}

/// Which notifications the caller also gets by email.
pub async fn email_settings(db: &Db, ctx: &Ctx) -> Result<NotificationSettings, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let chosen = repo::email_kinds(&mut tx, ctx.user_id).await?;
    tx.commit().await?;
    Ok(settings_of(ctx.role, chosen.as_deref()))
}

/// Choose which notifications the caller gets by email: exactly the kinds listed,
/// each one their role receives (`email[i]` names one that is not).
pub async fn set_email_settings(
    db: &Db,
    ctx: &Ctx,
    input: NotificationSettingsInput,
) -> Result<NotificationSettings, Error> {
    let mut kinds: Vec<String> = Vec::new();
    let mut errors = Vec::new();
    for (i, asked) in input.email.iter().enumerate() {
        let field = format!("email[{i}]");
        match KINDS.iter().find(|k| k.kind == asked) {
            None => errors.push(FieldError::new(
                field,
                format!(
                    "`{asked}` is no kind of notification; one of {}",
                    KINDS.iter().map(|k| k.kind).collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(kind) if !kind.reaches(ctx.role) => errors.push(FieldError::new(
                field,
                format!(
                    "`{asked}` is not a notification your role ({}) receives",
                    ctx.role.as_str()
                ),
            )),
            Some(kind) => {
                if !kinds.iter().any(|k| k == kind.kind) {
                    kinds.push(kind.kind.to_string());
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(Error::invalid(errors));
    }
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::set_email_kinds(&mut tx, ctx.account_id, ctx.user_id, &kinds).await?;
    tx.commit().await?;
    Ok(settings_of(ctx.role, Some(&kinds)))
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
