//! The client hub's pages: branding, server-priced optional lines, approval with a
//! drawn signature, text-message choice, a fresh link for an expired one, and card
//! payment of an invoice through localstripe.

use serde_json::{Value, json};

use crate::helpers::{Reply, Session, TestApp, spawn_app, spawn_app_with};
use crate::payments::{LocalStripe, SECRET_KEY, WEBHOOK_SECRET};
use crate::quotes::emailed_link;

async fn hub(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
    app.request(method, &format!("/api/v1/hub/{path}"), None, body, &[])
        .await
}

fn split(link: &str) -> (&str, &str) {
    link.split_once('?').unwrap()
}

/// A 1x1 PNG (what the signature pad sends, only smaller).
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

async fn sent_quote(app: &TestApp, owner: &Session) -> (String, String) {
    let client = app
        .create_client(owner, json!({"first_name": "Hana", "last_name": "Hub", "emails": [{"address": "hana@example.com"}], "phones": [{"number": "+1 503 555 0134", "label": "mobile", "primary": true, "sms_opt_in": false}]}))
        .await;
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client["id"], "title": "Deck", "lines": [
                {"name": "Boards", "quantity": 1, "unit_price": 100000},
                {"name": "Stain", "quantity": 1, "unit_price": 25000, "optional": true}
            ]}),
        )
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    (id.clone(), emailed_link(app, &id).await)
}

