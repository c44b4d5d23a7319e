//! Downloads of stored files by signed URL (`GET /files/{key}?expires=&sig=`), for
//! the local store only: on S3 the URLs are presigned and S3 serves them. The
//! signature is the credential, so whoever handed the URL out has authorized the
//! download already (`crate::platform::storage::Storage::signed_url`). This module
//! owns no tables and never lists files. [`checks`] says what an uploaded file may be,
//! for every module that takes files in; it knows no other module.

pub mod checks;
pub mod routes;

pub use checks::{Accepted, Kind, accept, check_picture, strip_metadata};
