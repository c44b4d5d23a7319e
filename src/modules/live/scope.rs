//! Who may hear an event, and on which topics. An event carries ids only; the hub
//! resolves the rest of its [`Audience`] once (one short read), then tests each
//! connection's subscriptions against it.

use uuid::Uuid;

use super::protocol::Topic;
use crate::error::Error;
use crate::modules::users::model::Role;
use crate::modules::{invoices, jobs, quotes};
use crate::platform::database::Tx;
use crate::platform::events::Event;

/// Who is listening on a connection.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub account_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

impl Viewer {
    fn is_staff(&self) -> bool {
        self.role != Role::Technician
    }

    /// May this viewer subscribe to `topic` at all? Jobs are checked further
    /// against the database (a technician follows only the jobs they work on).
    pub fn may_subscribe(&self, topic: &Topic) -> Result<(), &'static str> {
        match topic {
            Topic::Account | Topic::Client(_) if !self.is_staff() => Err(
                "technicians follow the schedule, their jobs and their own topic, not the account or clients",
            ),
            Topic::User(id) if *id != self.user_id => Err("only your own user topic"),
            _ => Ok(()),
        }
    }
}

/// What kind of change an event is, for the rules below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Jobs, visits and the schedule: staff, and the technicians on the job.
    Field,
    /// Clients, quotes, invoices, payments, messages: office staff only (they carry
    /// money and client details a technician may not see).
    Office,
    /// Addressed to named users (notifications).
    Personal,
}

/// An event's routing facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audience {
    kind: Option<Kind>,
    pub client_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    /// Users assigned to a visit of the job.
    pub assignees: Vec<Uuid>,
    /// Users an event is addressed to.
    pub users: Vec<Uuid>,
    /// What the event does not carry could not be read (the database was
    /// unavailable): [`Audience::may_reach`] then answers for everyone who might have
    /// been entitled, and the hub tells them to resync instead of sending the event.
    unresolved: bool,
}

impl Audience {
    /// What `event` says by itself: its kind and the ids it carries. No reads.
    fn carried(event: &Event) -> Audience {
        let mut audience = Audience::default();
        match event {
            Event::ClientCreated { client_id }
            | Event::ClientUpdated { client_id }
            | Event::ClientDeleted { client_id }
            | Event::ClientArchived { client_id }
            | Event::ClientAvatarChanged { client_id }
            | Event::QuoteCreated { client_id, .. }
            | Event::QuoteApproved { client_id, .. }
            | Event::InvoiceCreated { client_id, .. } => {
                audience.kind = Some(Kind::Office);
                audience.client_id = Some(*client_id);
            }
            // Their `client_id`, when they carry one, may be the nil id of an older
            // row: the quote's client is read instead.
            Event::QuoteUpdated { .. }
            | Event::QuoteSent { .. }
            | Event::QuoteDeclined { .. }
            | Event::QuoteChangesRequested { .. }
            | Event::QuoteArchived { .. }
            | Event::QuoteConverted { .. }
            | Event::QuoteExpired { .. }
            | Event::InvoiceSent { .. }
            | Event::InvoicePaid { .. }
            | Event::InvoiceVoided { .. }
            | Event::InvoiceWrittenOff { .. }
            | Event::InvoiceDeleted { .. }
            | Event::PaymentRecorded { .. }
            | Event::PaymentStarted { .. }
            | Event::PaymentSucceeded { .. }
            | Event::PaymentFailed { .. }
            | Event::PaymentRefunded { .. }
            | Event::RequestReceived { .. } => {
                audience.kind = Some(Kind::Office);
            }
            Event::MessageReceived { client_id, .. } => {
                audience.kind = Some(Kind::Office);
                audience.client_id = *client_id;
            }
            Event::JobCreated { job_id, .. }
            | Event::JobUpdated { job_id }
            | Event::JobCompleted { job_id, .. }
            | Event::JobCancelled { job_id, .. }
            | Event::VisitScheduled { job_id, .. }
            | Event::VisitUpdated { job_id, .. }
            | Event::VisitCompleted { job_id, .. }
            | Event::ScheduleChanged { job_id, .. } => {
                audience.kind = Some(Kind::Field);
                audience.job_id = Some(*job_id);
            }
            Event::NotificationCreated { user_ids, .. } => {
                audience.kind = Some(Kind::Personal);
                audience.users.clone_from(user_ids);
            }
            // For caches of other instances, not for the screens (no kind: no socket).
            Event::SettingsUpdated {}
            | Event::UserUpdated { .. }
            | Event::SessionRevoked { .. }
            | Event::UserSessionsRevoked { .. } => {}
        }
        audience
    }

