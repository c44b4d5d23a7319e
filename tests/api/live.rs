//! The live hub at `GET /api/v1/ws`: events reach the sockets allowed to see them
//! after their commit, by topic; a reconnect resumes; heartbeats close dead
//! connections; shutdown says 1001; and every instance's commits reach every API
//! process.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::background::{wait_until, with_worker, worker_for};
use crate::helpers::{
    Session, TestApp, fleet_pod, fresh_database, spawn_app, spawn_app_on, spawn_app_with,
    until_heard,
};
use crate::role_split::{Cluster, ready};

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A test's WebSocket client.
struct Live {
    stream: Stream,
}

/// How the client authenticates.
enum Auth<'a> {
    Subprotocol(&'a str),
    Header(&'a str),
    Ticket(&'a str),
    /// The web app's session cookie, with the page's Origin.
    Cookie(&'a str, &'a str),
}

async fn open(
    app: &TestApp,
    auth: Auth<'_>,
    query: &str,
) -> Result<(Live, Option<String>), WsError> {
    let mut url = format!("ws://{}/api/v1/ws", app.addr);
    let mut params = Vec::new();
    if let Auth::Ticket(ticket) = &auth {
        params.push(format!("ticket={ticket}"));
    }
    if !query.is_empty() {
        params.push(query.to_owned());
    }
    if !params.is_empty() {
        url = format!("{url}?{}", params.join("&"));
    }
    let mut request = url.into_client_request()?;
    match auth {
        Auth::Subprotocol(token) => {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(&format!("jobber.v1, bearer.{token}")).unwrap(),
            );
        }
        Auth::Header(token) => {
            request.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        Auth::Cookie(cookie, origin) => {
            request
                .headers_mut()
                .insert("cookie", HeaderValue::from_str(cookie).unwrap());
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_str(origin).unwrap());
        }
        Auth::Ticket(_) => {}
    }
    let (stream, response) = tokio_tungstenite::connect_async(request).await?;
    let protocol = response
        .headers()
        .get("sec-websocket-protocol")
        .map(|v| v.to_str().unwrap().to_owned());
    Ok((Live { stream }, protocol))
}

/// Connected and welcomed.
async fn connect(app: &TestApp, session: &Session) -> Live {
    connect_with(app, session, "").await
}

async fn connect_with(app: &TestApp, session: &Session, query: &str) -> Live {
    let (mut live, protocol) = open(app, Auth::Subprotocol(&session.token), query)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    assert_eq!(protocol.as_deref(), Some("jobber.v1"));
    let welcome = live.next().await.expect("welcome");
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["user_id"], session.user_id.as_str());
    live
}

