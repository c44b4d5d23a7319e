//! `GET /api/v1/search`: the office's command palette. Finds clients (through the
//! clients module's own search), quotes, jobs and invoices by name or number, a few
//! of each. It reads the documents' tables the way reports do (a read model over
//! other modules' data) and never writes.

pub mod repo;
pub mod routes;
pub mod service;
