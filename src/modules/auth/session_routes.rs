//! The extractors of a browser session (`session`): which login authenticated the
//! request, and whether it came over HTTPS (the cookie's `Secure`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::session::*;
use crate::app::AppState;
use crate::error::Error;

impl<S: Send + Sync> FromRequestParts<S> for CurrentLogin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(CurrentLogin(parts.extensions.get::<Login>().copied()))
    }
}

impl FromRequestParts<AppState> for Https {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let over_tls = parts
            .extensions
            .get::<crate::http::server::OverTls>()
            .is_some();
        Ok(Https(
            over_tls
                || is_https(
                    peer,
                    &parts.headers,
                    &state.config.trusted_proxies,
                    &state.config.public_url,
                ),
        ))
    }
}
