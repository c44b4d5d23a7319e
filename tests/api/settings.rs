//! Account settings, tax rates and the catalog.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn owners_change_settings_and_numbers_only_move_forward() {
    let app = spawn_app().await;
    let owner = app.signup("Settings Co").await;
    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    assert_eq!(settings.body["business_name"], "Settings Co");
    assert_eq!(settings.body["payment_terms"], "net_30");
    assert_eq!(settings.body["next_invoice_number"], 1);
    assert_eq!(settings.body["locale"], "en-US");
    let version = settings.body["version"].as_i64().unwrap();

    let updated = app
        .patch(
            "/api/v1/settings",
            &owner.token,
            json!({"business_name": "Settings & Sons", "phone": "+1 555 010 4000", "email": "office@settings.example",
                   "address": {"street1": "1 Main St", "city": "Boise", "region": "ID", "country": "us"},
                   "time_zone": "America/Boise", "locale": "en-GB", "payment_terms": "net_15", "quote_validity_days": 14,
                   "invoice_prefix": "SS-", "next_invoice_number": 1001, "show_prices_to_technicians": true, "version": version}),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["business_name"], "Settings & Sons");
    assert_eq!(updated.body["address"]["country"], "US");
    assert_eq!(updated.body["next_invoice_number"], 1001);
    assert_eq!(updated.body["payment_terms"], "net_15");
    let version = updated.body["version"].as_i64().unwrap();

    let bad = app
        .patch("/api/v1/settings", &owner.token, json!({"next_invoice_number": 5, "locale": "english", "time_zone": "Nowhere/City", "invoice_prefix": "A B", "version": version}))
        .await
        .problem(422, "validation_failed");
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "invoice_prefix",
            "locale",
            "next_invoice_number",
            "time_zone"
        ]
    );
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"quote_validity_days": 7, "version": version - 1}),
    )
    .await
    .problem(409, "version_conflict");
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"quote_validity_days": 7}),
    )
    .await
    .problem(422, "validation_failed");

    // Billing settings are for owners and admins; other staff may read them.
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    app.get("/api/v1/settings", &dispatcher.token)
        .await
        .expect(200);
    app.patch(
        "/api/v1/settings",
        &dispatcher.token,
        json!({"quote_validity_days": 7, "version": version}),
    )
    .await
    .problem(403, "forbidden");
    let tech = app.add_user(&owner, "technician").await;
    app.get("/api/v1/settings", &tech.token)
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn tax_rates_crud() {
    let app = spawn_app().await;
    let owner = app.signup("Tax Co").await;
    let state = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "State", "rate_bps": 625, "is_default": true}),
        )
        .await
        .expect(201);
    app.post(
        "/api/v1/settings/tax-rates",
        &owner.token,
        json!({"name": "County", "rate_bps": 200}),
    )
    .await
    .expect(201);
    let bad = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "", "rate_bps": 10001}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["name", "rate_bps"]);
    let list = app
        .get("/api/v1/settings/tax-rates", &owner.token)
        .await
        .expect(200);
    assert_eq!(list.body.as_array().unwrap().len(), 2);
    let id = state.body["id"].as_str().unwrap();
    let changed = app
        .put(
            &format!("/api/v1/settings/tax-rates/{id}"),
            &owner.token,
            json!({"name": "State", "rate_bps": 650, "is_default": true, "version": 1}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["rate_bps"], 650);
    assert_eq!(
        changed.body["rate"], "6.5",
        "the old field still sets the rate exactly"
    );
    app.put(
        &format!("/api/v1/settings/tax-rates/{id}"),
        &owner.token,
        json!({"name": "State", "rate_bps": 700, "version": 1}),
    )
    .await
    .problem(409, "version_conflict");
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    app.post(
        "/api/v1/settings/tax-rates",
        &dispatcher.token,
        json!({"name": "X", "rate_bps": 1}),
    )
    .await
    .problem(403, "forbidden");
    app.delete(&format!("/api/v1/settings/tax-rates/{id}"), &owner.token)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/settings/tax-rates/{id}"), &owner.token)
        .await
        .problem(404, "tax_rate_not_found");
}

