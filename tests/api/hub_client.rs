//! The client's own hub page: reached from a quote's hub page (or a link the office
//! sends), it lists the client's quotes, invoices with balance, receipts and
//! upcoming visits, and "request more work" puts a request in the office's inbox.

use serde_json::{Value, json};

use crate::background::with_worker;
use crate::helpers::{Reply, TestApp, spawn_app, spawn_app_on};
use crate::quotes::emailed_link;

async fn hub(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
    app.request(method, &format!("/api/v1{path}"), None, body, &[])
        .await
}

#[tokio::test]
async fn a_client_sees_everything_of_theirs_and_asks_for_more_work() {
    let app = spawn_app().await;
    // A worker delivers the office's notifications.
    let _worker = spawn_app_on(
        app.database_url.clone(),
        with_worker(jobber::config::Role::Worker, None),
    )
    .await;
    let owner = app.signup("Maple Yard").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Cleo", "last_name": "Page", "emails": [{"address": "cleo@example.com"}]}))
        .await;
    let cid = client["id"].as_str().unwrap();
    let property = app
        .post(
            &format!("/api/v1/clients/{cid}/properties"),
            &owner.token,
            json!({"name": "Cabin", "address": {"street1": "7 Birch Lane", "city": "Ely"}}),
        )
        .await
        .expect(201)
        .body;
    let other = app
        .create_client(
            &owner,
            json!({"first_name": "Otto", "emails": [{"address": "otto@example.com"}]}),
        )
        .await;
    let other_property = app
        .post(
            &format!(
                "/api/v1/clients/{}/properties",
                other["id"].as_str().unwrap()
            ),
            &owner.token,
            json!({"address": {"street1": "1 Elm Street"}}),
        )
        .await
        .expect(201)
        .body;
    let service = app
        .post(
            "/api/v1/catalog",
            &owner.token,
            json!({"kind": "service", "name": "Leaf cleanup", "unit_price": 9000}),
        )
        .await
        .expect(201)
        .body;

    // A sent quote (its hub page links to the client's page) and a draft (not shown).
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": cid, "title": "Hedges", "lines": [{"name": "Trim", "quantity": 1, "unit_price": 20000}]}),
        )
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
    app.post(
        "/api/v1/quotes",
        &owner.token,
        json!({"client_id": cid, "title": "Draft only", "lines": [{"name": "Idea", "quantity": 1, "unit_price": 100}]}),
    )
    .await
    .expect(201);
    // An invoice, partly paid.
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": cid, "title": "Mowing", "lines": [{"name": "Mowing", "quantity": 1, "unit_price": 12000}], "tax_rate_ids": []}))
        .await
        .expect(201)
        .body;
    let invoice_id = invoice["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{invoice_id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/payments",
        &owner.token,
        json!({"invoice_id": invoice_id, "method": "cash", "amount": 5000}),
    )
    .await
    .expect(201);
    // A visit in three days.
    let day = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    app.post(
        "/api/v1/jobs",
        &owner.token,
        json!({"client_id": cid, "title": "Spring cleanup", "schedule": {"start_date": day.to_string(), "start_time": "10:00", "duration_minutes": 60}}),
    )
    .await
    .expect(201);

    let quote_link = emailed_link(&app, quote_id).await;
    let (_, query) = quote_link.split_once('?').unwrap();
    let context = hub(
        &app,
        reqwest::Method::GET,
        &format!("/hub/quotes/{quote_id}/context?{query}"),
        None,
    )
    .await
    .expect(200)
    .body;
    let page_path = context["client_page"].as_str().unwrap().to_string();
    assert!(page_path.starts_with(&format!("/hub/clients/{cid}?")));
    // It expires with the quote's link.
    let expires = query
        .split('&')
        .find(|p| p.starts_with("expires="))
        .unwrap();
    assert!(page_path.contains(expires), "{page_path} vs {query}");

    let page = hub(&app, reqwest::Method::GET, &page_path, None)
        .await
        .expect(200)
        .body;
    assert_eq!(page["business"]["name"], "Maple Yard");
    assert_eq!(page["client"]["name"], "Cleo Page");
    let quotes = page["quotes"].as_array().unwrap();
    assert_eq!(
        quotes.len(),
        1,
        "drafts stay the business's own: {quotes:?}"
    );
    assert_eq!(quotes[0]["status"], "sent");
    assert_eq!(quotes[0]["total"], 20000);
    let invoices = page["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1);
    assert_eq!(invoices[0]["balance"], 7000);
    let receipts = page["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0]["amount"], 5000);
    assert_eq!(receipts[0]["method"], "cash");
    assert_eq!(receipts[0]["invoice_number"], invoices[0]["number"]);
    let visits = page["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0]["title"], "Spring cleanup");
    assert_eq!(page["services"][0]["name"], "Leaf cleanup");
    assert_eq!(page["properties"][0]["id"], property["id"]);

    // The page's links open the quote and the invoice.
    for item in [&quotes[0], &invoices[0]] {
        let link = item["link"].as_str().unwrap();
        let (path, q) = link.split_once('?').unwrap();
        hub(
            &app,
            reqwest::Method::GET,
            &format!("{path}/context?{q}"),
            None,
        )
        .await
        .expect(200);
    }
    // The signature is for this client only.
    let (_, page_query) = page_path.split_once('?').unwrap();
    let other_id = other["id"].as_str().unwrap();
    hub(
        &app,
        reqwest::Method::GET,
        &format!("/hub/clients/{other_id}?{page_query}"),
        None,
    )
    .await
    .problem(404, "client_not_found");
    // A quote's signature does not open the client's page.
    hub(
        &app,
        reqwest::Method::GET,
        &format!("/hub/clients/{cid}?{query}"),
        None,
    )
    .await
    .problem(404, "client_not_found");

    // Request more work: checked field by field.
    let requests = format!("/hub/clients/{cid}/requests?{page_query}");
    let refused = hub(
        &app,
        reqwest::Method::POST,
        &requests,
        Some(json!({"details": "  ", "property_id": other_property["id"]})),
    )
    .await
    .problem(422, "validation_failed");
    let mut fields = refused.fields();
    fields.sort();
    assert_eq!(fields, ["details", "property_id"]);
    let sent = hub(
        &app,
        reqwest::Method::POST,
        &requests,
        Some(json!({"details": "The back lawn needs aerating", "service_id": service["id"], "property_id": property["id"], "preferred_times": "Saturday mornings"})),
    )
    .await
    .expect(201)
    .body;
    let request_id = sent["id"].as_str().unwrap();

    // It is in the office's inbox, from the hub, with its client.
    let inbox = app
        .get("/api/v1/requests?status=new", &owner.token)
        .await
        .expect(200)
        .body;
    let request = &inbox["items"][0];
    assert_eq!(request["id"], request_id);
    assert_eq!(request["source"], "hub");
    assert_eq!(request["client_id"], cid);
    assert_eq!(request["name"], "Cleo Page");
    assert_eq!(request["email"], "cleo@example.com");
    assert_eq!(request["service_name"], "Leaf cleanup");
    assert_eq!(request["address"]["street1"], "7 Birch Lane");
    // The office is told (notifications are delivered in the background).
    let mut told = false;
    for _ in 0..150 {
        let notes = app
            .get("/api/v1/notifications", &owner.token)
            .await
            .expect(200)
            .body;
        if notes["items"].as_array().is_some_and(|n| {
            n.iter().any(|n| {
                n["kind"] == "request_received"
                    && n["title"] == "Cleo Page asks for more work (client hub)"
            })
        }) {
            told = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(told, "the office hears of the request");

    // Converted for that client and property, not for a client matched by email.
    let converted = app
        .post(
            &format!("/api/v1/requests/{request_id}/convert"),
            &owner.token,
            json!({"to": "quote"}),
        )
        .await
        .expect(200)
        .body;
    let new_quote = app
        .get(
            &format!("/api/v1/quotes/{}", converted["quote_id"].as_str().unwrap()),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(new_quote["client_id"], cid);
    assert_eq!(new_quote["property_id"], property["id"]);

    // No drawn signature on a quote not approved in the hub.
    app.get(
        &format!("/api/v1/quotes/{quote_id}/signature"),
        &owner.token,
    )
    .await
    .problem(404, "file_not_found");
}

#[tokio::test]
async fn the_office_copies_or_emails_a_link_to_the_clients_page() {
    let app = spawn_app().await;
    let owner = app.signup("Link Co").await;
    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Lia", "emails": [{"address": "lia@example.com"}]}),
        )
        .await;
    let cid = client["id"].as_str().unwrap();
    let copied = app
        .post(
            &format!("/api/v1/clients/{cid}/hub-link"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    assert!(copied["message_id"].is_null());
    let url = copied["url"].as_str().unwrap();
    let path = url.trim_start_matches("http://jobber.test");
    assert!(path.starts_with(&format!("/hub/clients/{cid}?")), "{url}");
    hub(&app, reqwest::Method::GET, path, None)
        .await
        .expect(200);

    let emailed = app
        .post(
            &format!("/api/v1/clients/{cid}/hub-link"),
            &owner.token,
            json!({"email": true}),
        )
        .await
        .expect(200)
        .body;
    let (to, body): (String, String) =
        sqlx::query_as("SELECT to_address, body_text FROM messages WHERE id = $1::uuid")
            .bind(emailed["message_id"].as_str().unwrap())
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(to, "lia@example.com");
    assert!(
        body.contains(&format!("http://jobber.test/hub/clients/{cid}?")),
        "{body}"
    );

    // An expired link to the page: a fresh one by email, once in 5 minutes.
    for _ in 0..2 {
        hub(
            &app,
            reqwest::Method::POST,
            "/hub/client-links",
            Some(json!({"id": cid, "account": owner.account_id})),
        )
        .await
        .expect(202);
    }
    let (fresh,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM messages WHERE template = 'hub_link' AND subject_id = $1::uuid",
    )
    .bind(cid)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(fresh, 1);

    // A client without an email address: 422 naming `to`.
    let silent = app.create_client(&owner, json!({"first_name": "Mo"})).await;
    let refused = app
        .post(
            &format!(
                "/api/v1/clients/{}/hub-link",
                silent["id"].as_str().unwrap()
            ),
            &owner.token,
            json!({"email": true}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(refused.fields(), ["to"]);
}
