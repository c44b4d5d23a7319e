//! Keyset pagination at the HTTP edge: the `?limit=&cursor=` every listing accepts.
//! The page model ([`Page`], [`PageRequest`], the cursor) is `platform::pagination`'s.

use serde::Deserialize;

pub use crate::platform::pagination::{DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest};

/// Query parameters every listing accepts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
