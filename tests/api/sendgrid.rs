//! Email through SendGrid's v3 Mail Send API instead of SMTP: a local fake checks
//! the request exactly (Bearer key, JSON shape) and answers like SendGrid (202 +
//! X-Message-Id); the message is sent once and records the id.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jobber::config::{EmailTransport, Role};
use serde_json::{Value, json};

use crate::helpers::spawn_app_with;

#[derive(Debug, Clone)]
struct Received {
    authorization: Option<String>,
    content_type: Option<String>,
    body: Value,
}

async fn mail_send(
    State(received): State<Arc<Mutex<Vec<Received>>>>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> (StatusCode, [(&'static str, &'static str); 1]) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    received.lock().unwrap().push(Received {
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    (StatusCode::ACCEPTED, [("x-message-id", "sg-4kZxQ9Yb")])
}

#[tokio::test]
async fn emails_go_through_sendgrid_once_with_the_documented_json() {
    let received = Arc::new(Mutex::new(Vec::new()));
    let router = axum::Router::new()
        .route("/v3/mail/send", axum::routing::post(mail_send))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let app = spawn_app_with(move |c| {
        c.role = Role::All;
        c.jobs.poll = Duration::from_millis(200);
        c.jobs.email_transport = EmailTransport::Sendgrid;
        c.jobs.sendgrid_api_key = Some(secrecy::SecretString::from("SG.test-key"));
        c.jobs.sendgrid_api_base = base;
        c.jobs.smtp_from = "Jobber Test <office@jobber.test>".into();
    })
    .await;
    let owner = app.signup("Sparkle Windows").await;
    let version = app
        .get("/api/v1/settings", &owner.token)
        .await
        .expect(200)
        .body["version"]
        .clone();
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"email": "hello@sparkle.test", "version": version}),
    )
    .await
    .expect(200);
    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}]}))
        .await;
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client["id"], "title": "Fence", "lines": [{"name": "Fence", "quantity": 1, "unit_price": 10000}], "tax_rate_ids": []}))
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);

    let deadline = Instant::now() + Duration::from_secs(20);
    let (status, provider_id, message_id, subject, text, html) = loop {
        let row: (String, Option<String>, String, String, String, String) = sqlx::query_as(
            "SELECT status, provider_id, id::text, subject, body_text, body_html FROM messages WHERE template = 'invoice_sent'",
        )
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        if row.0 == "sent" || Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if status != "sent" {
        let error: Option<String> =
            sqlx::query_scalar("SELECT error FROM messages WHERE template = 'invoice_sent'")
                .fetch_one(app.db.pool())
                .await
                .unwrap();
        panic!("the email is {status}: {error:?}");
    }
    assert_eq!(provider_id.as_deref(), Some("sg-4kZxQ9Yb"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 1, "sent once");
    let request = &received[0];
    assert_eq!(request.authorization.as_deref(), Some("Bearer SG.test-key"));
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    // The invoice's PDF, base64 as SendGrid documents it.
    let attachments = request.body["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    let pdf = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        attachments[0]["content"].as_str().unwrap(),
    )
    .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(
        request.body,
        json!({
            "personalizations": [{"to": [{"email": "ann@example.com"}]}],
            "from": {"email": "office@jobber.test", "name": "Sparkle Windows"},
            "reply_to": {"email": "hello@sparkle.test"},
            "subject": subject,
            // text/plain first, as SendGrid requires.
            "content": [{"type": "text/plain", "value": text}, {"type": "text/html", "value": html}],
            "attachments": [{"content": attachments[0]["content"], "type": "application/pdf",
                             "filename": "invoice-INV-1.pdf", "disposition": "attachment"}],
            "custom_args": {"jobber_message_id": message_id},
        })
    );
}
