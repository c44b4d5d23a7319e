//! Sign-up, login, token refresh and logout; browser sessions (cookie + CSRF) and
//! TOTP two-factor sign-in (seed §9.2).
//!
//! Access tokens are HS256 JWTs of 15 minutes; refresh tokens are opaque, stored as
//! SHA-256 hashes, rotated on every use, and a reused one revokes its whole family.
//! Failures take the same time whether or not the email exists (no user enumeration).

pub mod email_tokens;
pub mod links;
pub mod mfa;
pub mod repo;
pub mod routes;
pub mod service;
pub mod session;
pub mod session_routes;
pub mod team;
pub mod team_routes;
pub mod throttle;
pub mod token;
pub mod totp;

/// Passwords belong to the users they sign in (`users::password`).
pub use crate::modules::users::password;