#[tokio::test]
async fn a_client_sees_the_brand_prices_options_signs_and_chooses_texts() {
    let app = spawn_app().await;
    let owner = app.signup("Deck Hands").await;
    let settings = app
        .get("/api/v1/settings", &owner.token)
        .await
        .expect(200)
        .body;
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"brand_color": "#1A5FB4", "version": settings["version"]}),
    )
    .await
    .expect(200);
    let (id, link) = sent_quote(&app, &owner).await;
    let (_, query) = split(&link);

    let context = hub(
        &app,
        reqwest::Method::GET,
        &format!("quotes/{id}/context?{query}"),
        None,
    )
    .await
    .expect(200)
    .body;
    assert_eq!(context["business"]["name"], "Deck Hands");
    assert_eq!(context["business"]["brand_color"], "#1A5FB4");
    assert_eq!(context["client"]["name"], "Hana Hub");
    assert_eq!(context["client"]["phones"][0]["last4"], "0134");
    assert_eq!(context["client"]["phones"][0]["sms_opt_in"], false);
    assert!(context["stripe_publishable_key"].is_null());
    // Only the link's record: another id with this signature is not found.
    hub(
        &app,
        reqwest::Method::GET,
        &format!("quotes/{}/context?{query}", uuid::Uuid::now_v7()),
        None,
    )
    .await
    .problem(404, "quote_not_found");

    // The server prices the choice; the optional line counts only when ticked.
    let quote = hub(
        &app,
        reqwest::Method::GET,
        &format!("quotes/{id}?{query}"),
        None,
    )
    .await
    .expect(200)
    .body;
    let stain = quote["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["optional"] == true)
        .unwrap()["id"]
        .clone();
    let without = hub(
        &app,
        reqwest::Method::POST,
        &format!("quotes/{id}/preview?{query}"),
        Some(json!({})),
    )
    .await
    .expect(200)
    .body;
    let with = hub(
        &app,
        reqwest::Method::POST,
        &format!("quotes/{id}/preview?{query}"),
        Some(json!({"selected_optional_line_ids": [stain]})),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(without["subtotal"], 100000);
    assert_eq!(with["subtotal"], 125000);
    let bad = hub(
        &app,
        reqwest::Method::POST,
        &format!("quotes/{id}/preview?{query}"),
        Some(json!({"selected_optional_line_ids": [quote["lines"][0]["id"]]})),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["selected_optional_line_ids[0]"]);

    // A drawn signature must be a PNG.
    let refused = hub(
        &app,
        reqwest::Method::POST,
        &format!("quotes/{id}/approve?{query}"),
        Some(json!({"signature_name": "Hana Hub", "signature_png": "aGVsbG8="})),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(refused.fields(), vec!["signature_png"]);
    let approved = hub(&app, reqwest::Method::POST, &format!("quotes/{id}/approve?{query}"), Some(json!({"signature_name": "Hana Hub", "selected_optional_line_ids": [stain], "signature_png": format!("data:image/png;base64,{PNG}")})))
        .await
        .expect(200)
        .body;
    assert_eq!(approved["status"], "approved");
    assert_eq!(
        approved["total"], with["total"],
        "approval saves what the preview showed"
    );
    let (file,): (String,) = sqlx::query_as(
        "SELECT changes->>'file' FROM activity WHERE action = 'signature_drawn' AND subject_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert!(
        file.ends_with(&format!("quotes/{id}-signature.png")),
        "{file}"
    );
    // The office sees the drawn signature.
    let drawn = app
        .get(&format!("/api/v1/quotes/{id}/signature"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(drawn["signature_name"], "Hana Hub");
    let png = app.get_public(drawn["url"].as_str().unwrap()).await;
    assert_eq!(png.status(), 200);
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG"));

    // Text messages: on, then off, for the client's phones.
    let on = hub(
        &app,
        reqwest::Method::PUT,
        &format!("quotes/{id}/sms?{query}"),
        Some(json!({"opt_in": true})),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(on["phones"][0]["sms_opt_in"], true);
    let client = app
        .get(
            &format!(
                "/api/v1/clients/{}",
                approved["client_id"].as_str().unwrap()
            ),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(client["phones"][0]["sms_opt_in"], true);
    let off = hub(
        &app,
        reqwest::Method::PUT,
        &format!("quotes/{id}/sms?{query}"),
        Some(json!({"opt_in": false})),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(off["phones"][0]["sms_opt_in"], false);
}

async fn hub_link_emails(app: &TestApp, id: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM messages WHERE template = 'hub_link' AND subject_id = $1::uuid",
    )
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    n
}

#[tokio::test]
async fn an_expired_link_asks_for_a_fresh_one_without_revealing_anything() {
    let app = spawn_app().await;
    let owner = app.signup("Fresh Links").await;
    let (id, _) = sent_quote(&app, &owner).await;
    let account = owner.account_id.clone();
    let ask = |id: String| {
        let app = &app;
        let account = account.clone();
        async move {
            app.post_anon(
                "/api/v1/hub/links",
                json!({"kind": "quote", "id": id, "account": account}),
            )
            .await
            .expect(202)
        }
    };
    ask(id.clone()).await;
    assert_eq!(hub_link_emails(&app, &id).await, 1);
    // Asked again at once: still 202, no second email.
    ask(id.clone()).await;
    assert_eq!(hub_link_emails(&app, &id).await, 1);
    // An unknown record: the same answer, nothing sent.
    let unknown = uuid::Uuid::now_v7().to_string();
    ask(unknown.clone()).await;
    assert_eq!(hub_link_emails(&app, &unknown).await, 0);
    // The fresh link works.
    let link = emailed_link(&app, &id).await;
    hub(&app, reqwest::Method::GET, &link, None)
        .await
        .expect(200);

    // The expired link's page shows whose it is: the business, nothing else.
    let keys = jobber::modules::auth::token::TokenKeys::load(None, &app.data_dir).unwrap();
    let account_id = uuid::Uuid::parse_str(&account).unwrap();
    let past = chrono::Utc::now().timestamp() - 60;
    let sig = keys.sign_link("quote", account_id, id.parse().unwrap(), past);
    let brand = hub(
        &app,
        reqwest::Method::GET,
        &format!("brand?kind=quote&id={id}&account={account}&expires={past}&sig={sig}"),
        None,
    )
    .await
    .expect(200)
    .body;
    assert_eq!(brand["name"], "Fresh Links");
    assert!(brand["brand_color"].as_str().unwrap().starts_with('#'));
    assert!(brand.get("client").is_none() && brand.get("title").is_none());
    // A forged link, or one signed for another kind of page, shows nothing.
    for forged in [
        format!("brand?kind=quote&id={id}&account={account}&expires={past}&sig=AAAA"),
        format!(
            "brand?kind=quote&id={id}&account={account}&expires={}&sig={sig}",
            past + 1
        ),
    ] {
        hub(&app, reqwest::Method::GET, &forged, None)
            .await
            .problem(404, "quote_not_found");
    }
    hub(
        &app,
        reqwest::Method::GET,
        &format!("brand?kind=client&id={id}&account={account}&expires={past}&sig={sig}"),
        None,
    )
    .await
    .problem(404, "client_not_found");
    // An unknown kind is refused by name.
    let refused = hub(
        &app,
        reqwest::Method::GET,
        &format!("brand?kind=job&id={id}&account={account}&expires={past}&sig={sig}"),
        None,
    )
    .await
    .problem(400, "invalid_parameter");
    assert!(refused.text.contains("kind"), "{}", refused.text);
}

#[tokio::test]
async fn a_client_pays_the_invoice_by_card_and_sees_the_receipt() {
    let Some(stripe) = LocalStripe::start().await else {
        return;
    };
    let base = stripe.base.clone();
    let app = spawn_app_with(|c| c.stripe_api_base = base).await;
    let owner = app.signup("Card Hub").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ina", "last_name": "Voice", "emails": [{"address": "ina@example.com"}]}))
        .await;
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client["id"], "title": "Gutters", "lines": [{"name": "Gutters", "quantity": 1, "unit_price": 12000}], "tax_rate_ids": []}))
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/invoices/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let link = emailed_link(&app, &id).await;
    let (_, query) = split(&link);

    // Stripe keys without a publishable key: the hub takes no cards.
    app.put(
        "/api/v1/settings/payments/stripe",
        &owner.token,
        json!({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET}),
    )
    .await
    .expect(200);
    hub(
        &app,
        reqwest::Method::POST,
        &format!("invoices/{id}/payments?{query}"),
        Some(json!({})),
    )
    .await
    .problem(409, "stripe_not_configured");
    app.put("/api/v1/settings/payments/stripe", &owner.token, json!({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "publishable_key": "sk_oops"}))
        .await
        .problem(422, "validation_failed");
    let set = app
        .put("/api/v1/settings/payments/stripe", &owner.token, json!({"secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET, "publishable_key": "pk_test_jobber_hub"}))
        .await
        .expect(200);
    assert_eq!(set.body["publishable_key"], "pk_test_jobber_hub");
    let context = hub(
        &app,
        reqwest::Method::GET,
        &format!("invoices/{id}/context?{query}"),
        None,
    )
    .await
    .expect(200)
    .body;
    assert_eq!(context["stripe_publishable_key"], "pk_test_jobber_hub");

    // The balance, by card: the browser confirms with the client secret.
    let started = hub(
        &app,
        reqwest::Method::POST,
        &format!("invoices/{id}/payments?{query}"),
        Some(json!({})),
    )
    .await
    .expect(201)
    .body;
    assert_eq!(started["amount"], 12000);
    assert_eq!(started["publishable_key"], "pk_test_jobber_hub");
    let secret = started["client_secret"].as_str().unwrap();
    let intent = secret.split("_secret_").next().unwrap();
    let payment = started["payment_id"].as_str().unwrap();
    // Asked again (a reload, a second tap): the same payment and PaymentIntent.
    let again = hub(
        &app,
        reqwest::Method::POST,
        &format!("invoices/{id}/payments?{query}"),
        Some(json!({})),
    )
    .await
    .expect(201)
    .body;
    assert_eq!(again["payment_id"], payment);
    assert_eq!(again["client_secret"], secret);
    let pending = hub(
        &app,
        reqwest::Method::GET,
        &format!("invoices/{id}/payments/{payment}?{query}"),
        None,
    )
    .await
    .expect(200)
    .body;
    assert_eq!(pending["payment"]["status"], "pending");
    assert_eq!(pending["invoice"]["balance"], 12000);
    let confirmed = stripe.pay(intent, "4242424242424242").await;
    assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
    // No webhook is registered: the receipt page asks Stripe itself.
    let receipt = hub(
        &app,
        reqwest::Method::GET,
        &format!("invoices/{id}/payments/{payment}?{query}"),
        None,
    )
    .await
    .expect(200)
    .body;
    assert_eq!(receipt["payment"]["status"], "succeeded");
    assert_eq!(receipt["invoice"]["balance"], 0);
    assert_eq!(receipt["invoice"]["status"], "paid");
    // Another invoice's payment is not shown through this link.
    hub(
        &app,
        reqwest::Method::GET,
        &format!("invoices/{id}/payments/{}?{query}", uuid::Uuid::now_v7()),
        None,
    )
    .await
    .problem(404, "payment_not_found");
}