/// Rates exact to 1/10,000 of a percent (8.875 % in New York City, 9.975 % in
/// Québec) are entered as a percentage string; `rate_bps` stays readable (rounded)
/// and is still accepted alone or agreeing with `rate`.
#[tokio::test]
async fn tax_rates_are_exact_to_a_ten_thousandth_of_a_percent() {
    let app = spawn_app().await;
    let owner = app.signup("Exact Tax Co").await;
    let post = |body: serde_json::Value| app.post("/api/v1/settings/tax-rates", &owner.token, body);
    let nyc = post(json!({"name": "NYC", "rate": "8.875"}))
        .await
        .expect(201)
        .body;
    assert_eq!(nyc["rate"], "8.875");
    assert_eq!(nyc["rate_bps"], 888, "rounded half up");
    let qst = post(json!({"name": "QST", "rate": "9.975", "rate_bps": 998}))
        .await
        .expect(201)
        .body;
    assert_eq!(
        (qst["rate"].clone(), qst["rate_bps"].clone()),
        (json!("9.975"), json!(998))
    );
    let tiny = post(json!({"name": "Tiny", "rate": "0.0001"}))
        .await
        .expect(201)
        .body;
    assert_eq!(
        (tiny["rate"].clone(), tiny["rate_bps"].clone()),
        (json!("0.0001"), json!(0))
    );
    let full = post(json!({"name": "All", "rate": "100.0000"}))
        .await
        .expect(201)
        .body;
    assert_eq!(full["rate"], "100");

    // A client that sends back what it read (both fields) is accepted, and a
    // changed `rate` wins only if `rate_bps` agrees with it.
    let id = nyc["id"].as_str().unwrap();
    let mut body = nyc.clone();
    for key in ["id", "created_at", "updated_at"] {
        body.as_object_mut().unwrap().remove(key);
    }
    body["rate"] = json!("8.8755");
    let same = app
        .put(
            &format!("/api/v1/settings/tax-rates/{id}"),
            &owner.token,
            body.clone(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(same["rate"], "8.8755");
    body["version"] = same["version"].clone();
    body["rate"] = json!("9");
    let disagree = app
        .put(
            &format!("/api/v1/settings/tax-rates/{id}"),
            &owner.token,
            body,
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(disagree.fields(), vec!["rate_bps"], "{}", disagree.text);

    // Bad rates: 422 naming the field.
    for (body, field) in [
        (json!({"name": "X", "rate": "8.87501"}), "rate"),
        (json!({"name": "X", "rate": "100.0001"}), "rate"),
        (json!({"name": "X", "rate": "-1"}), "rate"),
        (json!({"name": "X", "rate": "8,875"}), "rate"),
        (json!({"name": "X", "rate": 8.875}), "rate"),
        (json!({"name": "X"}), "rate"),
        (json!({"name": "X", "rate_bps": -1}), "rate_bps"),
        (
            json!({"name": "X", "rate": "8.875", "rate_bps": 887}),
            "rate_bps",
        ),
    ] {
        let reply = post(body.clone()).await.problem(422, "validation_failed");
        assert_eq!(reply.fields(), vec![field], "{body}: {}", reply.text);
    }
    let list = app
        .get("/api/v1/settings/tax-rates", &owner.token)
        .await
        .expect(200)
        .body;
    let rates: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rate"].as_str().unwrap())
        .collect();
    assert_eq!(rates, vec!["8.8755", "9.975", "0.0001", "100"]);
}

#[tokio::test]
async fn catalog_crud_search_and_isolation() {
    let app = spawn_app().await;
    let owner = app.signup("Catalog Co").await;
    let mow = app
        .post(
            "/api/v1/catalog",
            &owner.token,
            json!({"name": "Lawn mowing (up to 1/4 acre)", "unit_price": 4500, "unit_cost": 1200}),
        )
        .await
        .expect(201);
    assert_eq!(mow.body["kind"], "service");
    assert_eq!(mow.body["taxable"], true);
    app.post("/api/v1/catalog", &owner.token, json!({"kind": "product", "name": "Mulch bag", "unit_price": 899, "taxable": true, "active": false})).await.expect(201);
    let bad = app
        .post(
            "/api/v1/catalog",
            &owner.token,
            json!({"name": " ", "unit_price": -1, "unit_cost": -5}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["name", "unit_price", "unit_cost"]);
    app.post(
        "/api/v1/catalog",
        &owner.token,
        json!({"name": "Float", "unit_price": 12.5}),
    )
    .await
    .problem(422, "validation_failed");

    let active = app
        .get("/api/v1/catalog?active=true", &owner.token)
        .await
        .expect(200);
    assert_eq!(active.body["items"].as_array().unwrap().len(), 1);
    let search = app
        .get("/api/v1/catalog?q=MULCH", &owner.token)
        .await
        .expect(200);
    assert_eq!(search.body["items"][0]["name"], "Mulch bag");

    let id = mow.body["id"].as_str().unwrap();
    let updated = app
        .put(
            &format!("/api/v1/catalog/{id}"),
            &owner.token,
            json!({"name": "Lawn mowing", "unit_price": 5000, "version": 1}),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["unit_price"], 5000);
    assert!(updated.body["unit_cost"].is_null(), "PUT replaces");
    app.put(
        &format!("/api/v1/catalog/{id}"),
        &owner.token,
        json!({"name": "Lawn mowing", "unit_price": 5500, "version": 1}),
    )
    .await
    .problem(409, "version_conflict");

    let other = app.signup("Other Catalog Co").await;
    app.get(&format!("/api/v1/catalog/{id}"), &other.token)
        .await
        .problem(404, "catalog_item_not_found");
    app.delete(&format!("/api/v1/catalog/{id}"), &other.token)
        .await
        .problem(404, "catalog_item_not_found");
    assert_eq!(
        app.get("/api/v1/catalog", &other.token)
            .await
            .expect(200)
            .body["items"],
        json!([])
    );
    let tech = app.add_user(&owner, "technician").await;
    app.get("/api/v1/catalog", &tech.token)
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/catalog/{id}"), &owner.token)
        .await
        .expect(204);
}

#[tokio::test]
async fn document_numbers_are_gapless_under_rollback() {
    use jobber::modules::accounts::repo::{Sequence, next_number};
    let app = spawn_app().await;
    let owner = app.signup("Numbers Co").await;
    let account: uuid::Uuid = owner.account_id.parse().unwrap();
    let db = &app.db;

    let mut tx = db.tenant(account).await.unwrap();
    assert_eq!(
        next_number(&mut tx, Sequence::Invoice).await.unwrap(),
        ("INV-".to_string(), 1)
    );
    tx.rollback().await.unwrap();
    // The rolled-back number is handed out again.
    let mut tx = db.tenant(account).await.unwrap();
    assert_eq!(next_number(&mut tx, Sequence::Invoice).await.unwrap().1, 1);
    assert_eq!(next_number(&mut tx, Sequence::Invoice).await.unwrap().1, 2);
    assert_eq!(
        next_number(&mut tx, Sequence::Quote).await.unwrap(),
        ("Q-".to_string(), 1)
    );
    tx.commit().await.unwrap();

    // Concurrent transactions queue on the account row: no duplicates, no gaps.
    let mut handles = Vec::new();
    for _ in 0..8 {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let mut tx = db.tenant(account).await.unwrap();
            let n = next_number(&mut tx, Sequence::Invoice).await.unwrap().1;
            tx.commit().await.unwrap();
            n
        }));
    }
    let mut numbers = Vec::new();
    for handle in handles {
        numbers.push(handle.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (3..=10).collect::<Vec<i64>>());
}

#[tokio::test]
async fn inactive_items_and_rates_and_repeated_rates_are_refused_on_new_lines() {
    let app = spawn_app().await;
    let owner = app.signup("Inactive Co").await;
    let rate = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "Old", "rate_bps": 500, "active": false}),
        )
        .await
        .expect(201)
        .body;
    let live = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "Live", "rate_bps": 700}),
        )
        .await
        .expect(201)
        .body;
    let item = app
        .post(
            "/api/v1/catalog",
            &owner.token,
            json!({"name": "Retired service", "unit_price": 1000, "active": false}),
        )
        .await
        .expect(201)
        .body;
    let client = app
        .create_client(&owner, json!({"first_name": "Ida", "last_name": "Ng"}))
        .await;
    let refused = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({
                "client_id": client["id"],
                "title": "Work",
                "lines": [{"catalog_item_id": item["id"], "quantity": 1}],
                "tax_rate_ids": [rate["id"], live["id"], live["id"]]
            }),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        refused.fields(),
        vec![
            "lines[0].catalog_item_id",
            "tax_rate_ids[0]",
            "tax_rate_ids[2]"
        ]
    );
    // A line read back from a document names its own price: it may keep the link.
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({
                "client_id": client["id"],
                "title": "Work",
                "lines": [{"catalog_item_id": item["id"], "name": "Retired service", "unit_price": 1000, "quantity": 1}],
                "tax_rate_ids": [live["id"]]
            }),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(quote["tax_total"], 70, "7 % of 1000, charged once");
}

