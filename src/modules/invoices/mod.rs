//! Invoices and the payments recorded against them.
//!
//! ```text
//!   draft ──send (number assigned)──▶ sent ──payment──▶ partially_paid ──payment──▶ paid
//!                                      │                     │
//!                                      ├──void──▶ void (keeps its number)
//!                                      └──bad_debt──▶ bad_debt
//! ```
//! `past_due` is derived: an unpaid issued invoice after its due date. The balance is
//! always `total - amount_paid + amount_refunded`, changed only with the invoice row
//! locked, and a payment above the balance is refused.

pub mod cards;
pub mod emails;
pub mod model;
pub mod payments;
pub mod reminders;
pub mod repo;
pub mod routes;
pub mod service;
