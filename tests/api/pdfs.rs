//! Quote and invoice PDFs, read back with poppler (`pdftotext -layout`, `pdfinfo`):
//! every amount, accented names, paper size by locale, many pages with the table
//! header repeated, CJK that degrades without breaking the file, re-rendering when
//! the document changes, and the client-hub twin.

use std::process::Command;

use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, spawn_app};

/// A 150 × 50 RGBA PNG: a green leaf-like disc and a bar on a transparent ground.
pub(crate) fn logo_png() -> Vec<u8> {
    use std::io::Write;
    let (width, height) = (150u32, 50u32);
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            let (dx, dy) = (x as f32 - 25.0, y as f32 - 25.0);
            let pixel = if dx * dx + dy * dy < 22.0 * 22.0 {
                [40, 140, 70, 255]
            } else if (56..146).contains(&x) && (18..32).contains(&y) {
                [28, 84, 115, 255]
            } else {
                [255, 255, 255, 0]
            };
            raw.extend_from_slice(&pixel);
        }
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&raw).unwrap();
    let idat = encoder.finish().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], body: &[u8]| {
        png.extend_from_slice(&(body.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(body);
        png.extend_from_slice(&[0, 0, 0, 0]);
    };
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    png
}

/// Upload the account's logo.
pub(crate) async fn set_logo(app: &TestApp, owner: &Session) {
    app.multipart(
        reqwest::Method::PUT,
        "/api/v1/settings/logo",
        &owner.token,
        &[("file", Some("logo.png"), &logo_png())],
    )
    .await
    .expect(200);
}

/// Whether poppler's tools are here; CI must have them, a developer machine may
/// skip (loudly).
pub(crate) fn poppler() -> bool {
    let ok = Command::new("pdftotext")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("pdfinfo")
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI needs poppler-utils (pdftotext, pdfinfo); run scripts/install-test-deps.sh"
        );
        eprintln!("SKIPPING PDF checks: no pdftotext/pdfinfo (run scripts/install-test-deps.sh)");
    }
    ok
}

pub(crate) struct Pdf {
    text: String,
    info: String,
    bytes: Vec<u8>,
}

impl Pdf {
    fn pages(&self) -> usize {
        self.field("Pages").parse().unwrap()
    }

    fn field(&self, name: &str) -> String {
        self.info
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("pdfinfo has no {name}: {}", self.info))
            .trim()
            .to_string()
    }

    /// `612 x 792` (Letter) or `595 x 842` (A4).
    fn page_size(&self) -> String {
        let size = self.field("Page size");
        size.split(" pts").next().unwrap_or_default().to_string()
    }

    #[track_caller]
    pub(crate) fn shows(&self, needle: &str) {
        assert!(
            self.text.contains(needle),
            "{needle:?} is not in the PDF text:\n{}",
            self.text
        );
    }
}

/// Keep a copy under target/pdf-samples/ to look at (docs/sample-invoice.pdf is one).
fn keep(name: &str, bytes: &[u8]) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/pdf-samples");
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(format!("{dir}/{name}"), bytes);
}

