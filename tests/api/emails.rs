//! What client emails look like when they arrive (aiosmtpd parses the MIME): the
//! business's branding (name, logo inline, accent colour, Reply-To), HTML that
//! escapes what users typed, the PDF attached, and payment receipts.

use std::time::Duration;

use jobber::config::Role;
use serde_json::{Value, json};

use crate::background::{Sink, have_aiosmtpd, with_worker};
use crate::helpers::{TestApp, spawn_app_with};

/// The client's own hub page in an email's text (besides the record's link), opened:
/// it must be the page of this client (`name`) of this account.
pub async fn client_page_opens(
    app: &TestApp,
    text: &str,
    account_id: &str,
    client_id: &str,
    name: &str,
) {
    let prefix =
        format!("http://jobber.test/hub/clients/{client_id}?account={account_id}&expires=");
    let line = text
        .lines()
        .find(|l| l.contains(&prefix))
        .unwrap_or_else(|| panic!("no link to the client's page in {text}"));
    assert!(
        line.starts_with("All your quotes, invoices and visits with us: "),
        "{line}"
    );
    let url = &line[line.find("http").unwrap()..];
    let api = url.replace("http://jobber.test/hub/", "/api/v1/hub/");
    let page = app
        .request(reqwest::Method::GET, &api, None, None, &[])
        .await
        .expect(200)
        .body;
    assert_eq!(page["client"]["name"], name, "{page}");
}

