//! In-app notifications for staff: quote approved, invoice paid, visit completed,
//! message received, a visit assigned or taken away. No module calls this one to
//! notify: its in-transaction listener (`service::on_event`, in
//! `app::IN_TRANSACTION`) hears the change's event and enqueues a
//! `notifications.high` or `notifications.standard` job in the change's own
//! transaction (a rolled-back change notifies no one); the job fans it out, one row
//! per recipient, at most once per recipient however often it runs. Each user lists
//! and reads only their own.

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
