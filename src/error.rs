//! The errors of the domain: what services, repos and workers return. An [`Error`]
//! carries a stable machine [`ErrorCode`] (with its title and HTTP status class),
//! a human `detail`, the fields at fault, and for a server error its cause, kept as
//! the error's `source()`: a worker or a command that logs it with `{:#}` shows the
//! real cause, not "Internal server error". It knows no HTTP: `http::error` turns it
//! into problem+json at the edge (docs/design.md, "Layers").

use serde::Serialize;
use utoipa::ToSchema;

pub use crate::domain::FieldError;

/// The HTTP statuses the codes map to, by their `StatusCode` names (the table
/// below reads like the one in docs/api.md).
mod status {
    pub const BAD_REQUEST: u16 = 400;
    pub const UNAUTHORIZED: u16 = 401;
    pub const FORBIDDEN: u16 = 403;
    pub const NOT_FOUND: u16 = 404;
    pub const METHOD_NOT_ALLOWED: u16 = 405;
    pub const CONFLICT: u16 = 409;
    pub const GONE: u16 = 410;
    pub const PRECONDITION_FAILED: u16 = 412;
    pub const PAYLOAD_TOO_LARGE: u16 = 413;
    pub const UNSUPPORTED_MEDIA_TYPE: u16 = 415;
    pub const UNPROCESSABLE_ENTITY: u16 = 422;
    pub const UPGRADE_REQUIRED: u16 = 426;
    pub const TOO_MANY_REQUESTS: u16 = 429;
    pub const INTERNAL_SERVER_ERROR: u16 = 500;
    pub const BAD_GATEWAY: u16 = 502;
    pub const SERVICE_UNAVAILABLE: u16 = 503;
}

macro_rules! error_codes {
    ($($variant:ident = ($code:literal, $status:ident, $title:literal),)*) => {
        /// Stable error codes. Clients match on these, never on `detail`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];
            pub fn as_str(self) -> &'static str { match self { $(ErrorCode::$variant => $code,)* } }
            /// The HTTP status a problem with this code answers with.
            pub fn status(self) -> u16 { match self { $(ErrorCode::$variant => status::$status,)* } }
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

/// A bookable time (online booking's `slot_taken` problem).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct FreeSlot {
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub ends_at: chrono::DateTime<chrono::Utc>,
}

/// Who made the last change of a record (a stale write's `updated_by`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangedBy {
    /// A team member, by name as it is now.
    User { id: uuid::Uuid, name: String },
    /// The client, in the client hub (approving a quote, paying an invoice).
    Client,
    /// The server itself: a background job, a scheduled task or a webhook (Stripe,
    /// QuickBooks).
    System,
}

/// What a stale write (409 `version_conflict`, 412 `precondition_failed`) says of the
/// record as it is now, so the caller can show who changed what and reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Stale {
    pub current_version: i32,
    /// When the record last changed.
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who changed it last, when known (changes of the last 7 days that the event
    /// log records: see docs/api.md "Optimistic concurrency").
    pub updated_by: Option<ChangedBy>,
}

/// What `Retry-After` says while the database is unreachable: about the time an
/// embedded PostgreSQL takes to restart.
pub const DATABASE_RETRY_AFTER_SECS: u64 = 5;
/// What `Retry-After` says while file storage (S3) is unreachable.
pub const STORAGE_RETRY_AFTER_SECS: u64 = 30;

/// Why an operation failed. Its `Display` is `code: detail`; a server error's cause
/// is its `source()`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {detail}", code.as_str())]
pub struct Error {
    pub code: ErrorCode,
    pub detail: String,
    pub fields: Vec<FieldError>,
    /// Seconds the caller should wait before retrying (outages, rate limits).
    pub retry_after: Option<u64>,
    /// A stale write: the record as it is now.
    pub stale: Option<Box<Stale>>,
    #[source]
    source: Option<anyhow::Error>,
}

impl Error {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            fields: Vec::new(),
            retry_after: None,
            stale: None,
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

    /// 409 `version_conflict`: the record is at `current`, not the version the caller
    /// read. A service says who changed it with `users::service::stale_in`.
    pub fn version_conflict(current: i32) -> Self {
        Self::stale(Stale {
            current_version: current,
            updated_at: None,
            updated_by: None,
        })
    }

