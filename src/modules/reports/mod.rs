//! Reports for the office: the dashboard, revenue invoiced vs collected, jobs, and
//! receivables aging. Every date boundary is a day in the account's time zone.

pub mod repo;
pub mod routes;
pub mod service;
