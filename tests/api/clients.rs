//! Clients and properties: CRUD, validation, search, pagination, versions,
//! idempotency, archive-instead-of-delete and the activity log.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

fn ann() -> Value {
    json!({
        "first_name": "Ann",
        "last_name": "Lee",
        "emails": [{"address": "ann@example.com", "label": "home"}],
        "phones": [{"number": "+1 (555) 010-2233", "label": "mobile", "sms_opt_in": true}],
        "billing_address": {"street1": "12 Elm St", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "us"},
        "tags": ["VIP", "weekly"],
        "notes": "Gate code 1234",
        "status": "lead"
    })
}

#[tokio::test]
async fn create_read_update_a_client() {
    let app = spawn_app().await;
    let owner = app.signup("CRUD Lawn").await;
    let created = app
        .post("/api/v1/clients", &owner.token, ann())
        .await
        .expect(201);
    let client = &created.body;
    let id = client["id"].as_str().unwrap();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/clients/{id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(client["display_name"], "Ann Lee");
    assert_eq!(
        client["emails"][0],
        json!({"address": "ann@example.com", "label": "home", "primary": true})
    );
    assert_eq!(client["phones"][0]["sms_opt_in"], true);
    assert_eq!(client["billing_address"]["country"], "US");
    assert_eq!(client["status"], "lead");
    assert_eq!(client["version"], 1);

    let read = app
        .get(&format!("/api/v1/clients/{id}"), &owner.token)
        .await
        .expect(200);
    assert_eq!(read.body, created.body);

    let mut change = ann();
    change["first_name"] = json!("Anne");
    change["status"] = json!("active");
    change["version"] = json!(1);
    let updated = app
        .put(
            &format!("/api/v1/clients/{id}"),
            &owner.token,
            change.clone(),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["first_name"], "Anne");
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.header("etag"), Some("\"2\""));

    // The same stale version again: someone else's change would be lost.
    let stale = app
        .put(
            &format!("/api/v1/clients/{id}"),
            &owner.token,
            change.clone(),
        )
        .await
        .problem(409, "version_conflict");
    assert!(stale.body["detail"].as_str().unwrap().contains('2'));
    // If-Match works too, and a stale one is 412.
    change.as_object_mut().unwrap().remove("version");
    app.request(
        reqwest::Method::PUT,
        &format!("/api/v1/clients/{id}"),
        Some(&owner.token),
        Some(change.clone()),
        &[("if-match", "\"1\"")],
    )
    .await
    .problem(412, "precondition_failed");
    app.request(
        reqwest::Method::PUT,
        &format!("/api/v1/clients/{id}"),
        Some(&owner.token),
        Some(change.clone()),
        &[("if-match", "\"2\"")],
    )
    .await
    .expect(200);
    // No version at all.
    let missing = app
        .put(&format!("/api/v1/clients/{id}"), &owner.token, change)
        .await
        .problem(422, "validation_failed");
    assert_eq!(missing.fields(), vec!["version"]);

    app.get(
        &format!("/api/v1/clients/{}", uuid::Uuid::now_v7()),
        &owner.token,
    )
    .await
    .problem(404, "client_not_found");
}