impl Live {
    async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next JSON frame within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        tokio::time::timeout(wait, async {
            loop {
                match self.stream.next().await {
                    Some(Ok(Message::Text(text))) => {
                        return Some(serde_json::from_str::<Value>(text.as_str()).unwrap());
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(other)) => panic!("unexpected frame {other:?}"),
                    Some(Err(_)) | None => return None,
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    async fn next(&mut self) -> Option<Value> {
        self.next_within(Duration::from_secs(10)).await
    }

    /// Subscribe and wait for the acknowledgement; any error replies before it.
    async fn subscribe(&mut self, topics: &[&str]) -> (Value, Vec<Value>) {
        self.send(json!({"type": "subscribe", "topics": topics}))
            .await;
        self.acknowledged().await
    }

    async fn acknowledged(&mut self) -> (Value, Vec<Value>) {
        let mut errors = Vec::new();
        loop {
            let frame = self.next().await.expect("subscribed");
            match frame["type"].as_str() {
                Some("subscribed") => return (frame, errors),
                Some("error") => errors.push(frame),
                _ => panic!("unexpected before subscribed: {frame}"),
            }
        }
    }

    /// The next event frame (skipping none): its type, topic and data.
    async fn event(&mut self) -> Value {
        let frame = self.next().await.expect("an event");
        assert!(frame["seq"].is_i64(), "not an event: {frame}");
        frame
    }

    /// Nothing arrives within a short while.
    async fn quiet(&mut self) {
        if let Some(frame) = self.next_within(Duration::from_millis(700)).await {
            panic!("expected nothing, got {frame}");
        }
    }

    /// The close code the server ends with (reading past any frames before it).
    async fn closed_with(&mut self) -> Option<u16> {
        tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match self.stream.next().await {
                    Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return None,
                }
            }
        })
        .await
        .expect("the server closes")
    }
}

/// Changes are heard once the relay listens; until then nothing is published.
async fn warm_up(app: &TestApp, owner: &Session, live: &mut Live) {
    until_heard(
        async || {
            app.create_client(owner, json!({"first_name": "Warm", "last_name": "Up"}))
                .await;
        },
        async |wait| live.next_within(wait).await.is_some(),
    )
    .await;
}

async fn job_for(app: &TestApp, owner: &Session, tech: &Session, title: &str) -> (String, String) {
    let client = app
        .create_client(owner, json!({"first_name": title, "last_name": "Client"}))
        .await;
    let (job, visit) = app
        .assigned_job(
            owner,
            json!({"client_id": client["id"], "title": title}),
            tech,
        )
        .await;
    (job["id"].as_str().unwrap().to_owned(), visit)
}

#[tokio::test]
async fn a_change_reaches_its_account_after_the_commit_and_no_other_account() {
    let app = spawn_app().await;
    let owner = app.signup("Live Co").await;
    let stranger = app.signup("Other Co").await;
    let mut live = connect(&app, &owner).await;
    let (ack, errors) = live.subscribe(&["account"]).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ack["topics"], json!(["account"]));
    let mut other = connect(&app, &stranger).await;
    other.subscribe(&["account"]).await;
    warm_up(&app, &owner, &mut live).await;

    let client = app
        .create_client(&owner, json!({"first_name": "Lia", "last_name": "Ve"}))
        .await;
    let event = live.event().await;
    assert_eq!(event["type"], "client.created");
    assert_eq!(event["topic"], "account");
    assert_eq!(event["data"]["client_id"], client["id"]);
    let seq = event["seq"].as_i64().unwrap();
    assert_eq!(event["id"], format!("{}:{seq}", owner.account_id));
    assert!(event["at"].is_string());
    // Who made the change.
    assert_eq!(event["actor"], json!({"user": owner.user_id}));

    // A refused change commits nothing and publishes nothing.
    app.post("/api/v1/clients", &owner.token, json!({"first_name": ""}))
        .await
        .expect(422);
    live.quiet().await;

    // In order, numbered one after another.
    let id = client["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/clients/{id}"),
        &owner.token,
        json!({"first_name": "Lea", "last_name": "Ve", "version": client["version"]}),
    )
    .await
    .expect(200);
    let updated = live.event().await;
    assert_eq!(updated["type"], "client.updated");
    assert_eq!(updated["seq"].as_i64().unwrap(), seq + 1);

    // The other account heard none of it (only its own warm-up silence).
    other.quiet().await;

    // Ping, unsubscribe, bad messages.
    live.send(json!({"type": "ping"})).await;
    assert_eq!(live.next().await.unwrap()["type"], "pong");
    live.send(json!({"type": "subscribe", "topics": ["invoices", "job:42"]}))
        .await;
    let (_, errors) = live.acknowledged().await;
    assert_eq!(errors.len(), 2);
    assert!(errors.iter().all(|e| e["code"] == "invalid_topic"));
    live.send(json!({"type": "teleport"})).await;
    assert_eq!(live.next().await.unwrap()["code"], "invalid_message");
    live.stream.send(Message::text("{not json")).await.unwrap();
    assert_eq!(live.next().await.unwrap()["code"], "invalid_message");
    live.send(json!({"type": "unsubscribe", "topics": ["account"]}))
        .await;
    assert_eq!(live.next().await.unwrap()["type"], "unsubscribed");
    app.create_client(&owner, json!({"first_name": "Not", "last_name": "Heard"}))
        .await;
    live.quiet().await;

    let metrics = app.metrics().await;
    for name in [
        "jobber_ws_connections 2",
        "jobber_ws_events_delivered_total",
        "jobber_ws_commit_to_socket_seconds_count",
        "jobber_ws_events_dropped_total 0",
    ] {
        assert!(metrics.contains(name), "{name} missing in\n{metrics}");
    }
}

