//! In-app notifications for staff: quote approved, invoice paid, visit completed,
//! message received, a visit assigned or taken away. No module calls this one to
//! notify: its in-transaction listener (`service::on_event`, in
//! `app::IN_TRANSACTION`) hears the change's event and enqueues a
//! `notifications.high` or `notifications.standard` job in the change's own
//! transaction (a rolled-back change notifies no one); the job fans it out, one row
//! per recipient, at most once per recipient however often it runs. Each user lists
//! and reads only their own.
//!
//! Each person also chooses which kinds they want by email (`/me/notification-settings`,
//! with defaults by role): the staff-email listener (`emails::StaffEmails`) hears the
//! fan-out's `notification.created` and queues those emails in the fan-out's own
//! transaction, once per person and notification.

pub mod emails;
pub mod repo;
pub mod routes;
pub mod service;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: Uuid,
    /// `quote_approved`, `quote_changes_requested`, `invoice_paid`,
    /// `visit_completed`, `visit_assigned`, `visit_reassigned`, `message_received`,
    /// `request_received`, `export_ready`.
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    /// What it is about, e.g. `quote` and its id.
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
    /// Null while unread.
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A notification to create.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub kind: &'static str,
    pub title: String,
    pub body: Option<String>,
    pub about: Option<(&'static str, Uuid)>,
}

impl NewNotification {
    /// Money in, and clients waiting for an answer, go on the fast queue.
    pub fn urgent(&self) -> bool {
        matches!(
            self.kind,
            "quote_approved" | "invoice_paid" | "message_received"
        )
    }
}

/// A kind of notification that can also be emailed, as the settings screen names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub kind: &'static str,
    /// What happened, completing "Email me when…".
    pub label: &'static str,
    /// Only the office (owners, admins, dispatchers) receives it; a visit's changes
    /// reach whoever is on it, whatever their role.
    pub office_only: bool,
    /// Owners and admins get it by email until they choose otherwise: what a client
    /// did that the business must answer, and money in.
    pub default_for_admins: bool,
}

/// Every kind of notification, in the order the settings screen lists them.
pub const KINDS: &[Kind] = &[
    Kind {
        kind: "quote_approved",
        label: "a client approves a quote",
        office_only: true,
        default_for_admins: true,
    },
    Kind {
        kind: "quote_changes_requested",
        label: "a client asks for changes to a quote",
        office_only: true,
        default_for_admins: true,
    },
    Kind {
        kind: "request_received",
        label: "a work request or an online booking comes in",
        office_only: true,
        default_for_admins: true,
    },
    Kind {
        kind: "invoice_paid",
        label: "an invoice is paid",
        office_only: true,
        default_for_admins: true,
    },
    Kind {
        kind: "message_received",
        label: "a client sends a text message",
        office_only: true,
        default_for_admins: false,
    },
    Kind {
        kind: "visit_completed",
        label: "a visit is completed",
        office_only: true,
        default_for_admins: false,
    },
    Kind {
        kind: "visit_assigned",
        label: "I am assigned a visit",
        office_only: false,
        default_for_admins: false,
    },
    Kind {
        kind: "visit_reassigned",
        label: "a visit of mine goes to someone else",
        office_only: false,
        default_for_admins: false,
    },
    Kind {
        kind: "export_ready",
        label: "an export I asked for is ready",
        office_only: true,
        default_for_admins: false,
    },
];

impl Kind {
    /// Whether someone of `role` ever receives this kind.
    pub fn reaches(&self, role: crate::domain::Role) -> bool {
        !self.office_only || role != crate::domain::Role::Technician
    }
}

/// One kind of notification the caller receives, and whether it is also emailed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindSetting {
    /// `quote_approved`, `quote_changes_requested`, `request_received`,
    /// `invoice_paid`, `message_received`, `visit_completed`, `visit_assigned`,
    /// `visit_reassigned`, `export_ready`.
    pub kind: String,
    /// What happened, completing "Email me when…".
    pub label: String,
    pub email: bool,
}

/// Which notifications the caller also gets by email.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationSettings {
    /// The kinds the caller's role receives, in display order.
    pub kinds: Vec<KindSetting>,
    /// False while the role's defaults apply (owners and admins: quote approved,
    /// changes requested, request or booking, invoice paid; others: none).
    pub customized: bool,
}

/// The kinds to email; every other kind is not emailed.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsInput {
    /// Kinds from `kinds` of the settings (`[]`: no emails).
    pub email: Vec<String>,
}

/// The payload of a `notifications.*` job.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NotifyJob {
    /// Makes the fan-out idempotent.
    pub event_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: Option<String>,
    pub subject_type: Option<String>,
    pub subject_id: Option<Uuid>,
    /// Who caused it (not told).
    pub actor: Option<Uuid>,
    /// Tell these users (those still active); absent: the office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ids: Option<Vec<Uuid>>,
}
