//! The API conventions shared by every module: problem+json errors, JSON bodies,
//! authentication extractors, pagination, idempotency and request middleware.

pub mod concurrency;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod middleware;
pub mod multipart;
pub mod openapi;
pub mod pagination;

pub use error::{ApiError, ErrorCode, FieldError};
