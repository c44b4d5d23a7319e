//! `/api/v1/public/{account}/…`: the request form and online booking, no login
//! (`{account}` is the form's slug). `/api/v1/requests`: the office's inbox.
//! `/api/v1/settings/request-form`: the form's and booking's settings.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{
    Booking, BookingInput, ConvertInput, FormSettings, FormSettingsInput, PublicForm, RequestInput,
    RequestStatus, SlotList, WorkRequest,
};
use super::service::{self, BookingError};
use crate::app::AppState;
use crate::http::concurrency::{Expected, tagged};
use crate::http::error::Problem;
use crate::http::extract::{Admin, ClientIp, Json, Path, Query, Staff};
use crate::http::pagination::{Page, PageRequest};
use crate::http::{ApiError, ErrorCode};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_form))
        .routes(routes!(public_submit))
        .routes(routes!(public_slots))
        .routes(routes!(public_book))
        .routes(routes!(list_requests))
        .routes(routes!(get_request))
        .routes(routes!(convert_request))
        .routes(routes!(archive_request))
        .routes(routes!(get_form_settings, update_form_settings))
        .merge(super::from_hub_routes::router())
        .merge(super::hours_routes::router())
}

/// The answer to a request sent from the public form.
#[derive(Debug, Serialize, ToSchema)]
pub struct Received {
    pub message: String,
}

/// What the public request form of a business needs: its name, contact details and
/// services.
#[utoipa::path(get, path = "/public/{account}/request-form", tag = "requests", security(()),
    params(("account" = String, Path, description = "The business's form name (slug)")),
    responses((status = 200, body = PublicForm), (status = 404, body = Problem, description = "`request_form_not_found`")))]
async fn public_form(
    State(state): State<AppState>,
    Path(account): Path<String>,
) -> Result<axum::Json<PublicForm>, ApiError> {
    Ok(axum::Json(service::public_form(&state.db, &account).await?))
}

/// Send a work request to the business. The office is told at once. `website` is a
/// spam trap that people never see: a request with it filled in is answered the
/// same way and dropped.
#[utoipa::path(post, path = "/public/{account}/requests", tag = "requests", security(()),
    params(("account" = String, Path, description = "The business's form name (slug)")),
    request_body = RequestInput,
    responses((status = 202, body = Received), (status = 404, body = Problem, description = "`request_form_not_found`"),
        (status = 422, body = Problem, description = "`validation_failed`, with the fields at fault")))]
async fn public_submit(
    State(state): State<AppState>,
    Path(account): Path<String>,
    ClientIp(ip): ClientIp,
    Json(body): Json<RequestInput>,
) -> Result<(StatusCode, axum::Json<Received>), ApiError> {
    service::submit(&state.db, &account, body, &ip.to_string()).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Received {
            message: "Thank you: your request was sent.".into(),
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotParams {
    /// A bookable service (`services[].id` with a `duration_minutes`).
    pub service: Uuid,
    /// First day, in the business's time zone (default today).
    #[serde(default, deserialize_with = "crate::domain::dates::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last day (default `from` + 13 days; at most 31 days in all).
    #[serde(default, deserialize_with = "crate::domain::dates::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
}

/// The free start times for a service: the business's working hours in its time
/// zone, minus its people's visits and the travel time around them.
#[utoipa::path(get, path = "/public/{account}/booking/slots", tag = "requests", security(()),
    params(("account" = String, Path, description = "The business's form name (slug)"), SlotParams),
    responses((status = 200, body = SlotList), (status = 404, body = Problem, description = "`request_form_not_found`: no such form, or it takes no bookings"),
        (status = 422, body = Problem, description = "`validation_failed`: `service` is not bookable, or `to` is out of range")))]
async fn public_slots(
    State(state): State<AppState>,
    Path(account): Path<String>,
    Query(params): Query<SlotParams>,
) -> Result<axum::Json<SlotList>, ApiError> {
    Ok(axum::Json(
        service::slots(&state.db, &account, params.service, params.from, params.to).await?,
    ))
}

/// Book a slot: the client, a job and its visit are made at once. A slot taken
/// meanwhile answers `409 slot_taken` with the free `slots` now (that day and the
/// week after).
#[utoipa::path(post, path = "/public/{account}/bookings", tag = "requests", security(()),
    params(("account" = String, Path, description = "The business's form name (slug)")),
    request_body = BookingInput,
    responses((status = 201, body = Booking), (status = 202, body = Received, description = "The spam trap was filled in: nothing was booked"),
        (status = 404, body = Problem, description = "`request_form_not_found`"),
        (status = 409, body = Problem, description = "`slot_taken`, with `slots`: the free slots now"),
        (status = 422, body = Problem, description = "`validation_failed`, with the fields at fault")))]