#[tokio::test]
async fn only_the_token_the_subprotocol_or_a_ticket_opens_a_socket() {
    let app = spawn_app().await;
    let owner = app.signup("Auth Co").await;

    // No credentials, a bad token, not an upgrade: problem+json before any upgrade.
    let refused = |result: Result<(Live, Option<String>), WsError>| match result {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("connected without credentials"),
    };
    let url = format!("ws://{}/api/v1/ws", app.addr);
    assert_eq!(
        refused(
            tokio_tungstenite::connect_async(url.as_str())
                .await
                .map(|(s, _)| (Live { stream: s }, None))
        ),
        401
    );
    assert_eq!(
        refused(open(&app, Auth::Subprotocol("nope"), "").await),
        401
    );
    let plain = app.get("/api/v1/ws", &owner.token).await;
    assert_eq!(plain.status, 426);
    assert_eq!(plain.code(), "upgrade_required");

    // The Authorization header works for clients that can send it.
    let (mut live, protocol) = open(&app, Auth::Header(&owner.token), "").await.unwrap();
    assert_eq!(protocol, None);
    assert_eq!(live.next().await.unwrap()["type"], "welcome");

    // A ticket works once, and is no access token.
    let ticket = app
        .post("/api/v1/ws/tickets", &owner.token, json!({}))
        .await
        .expect(201)
        .body;
    let ticket = ticket["ticket"].as_str().unwrap();
    let (mut live, _) = open(&app, Auth::Ticket(ticket), "").await.unwrap();
    let welcome = live.next().await.unwrap();
    assert_eq!(welcome["user_id"], owner.user_id.as_str());
    assert_eq!(welcome["role"], "owner");
    assert_eq!(refused(open(&app, Auth::Ticket(ticket), "").await), 401);
    app.get("/api/v1/clients", ticket)
        .await
        .problem(401, "invalid_token");
    // An access token is no ticket.
    assert_eq!(
        refused(open(&app, Auth::Ticket(&owner.token), "").await),
        401
    );

    // The web app's session cookie, from its own origin; another site's page may
    // not open a socket with it.
    let signed_in = app
        .post_anon(
            "/api/v1/auth/session",
            json!({"email": owner.email, "password": crate::helpers::PASSWORD}),
        )
        .await
        .expect(200);
    let cookie = signed_in
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let own_origin = format!("http://{}", app.addr);
    let (mut live, _) = open(&app, Auth::Cookie(&cookie, &own_origin), "")
        .await
        .unwrap();
    assert_eq!(
        live.next().await.unwrap()["user_id"],
        owner.user_id.as_str()
    );
    assert_eq!(
        refused(open(&app, Auth::Cookie(&cookie, "https://evil.example"), "").await),
        403
    );
    assert_eq!(
        refused(open(&app, Auth::Cookie("jobber_session=forged", &own_origin), "").await),
        401
    );
}