    /// Read what `event` does not carry itself (its job's client and assignees, an
    /// invoice's client...). A record already gone leaves those unknown: the event
    /// then reaches the account topic only.
    pub async fn resolve(tx: &mut Tx, event: &Event) -> Result<Audience, Error> {
        let mut audience = Audience::carried(event);
        match event {
            Event::QuoteUpdated { quote_id }
            | Event::QuoteSent { quote_id }
            | Event::QuoteDeclined { quote_id }
            | Event::QuoteChangesRequested { quote_id }
            | Event::QuoteArchived { quote_id, .. }
            | Event::QuoteConverted { quote_id, .. }
            | Event::QuoteExpired { quote_id, .. } => {
                audience.client_id = quotes::service::client_of_in(tx, *quote_id).await?;
            }
            Event::JobCreated { job_id, .. }
            | Event::JobUpdated { job_id }
            | Event::JobCompleted { job_id, .. }
            | Event::JobCancelled { job_id, .. }
            | Event::VisitScheduled { job_id, .. }
            | Event::VisitUpdated { job_id, .. }
            | Event::VisitCompleted { job_id, .. }
            | Event::ScheduleChanged { job_id, .. } => {
                if let Some((client_id, assignees)) =
                    jobs::service::audience_in(tx, *job_id).await?
                {
                    audience.client_id = Some(client_id);
                    audience.assignees = assignees;
                }
            }
            Event::InvoiceCreated { invoice_id, .. }
            | Event::InvoiceSent { invoice_id }
            | Event::InvoicePaid { invoice_id }
            | Event::InvoiceVoided { invoice_id, .. }
            | Event::InvoiceWrittenOff { invoice_id }
            | Event::InvoiceDeleted { invoice_id, .. } => {
                if let Some((client_id, job_id)) =
                    invoices::service::parties_in(tx, *invoice_id).await?
                {
                    audience.client_id = Some(client_id);
                    audience.job_id = job_id;
                }
            }
            Event::PaymentRecorded { payment_id }
            | Event::PaymentStarted { payment_id }
            | Event::PaymentSucceeded { payment_id }
            | Event::PaymentFailed { payment_id }
            | Event::PaymentRefunded { payment_id } => {
                if let Some((client_id, job_id)) =
                    invoices::service::payment_parties_in(tx, *payment_id).await?
                {
                    audience.client_id = Some(client_id);
                    audience.job_id = job_id;
                }
            }
            _ => {}
        }
        Ok(audience)
    }

    /// The audience of an event whose [`Audience::resolve`] failed: only what the
    /// event carries is known.
    pub fn unresolved(event: &Event) -> Audience {
        Audience {
            unresolved: true,
            ..Audience::carried(event)
        }
    }

    pub fn is_resolved(&self) -> bool {
        !self.unresolved
    }

    /// An office event about `client_id` (for tests of the hub).
    #[cfg(test)]
    pub fn office(client_id: Uuid) -> Self {
        Audience {
            kind: Some(Kind::Office),
            client_id: Some(client_id),
            ..Audience::default()
        }
    }

    /// Might `viewer`, subscribed to `topic`, have received this event there? For a
    /// resolved audience, [`Audience::reaches`]; for an unresolved one, everyone the
    /// facts it lacks (a job's assignees, a record's client or job) could have
    /// admitted: a technician on the schedule or a job topic for a field event,
    /// office staff on a client or job topic of any id.
    pub fn may_reach(&self, viewer: &Viewer, topic: &Topic) -> bool {
        if !self.unresolved {
            return self.reaches(viewer, topic);
        }
        let Some(kind) = self.kind else {
            return false;
        };
        if kind == Kind::Personal {
            return self.reaches(viewer, topic);
        }
        if !viewer.is_staff() && kind == Kind::Office {
            return false;
        }
        match topic {
            Topic::Account => viewer.is_staff(),
            Topic::Schedule => kind == Kind::Field,
            Topic::Job(id) => self.job_id.is_none_or(|job| job == *id),
            Topic::Client(id) => viewer.is_staff() && self.client_id.is_none_or(|c| c == *id),
            Topic::User(_) => false,
        }
    }

