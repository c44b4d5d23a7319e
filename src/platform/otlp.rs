//! OpenTelemetry trace export (seed §10.3): every span the log filter lets through
//! (requests, and the `#[tracing::instrument]`ed service and job functions inside
//! them) is sent to an OTLP/HTTP collector as JSON (`POST {endpoint}/v1/traces`,
//! OTLP 1.x's JSON encoding), when `otlp_endpoint` is set.
//!
//! Hand-written rather than `opentelemetry-otlp` + `tracing-opentelemetry`: those
//! bring the OpenTelemetry SDK, prost and a second reqwest for what is one JSON
//! document per batch. What it must never do: slow a request down. A finished
//! span goes into a bounded queue without waiting (when the queue is full the span
//! is dropped and counted, `jobber_otlp_spans_dropped_total`); a thread of its own
//! batches the queue (up to [`MAX_BATCH`] spans, or every [`FLUSH_EVERY`]) and
//! posts it. A collector that is down costs failed posts (counted, logged now and
//! then), never memory or latency.
//!
//! A request that arrives with a W3C `traceparent` header continues the caller's
//! trace: its span takes the header's trace id, and the header's span id as its
//! parent (the HTTP middleware records the header, only when well-formed, as the
//! span's `traceparent` field; [`parse_traceparent`]). Headers configured with
//! `--otlp-header` go with every export; their values are never logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Spans waiting for the exporter at most; more are dropped (and counted).
pub const QUEUE: usize = 4096;
/// Spans in one request to the collector at most.
pub const MAX_BATCH: usize = 512;
/// How long a finished span waits for its batch at most.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// One post to the collector, at most.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

static EXPORTED: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

/// Spans exported, spans dropped (queue full or post failed), failed posts, since
/// the process started (for `/metrics`).
pub fn counters() -> (u64, u64, u64) {
    (
        EXPORTED.load(Ordering::Relaxed),
        DROPPED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
    )
}

