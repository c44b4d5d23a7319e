//! Card payments through Stripe, checked end to end against localstripe (a stateful
//! fake Stripe, PyPI) that the test starts and that delivers the signed webhook;
//! deposits on quotes applied to the job's invoice; the Stripe keys at rest.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app, spawn_app_with};

pub(crate) const SECRET_KEY: &str = "sk_test_jobber_localstripe_4242";
pub(crate) const WEBHOOK_SECRET: &str = "whsec_jobber_localstripe_test";

/// A localstripe server on a free loopback port, stopped when dropped.
pub(crate) struct LocalStripe {
    child: Child,
    pub(crate) base: String,
    http: reqwest::Client,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LocalStripe {
    /// Started from the test venv's Python (PYTHON_FOR_TESTS; `make test` installs
    /// localstripe there), or None with a loud message on a developer machine without
    /// it. In CI its absence fails (ARCHITECTURE §5).
    pub(crate) async fn start() -> Option<Self> {
        jobber::cli::install_crypto_provider();
        let python = std::env::var("PYTHON_FOR_TESTS").unwrap_or_else(|_| "python3".into());
        let ok = Command::new(&python)
            .args(["-c", "import localstripe"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var("CI").is_err(),
                "CI needs localstripe ({python}); run scripts/install-test-deps.sh"
            );
            eprintln!(
                "SKIPPING the Stripe end-to-end test: {python} has no localstripe (run scripts/install-test-deps.sh)"
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&python)
            .args(["-m", "localstripe", "--from-scratch", "--port"])
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start localstripe: {e}"));
        let server = LocalStripe {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        // Up to 30 s: its start is slow on a busy machine.
        for _ in 0..600 {
            if let Ok(r) = server
                .http
                .get(format!("{}/v1/customers", server.base))
                .bearer_auth(SECRET_KEY)
                .send()
                .await
                && r.status().is_success()
            {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("localstripe did not start on port {port}");
    }

    async fn call(&self, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(SECRET_KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path, &[]).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        self.call(reqwest::Method::POST, path, form).await
    }

    /// Pay an intent as the payer's browser would: a card, attached, confirmed.
    pub(crate) async fn pay(&self, intent: &str, card: &str) -> Value {
        let pm = self
            .post(
                "/v1/payment_methods",
                &[
                    ("type", "card"),
                    ("card[number]", card),
                    ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"),
                    ("card[cvc]", "123"),
                ],
            )
            .await;
        let pm = pm["id"].as_str().unwrap();
        self.post(
            &format!("/v1/payment_intents/{intent}"),
            &[("payment_method", pm)],
        )
        .await;
        self.post(&format!("/v1/payment_intents/{intent}/confirm"), &[])
            .await
    }
}

/// Start a card payment on the invoice: (payment id, PaymentIntent id).
async fn start_card(
    app: &TestApp,
    owner: &Session,
    invoice: &str,
    amount: i64,
) -> (String, String) {
    let body = app
        .post(
            "/api/v1/payments",
            &owner.token,
            json!({"invoice_id": invoice, "method": "card", "amount": amount}),
        )
        .await
        .expect(201)
        .body;
    (
        body["payment"]["id"].as_str().unwrap().to_string(),
        body["payment"]["stripe_payment_intent_id"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

/// Wait for a payment to reach `status` (the webhook arrives about 1 s after the
/// charge: localstripe delays it).
async fn wait_for(app: &TestApp, owner: &Session, payment: &str, status: &str) -> Value {
    for _ in 0..150 {
        let p = app
            .get(&format!("/api/v1/payments/{payment}"), &owner.token)
            .await
            .expect(200)
            .body;
        if p["status"] == status {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("payment {payment} never became {status}");
}

async fn post_event(app: &TestApp, body: &[u8], signature: Option<&str>) -> crate::helpers::Reply {
    let mut request = app
        .http
        .post(app.url("/api/v1/webhooks/stripe"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    crate::helpers::read_reply(request).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn stripe_card_payments_settle_by_signed_webhook_and_refund_through_stripe() {
    let Some(stripe) = LocalStripe::start().await else {
        return;
    };
    let base = stripe.base.clone();
    let app = spawn_app_with(|c| c.stripe_api_base = base).await;
    let owner = app.signup("Card Co").await;
    let invoice = app.sent_invoice(&owner, 10_000).await;
    let card = |amount: i64, tip: i64| json!({"invoice_id": invoice, "method": "card", "amount": amount, "tip": tip});

    // Without the account's keys there is no card payment.
    app.post("/api/v1/payments", &owner.token, card(6000, 500))
        .await
        .problem(409, "stripe_not_configured");

    // The keys: stored encrypted, never shown again.
    app.put(
        "/api/v1/settings/payments/stripe",
        &owner.token,
        json!({"secret_key": "pk_test_wrong_kind", "webhook_secret": WEBHOOK_SECRET}),
    )
    .await
    .problem(422, "validation_failed");
    let set = app
        .put(
            "/api/v1/settings/payments/stripe",
            &owner.token,
            json!({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}),
        )
        .await
        .expect(200);
    assert_eq!(set.body["configured"], true);
    assert_eq!(set.body["secret_key_last4"], "4242");
    assert_eq!(
        set.body["webhook_url"],
        "http://jobber.test/api/v1/webhooks/stripe"
    );
    let shown = app
        .get("/api/v1/settings/payments/stripe", &owner.token)
        .await
        .expect(200);
    assert!(!shown.text.contains(SECRET_KEY) && !shown.text.contains(WEBHOOK_SECRET));
    let (key_enc, hook_enc): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT secret_key_enc, webhook_secret_enc FROM stripe_settings")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        key_enc.len(),
        12 + SECRET_KEY.len() + 16,
        "nonce || ciphertext || tag"
    );
    assert!(
        !key_enc
            .windows(8)
            .any(|w| SECRET_KEY.as_bytes().windows(8).any(|s| s == w))
    );
    assert!(
        !hook_enc
            .windows(8)
            .any(|w| w == &WEBHOOK_SECRET.as_bytes()[..8])
    );

    // localstripe delivers its events to our webhook, signed with the secret.
    let hook_url = app.url("/api/v1/webhooks/stripe");
    let registered = stripe
        .http
        .post(format!("{}/_config/webhooks/jobber", stripe.base))
        .form(&[("url", hook_url.as_str()), ("secret", WEBHOOK_SECRET)])
        .send()
        .await
        .unwrap();
    assert!(registered.status().is_success());

    // A card payment: a PaymentIntent for amount + tip, pending, balance untouched.
    let started = app
        .request(
            reqwest::Method::POST,
            "/api/v1/payments",
            Some(&owner.token),
            Some(card(6000, 500)),
            &[("Idempotency-Key", "card-payment-1")],
        )
        .await
        .expect(201);
    let payment = started.body["payment"]["id"].as_str().unwrap().to_string();
    let intent = started.body["payment"]["stripe_payment_intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(started.body["payment"]["status"], "pending");
    assert_eq!(started.body["payment"]["tip"], 500);
    assert!(
        started.body["client_secret"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{intent}_secret_"))
    );
    assert_eq!(started.body["invoice"]["balance"], 10_000);
    assert_eq!(started.body["invoice"]["status"], "sent");
    let at_stripe = stripe.get(&format!("/v1/payment_intents/{intent}")).await;
    assert_eq!(at_stripe["amount"], 6500, "the tip is charged on top");
    assert_eq!(at_stripe["currency"], "usd");
    assert_eq!(at_stripe["metadata"]["payment_id"], payment.as_str());
    assert_eq!(at_stripe["metadata"]["invoice_id"], invoice.as_str());
    assert_eq!(
        at_stripe["metadata"]["account_id"],
        owner.account_id.as_str()
    );
    // A retry with the same Idempotency-Key is the same payment, not a second intent.
    let replayed = app
        .request(
            reqwest::Method::POST,
            "/api/v1/payments",
            Some(&owner.token),
            Some(card(6000, 500)),
            &[("Idempotency-Key", "card-payment-1")],
        )
        .await
        .expect(201);
    assert_eq!(replayed.body["payment"]["id"], payment.as_str());
    // The pending payment holds its part of the balance.
    let over = app
        .post("/api/v1/payments", &owner.token, card(4001, 0))
        .await
        .problem(422, "validation_failed");
    assert_eq!(over.fields(), vec!["amount"]);

    // The payer confirms; the invoice changes only when the webhook arrives.
    let confirmed = stripe.pay(&intent, "4242424242424242").await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
    let before = app
        .get(&format!("/api/v1/invoices/{invoice}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        before["balance"], 10_000,
        "not paid before Stripe's webhook"
    );
    let succeeded = wait_for(&app, &owner, &payment, "succeeded").await;
    assert_eq!(succeeded["fee"], 0, "localstripe keeps no fee");
    let after = app
        .get(&format!("/api/v1/invoices/{invoice}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(after["status"], "partially_paid");
    assert_eq!(
        after["amount_paid"], 6000,
        "the tip does not reduce the balance"
    );
    assert_eq!(after["balance"], 4000);

    // The same event again (as Stripe redelivers it): accepted, nothing changes.
    let events = stripe.get("/v1/events?type=payment_intent.succeeded").await;
    let event = events["data"][0].clone();
    assert_eq!(event["data"]["object"]["id"], intent.as_str());
    let body = serde_json::to_vec(&event).unwrap();
    let signature = jobber::integrations::stripe::sign(&body, WEBHOOK_SECRET.as_bytes(), now());
    let replay = post_event(&app, &body, Some(&signature)).await.expect(200);
    assert_eq!(replay.body["duplicate"], true);
    let unchanged = app
        .get(&format!("/api/v1/invoices/{invoice}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(unchanged["amount_paid"], 6000);
    assert_eq!(unchanged["version"], after["version"]);
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_events")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(processed, 1);

    // The payer got one receipt (the replay queued no second), for amount + tip,
    // with the balance left.
    let receipts: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT to_address, subject, body_text, body_html FROM messages WHERE template = 'payment_receipt'",
    )
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(receipts.len(), 1, "one receipt");
    let (to, subject, text, html) = &receipts[0];
    assert_eq!(to, "cara@example.com");
    assert!(
        subject.starts_with("Receipt from ") && subject.contains("USD 65.00 for invoice INV-1"),
        "{subject}"
    );
    assert!(
        text.contains("Method: Card") && text.contains("Of which tip: USD 5.00"),
        "{text}"
    );
    assert!(text.contains("Balance due: USD 40.00"), "{text}");
    assert!(html.contains("Balance due: USD 40.00"), "{html}");

    // Stale or unsigned events are refused; forged ones are ignored, answered exactly
    // as an event about a PaymentIntent jobber never made (no oracle for intent ids).
    let forged = jobber::integrations::stripe::sign(&body, b"whsec_not_ours", now());
    let forged_reply = post_event(&app, &body, Some(&forged)).await.expect(200);
    let mut unknown_event = event.clone();
    unknown_event["data"]["object"]["id"] = json!("pi_never_made_here");
    let unknown_body = serde_json::to_vec(&unknown_event).unwrap();
    let unknown = jobber::integrations::stripe::sign(&unknown_body, b"whsec_not_ours", now());
    let unknown_reply = post_event(&app, &unknown_body, Some(&unknown))
        .await
        .expect(200);
    assert_eq!(forged_reply.body, unknown_reply.body);
    assert_eq!(forged_reply.body["ignored"], true);
    let stale = jobber::integrations::stripe::sign(&body, WEBHOOK_SECRET.as_bytes(), now() - 301);
    post_event(&app, &body, Some(&stale))
        .await
        .problem(400, "invalid_webhook_signature");
    post_event(&app, &body, None)
        .await
        .problem(400, "invalid_webhook_signature");
    let mut tampered = event.clone();
    tampered["id"] = json!("evt_tampered");
    let tampered = serde_json::to_vec(&tampered).unwrap();
    let tampered_reply = post_event(&app, &tampered, Some(&signature))
        .await
        .expect(200);
    assert_eq!(tampered_reply.body, unknown_reply.body);
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM stripe_events")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(processed, 1, "ignored events are not processed");

    // A partial refund goes through Stripe, then is recorded.
    let refunded = app
        .post(
            &format!("/api/v1/payments/{payment}/refund"),
            &owner.token,
            json!({"amount": 1500, "reason": "One gutter left undone"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(refunded["payment"]["status"], "partially_refunded");
    assert_eq!(refunded["payment"]["refunded"], 1500);
    assert_eq!(refunded["invoice"]["balance"], 5500);
    let refunds = stripe
        .get(&format!("/v1/refunds?payment_intent={intent}"))
        .await;
    assert_eq!(refunds["data"].as_array().unwrap().len(), 1);
    assert_eq!(refunds["data"][0]["amount"], 1500);

    // A refund made in Stripe's dashboard arrives as charge.refunded (total so far).
    let dashboard = serde_json::to_vec(&json!({
        "id": "evt_dashboard_refund", "object": "event", "type": "charge.refunded",
        "data": {"object": {"id": "ch_dashboard", "object": "charge", "payment_intent": intent, "amount_refunded": 2500}}
    }))
    .unwrap();
    let signed = jobber::integrations::stripe::sign(&dashboard, WEBHOOK_SECRET.as_bytes(), now());
    post_event(&app, &dashboard, Some(&signed))
        .await
        .expect(200);
    post_event(&app, &dashboard, Some(&signed))
        .await
        .expect(200);
    let reconciled = app
        .get(&format!("/api/v1/payments/{payment}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(reconciled["refunded"], 2500, "once, not twice");
    let invoice_now = app
        .get(&format!("/api/v1/invoices/{invoice}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(invoice_now["balance"], 6500);

    // A declined card: the payment fails by webhook and stops holding the balance.
    let declined = app
        .post("/api/v1/payments", &owner.token, card(1000, 0))
        .await
        .expect(201)
        .body;
    let declined_id = declined["payment"]["id"].as_str().unwrap();
    let declined_intent = declined["payment"]["stripe_payment_intent_id"]
        .as_str()
        .unwrap();
    let answer = stripe.pay(declined_intent, "4000000000000341").await;
    assert!(answer["error"].is_object(), "{answer}");
    let failed = wait_for(&app, &owner, declined_id, "failed").await;
    assert!(
        failed["note"]
            .as_str()
            .unwrap_or_default()
            .contains("declined")
    );
    let last = app
        .post("/api/v1/payments", &owner.token, card(6500, 0))
        .await
        .expect(201)
        .body;
    let last_intent = last["payment"]["stripe_payment_intent_id"]
        .as_str()
        .unwrap();
    stripe.pay(last_intent, "4242424242424242").await;
    wait_for(
        &app,
        &owner,
        last["payment"]["id"].as_str().unwrap(),
        "succeeded",
    )
    .await;
    let paid = app
        .get(&format!("/api/v1/invoices/{invoice}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["balance"], 0);

    // A deposit on a quote by card: the same flow, the quote in the metadata.
    let client = app
        .create_client(
            &owner,
            json!({"company_name": "Quote Payer Ltd", "emails": [{"address": "ap@payer.example"}]}),
        )
        .await;
    let quote = app
        .post("/api/v1/quotes", &owner.token, json!({"client_id": client["id"], "title": "Roof", "tax_rate_ids": [],
               "lines": [{"name": "Roof", "quantity": 1, "unit_price": 12_000}], "deposit": {"kind": "amount", "value": 3000}}))
        .await
        .expect(201)
        .body;
    let quote_id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{quote_id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let deposit = app
        .post(
            "/api/v1/payments",
            &owner.token,
            json!({"quote_id": quote_id, "method": "card", "amount": 3000}),
        )
        .await
        .expect(201)
        .body;
    assert!(deposit["invoice"].is_null());
    let deposit_intent = deposit["payment"]["stripe_payment_intent_id"]
        .as_str()
        .unwrap();
    let at_stripe = stripe
        .get(&format!("/v1/payment_intents/{deposit_intent}"))
        .await;
    assert_eq!(at_stripe["metadata"]["quote_id"], quote_id);
    stripe.pay(deposit_intent, "4242424242424242").await;
    let settled = wait_for(
        &app,
        &owner,
        deposit["payment"]["id"].as_str().unwrap(),
        "succeeded",
    )
    .await;
    assert_eq!(settled["quote_id"], quote_id);
    assert!(settled["invoice_id"].is_null());
}

#[tokio::test]
async fn an_event_for_an_unknown_intent_is_ignored_and_a_bad_body_refused() {
    let app = spawn_app().await;
    let body = serde_json::to_vec(&json!({"id": "evt_x", "type": "payment_intent.succeeded",
        "data": {"object": {"id": "pi_unknown", "object": "payment_intent", "amount": 100}}}))
    .unwrap();
    let fresh = format!("t={},v1=00", now());
    let reply = post_event(&app, &body, Some(&fresh)).await.expect(200);
    assert_eq!(reply.body["ignored"], true);
    post_event(&app, b"not json", Some(&fresh))
        .await
        .problem(400, "malformed_json");
    // Stale or malformed headers are refused before anything else is read.
    post_event(&app, &body, Some("t=1,v1=00"))
        .await
        .problem(400, "invalid_webhook_signature");
    // Thousands of signature entries: refused at once, without hashing each.
    let flood = format!(
        "t={}{}",
        now(),
        format!(",v1={}", "00".repeat(32)).repeat(3000)
    );
    post_event(&app, &body, Some(&flood))
        .await
        .problem(400, "invalid_webhook_signature");
}

#[tokio::test]
async fn deposits_on_a_quote_are_applied_to_the_invoice_of_its_job() {
    let app = spawn_app().await;
    let owner = app.signup("Deposit Co").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Dee", "last_name": "Posit", "emails": [{"address": "dee@example.com"}]}))
        .await;
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client["id"], "title": "Deck", "tax_rate_ids": [],
                   "lines": [{"name": "Deck", "quantity": 1, "unit_price": 20000}],
                   "deposit": {"kind": "percent", "value": 2500}}),
        )
        .await
        .expect(201)
        .body;
    let quote_id = quote["id"].as_str().unwrap();
    assert_eq!(quote["deposit_amount"], 5000);
    let deposit = json!({"quote_id": quote_id, "method": "check", "amount": 5000,
                         "reference": "Check 77", "send_receipt": true});
    // Not on a draft quote: the client has not seen it.
    app.post("/api/v1/payments", &owner.token, deposit.clone())
        .await
        .problem(409, "invalid_transition");
    app.post(
        &format!("/api/v1/quotes/{quote_id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let paid = app
        .post("/api/v1/payments", &owner.token, deposit)
        .await
        .expect(201)
        .body;
    assert_eq!(paid["payment"]["quote_id"], quote_id);
    assert!(paid["payment"]["invoice_id"].is_null());
    assert!(paid["invoice"].is_null());
    // The receipt names the quote (there is no invoice to link to yet).
    let (subject, text): (String, String) = sqlx::query_as(
        "SELECT subject, body_text FROM messages WHERE template = 'payment_receipt'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        subject,
        "Receipt from Deposit Co: USD 50.00 deposit for quote Q-1"
    );
    assert!(
        text.contains("Deposit on quote Q-1: Deck") && text.contains("Reference: Check 77"),
        "{text}"
    );
    assert!(!text.contains("/hub/"), "no invoice link: {text}");
    app.post(
        "/api/v1/payments",
        &owner.token,
        json!({"quote_id": quote_id, "method": "cash", "amount": 15_001}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        "/api/v1/payments",
        &owner.token,
        json!({"quote_id": quote_id, "invoice_id": quote_id, "method": "cash", "amount": 1}),
    )
    .await
    .problem(422, "validation_failed");

    app.post(
        &format!("/api/v1/quotes/{quote_id}/approve"),
        &owner.token,
        json!({"signature_name": "Dee Posit"}),
    )
    .await
    .expect(200);
    let job = app
        .post(
            &format!("/api/v1/quotes/{quote_id}/convert"),
            &owner.token,
            json!({"schedule": {"start_date": "2026-09-01", "start_time": "08:00"}}),
        )
        .await
        .expect(201)
        .body;
    let visit = job["visits"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/visits/{visit}/complete"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let draft = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"job_id": job["id"], "tax_rate_ids": []}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(draft["total"], 20_000);
    assert_eq!(draft["amount_paid"], 5000, "the deposit is applied");
    assert_eq!(draft["balance"], 15_000, "total - deposit");
    assert_eq!(draft["status"], "draft");

    // Deleting the draft gives the deposit back to the quote for the next invoice.
    let draft_id = draft["id"].as_str().unwrap();
    app.delete(&format!("/api/v1/invoices/{draft_id}"), &owner.token)
        .await
        .expect(204);
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"job_id": job["id"], "tax_rate_ids": []}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(invoice["balance"], 15_000);
    let id = invoice["id"].as_str().unwrap();
    let sent = app
        .post(
            &format!("/api/v1/invoices/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        sent["status"], "partially_paid",
        "the deposit shows once issued"
    );
    let payment = app
        .get(
            &format!(
                "/api/v1/payments/{}",
                paid["payment"]["id"].as_str().unwrap()
            ),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(payment["invoice_id"], id);
    assert_eq!(payment["quote_id"], quote_id);
    // Paying the rest settles it; refunding part of the deposit reopens it.
    let rest = app
        .post(
            "/api/v1/payments",
            &owner.token,
            json!({"invoice_id": id, "method": "cash", "amount": 15_000}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(rest["invoice"]["status"], "paid");
    let refund = app
        .post(
            &format!(
                "/api/v1/payments/{}/refund",
                paid["payment"]["id"].as_str().unwrap()
            ),
            &owner.token,
            json!({"amount": 1000}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(refund["invoice"]["balance"], 1000);
    assert_eq!(refund["invoice"]["status"], "partially_paid");
}

#[tokio::test]
async fn pending_card_payments_are_reconciled_with_stripe() {
    let Some(stripe) = LocalStripe::start().await else {
        return;
    };
    let base = stripe.base.clone();
    let app = spawn_app_with(move |c| {
        crate::background::with_worker(jobber::config::Role::All, None)(c);
        c.stripe_api_base = base;
    })
    .await;
    let owner = app.signup("Lost Hook Co").await;
    app.put(
        "/api/v1/settings/payments/stripe",
        &owner.token,
        json!({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}),
    )
    .await
    .expect(200);
    // No webhook is registered at localstripe: every event is "lost".
    let invoice = app.sent_invoice(&owner, 10_000).await;
    let (paid, paid_intent) = start_card(&app, &owner, &invoice, 3000).await;
    let (abandoned, abandoned_intent) = start_card(&app, &owner, &invoice, 2000).await;
    let (cancelled, cancelled_intent) = start_card(&app, &owner, &invoice, 1000).await;
    let (fresh, _) = start_card(&app, &owner, &invoice, 500).await;
    assert_eq!(
        stripe.pay(&paid_intent, "4242424242424242").await["status"],
        "succeeded"
    );
    stripe
        .post(
            &format!("/v1/payment_intents/{cancelled_intent}/cancel"),
            &[],
        )
        .await;
    let backdate = |id: String, hours: i32| {
        let pool = app.db.pool().clone();
        async move {
            sqlx::query("UPDATE payments SET created_at = now() - make_interval(hours => $2) WHERE id = $1::uuid")
                .bind(id)
                .bind(hours)
                .execute(&pool)
                .await
                .unwrap();
        }
    };
    backdate(paid.clone(), 1).await;
    backdate(abandoned.clone(), 25).await;
    backdate(cancelled.clone(), 1).await;

    // What the 15-minute cron task does; the worker runs the jobs.
    let queued = jobber::modules::invoices::cards::queue_reconciliations(&app.db)
        .await
        .unwrap();
    assert_eq!(queued, 3, "the fresh payment is left to its webhook");

    // The lost webhook's payment is applied, with its receipt.
    let settled = wait_for(&app, &owner, &paid, "succeeded").await;
    assert_eq!(settled["amount"], 3000);
    // The abandoned one is cancelled at Stripe and fails; so does the cancelled one.
    let expired = wait_for(&app, &owner, &abandoned, "failed").await;
    assert_eq!(expired["note"], "Not completed within 24 hours; cancelled");
    assert_eq!(
        stripe
            .get(&format!("/v1/payment_intents/{abandoned_intent}"))
            .await["status"],
        "canceled"
    );
    let gone = wait_for(&app, &owner, &cancelled, "failed").await;
    assert_eq!(gone["note"], "Cancelled at Stripe");
    let fresh_now = app
        .get(&format!("/api/v1/payments/{fresh}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(fresh_now["status"], "pending");

    let after = app
        .get(&format!("/api/v1/invoices/{invoice}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(after["amount_paid"], 3000);
    assert_eq!(after["balance"], 7000);
    let receipts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE template = 'payment_receipt'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(receipts, 1);
    // The failed ones hold nothing any more: a card may take all but the fresh
    // pending 500.
    app.post(
        "/api/v1/payments",
        &owner.token,
        json!({"invoice_id": invoice, "method": "card", "amount": 6501}),
    )
    .await
    .problem(422, "validation_failed");
    app.post(
        "/api/v1/payments",
        &owner.token,
        json!({"invoice_id": invoice, "method": "card", "amount": 6500}),
    )
    .await
    .expect(201);

    // Nothing is left to reconcile but the fresh one (not yet due); a second run of a
    // job changes nothing.
    assert_eq!(
        jobber::modules::invoices::cards::queue_reconciliations(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_office_cancels_a_card_payment_left_open() {
    let Some(stripe) = LocalStripe::start().await else {
        return;
    };
    let base = stripe.base.clone();
    let app = spawn_app_with(move |c| c.stripe_api_base = base).await;
    let owner = app.signup("Open Checkout Co").await;
    let tech = app.add_user(&owner, "technician").await;
    app.put(
        "/api/v1/settings/payments/stripe",
        &owner.token,
        json!({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}),
    )
    .await
    .expect(200);
    let invoice = app.sent_invoice(&owner, 10_000).await;
    // Started twice by mistake: the whole balance is held.
    let (first, first_intent) = start_card(&app, &owner, &invoice, 10_000).await;
    app.post(
        "/api/v1/payments",
        &owner.token,
        json!({"invoice_id": invoice, "method": "card", "amount": 10_000}),
    )
    .await
    .problem(422, "validation_failed");

    let path = format!("/api/v1/payments/{first}/cancel");
    app.post(&path, &tech.token, json!({}))
        .await
        .problem(403, "forbidden");
    let cancelled = app
        .post(&path, &owner.token, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "failed");
    assert_eq!(cancelled["note"], "Cancelled by the office");
    assert_eq!(
        stripe
            .get(&format!("/v1/payment_intents/{first_intent}"))
            .await["status"],
        "canceled",
        "it can no longer be paid"
    );
    // A retry (a double click) answers the same.
    let again = app
        .post(&path, &owner.token, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(again, cancelled);

    // The balance is free again; one the payer completed meanwhile is applied, not
    // cancelled.
    let (second, second_intent) = start_card(&app, &owner, &invoice, 10_000).await;
    assert_eq!(
        stripe.pay(&second_intent, "4242424242424242").await["status"],
        "succeeded"
    );
    // Asked to cancel, the office finds it paid and applies it; the payer's receipt
    // follows from `payment.succeeded`. The request replayed with its
    // Idempotency-Key answers the same and queues no second receipt.
    let cancel_second = format!("/api/v1/payments/{second}/cancel");
    let keyed = [("idempotency-key", "cancel-second")];
    for replay in [false, true] {
        let answer = app
            .request(
                reqwest::Method::POST,
                &cancel_second,
                Some(&owner.token),
                Some(json!({})),
                &keyed,
            )
            .await
            .problem(409, "invalid_transition");
        assert_eq!(
            answer
                .headers
                .get("idempotent-replayed")
                .is_some_and(|v| v == "true"),
            replay
        );
    }
    let receipts: Vec<String> = sqlx::query_scalar(
        "SELECT to_address FROM messages WHERE template = 'payment_receipt' AND subject_id = $1",
    )
    .bind(second.parse::<uuid::Uuid>().unwrap())
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(receipts, ["cara@example.com"]);
    let paid = app
        .get(&format!("/api/v1/payments/{second}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(paid["status"], "succeeded");
    let after = app
        .get(&format!("/api/v1/invoices/{invoice}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(after["balance"], 0);

    // A payment recorded by hand is refunded, not cancelled.
    let other = app.sent_invoice(&owner, 500).await;
    let cash = app
        .post(
            "/api/v1/payments",
            &owner.token,
            json!({"invoice_id": other, "method": "cash", "amount": 500}),
        )
        .await
        .expect(201)
        .body;
    app.post(
        &format!(
            "/api/v1/payments/{}/cancel",
            cash["payment"]["id"].as_str().unwrap()
        ),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
}

/// Stripe unreachable is an outage, not Stripe's refusal: `503
/// payment_provider_unavailable` with `Retry-After`, quickly, and no payment stored.
#[tokio::test]
async fn an_unreachable_stripe_is_503_and_stores_nothing() {
    // Nothing listens on this port: every Stripe request is refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|c| c.stripe_api_base = format!("http://127.0.0.1:{port}")).await;
    let owner = app.signup("Offline Card Co").await;
    let invoice = app.sent_invoice(&owner, 10_000).await;
    app.put(
        "/api/v1/settings/payments/stripe",
        &owner.token,
        json!({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}),
    )
    .await
    .expect(200);
    let started = std::time::Instant::now();
    let reply = app
        .post(
            "/api/v1/payments",
            &owner.token,
            json!({"invoice_id": invoice, "method": "card", "amount": 6000, "tip": 0}),
        )
        .await
        .problem(503, "payment_provider_unavailable");
    assert_eq!(reply.header("retry-after"), Some("30"));
    assert!(started.elapsed() < Duration::from_secs(20));
    let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(payments, 0);
}
