//! How a request is authenticated (a bearer token, or the session cookie), for the
//! HTTP edge's extractors (`http::Edge::authenticate`, wired in `app.rs`); and the
//! extractors of a browser session (`session`): which login authenticated the
//! request, and whether it came over HTTPS (the cookie's `Secure`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::session::*;
use crate::app::AppState;
use crate::error::{Error, ErrorCode};
use crate::http::extract::bearer;
use crate::platform::database::Ctx;

/// The caller of a request: its bearer token (the login must still be live and its
/// user active; the role is the user's role now, `service::check_token`) or, when
/// there is no `Authorization` header, the web app's session cookie with its CSRF
/// check. Which login it was is left in the request's extensions ([`Login`], read by
/// [`CurrentLogin`]).
pub async fn authenticate_request(state: &AppState, parts: &mut Parts) -> Result<Ctx, Error> {
    let Some(header) = parts.headers.get(header::AUTHORIZATION) else {
        let Some(session) =
            super::session::authenticate(state, &parts.headers, &parts.method).await?
        else {
            return Err(Error::new(
                ErrorCode::Unauthenticated,
                "send an access token (Authorization: Bearer <token>) or sign in (POST /api/v1/auth/session)",
            ));
        };
        parts.extensions.insert(Login::Session(session.session_id));
        return Ok(session.ctx);
    };
    let claims = state.keys.verify(bearer(header)?)?;
    let role = super::service::check_token(&state.db, &claims).await?;
    parts.extensions.insert(Login::Token(claims.sid));
    Ok(Ctx {
        account_id: claims.acct,
        user_id: claims.sub,
        role,
    })
}

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
