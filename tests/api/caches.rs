//! The in-process caches (docs/scaling.md, "Caches"): a change is read back at once
//! on the instance that made it, and served by the others once its event has
//! arrived; a revoked session or a deactivated user stops working; no account ever
//! sees another's entry; and the counters on `/metrics` move.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Reply, TestApp, spawn_app, spawn_app_on, spawn_app_with};

/// How long an event may take to reach the other instance before the test fails.
const DEADLINE: Duration = Duration::from_secs(15);

/// The value of `name{cache="<cache>"}` on the app's `/metrics` (0 when absent).
async fn counter(app: &TestApp, name: &str, cache: &str) -> u64 {
    let wanted = format!("{name}{{cache=\"{cache}\"}} ");
    app.metrics()
        .await
        .lines()
        .find_map(|line| line.strip_prefix(wanted.as_str()))
        .map_or(0, |value| value.trim().parse().unwrap())
}

/// Two API processes of one deployment on one database.
async fn fleet() -> (TestApp, TestApp) {
    let pod = |config: &mut jobber::config::Config| {
        config.jwt_secret = Some("one secret for every pod of the fleet".into());
    };
    let first = spawn_app_with(pod).await;
    let second = spawn_app_on(first.database_url.clone(), pod).await;
    (first, second)
}

