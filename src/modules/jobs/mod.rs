//! Jobs and their visits: the work itself. A job is one-off or recurring (an RFC 5545
//! rule expanded into visits in the account's time zone, DST-correct); each visit is
//! an appointment on the calendar with assignees, a checklist, notes and time entries.
//!
//! ```text
//! job:   active ──complete──▶ completed        visit: scheduled ──clock in──▶ in_progress
//!          └──────cancel───▶ cancelled                  │                        │
//!                                                        └─────complete──────────┴──▶ completed
//!                                                        └─────cancel──▶ cancelled
//! ```

pub mod feed;
pub mod feed_routes;
pub mod model;
pub mod notes;
pub mod repo;
pub mod routes;
pub mod service;
