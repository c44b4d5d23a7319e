use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a user may do (seed §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including billing and the account itself.
    Owner,
    /// Everything but removing the last owner.
    Admin,
    /// The office: clients, quotes, jobs, schedule, invoices.
    Dispatcher,
    /// Field staff: their own visits.
    Technician,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Dispatcher => "dispatcher",
            Role::Technician => "technician",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "dispatcher" => Some(Role::Dispatcher),
            "technician" => Some(Role::Technician),
            _ => None,
        }
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

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
