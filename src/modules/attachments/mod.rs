//! Photos and documents on jobs (seed §7): uploaded as multipart, checked as every
//! upload is (`files::checks`), kept in file storage under the job (§7.1) and handed
//! out by short-lived signed URLs. This module owns `job_attachments`; it never
//! trusts a client's filename for anything but display.

pub use crate::modules::files::{Accepted, Kind, accept, check_picture, strip_metadata};

pub mod repo;
pub mod routes;
pub mod service;
