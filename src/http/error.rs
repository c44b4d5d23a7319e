//! RFC 9457 problem details. Every error the API returns has a stable machine `code`
//! from [`ErrorCode`]; `docs/api.md` lists them all (a test keeps the two in step).
//! Server errors log their cause with the request id and return a generic message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($variant:ident = ($code:literal, $status:ident, $title:literal),)*) => {
        /// Stable error codes. Clients match on these, never on `detail`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];
            pub fn as_str(self) -> &'static str { match self { $(ErrorCode::$variant => $code,)* } }
            pub fn status(self) -> StatusCode { match self { $(ErrorCode::$variant => StatusCode::$status,)* } }
            pub fn title(self) -> &'static str { match self { $(ErrorCode::$variant => $title,)* } }
        }
    };
}

error_codes! {
    MalformedJson = ("malformed_json", BAD_REQUEST, "The body is not valid JSON"),
    InvalidWebhookSignature = ("invalid_webhook_signature", BAD_REQUEST, "The webhook's signature is missing, stale or wrong"),
    InvalidOauthState = ("invalid_oauth_state", BAD_REQUEST, "The OAuth state is missing, forged or expired"),
    InvalidParameter = ("invalid_parameter", BAD_REQUEST, "A query or path parameter is invalid"),
    UnsupportedMediaType = ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "The body must be application/json"),
    PayloadTooLarge = ("payload_too_large", PAYLOAD_TOO_LARGE, "The request body is too large"),
    ValidationFailed = ("validation_failed", UNPROCESSABLE_ENTITY, "One or more fields are invalid"),
    Unauthenticated = ("unauthenticated", UNAUTHORIZED, "Authentication is required"),
    InvalidCredentials = ("invalid_credentials", UNAUTHORIZED, "Email or password is incorrect"),
    InvalidToken = ("invalid_token", UNAUTHORIZED, "The token is invalid or expired"),
    RefreshTokenReused = ("refresh_token_reused", UNAUTHORIZED, "A rotated refresh token was reused; the session was revoked"),
    TotpRequired = ("totp_required", UNAUTHORIZED, "Two-factor sign-in is on: send `totp_code` or `recovery_code`"),
    Forbidden = ("forbidden", FORBIDDEN, "Your role may not do this"),
    NotNoteAuthor = ("not_note_author", FORBIDDEN, "Only the note's author may change or delete it"),
    CsrfFailed = ("csrf_failed", FORBIDDEN, "The session cookie came without the right X-CSRF-Token header, or from another site"),
    SignupClosed = ("signup_closed", FORBIDDEN, "Sign-up is disabled on this server"),
    NotFound = ("not_found", NOT_FOUND, "No such route"),
    ClientNotFound = ("client_not_found", NOT_FOUND, "No such client"),
    PropertyNotFound = ("property_not_found", NOT_FOUND, "No such property"),
    UserNotFound = ("user_not_found", NOT_FOUND, "No such user"),
    SessionNotFound = ("session_not_found", NOT_FOUND, "No such session of yours"),
    TaxRateNotFound = ("tax_rate_not_found", NOT_FOUND, "No such tax rate"),
    CatalogItemNotFound = ("catalog_item_not_found", NOT_FOUND, "No such catalog item"),
    QuoteNotFound = ("quote_not_found", NOT_FOUND, "No such quote"),
    NotificationNotFound = ("notification_not_found", NOT_FOUND, "No such notification"),
    AttachmentNotFound = ("attachment_not_found", NOT_FOUND, "No such attachment"),
    UploadNotFound = ("upload_not_found", NOT_FOUND, "No such upload of yours: an upload is used once and kept 24 hours"),
    JobNotFound = ("job_not_found", NOT_FOUND, "No such job"),
    NoteNotFound = ("note_not_found", NOT_FOUND, "No such note on this job"),
    InvoiceNotFound = ("invoice_not_found", NOT_FOUND, "No such invoice"),
    PaymentNotFound = ("payment_not_found", NOT_FOUND, "No such payment"),
    LogoNotFound = ("logo_not_found", NOT_FOUND, "The business has no logo"),
    ExportNotFound = ("export_not_found", NOT_FOUND, "No such export, or it has expired"),
    AvatarNotFound = ("avatar_not_found", NOT_FOUND, "The client has no avatar (yet)"),
    FileNotFound = ("file_not_found", NOT_FOUND, "No such file, or the link is not valid"),
    VisitNotFound = ("visit_not_found", NOT_FOUND, "No such visit"),
    QuickbooksRecordNotFound = ("quickbooks_record_not_found", NOT_FOUND, "No such QuickBooks sync record"),
    BackgroundJobNotFound = ("background_job_not_found", NOT_FOUND, "No such dead background job"),
    RequestNotFound = ("request_not_found", NOT_FOUND, "No such work request"),
    RequestFormNotFound = ("request_form_not_found", NOT_FOUND, "No such request form: check the business's link"),
    MethodNotAllowed = ("method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed on this route"),
    VersionConflict = ("version_conflict", CONFLICT, "The resource changed since you read it"),
    EmailTaken = ("email_taken", CONFLICT, "That email address is already used"),
    TotpAlreadyEnabled = ("totp_already_enabled", CONFLICT, "Two-factor sign-in is already on; turn it off first"),
    TotpNotSetUp = ("totp_not_set_up", CONFLICT, "Start two-factor set-up (POST /auth/totp/setup) first"),
    LastOwner = ("last_owner", CONFLICT, "An account must keep at least one active owner"),
    InvalidTransition = ("invalid_transition", CONFLICT, "The record's status does not allow this action"),
    LinkExpired = ("link_expired", GONE, "The link has expired"),
    UploadExpired = ("upload_expired", GONE, "The upload is older than 24 hours; upload the file again"),
    PropertyInUse = ("property_in_use", CONFLICT, "Work refers to this property; it cannot be deleted"),
    ScheduleConflict = ("schedule_conflict", CONFLICT, "An assignee is already booked at that time"),
    SlotTaken = ("slot_taken", CONFLICT, "That time is no longer free; pick one of the slots returned"),
    OpenVisits = ("open_visits", CONFLICT, "The job still has open visits"),
    NothingToInvoice = ("nothing_to_invoice", CONFLICT, "There is nothing left to bill"),
    StripeNotConfigured = ("stripe_not_configured", CONFLICT, "Card payments need the account's Stripe keys (PUT /settings/payments/stripe)"),
    QuickbooksNotConfigured = ("quickbooks_not_configured", CONFLICT, "QuickBooks Online is not configured on this server (quickbooks_client_id)"),
    QuickbooksNotConnected = ("quickbooks_not_connected", CONFLICT, "The account is not connected to QuickBooks Online"),
    EmailNotConfigured = ("email_not_configured", CONFLICT, "Email needs a transport on this server (smtp_url, or email_transport = sendgrid with sendgrid_api_key)"),
    SmsNotConfigured = ("sms_not_configured", CONFLICT, "Text messages need Twilio on this server (twilio_account_sid, twilio_auth_token, twilio_from)"),
    SmsOptInRequired = ("sms_opt_in_required", CONFLICT, "The client has no phone number that agreed to text messages (sms_opt_in)"),
    AlreadyClockedIn = ("already_clocked_in", CONFLICT, "You are clocked in to another visit"),
    IdempotencyInProgress = ("idempotency_request_in_progress", CONFLICT, "A request with this Idempotency-Key is still being processed"),
    IdempotencyKeyReused = ("idempotency_key_reused", UNPROCESSABLE_ENTITY, "This Idempotency-Key was used with a different request"),
    PreconditionFailed = ("precondition_failed", PRECONDITION_FAILED, "If-Match does not match the current version"),
    PaymentProviderError = ("payment_provider_error", BAD_GATEWAY, "The payment provider refused or failed the request"),
    PaymentProviderUnavailable = ("payment_provider_unavailable", SERVICE_UNAVAILABLE, "The payment provider could not be reached; retry later (Retry-After)"),
    RateLimited = ("rate_limited", TOO_MANY_REQUESTS, "Too many attempts; retry later"),
    TooManySockets = ("too_many_sockets", TOO_MANY_REQUESTS, "Too many live connections for this user or account; close one"),
    UpgradeRequired = ("upgrade_required", UPGRADE_REQUIRED, "This endpoint speaks WebSocket: send an upgrade request"),
    Unavailable = ("unavailable", SERVICE_UNAVAILABLE, "The service is not ready"),
    ServerBusy = ("server_busy", SERVICE_UNAVAILABLE, "The server is busy; retry after the time in Retry-After"),
    TooManyConnections = ("too_many_connections", SERVICE_UNAVAILABLE, "The server has too many open connections; retry shortly"),
    DatabaseUnavailable = ("database_unavailable", SERVICE_UNAVAILABLE, "The database is unreachable; retry later (Retry-After)"),
    StorageUnavailable = ("storage_unavailable", SERVICE_UNAVAILABLE, "File storage is unreachable; retry later (Retry-After)"),
    Internal = ("internal", INTERNAL_SERVER_ERROR, "Internal server error"),
}

