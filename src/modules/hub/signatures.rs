//! The signature a client drew when approving a quote in the hub, for the office:
//! the hub stores it (`pages::approve`), so the hub shows it back.

use serde::Serialize;
use utoipa::ToSchema;

/// A drawn signature.
#[derive(Debug, Serialize, ToSchema)]
pub struct DrawnSignature {
    /// The PNG, a download address valid 15 minutes.
    pub url: String,
    /// The name the client typed beside it.
    pub signature_name: Option<String>,
}