thread_local! {
    /// Set on the exporter's thread: spans of its own HTTP client are not exported
    /// (they would feed themselves).
    static EXPORTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What the exported spans say about the process (OTLP's resource).
#[derive(Debug, Clone)]
pub struct Resource {
    pub service_name: String,
    pub service_version: String,
    pub instance_id: String,
    /// `all`, `api` or `worker`.
    pub role: String,
}

/// The field of a root span that names the remote parent (a W3C `traceparent`
/// header); taken off the span's attributes.
pub const TRACEPARENT_FIELD: &str = "traceparent";

/// A W3C Trace Context `traceparent` header's trace id and parent span id, or `None`
/// when it is malformed: `{version}-{trace-id}-{parent-id}-{flags}` in lowercase
/// hex, version `ff` invalid, all-zero ids invalid; a future version may append
/// `-…` fields, version `00` may not.
pub fn parse_traceparent(header: &str) -> Option<([u8; 16], [u8; 8])> {
    fn lower_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
        if text.len() != 2 * N || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(out)
    }
    let header = header.trim();
    let version: [u8; 1] = lower_hex(header.get(0..2)?)?;
    if version[0] == 0xff || header.len() < 55 {
        return None;
    }
    if header.len() > 55 && (version[0] == 0 || header.as_bytes()[55] != b'-') {
        return None;
    }
    let fields = header.get(0..55)?;
    let mut parts = fields.split('-');
    let (_, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let trace_id: [u8; 16] = lower_hex(trace)?;
    let parent_id: [u8; 8] = lower_hex(parent)?;
    let _: [u8; 1] = lower_hex(flags)?;
    if parts.next().is_some() || trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some((trace_id, parent_id))
}

/// The collector's traces URL: `endpoint` as given when it ends in `/v1/traces`,
/// else with `/v1/traces` appended (like `OTEL_EXPORTER_OTLP_ENDPOINT`).
pub fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum AttrValue {
    Str(String),
    Int(i64),
    Double(f64),
    Bool(bool),
}

impl AttrValue {
    fn to_json(&self) -> Value {
        match self {
            AttrValue::Str(s) => json!({"stringValue": s}),
            // int64 travels as a string in OTLP's JSON (proto3's mapping).
            AttrValue::Int(i) => json!({"intValue": i.to_string()}),
            AttrValue::Double(d) => json!({"doubleValue": d}),
            AttrValue::Bool(b) => json!({"boolValue": b}),
        }
    }
}

/// A span being recorded (kept in the registry's extensions until it closes).
struct Recording {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_id: Option<[u8; 8]>,
    start: SystemTime,
    attributes: Vec<(&'static str, AttrValue)>,
}

struct Fields<'a>(&'a mut Vec<(&'static str, AttrValue)>);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: AttrValue) {
        let name = field.name();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, AttrValue::Str(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AttrValue::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = i64::try_from(value).map_or(AttrValue::Str(value.to_string()), AttrValue::Int);
        self.put(field, value);
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AttrValue::Double(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AttrValue::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, AttrValue::Str(format!("{value:?}")));
    }
}

/// A finished span, as the exporter sends it.
#[derive(Debug, Clone)]
struct FinishedSpan {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_id: Option<[u8; 8]>,
    name: &'static str,
    target: &'static str,
    start: SystemTime,
    end: SystemTime,
    attributes: Vec<(&'static str, AttrValue)>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

impl FinishedSpan {
    /// The span in OTLP's JSON. A request span (`request`, from the HTTP
    /// middleware) is a SERVER span named `{method} {route}` with the HTTP
    /// semantic conventions' attribute names, and an ERROR status on a 5xx.
    fn to_json(&self) -> Value {
        let is_request = self.name == "request" && self.target.starts_with("jobber::http");
        let attr = |key: &str| {
            self.attributes
                .iter()
                .find(|(n, _)| *n == key)
                .map(|(_, v)| v)
        };
        let mut name = self.name.to_string();
        let mut status = json!({});
        if is_request {
            if let (Some(AttrValue::Str(method)), Some(AttrValue::Str(route))) =
                (attr("method"), attr("route"))
            {
                name = format!("{method} {route}");
            }
            if let Some(AttrValue::Int(code)) = attr("status")
                && *code >= 500
            {
                status = json!({"code": 2});
            }
        }
        let attributes: Vec<Value> = self
            .attributes
            .iter()
            .map(|(key, value)| {
                let key = match (is_request, *key) {
                    (true, "method") => "http.request.method",
                    (true, "route") => "http.route",
                    (true, "status") => "http.response.status_code",
                    (_, key) => key,
                };
                json!({"key": key, "value": value.to_json()})
            })
            .chain([json!({"key": "code.namespace", "value": {"stringValue": self.target}})])
            .collect();
        let mut span = json!({
            "traceId": hex(&self.trace_id),
            "spanId": hex(&self.span_id),
            "name": name,
            // SPAN_KIND_SERVER for requests, SPAN_KIND_INTERNAL for the rest.
            "kind": if is_request { 2 } else { 1 },
            "startTimeUnixNano": unix_nanos(self.start),
            "endTimeUnixNano": unix_nanos(self.end),
            "attributes": attributes,
            "status": status,
        });
        if let Some(parent) = self.parent_id {
            span["parentSpanId"] = json!(hex(&parent));
        }
        span
    }
}

/// The body of one export request: the batch under one resource and scope.
fn export_body(resource: &Resource, spans: &[FinishedSpan]) -> Value {
    let string = |key: &str, value: &str| json!({"key": key, "value": {"stringValue": value}});
    json!({
        "resourceSpans": [{
            "resource": {"attributes": [
                string("service.name", &resource.service_name),
                string("service.version", &resource.service_version),
                string("service.instance.id", &resource.instance_id),
                string("jobber.role", &resource.role),
            ]},
            "scopeSpans": [{
                "scope": {"name": "jobber", "version": resource.service_version},
                "spans": spans.iter().map(FinishedSpan::to_json).collect::<Vec<_>>(),
            }],
        }],
    })
}

enum Message {
    Span(Box<FinishedSpan>),
    /// Send what is queued now, then answer.
    Flush(std::sync::mpsc::Sender<()>),
}

/// The `tracing` layer that hands finished spans to the exporter.
pub struct OtlpLayer {
    queue: SyncSender<Message>,
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if EXPORTING.with(std::cell::Cell::get) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let parent = span.parent().and_then(|parent| {
            parent
                .extensions()
                .get::<Recording>()
                .map(|p| (p.trace_id, p.span_id))
        });
        let mut attributes = Vec::new();
        attrs.record(&mut Fields(&mut attributes));
        // A root span may continue a caller's trace (`traceparent`); the header is
        // not an attribute of its own.
        let remote = attributes
            .iter()
            .position(|(name, _)| *name == TRACEPARENT_FIELD)
            .and_then(|at| match attributes.remove(at).1 {
                AttrValue::Str(header) => parse_traceparent(&header),
                _ => None,
            });
        let (trace_id, parent_id) = match (parent, remote) {
            (Some((trace_id, parent_id)), _) | (None, Some((trace_id, parent_id))) => {
                (trace_id, Some(parent_id))
            }
            (None, None) => (rand::random::<[u8; 16]>(), None),
        };
        let recording = Recording {
            trace_id,
            span_id: rand::random::<[u8; 8]>(),
            parent_id,
            start: SystemTime::now(),
            attributes,
        };
        span.extensions_mut().insert(recording);
    }

    fn on_record(&self, id: &span::Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(recording) = span.extensions_mut().get_mut::<Recording>()
        {
            values.record(&mut Fields(&mut recording.attributes));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(recording) = span.extensions_mut().remove::<Recording>() else {
            return;
        };
        let finished = FinishedSpan {
            trace_id: recording.trace_id,
            span_id: recording.span_id,
            parent_id: recording.parent_id,
            name: span.metadata().name(),
            target: span.metadata().target(),
            start: recording.start,
            end: SystemTime::now(),
            attributes: recording.attributes,
        };
        match self.queue.try_send(Message::Span(Box::new(finished))) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Keeps the exporter going; dropping it sends what is queued (waiting up to a few
/// seconds), as the process stops.
pub struct Guard {
    queue: SyncSender<Message>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let (done, wait) = std::sync::mpsc::channel();
        if self.queue.try_send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(5));
        }
    }
}

/// Where and how the spans go: the collector's endpoint (see [`traces_url`]) and
/// the headers of every export (`authorization`, …; secrets).
#[derive(Clone)]
pub struct Exporter {
    pub endpoint: String,
    pub headers: Vec<(String, secrecy::SecretString)>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The header values are credentials: their names only.
        f.debug_struct("Exporter")
            .field("endpoint", &self.endpoint)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Exporter {
    /// The headers as reqwest sends them, each value marked sensitive (kept out of
    /// `Debug` output).
    fn header_map(&self) -> anyhow::Result<reqwest::header::HeaderMap> {
        use secrecy::ExposeSecret;
        let mut map = reqwest::header::HeaderMap::new();
        for (name, value) in &self.headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| anyhow::anyhow!("{name:?} is not an HTTP header name"))?;
            let mut value = reqwest::header::HeaderValue::from_str(value.expose_secret())
                .map_err(|_| anyhow::anyhow!("the value of {name} is not a valid header value"))?;
            value.set_sensitive(true);
            map.append(name, value);
        }
        Ok(map)
    }
}

/// The layer and its exporter thread, posting to the exporter's endpoint.
pub fn layer(exporter: &Exporter, resource: Resource) -> anyhow::Result<(OtlpLayer, Guard)> {
    let (queue, spans) = std::sync::mpsc::sync_channel(QUEUE);
    let url = traces_url(&exporter.endpoint);
    let headers = exporter.header_map()?;
    std::thread::Builder::new()
        .name("otlp-export".into())
        .spawn(move || {
            EXPORTING.with(|e| e.set(true));
            export_loop(&url, &headers, &resource, &spans);
        })?;
    Ok((
        OtlpLayer {
            queue: queue.clone(),
        },
        Guard { queue },
    ))
}

fn export_loop(
    url: &str,
    headers: &reqwest::header::HeaderMap,
    resource: &Resource,
    spans: &Receiver<Message>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            tracing::error!(%error, "cannot start the OTLP exporter; traces are not exported");
            return;
        }
    };
    // Made at the first export: by then the process has chosen its TLS provider.
    let mut client: Option<reqwest::Client> = None;
    let mut batch: Vec<FinishedSpan> = Vec::new();
    let mut due = Instant::now() + FLUSH_EVERY;
    loop {
        let wait = due.saturating_duration_since(Instant::now());
        let flush = match spans.recv_timeout(wait) {
            Ok(Message::Span(span)) => {
                batch.push(*span);
                if batch.len() < MAX_BATCH {
                    continue;
                }
                None
            }
            Ok(Message::Flush(done)) => Some(done),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                send(&runtime, &mut client, url, headers, resource, &mut batch);
                return;
            }
        };
        send(&runtime, &mut client, url, headers, resource, &mut batch);
        due = Instant::now() + FLUSH_EVERY;
        if let Some(done) = flush {
            let _ = done.send(());
        }
    }
}

fn send(
    runtime: &tokio::runtime::Runtime,
    client: &mut Option<reqwest::Client>,
    url: &str,
    headers: &reqwest::header::HeaderMap,
    resource: &Resource,
    batch: &mut Vec<FinishedSpan>,
) {
    if batch.is_empty() {
        return;
    }
    let spans = std::mem::take(batch);
    let count = spans.len() as u64;
    let http = match client {
        Some(http) => http,
        None => match reqwest::Client::builder()
            .timeout(POST_TIMEOUT)
            .default_headers(headers.clone())
            .build()
        {
            Ok(http) => client.insert(http),
            Err(error) => {
                failed(count, &format!("cannot make the HTTP client: {error}"));
                return;
            }
        },
    };
    let body = export_body(resource, &spans);
    let outcome = runtime.block_on(async { http.post(url).json(&body).send().await });
    match outcome {
        Ok(response) if response.status().is_success() => {
            EXPORTED.fetch_add(count, Ordering::Relaxed);
        }
        Ok(response) => failed(
            count,
            &format!("the collector answered {}", response.status()),
        ),
        Err(error) => failed(count, &format!("cannot reach the collector: {error}")),
    }
}

/// A lost batch: counted, and logged on the first failure and every 100th after.
fn failed(spans: u64, reason: &str) {
    DROPPED.fetch_add(spans, Ordering::Relaxed);
    let failures = FAILED.fetch_add(1, Ordering::Relaxed);
    if failures.is_multiple_of(100) {
        tracing::warn!(
            reason,
            spans,
            failures = failures + 1,
            "cannot export traces over OTLP; these spans are dropped"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_links_children_to_their_parents_records_late_fields_and_never_blocks() {
        use tracing_subscriber::layer::SubscriberExt;
        let (queue, spans) = std::sync::mpsc::sync_channel(2);
        let subscriber = tracing_subscriber::registry().with(OtlpLayer { queue });
        let dropped_before = counters().1;
        tracing::subscriber::with_default(subscriber, || {
            let outer =
                tracing::info_span!("outer", request_id = "r-9", status = tracing::field::Empty);
            outer.in_scope(|| {
                tracing::info_span!("inner", n = 3_u64).in_scope(|| {});
            });
            outer.record("status", 200_u64);
            drop(outer);
            // The queue holds two: a third span is dropped, not waited for.
            tracing::info_span!("third").in_scope(|| {});
        });
        let finished: Vec<FinishedSpan> = spans
            .try_iter()
            .map(|m| match m {
                Message::Span(span) => *span,
                Message::Flush(_) => panic!("no flush was asked for"),
            })
            .collect();
        assert_eq!(finished.len(), 2);
        let (inner, outer) = (&finished[0], &finished[1]);
        assert_eq!((inner.name, outer.name), ("inner", "outer"));
        assert_eq!(inner.trace_id, outer.trace_id);
        assert_eq!(inner.parent_id, Some(outer.span_id));
        assert_eq!(outer.parent_id, None);
        assert!(outer.end >= inner.end && outer.start <= inner.start);
        assert_eq!(inner.attributes, vec![("n", AttrValue::Int(3))]);
        assert_eq!(
            outer.attributes,
            vec![
                ("request_id", AttrValue::Str("r-9".into())),
                ("status", AttrValue::Int(200))
            ]
        );
        assert!(
            counters().1 > dropped_before,
            "the third span was counted as dropped"
        );
    }

    #[test]
    fn a_root_span_with_a_traceparent_continues_the_callers_trace() {
        use tracing_subscriber::layer::SubscriberExt;
        let (queue, spans) = std::sync::mpsc::sync_channel(8);
        let subscriber = tracing_subscriber::registry().with(OtlpLayer { queue });
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info_span!("request", request_id = "r-1", traceparent = %header)
                .in_scope(|| tracing::info_span!("inner").in_scope(|| {}));
            // Malformed: a trace of its own.
            tracing::info_span!("request", traceparent = %"00-zz-00f067aa0ba902b7-01")
                .in_scope(|| {});
        });
        let finished: Vec<FinishedSpan> = spans
            .try_iter()
            .map(|m| match m {
                Message::Span(span) => *span,
                Message::Flush(_) => panic!("no flush was asked for"),
            })
            .collect();
        let (inner, outer, other) = (&finished[0], &finished[1], &finished[2]);
        assert_eq!(hex(&outer.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            outer.parent_id.map(|p| hex(&p)).as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert_eq!(inner.trace_id, outer.trace_id);
        assert_eq!(inner.parent_id, Some(outer.span_id));
        assert_eq!(
            outer.attributes,
            vec![("request_id", AttrValue::Str("r-1".into()))],
            "the header is not an attribute"
        );
        assert_eq!(other.parent_id, None);
        assert_ne!(other.trace_id, outer.trace_id);
        assert!(other.attributes.is_empty());
    }

    #[test]
    fn traceparent_headers_are_parsed_as_w3c_trace_context_says() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let (trace, parent) = parse_traceparent(ok).unwrap();
        assert_eq!(hex(&trace), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(hex(&parent), "00f067aa0ba902b7");
        assert!(parse_traceparent(&format!(" {ok} ")).is_some());
        // A later version may carry more fields after a dash; version 00 may not.
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x")
                .is_some()
        );
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00x",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-é",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn export_headers_are_sensitive_and_their_values_stay_out_of_debug_output() {
        let exporter = Exporter {
            endpoint: "http://collector:4318".into(),
            headers: vec![
                ("authorization".into(), "Bearer s3cret".into()),
                ("x-scope-orgid".into(), "tenant-1".into()),
            ],
        };
        let map = exporter.header_map().unwrap();
        assert_eq!(map["authorization"], "Bearer s3cret");
        assert!(map["authorization"].is_sensitive());
        assert!(!format!("{map:?}").contains("s3cret"));
        let shown = format!("{exporter:?}");
        assert!(
            shown.contains("authorization") && !shown.contains("s3cret"),
            "{shown}"
        );
        let bad = Exporter {
            endpoint: exporter.endpoint.clone(),
            headers: vec![("bad header".into(), "x".into())],
        };
        assert!(bad.header_map().is_err());
    }

    #[test]
    fn the_traces_url_is_the_endpoint_with_the_signal_path() {
        assert_eq!(
            traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otlp.example/v1/traces"),
            "https://otlp.example/v1/traces"
        );
    }

    #[test]
    fn a_request_span_is_an_otlp_server_span_with_http_attributes() {
        let start = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let span = FinishedSpan {
            trace_id: [0xab; 16],
            span_id: [0x01; 8],
            parent_id: None,
            name: "request",
            target: "jobber::http::middleware",
            start,
            end: start + Duration::from_millis(5),
            attributes: vec![
                ("request_id", AttrValue::Str("r-1".into())),
                ("method", AttrValue::Str("GET".into())),
                ("route", AttrValue::Str("/api/v1/clients/{id}".into())),
                ("status", AttrValue::Int(503)),
            ],
        };
        let child = FinishedSpan {
            span_id: [0x02; 8],
            parent_id: Some([0x01; 8]),
            name: "get",
            target: "jobber::modules::clients::service",
            attributes: vec![("ready", AttrValue::Bool(true))],
            ..span.clone()
        };
        let resource = Resource {
            service_name: "jobber".into(),
            service_version: "1.2.3".into(),
            instance_id: "i-1".into(),
            role: "api".into(),
        };
        let body = export_body(&resource, &[span, child]);
        let resource_attrs = &body["resourceSpans"][0]["resource"]["attributes"];
        assert_eq!(resource_attrs[0]["key"], "service.name");
        assert_eq!(resource_attrs[0]["value"]["stringValue"], "jobber");
        let spans = &body["resourceSpans"][0]["scopeSpans"][0]["spans"];
        let request = &spans[0];
        assert_eq!(request["traceId"], "ab".repeat(16));
        assert_eq!(request["spanId"], "0101010101010101");
        assert!(request.get("parentSpanId").is_none());
        assert_eq!(request["name"], "GET /api/v1/clients/{id}");
        assert_eq!(request["kind"], 2);
        assert_eq!(request["startTimeUnixNano"], "1700000000123000000");
        assert_eq!(request["endTimeUnixNano"], "1700000000128000000");
        assert_eq!(request["status"]["code"], 2, "a 5xx is an error");
        let attrs: Vec<(&str, &Value)> = request["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["key"].as_str().unwrap(), &a["value"]))
            .collect();
        assert!(attrs.contains(&("request_id", &json!({"stringValue": "r-1"}))));
        assert!(attrs.contains(&("http.request.method", &json!({"stringValue": "GET"}))));
        assert!(attrs.contains(&(
            "http.route",
            &json!({"stringValue": "/api/v1/clients/{id}"})
        )));
        assert!(attrs.contains(&("http.response.status_code", &json!({"intValue": "503"}))));
        let inner = &spans[1];
        assert_eq!(inner["parentSpanId"], "0101010101010101");
        assert_eq!(inner["traceId"], request["traceId"]);
        assert_eq!(inner["name"], "get");
        assert_eq!(inner["kind"], 1);
        assert_eq!(inner["status"], json!({}));
        assert_eq!(inner["attributes"][0]["value"], json!({"boolValue": true}));
    }
}
