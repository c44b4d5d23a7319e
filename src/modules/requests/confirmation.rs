//! The client's confirmation of an online booking: an in-transaction listener on
//! `request.received`. A booking made its job and visit in the same change, so the
//! email says what was booked, when and where, with a link to the client's own hub
//! page; it is queued through the outbox with the booking, so a booking rolled back
//! (the slot taken meanwhile) sends nothing, and a replayed request sends nothing
//! twice. Requests from the form or the hub get no email: the office answers them.

use futures_util::future::BoxFuture;
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::RequestSource;
use crate::error::Error;
use crate::modules::auth::links::{self, Signer};
use crate::modules::communications::compose::Composer;
use crate::modules::communications::{self, templates};
use crate::modules::{accounts, clients, jobs};
use crate::platform::events::{Event, Listener};

/// The listener (installed by `app::in_transaction`).
pub struct Confirmations(pub Signer);

impl Listener for Confirmations {
    fn on_event<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        account_id: Uuid,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(async move {
            let Event::RequestReceived { request_id } = event else {
                return Ok(());
            };
            confirm_booking(conn, &self.0, account_id, *request_id)
                .await
                .map_err(Error::into_database)?;
            Ok(())
        })
    }
}

/// Queue the booking's confirmation; None when the request is no booking (or its
/// visit is gone).
pub async fn confirm_booking(
    conn: &mut PgConnection,
    signer: &Signer,
    account_id: Uuid,
    request_id: Uuid,
) -> Result<Option<Uuid>, Error> {
    let Some(request) = super::service::get_on(conn, request_id).await? else {
        return Ok(None);
    };
    let (RequestSource::Booking, Some(client_id), Some(job_id)) =
        (request.source, request.client_id, request.job_id)
    else {
        return Ok(None);
    };
    let Some(visit) = jobs::service::first_visit_on(conn, job_id).await? else {
        return Ok(None);
    };
    let Some(starts_at) = visit.starts_at else {
        return Ok(None);
    };
    let client = clients::service::get_on(conn, client_id).await?;
    let name = client
        .as_ref()
        .map_or(request.name.as_str(), |c| c.display_name.as_str());
    let to = client
        .as_ref()
        .and_then(|c| c.email_to(None).ok())
        .unwrap_or_else(|| request.email.clone());
    let settings = accounts::service::settings_on(conn).await?;
    let when = templates::visit_when(&settings, starts_at, visit.anytime);
    let service = request.service_name.as_deref().unwrap_or(&visit.title);
    let page = links::client_page_link(&signer.public_url, &signer.keys, account_id, client_id);
    let mut c = Composer::new(&settings);
    c.greet(name);
    c.paragraph(&format!(
        "Thank you for booking with {}. Your visit is confirmed:",
        settings.business_name
    ));
    let mut facts = vec![service.to_string(), format!("When: {when}")];
    if let Some(address) = &visit.address {
        facts.push(format!("Where: {address}"));
    }
    c.facts(&facts);
    c.action(
        "Your quotes, invoices and upcoming visits with us are on your page:",
        "Open my page",
        &page,
    );
    c.paragraph("Need to change it? Reply to this email or call us.");
    c.sign();
    let content = c.finish(format!(
        "Booking confirmed: {service} with {}, {when}",
        settings.business_name
    ));
    let email = communications::OutgoingEmail {
        client_id: Some(client_id),
        template: "booking_confirmation",
        to,
        content,
        about: Some(("request", request_id)),
    };
    Ok(Some(
        communications::queue_email_in(conn, account_id, None, &email).await?,
    ))
}
