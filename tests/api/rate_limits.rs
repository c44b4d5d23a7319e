//! Request rate limits (docs/api.md, "Rate limits"): per endpoint class, per user and
//! per client IP, the `RateLimit-*` headers, `429` with `Retry-After`, and, with
//! Redis, one count across every process (the login throttle's too).

use std::time::Duration;

use jobber::config::{ClassLimits, Config, RateLimitConfig};
use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

fn class(per_ip: u32, per_user: u32, window_secs: u64) -> ClassLimits {
    ClassLimits {
        per_ip,
        per_user,
        window: Duration::from_secs(window_secs),
    }
}

/// Limits on, generous everywhere but where a test sets its own; requests from
/// loopback (a trusted network) may name their client in `X-Forwarded-For`.
fn limited(set: impl FnOnce(&mut RateLimitConfig)) -> impl FnOnce(&mut Config) {
    limited_behind(&["127.0.0.0/8"], set)
}

/// Limits on, with these `trusted_proxies`.
fn limited_behind(
    proxies: &[&str],
    set: impl FnOnce(&mut RateLimitConfig),
) -> impl FnOnce(&mut Config) {
    let proxies: Vec<jobber::config::IpNet> = proxies.iter().map(|p| p.parse().unwrap()).collect();
    move |config: &mut Config| {
        let mut limits = RateLimitConfig {
            enabled: true,
            ..RateLimitConfig::default()
        };
        set(&mut limits);
        config.rate_limits = limits;
        config.trusted_proxies = proxies;
    }
}

#[tokio::test]
async fn the_forwarded_address_counts_only_from_a_trusted_proxy_network() {
    // Loopback is inside the trusted network: each forwarded client has its quota.
    let app = spawn_app_with(limited_behind(&["10.0.0.0/8", "127.0.0.0/8"], |l| {
        l.reads = class(2, 1000, 60)
    }))
    .await;
    for _ in 0..2 {
        get_from(&app, "/api/v1/auth/me", None, "203.0.113.5")
            .await
            .problem(401, "unauthenticated");
    }
    get_from(&app, "/api/v1/auth/me", None, "203.0.113.5")
        .await
        .problem(429, "rate_limited");
    let other = get_from(&app, "/api/v1/auth/me", None, "203.0.113.6")
        .await
        .problem(401, "unauthenticated");
    assert_eq!(
        number(&other, "ratelimit-remaining"),
        1,
        "a quota of its own"
    );
    // A chain of proxies in the trusted network is skipped to the client.
    get_from(&app, "/api/v1/auth/me", None, "203.0.113.6, 10.1.2.3")
        .await
        .problem(401, "unauthenticated");
    get_from(&app, "/api/v1/auth/me", None, "203.0.113.6")
        .await
        .problem(429, "rate_limited");

    // Loopback outside the trusted networks: the header is ignored, so every
    // "client" it names spends the peer's one quota.
    let app = spawn_app_with(limited_behind(&["10.0.0.0/8", "::1/128"], |l| {
        l.reads = class(2, 1000, 60)
    }))
    .await;
    for ip in ["203.0.113.5", "203.0.113.6"] {
        get_from(&app, "/api/v1/auth/me", None, ip)
            .await
            .problem(401, "unauthenticated");
    }
    get_from(&app, "/api/v1/auth/me", None, "203.0.113.7")
        .await
        .problem(429, "rate_limited");
}

