//! Request rate limits at the HTTP edge (seed §9.2): every `/api/v1` request falls in
//! an endpoint class ([`classify`]) whose quotas (`config::RateLimitConfig`) hold per
//! client IP and, for a signed-in caller, per user; both are counted in one step in
//! the shared store (`platform::ratelimit`), so a refused request counts on neither.
//!
//! Every answer of a limited class carries `RateLimit-Limit`, `RateLimit-Remaining`,
//! `RateLimit-Reset` and `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers)
//! for the quota closest to running out; past it the answer is `429 rate_limited` with
//! `Retry-After`. Signed webhooks (`/api/v1/webhooks/…`) are not limited: the
//! providers retry what is refused, and their signatures already keep others out.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::extract::{Ctx, client_ip};
use crate::http::{ApiError, Edge};
use crate::platform::ratelimit::{Class, Decision, Quota};

/// The class of a request, or `None` when it is not limited.
pub fn classify(method: &Method, path: &str, headers: &HeaderMap) -> Option<Class> {
    let rest = path.strip_prefix("/api/v1/")?;
    let under = |prefix: &str| {
        rest.strip_prefix(prefix)
            .is_some_and(|tail| tail.is_empty() || tail.starts_with('/'))
    };
    if under("webhooks") || rest == "openapi.json" {
        return None;
    }
    if under("public") || under("hub") {
        return Some(Class::Public);
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Some(Class::Reads);
    }
    if under("auth") {
        return Some(Class::Auth);
    }
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.get(..10)
                .is_some_and(|p| p.eq_ignore_ascii_case("multipart/"))
        });
    if multipart || under("uploads") {
        return Some(Class::Uploads);
    }
    Some(Class::Writes)
}

/// The middleware: count, refuse past a quota, and say where the caller stands.
pub async fn middleware<S: Edge>(State(state): State<S>, request: Request, next: Next) -> Response {
    let config = &state.config().rate_limits;
    if !config.enabled {
        return next.run(request).await;
    }
    let Some(class) = classify(request.method(), request.uri().path(), request.headers()) else {
        return next.run(request).await;
    };
    let set = config.class(class);
    let (mut parts, body) = request.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |ConnectInfo(addr)| addr.ip());
    let ip = client_ip(peer, &parts.headers, &state.config().trusted_proxies);
    // The caller's login, authenticated once: the handler's extractor finds it in the
    // request's extensions. A missing or bad one is the handler's to refuse.
    let user = if set.per_user > 0 && class != Class::Public {
        Ctx::from_request_parts(&mut parts, &state)
            .await
            .ok()
            .map(|ctx| ctx.user_id)
    } else {
        None
    };
    let request = Request::from_parts(parts, body);
    let quota = |limit| Quota {
        limit,
        period: set.window,
    };
    let mut keys = Vec::with_capacity(2);
    let mut scopes = Vec::with_capacity(2);
    if set.per_ip > 0 {
        keys.push((
            format!("{}:ip:{}", class.name(), ip_key(ip)),
            quota(set.per_ip),
        ));
        scopes.push("ip");
    }
    if let Some(user) = user {
        keys.push((format!("{}:user:{user}", class.name()), quota(set.per_user)));
        scopes.push("user");
    }
    if keys.is_empty() {
        return next.run(request).await;
    }
    let decisions = state.limits().take(&keys).await;
    let Some(at) = tightest(&decisions) else {
        return next.run(request).await;
    };
    let decision = decisions[at];
    if !decision.allowed {
        let scope = scopes.get(at).copied().unwrap_or("ip");
        state
            .metrics()
            .rate_limited
            .with_label_values(&[class.name(), scope])
            .inc();
        let wait = whole_seconds(decision.retry_after);
        let mut error = ApiError::rate_limited(wait);
        error.detail = format!(
            "too many {} requests for this {}; retry in {} s",
            class_noun(class),
            if scope == "user" { "user" } else { "address" },
            wait.max(1)
        );
        let mut response = error.into_response();
        describe(response.headers_mut(), decision, set.window);
        return response;
    }
    let mut response = next.run(request).await;
    describe(response.headers_mut(), decision, set.window);
    response
}

