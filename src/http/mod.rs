//! The API conventions shared by every module: problem+json errors, JSON bodies,
//! authentication extractors, pagination, idempotency, request middleware, the rate
//! limits and the panic catcher. What needs the application's state is generic over it
//! through [`Edge`]: `http` knows no module and nothing above it.

pub mod acme;
pub mod assets;
pub mod concurrency;
pub mod edge;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod middleware;
pub mod multipart;
pub mod openapi;
pub mod pagination;
pub mod panic;
pub mod ratelimit;
pub mod server;

pub use edge::Edge;
pub use error::{ApiError, ErrorCode, FieldError};