#[tokio::test]
async fn technicians_hear_only_their_own_jobs_and_never_the_office() {
    let app = spawn_app().await;
    let owner = app.signup("Field Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let other_tech = app.add_user(&owner, "technician").await;
    let (mine, my_visit) = job_for(&app, &owner, &tech, "Mine").await;
    let (theirs, their_visit) = job_for(&app, &owner, &other_tech, "Theirs").await;
    // The office's socket first: once its warm-up event arrived, every earlier event
    // (the jobs' creation) has been relayed, in the account's order, and none of
    // them can reach the technician's socket late.
    let mut office = connect(&app, &owner).await;
    office.subscribe(&["schedule"]).await;
    warm_up_schedule(&app, &owner, &their_visit, &mut office).await;

    let mut live = connect(&app, &tech).await;
    let (ack, errors) = live
        .subscribe(&[
            "schedule",
            &format!("job:{mine}"),
            &format!("job:{theirs}"),
            "account",
            &format!("user:{}", tech.user_id),
            &format!("user:{}", owner.user_id),
        ])
        .await;
    assert_eq!(
        ack["topics"],
        json!([
            "schedule",
            format!("job:{mine}"),
            format!("user:{}", tech.user_id)
        ])
    );
    let codes: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e["topic"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (format!("job:{theirs}").as_str(), "job_not_found"),
            ("account", "forbidden_topic"),
            (
                format!("user:{}", owner.user_id).as_str(),
                "forbidden_topic"
            ),
        ]
    );
    live.quiet().await;

    // A change to the other technician's visit: the office hears it, this one not.
    app.patch(
        &format!("/api/v1/visits/{their_visit}"),
        &owner.token,
        json!({"instructions": "Gate code 1234"}),
    )
    .await
    .expect(200);
    assert_eq!(
        office.event().await["data"]["visit_id"],
        their_visit.as_str()
    );
    live.quiet().await;

    // Their own visit: heard on the schedule and on the job, ids only (no prices).
    app.patch(
        &format!("/api/v1/visits/{my_visit}"),
        &owner.token,
        json!({"instructions": "Back door"}),
    )
    .await
    .expect(200);
    let mut topics = Vec::new();
    for _ in 0..2 {
        let event = live.event().await;
        assert_eq!(event["type"], "visit.updated");
        assert_eq!(event["data"], json!({"visit_id": my_visit, "job_id": mine}));
        topics.push(event["topic"].as_str().unwrap().to_owned());
    }
    topics.sort();
    assert_eq!(topics, vec![format!("job:{mine}"), "schedule".to_owned()]);
    assert_eq!(office.event().await["data"]["visit_id"], my_visit.as_str());

    // Office events (clients, invoices, payments) never reach a technician.
    app.create_client(&owner, json!({"first_name": "Office", "last_name": "Only"}))
        .await;
    live.quiet().await;
}

/// Until the relay listens, nothing is published: poke a visit until the office
/// hears it.
async fn warm_up_schedule(app: &TestApp, owner: &Session, visit: &str, live: &mut Live) {
    until_heard(
        async || {
            app.patch(
                &format!("/api/v1/visits/{visit}"),
                &owner.token,
                json!({"notes": "warm"}),
            )
            .await
            .expect(200);
        },
        async |wait| live.next_within(wait).await.is_some(),
    )
    .await;
}

#[tokio::test]
async fn a_reconnect_resumes_from_its_last_seq_or_is_told_to_resync() {
    let app = spawn_app().await;
    let owner = app.signup("Resume Co").await;
    let mut live = connect(&app, &owner).await;
    live.subscribe(&["account"]).await;
    warm_up(&app, &owner, &mut live).await;
    app.create_client(&owner, json!({"first_name": "Seen", "last_name": "One"}))
        .await;
    let last_seen = live.event().await["seq"].as_i64().unwrap();
    drop(live);

    // Missed while away.
    let mut missed = Vec::new();
    for name in ["Ann", "Ben", "Cy"] {
        let client = app
            .create_client(&owner, json!({"first_name": name, "last_name": "Away"}))
            .await;
        missed.push(client["id"].as_str().unwrap().to_owned());
    }
    let mut live = connect_with(&app, &owner, &format!("since={last_seen}")).await;
    live.subscribe(&["account"]).await;
    for (offset, id) in missed.iter().enumerate() {
        let event = live.event().await;
        assert_eq!(event["type"], "client.created");
        assert_eq!(event["data"]["client_id"], id.as_str());
        assert_eq!(
            event["seq"].as_i64().unwrap(),
            last_seen + 1 + offset as i64
        );
    }
    // Then live, with nothing twice.
    let client = app
        .create_client(&owner, json!({"first_name": "Now", "last_name": "Live"}))
        .await;
    let event = live.event().await;
    assert_eq!(event["data"]["client_id"], client["id"]);
    assert_eq!(event["seq"].as_i64().unwrap(), last_seen + 4);
    live.quiet().await;

    // `since` on the subscribe message; nothing missed is fine.
    let mut again = connect(&app, &owner).await;
    again
        .send(json!({"type": "subscribe", "topics": ["account"], "since": last_seen + 4}))
        .await;
    again.acknowledged().await;
    again.quiet().await;

    // Events older than the 7 days kept are gone: the client must reload.
    sqlx::query("DELETE FROM events WHERE account_id = $1::uuid AND seq <= $2")
        .bind(&owner.account_id)
        .bind(last_seen + 2)
        .execute(app.db.pool())
        .await
        .unwrap();
    let mut stale = connect_with(&app, &owner, &format!("since={last_seen}")).await;
    stale
        .send(json!({"type": "subscribe", "topics": ["account"]}))
        .await;
    stale.acknowledged().await;
    let resync = stale.next().await.unwrap();
    assert_eq!(resync["type"], "resync_required");
    assert_eq!(resync["topics"], json!(["account"]));
    assert_eq!(resync["seq"].as_i64().unwrap(), last_seen + 4);
    // A seq from the future (another database) resyncs too.
    let mut future = connect(&app, &owner).await;
    future
        .send(json!({"type": "subscribe", "topics": ["account"], "since": 1_000_000}))
        .await;
    future.acknowledged().await;
    assert_eq!(future.next().await.unwrap()["type"], "resync_required");
}

