//! QuickBooks Online sync against a fake of Intuit's OAuth 2.0 token endpoint and the
//! v3 accounting endpoints jobber uses (an axum server in this process): connect,
//! pushes, sparse updates with SyncToken, idempotent creates (`requestid`), token
//! refresh, refused records, retry, disconnect.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use jobber::config::{Config, QuickBooksConfig, Role};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::background::with_worker;
use crate::helpers::{Session, TestApp, spawn_app_with};

const CLIENT_ID: &str = "qbo-client-id";
const CLIENT_SECRET: &str = "qbo-client-secret";
const REALM: &str = "9130350000000001";
const GOOD_CODE: &str = "auth-code-ok";

#[derive(Default)]
struct Fake {
    /// Access token -> valid (false once revoked by the test).
    access: HashMap<String, bool>,
    refresh: HashSet<String>,
    issued: u32,
    /// Seconds the next access tokens live.
    expires_in: i64,
    /// (entity, Id) -> object.
    objects: HashMap<(String, String), Value>,
    next_id: u64,
    /// requestid -> (status, body) of the first answer.
    request_ids: HashMap<String, (u16, Value)>,
    /// Every API call: (method, path?query, body).
    calls: Vec<(String, String, Value)>,
    grants: Vec<String>,
    /// Injected refusals for the next create of an entity.
    faults: HashMap<String, Value>,
}

#[derive(Clone)]
pub(crate) struct FakeQbo {
    state: Arc<Mutex<Fake>>,
    base: String,
}

fn fault(status: StatusCode, code: &str, message: &str, detail: &str, kind: &str) -> Response {
    (
        status,
        axum::Json(json!({"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}], "type": kind},
                          "time": "2026-11-25T02:00:00.000-08:00"})),
    )
        .into_response()
}

fn query_pairs(query: &str) -> HashMap<String, String> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn entity_name(path: &str) -> Option<&'static str> {
    match path {
        "customer" => Some("Customer"),
        "invoice" => Some("Invoice"),
        "payment" => Some("Payment"),
        _ => None,
    }
}

async fn token(State(fake): State<FakeQbo>, headers: HeaderMap, body: Bytes) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let form = query_pairs(std::str::from_utf8(&body).unwrap());
    let mut s = fake.state.lock().unwrap();
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    s.grants.push(grant.clone());
    match grant.as_str() {
        "authorization_code" => {
            if form.get("code").map(String::as_str) != Some(GOOD_CODE)
                || form.get("redirect_uri").map(String::as_str)
                    != Some("http://jobber.test/api/v1/integrations/quickbooks/callback")
            {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": "invalid_grant"})),
                )
                    .into_response();
            }
        }
        "refresh_token" => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            // Intuit rotates: the presented refresh token is spent.
            if !s.refresh.remove(&presented) {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"})),
                )
                    .into_response();
            }
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": "unsupported_grant_type"})),
            )
                .into_response();
        }
    }
    s.issued += 1;
    let access = format!("access-{}", s.issued);
    let refresh = format!("refresh-{}", s.issued);
    s.access.insert(access.clone(), true);
    s.refresh.insert(refresh.clone());
    let expires_in = if s.expires_in == 0 {
        3600
    } else {
        s.expires_in
    };
    axum::Json(
        json!({"token_type": "bearer", "access_token": access, "refresh_token": refresh,
                      "expires_in": expires_in, "x_refresh_token_expires_in": 8_726_400}),
    )
    .into_response()
}

fn authorized(s: &Fake, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if s.access.get(token).copied() == Some(true) {
        return None;
    }
    Some(
        (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                "detail": "Token expired: 0", "code": "3200"}], "type": "AUTHENTICATION"}, "time": "2026-11-25T02:00:00.000-08:00"})),
        )
            .into_response(),
    )
}

