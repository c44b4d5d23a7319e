//! The instance as its operator sees it: `GET /status` on the admin listener
//! (docs/operations.md, "Status API"), which `jobber top` reads. It owns no table:
//! the traffic comes from this process's memory (`platform::status`), the queues from
//! the queue's statistics, and today's business from one SECURITY DEFINER function
//! that returns sums across accounts, never a row (migration 20261204000501). It must
//! never be served on the public listener.

pub mod jobs_routes;
pub mod repo;
pub mod routes;
pub mod service;

pub use service::Operations;