/// The `purge_events` cron task (a worker's cleanup) deletes the events older than
/// 7 days and keeps the newer ones; a client resuming from before the purged ones is
/// told to resync, one resuming after them replays the rest.
#[tokio::test]
async fn the_cron_purges_events_older_than_7_days_and_a_resume_past_them_resyncs() {
    let app = spawn_app().await;
    let owner = app.signup("Purge Co").await;
    let mut live = connect(&app, &owner).await;
    live.subscribe(&["account"]).await;
    warm_up(&app, &owner, &mut live).await;
    for name in ["Old", "Older"] {
        app.create_client(&owner, json!({"first_name": name, "last_name": "Gone"}))
            .await;
        live.event().await;
    }
    let mut kept = Vec::new();
    for name in ["Week", "Now"] {
        let client = app
            .create_client(&owner, json!({"first_name": name, "last_name": "Kept"}))
            .await;
        let event = live.event().await;
        assert_eq!(event["data"]["client_id"], client["id"]);
        kept.push(event["seq"].as_i64().unwrap());
    }
    let last = kept[1];
    drop(live);

    // Age them as the owner: everything before the first kept event 8 days old, the
    // first kept one 6 days.
    let age = |days: i32, seqs: &'static str| {
        let (account, first) = (owner.account_id.clone(), kept[0]);
        let pool = app.db.pool().clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE events SET created_at = now() - make_interval(days => $1)
                 WHERE account_id = $2::uuid AND {seqs}"
            )))
            .bind(days)
            .bind(account)
            .bind(first)
            .execute(&pool)
            .await
            .unwrap()
            .rows_affected()
        }
    };
    let old = age(8, "seq < $3").await;
    assert!(old >= 3, "{old}");
    assert_eq!(age(6, "seq = $3").await, 1);

    // A worker's cron runs every task when it starts, `purge_events` among them.
    let _worker = worker_for(&app).await;
    let purged = wait_until(Duration::from_secs(60), || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM cron_runs WHERE name = 'purge_events' AND finished_at IS NOT NULL",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap()
            == 1
    })
    .await;
    assert!(purged, "the purge_events task never finished");
    let (affected, error): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT affected, error FROM cron_runs WHERE name = 'purge_events'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(error, None);
    assert_eq!(affected, Some(i64::try_from(old).unwrap()));
    let left: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM events WHERE account_id = $1::uuid ORDER BY seq")
            .bind(&owner.account_id)
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(left, kept, "the 6-day-old event and the new one are kept");

    // Resuming from before the purge: the gap cannot be replayed.
    let mut stale = connect_with(&app, &owner, &format!("since={}", kept[0] - 2)).await;
    stale.subscribe(&["account"]).await;
    let resync = stale.next().await.unwrap();
    assert_eq!(resync["type"], "resync_required", "{resync}");
    assert_eq!(resync["topics"], json!(["account"]));
    assert_eq!(resync["seq"].as_i64().unwrap(), last);
    // Resuming from the last purged one: the kept events replay, in order.
    let mut fresh = connect_with(&app, &owner, &format!("since={}", kept[0] - 1)).await;
    fresh.subscribe(&["account"]).await;
    for seq in &kept {
        assert_eq!(fresh.event().await["seq"].as_i64().unwrap(), *seq);
    }
    fresh.quiet().await;
}