#[tokio::test]
async fn currency_is_fixed_once_documents_exist() {
    let app = spawn_app().await;
    let owner = app.signup("Currency Co").await;
    let settings = app.get("/api/v1/settings", &owner.token).await.expect(200);
    assert_eq!(settings.header("etag"), Some("\"1\""));
    let changed = app
        .patch(
            "/api/v1/settings",
            &owner.token,
            json!({"currency": "EUR", "version": 1}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["currency"], "EUR");
    let client = app
        .create_client(&owner, json!({"first_name": "Eve", "last_name": "Ro"}))
        .await;
    app.post(
        "/api/v1/quotes",
        &owner.token,
        json!({"client_id": client["id"], "title": "Work", "lines": [{"name": "Labour", "unit_price": 5000, "quantity": 1}]}),
    )
    .await
    .expect(201);
    let refused = app
        .patch(
            "/api/v1/settings",
            &owner.token,
            json!({"currency": "USD", "version": 2}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(refused.fields(), vec!["currency"]);
    // Sending the same currency is not a change.
    app.patch(
        "/api/v1/settings",
        &owner.token,
        json!({"currency": "eur", "version": 2}),
    )
    .await
    .expect(200);
    let next = app
        .patch(
            "/api/v1/settings",
            &owner.token,
            json!({"next_invoice_number": 1_000_000_000, "version": 3}),
        )
        .await
        .problem(422, "validation_failed");
    assert!(
        next.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most")
    );
}

/// A JPEG the PDF writer accepts (a start-of-frame: 8-bit, 2 × 1, RGB), with an EXIF
/// block (a GPS position, say) that must not survive the upload.
fn jpeg_logo() -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8];
    let exif = b"Exif\0\0GPS 42.6526 N 73.7562 W";
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&[
        0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x01, 0x00, 0x02, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11,
        0x01, 0x03, 0x11, 0x01,
    ]);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
    jpeg
}