/// Run a poppler tool on the PDF; it must succeed without a complaint.
fn poppler_run(program: &str, args: &[&str], bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("jobber-test-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("doc.pdf");
    std::fs::write(&path, bytes).unwrap();
    let mut command = Command::new(program);
    command.args(args).arg(&path);
    if !args.contains(&"-list") {
        command.arg(dir.join("out"));
    }
    let out = command.output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub(crate) fn read_pdf(bytes: &[u8]) -> Pdf {
    let path = std::env::temp_dir().join(format!("jobber-test-{}.pdf", Uuid::now_v7().simple()));
    std::fs::write(&path, bytes).unwrap();
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .arg(&path)
            .args(if program == "pdftotext" {
                &["-"][..]
            } else {
                &[][..]
            })
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Poppler complains on stderr about a damaged file even when it recovers.
        assert!(
            out.stderr.is_empty(),
            "{program} reported: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run("pdftotext", &["-layout", "-enc", "UTF-8"]);
    let info = run("pdfinfo", &[]);
    let _ = std::fs::remove_file(&path);
    Pdf {
        text,
        info,
        bytes: bytes.to_vec(),
    }
}

async fn fetch_pdf(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let response = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    response.bytes().await.unwrap().to_vec()
}

/// `$1,234.50`: how the PDF prints USD.
fn usd(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let int = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}${grouped}.{:02}", abs % 100)
}

async fn business(app: &TestApp, locale: &str) -> Session {
    let owner = app.signup("Jardinería Ñandú").await;
    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"business_name": "Jardinería Ñandú & Müller", "phone": "+1 555 010 4000",
               "email": "hola@nandu.example", "website": "https://nandu.example",
               "address": {"street1": "1 Main St", "city": "Boise", "region": "ID", "postal_code": "83702", "country": "US"},
               "locale": locale, "version": settings.body["version"]}),
    )
    .await
    .expect(200);
    // A rate of three decimals (New York City's), and one given the old way.
    for body in [
        json!({"name": "State tax", "rate": "8.875", "is_default": true}),
        json!({"name": "City tax", "rate_bps": 100, "is_default": true}),
    ] {
        app.post("/api/v1/settings/tax-rates", &owner.token, body)
            .await
            .expect(201);
    }
    owner
}

async fn client(app: &TestApp, owner: &Session, first: &str, last: &str) -> (String, String) {
    let client = app
        .create_client(
            owner,
            json!({"first_name": first, "last_name": last, "company_name": "Café Zoë",
                   "emails": [{"address": "jose@example.com"}],
                   "billing_address": {"street1": "9 Peña Blvd", "city": "Boise", "region": "ID", "postal_code": "83702"}}),
        )
        .await;
    let id = client["id"].as_str().unwrap().to_string();
    let property = app
        .post(
            &format!("/api/v1/clients/{id}/properties"),
            &owner.token,
            json!({"name": "Casa del Río", "address": {"street1": "12 Elm St", "city": "Eagle", "region": "ID"}}),
        )
        .await
        .expect(201);
    (id, property.body["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn invoice_pdf_prints_every_amount_and_accented_names_on_letter() {
    if !poppler() {
        return;
    }
    let app = spawn_app().await;
    let owner = business(&app, "en-US").await;
    let (client_id, property_id) = client(&app, &owner, "José", "Müller").await;
    set_logo(&app, &owner).await;
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client_id, "property_id": property_id, "title": "Spring cleanup at the Río house",
                   "message": "Gracias, José! We loved working on your garden.",
                   "discount": {"kind": "amount", "value": 1000},
                   "lines": [
                       {"name": "Mowing", "description": "Front and back lawn", "quantity": 2, "unit_price": 4500},
                       {"name": "Hedge trimming", "quantity": 1.5, "unit_price": 3333},
                       {"name": "Disposal fee", "quantity": 1, "unit_price": 125000, "taxable": false}
                   ]}),
        )
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap().to_string();
    let sent = app
        .post(
            &format!("/api/v1/invoices/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    app.post(
        &format!("/api/v1/invoices/{id}/payments"),
        &owner.token,
        json!({"method": "check", "amount": 5000}),
    )
    .await
    .expect(201);
    let current = app
        .get(&format!("/api/v1/invoices/{id}"), &owner.token)
        .await
        .expect(200)
        .body;

    let bytes = fetch_pdf(&app, &owner.token, &format!("/api/v1/invoices/{id}/pdf")).await;
    keep("invoice.pdf", &bytes);
    let pdf = read_pdf(&bytes);
    assert_eq!(pdf.page_size(), "612 x 792", "en-US prints on US Letter");
    assert_eq!(pdf.pages(), 1);
    // The logo is embedded with its transparency, and poppler draws it.
    let images = poppler_run("pdfimages", &["-list"], &bytes);
    assert!(
        images.contains(" image ") && images.contains(" smask "),
        "{images}"
    );
    poppler_run("pdftoppm", &["-png", "-r", "30", "-singlefile"], &bytes);
    pdf.shows("INVOICE");
    pdf.shows(sent["number"].as_str().unwrap());
    pdf.shows("Jardinería Ñandú & Müller");
    pdf.shows("José Müller");
    pdf.shows("Café Zoë");
    pdf.shows("9 Peña Blvd");
    pdf.shows("Casa del Río");
    pdf.shows("Spring cleanup at the Río house");
    pdf.shows("Gracias, José!");
    pdf.shows("+1 555 010 4000");
    pdf.shows("hola@nandu.example");
    for line in current["lines"].as_array().unwrap() {
        pdf.shows(line["name"].as_str().unwrap());
        pdf.shows(&usd(line["unit_price"].as_i64().unwrap()));
        pdf.shows(&usd(line["line_total"].as_i64().unwrap()));
    }
    pdf.shows("Front and back lawn");
    pdf.shows("1.5");
    pdf.shows(&usd(current["subtotal"].as_i64().unwrap()));
    pdf.shows(&format!(
        "-{}",
        usd(current["discount_total"].as_i64().unwrap())
    ));
    let taxes = current["taxes"].as_array().unwrap();
    assert_eq!(taxes.len(), 2);
    for tax in taxes {
        let rate = match tax["rate"].as_str().unwrap() {
            "8.875" => "8.875%",
            "1" => "1%",
            other => panic!("rate {other}"),
        };
        pdf.shows(&format!("{} ({rate})", tax["name"].as_str().unwrap()));
        pdf.shows(&usd(tax["amount"].as_i64().unwrap()));
    }
    pdf.shows(&usd(current["total"].as_i64().unwrap()));
    pdf.shows("Amount paid");
    pdf.shows(&usd(5000));
    pdf.shows("Balance due");
    pdf.shows(&usd(current["balance"].as_i64().unwrap()));
    assert_eq!(
        current["balance"].as_i64().unwrap(),
        current["total"].as_i64().unwrap() - 5000
    );
    pdf.shows("Payment terms: Net 30");
    pdf.shows("Issued");
    pdf.shows("Due");
    pdf.shows("View and pay this invoice online");
    // The hub link is printed and clickable.
    let raw = String::from_utf8_lossy(&pdf.bytes);
    assert!(
        raw.contains(&format!(
            "/URI (http://jobber.test/hub/invoices/{id}?account={}&expires=",
            owner.account_id
        )),
        "no hub link annotation"
    );
    pdf.shows(&format!("http://jobber.test/hub/invoices/{id}"));

    // Stored at the seed's key, with what it was rendered from.
    assert!(
        app.data_dir
            .join(format!(
                "files/uploads/{}/invoices/{id}.pdf",
                owner.account_id
            ))
            .is_file()
    );
    let row: (String, i32, i32) = sqlx::query_as(
        "SELECT storage_key, version, pages FROM document_pdfs WHERE invoice_id = $1",
    )
    .bind(Uuid::parse_str(&id).unwrap())
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            format!("uploads/{}/invoices/{id}.pdf", owner.account_id),
            i32::try_from(current["version"].as_i64().unwrap()).unwrap(),
            1
        )
    );
}

