//! Text messages: "on my way" through a fake of Twilio's Messages API (checking the
//! request exactly as Twilio documents it), delivery exactly once, signed status
//! callbacks, replies with STOP / START, and the refusals.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jobber::config::{Config, Role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, Session, TestApp, spawn_app_with};

pub const SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "twilio-auth-token-for-tests";
pub const FROM: &str = "+15550001111";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: Vec<(String, String)>,
}

impl Received {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A fake of Twilio's Messages API on a loopback port. `To` numbers listed in
/// `invalid` are refused the way Twilio refuses them (400, code 21211).
pub struct FakeTwilio {
    pub base: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

#[derive(Clone)]
struct FakeState {
    received: Arc<Mutex<Vec<Received>>>,
    invalid: Vec<String>,
}

async fn create_message(
    State(state): State<FakeState>,
    axum::extract::Path(account): axum::extract::Path<String>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let received = Received {
        path: format!("/2010-04-01/Accounts/{account}/Messages.json"),
        authorization: header("authorization"),
        content_type: header("content-type"),
        form,
    };
    let to = received.param("To").unwrap_or_default().to_string();
    let n = {
        let mut all = state.received.lock().unwrap();
        all.push(received);
        all.len()
    };
    if state.invalid.contains(&to) {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(
                json!({"code": 21211, "message": format!("The 'To' number {to} is not a valid phone number."),
                              "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
            ),
        );
    }
    (
        StatusCode::CREATED,
        axum::Json(
            json!({"sid": format!("SM{n:032}"), "status": "queued", "to": to, "account_sid": account}),
        ),
    )
}

impl FakeTwilio {
    pub async fn start(invalid: &[&str]) -> FakeTwilio {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = FakeState {
            received: received.clone(),
            invalid: invalid.iter().map(|s| s.to_string()).collect(),
        };
        let router = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                axum::routing::post(create_message),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeTwilio {
            base: format!("http://{addr}"),
            received,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Twilio configured against `base` (None: an unreachable base, for API-only apps).
pub fn with_twilio(role: Role, base: Option<&str>) -> impl FnOnce(&mut Config) {
    let base = base.unwrap_or("http://127.0.0.1:9").to_string();
    move |c: &mut Config| {
        c.role = role;
        c.jobs.poll = Duration::from_millis(200);
        c.twilio.account_sid = Some(SID.into());
        c.twilio.auth_token = Some(secrecy::SecretString::from(TOKEN));
        c.twilio.from = Some(FROM.into());
        c.twilio.api_base = base;
    }
}

/// An owner, a technician and a client with an opted-in mobile; a visit today
/// assigned to the technician. Returns (owner, tech, client id, visit id).
pub async fn visit_for_tech(app: &TestApp, phone: Value) -> (Session, Session, String, String) {
    let owner = app.signup("Sparkle Windows").await;
    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"phone": "555-010-7777", "version": settings.body["version"]}),
    )
    .await
    .expect(200);
    let tech = app.add_user(&owner, "technician").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}], "phones": [phone]}),
        )
        .await;
    let client_id = client["id"].as_str().unwrap().to_string();
    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client_id, "title": "Windows",
              "schedule": {"start_date": "2026-07-01", "start_time": "09:00", "assignee_ids": [tech.user_id]}}))
        .await
        .expect(201)
        .body;
    let visit = job["visits"][0]["id"].as_str().unwrap().to_string();
    (owner, tech, client_id, visit)
}

pub fn sign(url: &str, form: &[(&str, &str)]) -> String {
    let params: Vec<(String, String)> = form
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    jobber::integrations::twilio::signature(TOKEN.as_bytes(), url, &params)
}

/// POST a form to one of jobber's Twilio webhooks, signed for `signed_url` (None:
/// no signature header).
pub async fn twilio_post(
    app: &TestApp,
    path_and_query: &str,
    form: &[(&str, &str)],
    signature: Option<String>,
) -> Reply {
    let mut request = app
        .http
        .request(Method::POST, app.url(path_and_query))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish(),
        );
    if let Some(signature) = signature {
        request = request.header("x-twilio-signature", signature);
    }
    crate::helpers::read_reply(request).await
}