#[tokio::test]
async fn branded_invoice_emails_and_payment_receipts() {
    if !have_aiosmtpd("branded_invoice_emails_and_payment_receipts") {
        return;
    }
    let sink = Sink::start(0);
    let app = spawn_app_with(with_worker(Role::All, Some(&sink))).await;
    let owner = app.signup("Sparkle & Shine").await;
    crate::pdfs::set_logo(&app, &owner).await;

    // Branding: a colour like #RRGGBB (kept upper case), the business's address.
    let version = app
        .get("/api/v1/settings", &owner.token)
        .await
        .expect(200)
        .body["version"]
        .clone();
    let bad = app
        .patch(
            "/api/v1/settings",
            &owner.token,
            json!({"brand_color": "blue", "version": version}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["brand_color"]);
    let settings = app
        .patch("/api/v1/settings", &owner.token, json!({"brand_color": "#1a73e8", "email": "hello@sparkle.test", "phone": "555-0100", "version": version}))
        .await
        .expect(200)
        .body;
    assert_eq!(settings["brand_color"], "#1A73E8");

    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lee", "emails": [{"address": "ann@example.com"}]}))
        .await;
    let invoice = app
        .post("/api/v1/invoices", &owner.token, json!({"client_id": client["id"], "title": "Deck <repair>",
            "lines": [{"name": "<b>Bolts</b> & nuts", "quantity": 2, "unit_price": 5000}], "tax_rate_ids": []}))
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

    let messages = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert!(
        m["from"].as_str().unwrap().contains("Sparkle & Shine"),
        "{}",
        m["from"]
    );
    assert!(
        m["from"]
            .as_str()
            .unwrap()
            .ends_with("<office@jobber.test>"),
        "{}",
        m["from"]
    );
    assert_eq!(m["reply_to"], "hello@sparkle.test");
    assert_eq!(
        m["subject"],
        "Invoice INV-1 from Sparkle & Shine: Deck <repair>"
    );
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("<b>Bolts</b> & nuts: 2 x USD 50.00 = USD 100.00"),
        "{text}"
    );
    assert!(text.contains("555-0100 | hello@sparkle.test"), "{text}");
    client_page_opens(
        &app,
        text,
        &owner.account_id,
        client["id"].as_str().unwrap(),
        "Ann Lee",
    )
    .await;
    let html = m["html"].as_str().unwrap();
    assert!(
        html.contains("&lt;b&gt;Bolts&lt;/b&gt; &amp; nuts"),
        "escaped in {html}"
    );
    assert!(!html.contains("<b>Bolts</b>"), "{html}");
    assert!(html.contains("Deck &lt;repair&gt;"), "{html}");
    assert!(
        html.contains(r#"src="cid:logo""#) && html.contains(r#"alt="Sparkle &amp; Shine""#),
        "{html}"
    );
    assert!(html.contains("#1A73E8"), "the accent colour in {html}");
    assert!(html.contains("Balance due"), "{html}");
    // The logo travels inline (multipart/related) and the PDF as an attachment.
    let raw = std::fs::read_to_string(sink.dir.join("1.eml")).unwrap();
    assert!(raw.contains("multipart/related"), "{raw}");
    let files = m["attachments"].as_array().unwrap();
    let logo: Vec<&Value> = files
        .iter()
        .filter(|f| f["disposition"] == "inline")
        .collect();
    assert_eq!(logo.len(), 1, "{files:?}");
    assert_eq!(logo[0]["content_id"], "<logo>");
    assert_eq!(logo[0]["content_type"], "image/png");
    assert_eq!(
        std::fs::read(logo[0]["path"].as_str().unwrap()).unwrap(),
        crate::pdfs::logo_png()
    );
    let pdf: Vec<&Value> = files
        .iter()
        .filter(|f| f["disposition"] == "attachment")
        .collect();
    assert_eq!(pdf.len(), 1, "{files:?}");
    assert_eq!(pdf[0]["filename"], "invoice-INV-1.pdf");
    if crate::pdfs::poppler() {
        let pdf = crate::pdfs::read_pdf(&std::fs::read(pdf[0]["path"].as_str().unwrap()).unwrap());
        pdf.shows("INV-1");
        pdf.shows("100.00");
    }

    // A recorded payment with `send_receipt` emails a receipt: no PDF, the balance left.
    let payment = app
        .post(
            &format!("/api/v1/invoices/{id}/payments"),
            &owner.token,
            json!({"method": "check", "amount": 4000, "reference": "1042", "send_receipt": true}),
        )
        .await
        .expect(201)
        .body;
    let messages = sink.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(messages.len(), 2);
    let receipt = &messages[1];
    assert_eq!(
        receipt["subject"],
        "Receipt from Sparkle & Shine: USD 40.00 for invoice INV-1"
    );
    assert_eq!(receipt["to"], "ann@example.com");
    let text = receipt["text"].as_str().unwrap();
    for needle in [
        "Thank you for your payment of USD 40.00.",
        "Method: Check",
        "Reference: 1042",
        "Invoice INV-1: Deck <repair>",
        "Balance due: USD 60.00",
        "View invoice",
    ] {
        let haystack = if needle == "View invoice" {
            receipt["html"].as_str().unwrap()
        } else {
            text
        };
        assert!(haystack.contains(needle), "{needle:?} in {haystack}");
    }
    let files = receipt["attachments"].as_array().unwrap();
    assert!(
        files.iter().all(|f| f["disposition"] == "inline"),
        "only the logo: {files:?}"
    );

    // Sent again on request, to another address; its status shows in the history.
    let payment_id = payment["payment"]["id"].as_str().unwrap();
    let queued = app
        .post(
            &format!("/api/v1/payments/{payment_id}/receipt"),
            &owner.token,
            json!({"to": "books@example.com"}),
        )
        .await
        .expect(202)
        .body;
    let messages = sink.wait_for(3, Duration::from_secs(30)).await;
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[2]["to"], "books@example.com");
    let history = app
        .get(
            &format!(
                "/api/v1/clients/{}/messages",
                client["id"].as_str().unwrap()
            ),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    let entry = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == queued["message_id"])
        .unwrap_or_else(|| panic!("{history}"))
        .clone();
    assert_eq!(entry["template"], "payment_receipt");
    app.post(
        &format!("/api/v1/payments/{payment_id}/receipt"),
        &owner.token,
        json!({"to": "not an address"}),
    )
    .await
    .problem(422, "validation_failed");

    // A client without an email address: asking for a receipt refuses the payment,
    // and nothing is recorded.
    let quiet = app
        .create_client(&owner, json!({"first_name": "Quinn", "last_name": "Quiet"}))
        .await;
    let other = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": quiet["id"], "title": "Hedge",
            "lines": [{"name": "Hedge", "quantity": 1, "unit_price": 3000}], "tax_rate_ids": []}),
        )
        .await
        .expect(201)
        .body;
    let other_id = other["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/invoices/{other_id}/send"),
        &owner.token,
        json!({"to": "front-desk@example.com"}),
    )
    .await
    .expect(200);
    let refused = app
        .post(
            &format!("/api/v1/invoices/{other_id}/payments"),
            &owner.token,
            json!({"method": "cash", "amount": 3000, "send_receipt": true}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(refused.fields(), vec!["send_receipt"]);
    let unchanged = app
        .get(&format!("/api/v1/invoices/{other_id}"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(unchanged["balance"], 3000);
}
