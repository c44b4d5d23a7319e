//! The in-process caches (docs/scaling.md, "Caches"): a change is read back at once
//! on the instance that made it, and served by the others once its event has
//! arrived; a revoked session or a deactivated user stops working; no account ever
//! sees another's entry; and the counters on `/metrics` move.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Assigned, FLEET_SECRET, PASSWORD, Reply, Session, TestApp, fleet_pod, read_reply, spawn_app,
    spawn_app_on, spawn_app_with,
};

/// How long an event may take to reach the other instance before the test fails.
const DEADLINE: Duration = Duration::from_secs(15);

/// The value of `name{cache="<cache>"}` on the app's `/metrics` (0 when absent).
async fn counter(app: &TestApp, name: &str, cache: &str) -> u64 {
    let sample = app.sample(&format!("{name}{{cache=\"{cache}\"}}")).await;
    sample.map_or(0, |value| value as u64)
}

/// Two API processes of one deployment on one database.
async fn fleet() -> (TestApp, TestApp) {
    fleet_with(|_| {}).await
}

/// The same, each process configured by `configure` too.
async fn fleet_with(configure: impl Fn(&mut jobber::config::Config) + Clone) -> (TestApp, TestApp) {
    let pod = move |config: &mut jobber::config::Config| {
        fleet_pod(config);
        configure(config);
    };
    let first = spawn_app_with(pod.clone()).await;
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

/// `email` signed in with a browser through `first`, its session's check cached on
/// both instances: its `Cookie` header and CSRF token.
async fn browser_everywhere(first: &TestApp, second: &TestApp, email: &str) -> (String, String) {
    let (cookie, csrf) = browser(first, email).await;
    for app in [first, second] {
        warm(app, "sessions", async || with_cookie(app, &cookie).await).await;
    }
    (cookie, csrf)
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
    for cache in [
        "settings",
        "sessions",
        "tokens",
        "clients",
        "schedule",
        "reports",
        "my_visits",
    ] {
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
    let (cookie, csrf) = browser_everywhere(&first, &second, &owner.email).await;
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
    let (cookie, _) = browser_everywhere(&first, &second, &dispatcher.email).await;
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
    let (cookie, _) = browser_everywhere(&first, &second, &staff.email).await;
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
    let (first, second) = fleet_with(|config: &mut jobber::config::Config| {
        config.redis_url = Some(redis.url.clone().into());
    })
    .await;
    let owner = first.signup("Redis Lawns").await;
    let settings = async || second.get("/api/v1/settings", &owner.token).await;
    warm(&second, "settings", &settings).await;
    rename(&first, &owner.token, "Redis Gardens").await;
    eventually("settings on api #2 (Redis)", &settings, |reply| {
        reply.body["business_name"] == "Redis Gardens"
    })
    .await;
}

/// The `caches` entry `name` of the app's `GET /status` (admin listener).
async fn status_of(app: &TestApp, name: &str) -> Value {
    let token = std::fs::read_to_string(app.data_dir.join("admin.token")).unwrap();
    let status = read_reply(
        app.http
            .get(format!("http://{}/status", app.admin_addr))
            .bearer_auth(token.trim()),
    )
    .await
    .expect(200);
    status.body["caches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|cache| cache["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} cache in {}", status.text))
}

#[tokio::test]
async fn reports_answer_their_own_account_and_parameters_and_follow_writes_on_every_instance() {
    let (first, second) = fleet().await;
    let a = first.signup("Report Lawns").await;
    let b = first.signup("Report Pools").await;
    first.sent_invoice(&b, 7_000).await;
    let dashboard =
        async |app: &TestApp, who: &Session| app.get("/api/v1/reports/dashboard", &who.token).await;

    // Each account's dashboard, cached on api #2, answers that account only.
    let cached = warm(&second, "reports", async || dashboard(&second, &a).await).await;
    assert_eq!(cached.body["receivables"], 0);
    let theirs = warm(&second, "reports", async || dashboard(&second, &b).await).await;
    assert_eq!(theirs.body["receivables"], 7_000);
    for _ in 0..3 {
        assert_eq!(
            dashboard(&second, &a).await.expect(200).body["receivables"],
            0
        );
        assert_eq!(
            dashboard(&second, &b).await.expect(200).body["receivables"],
            7_000
        );
    }

    // A sent invoice and a payment through api #1: api #1 reads them back at once,
    // api #2 once the events arrive; the other account's entry stays as it was.
    warm(&first, "reports", async || dashboard(&first, &a).await).await;
    let invoice = first.sent_invoice(&a, 12_000).await;
    assert_eq!(
        dashboard(&first, &a).await.expect(200).body["receivables"],
        12_000
    );
    eventually(
        "the sent invoice on api #2's dashboard",
        async || dashboard(&second, &a).await,
        |reply| reply.body["receivables"] == 12_000,
    )
    .await;
    first
        .post(
            "/api/v1/payments",
            &a.token,
            json!({"invoice_id": invoice, "method": "cash", "amount": 2_000}),
        )
        .await
        .expect(201);
    let after = dashboard(&first, &a).await.expect(200);
    assert_eq!(after.body["receivables"], 10_000);
    assert_eq!(after.body["revenue_this_month"], 2_000);
    eventually(
        "the payment on api #2's dashboard",
        async || dashboard(&second, &a).await,
        |reply| reply.body["receivables"] == 10_000 && reply.body["revenue_this_month"] == 2_000,
    )
    .await;
    assert_eq!(
        dashboard(&second, &b).await.expect(200).body["receivables"],
        7_000
    );

    // The revenue report is keyed by its exact parameters: a day's and a month's
    // grouping of the same range are two answers, each right after the payment.
    let today = after.body["date"].as_str().unwrap().to_owned();
    let first_of_month = format!("{}-01", &today[..7]);
    for group in ["day", "month"] {
        let path =
            format!("/api/v1/reports/revenue?from={first_of_month}&to={today}&group={group}");
        let revenue = warm(&second, "reports", async || {
            second.get(&path, &a.token).await
        })
        .await;
        assert_eq!(revenue.body["total_collected"], 2_000, "{group}");
        let periods = revenue.body["periods"].as_array().unwrap().len();
        if group == "month" {
            assert_eq!(periods, 1);
        }
    }
    let aging = async |app: &TestApp| app.get("/api/v1/reports/aging", &a.token).await;
    let before = warm(&second, "reports", async || aging(&second).await).await;
    assert_eq!(before.body["total"], 10_000);
    first
        .post(
            "/api/v1/payments",
            &a.token,
            json!({"invoice_id": invoice, "method": "cash", "amount": 10_000}),
        )
        .await
        .expect(201);
    assert_eq!(aging(&first).await.expect(200).body["total"], 0);
    eventually(
        "the paid invoice on api #2's aging",
        async || aging(&second).await,
        |reply| reply.body["total"] == 0,
    )
    .await;

    // The counters moved, on /metrics and in GET /status.
    assert!(counter(&second, "jobber_cache_hits_total", "reports").await > 0);
    assert!(counter(&second, "jobber_cache_misses_total", "reports").await > 0);
    assert!(counter(&second, "jobber_cache_invalidations_total", "reports").await > 0);
    let status = status_of(&second, "reports").await;
    assert!(status["hits"].as_u64().unwrap() > 0, "{status}");
    assert!(status["misses"].as_u64().unwrap() > 0, "{status}");
    assert!(status["invalidations"].as_u64().unwrap() > 0, "{status}");
    assert!(status["evictions"].is_u64(), "{status}");
    assert!(status["entries"].is_u64(), "{status}");
}

#[tokio::test]
async fn an_entry_loaded_after_a_write_survives_the_relay_bringing_that_writes_events_back() {
    let app = spawn_app().await;
    let owner = app.signup("Quiet Lawns").await;
    let dashboard = async || app.get("/api/v1/reports/dashboard", &owner.token).await;
    warm(&app, "reports", dashboard).await;
    let published = async || {
        app.sample("jobber_events_published_total")
            .await
            .unwrap_or(0.0)
    };
    let before = published().await;
    // The write empties the entry on this instance right after its commit; the next
    // read loads the new figures and keeps them.
    app.sent_invoice(&owner, 4_500).await;
    assert_eq!(dashboard().await.expect(200).body["receivables"], 4_500);
    let invalidations = counter(&app, "jobber_cache_invalidations_total", "reports").await;
    // The relay hears the write's events back (published on the bus); having been
    // applied here at the commit, they leave the fresh entry where it is.
    let start = Instant::now();
    while published().await <= before {
        assert!(
            start.elapsed() < DEADLINE,
            "the relay never heard the write"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hits = counter(&app, "jobber_cache_hits_total", "reports").await;
    assert_eq!(dashboard().await.expect(200).body["receivables"], 4_500);
    assert_eq!(
        counter(&app, "jobber_cache_hits_total", "reports").await,
        hits + 1,
        "answered from the entry loaded after the write"
    );
    assert_eq!(
        counter(&app, "jobber_cache_invalidations_total", "reports").await,
        invalidations
    );
}

#[tokio::test]
async fn the_schedule_is_cached_per_window_lanes_and_viewer_and_follows_a_move_on_every_instance() {
    let (first, second) = fleet().await;
    let owner = first.signup("Lane Lawns").await;
    let tech_a = first.add_user(&owner, "technician").await;
    let tech_b = first.add_user(&owner, "technician").await;
    let client = first
        .create_client(&owner, json!({"first_name": "Sam", "last_name": "Shrub"}))
        .await;
    let job = first
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client["id"], "title": "Hedges",
            "schedule": {"start_date": "2026-06-01", "start_time": "09:00", "duration_minutes": 60, "assignee_ids": [tech_b.user_id]}}))
        .await
        .expect(201)
        .body;
    let visit = job["visits"][0]["id"].as_str().unwrap().to_owned();
    let path = format!(
        "/api/v1/schedule?from=2026-06-01T00:00:00Z&to=2026-06-03T00:00:00Z&assignees={}",
        tech_b.user_id
    );
    let ids = |reply: &Reply| -> Vec<String> {
        reply.body["visits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // The office's view of B's lane, cached on api #2.
    let office = warm(&second, "schedule", async || {
        second.get(&path, &owner.token).await
    })
    .await;
    assert_eq!(ids(&office), vec![visit.clone()]);
    // Technician A asks for the same window and lane: their own lane, never the
    // office's entry; B sees the visit.
    for _ in 0..2 {
        let mine = second.get(&path, &tech_a.token).await.expect(200);
        assert!(ids(&mine).is_empty(), "{}", mine.text);
        let theirs = second.get(&path, &tech_b.token).await.expect(200);
        assert_eq!(ids(&theirs), vec![visit.clone()]);
    }
    // Another account with the same question gets its own (empty) answer.
    let other = first.signup("Other Lawns").await;
    let foreign = second.get(&path, &other.token).await.expect(200);
    assert!(ids(&foreign).is_empty(), "{}", foreign.text);

    // Moved through api #1: read back there at once, on api #2 once its event arrives.
    warm(&first, "schedule", async || {
        first.get(&path, &owner.token).await
    })
    .await;
    let moved = first
        .put(
            &format!("/api/v1/schedule/jobs/{visit}"),
            &owner.token,
            json!({"start_date": "2026-06-02", "start_time": "14:00"}),
        )
        .await
        .expect(200);
    let starts_at = moved.body["starts_at"].clone();
    let here = first.get(&path, &owner.token).await.expect(200);
    assert_eq!(here.body["visits"][0]["starts_at"], starts_at);
    eventually(
        "the moved visit on api #2",
        async || second.get(&path, &owner.token).await,
        |reply| reply.body["visits"][0]["starts_at"] == starts_at,
    )
    .await;
    eventually(
        "the moved visit in B's own view on api #2",
        async || second.get(&path, &tech_b.token).await,
        |reply| reply.body["visits"][0]["starts_at"] == starts_at,
    )
    .await;

    // A checklist tick shows on the calendar of the other instance too.
    let with_list = first
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client["id"], "title": "Beds",
            "schedule": {"start_date": "2026-06-01", "start_time": "11:00", "assignee_ids": [tech_b.user_id], "checklist": ["Mulch"]}}))
        .await
        .expect(201)
        .body;
    let listed = with_list["visits"][0].clone();
    let listed_id = listed["id"].as_str().unwrap().to_owned();
    let item = listed["checklist"][0]["id"].as_str().unwrap().to_owned();
    let ticked = |reply: &Reply| {
        reply.body["visits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == listed_id.as_str() && v["checklist"][0]["done"] == true)
    };
    let before = warm(&second, "schedule", async || {
        second.get(&path, &owner.token).await
    })
    .await;
    assert!(!ticked(&before));
    first
        .patch(
            &format!("/api/v1/visits/{listed_id}/checklist/{item}"),
            &tech_b.token,
            json!({"done": true}),
        )
        .await
        .expect(200);
    eventually(
        "the ticked item on api #2",
        async || second.get(&path, &owner.token).await,
        ticked,
    )
    .await;
    assert!(counter(&second, "jobber_cache_hits_total", "schedule").await > 0);
    assert!(counter(&second, "jobber_cache_invalidations_total", "schedule").await > 0);
}

/// `(visit id, starts_at)` of each visit in a `GET /me/visits` reply.
fn my_visits(reply: &Reply) -> Vec<(String, Value)> {
    reply.body["visits"]
        .as_array()
        .unwrap_or_else(|| panic!("no visits in {}", reply.text))
        .iter()
        .map(|mine| {
            (
                mine["visit"]["id"].as_str().unwrap().to_owned(),
                mine["visit"]["starts_at"].clone(),
            )
        })
        .collect()
}

/// The technicians' window of the tests below (the visits are on 2026-05-04).
const MY_WEEK: &str = "/api/v1/me/visits?from=2026-05-04T00:00:00Z&to=2026-05-08T00:00:00Z";

#[tokio::test]
async fn a_technicians_visits_are_cached_per_user_and_follow_the_offices_changes_on_every_instance()
{
    let (first, second) = fleet().await;
    let owner = first.signup("Field Lawns").await;
    let Assigned { tech, visit, .. } = first.technician_with_visit(&owner, "Lawn").await;
    let other = first.add_user(&owner, "technician").await;
    let mine = async |app: &TestApp, who: &Session| app.get(MY_WEEK, &who.token).await;

    // Cached on api #2: the next read is a hit, with the same answer.
    let cached = warm(&second, "my_visits", async || mine(&second, &tech).await).await;
    assert_eq!(my_visits(&cached)[0].0, visit);
    let hits = counter(&second, "jobber_cache_hits_total", "my_visits").await;
    let again = mine(&second, &tech).await.expect(200);
    assert_eq!(again.body, cached.body);
    assert!(counter(&second, "jobber_cache_hits_total", "my_visits").await > hits);
    // The other technician's question is the same window: their own (empty) answer.
    for _ in 0..2 {
        let theirs = mine(&second, &other).await.expect(200);
        assert!(my_visits(&theirs).is_empty(), "{}", theirs.text);
    }

    // Moved by the office through api #1: read back there at once, on api #2 once
    // its event arrives.
    warm(&first, "my_visits", async || mine(&first, &tech).await).await;
    let moved = first
        .put(
            &format!("/api/v1/schedule/jobs/{visit}"),
            &owner.token,
            json!({"start_date": "2026-05-05", "start_time": "13:00"}),
        )
        .await
        .expect(200);
    let moved = vec![(visit.clone(), moved.body["starts_at"].clone())];
    assert_eq!(my_visits(&mine(&first, &tech).await.expect(200)), moved);
    eventually(
        "the moved visit in the technician's list on api #2",
        async || mine(&second, &tech).await,
        |reply| my_visits(reply) == moved,
    )
    .await;

    // Reassigned to the other technician: gone from the first's list, in the
    // other's, on both instances.
    warm(&second, "my_visits", async || mine(&second, &other).await).await;
    first
        .put(
            &format!("/api/v1/schedule/jobs/{visit}"),
            &owner.token,
            json!({"start_date": "2026-05-05", "start_time": "13:00", "assignee_ids": [other.user_id]}),
        )
        .await
        .expect(200);
    assert!(my_visits(&mine(&first, &tech).await.expect(200)).is_empty());
    eventually(
        "the reassigned visit gone from the first technician's list on api #2",
        async || mine(&second, &tech).await,
        |reply| my_visits(reply).is_empty(),
    )
    .await;
    eventually(
        "the reassigned visit in the other technician's list on api #2",
        async || mine(&second, &other).await,
        |reply| my_visits(reply) == moved,
    )
    .await;
    assert!(counter(&second, "jobber_cache_invalidations_total", "my_visits").await > 0);
    assert!(counter(&second, "jobber_cache_misses_total", "my_visits").await > 0);
}

async fn clients_with(app: &TestApp, token: &str) -> Reply {
    app.get("/api/v1/clients", token).await
}

/// A new token login for `email`: (access token, refresh token).
async fn log_in(app: &TestApp, email: &str) -> (String, String) {
    let login = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": email, "password": PASSWORD}),
        )
        .await
        .expect(200);
    (
        login.body["access_token"].as_str().unwrap().to_owned(),
        login.body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Warm the `tokens` cache of both instances with `token`.
async fn warm_token(first: &TestApp, second: &TestApp, token: &str) {
    warm(first, "tokens", async || clients_with(first, token).await).await;
    warm(second, "tokens", async || clients_with(second, token).await).await;
}

/// `staff`'s token cached on both instances, then their logout through `first`:
/// refused there at once, and on `second` once the event arrives.
async fn log_out_everywhere(what: &str, first: &TestApp, second: &TestApp, staff: &Session) {
    warm_token(first, second, &staff.token).await;
    first
        .post_anon(
            "/api/v1/auth/logout",
            json!({"refresh_token": staff.refresh_token}),
        )
        .await
        .expect(204);
    refused_everywhere(what, first, second, &staff.token).await;
}

async fn refused_everywhere(what: &str, first: &TestApp, second: &TestApp, token: &str) {
    clients_with(first, token)
        .await
        .problem(401, "invalid_token");
    eventually(
        what,
        async || clients_with(second, token).await,
        |reply| reply.status == 401 && reply.body["code"] == "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_bearer_token_stops_working_on_every_instance_when_its_login_ends() {
    let (first, second) = fleet().await;
    let owner = first.signup("Token Lawns").await;

    // Logout (the refresh token's login) through api #1.
    let staff = first.add_user(&owner, "dispatcher").await;
    log_out_everywhere("a logged-out token on api #2", &first, &second, &staff).await;

    // A login revoked from the list of sign-ins; the user's other login goes on.
    let (token, _) = log_in(&first, &staff.email).await;
    let (other, _) = log_in(&first, &staff.email).await;
    warm_token(&first, &second, &token).await;
    warm_token(&first, &second, &other).await;
    let sessions = first.get("/api/v1/auth/sessions", &token).await.expect(200);
    let current = sessions.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap_or_else(|| panic!("no current login in {}", sessions.text))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    first
        .delete(&format!("/api/v1/auth/sessions/{current}"), &token)
        .await
        .expect(204);
    refused_everywhere("a revoked token on api #2", &first, &second, &token).await;
    clients_with(&second, &other).await.expect(200);

    // A reused refresh token revokes its whole login, access tokens included.
    let (token, refresh) = log_in(&first, &staff.email).await;
    first
        .post_anon("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
        .await
        .expect(200);
    warm_token(&first, &second, &token).await;
    first
        .post_anon("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
        .await
        .problem(401, "refresh_token_reused");
    refused_everywhere("a reused login's token on api #2", &first, &second, &token).await;

    // A deactivated user: every one of their tokens.
    warm_token(&first, &second, &other).await;
    first
        .patch(
            &format!("/api/v1/users/{}", staff.user_id),
            &owner.token,
            json!({"active": false}),
        )
        .await
        .expect(200);
    refused_everywhere(
        "a deactivated user's token on api #2",
        &first,
        &second,
        &other,
    )
    .await;

    // A role change applies to the next request, whatever the token says.
    let demoted = first.add_user(&owner, "dispatcher").await;
    warm_token(&first, &second, &demoted.token).await;
    first
        .patch(
            &format!("/api/v1/users/{}", demoted.user_id),
            &owner.token,
            json!({"role": "technician"}),
        )
        .await
        .expect(200);
    clients_with(&first, &demoted.token)
        .await
        .problem(403, "forbidden");
    eventually(
        "a demoted user's token on api #2",
        async || clients_with(&second, &demoted.token).await,
        |reply| reply.status == 403,
    )
    .await;

    // The owner's login was never touched.
    clients_with(&second, &owner.token).await.expect(200);
    assert!(counter(&second, "jobber_cache_hits_total", "tokens").await > 0);
    assert!(counter(&second, "jobber_cache_invalidations_total", "tokens").await > 0);
}

/// One `jobber serve --role api` process of the real binary; killed when dropped.
struct ApiProcess {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    admin: std::net::SocketAddr,
    data_dir: std::path::PathBuf,
    log: std::path::PathBuf,
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Start an api process on `database_url`, with the fleet's shared secret and the
/// reports cache sized through the environment, and wait until it is ready.
async fn api_process(database_url: &str, files: &std::path::Path) -> ApiProcess {
    use crate::background::{free_port, wait_until};
    let (port, admin) = (free_port(), free_port());
    let data_dir = std::env::temp_dir().join(format!(
        "jobber-caches-api-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.with_extension("log");
    let file = std::fs::File::create(&log).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_jobber"))
        .args(["serve", "--role", "api", "--data-dir"])
        .arg(&data_dir)
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ])
        .env("JOBBER_DATABASE_URL", database_url)
        .env("JOBBER_STORAGE_URL", format!("file://{}", files.display()))
        .env("JOBBER_PUBLIC_URL", crate::helpers::PUBLIC_URL)
        .env("JOBBER_JWT_SECRET", FLEET_SECRET)
        .env("JOBBER_ENCRYPTION_KEY", "00".repeat(32))
        .env("JOBBER_RATE_LIMITS", "off")
        .env("JOBBER_BACKUP_RETENTION_DAYS", "0")
        .env("JOBBER_LOG", "info")
        .env("JOBBER_CACHE_REPORTS", "entries=5000,ttl_secs=120")
        .env("JOBBER_CACHE_TOKENS", "entries=1000")
        .env("JOBBER_CACHE_MY_VISITS", "entries=1000,ttl_secs=300")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let process = ApiProcess {
        child,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        admin: format!("127.0.0.1:{admin}").parse().unwrap(),
        data_dir,
        log,
    };
    let http = reqwest::Client::new();
    let up = wait_until(Duration::from_secs(60), || async {
        http.get(format!("http://{}/readyz", process.addr))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "not ready; see {}", process.log.display());
    process
}

/// The same guarantees between two processes of the real binary, configured through
/// the environment: a report, a technician's visits and a token login dropped by
/// the other's events.
#[tokio::test]
async fn two_api_processes_drop_reports_visits_and_ended_logins_by_each_others_events() {
    jobber::cli::install_crypto_provider();
    let database_url = crate::helpers::fresh_database().await;
    let files = std::env::temp_dir().join(format!(
        "jobber-caches-files-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&files).unwrap();
    // The processes may drop root for `nobody` and write the store.
    std::fs::set_permissions(&files, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let (one, two) = (
        api_process(&database_url, &files).await,
        api_process(&database_url, &files).await,
    );
    let first = TestApp::attach(one.addr, one.admin, &database_url).await;
    let second = TestApp::attach(two.addr, two.admin, &database_url).await;

    let owner = first.signup("Process Lawns").await;
    let dashboard = async || second.get("/api/v1/reports/dashboard", &owner.token).await;
    let cached = warm(&second, "reports", &dashboard).await;
    assert_eq!(cached.body["receivables"], 0);
    first.sent_invoice(&owner, 4_200).await;
    eventually(
        "the invoice on process #2's dashboard",
        &dashboard,
        |reply| reply.body["receivables"] == 4_200,
    )
    .await;

    let Assigned { tech, visit, .. } = first.technician_with_visit(&owner, "Lawn").await;
    let mine = async || second.get(MY_WEEK, &tech.token).await;
    let cached = warm(&second, "my_visits", &mine).await;
    assert_eq!(my_visits(&cached)[0].0, visit);
    let moved = first
        .put(
            &format!("/api/v1/schedule/jobs/{visit}"),
            &owner.token,
            json!({"start_date": "2026-05-06", "start_time": "10:00"}),
        )
        .await
        .expect(200);
    let moved = vec![(visit, moved.body["starts_at"].clone())];
    eventually(
        "the moved visit in the technician's list on process #2",
        &mine,
        |reply| my_visits(reply) == moved,
    )
    .await;

    let staff = first.add_user(&owner, "dispatcher").await;
    log_out_everywhere("a logged-out token on process #2", &first, &second, &staff).await;
    clients_with(&second, &owner.token).await.expect(200);
    let _ = std::fs::remove_dir_all(&files);
}
