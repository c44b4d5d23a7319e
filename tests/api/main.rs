//! Integration tests: the real `App` over real HTTP on loopback, each test on its own
//! database cloned from a migrated template, on one PostgreSQL per test run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod helpers;

mod jobs;
mod leases;
mod notifications;
mod otlp;

mod acme;
mod aggregates;
mod app_role;
mod architecture;
mod attachments;
mod auth;
mod background;
mod backup;
mod caches;
mod clients;
mod e2e;
mod emails;
mod events;
mod field;
mod files;
mod hardening;
mod hub_client;
mod hub_pages;
mod images;
mod invoices;
mod live;
mod logs;
mod migrate_cli;
mod payments;
mod pdfs;
mod pitr;
mod platform;
mod previews;
mod quickbooks;
mod quotes;
mod rate_limits;
mod reminders;
mod replica;
mod reports;
mod requests;
mod robustness;
mod role_split;
mod roles;
mod search;
mod sendgrid;
mod sessions;
mod settings;
mod sms;
mod stale_edits;
mod tenancy;
mod tls;
mod top;
mod upgrade;
mod uploads;
mod users;
mod web_app;
