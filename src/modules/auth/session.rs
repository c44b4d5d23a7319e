//! Browser sessions: the web app's `jobber_session` cookie (ARCHITECTURE §2, seed §9.2).
//!
//! A session is a row in `sessions`; the cookie is `account.id.secret` and only a
//! SHA-256 of the secret is stored. The cookie is HttpOnly, `SameSite=Lax`, `Path=/`,
//! and `Secure` when the request came over HTTPS (a trusted proxy's
//! `X-Forwarded-Proto: https`, or a `public_url` that is `https://`). A session ends
//! [`IDLE_SECONDS`] after it was last used or [`ABSOLUTE_DAYS`] after it began,
//! whichever is first, or when revoked (sign-out, "log out everywhere", password
//! change, deactivation).
//!
//! A request's check is one round trip ([`repo::check_session`]: a primary-key
//! look-up joined with the user, in a SECURITY DEFINER function), cached for up to a
//! minute per instance (`platform::cache`): a revocation, a deactivation or a role
//! change raises an event that drops the cached check on the instance that made it
//! before its commit returns, and on every other one when the event arrives.
//!
//! CSRF (OWASP's synchronizer token, bound to the session): every unsafe method
//! authenticated by the cookie must carry `X-CSRF-Token` equal to the session's token,
//! an HMAC of the cookie's secret under a key derived from the server's signing key,
//! so it is never stored and cannot be computed without the cookie. As a second
//! guard, a cookie-authenticated request whose `Sec-Fetch-Site` is `cross-site`, or
//! whose `Origin` is neither this server's `public_url` nor its `Host`, is refused.
//! Requests with an `Authorization` header are bearer requests: the cookie is ignored
//! and none of this applies.
//!
//! This module must never accept a cookie without checking it against the table (a
//! check cached as above counts, for the same cookie only).

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderValue, Method, header};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;

use super::repo;
use super::token::{TokenKeys, random_token};
use crate::app::AppState;
use crate::error::{Error, ErrorCode};
use crate::modules::users::model::{Role, User};
use crate::platform::cache::{self, Key};
use crate::platform::database::Ctx;
use crate::platform::database::Db;
use crate::platform::events::Event;

pub const COOKIE_NAME: &str = "jobber_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session unused for 14 days has ended.
pub const IDLE_SECONDS: i32 = 14 * 24 * 60 * 60;
/// Every session ends 90 days after sign-in, however much it is used.
pub const ABSOLUTE_DAYS: i64 = 90;

/// Which login authenticated a request (kept in the request's extensions by
/// `session_routes::authenticate_request`, behind the [`Ctx`] extractor): a browser
/// session, or the refresh-token family (`sid`) of a bearer access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    Session(Uuid),
    Token(Uuid),
}

/// The [`Login`] of the request, when the [`Ctx`] extractor ran before this one.
pub struct CurrentLogin(pub Option<Login>);

/// What a valid session cookie proves.
#[derive(Debug, Clone)]
pub struct CookieSession {
    pub ctx: Ctx,
    pub session_id: Uuid,
    /// The value `X-CSRF-Token` must have.
    pub csrf_token: String,
}

/// A session just begun: the cookie's value and its CSRF token.
#[derive(Debug)]
pub struct NewCookie {
    pub session_id: Uuid,
    pub value: String,
    pub csrf_token: String,
}

