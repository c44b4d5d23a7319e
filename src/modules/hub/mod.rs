//! The client hub's API (seed §9.2): what a client reaches through the signed link
//! in a quote or invoice email, without an account. A link names one record of one
//! account and expires; it grants that record only, never a session. This module
//! owns no tables: it checks the link (`auth::links`) and calls the quotes and invoices
//! services.

pub mod client_page;
pub mod client_page_routes;
pub mod pages;
pub mod routes;
pub mod signatures;
pub mod signatures_routes;

pub use crate::modules::auth::links::{
    CLIENT_PAGE, Kind, LINK_DAYS, LinkParams, Links, check, check_signed, genuine, link,
};
