//! Clients of outside services, each with a configurable base URL so tests run
//! against fakes. They know nothing of jobber's tables.

pub mod quickbooks;
pub mod sendgrid;
pub mod stripe;
pub mod twilio;
