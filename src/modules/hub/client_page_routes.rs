//! The HTTP routes of the client's own hub page (`client_page`): the page, its text
//! choice, the office's link to it and the resend of an expired link.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::LinkParams;
use super::client_page::*;
use super::pages::{self, HubClient, SmsChoice};
use crate::app::AppState;
use crate::error::Error;
use crate::http::error::Problem;
use crate::http::extract::{Json, Path, Query, Staff};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hub_client_page))
        .routes(routes!(hub_client_sms))
        .routes(routes!(client_hub_link))
        .routes(routes!(hub_client_resend))
}

/// The client's own page: their quotes, invoices with the balance, receipts,
/// upcoming visits, and what "request more work" offers (services, properties).
#[utoipa::path(get, path = "/hub/clients/{id}", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    responses((status = 200, body = HubClientPage), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_client_page(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<HubClientPage>, Error> {
    let account_id = check(&state.keys, id, &link)?;
    Ok(axum::Json(
        page(
            &state.db,
            &state.storage,
            &state.keys,
            account_id,
            id,
            link.expires,
        )
        .await?,
    ))
}

/// As `PUT /hub/quotes/{id}/sms`, from the client's page.
#[utoipa::path(put, path = "/hub/clients/{id}/sms", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = SmsChoice,
    responses((status = 200, body = HubClient), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_client_sms(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    Json(body): Json<SmsChoice>,
) -> Result<axum::Json<HubClient>, Error> {
    let account_id = check(&state.keys, id, &link)?;
    Ok(axum::Json(
        pages::set_sms_of_client(&state.db, account_id, id, body).await?,
    ))
}

/// A link to the client's hub page for the office to copy, or (`email: true`) to
/// email to the client (422 on `to` when the client has no email address).
#[utoipa::path(post, path = "/clients/{id}/hub-link", tag = "clients", params(("id" = Uuid, Path)),
    request_body = HubLinkInput,
    responses((status = 200, body = HubLink), (status = 403, body = Problem), (status = 404, body = Problem, description = "`client_not_found`"), (status = 422, body = Problem)))]
async fn client_hub_link(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Json(body): Json<HubLinkInput>,
) -> Result<axum::Json<HubLink>, Error> {
    Ok(axum::Json(
        office_link(
            &state.db,
            &state.keys,
            &state.config.public_url,
            &ctx,
            id,
            body,
        )
        .await?,
    ))
}

/// Email a fresh link to the client's page (of an expired or damaged link) to the
/// client's address on file. Always 202, whatever was found; at most one such
/// email per client every 5 minutes.
#[utoipa::path(post, path = "/hub/client-links", tag = "client hub", security(()),
    request_body = ClientResendInput,
    responses((status = 202, description = "a fresh link is on its way if the client has an email"), (status = 422, body = Problem)))]
async fn hub_client_resend(
    State(state): State<AppState>,
    Json(body): Json<ClientResendInput>,
) -> axum::http::StatusCode {
    if let Err(error) = resend(&state.db, state.links(), body).await {
        tracing::warn!(
            error = crate::error::chain(&error),
            "a fresh client-page link could not be sent"
        );
    }
    axum::http::StatusCode::ACCEPTED
}