#[tokio::test]
async fn limits_per_user_and_shutdown_says_going_away() {
    let app = spawn_app_with(|config| {
        config.http.ws_max_per_user = 2;
    })
    .await;
    let owner = app.signup("Limit Co").await;
    let _first = connect(&app, &owner).await;
    let mut second = connect(&app, &owner).await;
    match open(&app, Auth::Subprotocol(&owner.token), "").await {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 429),
        other => panic!("a third socket was admitted: {:?}", other.map(|_| ())),
    }
    second.subscribe(&["account"]).await;
    drop(app);
    assert_eq!(second.closed_with().await, Some(u16::from(CloseCode::Away)));
}

#[tokio::test]
async fn heartbeats_close_a_dead_connection_and_keep_a_live_one() {
    let app = spawn_app_with(|config| {
        config.http.ws_heartbeat = Duration::from_millis(200);
    })
    .await;
    let owner = app.signup("Heartbeat Co").await;
    // A client whose device went away: it answers nothing, not even pings.
    let mut dead = connect(&app, &owner).await;
    let mut alive = connect(&app, &owner).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        // Reading answers the server's pings (the WebSocket library pongs).
        assert!(
            alive
                .next_within(Duration::from_millis(100))
                .await
                .is_none()
        );
        let metrics = app.metrics().await;
        if metrics.contains("jobber_ws_connections 1\n") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the silent connection was never closed:\n{metrics}"
        );
    }
    // The silent one was dropped: after the pings it never answered, its stream ends.
    assert_eq!(dead.closed_with().await, None);
    // The one that answers is still served.
    alive.send(json!({"type": "ping"})).await;
    assert_eq!(alive.next().await.unwrap()["type"], "pong");
}

#[tokio::test]
async fn a_client_too_slow_to_read_is_closed_and_can_resume() {
    let app = spawn_app_with(|config| {
        config.http.ws_queue = 4;
    })
    .await;
    let owner = app.signup("Slow Co").await;
    let mut live = connect(&app, &owner).await;
    live.subscribe(&["account", &format!("user:{}", owner.user_id)])
        .await;
    warm_up(&app, &owner, &mut live).await;
    // A burst of large events, committed at once, while the client reads nothing:
    // notifications addressed to the owner and a thousand others.
    sqlx::query(
        r#"WITH taken AS (
               UPDATE event_sequences SET last_seq = last_seq + 600
               WHERE account_id = $1::uuid RETURNING last_seq
           )
           INSERT INTO events (account_id, seq, type, data)
           SELECT $1::uuid, taken.last_seq - 600 + n, 'notification.created',
                  jsonb_build_object('event_id', gen_random_uuid(),
                      'user_ids', (SELECT jsonb_agg(u) FROM (SELECT $2::uuid AS u UNION ALL
                                   SELECT gen_random_uuid() FROM generate_series(1, 1000)) ids))
           FROM taken, generate_series(1, 600) AS n"#,
    )
    .bind(&owner.account_id)
    .bind(&owner.user_id)
    .execute(app.db.pool())
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = app.metrics().await;
        if !metrics.contains("jobber_ws_events_dropped_total 0") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never dropped:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The client stays slow a while longer (the server waits for it to read what is
    // on the wire); then whatever was already sent arrives, and after it the close
    // frame with 1013.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(live.closed_with().await, Some(1013));
    // It resumes from the last event it saw.
    let mut again = connect(&app, &owner).await;
    let (ack, _) = again.subscribe(&["account"]).await;
    assert!(ack["seq"].as_i64().unwrap() >= 600);
}