/// GET `path` until it is answered from `cache` (its hit counter moves): the cache
/// is on once the process's event relay listens, a moment after start.
async fn warm(app: &TestApp, cache: &str, get: impl AsyncFn() -> Reply) -> Reply {
    let start = Instant::now();
    loop {
        let before = counter(app, "jobber_cache_hits_total", cache).await;
        let reply = get().await.expect(200);
        if counter(app, "jobber_cache_hits_total", cache).await > before {
            return reply;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the {cache} cache never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Poll until `done` holds for what `get` answers, within [`DEADLINE`].
async fn eventually(what: &str, get: impl AsyncFn() -> Reply, done: impl Fn(&Reply) -> bool) {
    let start = Instant::now();
    loop {
        let reply = get().await;
        if done(&reply) {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: still {} {}",
            reply.status,
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn rename(app: &TestApp, token: &str, name: &str) {
    let version = app.get("/api/v1/settings", token).await.expect(200).body["version"].clone();
    app.patch(
        "/api/v1/settings",
        token,
        json!({"business_name": name, "version": version}),
    )
    .await
    .expect(200);
}

/// A browser signed in on `app`: its `Cookie` header and CSRF token.
async fn browser(app: &TestApp, email: &str) -> (String, String) {
    let reply = app
        .request(
            Method::POST,
            "/api/v1/auth/session",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
            &[],
        )
        .await
        .expect(200);
    let cookie = reply.header("set-cookie").unwrap();
    let cookie = cookie.split(';').next().unwrap().trim().to_owned();
    (
        cookie,
        reply.body["csrf_token"].as_str().unwrap().to_owned(),
    )
}

async fn with_cookie(app: &TestApp, cookie: &str) -> Reply {
    app.request(
        Method::GET,
        "/api/v1/clients",
        None,
        None,
        &[("cookie", cookie)],
    )
    .await
}

#[tokio::test]
async fn settings_are_read_back_at_once_and_the_counters_move() {
    let app = spawn_app().await;
    let owner = app.signup("Cache Co").await;
    let read = async || app.get("/api/v1/settings", &owner.token).await;
    warm(&app, "settings", &read).await;
    let misses = counter(&app, "jobber_cache_misses_total", "settings").await;
    let invalidations = counter(&app, "jobber_cache_invalidations_total", "settings").await;

    // The change is read back by the very next request on this instance.
    rename(&app, &owner.token, "Cache & Sons").await;
    let after = read().await.expect(200);
    assert_eq!(after.body["business_name"], "Cache & Sons");
    assert!(counter(&app, "jobber_cache_invalidations_total", "settings").await > invalidations);
    assert!(counter(&app, "jobber_cache_misses_total", "settings").await > misses);

    // Taking a document number moves the settings' next number, also at once.
    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee"}))
        .await;
    let numbered = read().await.expect(200).body["next_quote_number"].clone();
    app.post(
        "/api/v1/quotes",
        &owner.token,
        json!({"client_id": client["id"], "title": "Mowing", "lines": [{"name": "Mowing", "quantity": 1, "unit_price": 4000}]}),
    )
    .await
    .expect(201);
    let next = read().await.expect(200).body["next_quote_number"].clone();
    assert_eq!(next.as_i64().unwrap(), numbered.as_i64().unwrap() + 1);

    let metrics = app.metrics().await;
    for cache in ["settings", "sessions", "clients"] {
        for name in [
            "jobber_cache_hits_total",
            "jobber_cache_misses_total",
            "jobber_cache_evictions_total",
            "jobber_cache_invalidations_total",
            "jobber_cache_entries",
        ] {
            assert!(
                metrics.contains(&format!("{name}{{cache=\"{cache}\"}}")),
                "{name} {cache}"
            );
        }
    }
}

#[tokio::test]
async fn no_account_is_answered_from_another_accounts_entries() {
    let app = spawn_app().await;
    let a = app.signup("Alpha Lawns").await;
    let b = app.signup("Beta Pools").await;
    let client = app
        .create_client(&a, json!({"first_name": "Only", "last_name": "Alpha's"}))
        .await;
    let path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    warm(&app, "clients", async || app.get(&path, &a.token).await).await;
    warm(&app, "settings", async || {
        app.get("/api/v1/settings", &a.token).await
    })
    .await;
    warm(&app, "settings", async || {
        app.get("/api/v1/settings", &b.token).await
    })
    .await;
    for _ in 0..3 {
        app.get(&path, &b.token)
            .await
            .problem(404, "client_not_found");
        let settings = app.get("/api/v1/settings", &b.token).await.expect(200);
        assert_eq!(settings.body["business_name"], "Beta Pools");
        let settings = app.get("/api/v1/settings", &a.token).await.expect(200);
        assert_eq!(settings.body["business_name"], "Alpha Lawns");
    }
    // A change in one account leaves the other's entry alone, and is not seen there.
    rename(&app, &a.token, "Alpha Gardens").await;
    let settings = app.get("/api/v1/settings", &b.token).await.expect(200);
    assert_eq!(settings.body["business_name"], "Beta Pools");
}

#[tokio::test]
async fn a_change_through_one_instance_is_served_by_the_other_once_its_event_arrives() {
    let (first, second) = fleet().await;
    let owner = first.signup("Fleet Lawns").await;
    let settings = async || second.get("/api/v1/settings", &owner.token).await;
    let cached = warm(&second, "settings", &settings).await;
    assert_eq!(cached.body["business_name"], "Fleet Lawns");

    rename(&first, &owner.token, "Fleet Gardens").await;
    eventually("settings on api #2", &settings, |reply| {
        reply.body["business_name"] == "Fleet Gardens"
    })
    .await;

    // A client's details, the same way.
    let client = first
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee"}))
        .await;
    let path = format!("/api/v1/clients/{}", client["id"].as_str().unwrap());
    let details = async || second.get(&path, &owner.token).await;
    warm(&second, "clients", &details).await;
    first
        .put(
            &path,
            &owner.token,
            json!({"first_name": "Ann", "last_name": "Lee-Park", "version": client["version"]}),
        )
        .await
        .expect(200);
    eventually("client on api #2", &details, |reply| {
        reply.body["last_name"] == "Lee-Park"
    })
    .await;
}

#[tokio::test]
async fn a_revoked_session_or_a_deactivated_user_is_refused_on_every_instance() {
    let (first, second) = fleet().await;
    let owner = first.signup("Signed Out Co").await;

    // Signed out through api #1: refused there at once, and on api #2 once the
    // event arrives (its check was cached there).
    let (cookie, csrf) = browser(&first, &owner.email).await;
    warm(&first, "sessions", async || {
        with_cookie(&first, &cookie).await
    })
    .await;
    warm(&second, "sessions", async || {
        with_cookie(&second, &cookie).await
    })
    .await;
    first
        .request(
            Method::DELETE,
            "/api/v1/auth/session",
            None,
            None,
            &[("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str())],
        )
        .await
        .expect(204);
    with_cookie(&first, &cookie)
        .await
        .problem(401, "invalid_token");
    eventually(
        "a signed-out session on api #2",
        async || with_cookie(&second, &cookie).await,
        |reply| reply.status == 401,
    )
    .await;

    // A dispatcher deactivated by the owner through api #1.
    let dispatcher = first.add_user(&owner, "dispatcher").await;
    let (cookie, _) = browser(&first, &dispatcher.email).await;
    warm(&first, "sessions", async || {
        with_cookie(&first, &cookie).await
    })
    .await;
    warm(&second, "sessions", async || {
        with_cookie(&second, &cookie).await
    })
    .await;
    first
        .patch(
            &format!("/api/v1/users/{}", dispatcher.user_id),
            &owner.token,
            json!({"active": false}),
        )
        .await
        .expect(200);
    with_cookie(&first, &cookie)
        .await
        .problem(401, "invalid_token");
    eventually(
        "a deactivated user's session on api #2",
        async || with_cookie(&second, &cookie).await,
        |reply| reply.status == 401,
    )
    .await;

    // A role change: a dispatcher made technician loses the office lists.
    let staff = first.add_user(&owner, "dispatcher").await;
    let (cookie, _) = browser(&first, &staff.email).await;
    warm(&second, "sessions", async || {
        with_cookie(&second, &cookie).await
    })
    .await;
    first
        .patch(
            &format!("/api/v1/users/{}", staff.user_id),
            &owner.token,
            json!({"role": "technician"}),
        )
        .await
        .expect(200);
    eventually(
        "a demoted user's session on api #2",
        async || with_cookie(&second, &cookie).await,
        |reply| reply.status == 403,
    )
    .await;
    let body: &Value = &with_cookie(&second, &cookie).await.body;
    assert_eq!(body["code"], "forbidden");
}

#[tokio::test]
async fn with_redis_the_other_instance_drops_its_entries_the_same_way() {
    let Some(redis) =
        crate::live::start_redis("with_redis_the_other_instance_drops_its_entries_the_same_way")
            .await
    else {
        return;
    };
    let pod = |config: &mut jobber::config::Config| {
        config.jwt_secret = Some("one secret for every pod of the fleet".into());
        config.redis_url = Some(redis.url.clone().into());
    };
    let first = spawn_app_with(pod).await;
    let second = spawn_app_on(first.database_url.clone(), pod).await;
    let owner = first.signup("Redis Lawns").await;
    let settings = async || second.get("/api/v1/settings", &owner.token).await;
    warm(&second, "settings", &settings).await;
    rename(&first, &owner.token, "Redis Gardens").await;
    eventually("settings on api #2 (Redis)", &settings, |reply| {
        reply.body["business_name"] == "Redis Gardens"
    })
    .await;
}
