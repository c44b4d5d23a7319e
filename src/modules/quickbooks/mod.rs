//! QuickBooks Online sync (seed §6.2 `sync.quickbooks`): an account connects its
//! company file by OAuth 2.0; from then on every client, issued invoice and payment
//! change is pushed by a background job, and `quickbooks_records` maps each local
//! record to its QuickBooks object (Id, SyncToken, state, last error).
//!
//! ```text
//!   change (client/invoice/payment event) ──on_event──▶ record pending + job (same tx)
//!   job ──▶ push (create | sparse update | void) ──▶ synced
//!                                              └──▶ failed (QuickBooks refused; message kept)
//! ```
//!
//! This module reads clients, invoices and payments through their services and never
//! writes their tables. It never logs a token.

pub mod repo;
pub mod routes;
pub mod service;
pub mod sync;

pub use service::Kind;
