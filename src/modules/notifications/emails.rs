//! Staff emails: the office hears by email what a client did. A listener of
//! notifications (docs/design.md, "Messages to clients"): when the fan-out adds a
//! notification for a person who wants that kind by email (their
//! `/me/notification-settings`, or their role's defaults), the email is queued through
//! the outbox in the fan-out's own transaction, and the notification row records the
//! message it became. So a fan-out that rolls back sends nothing, and one run again
//! (a retried job) adds no row, raises no `notification.created` and sends nothing
//! twice. A deactivated person gets nothing. It never fails the fan-out for want of
//! an email: a person without one is skipped.

use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::repo::{self, Unemailed};
use super::{KINDS, service};
use crate::domain::Role;
use crate::modules::accounts::model::Settings;
use crate::modules::communications::compose::{Composer, Rendered};
use crate::modules::communications::{self, OutgoingEmail};
use crate::modules::{accounts, users};
use crate::platform::events::{Event, Listener};

/// The outbox template name of these emails.
pub const TEMPLATE: &str = "staff_notification";

/// The listener (installed by `app::in_transaction`); it holds the office app's
/// public address for its links.
pub struct StaffEmails {
    pub public_url: String,
}

impl Listener for StaffEmails {
    fn on_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        account_id: Uuid,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let Event::NotificationCreated { event_id, user_ids } = event else {
                return Ok(());
            };
            email_in(conn, &self.public_url, account_id, *event_id, user_ids).await?;
            Ok(())
        })
    }
}

/// Queue the emails of notification `event_id` for those of `user_ids` who want it,
/// on the caller's transaction. Returns how many were queued.
pub async fn email_in(
    conn: &mut PgConnection,
    public_url: &str,
    account_id: Uuid,
    event_id: Uuid,
    user_ids: &[Uuid],
) -> Result<usize, sqlx::Error> {
    let pending = repo::unemailed(conn, event_id, user_ids).await?;
    let mut settings: Option<Settings> = None;
    let mut queued = 0;
    for notification in pending {
        let Some(user) = users::service::get_on(conn, notification.user_id)
            .await?
            .filter(|u| u.active && !u.email.is_empty())
        else {
            continue;
        };
        let chosen = repo::email_kinds(conn, user.id).await?;
        if !service::wants_email(user.role, chosen.as_deref(), &notification.kind) {
            continue;
        }
        // One read of the account's settings for all the recipients.
        if settings.is_none() {
            settings = Some(accounts::service::settings_on(conn).await?);
        }
        let Some(settings) = settings.as_ref() else {
            continue;
        };
        let content = compose(settings, public_url, &user.name, user.role, &notification);
        let email = OutgoingEmail {
            client_id: None,
            template: TEMPLATE,
            to: user.email.clone(),
            content,
            about: Some(("notification", notification.id)),
        };
        let message_id = communications::queue_email_in(conn, account_id, None, &email).await?;
        repo::set_emailed(conn, notification.id, message_id).await?;
        queued += 1;
        tracing::info!(%account_id, user_id = %user.id, kind = %notification.kind, %message_id, "notification emailed");
    }
    Ok(queued)
}

/// Where a notification's record is in the office app (the routes of `ui/src/app`):
/// the address and what the button says.
pub fn record_link(
    public_url: &str,
    subject_type: Option<&str>,
    subject_id: Option<Uuid>,
) -> Option<(String, &'static str)> {
    let base = public_url.trim_end_matches('/');
    let (path, label) = match (subject_type?, subject_id) {
        ("quote", Some(id)) => (format!("/quotes/{id}"), "Open the quote"),
        ("invoice", Some(id)) => (format!("/invoices/{id}"), "Open the invoice"),
        ("job", Some(id)) => (format!("/jobs/{id}"), "Open the job"),
        ("client", Some(id)) => (format!("/clients/{id}"), "Open the client"),
        ("request", Some(id)) => (format!("/requests/{id}"), "Open the request"),
        // Visits have no page of their own: they are on the schedule.
        ("visit", _) => ("/schedule".to_string(), "Open the schedule"),
        ("report_export", _) => ("/reports".to_string(), "Open reports"),
        _ => return None,
    };
    Some((format!("{base}{path}"), label))
}