fn number(reply: &Reply, name: &str) -> u64 {
    reply
        .header(name)
        .unwrap_or_else(|| panic!("no {name}: {:?}", reply.headers))
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

async fn get_from(app: &TestApp, path: &str, token: Option<&str>, ip: &str) -> Reply {
    app.request(Method::GET, path, token, None, &[("x-forwarded-for", ip)])
        .await
}

#[tokio::test]
async fn headers_count_down_then_429_with_retry_after() {
    let app = spawn_app_with(limited(|l| l.reads = class(1000, 3, 60))).await;
    let owner = app.signup("Counted Co").await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let reply = app.get("/api/v1/clients", &owner.token).await.expect(200);
        assert_eq!(number(&reply, "ratelimit-limit"), 3);
        let reset = number(&reply, "ratelimit-reset");
        assert!((1..=60).contains(&reset), "{reset}");
        assert_eq!(reply.header("ratelimit-policy"), Some("3;w=60"));
        remaining.push(number(&reply, "ratelimit-remaining"));
    }
    assert_eq!(remaining, [2, 1, 0]);
    let refused = app
        .get("/api/v1/clients", &owner.token)
        .await
        .problem(429, "rate_limited");
    // 3 a minute: one comes back every 20 s.
    let wait = number(&refused, "retry-after");
    assert!((19..=20).contains(&wait), "{wait}");
    assert_eq!(number(&refused, "ratelimit-remaining"), 0);
    assert_eq!(number(&refused, "ratelimit-limit"), 3);
    assert!(refused.body["detail"].as_str().unwrap().contains("user"));
    // Other classes and unlimited paths are not touched.
    app.post(
        "/api/v1/clients",
        &owner.token,
        json!({"first_name": "Still", "last_name": "Writable"}),
    )
    .await
    .expect(201);
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert!(health.headers().get("ratelimit-limit").is_none());
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"jobber_rate_limited_total{class="reads",scope="user"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"jobber_rate_limited_total{class="writes",scope="user"} 0"#));
}

