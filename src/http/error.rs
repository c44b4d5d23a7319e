//! RFC 9457 problem details: the HTTP edge of [`crate::error::Error`]. Every error
//! the API returns has a stable machine `code` from [`ErrorCode`]; `docs/api.md` lists
//! them all (a test keeps the two in step). Server errors log their cause with the
//! request id and return a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use crate::error::{
    ChangedBy, DATABASE_RETRY_AFTER_SECS, Error as ApiError, ErrorCode, FieldError, FreeSlot,
    STORAGE_RETRY_AFTER_SECS, Stale,
};

/// The problem+json body (RFC 9457) with jobber's extensions `code` and `errors`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:jobber:error:<code>`).
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, listed in docs/api.md.
    pub code: &'static str,
    /// The fields at fault; present only when fields are at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
    /// The request's `X-Request-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub request_id: Option<String>,
    /// `slot_taken` only: the booking slots still free, to pick another from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub slots: Vec<FreeSlot>,
    /// `version_conflict` and `precondition_failed` only: the record's version now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub current_version: Option<i32>,
    /// `version_conflict` and `precondition_failed` only: when the record last changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `version_conflict` and `precondition_failed` only, when known: who made the
    /// record's last change (absent when the event log no longer holds it, after 7
    /// days, or for records whose changes raise no event).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    pub updated_by: Option<ChangedBy>,
}

/// The HTTP status of an error's code.
pub fn status(error: &ApiError) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status(&self);
        if matches!(
            self.code,
            ErrorCode::DatabaseUnavailable | ErrorCode::StorageUnavailable
        ) {
            // An outage answers every request this way: a warning each, not an error.
            tracing::warn!(
                error = self.cause().map(|s| format!("{s:#}")),
                code = self.code.as_str(),
                "request failed: a dependency is unavailable"
            );
        } else if status.is_server_error() {
            // The request id is on the current span; the cause stays in the logs.
            match self.cause() {
                Some(source) => tracing::error!(
                    error = format!("{source:#}"),
                    code = self.code.as_str(),
                    "request failed"
                ),
                None => {
                    tracing::error!(code = self.code.as_str(), detail = %self.detail, "request failed")
                }
            }
        }
        let retry_after = self.retry_after;
        let code = self.code;
        let stale = self.stale.map(|stale| *stale);
        let problem = Problem {
            type_: format!("urn:jobber:error:{}", code.as_str()),
            title: code.title(),
            status: status.as_u16(),
            detail: self.detail,
            code: code.as_str(),
            errors: self.fields,
            request_id: crate::http::middleware::current_request_id(),
            slots: Vec::new(),
            current_version: stale.as_ref().map(|s| s.current_version),
            updated_at: stale.as_ref().and_then(|s| s.updated_at),
            updated_by: stale.and_then(|s| s.updated_by),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if code == ErrorCode::Unauthenticated || code == ErrorCode::InvalidToken {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Markdown table of every code (kept in docs/api.md; a test compares).
pub fn codes_markdown() -> String {
    let mut out = String::from("| code | status | meaning |\n|---|---|---|\n");
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.status(),
            code.title()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_an_http_status() {
        for code in ErrorCode::ALL {
            assert!(StatusCode::from_u16(code.status()).is_ok(), "{code:?}");
        }
    }

    #[test]
    fn outages_answer_503_with_retry_after() {
        let response = ApiError::database_unavailable().into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[header::RETRY_AFTER],
            DATABASE_RETRY_AFTER_SECS.to_string()
        );
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
    }

    #[test]
    fn docs_list_every_code() {
        let docs = include_str!("../../docs/api.md");
        assert!(
            docs.contains(&codes_markdown()),
            "docs/api.md is out of date; paste the table printed by `jobber config error-codes`:\n{}",
            codes_markdown()
        );
    }
}
