//! Optimistic concurrency, one way for every resource: responses carry
//! `ETag: "<version>"`; a write names the version it is based on, either as
//! `If-Match` (a stale one is 412, RFC 9110 §13.1.1) or as `version` in the body (a
//! stale one is 409 `version_conflict`).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::http::extract::if_match_version;
use crate::http::{ApiError, ErrorCode};

/// The version a write is based on, and where the caller said it.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub version: i32,
    from_header: bool,
}

impl Expected {
    /// Required: `If-Match` or the body's `version`.
    pub fn required(headers: &HeaderMap, body: Option<i32>) -> Result<Self, ApiError> {
        Self::optional(headers, body)?.ok_or_else(|| {
            ApiError::field(
                "version",
                "is required: send the version you read (or If-Match)",
            )
        })
    }

    /// Optional (deletes and actions): checked when given.
    pub fn optional(headers: &HeaderMap, body: Option<i32>) -> Result<Option<Self>, ApiError> {
        Ok(match (if_match_version(headers)?, body) {
            (Some(version), _) => Some(Self {
                version,
                from_header: true,
            }),
            (None, Some(version)) => Some(Self {
                version,
                from_header: false,
            }),
            (None, None) => None,
        })
    }

    /// A stale `If-Match` is a failed precondition (412), a stale body version a
    /// conflict (409).
    pub fn map_stale(self, error: ApiError) -> ApiError {
        if self.from_header && error.code == ErrorCode::VersionConflict {
            // The same problem under the header's status: its detail and what it
            // says of the record now (version, who changed it) are kept.
            let mut error = error;
            error.code = ErrorCode::PreconditionFailed;
            error
        } else {
            error
        }
    }
}

/// Apply [`Expected::map_stale`] when there is an expectation.
pub fn map_stale(expected: Option<Expected>) -> impl Fn(ApiError) -> ApiError {
    move |error| match expected {
        Some(expected) => expected.map_stale(error),
        None => error,
    }
}

/// JSON with `ETag: "<version>"`.
pub fn tagged<T: Serialize>(status: StatusCode, version: i32, body: T) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