#[tokio::test]
async fn invalid_clients_are_refused_field_by_field() {
    let app = spawn_app().await;
    let owner = app.signup("Valid Co").await;
    let reply = app
        .post(
            "/api/v1/clients",
            &owner.token,
            json!({"emails": [{"address": "x"}]}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["first_name", "emails[0].address"]);
    let reply = app
        .post(
            "/api/v1/clients",
            &owner.token,
            json!({"company_name": "Acme", "phones": [{"number": "12"}], "billing_address": {"country": "USA"}, "status": "gone"}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(reply.fields(), vec!["status"]);
    let reply = app
        .post("/api/v1/clients", &owner.token, json!({"company_name": "Acme", "phones": [{"number": "12"}], "billing_address": {"country": "USA"}}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        reply.fields(),
        vec!["phones[0].number", "billing_address.country"]
    );
    // Nothing was stored.
    let list = app.get("/api/v1/clients", &owner.token).await.expect(200);
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn search_filters_and_pages() {
    let app = spawn_app().await;
    let owner = app.signup("Search Co").await;
    app.create_client(&owner, ann()).await;
    app.create_client(&owner, json!({"company_name": "Bolt Plumbing Supply", "emails": [{"address": "orders@bolt.example"}], "tags": ["supplier"]})).await;
    let carl = app.create_client(&owner, json!({"first_name": "Carl", "last_name": "Jonsson", "phones": [{"number": "555-777-1212"}], "status": "active"})).await;
    let carl_id = carl["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/clients/{carl_id}/properties"),
        &owner.token,
        json!({"address": {"street1": "99 Lakeshore Drive", "city": "Duluth"}}),
    )
    .await
    .expect(201);

    let names = |reply: &crate::helpers::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["display_name"].as_str().unwrap().to_string())
            .collect()
    };
    let search = |q: &str| {
        let q = q.replace(' ', "%20").replace('+', "%2B");
        let token = owner.token.clone();
        let app = &app;
        async move {
            app.get(&format!("/api/v1/clients?q={q}"), &token)
                .await
                .expect(200)
        }
    };
    assert_eq!(names(&search("ann").await), vec!["Ann Lee"]);
    assert_eq!(names(&search("BOLT").await), vec!["Bolt Plumbing Supply"]);
    assert_eq!(
        names(&search("orders@bolt").await),
        vec!["Bolt Plumbing Supply"]
    );
    assert_eq!(names(&search("5557771212").await), vec!["Carl Jonsson"]);
    assert_eq!(names(&search("(555) 777-1212").await), vec!["Carl Jonsson"]);
    assert_eq!(
        names(&search("springfield").await),
        vec!["Ann Lee"],
        "billing address"
    );
    assert_eq!(
        names(&search("lakeshore").await),
        vec!["Carl Jonsson"],
        "property address"
    );
    assert_eq!(
        names(&search("jonson").await),
        vec!["Carl Jonsson"],
        "a typo still finds the client"
    );
    assert!(names(&search("zzzz").await).is_empty());
    assert!(
        names(&search("100%").await).is_empty(),
        "LIKE wildcards are literal"
    );

    let leads = app
        .get("/api/v1/clients?status=lead", &owner.token)
        .await
        .expect(200);
    assert_eq!(names(&leads), vec!["Ann Lee"]);
    let vip = app
        .get("/api/v1/clients?tag=vip", &owner.token)
        .await
        .expect(200);
    assert_eq!(names(&vip), vec!["Ann Lee"]);
    app.get("/api/v1/clients?status=nope", &owner.token)
        .await
        .problem(400, "invalid_parameter");

    // Pages of 2, newest first, then the rest; the cursor is stable.
    let first = app
        .get("/api/v1/clients?limit=2", &owner.token)
        .await
        .expect(200);
    assert_eq!(names(&first), vec!["Carl Jonsson", "Bolt Plumbing Supply"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/clients?limit=2&cursor={cursor}"),
            &owner.token,
        )
        .await
        .expect(200);
    assert_eq!(names(&second), vec!["Ann Lee"]);
    assert!(second.body["next_cursor"].is_null());
    app.get("/api/v1/clients?limit=500", &owner.token)
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/clients?cursor=bogus", &owner.token)
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn idempotency_keys_follow_stripe_semantics() {
    let app = spawn_app().await;
    let owner = app.signup("Idem Co").await;
    let post = |body: Value, key: &str| {
        let key = key.to_string();
        let token = owner.token.clone();
        let app = &app;
        async move {
            app.request(
                reqwest::Method::POST,
                "/api/v1/clients",
                Some(&token),
                Some(body),
                &[("idempotency-key", &key)],
            )
            .await
        }
    };
    let first = post(ann(), "key-1").await.expect(201);
    // A retry (say, after a dropped connection) gets the same client, not a second one.
    let retry = post(ann(), "key-1").await.expect(201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("etag"), Some("\"1\""));
    // Another user of the same account does not get this user's response.
    let colleague = app.add_user(&owner, "dispatcher").await;
    app.request(
        reqwest::Method::POST,
        "/api/v1/clients",
        Some(&colleague.token),
        Some(ann()),
        &[("idempotency-key", "key-1")],
    )
    .await
    .problem(422, "idempotency_key_reused");
    let list = app.get("/api/v1/clients", &owner.token).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    // The same key for a different request is a client bug.
    post(json!({"first_name": "Other"}), "key-1")
        .await
        .problem(422, "idempotency_key_reused");
    // Validation failures are stored too: the retry gets the same answer.
    post(json!({"emails": []}), "key-2")
        .await
        .problem(422, "validation_failed");
    post(json!({"emails": []}), "key-2")
        .await
        .problem(422, "validation_failed");
    // Keys belong to an account: another business may use the same key.
    let other = app.signup("Other Idem Co").await;
    app.request(
        reqwest::Method::POST,
        "/api/v1/clients",
        Some(&other.token),
        Some(ann()),
        &[("idempotency-key", "key-1")],
    )
    .await
    .expect(201);
    // A request still running holds its key.
    sqlx::query("UPDATE idempotency_keys SET response_status = NULL, response_body = NULL WHERE key = 'key-1' AND account_id = $1::uuid")
        .bind(&owner.account_id)
        .execute(app.db.pool())
        .await
        .unwrap();
    post(ann(), "key-1")
        .await
        .problem(409, "idempotency_request_in_progress");
}

#[tokio::test]
async fn properties_crud() {
    let app = spawn_app().await;
    let owner = app.signup("Property Co").await;
    let client = app.create_client(&owner, ann()).await;
    let base = format!(
        "/api/v1/clients/{}/properties",
        client["id"].as_str().unwrap()
    );
    let created = app
        .post(&base, &owner.token, json!({"name": "Lake house", "address": {"street1": "1 Shore Rd", "city": "Tahoe", "country": "US"}, "latitude": 39.09, "longitude": -120.03}))
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(created.body["latitude"], 39.09);
    let one = format!("{base}/{id}");
    assert_eq!(
        app.get(&one, &owner.token).await.expect(200).body,
        created.body
    );
    let list = app.get(&base, &owner.token).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    let updated = app
        .put(
            &one,
            &owner.token,
            json!({"name": "Cabin", "address": {"street1": "1 Shore Rd"}, "version": 1}),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["name"], "Cabin");
    assert!(updated.body["latitude"].is_null());
    app.put(
        &one,
        &owner.token,
        json!({"address": {"street1": "1 Shore Rd"}, "version": 1}),
    )
    .await
    .problem(409, "version_conflict");

    let bad = app
        .post(
            &base,
            &owner.token,
            json!({"address": {"city": "Nowhere"}, "latitude": 95}),
        )
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["address.street1", "longitude"]);

    app.delete(&one, &owner.token).await.expect(204);
    app.get(&one, &owner.token)
        .await
        .problem(404, "property_not_found");
    app.get(
        &format!("/api/v1/clients/{}/properties", uuid::Uuid::now_v7()),
        &owner.token,
    )
    .await
    .problem(404, "client_not_found");
}

#[tokio::test]
async fn delete_removes_a_client_without_history() {
    let app = spawn_app().await;
    let owner = app.signup("Delete Co").await;
    let client = app.create_client(&owner, ann()).await;
    let id = client["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/clients/{id}/properties"),
        &owner.token,
        json!({"address": {"street1": "1 A St"}}),
    )
    .await
    .expect(201);
    let deleted = app
        .delete(&format!("/api/v1/clients/{id}"), &owner.token)
        .await
        .expect(200);
    assert_eq!(deleted.body, json!({"result": "deleted", "id": id}));
    app.get(&format!("/api/v1/clients/{id}"), &owner.token)
        .await
        .problem(404, "client_not_found");
    let properties: i64 = sqlx::query_scalar("SELECT count(*) FROM properties")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(properties, 0);
}

#[tokio::test]
async fn delete_archives_a_client_with_history() {
    let app = spawn_app().await;
    let owner = app.signup("Archive Co").await;
    let client = app.create_client(&owner, ann()).await;
    let id = client["id"].as_str().unwrap();
    // Work records (quotes, jobs, invoices) reference clients with ON DELETE RESTRICT.
    // Stand one up in this test's own database.
    sqlx::raw_sql(
        "CREATE TABLE work_history (account_id uuid NOT NULL, id uuid NOT NULL, client_id uuid NOT NULL,
            PRIMARY KEY (account_id, id),
            FOREIGN KEY (account_id, client_id) REFERENCES clients (account_id, id) ON DELETE RESTRICT)",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    sqlx::query("INSERT INTO work_history VALUES ($1::uuid, $2, $3::uuid)")
        .bind(&owner.account_id)
        .bind(uuid::Uuid::now_v7())
        .bind(id)
        .execute(app.db.pool())
        .await
        .unwrap();

    let reply = app
        .delete(&format!("/api/v1/clients/{id}"), &owner.token)
        .await
        .expect(200);
    assert_eq!(reply.body["result"], "archived");
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("archived instead of deleted")
    );
    assert_eq!(reply.body["client"]["status"], "archived");
    let read = app
        .get(&format!("/api/v1/clients/{id}"), &owner.token)
        .await
        .expect(200);
    assert_eq!(read.body["status"], "archived");
    let activity = app
        .get(&format!("/api/v1/clients/{id}/activity"), &owner.token)
        .await
        .expect(200);
    assert_eq!(activity.body["items"][0]["action"], "archived");
}

#[tokio::test]
async fn activity_log_records_who_did_what() {
    let app = spawn_app().await;
    let owner = app.signup("Activity Co").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let client = app.create_client(&owner, ann()).await;
    let id = client["id"].as_str().unwrap();
    let mut change = ann();
    change["notes"] = json!("New gate code 9876");
    change["version"] = json!(1);
    app.put(&format!("/api/v1/clients/{id}"), &dispatcher.token, change)
        .await
        .expect(200);
    let property = app
        .post(
            &format!("/api/v1/clients/{id}/properties"),
            &dispatcher.token,
            json!({"address": {"street1": "5 Oak Ave"}}),
        )
        .await
        .expect(201);
    app.delete(
        &format!(
            "/api/v1/clients/{id}/properties/{}",
            property.body["id"].as_str().unwrap()
        ),
        &owner.token,
    )
    .await
    .expect(204);

    let log = app
        .get(&format!("/api/v1/clients/{id}/activity"), &owner.token)
        .await
        .expect(200);
    let entries = log.body["items"].as_array().unwrap();
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["subject_type"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
                e["actor_id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("property".into(), "deleted".into(), owner.user_id.clone()),
            (
                "property".into(),
                "created".into(),
                dispatcher.user_id.clone()
            ),
            (
                "client".into(),
                "updated".into(),
                dispatcher.user_id.clone()
            ),
            ("client".into(), "created".into(), owner.user_id.clone()),
        ]
    );
    assert_eq!(
        entries[2]["changes"],
        json!({"notes": {"from": "Gate code 1234", "to": "New gate code 9876"}})
    );
    let page = app
        .get(
            &format!("/api/v1/clients/{id}/activity?limit=3"),
            &owner.token,
        )
        .await
        .expect(200);
    let cursor = page.body["next_cursor"].as_str().unwrap();
    let rest = app
        .get(
            &format!("/api/v1/clients/{id}/activity?limit=3&cursor={cursor}"),
            &owner.token,
        )
        .await
        .expect(200);
    assert_eq!(rest.body["items"][0]["action"], "created");
    assert_eq!(rest.body["items"][0]["subject_type"], "client");
}

#[tokio::test]
async fn technicians_cannot_reach_client_records() {
    let app = spawn_app().await;
    let owner = app.signup("Roles Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let client = app.create_client(&owner, ann()).await;
    let id = client["id"].as_str().unwrap();
    app.get("/api/v1/clients", &tech.token)
        .await
        .problem(403, "forbidden");
    app.get(&format!("/api/v1/clients/{id}"), &tech.token)
        .await
        .problem(403, "forbidden");
    app.post("/api/v1/clients", &tech.token, ann())
        .await
        .problem(403, "forbidden");
    app.delete(&format!("/api/v1/clients/{id}"), &tech.token)
        .await
        .problem(403, "forbidden");
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    app.get(&format!("/api/v1/clients/{id}"), &dispatcher.token)
        .await
        .expect(200);
}

#[tokio::test]
async fn stale_if_match_on_delete_is_a_failed_precondition() {
    let app = spawn_app().await;
    let owner = app.signup("Precondition Co").await;
    let client = app.create_client(&owner, ann()).await;
    let id = client["id"].as_str().unwrap();
    let property = app
        .post(
            &format!("/api/v1/clients/{id}/properties"),
            &owner.token,
            json!({"address": {"street1": "1 A St"}}),
        )
        .await
        .expect(201);
    let one = format!(
        "/api/v1/clients/{id}/properties/{}",
        property.body["id"].as_str().unwrap()
    );
    app.request(
        reqwest::Method::DELETE,
        &one,
        Some(&owner.token),
        None,
        &[("if-match", "\"7\"")],
    )
    .await
    .problem(412, "precondition_failed");
    app.request(
        reqwest::Method::DELETE,
        &one,
        Some(&owner.token),
        None,
        &[("if-match", "\"1\"")],
    )
    .await
    .expect(204);
    app.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/clients/{id}?version=9"),
        Some(&owner.token),
        None,
        &[],
    )
    .await
    .problem(409, "version_conflict");
    app.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/clients/{id}"),
        Some(&owner.token),
        None,
        &[("if-match", "\"9\"")],
    )
    .await
    .problem(412, "precondition_failed");
    app.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/clients/{id}?version=1"),
        Some(&owner.token),
        None,
        &[],
    )
    .await
    .expect(200);
}

