//! Infrastructure shared by every module: the data dir's layout, database pools and tenant transactions,
//! the embedded PostgreSQL server, process privileges, logging, metrics, caches, the job
//! queue, the SMTP mailer and file storage.

pub mod acme;
pub mod admin_token;
pub mod backup;
pub mod cache;
pub mod crypto;
pub mod database;
pub mod datadir;
pub mod email;
pub mod embedded;
pub mod events;
pub mod idempotency;
pub mod logging;
pub mod mailer;
pub mod metrics;
pub mod otlp;
pub mod pagination;
pub mod pdf_image;
pub mod picture;
pub mod process;
pub mod queue;
pub mod ratelimit;
pub mod status;
pub mod storage;
pub mod tls;
