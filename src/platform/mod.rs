//! Infrastructure shared by every module: database pools and tenant transactions,
//! the embedded PostgreSQL server, process privileges, logging, metrics and file storage.

pub mod database;
pub mod embedded;
pub mod logging;
pub mod metrics;
pub mod process;
pub mod storage;