/// The decision the headers describe: a refusal (the longest wait), else the quota
/// with the fewest requests left.
fn tightest(decisions: &[Decision]) -> Option<usize> {
    let refused = decisions
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.allowed)
        .max_by_key(|(_, d)| d.retry_after)
        .map(|(i, _)| i);
    refused.or_else(|| {
        decisions
            .iter()
            .enumerate()
            .min_by_key(|(_, d)| (d.remaining, std::cmp::Reverse(d.reset)))
            .map(|(i, _)| i)
    })
}

fn class_noun(class: Class) -> &'static str {
    match class {
        Class::Auth => "sign-in",
        Class::Writes => "write",
        Class::Reads => "read",
        Class::Uploads => "upload",
        Class::Public => "public",
    }
}

/// `RateLimit-*` (draft-ietf-httpapi-ratelimit-headers): the quota, what is left of
/// it, and the seconds until it is whole again.
fn describe(headers: &mut HeaderMap, decision: Decision, window: Duration) {
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("ratelimit-limit", decision.limit.to_string());
    put("ratelimit-remaining", decision.remaining.to_string());
    put("ratelimit-reset", whole_seconds(decision.reset).to_string());
    put(
        "ratelimit-policy",
        format!("{};w={}", decision.limit, window.as_secs()),
    );
}

/// Seconds, rounded up (a wait of 1.2 s is 2).
fn whole_seconds(duration: Duration) -> u64 {
    duration
        .as_millis()
        .div_ceil(1000)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// The address a quota is kept for: IPv4 as is, IPv6 by its /64 (one host's share
/// of a network; a client holds a whole /64 and could walk it).
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_fall_in_their_class() {
        let none = HeaderMap::new();
        let mut multipart = HeaderMap::new();
        multipart.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=x"),
        );
        let class = |method: Method, path: &str, headers: &HeaderMap| {
            classify(&method, path, headers).map(Class::name)
        };
        assert_eq!(
            class(Method::POST, "/api/v1/auth/login", &none),
            Some("auth")
        );
        assert_eq!(
            class(Method::POST, "/api/v1/auth/totp/enable", &none),
            Some("auth")
        );
        assert_eq!(class(Method::GET, "/api/v1/auth/me", &none), Some("reads"));
        assert_eq!(class(Method::GET, "/api/v1/clients", &none), Some("reads"));
        assert_eq!(
            class(Method::PATCH, "/api/v1/clients/1", &none),
            Some("writes")
        );
        assert_eq!(
            class(Method::POST, "/api/v1/uploads", &none),
            Some("uploads")
        );
        assert_eq!(
            class(Method::PUT, "/api/v1/settings/logo", &multipart),
            Some("uploads")
        );
        assert_eq!(
            class(Method::POST, "/api/v1/public/acme/requests", &none),
            Some("public")
        );
        assert_eq!(
            class(Method::GET, "/api/v1/hub/quotes/1", &none),
            Some("public")
        );
        assert_eq!(class(Method::POST, "/api/v1/hubbub", &none), Some("writes"));
        assert_eq!(class(Method::POST, "/api/v1/webhooks/stripe", &none), None);
        assert_eq!(class(Method::GET, "/api/v1/openapi.json", &none), None);
        assert_eq!(class(Method::GET, "/healthz", &none), None);
        assert_eq!(class(Method::GET, "/files/x", &none), None);
    }

    #[test]
    fn ipv6_addresses_share_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(ip_key(a), ip_key(b));
        assert_eq!(ip_key(IpAddr::from([203, 0, 113, 7])), "203.0.113.7");
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap_or(IpAddr::from([0; 4]));
        assert_eq!(ip_key(mapped), "203.0.113.7");
    }

    #[test]
    fn headers_describe_the_quota_closest_to_its_end() {
        let d = |allowed, remaining, reset, retry| Decision {
            allowed,
            limit: 10,
            remaining,
            reset: Duration::from_millis(reset),
            retry_after: Duration::from_millis(retry),
        };
        assert_eq!(
            tightest(&[d(true, 5, 1000, 0), d(true, 2, 500, 0)]),
            Some(1)
        );
        assert_eq!(
            tightest(&[d(false, 0, 9000, 3000), d(true, 0, 500, 0)]),
            Some(0)
        );
        let mut headers = HeaderMap::new();
        describe(&mut headers, d(true, 3, 1200, 0), Duration::from_secs(60));
        assert_eq!(headers["ratelimit-limit"], "10");
        assert_eq!(headers["ratelimit-remaining"], "3");
        assert_eq!(headers["ratelimit-reset"], "2");
        assert_eq!(headers["ratelimit-policy"], "10;w=60");
    }
}