#[tokio::test]
async fn the_logo_is_uploaded_checked_replaced_and_removed() {
    use reqwest::Method;
    let app = spawn_app().await;
    let owner = app.signup("Logo Co").await;
    let storage = crate::files::app_storage(&app, Default::default());
    let stored = |key: &str| {
        let key = jobber::platform::storage::ObjectKey::parse(key).unwrap();
        let storage = storage.clone();
        async move { storage.get(&key).await.unwrap() }
    };
    app.get("/api/v1/settings/logo", &owner.token)
        .await
        .problem(404, "logo_not_found");

    let png = crate::pdfs::logo_png();
    let first = app
        .multipart(
            Method::PUT,
            "/api/v1/settings/logo",
            &owner.token,
            &[("file", Some("logo.png"), &png)],
        )
        .await
        .expect(200)
        .body;
    let first_key = first["logo_key"].as_str().unwrap().to_string();
    assert!(
        first_key.starts_with(&format!("uploads/{}/branding/logo-", owner.account_id))
            && first_key.ends_with(".png"),
        "{first_key}"
    );
    assert_eq!(stored(&first_key).await.unwrap(), png);
    let redirect = app
        .get("/api/v1/settings/logo", &owner.token)
        .await
        .expect(307);
    let location = redirect.headers["location"].to_str().unwrap();
    let download = app.get_public(location).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), png);

    // A JPEG replaces it, without its EXIF; the old file is gone.
    let jpeg = jpeg_logo();
    let second = app
        .multipart(
            Method::PUT,
            "/api/v1/settings/logo",
            &owner.token,
            &[("file", Some("logo.jpg"), &jpeg)],
        )
        .await
        .expect(200)
        .body;
    let second_key = second["logo_key"].as_str().unwrap().to_string();
    assert!(second_key.ends_with(".jpg"), "{second_key}");
    assert!(second["version"].as_i64() > first["version"].as_i64());
    let kept = stored(&second_key).await.unwrap();
    assert!(kept.starts_with(&[0xFF, 0xD8]));
    assert!(!kept.windows(4).any(|w| w == b"Exif"), "EXIF removed");
    assert!(
        stored(&first_key).await.is_none(),
        "the old logo is deleted"
    );

    // Refused: not an image we print, damaged, too large, extra parts, no file.
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    app.multipart(
        Method::PUT,
        "/api/v1/settings/logo",
        &owner.token,
        &[("file", Some("a.gif"), gif)],
    )
    .await
    .problem(415, "unsupported_media_type");
    let mut sixteen_bit = png.clone();
    sixteen_bit[24] = 16; // IHDR bit depth
    let refused = app
        .multipart(
            Method::PUT,
            "/api/v1/settings/logo",
            &owner.token,
            &[("file", Some("deep.png"), &sixteen_bit)],
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(refused.fields(), vec!["file"]);
    let big = vec![0u8; 3 * 1024 * 1024];
    app.multipart(
        Method::PUT,
        "/api/v1/settings/logo",
        &owner.token,
        &[("file", Some("big.png"), &big)],
    )
    .await
    .problem(413, "payload_too_large");
    let extra = app
        .multipart(
            Method::PUT,
            "/api/v1/settings/logo",
            &owner.token,
            &[("file", Some("logo.png"), &png), ("caption", None, b"hi")],
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(extra.fields(), vec!["caption"]);
    let none = app
        .multipart(Method::PUT, "/api/v1/settings/logo", &owner.token, &[])
        .await
        .problem(422, "validation_failed");
    assert_eq!(none.fields(), vec!["file"]);
    let unchanged = app
        .get("/api/v1/settings", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(unchanged["logo_key"], second_key.as_str());

    // Removed: no logo, no file.
    let removed = app
        .delete("/api/v1/settings/logo", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(removed["logo_key"], serde_json::Value::Null);
    assert!(stored(&second_key).await.is_none());
    app.get("/api/v1/settings/logo", &owner.token)
        .await
        .problem(404, "logo_not_found");
}

/// Rates entered before rates were exact move exactly: a rate's basis points become
/// millionths (× 100), and each snapshot on a quote, job or invoice gains its exact
/// text, which the application reads back as the same rate.
#[tokio::test]
async fn existing_rates_migrate_exactly() {
    use jobber::modules::quotes::model::AppliedTax;
    use jobber::platform::database::MIGRATOR;
    let url = crate::helpers::empty_database().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    // Everything before this branch's migration (20261202000001).
    MIGRATOR.run_to(20261202000000, &pool).await.unwrap();
    let account = uuid::Uuid::now_v7();
    let client = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO accounts (id, name, currency, time_zone) VALUES ($1, 'Old Co', 'USD', 'UTC')",
    )
    .bind(account)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO clients (account_id, id, first_name) VALUES ($1, $2, 'Ann')")
        .bind(account)
        .bind(client)
        .execute(&pool)
        .await
        .unwrap();
    for (name, bps) in [("State", 825), ("Zero", 0), ("All", 10000), ("Tiny", 1)] {
        sqlx::query(
            "INSERT INTO tax_rates (account_id, id, name, rate_bps) VALUES ($1, $2, $3, $4)",
        )
        .bind(account)
        .bind(uuid::Uuid::now_v7())
        .bind(name)
        .bind(bps)
        .execute(&pool)
        .await
        .unwrap();
    }
    let quote = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO quotes (account_id, id, client_id, title, number, taxes, updated_at)
         VALUES ($1, $2, $3, 'Q', 'Q-1', $4, '2026-01-02T03:04:05Z')",
    )
    .bind(account)
    .bind(quote)
    .bind(client)
    .bind(json!([{"name": "State", "rate_bps": 825, "amount": 1039},
                 {"name": "Tiny", "rate_bps": 1, "amount": 0}]))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO jobs (account_id, id, client_id, title, number, taxes)
         VALUES ($1, $2, $3, 'J', 'J-1', $4)",
    )
    .bind(account)
    .bind(uuid::Uuid::now_v7())
    .bind(client)
    .bind(json!([{"name": "All", "rate_bps": 10000}]))
    .execute(&pool)
    .await
    .unwrap();

    MIGRATOR.run(&pool).await.unwrap();

    let rates: Vec<(String, i32, i32)> =
        sqlx::query_as("SELECT name, rate_bps, rate_ppm FROM tax_rates ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rates,
        vec![
            ("State".into(), 825, 82_500),
            ("Zero".into(), 0, 0),
            ("All".into(), 10000, 1_000_000),
            ("Tiny".into(), 1, 100)
        ]
    );
    let (taxes, updated_at): (serde_json::Value, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT taxes, updated_at FROM quotes WHERE id = $1")
            .bind(quote)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        taxes,
        json!([{"name": "State", "rate": "8.25", "rate_bps": 825, "amount": 1039},
               {"name": "Tiny", "rate": "0.01", "rate_bps": 1, "amount": 0}])
    );
    assert_eq!(
        updated_at.to_rfc3339(),
        "2026-01-02T03:04:05+00:00",
        "untouched"
    );
    let read: Vec<AppliedTax> = serde_json::from_value(taxes).unwrap();
    assert_eq!(read[0].rate.ppm(), 82_500);
    assert_eq!(read[1].rate.ppm(), 100);
    let job_taxes: serde_json::Value = sqlx::query_scalar("SELECT taxes FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        job_taxes,
        json!([{"name": "All", "rate": "100", "rate_bps": 10000}])
    );
    pool.close().await;
}