#[tokio::test]
async fn commits_of_every_process_reach_sockets_on_every_api_process() {
    // Pods of one deployment share the signing secret.
    let pod = |role| {
        move |config: &mut jobber::config::Config| {
            with_worker(role, None)(config);
            fleet_pod(config);
        }
    };
    let first = spawn_app_with(pod(jobber::config::Role::Api)).await;
    let second = spawn_app_on(first.database_url.clone(), pod(jobber::config::Role::Api)).await;
    let _worker = spawn_app_on(
        first.database_url.clone(),
        pod(jobber::config::Role::Worker),
    )
    .await;
    let owner = first.signup("Fleet Co").await;
    let tech = first.add_user(&owner, "technician").await;
    let (_, visit) = job_for(&first, &owner, &tech, "Fleet").await;

    let mut live = connect(&second, &owner).await;
    live.subscribe(&["schedule", &format!("user:{}", owner.user_id)])
        .await;
    warm_up_schedule(&first, &owner, &visit, &mut live).await;

    // The technician completes the visit through api #1 ...
    first
        .post(
            &format!("/api/v1/visits/{visit}/complete"),
            &tech.token,
            json!({}),
        )
        .await
        .expect(200);
    // ... api #2's client hears it, and the notification the worker made.
    let (completed, notification) = completion_and_notice(&mut live, "the worker").await;
    assert_eq!(completed["data"]["visit_id"], visit.as_str());
    assert_eq!(completed["actor"], json!({"user": tech.user_id}));
    // Made by the worker's job, not by a user.
    assert!(
        notification["actor"]["system"].is_string(),
        "{notification}"
    );
}

/// Read events until both a `visit.completed` and a `notification.created` came, in
/// whichever order and among whatever else; returns the two. `who` names where to
/// look when the notification never comes.
async fn completion_and_notice(live: &mut Live, who: &str) -> (Value, Value) {
    let (mut completed, mut notification) = (None, None);
    let mut seen = Vec::new();
    while completed.is_none() || notification.is_none() {
        let Some(event) = live.next_within(Duration::from_secs(30)).await else {
            panic!("heard only {seen:?}; see {who}");
        };
        assert!(event["seq"].is_i64(), "not an event: {event}");
        seen.push(event["type"].as_str().unwrap().to_owned());
        match event["type"].as_str() {
            Some("visit.completed") => completed = Some(event),
            Some("notification.created") => notification = Some(event),
            _ => {}
        }
    }
    (completed.unwrap(), notification.unwrap())
}

