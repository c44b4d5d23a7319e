//! The HTTP routes of work requests sent from the client hub (`from_hub`).

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::from_hub::*;
use crate::app::AppState;
use crate::error::Error;
use crate::http::error::Problem;
use crate::http::extract::{ClientIp, Json, Path, Query};
use crate::modules::hub::{self, LinkParams};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(hub_request_work))
}

/// "Request more work": the client asks the business for more work from their hub
/// page. It arrives in the office's Requests inbox (`source: hub`) with the client
/// set, and the office is notified.
#[utoipa::path(post, path = "/hub/clients/{id}/requests", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = HubRequestInput,
    responses((status = 201, body = HubRequestReceived), (status = 404, body = Problem), (status = 410, body = Problem),
        (status = 422, body = Problem, description = "`validation_failed`: `details`, `service_id`, `property_id` or `preferred_times`")))]
async fn hub_request_work(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    ClientIp(ip): ClientIp,
    Json(body): Json<HubRequestInput>,
) -> Result<(StatusCode, axum::Json<HubRequestReceived>), Error> {
    let account_id = hub::client_page::check(&state.keys, id, &link)?;
    let request_id = submit(&state.db, account_id, id, body, &ip.to_string()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(HubRequestReceived {
            id: request_id,
            message: "Thank you: your request was sent.".into(),
        }),
    ))
}