/// A typo finds the client through the account's words (migration
/// 20261209000600), only when nothing matches as typed: words of a name given by an
/// edit and of a property's address count, a word shared by every client does not
/// make a typo scan them all, and another account's words never suggest anything.
#[tokio::test]
async fn a_typo_finds_words_from_edits_and_property_addresses() {
    let app = spawn_app().await;
    let owner = app.signup("Typo Co").await;
    let other = app.signup("Other Typo Co").await;
    let dana = app
        .create_client(&owner, json!({"first_name": "Dana", "last_name": "Whit", "emails": [{"address": "dana@example.com"}]}))
        .await;
    let dana_id = dana["id"].as_str().unwrap();
    app.put(
        &format!("/api/v1/clients/{dana_id}"),
        &owner.token,
        json!({"first_name": "Dana", "last_name": "Okonkwo", "emails": [{"address": "dana@example.com"}], "version": dana["version"]}),
    )
    .await
    .expect(200);
    let carl = app
        .create_client(&owner, json!({"first_name": "Carl", "last_name": "Berg", "emails": [{"address": "carl@example.com"}]}))
        .await;
    let carl_id = carl["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/clients/{carl_id}/properties"),
        &owner.token,
        json!({"address": {"street1": "12 Lakeshore Drive", "city": "Duluth"}}),
    )
    .await
    .expect(201);
    let rita = app
        .create_client(&owner, json!({"first_name": "Rita", "last_name": "Garcia"}))
        .await;
    app.create_client(&owner, json!({"first_name": "Rosa", "last_name": "Marcia"}))
        .await;
    // The other account has a client whose name is the typo's target too.
    app.create_client(&other, json!({"first_name": "Ola", "last_name": "Okonkwo"}))
        .await;

    let search = async |session: &crate::helpers::Session, q: &str| -> Vec<String> {
        app.get(&format!("/api/v1/clients?q={q}"), &session.token)
            .await
            .expect(200)
            .body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        search(&owner, "okonkow").await,
        vec![dana_id],
        "a name given by an edit"
    );
    assert_eq!(
        search(&owner, "whit").await,
        Vec::<String>::new(),
        "the old name is gone from the client"
    );
    assert_eq!(
        search(&owner, "lakshore").await,
        vec![carl_id],
        "a property's address"
    );
    assert_eq!(
        search(&owner, "exemple").await.len(),
        2,
        "a word every client shares"
    );
    assert_eq!(search(&owner, "zqxwv").await, Vec::<String>::new());
    // What matches as typed comes alone: a Marcia is close to a Garcia, but a search
    // for "garcia" is not a typo.
    assert_eq!(
        search(&owner, "garcia").await,
        vec![rita["id"].as_str().unwrap()]
    );
    assert_eq!(
        search(&owner, "garcias").await,
        vec![rita["id"].as_str().unwrap()]
    );
    let theirs = search(&other, "okonkow").await;
    assert_eq!(theirs.len(), 1, "the other account finds its own only");
    assert_ne!(theirs[0], dana_id);
}

