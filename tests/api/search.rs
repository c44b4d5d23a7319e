//! The command palette's search: clients, quotes, jobs and invoices by name or
//! number, each kind limited, staff only, confined to the account.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn kinds(body: &Value) -> Vec<(String, String)> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap().to_string(),
                h["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn finds_clients_and_documents_by_name_or_number() {
    let app = spawn_app().await;
    let owner = app.signup("Search Co").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Ann", "last_name": "Lindqvist", "emails": [{"address": "ann@example.com"}]}))
        .await;
    let other = app
        .create_client(&owner, json!({"company_name": "Acme Gutters"}))
        .await;
    let quote = app
        .post("/api/v1/quotes", &owner.token, json!({"client_id": client["id"], "title": "Spring cleanup", "lines": [{"name": "Raking", "quantity": 1, "unit_price": 5000}]}))
        .await
        .expect(201)
        .body;
    app.post(
        "/api/v1/jobs",
        &owner.token,
        json!({"client_id": other["id"], "title": "Gutter cleaning"}),
    )
    .await
    .expect(201);
    app.post(
        "/api/v1/invoices",
        &owner.token,
        json!({"client_id": client["id"], "title": "Deck repair",
            "lines": [{"name": "Bolts", "quantity": 2, "unit_price": 500}], "tax_rate_ids": []}),
    )
    .await
    .expect(201);

    // By the client's name: the client, then its quote and invoice.
    let found = app
        .get("/api/v1/search?q=lindq", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        kinds(&found),
        vec![
            ("client".into(), "Ann Lindqvist".into()),
            ("quote".into(), "Spring cleanup".into()),
            ("invoice".into(), "Deck repair".into()),
        ]
    );
    assert_eq!(found["items"][0]["subtitle"], "ann@example.com");
    assert_eq!(found["items"][1]["subtitle"], "Ann Lindqvist");
    assert_eq!(found["items"][1]["id"], quote["id"]);

    // By a title.
    let found = app
        .get("/api/v1/search?q=GUTTER", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        kinds(&found),
        vec![
            ("client".into(), "Acme Gutters".into()),
            ("job".into(), "Gutter cleaning".into()),
        ]
    );

    // By the number, with or without `#`.
    let number = quote["number"].as_str().unwrap();
    for q in [number.to_string(), format!("%23{number}")] {
        let found = app
            .get(&format!("/api/v1/search?q={q}"), &owner.token)
            .await
            .expect(200)
            .body;
        assert_eq!(found["items"][0]["kind"], "quote", "{q}: {found}");
        assert_eq!(found["items"][0]["number"], number);
    }

    // Wildcards match themselves; an empty term finds nothing.
    for q in ["%25", "_", "", "%20%20"] {
        let found = app
            .get(&format!("/api/v1/search?q={q}"), &owner.token)
            .await
            .expect(200)
            .body;
        assert_eq!(found["items"], json!([]), "{q}");
    }

    // `limit` caps each kind.
    for n in 0..3 {
        app.create_client(&owner, json!({"first_name": format!("Lind{n}")}))
            .await;
    }
    let found = app
        .get("/api/v1/search?q=lind&limit=2", &owner.token)
        .await
        .expect(200)
        .body;
    let clients = kinds(&found)
        .into_iter()
        .filter(|(k, _)| k == "client")
        .count();
    assert_eq!(clients, 2);

    // Another account sees none of it.
    let stranger = app.signup("Elsewhere").await;
    let found = app
        .get("/api/v1/search?q=lind", &stranger.token)
        .await
        .expect(200)
        .body;
    assert_eq!(found["items"], json!([]));
}