pub use crate::domain::FieldError;

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
}

/// A bookable time (online booking's `slot_taken` problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct FreeSlot {
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
}

/// What `Retry-After` says while the database is unreachable: about the time an
/// embedded PostgreSQL takes to restart.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 5;
/// What `Retry-After` says while file storage (S3) is unreachable.
pub const STORAGE_RETRY_AFTER_SECS: u64 = 30;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub detail: String,
    pub fields: Vec<FieldError>,
    pub retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    /// A problem with just the code's title as detail.
    pub fn code(code: ErrorCode) -> Self {
        Self::new(code, code.title())
    }

    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let detail = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        Self::new(ErrorCode::ValidationFailed, detail).with_fields(fields)
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    /// Attach the fields at fault.
    pub fn with_fields(mut self, fields: Vec<FieldError>) -> Self {
        self.fields = fields;
        self
    }

    /// A server error. One whose cause is the database being unreachable (see
    /// `platform::database::is_unavailable`) or file storage failing
    /// (`platform::storage::StorageUnavailable`) is an outage, not a bug: `503
    /// database_unavailable` / `storage_unavailable` with `Retry-After`.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let source = source.into();
        let mut error = if crate::platform::database::chain_is_unavailable(source.as_ref()) {
            Self::database_unavailable()
        } else if source
            .chain()
            .any(|e| e.is::<crate::platform::storage::StorageUnavailable>())
        {
            let mut error = Self::code(ErrorCode::StorageUnavailable);
            error.retry_after = Some(STORAGE_RETRY_AFTER_SECS);
            error
        } else {
            Self::code(ErrorCode::Internal)
        };
        error.source = Some(source);
        error
    }

    /// `503 database_unavailable` with `Retry-After`.
    pub fn database_unavailable() -> Self {
        let mut error = Self::code(ErrorCode::DatabaseUnavailable);
        error.retry_after = Some(DATABASE_RETRY_AFTER_SECS);
        error
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut error = Self::code(ErrorCode::RateLimited);
        error.retry_after = Some(retry_after_secs.max(1));
        error
    }

    /// 503 with `Retry-After`: the server has no capacity for this now.
    pub fn busy(retry_after_secs: u64) -> Self {
        let mut error = Self::code(ErrorCode::ServerBusy);
        error.retry_after = Some(retry_after_secs.max(1));
        error
    }

    pub fn version_conflict(current: i32) -> Self {
        Self::new(
            ErrorCode::VersionConflict,
            format!("the resource is at version {current}; reload it and apply your change again"),
        )
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)
    }
}