#[tokio::test]
async fn quote_pdf_marks_optional_lines_and_deposit_on_a4() {
    if !poppler() {
        return;
    }
    let app = spawn_app().await;
    let owner = business(&app, "en-GB").await;
    let (client_id, _) = client(&app, &owner, "Zoë", "Núñez").await;
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client_id, "title": "Patio renovation", "message": "Valid for two weeks.",
                   "discount": {"kind": "percent", "value": 1000},
                   "deposit": {"kind": "percent", "value": 2500},
                   "valid_until": "2099-06-30",
                   "lines": [
                       {"name": "Pavers", "quantity": 40, "unit_price": 1250},
                       {"name": "Labour", "quantity": 12.5, "unit_price": 6000},
                       {"name": "Fire pit", "quantity": 1, "unit_price": 90000, "optional": true}
                   ]}),
        )
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    let pdf = read_pdf(&fetch_pdf(&app, &owner.token, &format!("/api/v1/quotes/{id}/pdf")).await);
    assert_eq!(pdf.page_size(), "595 x 842", "en-GB prints on A4");
    pdf.shows("QUOTE");
    pdf.shows(quote["number"].as_str().unwrap());
    pdf.shows("Zoë Núñez");
    pdf.shows("Fire pit (optional, not included)");
    for line in quote["lines"].as_array().unwrap() {
        pdf.shows(&usd(line["unit_price"].as_i64().unwrap()));
        pdf.shows(&usd(line["line_total"].as_i64().unwrap()));
    }
    pdf.shows("12.5");
    pdf.shows(&usd(quote["subtotal"].as_i64().unwrap()));
    pdf.shows("Discount (10%)");
    pdf.shows(&format!(
        "-{}",
        usd(quote["discount_total"].as_i64().unwrap())
    ));
    for tax in quote["taxes"].as_array().unwrap() {
        pdf.shows(&usd(tax["amount"].as_i64().unwrap()));
    }
    pdf.shows(&usd(quote["total"].as_i64().unwrap()));
    pdf.shows("Deposit required");
    pdf.shows(&usd(quote["deposit_amount"].as_i64().unwrap()));
    pdf.shows("Valid until");
    pdf.shows("Jun 30, 2099");
    // A draft has no hub link yet.
    assert!(!pdf.text.contains("/hub/"), "a draft quote has no hub link");

    // Approved with the option: the line says so and the totals follow.
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let option = quote["lines"][2]["id"].as_str().unwrap();
    let approved = app
        .post(
            &format!("/api/v1/quotes/{id}/approve"),
            &owner.token,
            json!({"signature_name": "Zoë Núñez", "selected_optional_line_ids": [option]}),
        )
        .await
        .expect(200)
        .body;
    let bytes = fetch_pdf(&app, &owner.token, &format!("/api/v1/quotes/{id}/pdf")).await;
    keep("quote.pdf", &bytes);
    let pdf = read_pdf(&bytes);
    pdf.shows("Fire pit (optional, included)");
    pdf.shows(&usd(approved["total"].as_i64().unwrap()));
    pdf.shows(&usd(approved["deposit_amount"].as_i64().unwrap()));
    pdf.shows("Review and approve this quote online");
}