/// The connections panel: whether email and texts are configured, and a test of
/// each sent now through the server's transport.
#[tokio::test]
async fn messaging_status_and_send_tests() {
    use std::time::Duration;

    use crate::background::{Sink, have_aiosmtpd, with_worker};
    use crate::sms::{FROM, FakeTwilio, with_twilio};

    // Nothing configured: says so, and the tests answer 409.
    let bare = spawn_app().await;
    let owner = bare.signup("Bare Co").await;
    let status = bare
        .get("/api/v1/settings/messaging", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(status["email"]["configured"], false);
    assert_eq!(status["email"]["transport"], serde_json::Value::Null);
    assert_eq!(status["sms"]["configured"], false);
    bare.post("/api/v1/settings/email/test", &owner.token, json!({}))
        .await
        .problem(409, "email_not_configured");
    bare.post(
        "/api/v1/settings/sms/test",
        &owner.token,
        json!({"to": "555-010-9999"}),
    )
    .await
    .problem(409, "sms_not_configured");

    if !have_aiosmtpd("messaging_status_and_send_tests") {
        return;
    }
    let sink = Sink::start(0);
    let twilio = FakeTwilio::start(&["+15550100000"]).await;
    let email = with_worker(jobber::config::Role::Api, Some(&sink));
    let sms = with_twilio(jobber::config::Role::Api, Some(&twilio.base));
    let app = crate::helpers::spawn_app_with(move |c| {
        email(c);
        sms(c);
    })
    .await;
    let owner = app.signup("Wired Co").await;
    let status = app
        .get("/api/v1/settings/messaging", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        status,
        json!({"email": {"configured": true, "transport": "smtp", "from": "Jobber Test <office@jobber.test>"},
               "sms": {"configured": true, "from": FROM}})
    );

    // Email: to the caller by default, from the business.
    let sent = app
        .post("/api/v1/settings/email/test", &owner.token, json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(sent["sent"], true, "{sent}");
    assert_eq!(sent["to"], owner.email.as_str());
    let messages = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["subject"], "Test email from Wired Co");
    assert!(messages[0]["from"].as_str().unwrap().contains("Wired Co"));
    let sent = app
        .post(
            "/api/v1/settings/email/test",
            &owner.token,
            json!({"to": "ops@wired.test"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(sent["to"], "ops@wired.test");
    let bad = app
        .post(
            "/api/v1/settings/email/test",
            &owner.token,
            json!({"to": "nobody"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["to"]);

    // Texts: the number as typed goes out in E.164; Twilio's refusal is the answer.
    let sent = app
        .post(
            "/api/v1/settings/sms/test",
            &owner.token,
            json!({"to": "(555) 010-9999"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(sent["sent"], true, "{sent}");
    assert_eq!(sent["to"], "+15550109999");
    let received = twilio.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].param("To"), Some("+15550109999"));
    assert_eq!(received[0].param("From"), Some(FROM));
    assert!(
        received[0]
            .param("Body")
            .unwrap()
            .starts_with("Wired Co: a test text")
    );
    let refused = app
        .post(
            "/api/v1/settings/sms/test",
            &owner.token,
            json!({"to": "+1 555 010 0000"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(refused["sent"], false);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("not a valid phone number"),
        "{refused}"
    );
    for body in [json!({}), json!({"to": "12"})] {
        let bad = app
            .post("/api/v1/settings/sms/test", &owner.token, body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(bad.fields(), vec!["to"]);
    }
}