/// A passed session check, cached for up to a minute (`platform::cache::Name::Sessions`):
/// a revocation, a deactivation or a role change drops it on every instance by its
/// event, and the check that reloads it moves the session's idle clock.
#[derive(Clone)]
struct Checked {
    user_id: Uuid,
    role: Role,
    secret_hash: Vec<u8>,
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The CSRF token of the session whose cookie secret is `secret`.
pub fn csrf_token(keys: &TokenKeys, secret: &str) -> String {
    let key = keys.derive("session-csrf");
    // HMAC accepts keys of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The `jobber_session` cookie's value among the request's `Cookie` headers.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// `account.id.secret`; anything else is simply invalid.
fn parse(value: &str) -> Option<(Uuid, Uuid, &str)> {
    let mut parts = value.splitn(3, '.');
    let account = Uuid::try_parse(parts.next()?).ok()?;
    let id = Uuid::try_parse(parts.next()?).ok()?;
    let secret = parts.next().filter(|s| !s.is_empty())?;
    Some((account, id, secret))
}

fn ended() -> Error {
    Error::new(
        ErrorCode::InvalidToken,
        "the session has ended (signed out, expired or revoked); sign in again",
    )
}

fn csrf_failed(detail: &'static str) -> Error {
    Error::new(ErrorCode::CsrfFailed, detail)
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let Some(scheme_end) = url.find("://") else {
        return url;
    };
    let rest = &url[scheme_end + 3..];
    match rest.find('/') {
        Some(i) => &url[..scheme_end + 3 + i],
        None => url,
    }
}

/// The second CSRF guard: refuse a browser request that says it came from another
/// site (`Sec-Fetch-Site: cross-site`) or from another origin (`Origin` neither the
/// configured public URL nor this request's `Host`). Absent headers pass: older
/// browsers and non-browser clients send neither, and the token check still holds.
pub fn check_origin(public_url: &str, headers: &HeaderMap) -> Result<(), Error> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return Err(csrf_failed("the request came from another site"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null").trim();
    let public = origin_of(public_url.trim_end_matches('/'));
    let same_host = origin
        .split_once("://")
        .zip(headers.get(header::HOST).and_then(|h| h.to_str().ok()))
        .is_some_and(|((_, authority), host)| authority.eq_ignore_ascii_case(host.trim()));
    if origin != "null" && (origin.eq_ignore_ascii_case(public) || same_host) {
        Ok(())
    } else {
        Err(csrf_failed("the request came from another origin"))
    }
}

/// Authenticate a request by its session cookie: `Ok(None)` when it has none. An
/// ended, forged or malformed cookie is `401 invalid_token`; an unsafe `method`
/// without the session's `X-CSRF-Token`, or a request from another site, is
/// `403 csrf_failed`.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Option<CookieSession>, Error> {
    let Some(value) = cookie_value(headers) else {
        return Ok(None);
    };
    check_origin(&state.config.public_url, headers)?;
    let (account_id, session_id, secret) = parse(value).ok_or_else(ended)?;
    let secret_hash = hash(secret);
    let checked = state
        .db
        .caches()
        .get(cache::Name::Sessions)
        .get_or_load(Key::item(account_id, session_id), || async {
            let found = repo::check_session(
                state.db.pool(),
                account_id,
                session_id,
                &secret_hash,
                IDLE_SECONDS,
            )
            .await?;
            Ok::<_, Error>(found.and_then(|(user_id, role)| {
                Some(Checked {
                    user_id,
                    role: Role::parse(&role)?,
                    secret_hash: secret_hash.clone(),
                })
            }))
        })
        .await?
        .ok_or_else(ended)?;
    // A cached check answers only the cookie it was made with.
    if !bool::from(checked.secret_hash.ct_eq(&secret_hash)) {
        return Err(ended());
    }
    let (user_id, role) = (checked.user_id, checked.role);
    let csrf_token = csrf_token(&state.keys, secret);
    if is_unsafe(method) {
        let sent = headers
            .get(CSRF_HEADER)
            .map(HeaderValue::as_bytes)
            .unwrap_or_default();
        if !bool::from(sent.ct_eq(csrf_token.as_bytes())) {
            return Err(csrf_failed(
                "send the session's CSRF token (from POST or GET /auth/session) in the X-CSRF-Token header",
            ));
        }
    }
    Ok(Some(CookieSession {
        ctx: Ctx {
            account_id,
            user_id,
            role,
        },
        session_id,
        csrf_token,
    }))
}

/// The caller's [`Ctx`] from the session cookie, for handlers that authenticate
/// outside the [`Ctx`] extractor (the WebSocket hub's handshake): `Ok(None)` without
/// a cookie. It applies the origin guard (a cross-site WebSocket handshake is
/// refused with `403 csrf_failed`) but not the token check, which is for unsafe
/// methods; an ended cookie is `401 invalid_token`.
pub async fn ctx_from_cookie(state: &AppState, headers: &HeaderMap) -> Result<Option<Ctx>, Error> {
    Ok(authenticate(state, headers, &Method::GET)
        .await?
        .map(|session| session.ctx))
}

/// Whether the request reached us over HTTPS: over our own TLS (`--tls-cert`), from a
/// trusted proxy that says so in `X-Forwarded-Proto`, or on a server whose public URL
/// is `https://` (it is then only ever reached through TLS). Decides the cookie's `Secure` attribute.
pub struct Https(pub bool);

pub fn is_https(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[crate::config::IpNet],
    public_url: &str,
) -> bool {
    if public_url.starts_with("https://") {
        return true;
    }
    let from_proxy = peer.is_some_and(|peer| crate::config::any_contains(trusted, peer));
    // A chain of proxies appends; the last value is what the nearest one saw.
    from_proxy
        && headers
            .get_all("x-forwarded-proto")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .next_back()
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The `Set-Cookie` value that stores a session.
pub fn set_cookie(value: &str, secure: bool) -> HeaderValue {
    let max_age = ABSOLUTE_DAYS * 24 * 60 * 60;
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| clear_cookie(false))
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    if secure {
        HeaderValue::from_static(
            "jobber_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure",
        )
    } else {
        HeaderValue::from_static("jobber_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
    }
}

/// Begin a browser session for `user` (already authenticated) in `conn`'s transaction.
pub async fn start(
    conn: &mut PgConnection,
    keys: &TokenKeys,
    user: &User,
    user_agent: Option<&str>,
    ip: IpAddr,
) -> Result<NewCookie, sqlx::Error> {
    let session_id = Uuid::now_v7();
    let secret = random_token(32);
    let user_agent = user_agent.map(|ua| {
        let mut end = ua.len().min(512);
        while !ua.is_char_boundary(end) {
            end -= 1;
        }
        &ua[..end]
    });
    let ip = ip.to_string();
    repo::insert_session(
        conn,
        user.account_id,
        &repo::NewSession {
            id: session_id,
            user_id: user.id,
            secret_hash: &hash(&secret),
            user_agent,
            ip: Some(&ip),
            expires_at: Utc::now() + chrono::Duration::days(ABSOLUTE_DAYS),
        },
    )
    .await?;
    Ok(NewCookie {
        session_id,
        value: format!(
            "{}.{}.{secret}",
            user.account_id.simple(),
            session_id.simple()
        ),
        csrf_token: csrf_token(keys, &secret),
    })
}

/// End the session a cookie names, if it is one (sign-out is idempotent).
pub async fn end(db: &Db, session: &CookieSession) -> Result<(), Error> {
    let mut tx = db.tenant(session.ctx.account_id).await?;
    repo::revoke_session(&mut tx, session.ctx.user_id, session.session_id).await?;
    tx.raise(Event::SessionRevoked {
        session_id: session.session_id,
        user_id: session.ctx.user_id,
    });
    tx.commit().await?;
    Ok(())
}

/// One of the caller's sign-ins.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// The browser session's id, or the token login's (its refresh-token family).
    pub id: Uuid,
    /// `cookie`: a browser session; `token`: an API client's refresh-token login.
    pub kind: SessionKind,
    pub created_at: DateTime<Utc>,
    /// Last request (browser sessions, to the minute) or last token refresh.
    pub last_seen_at: DateTime<Utc>,
    /// The browser's `User-Agent` at sign-in (browser sessions only).
    pub user_agent: Option<String>,
    /// The client's address at sign-in (browser sessions only).
    pub ip: Option<String>,
    /// The sign-in this request was made with.
    pub current: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    Cookie,
    Token,
}

/// The caller's live sign-ins, browser sessions first, newest first.
pub async fn list(db: &Db, ctx: &Ctx, current: Option<Login>) -> Result<Vec<SessionInfo>, Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let sessions = repo::list_sessions(&mut tx, ctx.user_id, IDLE_SECONDS).await?;
    let families = repo::list_families(&mut tx, ctx.user_id).await?;
    tx.commit().await?;
    let mut out: Vec<SessionInfo> = sessions
        .into_iter()
        .map(|s| SessionInfo {
            current: current == Some(Login::Session(s.id)),
            id: s.id,
            kind: SessionKind::Cookie,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            user_agent: s.user_agent,
            ip: s.ip,
        })
        .collect();
    out.extend(families.into_iter().map(|f| SessionInfo {
        current: current == Some(Login::Token(f.family_id)),
        id: f.family_id,
        kind: SessionKind::Token,
        created_at: f.created_at,
        last_seen_at: f.last_seen_at,
        user_agent: None,
        ip: None,
    }));
    Ok(out)
}

/// Revoke one of the caller's sign-ins (a browser session or a token login).
pub async fn revoke(db: &Db, ctx: &Ctx, id: Uuid) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let found = repo::revoke_session(&mut tx, ctx.user_id, id).await?
        || repo::revoke_user_family(&mut tx, ctx.user_id, id).await?;
    if !found {
        return Err(Error::code(ErrorCode::SessionNotFound));
    }
    tx.raise(Event::SessionRevoked {
        session_id: id,
        user_id: ctx.user_id,
    });
    tx.commit().await?;
    tracing::info!(account_id = %ctx.account_id, user_id = %ctx.user_id, session_id = %id, "session revoked");
    Ok(())
}

