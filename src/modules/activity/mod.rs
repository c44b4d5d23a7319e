//! The activity log: who created, changed or deleted which record, and what changed.
//! Every write is recorded in the transaction of the change itself, so the log never
//! shows a change that rolled back nor misses one that committed.

pub mod repo;
pub mod service;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The record an entry is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    Account(Uuid),
    User(Uuid),
    Client(Uuid),
    Property { id: Uuid, client_id: Uuid },
    Quote { id: Uuid, client_id: Uuid },
    Job { id: Uuid, client_id: Uuid },
    Invoice { id: Uuid, client_id: Uuid },
    TaxRate(Uuid),
    CatalogItem(Uuid),
}

impl Subject {
    pub fn kind(self) -> &'static str {
        match self {
            Subject::Account(_) => "account",
            Subject::User(_) => "user",
            Subject::Client(_) => "client",
            Subject::Property { .. } => "property",
            Subject::Quote { .. } => "quote",
            Subject::Job { .. } => "job",
            Subject::Invoice { .. } => "invoice",
            Subject::TaxRate(_) => "tax_rate",
            Subject::CatalogItem(_) => "catalog_item",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Subject::Account(id)
            | Subject::User(id)
            | Subject::Client(id)
            | Subject::Property { id, .. }
            | Subject::Quote { id, .. }
            | Subject::Job { id, .. }
            | Subject::Invoice { id, .. }
            | Subject::TaxRate(id)
            | Subject::CatalogItem(id) => id,
        }
    }

    /// The client whose history this entry belongs to.
    pub fn client_id(self) -> Option<Uuid> {
        match self {
            Subject::Client(id)
            | Subject::Property { client_id: id, .. }
            | Subject::Quote { client_id: id, .. }
            | Subject::Job { client_id: id, .. }
            | Subject::Invoice { client_id: id, .. } => Some(id),
            Subject::Account(_)
            | Subject::User(_)
            | Subject::TaxRate(_)
            | Subject::CatalogItem(_) => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActivityEntry {
    pub id: Uuid,
    /// `client`, `property`, `quote`, `user` or `account`.
    pub subject_type: String,
    pub subject_id: Uuid,
    /// `created`, `updated`, `deleted`, `archived`, `sent`, `approved`, `declined`, …
    pub action: String,
    /// The user who did it (null for system actions).
    pub actor_id: Option<Uuid>,
    /// Changed fields with their old and new values (`{"field": {"from": …, "to": …}}`),
    /// or the created record's main fields.
    pub changes: serde_json::Value,
    pub created_at: DateTime<Utc>,
}