/// The email: the business, what happened (the notification's own words), a link to
/// the record, and why it came with where to change that.
pub fn compose(
    settings: &Settings,
    public_url: &str,
    name: &str,
    role: Role,
    notification: &Unemailed,
) -> Rendered {
    let business = &settings.business_name;
    let mut c = Composer::new(settings);
    c.greet(name);
    c.paragraph(&format!("News from {business}:"));
    let mut facts = vec![notification.title.clone()];
    if let Some(body) = notification
        .body
        .as_deref()
        .filter(|b| !b.trim().is_empty())
    {
        facts.push(body.to_string());
    }
    c.facts(&facts);
    if let Some((url, label)) = record_link(
        public_url,
        notification.subject_type.as_deref(),
        notification.subject_id,
    ) {
        c.action("Open it in the app", label, &url);
    }
    let why = KINDS
        .iter()
        .find(|k| k.kind == notification.kind)
        .map_or_else(
            || "You get this email because of your notification settings.".to_string(),
            |k| {
                format!(
                    "You get this email because your notification settings say \u{201c}Email me when {}\u{201d}.",
                    k.label
                )
            },
        );
    c.paragraph(&why);
    // Technicians have no settings screen (the field app); they ask the office.
    if role != Role::Technician {
        c.link(
            "Choose which emails you get",
            "your notification settings",
            &format!(
                "{}/settings/notifications",
                public_url.trim_end_matches('/')
            ),
        );
    }
    c.finish(format!("{business}: {}", notification.title))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_lead_to_the_record_in_the_office_app() {
        let id = Uuid::now_v7();
        let url = "https://jobs.example.com/";
        assert_eq!(
            record_link(url, Some("quote"), Some(id)),
            Some((
                format!("https://jobs.example.com/quotes/{id}"),
                "Open the quote"
            ))
        );
        assert_eq!(
            record_link(url, Some("request"), Some(id)).map(|l| l.0),
            Some(format!("https://jobs.example.com/requests/{id}"))
        );
        assert_eq!(
            record_link(url, Some("visit"), Some(id)).map(|l| l.0),
            Some("https://jobs.example.com/schedule".to_string())
        );
        assert_eq!(record_link(url, Some("quote"), None), None);
        assert_eq!(record_link(url, Some("spaceship"), Some(id)), None);
        assert_eq!(record_link(url, None, Some(id)), None);
    }

    #[test]
    fn defaults_email_owners_and_admins_what_clients_did_and_money_in() {
        for role in [Role::Owner, Role::Admin] {
            for kind in [
                "quote_approved",
                "quote_changes_requested",
                "request_received",
                "invoice_paid",
            ] {
                assert!(service::wants_email(role, None, kind), "{role:?} {kind}");
            }
            assert!(!service::wants_email(role, None, "visit_completed"));
        }
        for role in [Role::Dispatcher, Role::Technician] {
            assert!(
                KINDS
                    .iter()
                    .all(|k| !service::wants_email(role, None, k.kind))
            );
        }
        // A choice replaces the defaults, an empty one included.
        let chosen = vec!["visit_assigned".to_string()];
        assert!(service::wants_email(
            Role::Technician,
            Some(&chosen),
            "visit_assigned"
        ));
        assert!(!service::wants_email(
            Role::Owner,
            Some(&[]),
            "quote_approved"
        ));
    }

    #[test]
    fn technicians_are_offered_only_what_reaches_them() {
        let offered: Vec<&str> = KINDS
            .iter()
            .filter(|k| k.reaches(Role::Technician))
            .map(|k| k.kind)
            .collect();
        assert_eq!(offered, ["visit_assigned", "visit_reassigned"]);
        assert!(KINDS.iter().all(|k| k.reaches(Role::Dispatcher)));
    }
}
