//! `GET /status` on the admin listener, behind the admin token.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;
use crate::http::{ApiError, ErrorCode};

/// The admin listener's routes of this module.
pub fn admin_router() -> Router<AppState> {
    Router::new().route("/status", get(status))
}

async fn status(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let header = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "send the admin token as `Authorization: Bearer <token>`; it is the file admin.token in the data dir",
        )
    })?;
    let token = crate::http::extract::bearer(header)?;
    if !state.operations.authorized(token) {
        return Err(ApiError::new(
            ErrorCode::InvalidToken,
            "this is not the admin token of this instance (admin.token in its data dir)",
        ));
    }
    let status = state
        .operations
        .status(
            &state.db,
            &state.metrics,
            state.live.stats().connections.get(),
            state.config.role,
        )
        .await;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(status),
    )
        .into_response())
}
