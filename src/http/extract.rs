//! Extractors that turn a request into typed, validated input, or a problem+json error.
//!
//! Authorization is in the types: a handler that takes [`Staff`] or [`Admin`] cannot be
//! reached by a lesser role, and one that takes [`Ctx`] not without a valid bearer
//! token or, when there is no `Authorization` header, a live session cookie (whose
//! unsafe requests must carry the session's `X-CSRF-Token`). Which credentials are
//! valid is the login's business ([`Edge::authenticate`], `auth` behind it); these
//! extractors only ask, once per request.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::domain::Role;
use crate::http::{ApiError, Edge, ErrorCode};
pub use crate::platform::database::Ctx;
use crate::platform::events::{Actor, act_as};

impl<S: Edge> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(ctx) = parts.extensions.get::<Ctx>() {
            return Ok(*ctx);
        }
        let ctx = state.authenticate(parts).await?;
        parts.extensions.insert(ctx);
        act_as(Actor::User(ctx.user_id));
        Ok(ctx)
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(header: &axum::http::HeaderValue) -> Result<&str, ApiError> {
    header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "the Authorization header must be `Bearer <token>`",
            )
        })
}

/// Office staff: owner, admin or dispatcher.
#[derive(Debug, Clone, Copy)]
pub struct Staff(pub Ctx);

impl<S: Edge> FromRequestParts<S> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        match ctx.role {
            Role::Owner | Role::Admin | Role::Dispatcher => Ok(Staff(ctx)),
            Role::Technician => Err(ApiError::new(
                ErrorCode::Forbidden,
                "only office staff may do this",
            )),
        }
    }
}

/// Account administrators: owner or admin.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Ctx);

impl<S: Edge> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = Ctx::from_request_parts(parts, state).await?;
        match ctx.role {
            Role::Owner | Role::Admin => Ok(Admin(ctx)),
            Role::Dispatcher | Role::Technician => Err(ApiError::new(
                ErrorCode::Forbidden,
                "only an owner or admin may do this",
            )),
        }
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted reverse proxy,
/// the right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries
/// further left are whatever the client claimed).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Edge> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.config().trusted_proxies,
        )))
    }
}

pub fn client_ip(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[crate::config::IpNet],
) -> IpAddr {
    use crate::config::any_contains;
    if !any_contains(trusted, peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !any_contains(trusted, *ip))
        .unwrap_or(peer)
}

/// A JSON body: `application/json`, within the size limit, every field known and typed.
/// Errors name the field at fault (`emails[0].label: unknown field ...`).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json")
                    || mime.to_ascii_lowercase().ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::code(ErrorCode::PayloadTooLarge)
                } else {
                    ApiError::new(ErrorCode::MalformedJson, rejection.body_text())
                }
            })?;
        parse_json(&bytes).map(Json)
    }
}

/// Deserialize, reporting the path of the failing field. A string holding the NUL
/// character is refused here, for every body at once (see [`nul_field`]).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // NUL can only arrive escaped (a raw control character is not JSON), so only a
    // body with the escape pays for a second parse.
    if memchr::memmem::find(bytes, b"\\u0000").is_some()
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(field) = json_nul_field(&value, String::new())
    {
        return Err(nul_field(field));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                ApiError::field(field, strip_position(&inner.to_string()))
            }
            _ => ApiError::new(
                ErrorCode::MalformedJson,
                format!("the body is not valid JSON: {inner}"),
            ),
        }
    })
}

/// 422 on `field`: it holds the NUL character (U+0000). PostgreSQL cannot store NUL
/// in `text` or `jsonb` and fails the whole statement, so such a string would
/// otherwise reach SQL and come back as a 500; no field has a use for it.
pub fn nul_field(field: impl Into<String>) -> ApiError {
    ApiError::field(field, "must not contain the NUL character (U+0000)")
}

