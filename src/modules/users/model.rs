use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// What a user may do (seed §9.2); the extractors check it, so it is the domain's.
pub use crate::domain::Role;

/// A user as the API shows it (never the password hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub account_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub last_login_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Invited by email and not signed in yet (no password set).
    pub invited: bool,
}

/// A validated new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: crate::domain::Email,
    pub name: String,
    pub role: Role,
    /// None: invite them by email to choose one.
    pub password_hash: Option<String>,
}
