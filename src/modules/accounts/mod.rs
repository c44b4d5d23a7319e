//! Accounts: the tenants. Creating one creates its first owner in the same transaction.

pub mod logo;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
