//! In-app notifications for staff: quote approved, invoice paid, visit completed,
//! message received. A notification is written in the transaction of the change it
//! reports, one row per recipient, so a rolled-back change notifies no one; each
//! user lists and reads only their own.

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
    /// `visit_completed`, `message_received`.
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
