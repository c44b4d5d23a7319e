//! Card payments through Stripe: the account's Stripe keys (encrypted at rest), the
//! directory that maps a PaymentIntent to its account, and the record of Stripe
//! events processed. The payments table itself, every change to an invoice's
//! balance, and the signed webhook that settles card payments (`invoices::cards`)
//! belong to `invoices`, which sits above this module and calls it.
//!
//! ```text
//!   POST /payments (card) ──▶ pending ──payment_intent.succeeded──▶ succeeded ──refund──▶ partially_refunded / refunded
//!                               └──payment_intent.payment_failed──▶ failed
//! ```

pub mod repo;
pub mod routes;
pub mod service;
