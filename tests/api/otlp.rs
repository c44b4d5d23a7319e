//! Traces exported over OTLP/HTTP (JSON) to a collector: a loopback receiver stands
//! in for the OpenTelemetry Collector, and a real `jobber serve` process exports to it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use uuid::Uuid;

use crate::background::wait_until;
use crate::e2e::start_with;
use crate::helpers::fresh_database;

/// What the receiver got: each request's Content-Type, its `authorization` and
/// `x-scope-orgid` headers, and its JSON body.
type Received = Arc<Mutex<Vec<(String, Value)>>>;
type Headers = Arc<Mutex<Vec<(String, String)>>>;

async fn receive(
    State((received, seen)): State<(Received, Headers)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    seen.lock()
        .unwrap()
        .push((header("authorization"), header("x-scope-orgid")));
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Ok(json) = serde_json::from_slice(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    received.lock().unwrap().push((content_type, json));
    StatusCode::OK
}

/// Every span received, with its resource's attributes.
fn spans(received: &Received) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for (_, body) in received.lock().unwrap().iter() {
        for resource_spans in body["resourceSpans"].as_array().into_iter().flatten() {
            for scope in resource_spans["scopeSpans"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    out.push((resource_spans["resource"].clone(), span.clone()));
                }
            }
        }
    }
    out
}

fn attribute<'a>(attributes: &'a Value, key: &str) -> Option<&'a Value> {
    attributes
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[tokio::test]
async fn a_request_span_reaches_the_collector_with_its_request_id_and_route() {
    let received: Received = Arc::default();
    let seen: Headers = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/traces", post(receive))
        .with_state((received.clone(), seen.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let database_url = fresh_database().await;
    let data_dir = std::env::temp_dir().join(format!("jobber-otlp-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let server = start_with(
        &data_dir,
        &[
            ("JOBBER_DATABASE_URL", &database_url),
            ("JOBBER_ROLE", "api"),
            ("JOBBER_OTLP_ENDPOINT", &collector),
            // As OTEL_EXPORTER_OTLP_HEADERS writes them: percent-encoded values.
            (
                "JOBBER_OTLP_HEADERS",
                "authorization=Bearer%20otlp-s3cret,x-scope-orgid=tenant-7",
            ),
        ],
    )
    .await;

    let request_id = format!("otlp-{}", Uuid::now_v7().simple());
    let client_id = Uuid::now_v7();
    let reply = reqwest::Client::new()
        .get(format!("{}/api/v1/clients/{client_id}", server.base))
        .header("x-request-id", &request_id)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);

    let arrived = wait_until(Duration::from_secs(30), || async {
        spans(&received).iter().any(|(_, span)| {
            attribute(&span["attributes"], "request_id")
                == Some(&serde_json::json!({"stringValue": request_id}))
        })
    })
    .await;
    assert!(
        arrived,
        "no span with request id {request_id} reached the collector; got {:?}; see {}",
        received.lock().unwrap(),
        server.log.display()
    );
    let (resource, span) = spans(&received)
        .into_iter()
        .find(|(_, span)| {
            attribute(&span["attributes"], "request_id")
                == Some(&serde_json::json!({"stringValue": request_id}))
        })
        .unwrap();
    assert_eq!(span["name"], "GET /api/v1/clients/{id}");
    assert_eq!(span["kind"], 2, "a server span");
    assert_eq!(
        attribute(&span["attributes"], "http.route"),
        Some(&serde_json::json!({"stringValue": "/api/v1/clients/{id}"}))
    );
    assert_eq!(
        attribute(&span["attributes"], "http.request.method"),
        Some(&serde_json::json!({"stringValue": "GET"}))
    );
    assert_eq!(
        attribute(&span["attributes"], "http.response.status_code"),
        Some(&serde_json::json!({"intValue": "401"}))
    );
    let trace_id = span["traceId"].as_str().unwrap();
    assert!(
        trace_id.len() == 32 && trace_id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{trace_id}"
    );
    assert_eq!(span["spanId"].as_str().unwrap().len(), 16);
    let start: u128 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
    let end: u128 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
    assert!(start > 0 && end >= start);
    assert_eq!(
        attribute(&resource["attributes"], "service.name"),
        Some(&serde_json::json!({"stringValue": "jobber"}))
    );
    assert_eq!(
        attribute(&resource["attributes"], "jobber.role"),
        Some(&serde_json::json!({"stringValue": "api"}))
    );
    assert!(
        received
            .lock()
            .unwrap()
            .iter()
            .all(|(content_type, _)| content_type == "application/json")
    );

    // The exporter's counters are on /metrics.
    let metrics = reqwest::get(format!("{}/metrics", server.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let exported: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("jobber_otlp_spans_exported_total "))
        .unwrap_or_else(|| panic!("{metrics}"))
        .parse()
        .unwrap();
    assert!(exported >= 1, "{metrics}");
    assert!(
        metrics.contains("jobber_otlp_spans_dropped_total 0"),
        "{metrics}"
    );

    // Every export carried the configured headers.
    let seen_headers = seen.lock().unwrap().clone();
    assert!(!seen_headers.is_empty());
    assert!(
        seen_headers
            .iter()
            .all(|(auth, org)| auth == "Bearer otlp-s3cret" && org == "tenant-7"),
        "{seen_headers:?}"
    );

    // A caller's W3C traceparent is continued: same trace, its span the parent. A
    // malformed one is ignored (a trace of its own, the request still answered).
    let traced = |id: &'static str, header: &'static str| {
        let url = format!("{}/api/v1/clients/{client_id}", server.base);
        async move {
            let reply = reqwest::Client::new()
                .get(url)
                .header("x-request-id", id)
                .header("traceparent", header)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 401);
        }
    };
    let continued = "continued-trace";
    let malformed = "malformed-trace";
    traced(
        continued,
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )
    .await;
    traced(malformed, "00-4bf92f3577b34da6a3ce929d0e0e4736-zz-01").await;
    let find = |id: &str| {
        spans(&received)
            .into_iter()
            .map(|(_, span)| span)
            .find(|span| {
                attribute(&span["attributes"], "request_id")
                    == Some(&serde_json::json!({"stringValue": id}))
            })
    };
    let both = wait_until(Duration::from_secs(30), || async {
        find(continued).is_some() && find(malformed).is_some()
    })
    .await;
    assert!(both, "see {}", server.log.display());
    let span = find(continued).unwrap();
    assert_eq!(span["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(span["parentSpanId"], "00f067aa0ba902b7");
    assert_ne!(span["spanId"], "00f067aa0ba902b7");
    assert_eq!(attribute(&span["attributes"], "traceparent"), None);
    let span = find(malformed).unwrap();
    assert_ne!(span["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert!(span.get("parentSpanId").is_none(), "{span}");

    let log_path = server.log.clone();
    drop(server);
    // The header values are credentials: never in the log; their names are.
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains("otlp-s3cret"), "{log}");
    assert!(log.contains("authorization,x-scope-orgid"), "{log}");
    let _ = std::fs::remove_file(&log_path);
    let _ = std::fs::remove_dir_all(&data_dir);
}