/// The issue's cross-instance case with the real binary: two `jobber serve --role api`
/// processes and one `--role worker` on one PostgreSQL. A change made through api #1
/// and the notification a job of the worker process made both reach a WebSocket
/// client of api #2 (no process shares memory with another: only the database's
/// LISTEN/NOTIFY carries them).
#[tokio::test]
async fn a_change_through_one_api_process_and_a_worker_job_reach_a_client_of_another() {
    jobber::cli::install_crypto_provider();
    let cluster = Cluster::new(fresh_database().await, &[]);
    let (first, second, worker) = (
        cluster.start("api"),
        cluster.start("api"),
        cluster.start("worker"),
    );
    for process in [&first, &second, &worker] {
        ready(process).await;
    }
    let api1 = TestApp::attach(first.addr, first.admin, &cluster.database_url).await;
    let api2 = TestApp::attach(second.addr, second.admin, &cluster.database_url).await;
    let owner = api1.signup("Cluster Co").await;
    let tech = api1.add_user(&owner, "technician").await;
    let (job, visit) = job_for(&api1, &owner, &tech, "Cluster").await;

    let mut live = connect(&api2, &owner).await;
    let (ack, errors) = live
        .subscribe(&["account", &format!("user:{}", owner.user_id)])
        .await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(ack["topics"].as_array().unwrap().len(), 2);
    warm_up(&api1, &owner, &mut live).await;

    // A change through api #1's HTTP: the technician completes the visit.
    api1.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    let (completed, notification) =
        completion_and_notice(&mut live, &worker.log.display().to_string()).await;
    assert_eq!(completed["topic"], "account");
    assert_eq!(completed["data"]["visit_id"], visit.as_str());
    assert_eq!(completed["data"]["job_id"], job.as_str());
    assert_eq!(completed["actor"], json!({"user": tech.user_id}));
    // The office is told by a notification that only the worker process can have
    // made: the API processes run no background jobs.
    assert_eq!(notification["topic"], format!("user:{}", owner.user_id));
    assert!(
        notification["data"]["user_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(owner.user_id)),
        "{notification}"
    );
    assert!(
        notification["actor"]["system"]
            .as_str()
            .is_some_and(|queue| queue.starts_with("notifications.")),
        "{notification}"
    );
    assert!(notification["seq"].as_i64() > completed["seq"].as_i64());
}

/// A ticket works once across the API processes, not once per process: its use is
/// recorded in the database.
#[tokio::test]
async fn a_ticket_used_on_one_api_process_is_refused_by_another() {
    let pod = |config: &mut jobber::config::Config| {
        with_worker(jobber::config::Role::Api, None)(config);
        fleet_pod(config);
    };
    let first = spawn_app_with(pod).await;
    let second = spawn_app_on(first.database_url.clone(), pod).await;
    let owner = first.signup("Ticket Co").await;
    let ticket = first
        .post("/api/v1/ws/tickets", &owner.token, json!({}))
        .await
        .expect(201)
        .body;
    let ticket = ticket["ticket"].as_str().unwrap();
    let (mut live, _) = open(&second, Auth::Ticket(ticket), "").await.unwrap();
    assert_eq!(live.next().await.unwrap()["type"], "welcome");
    for app in [&first, &second] {
        match open(app, Auth::Ticket(ticket), "").await {
            Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 401),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("a used ticket opened a socket on {}", app.addr),
        }
    }
    // Another ticket of the same user still works.
    let fresh = first
        .post("/api/v1/ws/tickets", &owner.token, json!({}))
        .await
        .expect(201)
        .body;
    let (mut live, _) = open(&first, Auth::Ticket(fresh["ticket"].as_str().unwrap()), "")
        .await
        .unwrap();
    assert_eq!(live.next().await.unwrap()["type"], "welcome");
}

/// A throwaway `redis-server` on a free loopback port, stopped on drop.
pub(crate) struct RedisServer {
    child: std::process::Child,
    pub(crate) url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's redis-server, or `None` (and a loud skip) on a developer machine without
/// it; under CI a missing peer fails the run.
pub(crate) async fn start_redis(test: &str) -> Option<RedisServer> {
    let port = crate::background::free_port();
    let spawned = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let child = match spawned {
        Ok(child) => child,
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server is missing ({error}); run scripts/install-test-deps.sh"
            );
            eprintln!(
                "\n*** SKIPPING {test}: redis-server not found ({error}); run scripts/install-test-deps.sh ***\n"
            );
            return None;
        }
    };
    let server = RedisServer {
        child,
        url: format!("redis://127.0.0.1:{port}/"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(server);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not start");
}

#[tokio::test]
async fn with_redis_the_processes_announce_events_by_pub_sub() {
    let Some(redis) = start_redis("with_redis_the_processes_announce_events_by_pub_sub").await
    else {
        return;
    };
    let pod = |role| {
        let url = redis.url.clone();
        move |config: &mut jobber::config::Config| {
            with_worker(role, None)(config);
            fleet_pod(config);
            config.redis_url = Some(url.into());
        }
    };
    let first = spawn_app_with(pod(jobber::config::Role::Api)).await;
    let second = spawn_app_on(first.database_url.clone(), pod(jobber::config::Role::Api)).await;
    let owner = first.signup("Redis Co").await;
    let mut live = connect(&second, &owner).await;
    live.subscribe(&["account"]).await;
    warm_up(&first, &owner, &mut live).await;

    // Both API processes listen on Redis, and none on PostgreSQL.
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (_, subscribers): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg("jobber_events")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(subscribers, 2);
    let listening: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_one(first.db.pool())
    .await
    .unwrap();
    assert_eq!(listening, 0);

    let created = first
        .create_client(&owner, json!({"first_name": "Red", "last_name": "Is"}))
        .await;
    let event = live.event().await;
    assert_eq!(event["type"], "client.created");
    assert_eq!(event["data"]["client_id"], created["id"]);
}