/// The path (`emails[1].address`, the form serde_path_to_error gives) of the first
/// string or object key under `value` that holds a NUL; `path` is where `value` is.
fn json_nul_field(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    let here = || {
        if path.is_empty() {
            "body".to_string()
        } else {
            path.clone()
        }
    };
    match value {
        Value::String(text) => text.contains('\0').then(here),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| json_nul_field(item, format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(inner)
            } else {
                json_nul_field(item, inner)
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// The first query parameter whose name or value holds a NUL (`%00`), by its name.
fn query_nul_field(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| name.replace('\0', "\\0"))
}

/// serde_json appends " at line 1 column 42", which means nothing to an API user.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Path parameters, with a problem+json rejection naming the bad one.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // `%00` decodes to NUL, which no id or token holds and PostgreSQL refuses.
        if parts.uri.path().contains("%00") {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                "a path parameter must not contain the NUL character (%00)",
            ));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| ApiError::new(ErrorCode::InvalidParameter, rejection.body_text()))
    }
}

/// Query parameters, with a problem+json rejection naming the bad one.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // `?q=%00`: refused by name before it can reach SQL (see [`nul_field`]).
        if let Some(field) = parts.uri.query().and_then(query_nul_field) {
            return Err(nul_field(field));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| ApiError::new(ErrorCode::InvalidParameter, rejection.body_text()))
    }
}

/// `If-Match: "3"` (or `W/"3"`), the version the caller read.
pub fn if_match_version(headers: &axum::http::HeaderMap) -> Result<Option<i32>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse().map(Some).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidParameter,
            "If-Match must be the ETag of the resource, such as \"3\"",
        )
    })
}

/// A JSON body that may be left out entirely (actions such as `POST …/archive`);
/// an empty body means `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v == "0")
            || (request.headers().get(header::CONTENT_TYPE).is_none()
                && request.headers().get(header::TRANSFER_ENCODING).is_none());
        if empty {
            return Ok(OptionalJson(T::default()));
        }
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| OptionalJson(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Person {
        name: String,
        emails: Vec<serde_json::Value>,
    }

    #[test]
    fn nul_in_any_string_is_refused_by_its_path() {
        let error = parse_json::<Person>(
            br#"{"name": "Ann", "emails": [{"address": "a@b.c"}, {"address": "x\u0000@b.c"}]}"#,
        )
        .unwrap_err();
        assert_eq!(error.status(), 422);
        assert_eq!(error.fields[0].field, "emails[1].address");
        let error = parse_json::<Person>(br#"{"name": "\u0000", "emails": []}"#).unwrap_err();
        assert_eq!(error.fields[0].field, "name");
        let error = parse_json::<serde_json::Value>(br#""\u0000""#).unwrap_err();
        assert_eq!(error.fields[0].field, "body");
        // An escaped backslash followed by `u0000` is no NUL.
        let fine = parse_json::<Person>(br#"{"name": "\\u0000", "emails": []}"#).unwrap();
        assert_eq!(fine.name, "\\u0000");
    }

    #[test]
    fn nul_in_a_query_parameter_is_named() {
        assert_eq!(query_nul_field("limit=5&q=ab%00c").as_deref(), Some("q"));
        assert_eq!(query_nul_field("q=abc&cursor=x"), None);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy = IpAddr::from([10, 0, 0, 1]);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        let client = IpAddr::from([203, 0, 113, 7]);
        assert_eq!(client_ip(proxy, &headers, &[proxy.into()]), client);
        assert_eq!(
            client_ip(proxy, &headers, &[]),
            proxy,
            "untrusted peer: header ignored"
        );
        headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.2".parse().unwrap());
        assert_eq!(
            client_ip(
                proxy,
                &headers,
                &[proxy.into(), IpAddr::from([10, 0, 0, 2]).into()]
            ),
            client,
            "chained proxies"
        );
        // A network: every proxy in it is trusted, and skipped in the chain.
        let vpc: crate::config::IpNet = "10.0.0.0/16".parse().unwrap();
        assert_eq!(client_ip(proxy, &headers, &[vpc]), client);
        let mapped: IpAddr = "::ffff:10.0.3.4".parse().unwrap();
        assert_eq!(
            client_ip(mapped, &headers, &[vpc]),
            client,
            "dual-stack peer"
        );
        let outside = IpAddr::from([10, 1, 0, 1]);
        assert_eq!(client_ip(outside, &headers, &[vpc]), outside);
    }
}
