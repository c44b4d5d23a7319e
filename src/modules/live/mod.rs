//! The live hub (seed §8.2): committed domain events pushed to browsers and apps over
//! a WebSocket at `GET /api/v1/ws`, by topic, to those allowed to see them
//! (docs/events.md). The hub listens to the event bus; no module calls it.

pub mod hub;
pub mod protocol;
mod repo;
pub mod routes;
pub mod scope;

pub use hub::{Hub, Limits};
