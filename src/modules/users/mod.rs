//! Team members of an account, their roles and their passwords. Only owners and
//! admins manage users; an account always keeps one active owner. The `/users`
//! routes and the invitations and sign-ins that a change touches are auth's
//! (`auth::team`), which sits above this module.

pub mod model;
pub mod password;
pub mod repo;
pub mod service;