/// The cause of a server error stays reachable, so a worker or a command that turns
/// this into an `anyhow::Error` logs it (`{:#}`) instead of "Internal server error".
impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|cause| cause as &(dyn std::error::Error + 'static))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(error)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if matches!(
            self.code,
            ErrorCode::DatabaseUnavailable | ErrorCode::StorageUnavailable
        ) {
            // An outage answers every request this way: a warning each, not an error.
            tracing::warn!(
                error = self.source.as_ref().map(|s| format!("{s:#}")),
                code = self.code.as_str(),
                "request failed: a dependency is unavailable"
            );
        } else if status.is_server_error() {
            // The request id is on the current span; the cause stays in the logs.
            match &self.source {
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
        let problem = Problem {
            type_: format!("urn:jobber:error:{}", self.code.as_str()),
            title: self.code.title(),
            status: status.as_u16(),
            detail: self.detail,
            code: self.code.as_str(),
            errors: self.fields,
            request_id: crate::http::middleware::current_request_id(),
            slots: Vec::new(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.code == ErrorCode::Unauthenticated || self.code == ErrorCode::InvalidToken {
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
            code.status().as_u16(),
            code.title()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_error_keeps_its_cause_for_logs() {
        let error = ApiError::from(sqlx::Error::Protocol("connection reset by peer".into()));
        let logged = format!("{:#}", anyhow::Error::from(error));
        assert!(logged.starts_with("internal: "), "{logged}");
        assert!(logged.contains("connection reset by peer"), "{logged}");
    }

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
    }

    #[test]
    fn outages_of_dependencies_are_503_with_retry_after() {
        use anyhow::Context as _;
        let pool: anyhow::Result<()> = Err(sqlx::Error::PoolTimedOut).context("loading the client");
        let error = ApiError::internal(pool.unwrap_err());
        assert_eq!(error.code, ErrorCode::DatabaseUnavailable);
        assert_eq!(error.retry_after, Some(DATABASE_RETRY_AFTER_SECS));
        let socket = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone");
        assert_eq!(
            ApiError::from(sqlx::Error::Io(socket)).code,
            ErrorCode::DatabaseUnavailable
        );
        // A statement's own failure stays a 500.
        assert_eq!(
            ApiError::from(sqlx::Error::RowNotFound).code,
            ErrorCode::Internal
        );
        let s3 = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        let stored: anyhow::Result<()> =
            Err(crate::platform::storage::StorageUnavailable(s3).into());
        let error = ApiError::internal(stored.context("storing a photo").unwrap_err());
        assert_eq!(error.code, ErrorCode::StorageUnavailable);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.retry_after.is_some());
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
