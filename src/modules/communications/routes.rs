//! Twilio's webhooks: `POST /api/v1/webhooks/twilio/status` (delivery statuses of
//! the texts jobber sent) and `POST /api/v1/webhooks/twilio/inbound` (clients'
//! replies). Public: authenticated by `X-Twilio-Signature` alone, computed over
//! `public_url` + the request's path and query, so `public_url` must be the address
//! Twilio calls.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{connections, on_my_way, sms};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::Query;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(twilio_status))
        .routes(routes!(twilio_inbound))
        .routes(routes!(client_messages))
        .routes(routes!(messaging_status))
        .routes(routes!(test_email))
        .routes(routes!(test_sms))
        .routes(routes!(on_my_way))
}

/// Whether this server can send emails and texts, and from what (owner or admin).
/// The transports are the operator's configuration (`smtp_url` or SendGrid,
/// Twilio); no secret is shown.
#[utoipa::path(get, path = "/settings/messaging", tag = "settings",
    responses((status = 200, body = connections::MessagingStatus), (status = 403, body = Problem)))]
async fn messaging_status(
    State(state): State<AppState>,
    crate::http::extract::Admin(_ctx): crate::http::extract::Admin,
) -> axum::Json<connections::MessagingStatus> {
    axum::Json(connections::status(&state.config))
}