/// The search walks the newest clients while they fill a page and turns to the
/// trigram indexes when they do not: pages of a common term, through both ways,
/// come out whole, newest first, each client once, property matches included.
#[tokio::test]
async fn search_pages_through_every_match_once() {
    let app = spawn_app().await;
    let owner = app.signup("Paging Search Co").await;
    let mut expected = Vec::new();
    for i in 0..5 {
        let client = app
            .create_client(
                &owner,
                json!({"first_name": format!("N{i}"), "last_name": "Novak"}),
            )
            .await;
        expected.push(client["id"].as_str().unwrap().to_string());
        app.create_client(&owner, json!({"first_name": format!("Other{i}")}))
            .await;
    }
    let by_property = app
        .create_client(&owner, json!({"first_name": "Pia", "last_name": "Park"}))
        .await;
    let id = by_property["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/clients/{id}/properties"),
        &owner.token,
        json!({"address": {"street1": "7 Novak Lane"}}),
    )
    .await
    .expect(201);
    expected.push(id.to_string());
    expected.reverse();

    let mut seen = Vec::new();
    let mut path = "/api/v1/clients?q=novak&limit=2".to_string();
    loop {
        let page = app.get(&path, &owner.token).await.expect(200).body;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/clients?q=novak&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, expected);
}