    /// Does `viewer`, subscribed to `topic`, receive this event there?
    pub fn reaches(&self, viewer: &Viewer, topic: &Topic) -> bool {
        let Some(kind) = self.kind else {
            return false;
        };
        if kind == Kind::Personal {
            return matches!(topic, Topic::User(id) if *id == viewer.user_id && self.users.contains(id));
        }
        if !viewer.is_staff() && (kind == Kind::Office || !self.assignees.contains(&viewer.user_id))
        {
            return false;
        }
        match topic {
            Topic::Account => viewer.is_staff(),
            Topic::Schedule => kind == Kind::Field,
            Topic::Job(id) => self.job_id == Some(*id),
            Topic::Client(id) => viewer.is_staff() && self.client_id == Some(*id),
            Topic::User(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer(role: Role) -> Viewer {
        Viewer {
            account_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            role,
        }
    }

    #[test]
    fn technicians_hear_only_their_jobs_and_never_the_office() {
        let tech = viewer(Role::Technician);
        let job = Uuid::now_v7();
        let client = Uuid::now_v7();
        let theirs = Audience {
            kind: Some(Kind::Field),
            client_id: Some(client),
            job_id: Some(job),
            assignees: vec![tech.user_id],
            ..Audience::default()
        };
        assert!(theirs.reaches(&tech, &Topic::Schedule));
        assert!(theirs.reaches(&tech, &Topic::Job(job)));
        assert!(!theirs.reaches(&tech, &Topic::Account));
        assert!(!theirs.reaches(&tech, &Topic::Client(client)));
        let others = Audience {
            assignees: vec![Uuid::now_v7()],
            ..theirs.clone()
        };
        assert!(!others.reaches(&tech, &Topic::Schedule));
        assert!(!others.reaches(&tech, &Topic::Job(job)));
        let invoice = Audience {
            kind: Some(Kind::Office),
            client_id: Some(client),
            job_id: Some(job),
            ..Audience::default()
        };
        assert!(!invoice.reaches(&tech, &Topic::Job(job)));
        assert!(tech.may_subscribe(&Topic::Account).is_err());
        assert!(tech.may_subscribe(&Topic::Client(client)).is_err());
        assert!(tech.may_subscribe(&Topic::User(tech.user_id)).is_ok());
        assert!(tech.may_subscribe(&Topic::User(Uuid::now_v7())).is_err());
    }

    #[test]
    fn staff_hear_by_topic() {
        let office = viewer(Role::Dispatcher);
        let (job, client) = (Uuid::now_v7(), Uuid::now_v7());
        let visit = Audience {
            kind: Some(Kind::Field),
            client_id: Some(client),
            job_id: Some(job),
            ..Audience::default()
        };
        for topic in [
            Topic::Account,
            Topic::Schedule,
            Topic::Job(job),
            Topic::Client(client),
        ] {
            assert!(visit.reaches(&office, &topic), "{topic}");
        }
        assert!(!visit.reaches(&office, &Topic::Job(Uuid::now_v7())));
        assert!(!visit.reaches(&office, &Topic::User(office.user_id)));
        let payment = Audience {
            kind: Some(Kind::Office),
            client_id: Some(client),
            ..Audience::default()
        };
        assert!(!payment.reaches(&office, &Topic::Schedule));
        assert!(payment.reaches(&office, &Topic::Client(client)));
        let note = Audience {
            kind: Some(Kind::Personal),
            users: vec![office.user_id],
            ..Audience::default()
        };
        assert!(note.reaches(&office, &Topic::User(office.user_id)));
        assert!(!note.reaches(&office, &Topic::Account));
        let elsewhere = viewer(Role::Owner);
        assert!(!note.reaches(&elsewhere, &Topic::User(elsewhere.user_id)));
    }
}
