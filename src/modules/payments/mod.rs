//! Card payments through Stripe: the account's Stripe keys (encrypted at rest), the
//! directory that maps a PaymentIntent to its account, and the signed webhook that
//! settles card payments. The payments table itself, and every change to an
//! invoice's balance, belong to `invoices`; this module calls its service and never
//! touches those tables.
//!
//! ```text
//!   POST /payments (card) ──▶ pending ──payment_intent.succeeded──▶ succeeded ──refund──▶ partially_refunded / refunded
//!                               └──payment_intent.payment_failed──▶ failed
//! ```

pub mod repo;
pub mod routes;
pub mod service;