#[tokio::test]
async fn sixty_lines_run_over_pages_and_cjk_degrades_gracefully() {
    if !poppler() {
        return;
    }
    let app = spawn_app().await;
    let owner = business(&app, "es-MX").await;
    let (client_id, _) = client(&app, &owner, "山田", "太郎").await;
    let lines: Vec<Value> = (1..=60)
        .map(|i| json!({"name": format!("Visit {i:02} – 草刈り"), "description": "Weekly service", "quantity": 1, "unit_price": 1000 + i}))
        .collect();
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client_id, "title": "Season 2026 東京", "tax_rate_ids": [], "lines": lines}),
        )
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    let bytes = fetch_pdf(&app, &owner.token, &format!("/api/v1/invoices/{id}/pdf")).await;
    keep("sixty-lines.pdf", &bytes);
    let pdf = read_pdf(&bytes);
    assert_eq!(pdf.page_size(), "612 x 792", "es-MX prints on US Letter");
    let pages = pdf.pages();
    assert!(pages >= 2, "60 lines fit on {pages} page(s)");
    assert_eq!(
        pdf.text.matches("DESCRIPTION").count(),
        pages,
        "the table header repeats on every page"
    );
    pdf.shows(&format!("Page {pages} of {pages}"));
    for i in 1..=60 {
        pdf.shows(&format!("Visit {i:02} – ??"));
        pdf.shows(&usd(1000 + i));
    }
    pdf.shows(&usd(invoice["total"].as_i64().unwrap()));
    // CJK has no WinAnsi glyph: replaced, never a broken file.
    pdf.shows("?? ??");
    pdf.shows("Season 2026 ??");
    pdf.shows("Draft");
}

