//! "Request more work" from the client hub (issue 13): a client who opened their
//! hub page (by its signed link) asks the business for more work. The request goes
//! to the office's inbox with `source: hub` and its client already known, so
//! converting it uses that client instead of matching by email.
//!
//! The route lives here, not in the hub, because the request is this module's:
//! it borrows only the hub's link check.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::RequestSource;
use super::repo::{self, NewRequest};
use super::service::offered_service;
use crate::domain::{Address, FieldError, optional_text, required_text};
use crate::error::{Error, ErrorCode};
use crate::modules::clients;
use crate::platform::database::Db;
use crate::platform::events::Event;

/// `POST /hub/clients/{id}/requests`: what the client asks for.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HubRequestInput {
    /// What the work is (required, up to 5,000 characters).
    pub details: String,
    /// One of the services the hub page lists.
    pub service_id: Option<Uuid>,
    /// Where: one of the client's properties (the billing address when left out).
    pub property_id: Option<Uuid>,
    /// When it suits the client, in their words.
    pub preferred_times: Option<String>,
}

/// The answer to a request sent from the hub.
#[derive(Debug, Serialize, ToSchema)]
pub struct HubRequestReceived {
    /// The request in the office's inbox.
    pub id: Uuid,
    pub message: String,
}

/// Store the client's request (`source: hub`, its client set) and tell the office.
#[tracing::instrument(skip_all, fields(account_id = %account_id, client_id = %client_id))]
pub async fn submit(
    db: &Db,
    account_id: Uuid,
    client_id: Uuid,
    input: HubRequestInput,
    remote_ip: &str,
) -> Result<Uuid, Error> {
    let mut errors = Vec::new();
    let details = required_text(&input.details, 5000)
        .map_err(|m| errors.push(FieldError::new("details", m)))
        .ok();
    let preferred_times =
        optional_text(input.preferred_times.as_deref(), 500).unwrap_or_else(|m| {
            errors.push(FieldError::new("preferred_times", m));
            None
        });
    let mut tx = db.tenant(account_id).await?;
    let client = clients::service::get_in(&mut tx, client_id).await?;
    let service_name = match input.service_id {
        Some(id) => offered_service(&mut tx, id, &mut errors).await?,
        None => None,
    };
    let address: Address = match input.property_id {
        None => client.billing_address.clone(),
        Some(id) => match clients::service::property_in(&mut tx, client_id, id).await {
            Ok(property) => property.address,
            Err(e) if e.code == ErrorCode::PropertyNotFound => {
                errors.push(FieldError::new(
                    "property_id",
                    "is not one of your properties",
                ));
                Address::default()
            }
            Err(e) => return Err(e),
        },
    };
    let Some(details) = details.filter(|_| errors.is_empty()) else {
        return Err(Error::invalid(errors));
    };
    let email = client.email_to(None).unwrap_or_default();
    let phone = client
        .phones
        .iter()
        .find(|p| p.primary)
        .or(client.phones.first())
        .map(|p| p.number.clone());
    let id = Uuid::now_v7();
    repo::insert_for_client(
        &mut tx,
        account_id,
        client_id,
        &NewRequest {
            id,
            source: RequestSource::Hub,
            name: &client.display_name,
            email: &email,
            phone: phone.as_deref(),
            address: &address,
            service_id: input.service_id,
            service_name: service_name.as_deref(),
            details: Some(&details),
            preferred_times: preferred_times.as_deref(),
            remote_ip: Some(remote_ip),
        },
    )
    .await?;
    tx.raise(Event::RequestReceived { request_id: id });
    tx.commit().await?;
    Ok(id)
}
