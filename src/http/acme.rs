//! The plain-HTTP listener of automatic certificates (`acme_http_listen`, port 80): it
//! answers the CA's HTTP-01 challenge (RFC 8555 §8.3) and sends every other request
//! to HTTPS with `308 Permanent Redirect` (method and body kept), same host and path.
//!
//! It serves nothing else: no API, no cookies, no HSTS (RFC 6797 §7.2: not over HTTP).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::platform::acme::Challenges;

struct Redirect {
    challenges: Challenges,
    /// The certificate's names: a request for another host goes to the first one.
    domains: Vec<String>,
    /// The public (HTTPS) listener's port; left out of the URL when it is 443.
    https_port: u16,
}

/// The router of the HTTP-01 listener.
pub fn router(challenges: Challenges, domains: Vec<String>, https_port: u16) -> Router {
    Router::new()
        .route("/.well-known/acme-challenge/{token}", get(answer))
        .fallback(redirect)
        .with_state(Arc::new(Redirect {
            challenges,
            domains,
            https_port,
        }))
}

/// The key authorization of an open challenge, else 404.
async fn answer(State(state): State<Arc<Redirect>>, Path(token): Path<String>) -> Response {
    match state.challenges.answer(&token) {
        Some(key_authorization) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            key_authorization,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn redirect(State(state): State<Arc<Redirect>>, request: Request) -> Response {
    let asked = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or_default();
    // `host:port`; an IPv6 literal (`[::1]:80`) is not one of our names anyway.
    let asked = asked
        .split(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host = state
        .domains
        .iter()
        .find(|d| **d == asked)
        .or_else(|| state.domains.first())
        .cloned()
        .unwrap_or(asked);
    let port = match state.https_port {
        443 => String::new(),
        port => format!(":{port}"),
    };
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{port}{path}");
    match HeaderValue::from_str(&location) {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location)],
        )
            .into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}