#[tokio::test]
async fn users_and_addresses_have_quotas_of_their_own() {
    let app = spawn_app_with(limited(|l| l.reads = class(5, 2, 60))).await;
    let owner = app.signup("Shared Office").await;
    let tech = app.add_user(&owner, "technician").await;
    let office = "198.51.100.7";
    for _ in 0..2 {
        get_from(&app, "/api/v1/auth/me", Some(&owner.token), office)
            .await
            .expect(200);
    }
    let refused = get_from(&app, "/api/v1/auth/me", Some(&owner.token), office)
        .await
        .problem(429, "rate_limited");
    assert_eq!(number(&refused, "ratelimit-limit"), 2, "the user's quota");
    // A colleague at the same address has a quota of their own ...
    for _ in 0..2 {
        get_from(&app, "/api/v1/auth/me", Some(&tech.token), office)
            .await
            .expect(200);
    }
    get_from(&app, "/api/v1/auth/me", Some(&tech.token), office)
        .await
        .problem(429, "rate_limited");
    // ... and the address one of its own: 4 of 5 spent (a refusal counts on no
    // quota), so one anonymous request more, then none.
    let last = get_from(&app, "/api/v1/auth/me", None, office)
        .await
        .problem(401, "unauthenticated");
    assert_eq!(number(&last, "ratelimit-limit"), 5);
    assert_eq!(number(&last, "ratelimit-remaining"), 0);
    let refused = get_from(&app, "/api/v1/auth/me", None, office)
        .await
        .problem(429, "rate_limited");
    assert!(refused.body["detail"].as_str().unwrap().contains("address"));
    // The owner elsewhere is still over their own quota; a stranger elsewhere is not.
    get_from(&app, "/api/v1/auth/me", Some(&owner.token), "203.0.113.9")
        .await
        .problem(429, "rate_limited");
    let elsewhere = get_from(&app, "/api/v1/auth/me", None, "203.0.113.9")
        .await
        .problem(401, "unauthenticated");
    assert_eq!(number(&elsewhere, "ratelimit-remaining"), 4);
    let metrics = app.metrics().await;
    assert!(metrics.contains(r#"jobber_rate_limited_total{class="reads",scope="ip"} 1"#));
    assert!(metrics.contains(r#"jobber_rate_limited_total{class="reads",scope="user"} 3"#));
}

#[tokio::test]
async fn each_class_counts_apart() {
    let app = spawn_app_with(limited(|l| {
        l.auth = class(7, 7, 60);
        l.writes = class(1000, 1, 60);
        l.reads = class(1000, 100, 60);
        l.uploads = class(1000, 4, 60);
        l.public = class(3, 0, 60);
    }))
    .await;
    let owner = app.signup("Classy Co").await;
    let created = app
        .post(
            "/api/v1/clients",
            &owner.token,
            json!({"first_name": "One", "last_name": "Write"}),
        )
        .await
        .expect(201);
    assert_eq!(number(&created, "ratelimit-limit"), 1);
    app.post(
        "/api/v1/clients",
        &owner.token,
        json!({"first_name": "Two", "last_name": "Writes"}),
    )
    .await
    .problem(429, "rate_limited");
    // Reads, uploads, sign-ins and public pages each have their own count.
    let read = app.get("/api/v1/clients", &owner.token).await.expect(200);
    assert_eq!(number(&read, "ratelimit-limit"), 100);
    for n in 0..5 {
        let upload = app
            .multipart(Method::POST, "/api/v1/uploads", &owner.token, &[])
            .await;
        assert_eq!(number(&upload, "ratelimit-limit"), 4);
        assert_eq!(upload.status.as_u16() == 429, n == 4, "{}", upload.text);
    }
    let login = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": "not the password"}),
        )
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(number(&login, "ratelimit-limit"), 7);
    // Everything under /api/v1/public/ and the client hub is public, per address.
    for n in 0..4 {
        let path = if n % 2 == 0 {
            "/api/v1/public/nothing-here"
        } else {
            "/api/v1/hub/quotes/00000000-0000-0000-0000-000000000000"
        };
        let reply = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(reply.headers()["ratelimit-limit"], "3");
        assert_eq!(reply.status().as_u16() == 429, n == 3, "{path}");
        if n == 3 {
            assert!(reply.headers().contains_key("retry-after"));
        }
    }
}

#[tokio::test]
async fn a_quota_comes_back_after_its_window() {
    let app = spawn_app_with(limited(|l| l.reads = class(1000, 2, 1))).await;
    let owner = app.signup("Patient Co").await;
    for _ in 0..2 {
        app.get("/api/v1/clients", &owner.token).await.expect(200);
    }
    let refused = app
        .get("/api/v1/clients", &owner.token)
        .await
        .problem(429, "rate_limited");
    assert_eq!(number(&refused, "retry-after"), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let back = app.get("/api/v1/clients", &owner.token).await.expect(200);
    assert_eq!(number(&back, "ratelimit-remaining"), 1);
}

#[tokio::test]
async fn limits_can_be_turned_off() {
    // The tests' default, as `rate_limits.enabled = false` / JOBBER_RATE_LIMITS=off.
    let app = spawn_app().await;
    let owner = app.signup("Unlimited Co").await;
    let reply = app.get("/api/v1/clients", &owner.token).await.expect(200);
    assert!(reply.header("ratelimit-limit").is_none());
}

#[tokio::test]
async fn with_redis_every_process_shares_the_limits_and_the_login_throttle() {
    let Some(redis) = crate::live::start_redis(
        "with_redis_every_process_shares_the_limits_and_the_login_throttle",
    )
    .await
    else {
        return;
    };
    let pod = || {
        let url = redis.url.clone();
        let limits = limited(|l| l.reads = class(1000, 4, 60));
        move |config: &mut Config| {
            limits(config);
            config.jwt_secret = Some("one secret for every pod of the fleet".into());
            config.redis_url = Some(url.into());
        }
    };
    let first = spawn_app_with(pod()).await;
    let second = spawn_app_on(first.database_url.clone(), pod()).await;
    let owner = first.signup("Fleet Co").await;

    // One user's reads, spread over both processes, count on one quota.
    let mut remaining = Vec::new();
    for app in [&first, &second, &first, &second] {
        let reply = app.get("/api/v1/clients", &owner.token).await.expect(200);
        remaining.push(number(&reply, "ratelimit-remaining"));
    }
    assert_eq!(remaining, [3, 2, 1, 0]);
    first
        .get("/api/v1/clients", &owner.token)
        .await
        .problem(429, "rate_limited");
    second
        .get("/api/v1/clients", &owner.token)
        .await
        .problem(429, "rate_limited");

    // Wrong passwords through either process count together: the sixth is refused
    // on both, whichever took the five.
    for n in 0..jobber::modules::auth::throttle::MAX_FAILURES_PER_EMAIL {
        let app = if n % 2 == 0 { &first } else { &second };
        app.post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": "guess"}),
        )
        .await
        .problem(401, "invalid_credentials");
    }
    for app in [&first, &second] {
        let refused = app
            .post_anon(
                "/api/v1/auth/login",
                json!({"email": owner.email, "password": PASSWORD}),
            )
            .await
            .problem(429, "rate_limited");
        assert!(number(&refused, "retry-after") > 800);
    }

    // The counts are Redis's, under jobber's prefix.
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("jobber:rl:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        keys.iter().any(|k| k.starts_with("jobber:rl:reads:user:")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("jobber:rl:login:email:")),
        "{keys:?}"
    );
    assert!(
        first
            .metrics()
            .await
            .contains("jobber_rate_limit_store_fallbacks_total 0")
    );
}

#[tokio::test]
async fn without_redis_reachable_each_process_limits_on_its_own() {
    // Nothing listens on this port: every operation falls back to the process.
    let port = crate::background::free_port();
    let app = spawn_app_with({
        let limits = limited(|l| l.reads = class(1000, 2, 60));
        move |config: &mut Config| {
            limits(config);
            config.redis_url = Some(format!("redis://127.0.0.1:{port}/").into());
        }
    })
    .await;
    let owner = app.signup("Lonely Co").await;
    for _ in 0..2 {
        app.get("/api/v1/clients", &owner.token).await.expect(200);
    }
    app.get("/api/v1/clients", &owner.token)
        .await
        .problem(429, "rate_limited");
    let metrics = app.metrics().await;
    assert!(
        !metrics.contains("jobber_rate_limit_store_fallbacks_total 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_browser_session_counts_on_its_users_quota() {
    let app = spawn_app_with(limited(|l| l.reads = class(1000, 2, 60))).await;
    let owner = app.signup("Browser Co").await;
    let signed_in = app
        .request(
            Method::POST,
            "/api/v1/auth/session",
            None,
            Some(json!({"email": owner.email, "password": PASSWORD})),
            &[],
        )
        .await
        .expect(200);
    let cookie = signed_in
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    // The token and the cookie are one user: one quota.
    app.get("/api/v1/auth/me", &owner.token).await.expect(200);
    let by_cookie = app
        .request(
            Method::GET,
            "/api/v1/auth/me",
            None,
            None,
            &[("cookie", &cookie)],
        )
        .await
        .expect(200);
    assert_eq!(number(&by_cookie, "ratelimit-remaining"), 0);
    app.request(
        Method::GET,
        "/api/v1/auth/me",
        None,
        None,
        &[("cookie", &cookie)],
    )
    .await
    .problem(429, "rate_limited");
}

#[test]
fn the_environment_sets_the_limits_and_names_its_mistakes() {
    let show = |vars: &[(&str, &str)]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_jobber"));
        command.args(["config", "show"]);
        for (name, value) in vars {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let out = show(&[
        ("JOBBER_RATE_LIMITS", "off"),
        ("JOBBER_RATE_LIMIT_READS", "per_user=7, window_secs=5"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: toml::Table = toml::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    let limits = &shown["rate_limits"];
    assert_eq!(limits["enabled"].as_bool(), Some(false));
    assert_eq!(limits["reads"]["per_user"].as_integer(), Some(7));
    assert_eq!(limits["reads"]["window_secs"].as_integer(), Some(5));
    assert_eq!(limits["reads"]["per_ip"].as_integer(), Some(3000));
    assert_eq!(limits["auth"]["per_ip"].as_integer(), Some(60));
    let out = show(&[("JOBBER_RATE_LIMIT_WRITES", "per_minute=3")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("JOBBER_RATE_LIMIT_WRITES"), "{stderr}");
}
