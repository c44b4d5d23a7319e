//! Request middleware: a request id on every response and log line, a tracing span,
//! and the Prometheus request metrics labelled by matched route.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::platform::metrics::Metrics;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

use crate::platform::logging::REQUEST_ID;
pub use crate::platform::logging::current_request_id;

/// The route template a request matched, carried from the router out to [`observe`].
#[derive(Clone)]
struct RouteLabel(String);

/// Inner layer (`route_layer`): runs after routing, so it knows the matched route.
pub async fn label_route(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// Outer layer: request id, span, access log and metrics for every request.
pub async fn observe(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = request.method().clone();
    // A caller's W3C trace context, continued by the exported span
    // (platform::otlp); a malformed header is ignored.
    let traceparent = request
        .headers()
        .get(crate::platform::otlp::TRACEPARENT_FIELD)
        .and_then(|v| v.to_str().ok())
        .filter(|v| crate::platform::otlp::parse_traceparent(v).is_some())
        .map(str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = tracing::field::Empty,
        status = tracing::field::Empty,
        traceparent = traceparent.map(tracing::field::display)
    );
    let started = Instant::now();
    let in_flight = InFlight::enter(&metrics);

    let mut response = REQUEST_ID
        .scope(
            request_id.clone(),
            crate::platform::events::acting(None, next.run(request)),
        )
        .instrument(span.clone())
        .await;

    drop(in_flight);
    let elapsed = started.elapsed();
    let status = response.status();
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or("unmatched", |r| r.0.as_str());
    // For the trace (platform::otlp): what the span was, once known.
    span.record("route", route);
    span.record("status", status.as_u16());
    let labels = [method.as_str(), route, status.as_str()];
    metrics.http_requests.with_label_values(&labels).inc();
    metrics
        .http_duration
        .with_label_values(&labels)
        .observe(elapsed.as_secs_f64());
    metrics.traffic.record(status.as_u16(), elapsed);
    span.in_scope(|| {
        tracing::info!(
            route,
            status = status.as_u16(),
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Headers every answer carries, and error answers made problem+json.
///
/// - `X-Content-Type-Options: nosniff` on everything: a browser must never run an
///   upload or a JSON body as HTML because its bytes look like it.
/// - `Cache-Control: no-store` on answers to authenticated requests and on file
///   downloads (whose signed URL is the credential), whatever the handler said:
///   nothing private stays in a browser's or a proxy's cache. The web app's own
///   files ([`assets::PublicAsset`](crate::http::assets::PublicAsset)) are the same
///   for everyone and keep their caching when the browser sends its session cookie.
/// - An error that axum itself produced (a body over the limit, a rejected extractor)
///   is plain text; it is rewritten as the problem+json every other error is.
pub async fn harden(request: Request, next: Next) -> Response {
    let private = request
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION)
        || request.headers().contains_key(axum::http::header::COOKIE)
        || request.uri().path().starts_with("/files/");
    let mut response = next.run(request).await;
    let public_asset = response
        .extensions()
        .get::<crate::http::assets::PublicAsset>()
        .is_some();
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !is_problem(&response) {
        response = as_problem(response).await;
    }
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if private && !public_asset {
        headers.insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    response
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"))
}

async fn as_problem(response: Response) -> Response {
    use crate::http::{ApiError, ErrorCode};
    use axum::response::IntoResponse;
    let status = response.status();
    let code = match status.as_u16() {
        400 => ErrorCode::InvalidParameter,
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationFailed,
        429 => ErrorCode::RateLimited,
        503 => ErrorCode::Unavailable,
        // Statuses without a code of their own keep their answer (a 204-less 3xx
        // cannot get here; TwiML and the like are 2xx).
        _ if status.is_server_error() => ErrorCode::Internal,
        _ => return response,
    };
    // axum's rejection texts are short and name no internals ("Failed to buffer the
    // request body: length limit exceeded"); keep them as the detail.
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .filter(|t| !t.trim().is_empty() && code != ErrorCode::Internal)
        .unwrap_or_else(|| code.title().to_owned());
    let mut problem = ApiError::new(code, text).into_response();
    *problem.status_mut() = parts.status;
    for name in [axum::http::header::RETRY_AFTER, axum::http::header::ALLOW] {
        if let Some(value) = parts.headers.get(&name) {
            problem.headers_mut().insert(name, value.clone());
        }
    }
    problem
}

/// One request counted in `http_in_flight` while it lives: the gauge comes back down
/// even when the request's future is dropped half-way (the client went away) or a
/// panic unwinds through here (`crate::http::panic` should have caught it first).
struct InFlight<'a>(&'a Metrics);

impl<'a> InFlight<'a> {
    fn enter(metrics: &'a Metrics) -> Self {
        metrics.http_in_flight.inc();
        Self(metrics)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.http_in_flight.dec();
    }
}
