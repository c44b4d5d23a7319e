//! `/api/v1/quotes…`. Office staff only.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{Quote, QuoteInput, QuotePreview, QuotePreviewInput};
use super::service::{self, ApproveInput, ChangesInput, ConvertInput, DeclineInput, SendInput};
use super::state::QuoteStatus;
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::concurrency::{Expected, tagged};
use crate::http::error::Problem;
use crate::http::extract::{ClientIp, Json, OptionalJson, Path, Query, Staff};
use crate::http::pagination::{AnyOf, Page, PageRequest};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_quotes, create_quote))
        .routes(routes!(preview_quote))
        .routes(routes!(get_quote, update_quote))
        .routes(routes!(send_quote))
        .routes(routes!(approve_quote))
        .routes(routes!(decline_quote))
        .routes(routes!(request_changes))
        .routes(routes!(archive_quote))
        .routes(routes!(convert_quote))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuoteParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// One status, or several separated by commas: `sent,changes_requested` lists the
    /// quotes the dashboard counts as awaiting a reply.
    #[param(value_type = Option<String>, example = "sent,changes_requested")]
    #[serde(default)]
    pub status: AnyOf<QuoteStatus>,
    pub client_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    pub version: Option<i32>,
}

/// Quotes, newest first; filter by `status` and `client_id`.
#[utoipa::path(get, path = "/quotes", tag = "quotes", params(QuoteParams), responses((status = 200, body = Page<Quote>), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_quotes(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(params): Query<QuoteParams>,
) -> Result<axum::Json<Page<Quote>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, &params.status.0, params.client_id, page).await?,
    ))
}

/// Create a draft quote; its number is assigned now. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/quotes", tag = "quotes", request_body = QuoteInput,
    responses((status = 201, body = Quote), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<QuoteInput>,
) -> Result<(StatusCode, axum::Json<Quote>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create(&state.db, &ctx, body).await?),
    ))
}

/// What a quote with these lines, tax rates, discount and deposit would total,
/// computed by the same code that prices a saved quote; nothing is saved. The
/// builder calls it as the user types. 422 names the line or field at fault.
#[utoipa::path(post, path = "/quotes/preview", tag = "quotes", request_body = QuotePreviewInput,
    responses((status = 200, body = QuotePreview), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn preview_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<QuotePreviewInput>,
) -> Result<axum::Json<QuotePreview>, ApiError> {
    Ok(axum::Json(service::preview(&state.db, &ctx, body).await?))
}

/// One quote with its lines and totals.
#[utoipa::path(get, path = "/quotes/{id}", tag = "quotes", params(("id" = Uuid, Path)),
    responses((status = 200, body = Quote, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let quote = service::get(&state.db, &ctx, id).await?;
    Ok(tagged(StatusCode::OK, quote.version, quote))
}

/// Replace a quote's content (while draft, sent or changes_requested). Requires the
/// `version` you read (or `If-Match`).
#[utoipa::path(put, path = "/quotes/{id}", tag = "quotes", params(("id" = Uuid, Path)), request_body = QuoteInput,
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 412, body = Problem)))]
async fn update_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(body): Json<QuoteInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    service::update(&state.db, &ctx, id, expected.version, body)
        .await
        .map_err(|e| expected.map_stale(e))
        .map(axum::Json)
}

/// Send the quote to the client: marks it sent and queues the email with the link to
/// review and approve it.
#[utoipa::path(post, path = "/quotes/{id}/send", tag = "quotes", params(("id" = Uuid, Path)), request_body = SendInput,
    responses((status = 200, body = Quote), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn send_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<SendInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    Ok(axum::Json(
        service::send(
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

/// Record the client's approval: signature name, chosen optional lines, time and IP.
#[utoipa::path(post, path = "/quotes/{id}/approve", tag = "quotes", params(("id" = Uuid, Path)), request_body = ApproveInput,
    responses((status = 200, body = Quote), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn approve_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<Uuid>,
    Json(body): Json<ApproveInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    Ok(axum::Json(
        service::approve(&state.db, &ctx, id, body, Some(ip.to_string())).await?,
    ))
}

/// Record that the client declined.
#[utoipa::path(post, path = "/quotes/{id}/decline", tag = "quotes", params(("id" = Uuid, Path)), request_body = DeclineInput,
    responses((status = 200, body = Quote), (status = 409, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn decline_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<DeclineInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    Ok(axum::Json(
        service::decline(&state.db, &ctx, id, body).await?,
    ))
}

/// Record that the client asked for changes.
#[utoipa::path(post, path = "/quotes/{id}/request-changes", tag = "quotes", params(("id" = Uuid, Path)), request_body = ChangesInput,
    responses((status = 200, body = Quote), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn request_changes(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Json(body): Json<ChangesInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    Ok(axum::Json(
        service::request_changes(&state.db, &ctx, id, body).await?,
    ))
}

/// Archive the quote (any status but converted).
#[utoipa::path(post, path = "/quotes/{id}/archive", tag = "quotes", params(("id" = Uuid, Path)), request_body = VersionBody,
    responses((status = 200, body = Quote), (status = 409, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn archive_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> Result<axum::Json<Quote>, ApiError> {
    Ok(axum::Json(
        service::archive(&state.db, &ctx, id, body.version).await?,
    ))
}

/// Create a job from an approved quote, carrying the lines the client accepted.
#[utoipa::path(post, path = "/quotes/{id}/convert", tag = "quotes", params(("id" = Uuid, Path)), request_body = ConvertInput,
    responses((status = 201, body = crate::modules::jobs::model::Job), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn convert_quote(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<ConvertInput>,
) -> Result<(StatusCode, axum::Json<crate::modules::jobs::model::Job>), ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(service::convert(&state.db, &ctx, id, body).await?),
    ))
}
