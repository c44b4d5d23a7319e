//! Reports for the office: the dashboard, revenue invoiced vs collected, jobs, and
//! receivables aging, and CSV exports of invoices, payments and clients (made in the
//! background). Every date boundary is a day in the account's time zone.

pub mod exports;
pub mod repo;
pub mod routes;
pub mod service;