#[tokio::test]
async fn pdf_is_stored_once_and_rendered_again_when_anything_printed_changes() {
    if !poppler() {
        return;
    }
    let app = spawn_app().await;
    let owner = business(&app, "en-US").await;
    let (client_id, _) = client(&app, &owner, "Ana", "Ruiz").await;
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client_id, "title": "Gutters", "tax_rate_ids": [],
                   "lines": [{"name": "Gutter cleaning", "quantity": 1, "unit_price": 12000}]}),
        )
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    let path = format!("/api/v1/invoices/{id}/pdf");
    let first = fetch_pdf(&app, &owner.token, &path).await;
    let again = fetch_pdf(&app, &owner.token, &path).await;
    assert_eq!(first, again, "an unchanged document is served from storage");

    // Issuing it changes what is printed (number, dates, hub link).
    let sent = app
        .post(
            &format!("/api/v1/invoices/{id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    let issued = read_pdf(&fetch_pdf(&app, &owner.token, &path).await);
    issued.shows(sent["number"].as_str().unwrap());
    // A payment changes the balance.
    app.post(
        &format!("/api/v1/invoices/{id}/payments"),
        &owner.token,
        json!({"method": "cash", "amount": 2000}),
    )
    .await
    .expect(201);
    let paid = read_pdf(&fetch_pdf(&app, &owner.token, &path).await);
    paid.shows(&usd(10000));
    // So does the business's name.
    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"business_name": "Ñandú Gutters", "version": settings.body["version"]}),
    )
    .await
    .expect(200);
    let renamed = read_pdf(&fetch_pdf(&app, &owner.token, &path).await);
    renamed.shows("Ñandú Gutters");

    // Signed download URL of the stored file.
    let redirect = app
        .get(&format!("{path}?redirect=true"), &owner.token)
        .await
        .expect(302);
    let location = redirect.header("location").unwrap();
    let local = TestApp::local_path(location);
    assert!(local.starts_with(&format!(
        "/files/uploads/{}/invoices/{id}.pdf?expires=",
        owner.account_id
    )));
    let downloaded = app.http.get(app.url(local)).send().await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().to_vec(), renamed.bytes);

    // The client hub serves the same PDF through its link; the link is checked.
    let hub_link = renamed
        .text
        .split_whitespace()
        .find(|w| w.starts_with("http://jobber.test/hub/invoices/"));
    let raw = String::from_utf8_lossy(&renamed.bytes).to_string();
    let uri = raw
        .split("/URI (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    assert!(hub_link.is_some() || uri.contains("/hub/invoices/"));
    let query = uri.split_once('?').unwrap().1;
    let hub = app
        .http
        .get(app.url(&format!("/api/v1/hub/invoices/{id}/pdf?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(hub.status(), 200);
    assert!(hub.bytes().await.unwrap().starts_with(b"%PDF-"));
    let forged = query.replace("sig=", "sig=x");
    app.request(
        reqwest::Method::GET,
        &format!("/api/v1/hub/invoices/{id}/pdf?{forged}"),
        None,
        None,
        &[],
    )
    .await
    .problem(404, "invoice_not_found");

    // Other accounts and technicians cannot fetch it.
    let other = app.signup("Other Co").await;
    app.get(&path, &other.token)
        .await
        .problem(404, "invoice_not_found");
    let tech = app.add_user(&owner, "technician").await;
    app.get(&path, &tech.token).await.problem(403, "forbidden");
}

#[tokio::test]
async fn sending_a_quote_renders_its_pdf_in_the_background() {
    let app = spawn_app().await;
    let _worker = crate::helpers::spawn_app_on(
        app.database_url.clone(),
        crate::background::with_worker(jobber::config::Role::Worker, None),
    )
    .await;
    let owner = app.signup("Background PDF Co").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Zoë", "last_name": "Núñez", "emails": [{"address": "zoe@example.com"}]}))
        .await;
    let quote = app
        .post("/api/v1/quotes", &owner.token, json!({"client_id": client["id"], "title": "Hedges", "lines": [{"name": "Trim", "quantity": 1, "unit_price": 12000}]}))
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/quotes/{id}/send"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let key = loop {
        let found: Option<(String, i32)> = sqlx::query_as(
            "SELECT storage_key, version FROM document_pdfs WHERE quote_id = $1::uuid",
        )
        .bind(id)
        .fetch_optional(app.db.pool())
        .await
        .unwrap();
        if let Some(found) = found {
            break found;
        }
        assert!(std::time::Instant::now() < deadline, "no PDF was rendered");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        key.0,
        format!("uploads/{}/quotes/{id}.pdf", owner.account_id)
    );
    assert_eq!(key.1, 2, "rendered from the sent version");
}