async fn message(app: &TestApp, id: &str) -> (String, Option<String>, Option<String>, i32) {
    sqlx::query_as(
        "SELECT status, provider_id, error_code, attempts FROM messages WHERE id = $1::uuid",
    )
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .unwrap()
}

async fn wait_status(app: &TestApp, id: &str, status: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (now, ..) = message(app, id).await;
        if now == status || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn on_my_way_texts_the_client_through_twilio_exactly_once_and_callbacks_update_it() {
    let twilio = FakeTwilio::start(&[]).await;
    let app = spawn_app_with(with_twilio(Role::All, Some(&twilio.base))).await;
    let (_owner, tech, _client, visit) = visit_for_tech(
        &app,
        json!({"number": "(555) 010-2222", "label": "mobile", "sms_opt_in": true}),
    )
    .await;

    let queued = app
        .post(
            &format!("/api/v1/visits/{visit}/on-my-way"),
            &tech.token,
            json!({"eta_minutes": 15}),
        )
        .await
        .expect(202)
        .body;
    assert_eq!(queued["to"], "+15550102222");
    let message_id = queued["message_id"].as_str().unwrap().to_string();
    let account_id = tech.account_id.clone();

    let received = twilio.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 1, "one request to Twilio");
    let request = &received[0];
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.param("To"), Some("+15550102222"));
    assert_eq!(request.param("From"), Some(FROM));
    assert_eq!(request.param("MessagingServiceSid"), None);
    let callback = format!(
        "http://jobber.test/api/v1/webhooks/twilio/status?account={account_id}&message={message_id}"
    );
    assert_eq!(request.param("StatusCallback"), Some(callback.as_str()));
    let body = request.param("Body").unwrap();
    assert!(
        body.starts_with("Hi Ann, A from Sparkle Windows is on the way"),
        "{body}"
    );
    assert!(body.contains("about 15 min"), "{body}");
    assert!(body.contains("Call 555-010-7777"), "{body}");
    assert!(body.contains("Reply STOP to opt out"), "{body}");
    assert_eq!(body, queued["body"].as_str().unwrap());

    assert_eq!(wait_status(&app, &message_id, "sent").await, "sent");
    let (_, provider_id, _, attempts) = message(&app, &message_id).await;
    let sms_sid = provider_id.unwrap();
    assert!(sms_sid.starts_with("SM"));
    assert_eq!(attempts, 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(twilio.received().len(), 1, "sent exactly once");

    // Twilio's callbacks, signed for the URL it was given.
    let path = format!("/api/v1/webhooks/twilio/status?account={account_id}&message={message_id}");
    let delivered = [
        ("MessageSid", sms_sid.as_str()),
        ("MessageStatus", "delivered"),
        ("AccountSid", SID),
        ("To", "+15550102222"),
        ("From", FROM),
    ];
    // A wrong signature (another token's) and none at all are refused.
    let forged = jobber::integrations::twilio::signature(b"another-token", &callback, &[]);
    twilio_post(&app, &path, &delivered, Some(forged))
        .await
        .problem(400, "invalid_webhook_signature");
    twilio_post(&app, &path, &delivered, None)
        .await
        .problem(400, "invalid_webhook_signature");
    // Signed for another message's URL: refused.
    twilio_post(
        &app,
        &path,
        &delivered,
        Some(sign(&format!("{callback}x"), &delivered)),
    )
    .await
    .problem(400, "invalid_webhook_signature");
    assert_eq!(message(&app, &message_id).await.0, "sent");

    twilio_post(&app, &path, &delivered, Some(sign(&callback, &delivered)))
        .await
        .expect(204);
    assert_eq!(message(&app, &message_id).await.0, "delivered");
    // A late `sent` callback does not move it back.
    let late = [("MessageSid", sms_sid.as_str()), ("MessageStatus", "sent")];
    twilio_post(&app, &path, &late, Some(sign(&callback, &late)))
        .await
        .expect(204);
    assert_eq!(message(&app, &message_id).await.0, "delivered");

    // A second "on my way" is a second text.
    app.post(
        &format!("/api/v1/visits/{visit}/on-my-way"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(202);
    assert_eq!(twilio.wait_for(2, Duration::from_secs(20)).await.len(), 2);
}

#[tokio::test]
async fn an_undeliverable_text_records_twilios_error_code() {
    let twilio = FakeTwilio::start(&[]).await;
    let app = spawn_app_with(with_twilio(Role::All, Some(&twilio.base))).await;
    let (owner, _tech, _client, visit) = visit_for_tech(
        &app,
        json!({"number": "+44 7700 900123", "sms_opt_in": true}),
    )
    .await;
    let queued = app
        .post(
            &format!("/api/v1/visits/{visit}/on-my-way"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(202)
        .body;
    assert_eq!(queued["to"], "+447700900123");
    let message_id = queued["message_id"].as_str().unwrap();
    assert_eq!(wait_status(&app, message_id, "sent").await, "sent");
    let callback = format!(
        "http://jobber.test/api/v1/webhooks/twilio/status?account={}&message={message_id}",
        owner.account_id
    );
    let sms_sid = message(&app, message_id).await.1.unwrap();
    let form = [
        ("MessageSid", sms_sid.as_str()),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ];
    twilio_post(
        &app,
        callback.trim_start_matches("http://jobber.test"),
        &form,
        Some(sign(&callback, &form)),
    )
    .await
    .expect(204);
    let (status, _, code, _) = message(&app, message_id).await;
    assert_eq!(
        (status.as_str(), code.as_deref()),
        ("undelivered", Some("30003"))
    );
}

#[tokio::test]
async fn a_number_twilio_refuses_is_failed_once_and_not_retried() {
    let twilio = FakeTwilio::start(&["+15550103333"]).await;
    let app = spawn_app_with(with_twilio(Role::All, Some(&twilio.base))).await;
    let (owner, _tech, _client, visit) =
        visit_for_tech(&app, json!({"number": "555 010 3333", "sms_opt_in": true})).await;
    let queued = app
        .post(
            &format!("/api/v1/visits/{visit}/on-my-way"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(202)
        .body;
    let message_id = queued["message_id"].as_str().unwrap();
    assert_eq!(wait_status(&app, message_id, "failed").await, "failed");
    let (_, provider_id, code, _) = message(&app, message_id).await;
    assert_eq!((provider_id, code.as_deref()), (None, Some("21211")));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(twilio.received().len(), 1, "a refusal is not retried");
}

#[tokio::test]
async fn on_my_way_is_refused_without_an_opted_in_phone_twilio_or_an_open_visit() {
    let app = spawn_app_with(with_twilio(Role::Api, None)).await;
    let (owner, tech, client, visit) = visit_for_tech(
        &app,
        json!({"number": "(555) 010-2222", "label": "home", "sms_opt_in": false}),
    )
    .await;
    let path = format!("/api/v1/visits/{visit}/on-my-way");
    let refused = app
        .post(&path, &tech.token, json!({}))
        .await
        .problem(409, "sms_opt_in_required");
    assert!(refused.body["detail"].as_str().unwrap().contains("Ann Lee"));
    app.post(&path, &tech.token, json!({"eta_minutes": 0}))
        .await
        .problem(422, "validation_failed");
    // Another technician does not see the visit.
    let other = app.add_user(&owner, "technician").await;
    app.post(&path, &other.token, json!({}))
        .await
        .problem(404, "visit_not_found");

    // Opt in through the clients API: now it is queued (no worker here).
    let current = app
        .get(&format!("/api/v1/clients/{client}"), &owner.token)
        .await
        .expect(200)
        .body;
    app.put(
        &format!("/api/v1/clients/{client}"),
        &owner.token,
        json!({"first_name": "Ann", "last_name": "Lee", "phones": [{"number": "(555) 010-2222", "sms_opt_in": true}], "version": current["version"]}),
    )
    .await
    .expect(200);
    app.post(&path, &tech.token, json!({})).await.expect(202);
    let queued: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM messages m JOIN job_outbox o ON o.payload ->> 'message_id' = m.id::text
         WHERE m.channel = 'sms' AND m.status = 'queued' AND o.queue = 'sms.send'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        queued, 1,
        "the message and its sms.send job, in one transaction"
    );

    // A completed visit takes no more texts.
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(&path, &tech.token, json!({}))
        .await
        .problem(409, "invalid_transition");

    // Without Twilio on the server.
    let bare = spawn_app_with(|c| c.role = Role::Api).await;
    let (_, tech, _, visit) = visit_for_tech(
        &bare,
        json!({"number": "(555) 010-2222", "sms_opt_in": true}),
    )
    .await;
    bare.post(
        &format!("/api/v1/visits/{visit}/on-my-way"),
        &tech.token,
        json!({}),
    )
    .await
    .problem(409, "sms_not_configured");
}

async fn phone_opt_in(app: &TestApp, owner: &Session, client: &str) -> bool {
    app.get(&format!("/api/v1/clients/{client}"), &owner.token)
        .await
        .expect(200)
        .body["phones"][0]["sms_opt_in"]
        .as_bool()
        .unwrap()
}

#[tokio::test]
async fn replies_are_stored_the_office_is_told_and_stop_start_flip_the_opt_in() {
    let app = spawn_app_with(with_twilio(Role::Api, None)).await;
    let (owner, tech, client, visit) = visit_for_tech(
        &app,
        json!({"number": "(555) 010-2222", "sms_opt_in": true}),
    )
    .await;
    // The last text to the number routes its replies to this account.
    app.post(
        &format!("/api/v1/visits/{visit}/on-my-way"),
        &tech.token,
        json!({}),
    )
    .await
    .expect(202);
    let inbound = "http://jobber.test/api/v1/webhooks/twilio/inbound";
    let path = "/api/v1/webhooks/twilio/inbound";
    let reply = |sid: &'static str, body: &'static str| {
        [
            ("MessageSid", sid),
            ("AccountSid", SID),
            ("From", "+15550102222"),
            ("To", FROM),
            ("Body", body),
            ("NumMedia", "0"),
        ]
    };

    let hello = reply("SMin0001", "Running 5 min late, gate code is 1234");
    twilio_post(&app, path, &hello, None)
        .await
        .problem(400, "invalid_webhook_signature");
    let answer = twilio_post(&app, path, &hello, Some(sign(inbound, &hello)))
        .await
        .expect(200);
    assert_eq!(answer.header("content-type"), Some("text/xml"));
    assert_eq!(
        answer.text,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"
    );
    // Twilio's retry of the same message is stored once.
    twilio_post(&app, path, &hello, Some(sign(inbound, &hello)))
        .await
        .expect(200);
    let stored: Vec<(String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT status, body_text, from_address, client_id::text FROM messages WHERE direction = 'inbound'",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        stored,
        vec![(
            "received".to_string(),
            "Running 5 min late, gate code is 1234".to_string(),
            Some("+15550102222".to_string()),
            client.clone()
        )]
    );
    // Notifications are fanned out by a notifications.high job: a worker runs it.
    let _worker = crate::helpers::spawn_app_on(
        app.database_url.clone(),
        crate::background::with_worker(Role::Worker, None),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let notes = loop {
        let notes = app
            .get("/api/v1/notifications", &owner.token)
            .await
            .expect(200)
            .body;
        if !notes["items"].as_array().unwrap().is_empty() || std::time::Instant::now() > deadline {
            break notes;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let note = &notes["items"][0];
    assert_eq!(note["kind"], "message_received");
    assert_eq!(note["title"], "Text from Ann Lee");
    assert_eq!(note["body"], "Running 5 min late, gate code is 1234");
    assert!(phone_opt_in(&app, &owner, &client).await);

    let stop = reply("SMin0002", " stop ");
    twilio_post(&app, path, &stop, Some(sign(inbound, &stop)))
        .await
        .expect(200);
    assert!(!phone_opt_in(&app, &owner, &client).await, "STOP opts out");
    app.post(
        &format!("/api/v1/visits/{visit}/on-my-way"),
        &tech.token,
        json!({}),
    )
    .await
    .problem(409, "sms_opt_in_required");

    let start = reply("SMin0003", "START");
    twilio_post(&app, path, &start, Some(sign(inbound, &start)))
        .await
        .expect(200);
    assert!(
        phone_opt_in(&app, &owner, &client).await,
        "START opts back in"
    );

    // A number no account texted: answered, not stored.
    let stranger = [
        ("MessageSid", "SMin0004"),
        ("From", "+15559990000"),
        ("To", FROM),
        ("Body", "who is this?"),
    ];
    twilio_post(&app, path, &stranger, Some(sign(inbound, &stranger)))
        .await
        .expect(200);
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE direction = 'inbound'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(count, 3);
}
