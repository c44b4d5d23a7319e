//! `/api/v1/hub/…`: public routes authorized by a signed link instead of a login.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{Kind, LinkParams, check};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{ClientIp, Json, Path, Query};
use crate::modules::invoices::model::Invoice;
use crate::modules::quotes::model::Quote;
use crate::modules::quotes::service::{self as quotes, Actor, ApproveInput, ChangesInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hub_quote))
        .routes(routes!(hub_approve))
        .routes(routes!(hub_request_changes))
        .routes(routes!(hub_invoice))
}

fn client(account_id: Uuid) -> Actor {
    Actor {
        account_id,
        user_id: None,
    }
}

/// A quote as its client sees it in the hub.
#[utoipa::path(get, path = "/hub/quotes/{id}", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_quote(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<Quote>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        quotes::get_for(&state.db, client(account_id), id).await?,
    ))
}

/// The client approves the quote, picking optional lines and signing with their
/// name; their address is recorded. Approving an approved quote again (a
/// double-click) returns it unchanged.
#[utoipa::path(post, path = "/hub/quotes/{id}/approve", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = ApproveInput,
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem)))]
async fn hub_approve(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    ClientIp(ip): ClientIp,
    Json(body): Json<ApproveInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        quotes::approve_by_client(&state.db, account_id, id, body, ip.to_string()).await?,
    ))
}

/// The client asks for changes instead of approving.
#[utoipa::path(post, path = "/hub/quotes/{id}/request-changes", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = ChangesInput,
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem)))]
async fn hub_request_changes(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    Json(body): Json<ChangesInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        quotes::request_changes_as(&state.db, client(account_id), id, body).await?,
    ))
}

/// An invoice as its client sees it in the hub.
#[utoipa::path(get, path = "/hub/invoices/{id}", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    responses((status = 200, body = Invoice), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_invoice(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let account_id = check(&state.keys, Kind::Invoice, id, &link)?;
    Ok(axum::Json(
        crate::modules::invoices::service::get_for_client(&state.db, account_id, id).await?,
    ))
}
