//! Quotes: what the business proposes to do for a client and at what price.
//!
//! ```text
//!   draft ──send──▶ sent ──approve──▶ approved ──convert──▶ converted
//!     │             │  ▲ └──decline──▶ declined
//!     │             │  └──send (revised)──┐
//!     │             └─request_changes──▶ changes_requested ──approve/decline/send
//!     └──archive (from any state but converted) ──▶ archived
//! ```
//! Lines can change while a quote is draft, sent or changes_requested; every change
//! recomputes the totals with the money rules (`crate::money`).

pub mod emails;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
pub mod state;
