//! Clients and their properties (service addresses): the people and companies a
//! business works for. Search covers names, company, emails, phones and addresses.
//! A client with history (work that references it) is archived instead of deleted.

pub mod avatar;
pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
