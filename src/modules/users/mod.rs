//! Team members of an account and their roles. Only owners and admins manage users;
//! an account always keeps one active owner.

pub mod model;
pub mod repo;
pub mod routes;
pub mod service;
