//! Business modules. Each owns its tables: `repo` is the only place they are queried,
//! `service` holds the rules and the transaction, `routes` the HTTP surface.

pub mod accounts;
pub mod activity;
pub mod attachments;
pub mod auth;
pub mod catalog;
pub mod clients;
pub mod communications;
pub mod demo;
pub mod documents;
pub mod files;
pub mod hub;
pub mod invoices;
pub mod jobs;
pub mod live;
pub mod notifications;
pub mod operations;
pub mod payments;
pub mod quickbooks;
pub mod quotes;
pub mod reports;
pub mod requests;
pub mod schedule;
pub mod search;
pub mod uploads;
pub mod users;
