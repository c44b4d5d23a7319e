//! Temporary uploads (seed §7.1 `uploads/temp/`): a file sent on its own
//! (`POST /uploads`), retryable on a flaky phone connection, then used by a small
//! JSON request that names it (`{"upload_id": …}`, e.g. a job attachment). Using an
//! upload moves its file to its new owner's key and deletes the upload, in the
//! user's transaction; one never used expires after 24 hours and the hourly
//! `purge_temp_uploads` task deletes it.
//!
//! This module owns `temp_uploads` and the files under `uploads/temp/`. It accepts
//! files exactly as job attachments do (`files::accept`) and never decides
//! where a used file ends up: the caller names the key.

pub mod repo;
pub mod routes;
pub mod service;
