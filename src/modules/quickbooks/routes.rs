//! `/api/v1/integrations/quickbooks`: connect (owner or admin), the OAuth callback
//! (public: authenticated by its sealed `state`), status, disconnect, and the sync
//! records with their errors and a retry.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::service::{
    self, CallbackOutcome, CallbackParams, ConnectReply, Kind, QuickBooksStatus, RecordQuery,
    SyncRecord, SyncState,
};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Admin, Path, Query};
use crate::http::pagination::{Page, PageRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_status, disconnect))
        .routes(routes!(connect))
        .routes(routes!(callback))
        .routes(routes!(list_records))
        .routes(routes!(retry_record))
}

/// Whether the account is connected, to which company (realm), when it last synced,
/// how many records are pending, synced and failed, and the latest errors.
#[utoipa::path(get, path = "/integrations/quickbooks", tag = "integrations",
    responses((status = 200, body = QuickBooksStatus), (status = 403, body = Problem)))]
async fn get_status(
    State(state): State<AppState>,
    Admin(ctx): Admin,
) -> Result<axum::Json<QuickBooksStatus>, ApiError> {
    Ok(axum::Json(
        service::status(&state.db, &state.quickbooks, &ctx).await?,
    ))
}

/// Start connecting the account's QuickBooks Online company (owner or admin): send
/// the browser to `authorize_url`. Intuit sends it back to
/// `/api/v1/integrations/quickbooks/callback`, which must be registered as a
/// redirect URI of the QuickBooks app. The `state` expires after 15 minutes.
/// 409 `quickbooks_not_configured` when the server has no QuickBooks app.
#[utoipa::path(post, path = "/integrations/quickbooks/connect", tag = "integrations",
    responses((status = 200, body = ConnectReply), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn connect(
    State(state): State<AppState>,
    Admin(ctx): Admin,
) -> Result<axum::Json<ConnectReply>, ApiError> {
    Ok(axum::Json(service::connect(
        &state.quickbooks,
        &ctx,
        &state.config.public_url,
    )?))
}

/// Intuit's redirect after the user's consent (no login: the sealed `state` names the
/// account and user and is checked first; a forged or expired one is 400
/// `invalid_oauth_state`). Exchanges the code, stores the tokens encrypted, and
/// redirects (303) to `/settings/integrations?quickbooks=connected`, or
/// `?quickbooks=error&reason=…` when the user declined or the exchange failed.
#[utoipa::path(get, path = "/integrations/quickbooks/callback", tag = "integrations", security(()),
    params(CallbackParams),
    responses((status = 303, description = "back to the web app's settings"), (status = 400, body = Problem)))]
async fn callback(
    State(state): State<AppState>,
    Query(params): Query<CallbackParams>,
) -> Result<Response, ApiError> {
    let outcome = service::callback(
        &state.db,
        &state.quickbooks,
        &state.config.public_url,
        params,
    )
    .await?;
    let base = format!("{}/settings/integrations", state.config.public_url);
    let location = match outcome {
        CallbackOutcome::Connected => format!("{base}?quickbooks=connected"),
        CallbackOutcome::Refused(reason) => reqwest::Url::parse_with_params(
            &base,
            &[("quickbooks", "error"), ("reason", reason.as_str())],
        )
        .map(String::from)
        .unwrap_or_else(|_| format!("{base}?quickbooks=error")),
    };
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// Disconnect (owner or admin): the tokens are forgotten and nothing more is pushed.
/// The record mapping stays, so reconnecting the same company updates rather than
/// duplicates. (The tokens are not revoked at Intuit; the user may also disconnect
/// the app in QuickBooks.)
#[utoipa::path(delete, path = "/integrations/quickbooks", tag = "integrations",
    responses((status = 204, description = "disconnected"), (status = 403, body = Problem)))]
async fn disconnect(
    State(state): State<AppState>,
    Admin(ctx): Admin,
) -> Result<StatusCode, ApiError> {
    service::disconnect(&state.db, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecordParams {
    /// `pending`, `synced` or `failed`.
    pub state: Option<SyncState>,
    /// `customer`, `invoice` or `payment`.
    pub kind: Option<Kind>,
    /// The jobber id of the client, invoice or payment.
    pub local_id: Option<Uuid>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The sync records (one per pushed client, invoice and payment), newest first, with
/// their state and last error.
#[utoipa::path(get, path = "/integrations/quickbooks/records", tag = "integrations", params(RecordParams),
    responses((status = 200, body = Page<SyncRecord>), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_records(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Query(params): Query<RecordParams>,
) -> Result<axum::Json<Page<SyncRecord>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let query = RecordQuery {
        state: params.state,
        kind: params.kind,
        local_id: params.local_id,
    };
    Ok(axum::Json(
        service::records(&state.db, &ctx, &query, page).await?,
    ))
}

/// Push the record again (after fixing what QuickBooks refused). 202: queued.
#[utoipa::path(post, path = "/integrations/quickbooks/records/{id}/retry", tag = "integrations",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = SyncRecord), (status = 404, body = Problem), (status = 409, body = Problem), (status = 403, body = Problem)))]
async fn retry_record(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, axum::Json<SyncRecord>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(service::retry(&state.db, &ctx, id).await?),
    ))
}