async fn save(
    State(fake): State<FakeQbo>,
    Path((realm, entity)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = query.unwrap_or_default();
    let params = query_pairs(&query);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = fake.state.lock().unwrap();
    s.calls.push((
        "POST".into(),
        format!("/v3/company/{realm}/{entity}?{query}"),
        body.clone(),
    ));
    if let Some(refused) = authorized(&s, &headers) {
        return refused;
    }
    let Some(name) = entity_name(&entity).filter(|_| realm == REALM) else {
        return fault(
            StatusCode::BAD_REQUEST,
            "2500",
            "Invalid Reference Id",
            "unknown realm or entity",
            "ValidationFault",
        );
    };
    if let Some(id) = params.get("requestid")
        && let Some((status, answer)) = s.request_ids.get(id)
    {
        return (
            StatusCode::from_u16(*status).unwrap(),
            axum::Json(answer.clone()),
        )
            .into_response();
    }
    let (status, answer) = apply(&mut s, name, &params, body);
    if let Some(id) = params.get("requestid") {
        s.request_ids
            .insert(id.clone(), (status.as_u16(), answer.clone()));
    }
    (status, axum::Json(answer)).into_response()
}

fn fault_body(code: &str, message: &str, detail: &str) -> Value {
    json!({"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}], "type": "ValidationFault"},
           "time": "2026-11-25T02:00:00.000-08:00"})
}

/// Create, sparse update or void, with QuickBooks' checks.
fn apply(
    s: &mut Fake,
    name: &str,
    params: &HashMap<String, String>,
    body: Value,
) -> (StatusCode, Value) {
    let bad = |code: &str, message: &str, detail: &str| {
        (StatusCode::BAD_REQUEST, fault_body(code, message, detail))
    };
    if let Some(id) = body.get("Id").and_then(Value::as_str) {
        let key = (name.to_string(), id.to_string());
        let Some(current) = s.objects.get(&key).cloned() else {
            return bad(
                "610",
                "Object Not Found",
                "Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
            );
        };
        let Some(token) = body.get("SyncToken").and_then(Value::as_str) else {
            return bad(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter SyncToken is missing in the request",
            );
        };
        if current["SyncToken"].as_str() != Some(token) {
            return bad(
                "5010",
                "Stale Object Error",
                &format!(
                    "Stale Object Error : You and {} were working on this at the same time. {} finished before you did, so your work was not saved.",
                    "Someone", "Someone"
                ),
            );
        }
        let mut next = current.clone();
        if params.get("operation").map(String::as_str) == Some("void") {
            next["TotalAmt"] = json!(0);
            next["Balance"] = json!(0);
            next["PrivateNote"] = json!("Voided");
        } else {
            if body.get("sparse") != Some(&json!(true)) {
                next = json!({"Id": id});
            }
            for (k, v) in body.as_object().unwrap() {
                if k != "sparse" {
                    next[k] = v.clone();
                }
            }
        }
        let n: u64 = current["SyncToken"].as_str().unwrap().parse().unwrap();
        next["SyncToken"] = json!((n + 1).to_string());
        s.objects.insert(key, next.clone());
        return (
            StatusCode::OK,
            json!({name: next, "time": "2026-11-25T02:00:00.000-08:00"}),
        );
    }
    if let Some(refusal) = s.faults.remove(name) {
        return (StatusCode::BAD_REQUEST, refusal);
    }
    let exists = |s: &Fake, entity: &str, id: &Value| {
        id.as_str().is_some_and(|id| {
            s.objects
                .contains_key(&(entity.to_string(), id.to_string()))
        })
    };
    match name {
        "Customer" => {
            let Some(display) = body["DisplayName"].as_str() else {
                return bad(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: You must fill out at least one split line.",
                );
            };
            if s.objects
                .iter()
                .any(|((e, _), o)| e == "Customer" && o["DisplayName"].as_str() == Some(display))
            {
                return bad(
                    "6240",
                    "Duplicate Name Exists Error",
                    "The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name.",
                );
            }
        }
        "Invoice" => {
            if !exists(s, "Customer", &body["CustomerRef"]["value"]) {
                return bad(
                    "2500",
                    "Invalid Reference Id",
                    "Invalid Reference Id : Names element id does not exist",
                );
            }
            if body["Line"].as_array().is_none_or(Vec::is_empty) {
                return bad(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    "Business Validation Error: You must fill out at least one split line.",
                );
            }
        }
        "Payment" => {
            if !exists(s, "Customer", &body["CustomerRef"]["value"])
                || body["TotalAmt"].as_f64().is_none()
            {
                return bad(
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    "Required parameter CustomerRef/TotalAmt is missing in the request",
                );
            }
            for line in body["Line"].as_array().into_iter().flatten() {
                for txn in line["LinkedTxn"].as_array().into_iter().flatten() {
                    if !exists(s, "Invoice", &txn["TxnId"]) {
                        return bad(
                            "2500",
                            "Invalid Reference Id",
                            "Invalid Reference Id : Txn id does not exist",
                        );
                    }
                }
            }
        }
        _ => {}
    }
    s.next_id += 1;
    let id = s.next_id.to_string();
    let mut object = body.clone();
    object["Id"] = json!(id);
    object["SyncToken"] = json!("0");
    object["MetaData"] = json!({"CreateTime": "2026-11-25T02:00:00-08:00"});
    s.objects.insert((name.to_string(), id), object.clone());
    (
        StatusCode::OK,
        json!({name: object, "time": "2026-11-25T02:00:00.000-08:00"}),
    )
}

async fn read(
    State(fake): State<FakeQbo>,
    Path((realm, entity, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut s = fake.state.lock().unwrap();
    s.calls.push((
        "GET".into(),
        format!("/v3/company/{realm}/{entity}/{id}"),
        Value::Null,
    ));
    if let Some(refused) = authorized(&s, &headers) {
        return refused;
    }
    let Some(name) = entity_name(&entity) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match s.objects.get(&(name.to_string(), id)) {
        Some(object) => axum::Json(json!({name: object, "time": "2026-11-25T02:00:00.000-08:00"}))
            .into_response(),
        None => fault(
            StatusCode::BAD_REQUEST,
            "610",
            "Object Not Found",
            "Object Not Found : Something you're trying to use has been made inactive.",
            "ValidationFault",
        ),
    }
}

impl FakeQbo {
    pub(crate) async fn start() -> FakeQbo {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeQbo {
            state: Arc::default(),
            base,
        };
        let router = Router::new()
            .route("/oauth2/v1/tokens/bearer", post(token))
            .route("/v3/company/{realm}/{entity}", post(save))
            .route("/v3/company/{realm}/{entity}/{id}", get(read))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        fake
    }

    pub(crate) fn config(&self) -> QuickBooksConfig {
        QuickBooksConfig {
            client_id: Some(CLIENT_ID.into()),
            client_secret: Some(SecretString::from(CLIENT_SECRET)),
            auth_base: format!("{}/connect/oauth2", self.base),
            token_url: format!("{}/oauth2/v1/tokens/bearer", self.base),
            api_base: self.base.clone(),
        }
    }

    pub(crate) fn objects(&self, name: &str) -> Vec<Value> {
        let s = self.state.lock().unwrap();
        let mut out: Vec<Value> = s
            .objects
            .iter()
            .filter(|((e, _), _)| e == name)
            .map(|(_, o)| o.clone())
            .collect();
        out.sort_by_key(|o| o["Id"].as_str().unwrap().parse::<u64>().unwrap());
        out
    }

    pub(crate) fn calls(&self) -> Vec<(String, String, Value)> {
        self.state.lock().unwrap().calls.clone()
    }
}

fn worker_with(fake: &FakeQbo) -> impl FnOnce(&mut Config) {
    let qbo = fake.config();
    move |c: &mut Config| {
        with_worker(Role::All, None)(c);
        c.quickbooks = qbo;
    }
}

/// Connect through the real flow: connect -> (the user consents at Intuit) -> callback.
pub(crate) async fn connect(app: &TestApp, owner: &Session) {
    let reply = app
        .post(
            "/api/v1/integrations/quickbooks/connect",
            &owner.token,
            json!({}),
        )
        .await
        .expect(200);
    let url = reqwest::Url::parse(reply.body["authorize_url"].as_str().unwrap()).unwrap();
    let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    let state = &params["state"];
    let callback = app
        .http
        .get(app.url("/api/v1/integrations/quickbooks/callback"))
        .query(&[("code", GOOD_CODE), ("state", state), ("realmId", REALM)])
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 303);
    assert_eq!(
        callback.headers()["location"],
        "http://jobber.test/settings/integrations?quickbooks=connected"
    );
}

async fn wait_records(app: &TestApp, owner: &Session, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let records = app
            .get("/api/v1/integrations/quickbooks/records", &owner.token)
            .await
            .expect(200)
            .body;
        if want(&records) || Instant::now() > deadline {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn record<'a>(records: &'a Value, kind: &str, local_id: &Value) -> Option<&'a Value> {
    records["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind && &r["local_id"] == local_id)
}

fn synced(records: &Value, kind: &str, local_id: &Value, version_at_least: i64) -> bool {
    record(records, kind, local_id).is_some_and(|r| {
        r["state"] == "synced"
            && r["sync_token"]
                .as_str()
                .is_some_and(|t| t.parse::<i64>().unwrap() >= version_at_least)
    })
}

#[tokio::test]
async fn quickbooks_connect_refuses_a_forged_state_and_keeps_tokens_encrypted() {
    // Not configured: connecting is refused with its own code.
    let bare = spawn_app_with(|_| {}).await;
    let owner = bare.signup("No QBO").await;
    bare.post(
        "/api/v1/integrations/quickbooks/connect",
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "quickbooks_not_configured");
    let status = bare
        .get("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(200);
    assert_eq!(status.body["configured"], false);
    drop(bare);

    let fake = FakeQbo::start().await;
    let qbo = fake.config();
    let app = spawn_app_with(move |c| c.quickbooks = qbo).await;
    let owner = app.signup("QBO Co").await;
    let reply = app
        .post(
            "/api/v1/integrations/quickbooks/connect",
            &owner.token,
            json!({}),
        )
        .await
        .expect(200);
    let url = reqwest::Url::parse(reply.body["authorize_url"].as_str().unwrap()).unwrap();
    assert!(
        url.as_str()
            .starts_with(&format!("{}/connect/oauth2?", fake.base))
    );
    let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["scope"], "com.intuit.quickbooks.accounting");
    assert_eq!(
        params["redirect_uri"],
        "http://jobber.test/api/v1/integrations/quickbooks/callback"
    );
    let state = params["state"].clone();

    // A forged, tampered or missing state is refused before anything is exchanged.
    let callback = |state: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url("/api/v1/integrations/quickbooks/callback"))
                .query(&[("code", GOOD_CODE), ("state", &state), ("realmId", REALM)])
                .send()
                .await
                .unwrap()
        }
    };
    let mut tampered = state.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    for forged in [
        String::new(),
        "forged".to_string(),
        String::from_utf8(tampered).unwrap(),
        // Another server's (another key's) state.
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            jobber::platform::crypto::SecretBox::new(&[9u8; 32])
                .seal("quickbooks_oauth_state", br#"{"a":"00000000-0000-0000-0000-000000000000","u":"00000000-0000-0000-0000-000000000000","e":99999999999}"#)
                .unwrap(),
        ),
    ] {
        let reply = callback(forged).await;
        assert_eq!(reply.status(), 400);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["code"], "invalid_oauth_state");
    }
    assert!(
        fake.state.lock().unwrap().grants.is_empty(),
        "nothing exchanged"
    );

    // The user declines at Intuit: back to the settings page with the reason.
    let declined = app
        .http
        .get(app.url("/api/v1/integrations/quickbooks/callback"))
        .query(&[("error", "access_denied"), ("state", &state)])
        .send()
        .await
        .unwrap();
    assert_eq!(declined.status(), 303);
    assert_eq!(
        declined.headers()["location"],
        "http://jobber.test/settings/integrations?quickbooks=error&reason=access_denied"
    );

    let ok = callback(state).await;
    assert_eq!(ok.status(), 303);
    assert_eq!(
        ok.headers()["location"],
        "http://jobber.test/settings/integrations?quickbooks=connected"
    );
    assert_eq!(fake.state.lock().unwrap().grants, ["authorization_code"]);
    let status = app
        .get("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(status["configured"], true);
    assert_eq!(status["connected"], true);
    assert_eq!(status["realm_id"], REALM);
    assert_eq!(status["connected_by"], owner.user_id);
    assert_eq!(
        status["counts"],
        json!({"pending": 0, "synced": 0, "failed": 0})
    );

    // Tokens at rest are ciphertext, bound to the account.
    let (access, refresh): (Vec<u8>, Vec<u8>) =
        sqlx::query_as("SELECT access_token_enc, refresh_token_enc FROM quickbooks_connections")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    for sealed in [&access, &refresh] {
        assert!(!String::from_utf8_lossy(sealed).contains("access-1"));
        assert!(!String::from_utf8_lossy(sealed).contains("refresh-1"));
    }

    app.delete("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(204);
    let status = app
        .get("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(status["connected"], false);
    app.post(
        &format!(
            "/api/v1/integrations/quickbooks/records/{}/retry",
            uuid::Uuid::now_v7()
        ),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "quickbooks_not_connected");
}

#[tokio::test]
async fn quickbooks_pushes_customers_invoices_and_payments_once_and_updates_with_sync_tokens() {
    let fake = FakeQbo::start().await;
    let app = spawn_app_with(worker_with(&fake)).await;
    let owner = app.signup("Push Co").await;
    // Before connecting nothing is tracked.
    let early = app
        .create_client(&owner, json!({"first_name": "Early", "last_name": "Bird"}))
        .await;
    connect(&app, &owner).await;

    let client = app
        .create_client(
            &owner,
            json!({"first_name": "Ann", "last_name": "Lee", "company_name": "Lee Homes",
                   "emails": [{"address": "ann@example.com", "primary": true}],
                   "phones": [{"number": "+15555550100", "primary": true}],
                   "billing_address": {"street1": "1 Main St", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}}),
        )
        .await;
    let tax = app
        .post(
            "/api/v1/settings/tax-rates",
            &owner.token,
            json!({"name": "State", "rate": "8.875"}),
        )
        .await
        .expect(201)
        .body;
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client["id"], "title": "Spring work", "tax_rate_ids": [tax["id"]],
                   "payment_terms": "net_15",
                   "lines": [{"name": "Mowing", "quantity": 2, "unit_price": 4500},
                             {"name": "Permit", "quantity": 1, "unit_price": 1000, "taxable": false}]}),
        )
        .await
        .expect(201)
        .body;
    let invoice_id = invoice["id"].as_str().unwrap().to_string();
    let sent = app
        .post(
            &format!("/api/v1/invoices/{invoice_id}/send"),
            &owner.token,
            json!({}),
        )
        .await
        .expect(200)
        .body;
    let payment = app
        .post(
            &format!("/api/v1/invoices/{invoice_id}/payments"),
            &owner.token,
            json!({"method": "check", "amount": 5000, "reference": "CHK 1001"}),
        )
        .await
        .expect(201)
        .body;
    let payment_id = payment["payment"]["id"].clone();
    let records = wait_records(&app, &owner, |r| {
        synced(r, "customer", &client["id"], 0)
            && synced(r, "invoice", &sent["id"], 0)
            && synced(r, "payment", &payment_id, 0)
    })
    .await;
    assert!(
        synced(&records, "payment", &payment_id, 0),
        "not all synced: {records:#}\n{:#?}",
        fake.calls()
    );
    assert!(
        record(&records, "customer", &early["id"]).is_none(),
        "changes before connecting are not tracked"
    );

    let customers = fake.objects("Customer");
    assert_eq!(customers.len(), 1, "{customers:#?}");
    let customer = &customers[0];
    assert_eq!(customer["DisplayName"], "Ann Lee");
    assert_eq!(customer["GivenName"], "Ann");
    assert_eq!(customer["FamilyName"], "Lee");
    assert_eq!(customer["CompanyName"], "Lee Homes");
    assert_eq!(
        customer["PrimaryEmailAddr"],
        json!({"Address": "ann@example.com"})
    );
    assert_eq!(
        customer["PrimaryPhone"],
        json!({"FreeFormNumber": "+15555550100"})
    );
    assert_eq!(
        customer["BillAddr"],
        json!({"Line1": "1 Main St", "City": "Springfield", "CountrySubDivisionCode": "IL", "PostalCode": "62701", "Country": "US"})
    );
    let invoices = fake.objects("Invoice");
    assert_eq!(invoices.len(), 1);
    let qbo_invoice = &invoices[0];
    assert_eq!(qbo_invoice["CustomerRef"], json!({"value": customer["Id"]}));
    assert_eq!(qbo_invoice["DocNumber"], sent["number"]);
    assert_eq!(qbo_invoice["TxnDate"], sent["issue_date"]);
    assert_eq!(qbo_invoice["DueDate"], sent["due_date"]);
    assert_eq!(
        qbo_invoice["Line"],
        json!([
            {"DetailType": "SalesItemLineDetail", "Amount": 90.0, "Description": "Mowing",
             "SalesItemLineDetail": {"Qty": 2.0, "UnitPrice": 45.0, "TaxCodeRef": {"value": "TAX"}}},
            {"DetailType": "SalesItemLineDetail", "Amount": 10.0, "Description": "Permit",
             "SalesItemLineDetail": {"Qty": 1.0, "UnitPrice": 10.0, "TaxCodeRef": {"value": "NON"}}},
        ])
    );
    // 8.875 % of 90.00 = 7.9875 -> 7.99; the exact rate travels in the memo.
    assert_eq!(sent["tax_total"], 799);
    assert_eq!(qbo_invoice["TxnTaxDetail"], json!({"TotalTax": 7.99}));
    assert_eq!(
        qbo_invoice["PrivateNote"],
        format!("jobber invoice {invoice_id}; taxes: State 8.875%")
    );
    let payments = fake.objects("Payment");
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["CustomerRef"], json!({"value": customer["Id"]}));
    assert_eq!(payments[0]["TotalAmt"], json!(50.0));
    assert_eq!(payments[0]["PaymentRefNum"], "CHK 1001");
    assert_eq!(
        payments[0]["Line"],
        json!([{"Amount": 50.0, "LinkedTxn": [{"TxnId": qbo_invoice["Id"], "TxnType": "Invoice"}]}])
    );
    // Creates carry requestid = the mapping row's id.
    let customer_record = record(&records, "customer", &client["id"]).unwrap().clone();
    assert_eq!(customer_record["qbo_id"], customer["Id"]);
    let creates: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|(_, path, _)| path.contains("/customer?"))
        .collect();
    assert_eq!(creates.len(), 1, "one customer call: {creates:#?}");
    assert!(creates[0].1.contains(&format!(
        "requestid={}",
        customer_record["id"].as_str().unwrap()
    )));

    // An update is a sparse update with Id and SyncToken.
    let current = app
        .get(
            &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    app.put(
        &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
        &owner.token,
        json!({"first_name": "Ann", "last_name": "Lee-Smith", "company_name": "Lee Homes",
               "emails": [{"address": "ann@example.com", "primary": true}], "version": current["version"]}),
    )
    .await
    .expect(200);
    let records = wait_records(&app, &owner, |r| synced(r, "customer", &client["id"], 1)).await;
    assert!(
        synced(&records, "customer", &client["id"], 1),
        "{records:#}"
    );
    let update = fake
        .calls()
        .into_iter()
        .filter(|(_, path, _)| path.contains("/customer?"))
        .nth(1)
        .unwrap();
    assert!(!update.1.contains("requestid"), "{update:?}");
    assert_eq!(update.2["Id"], customer["Id"]);
    assert_eq!(update.2["SyncToken"], "0");
    assert_eq!(update.2["sparse"], true);
    assert_eq!(update.2["DisplayName"], "Ann Lee-Smith");
    assert_eq!(fake.objects("Customer").len(), 1, "updated, not duplicated");

    // Someone edits it in QuickBooks: our SyncToken is stale; read, retry once.
    {
        let mut s = fake.state.lock().unwrap();
        let object = s
            .objects
            .get_mut(&(
                "Customer".to_string(),
                customer["Id"].as_str().unwrap().to_string(),
            ))
            .unwrap();
        object["SyncToken"] = json!("7");
    }
    let current = app
        .get(
            &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    app.put(
        &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
        &owner.token,
        json!({"first_name": "Ann", "last_name": "Smith", "version": current["version"]}),
    )
    .await
    .expect(200);
    let records = wait_records(&app, &owner, |r| synced(r, "customer", &client["id"], 8)).await;
    assert!(
        synced(&records, "customer", &client["id"], 8),
        "{records:#}\n{:#?}",
        fake.calls()
    );
    assert_eq!(fake.objects("Customer")[0]["FamilyName"], "Smith");
    assert!(fake.calls().iter().any(|(m, p, _)| m == "GET"
        && p.ends_with(&format!("/customer/{}", customer["Id"].as_str().unwrap()))));

    // A job run again pushes nothing; a crash between the create and recording it
    // (the mapping lost its Id) re-creates with the same requestid: no duplicate.
    let calls_before = fake.calls().len();
    let secrets = jobber::platform::crypto::SecretBox::load(None, &app.data_dir).unwrap();
    let qbo = jobber::integrations::quickbooks::QuickBooks::from_config(&fake.config())
        .unwrap()
        .unwrap();
    let payment_record = record(&records, "payment", &payment_id).unwrap().clone();
    let record_id: uuid::Uuid = payment_record["id"].as_str().unwrap().parse().unwrap();
    jobber::modules::quickbooks::sync::run(
        &app.db,
        Some(&qbo),
        &secrets,
        owner.account_id.parse().unwrap(),
        record_id,
    )
    .await
    .unwrap();
    assert_eq!(fake.calls().len(), calls_before, "nothing pushed again");
    sqlx::query("UPDATE quickbooks_records SET qbo_id = NULL, sync_token = NULL, synced_version = 0, state = 'pending' WHERE id = $1")
        .bind(record_id)
        .execute(app.db.pool())
        .await
        .unwrap();
    jobber::modules::quickbooks::sync::run(
        &app.db,
        Some(&qbo),
        &secrets,
        owner.account_id.parse().unwrap(),
        record_id,
    )
    .await
    .unwrap();
    assert_eq!(
        fake.objects("Payment").len(),
        1,
        "the requestid made the create idempotent"
    );
    let again = app
        .get(
            &format!(
                "/api/v1/integrations/quickbooks/records?local_id={}",
                payment_id.as_str().unwrap()
            ),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(again["items"][0]["qbo_id"], payment_record["qbo_id"]);
    assert_eq!(again["items"][0]["state"], "synced");

    // Status: connected, counts, last sync.
    let status = app
        .get("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(
        status["counts"],
        json!({"pending": 0, "synced": 3, "failed": 0})
    );
    assert!(status["last_sync_at"].is_string());

    // A client with history is archived, not deleted: an inactive customer.
    let archived = app
        .delete(
            &format!("/api/v1/clients/{}", client["id"].as_str().unwrap()),
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(archived["result"], "archived");
    let records = wait_records(&app, &owner, |r| synced(r, "customer", &client["id"], 9)).await;
    assert!(
        synced(&records, "customer", &client["id"], 9),
        "{records:#}"
    );
    assert_eq!(fake.objects("Customer")[0]["Active"], false);
    assert_eq!(fake.objects("Customer").len(), 1);
}

#[tokio::test]
async fn quickbooks_voids_and_refreshes_tokens_before_expiry_and_on_401() {
    let fake = FakeQbo::start().await;
    let app = spawn_app_with(worker_with(&fake)).await;
    let owner = app.signup("Refresh Co").await;
    connect(&app, &owner).await;

    // The stored access token is about to expire: refreshed before the call, and
    // the rotated refresh token is stored.
    sqlx::query(
        "UPDATE quickbooks_connections SET access_expires_at = now() + interval '30 seconds'",
    )
    .execute(app.db.pool())
    .await
    .unwrap();
    let client = app
        .create_client(&owner, json!({"first_name": "Bo", "last_name": "Ray", "emails": [{"address": "bo@example.com"}]}))
        .await;
    let records = wait_records(&app, &owner, |r| synced(r, "customer", &client["id"], 0)).await;
    assert!(
        synced(&records, "customer", &client["id"], 0),
        "{records:#}"
    );
    {
        let s = fake.state.lock().unwrap();
        assert_eq!(s.grants, ["authorization_code", "refresh_token"]);
        assert!(s.refresh.contains("refresh-2") && !s.refresh.contains("refresh-1"));
    }
    let status = app
        .get("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(200)
        .body;
    let expires: chrono::DateTime<chrono::Utc> = status["access_token_expires_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(expires > chrono::Utc::now() + chrono::Duration::minutes(50));

    // QuickBooks revokes the access token early: a 401, one refresh, the call again.
    fake.state
        .lock()
        .unwrap()
        .access
        .values_mut()
        .for_each(|valid| *valid = false);
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client["id"], "title": "Fix", "tax_rate_ids": [],
                   "lines": [{"name": "Repair", "quantity": 1, "unit_price": 12345}]}),
        )
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
    let records = wait_records(&app, &owner, |r| synced(r, "invoice", &invoice["id"], 0)).await;
    assert!(
        synced(&records, "invoice", &invoice["id"], 0),
        "{records:#}"
    );
    assert_eq!(
        fake.state.lock().unwrap().grants,
        ["authorization_code", "refresh_token", "refresh_token"]
    );
    assert_eq!(
        fake.objects("Invoice")[0]["Line"][0]["Amount"],
        json!(123.45)
    );

    // Voiding the invoice voids it in QuickBooks (Id + SyncToken).
    app.post(
        &format!("/api/v1/invoices/{id}/void"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(200);
    let records = wait_records(&app, &owner, |r| synced(r, "invoice", &invoice["id"], 1)).await;
    assert!(
        synced(&records, "invoice", &invoice["id"], 1),
        "{records:#}"
    );
    let void = fake
        .calls()
        .into_iter()
        .find(|(_, path, _)| path.contains("operation=void"))
        .unwrap();
    let qbo_invoice = &fake.objects("Invoice")[0];
    assert_eq!(
        void.2,
        json!({"Id": qbo_invoice["Id"], "SyncToken": "1"}),
        "a sparse update then the void"
    );
    assert_eq!(qbo_invoice["Balance"], 0);
    assert_eq!(fake.objects("Invoice").len(), 1);
}

#[tokio::test]
async fn quickbooks_refusals_are_failed_with_their_message_retry_works_and_disconnect_stops() {
    let fake = FakeQbo::start().await;
    let app = spawn_app_with(worker_with(&fake)).await;
    let owner = app.signup("Refused Co").await;
    connect(&app, &owner).await;
    fake.state.lock().unwrap().faults.insert(
        "Customer".into(),
        fault_body(
            "6000",
            "A business validation error has occurred while processing your request",
            "Business Validation Error: Email Address does not conform to the syntax rules of RFC 822.",
        ),
    );
    let client = app
        .create_client(&owner, json!({"first_name": "Cy", "last_name": "Fail", "emails": [{"address": "cy@example.com"}]}))
        .await;
    let records = wait_records(&app, &owner, |r| {
        record(r, "customer", &client["id"]).is_some_and(|r| r["state"] == "failed")
    })
    .await;
    let failed = record(&records, "customer", &client["id"]).unwrap().clone();
    assert_eq!(failed["state"], "failed", "{records:#}");
    assert_eq!(
        failed["last_error"],
        "QuickBooks answered 400: A business validation error has occurred while processing your request: Business Validation Error: Email Address does not conform to the syntax rules of RFC 822."
    );
    assert!(failed["qbo_id"].is_null());
    let listed = app
        .get(
            "/api/v1/integrations/quickbooks/records?state=failed",
            &owner.token,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], failed["id"]);
    let status = app
        .get("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(status["counts"]["failed"], 1);
    assert_eq!(status["recent_errors"][0]["id"], failed["id"]);

    // The cause fixed (the fault was one-off), a retry pushes it.
    let retried = app
        .post(
            &format!(
                "/api/v1/integrations/quickbooks/records/{}/retry",
                failed["id"].as_str().unwrap()
            ),
            &owner.token,
            json!({}),
        )
        .await
        .expect(202)
        .body;
    assert_eq!(retried["state"], "pending");
    let records = wait_records(&app, &owner, |r| synced(r, "customer", &client["id"], 0)).await;
    let done = record(&records, "customer", &client["id"]).unwrap();
    assert_eq!(done["state"], "synced", "{records:#}");
    assert!(done["last_error"].is_null());
    assert_eq!(fake.objects("Customer").len(), 1);
    app.post(
        &format!(
            "/api/v1/integrations/quickbooks/records/{}/retry",
            uuid::Uuid::now_v7()
        ),
        &owner.token,
        json!({}),
    )
    .await
    .problem(404, "quickbooks_record_not_found");

    // QuickBooks wants unique names (error 6240): a second "Cy Fail" gets the end of
    // its client id.
    let twin = app
        .create_client(&owner, json!({"first_name": "Cy", "last_name": "Fail"}))
        .await;
    let records = wait_records(&app, &owner, |r| synced(r, "customer", &twin["id"], 0)).await;
    assert!(synced(&records, "customer", &twin["id"], 0), "{records:#}");
    let simple = twin["id"].as_str().unwrap().replace('-', "");
    let names: Vec<Value> = fake
        .objects("Customer")
        .iter()
        .map(|c| c["DisplayName"].clone())
        .collect();
    assert_eq!(
        names,
        [
            json!("Cy Fail"),
            json!(format!("Cy Fail ({})", &simple[26..]))
        ]
    );

    // Disconnected: changes are no longer tracked nor pushed.
    app.delete("/api/v1/integrations/quickbooks", &owner.token)
        .await
        .expect(204);
    let calls = fake.calls().len();
    let later = app
        .create_client(&owner, json!({"first_name": "Di", "last_name": "Later"}))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let records = app
        .get("/api/v1/integrations/quickbooks/records", &owner.token)
        .await
        .expect(200)
        .body;
    assert!(record(&records, "customer", &later["id"]).is_none());
    assert_eq!(fake.calls().len(), calls);
    let jobs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM job_outbox WHERE queue = 'sync.quickbooks'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        jobs, 3,
        "two creates and the retry; nothing after disconnecting"
    );
}