/// Log out everywhere: every browser session and every token login of the caller.
/// Their access tokens stop working with them (`auth::service::check_token`).
pub async fn revoke_all(db: &Db, ctx: &Ctx) -> Result<(), Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    repo::revoke_user(&mut tx, ctx.user_id).await?;
    tx.raise(Event::UserSessionsRevoked {
        user_id: ctx.user_id,
    });
    tx.commit().await?;
    tracing::info!(account_id = %ctx.account_id, user_id = %ctx.user_id, "logged out everywhere");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("x=y; jobber_session=abc.def.ghi; z=1"),
        );
        assert_eq!(cookie_value(&headers), Some("abc.def.ghi"));
        let mut empty = HeaderMap::new();
        empty.insert(header::COOKIE, HeaderValue::from_static("jobber_session="));
        assert_eq!(cookie_value(&empty), None);
    }

    #[test]
    fn cookie_format() {
        let (a, i) = (Uuid::now_v7(), Uuid::now_v7());
        let value = format!("{}.{}.s3cr.et", a.simple(), i.simple());
        assert_eq!(parse(&value), Some((a, i, "s3cr.et")));
        assert_eq!(parse("nope"), None);
    }

    #[test]
    fn origin_guard() {
        let public = "https://jobs.example.com";
        let check = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            check_origin(public, &headers).is_ok()
        };
        assert!(check(&[]));
        assert!(check(&[("origin", "https://jobs.example.com")]));
        assert!(check(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ]));
        assert!(!check(&[("origin", "https://evil.example")]));
        assert!(!check(&[("origin", "null")]));
        assert!(!check(&[("sec-fetch-site", "cross-site")]));
        assert!(check(&[("sec-fetch-site", "same-origin")]));
    }

    #[test]
    fn https_only_from_trusted_proxies() {
        let proxy = IpAddr::from([10, 0, 0, 1]);
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(is_https(Some(proxy), &headers, &[proxy.into()], "http://x"));
        let vpc = "10.0.0.0/8".parse().unwrap();
        assert!(is_https(Some(proxy), &headers, &[vpc], "http://x"));
        assert!(!is_https(
            Some(IpAddr::from([192, 168, 0, 1])),
            &headers,
            &[vpc],
            "http://x"
        ));
        assert!(!is_https(Some(proxy), &headers, &[], "http://x"));
        assert!(is_https(None, &HeaderMap::new(), &[], "https://x"));
        assert!(!is_https(
            Some(proxy),
            &HeaderMap::new(),
            &[proxy.into()],
            "http://x"
        ));
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_key() {
        let keys = TokenKeys::new(&[1; 32]);
        assert_eq!(csrf_token(&keys, "a"), csrf_token(&keys, "a"));
        assert_ne!(csrf_token(&keys, "a"), csrf_token(&keys, "b"));
        assert_ne!(
            csrf_token(&keys, "a"),
            csrf_token(&TokenKeys::new(&[2; 32]), "a")
        );
    }
}