/// Send a test email now through the configured transport (owner or admin), from
/// the business as client emails are; to `to`, or to the caller's own address. The
/// answer says whether the transport accepted it and, if not, its reason (`sent:
/// false`). 409 `email_not_configured` when the server has no transport.
#[utoipa::path(post, path = "/settings/email/test", tag = "settings", request_body = connections::TestEmailInput,
    responses((status = 200, body = connections::TestOutcome), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn test_email(
    State(state): State<AppState>,
    crate::http::extract::Admin(ctx): crate::http::extract::Admin,
    crate::http::extract::Json(body): crate::http::extract::Json<connections::TestEmailInput>,
) -> Result<axum::Json<connections::TestOutcome>, ApiError> {
    Ok(axum::Json(
        connections::test_email(&state.db, &state.config, &ctx, body).await?,
    ))
}

/// Send a test text now through Twilio (owner or admin) to the mobile number `to`.
/// The answer says whether Twilio accepted it and, if not, Twilio's reason (`sent:
/// false`). 409 `sms_not_configured` when the server has no Twilio.
#[utoipa::path(post, path = "/settings/sms/test", tag = "settings", request_body = connections::TestSmsInput,
    responses((status = 200, body = connections::TestOutcome), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn test_sms(
    State(state): State<AppState>,
    crate::http::extract::Admin(ctx): crate::http::extract::Admin,
    crate::http::extract::Json(body): crate::http::extract::Json<connections::TestSmsInput>,
) -> Result<axum::Json<connections::TestOutcome>, ApiError> {
    Ok(axum::Json(
        connections::test_sms(&state.db, &state.config, &ctx, body).await?,
    ))
}

/// A client's communication history: every email and text sent to them or received
/// from them, with its status (`queued`, `sent`, `delivered`, `failed` with the
/// reason, …), newest first. Office staff only.
#[utoipa::path(get, path = "/clients/{id}/messages", tag = "clients",
    params(("id" = Uuid, Path), crate::http::pagination::PageParams),
    responses((status = 200, body = crate::http::pagination::Page<super::repo::HistoryEntry>), (status = 404, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn client_messages(
    State(state): State<AppState>,
    crate::http::extract::Staff(ctx): crate::http::extract::Staff,
    crate::http::extract::Path(id): crate::http::extract::Path<Uuid>,
    Query(params): Query<crate::http::pagination::PageParams>,
) -> Result<axum::Json<crate::http::pagination::Page<super::repo::HistoryEntry>>, ApiError> {
    let page = crate::http::pagination::PageRequest::parse(params.limit, params.cursor.as_deref())?;
    Ok(axum::Json(super::history(&state.db, &ctx, id, page).await?))
}

/// The form parameters of a Twilio webhook, in order.
fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The signed path: this route's full path (the router sees it without `/api/v1`)
/// and the query as received.
fn path_and_query(path: &str, uri: &Uri) -> String {
    match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    }
}

fn signature(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusParams {
    /// Set by jobber in the `StatusCallback` it gives Twilio.
    pub account: Uuid,
    pub message: Uuid,
}

/// Twilio's delivery-status callback for a text jobber sent (the `StatusCallback`
/// URL jobber gives with each message). Moves the message to `sent`, `delivered`,
/// `undelivered` or `failed` (with Twilio's `ErrorCode`); statuses never move back.
/// A missing or wrong signature is 400 `invalid_webhook_signature`.
#[utoipa::path(post, path = "/webhooks/twilio/status", tag = "communications", security(()),
    params(StatusParams, ("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 of the URL and sorted parameters")),
    request_body(content = String, description = "Twilio's form: MessageSid, MessageStatus, ErrorCode, …", content_type = "application/x-www-form-urlencoded"),
    responses((status = 204, description = "recorded"), (status = 400, body = Problem)))]
async fn twilio_status(
    State(state): State<AppState>,
    uri: Uri,
    Query(p): Query<StatusParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let params = form(&body);
    crate::platform::events::act_as(crate::platform::events::Actor::Webhook("twilio".into()));
    sms::verify(
        &state.config.twilio,
        &state.config.public_url,
        &path_and_query(sms::STATUS_PATH, &uri),
        &params,
        signature(&headers),
    )?;
    sms::record_status(&state.db, p.account, p.message, &params).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A client's text to the business's Twilio number (configure it as the number's
/// "A message comes in" webhook). Stored as an inbound message of the account that
/// last texted that client, the office notified (`message_received`); `STOP` /
/// `START` (and Twilio's other opt-out / opt-in keywords) turn the phone's
/// `sms_opt_in` off / on. Answers empty TwiML (no automatic reply).
#[utoipa::path(post, path = "/webhooks/twilio/inbound", tag = "communications", security(()),
    params(("X-Twilio-Signature" = String, Header, description = "base64 HMAC-SHA1 of the URL and sorted parameters")),
    request_body(content = String, description = "Twilio's form: From, To, Body, MessageSid, …", content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "empty TwiML", content_type = "text/xml"), (status = 400, body = Problem)))]
async fn twilio_inbound(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = form(&body);
    crate::platform::events::act_as(crate::platform::events::Actor::Webhook("twilio".into()));
    sms::verify(
        &state.config.twilio,
        &state.config.public_url,
        &path_and_query(sms::INBOUND_PATH, &uri),
        &params,
        signature(&headers),
    )?;
    sms::receive(&state.db, &params).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/xml")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
    )
        .into_response())
}

/// Text the client that you are on the way (an assigned technician, or office
/// staff), optionally with `eta_minutes`. The text is queued (`sms.send`) to the
/// client's primary phone with `sms_opt_in`, else the first such phone. 409
/// `sms_opt_in_required` when no phone agreed to texts, `sms_not_configured` when the
/// server has no Twilio, `invalid_transition` when the visit is completed or
/// cancelled.
#[utoipa::path(post, path = "/visits/{id}/on-my-way", tag = "visits", params(("id" = Uuid, Path)),
    request_body(content = on_my_way::OnMyWay),
    responses((status = 202, body = on_my_way::QueuedText), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn on_my_way(
    State(state): State<AppState>,
    ctx: crate::http::extract::Ctx,
    crate::http::extract::Path(id): crate::http::extract::Path<Uuid>,
    crate::http::extract::OptionalJson(body): crate::http::extract::OptionalJson<
        on_my_way::OnMyWay,
    >,
) -> Result<(StatusCode, axum::Json<on_my_way::QueuedText>), ApiError> {
    let text =
        on_my_way::on_my_way(&state.db, &ctx, state.config.twilio.configured(), id, body).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(text)))
}
