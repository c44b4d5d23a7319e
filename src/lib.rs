//! jobber: field-service management in one binary.
//!
//! `cli` parses commands, `config` resolves settings, `app` assembles the HTTP server,
//! `platform` holds the infrastructure (database, embedded PostgreSQL, metrics, logs),
//! `http` the API conventions, `modules` the business capabilities, `workers` the
//! background job handlers, relay and cron.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod integrations;
pub mod modules;
pub mod money;
pub mod platform;
pub mod workers;