    /// 409 `version_conflict` with what is known of the record's last change.
    pub fn stale(stale: Stale) -> Self {
        let who = match &stale.updated_by {
            Some(ChangedBy::User { name, .. }) => format!("{name} changed it; "),
            Some(ChangedBy::Client) => "the client changed it; ".to_owned(),
            Some(ChangedBy::System) => "it was changed automatically; ".to_owned(),
            None => String::new(),
        };
        let mut error = Self::new(
            ErrorCode::VersionConflict,
            format!(
                "{who}the resource is at version {}; reload it and apply your change again",
                stale.current_version
            ),
        );
        error.stale = Some(Box::new(stale));
        error
    }

    /// The HTTP status class of the code (the edge answers with it).
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// Whether this is the server's fault (5xx): the caller cannot fix it.
    pub fn is_server_error(&self) -> bool {
        self.status() >= 500
    }

    /// The cause of a server error, for the logs; never shown to a caller.
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.source.as_ref()
    }
}

/// An error and its causes on one line (`internal: Internal server error: loading the
/// client: pool timed out`), as `{:#}` of an `anyhow::Error` prints it: what a log line
/// says of a failure, so it names the real cause.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let cause_text = cause.to_string();
        // `anyhow` contexts may repeat their source's text; say each cause once.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        next = cause.source();
    }
    text
}

impl Error {
    /// The database error this one came from, for an in-transaction listener (whose
    /// errors are the database's: the change fails with it); any other error becomes
    /// the cause of one, its chain kept.
    pub fn into_database(mut self) -> sqlx::Error {
        if self.source.as_ref().is_some_and(|s| s.is::<sqlx::Error>())
            && let Some(Ok(database)) = self.source.take().map(|s| s.downcast::<sqlx::Error>())
        {
            return database;
        }
        sqlx::Error::Decode(Box::new(self))
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        Self::internal(error)
    }
}

impl From<anyhow::Error> for Error {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listener_fails_with_the_database_error_it_met_or_one_that_carries_its_own() {
        let database = Error::from(sqlx::Error::Protocol("connection reset".into()));
        assert!(matches!(
            database.into_database(),
            sqlx::Error::Protocol(m) if m == "connection reset"
        ));
        let other = Error::field("to", "no address").into_database();
        let sqlx::Error::Decode(inner) = other else {
            panic!("{other:?}")
        };
        assert_eq!(inner.to_string(), "validation_failed: to: no address");
    }

    #[test]
    fn a_server_error_keeps_its_cause_for_logs() {
        let error = Error::from(sqlx::Error::Protocol("connection reset by peer".into()));
        assert!(std::error::Error::source(&error).is_some());
        let logged = format!("{:#}", anyhow::Error::from(error));
        assert!(logged.starts_with("internal: "), "{logged}");
        assert!(logged.contains("connection reset by peer"), "{logged}");
        // A caller's error has no cause to show.
        let mine = Error::field("name", "is required");
        assert!(std::error::Error::source(&mine).is_none());
        assert_eq!(mine.to_string(), "validation_failed: name: is required");
        let error = Error::internal(
            anyhow::Error::from(sqlx::Error::Protocol("reset".into()))
                .context("loading the client"),
        );
        assert_eq!(
            chain(&error),
            "internal: Internal server error: loading the client: encountered unexpected or invalid data: reset"
        );
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
            assert!((400..600).contains(&code.status()), "{}", code.as_str());
        }
    }

    #[test]
    fn outages_of_dependencies_are_503_with_retry_after() {
        use anyhow::Context as _;
        let pool: anyhow::Result<()> = Err(sqlx::Error::PoolTimedOut).context("loading the client");
        let error = Error::internal(pool.unwrap_err());
        assert_eq!(error.code, ErrorCode::DatabaseUnavailable);
        assert_eq!(error.retry_after, Some(DATABASE_RETRY_AFTER_SECS));
        let socket = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "gone");
        assert_eq!(
            Error::from(sqlx::Error::Io(socket)).code,
            ErrorCode::DatabaseUnavailable
        );
        // A statement's own failure stays a 500.
        assert_eq!(
            Error::from(sqlx::Error::RowNotFound).code,
            ErrorCode::Internal
        );
        let s3 = object_store::Error::Generic {
            store: "S3",
            source: "connection refused".into(),
        };
        let stored: anyhow::Result<()> =
            Err(crate::platform::storage::StorageUnavailable(s3).into());
        let error = Error::internal(stored.context("storing a photo").unwrap_err());
        assert_eq!(error.code, ErrorCode::StorageUnavailable);
        assert_eq!(error.status(), 503);
        assert!(error.retry_after.is_some());
    }
}