async fn public_book(
    State(state): State<AppState>,
    Path(account): Path<String>,
    ClientIp(ip): ClientIp,
    Json(body): Json<BookingInput>,
) -> Result<Response, ApiError> {
    match service::book(&state.db, &account, body, &ip.to_string()).await {
        Ok(Some(booking)) => Ok((StatusCode::CREATED, axum::Json(booking)).into_response()),
        Ok(None) => Ok((
            StatusCode::ACCEPTED,
            axum::Json(Received {
                message: "Thank you: your booking was sent.".into(),
            }),
        )
            .into_response()),
        Err(BookingError::Api(error)) => Err(error),
        Err(BookingError::Taken(slots)) => {
            let code = ErrorCode::SlotTaken;
            let body = Problem {
                type_: format!("urn:jobber:error:{}", code.as_str()),
                title: code.title(),
                status: 409,
                detail: "someone booked that time first; pick another".into(),
                code: code.as_str(),
                errors: Vec::new(),
                request_id: crate::http::middleware::current_request_id(),
                slots,
                current_version: None,
                updated_at: None,
                updated_by: None,
            };
            let mut response = (StatusCode::CONFLICT, axum::Json(body)).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            Ok(response)
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Only requests in this status.
    pub status: Option<RequestStatus>,
}

/// Work requests, newest first.
#[utoipa::path(get, path = "/requests", tag = "requests", params(RequestParams),
    responses((status = 200, body = Page<WorkRequest>), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_requests(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(params): Query<RequestParams>,
) -> Result<axum::Json<Page<WorkRequest>>, ApiError> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, params.status, page).await?,
    ))
}

/// One work request.
#[utoipa::path(get, path = "/requests/{id}", tag = "requests", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkRequest), (status = 404, body = Problem, description = "`request_not_found`"), (status = 403, body = Problem)))]
async fn get_request(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<WorkRequest>, ApiError> {
    Ok(axum::Json(service::get(&state.db, &ctx, id).await?))
}

/// Turn a request into a quote or a job, for the client with its email (a new client,
/// with a property at its address, when there is none). Converting again to the same
/// kind answers the same request; to the other kind, `409 invalid_transition`.
#[utoipa::path(post, path = "/requests/{id}/convert", tag = "requests", params(("id" = Uuid, Path)),
    request_body = ConvertInput,
    responses((status = 200, body = WorkRequest), (status = 404, body = Problem, description = "`request_not_found`"),
        (status = 409, body = Problem, description = "`invalid_transition`: archived, or converted to the other kind"),
        (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn convert_request(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Json(body): Json<ConvertInput>,
) -> Result<axum::Json<WorkRequest>, ApiError> {
    Ok(axum::Json(
        service::convert(&state.db, &ctx, id, body.to).await?,
    ))
}

/// Put a request away without converting it.
#[utoipa::path(post, path = "/requests/{id}/archive", tag = "requests", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkRequest), (status = 404, body = Problem, description = "`request_not_found`"),
        (status = 409, body = Problem, description = "`invalid_transition`: it was converted"), (status = 403, body = Problem)))]
async fn archive_request(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<WorkRequest>, ApiError> {
    Ok(axum::Json(service::archive(&state.db, &ctx, id).await?))
}

/// The request form's public name and online booking's settings.
#[utoipa::path(get, path = "/settings/request-form", tag = "requests",
    responses((status = 200, body = FormSettings, headers(("ETag" = String, description = "The version in quotes: send it back as `If-Match`"))), (status = 403, body = Problem)))]
async fn get_form_settings(
    State(state): State<AppState>,
    Staff(ctx): Staff,
) -> Result<Response, ApiError> {
    let settings = service::settings(&state.db, &ctx).await?;
    Ok(tagged(StatusCode::OK, settings.version, settings))
}

/// Change the form's public name (`slug`), turn the form or booking on or off, and
/// set working hours, travel buffer, notice and the bookable services. Requires the
/// `version` you read (or `If-Match`).
#[utoipa::path(put, path = "/settings/request-form", tag = "requests", request_body = FormSettingsInput,
    responses((status = 200, body = FormSettings, headers(("ETag" = String, description = "The version in quotes: send it back as `If-Match`"))),
        (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem, description = "`validation_failed`: e.g. `slug` is taken"), (status = 403, body = Problem)))]
async fn update_form_settings(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    headers: HeaderMap,
    Json(body): Json<FormSettingsInput>,
) -> Result<Response, ApiError> {
    let expected = Expected::required(&headers, body.version)?;
    let settings = service::update_settings(&state.db, &ctx, expected.version, body)
        .await
        .map_err(|e| expected.map_stale(e))?;
    Ok(tagged(StatusCode::OK, settings.version, settings))
}
