//! The error half of the OpenAPI contract, declared in one place.
//!
//! Every error is an RFC 9457 `application/problem+json` body ([`Problem`](super::error::Problem)),
//! and a generated client trusts the content type the document names, so each 4xx/5xx
//! response is declared with that media type and the `Problem` schema. Handlers declare
//! the errors of their own rules (`404 client_not_found`, `409 invalid_transition`, `403`
//! for a role); the errors that come from the shared machinery are added here, from what
//! the operation is, so no annotation can forget them:
//!
//! - authenticated (no `security(())`): 401 (`unauthenticated`, `invalid_token`) and
//!   403 `csrf_failed` (the session cookie's CSRF and origin checks);
//! - a typed path or query parameter: 400 `invalid_parameter` (the extractors);
//! - a JSON body: 400 `malformed_json`, 415, 422 (the `Json` extractor), 413 (the body limit);
//! - a multipart body: 413, 415, 422;
//! - `If-Match` read (the operation declares 412): 400 for a malformed one;
//! - an authenticated POST: `Idempotency-Key` (400 malformed, 409 in progress,
//!   422 reused, 413 while buffering the body);
//! - every operation the rate limits cover (all of `/api/v1` but the signed webhooks,
//!   `http::ratelimit`) and the throttled ones ([`THROTTLED`]): 429 with
//!   `Retry-After` (the `RateLimit-*` headers are described, not declared: they are
//!   absent while the limits are off, and a declared header is one always sent);
//! - every operation: 500 `internal`, 503 `unavailable`.
//!
//! It works on the JSON form of the document, which is what is served.

use serde_json::{Map, Value, json};

/// Operations that answer 429 (with `Retry-After`): the login throttle, the limit on
/// `409 email_taken` answers, and the live hub's connection limits.
pub const THROTTLED: &[(&str, &str)] = &[
    ("get", "/api/v1/ws"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/session"),
    ("post", "/api/v1/auth/totp/disable"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/signup"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{id}"),
];

/// Operations whose body is read raw and authenticated by a signature (webhooks): they
/// answer their own errors, not the `Json` extractor's, and are not rate limited.
const RAW_BODY_PREFIX: &str = "/api/v1/webhooks/";

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

const PROBLEM_REF: &str = "#/components/schemas/Problem";

/// Declare the shared errors of every operation and make every error response
/// `application/problem+json` with the `Problem` schema.
pub fn declare_errors(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for method in METHODS {
            if let Some(operation) = item.get_mut(method).and_then(Value::as_object_mut) {
                declare_operation(path, method, operation);
            }
        }
    }
}

fn declare_operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    let public = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| {
            reqs.iter()
                .all(|r| r.as_object().is_some_and(Map::is_empty))
        });
    let params: Vec<Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // A parameter that is any string cannot fail to parse; a number, a date, a UUID or
    // an enum can.
    let plain_string = |schema: &Value| {
        *schema == json!({"type": "string"}) || *schema == json!({"type": ["string", "null"]})
    };
    let typed = |location: &str| {
        params
            .iter()
            .any(|p| p["in"] == location && p.get("schema").is_some_and(|s| !plain_string(s)))
    };
    let body_types: Vec<String> = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let raw_body = path.starts_with(RAW_BODY_PREFIX);
    let json_body = !raw_body && body_types.iter().any(|t| t == "application/json");
    let multipart = body_types.iter().any(|t| t == "multipart/form-data");
    let idempotent = method == "post" && !public;
    let declared_412 = op.get("responses").is_some_and(|r| r.get("412").is_some());

    let mut add: Vec<(&str, &str)> = Vec::new();
    if !public {
        add.push((
            "401",
            "`unauthenticated`: no access token; `invalid_token`: it is invalid or expired",
        ));
    }
    if !public {
        add.push((
            "403",
            "`csrf_failed`: authenticated by the session cookie without the session's `X-CSRF-Token` (POST, PUT, PATCH, DELETE), or sent from another site",
        ));
    }
    if typed("path") || typed("query") {
        add.push((
            "400",
            "`invalid_parameter`: a path or query parameter is malformed",
        ));
    }
    if declared_412 {
        add.push(("400", "`invalid_parameter`: `If-Match` is not a version"));
    }
    if json_body {
        add.push(("400", "`malformed_json`: the body is not JSON"));
        add.push((
            "415",
            "`unsupported_media_type`: the body must be `application/json`",
        ));
        add.push((
            "422",
            "`validation_failed`: fields are invalid (`errors` names them)",
        ));
    }
    if multipart {
        add.push((
            "415",
            "`unsupported_media_type`: not a multipart body or not a file type taken here",
        ));
        add.push(("422", "`validation_failed`: a part is missing or invalid"));
    }
    if !body_types.is_empty() {
        add.push(("413", "`payload_too_large`: the body is over the limit"));
    }
    if idempotent {
        add.push((
            "400",
            "`invalid_parameter`: `Idempotency-Key` must be 1 to 255 visible ASCII characters",
        ));
        add.push(("409", "`idempotency_request_in_progress`: the first request with this `Idempotency-Key` is still running"));
        add.push(("413", "`payload_too_large`: the body is over the limit"));
        add.push((
            "422",
            "`idempotency_key_reused`: this `Idempotency-Key` was used for a different request",
        ));
        declare_idempotency_key(op);
    }
    if !path.starts_with(RAW_BODY_PREFIX) {
        add.push((
            "429",
            "`rate_limited`: over the rate limit of this kind of request; retry after `Retry-After` seconds (while request limits are on, every answer carries `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`: docs/api.md)",
        ));
    }
    if THROTTLED.contains(&(method, path)) {
        add.push((
            "429",
            "`rate_limited`: too many attempts; retry after `Retry-After` seconds",
        ));
    }
    add.push(("500", "`internal`: the cause is logged with the request id"));
    add.push((
        "503",
        "`unavailable`: the service or its database is not available; retry later",
    ));

    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    for (status, reason) in add {
        let response = responses
            .entry(status)
            .or_insert_with(|| json!({"description": ""}));
        if let Some(description) = response
            .as_object_mut()
            .and_then(|r| r.get_mut("description"))
        {
            let text = description.as_str().unwrap_or_default();
            if !text.contains(reason) {
                let joined = if text.is_empty() {
                    reason.to_string()
                } else {
                    format!("{text}; {reason}")
                };
                *description = Value::String(joined);
            }
        }
    }
    for (status, response) in responses.iter_mut() {
        let Some(response) = response.as_object_mut() else {
            continue;
        };
        match status.as_bytes().first() {
            Some(b'4' | b'5') => as_problem(status, response, public),
            Some(b'3') => {
                header(
                    response,
                    "Location",
                    "Where to go",
                    json!({"type": "string"}),
                );
            }
            _ => {}
        }
        // `body = T` alone leaves the description empty; OpenAPI wants one.
        if response
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            response.insert("description".into(), json!(default_description(status)));
        }
    }
}

/// Problem content for an error response declared as `Problem` (or with no body).
fn as_problem(status: &str, response: &mut Map<String, Value>, public: bool) {
    let content = response.entry("content").or_insert_with(|| json!({}));
    let is_problem = |c: &Value| c["schema"]["$ref"] == PROBLEM_REF;
    let declared_problem = content
        .as_object()
        .is_some_and(|c| c.is_empty() || c.values().all(is_problem));
    if declared_problem {
        *content = json!({"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}});
    }
    if response
        .get("description")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        response.insert("description".into(), json!(default_description(status)));
    }
    match status {
        // A public operation's 401 is about its own credentials, not a bearer token.
        "401" if !public => header(
            response,
            "WWW-Authenticate",
            "`Bearer` when the access token is missing or invalid",
            json!({"type": "string"}),
        ),
        "429" => header(
            response,
            "Retry-After",
            "Seconds to wait before trying again",
            json!({"type": "integer", "minimum": 1}),
        ),
        _ => {}
    }
}

fn header(response: &mut Map<String, Value>, name: &str, description: &str, schema: Value) {
    if let Some(headers) = response
        .entry("headers")
        .or_insert_with(|| json!({}))
        .as_object_mut()
    {
        headers
            .entry(name)
            .or_insert_with(|| json!({"description": description, "schema": schema}));
    }
}

fn declare_idempotency_key(op: &mut Map<String, Value>) {
    let Some(params) = op
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
    else {
        return;
    };
    let declared = params.iter().any(|p| {
        p["in"] == "header"
            && p["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("Idempotency-Key"))
    });
    if !declared {
        params.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "Retry-safe key (Stripe's semantics): a retry with the same key and request gets the stored response",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}
        }));
    }
}

fn default_description(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "202" => "Accepted: the work continues in the background",
        "204" => "Done; no body",
        "302" | "303" | "307" => "A redirect to `Location`",
        "400" => "Bad request",
        "401" => "Not authenticated",
        "403" => "`forbidden`: your role may not do this",
        "404" => "Not found",
        "409" => "Conflict with the record's state",
        "410" => "Gone: the link or upload has expired",
        "412" => "`precondition_failed`: `If-Match` does not match the current version",
        "413" => "`payload_too_large`: the body is over the limit",
        "415" => "`unsupported_media_type`",
        "422" => "`validation_failed`: fields are invalid (`errors` names them)",
        "429" => "`rate_limited`",
        "502" => "`payment_provider_error`: the payment provider refused or failed",
        _ => "Error",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Whether an operation may answer 429: the rate limits cover it, or it is throttled.
    fn answers_429(method: &str, path: &str) -> bool {
        !path.starts_with(RAW_BODY_PREFIX) || THROTTLED.contains(&(method, path))
    }

    /// Every `$ref` in `value` (recursively).
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
        doc.pointer(reference.strip_prefix('#')?)
    }

    /// What is wrong with the error half of a whole document: an operation without a
    /// 4xx, 500 or 503, an authenticated one without 401, an error response that is
    /// not problem+json with `Problem`, a 429 where there are no limits (or the
    /// reverse), an unresolved `$ref`. The document is the application's, so the test
    /// that reads it lives with the routes (`app.rs`).
    pub(crate) fn faults(doc: &Value) -> Vec<String> {
        let Some(paths) = doc["paths"].as_object().filter(|p| p.len() > 50) else {
            return vec!["the document does not list the API (more than 50 paths)".to_owned()];
        };
        let mut faults = Vec::new();
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let at = format!("{} {path}", method.to_uppercase());
                let responses = op["responses"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{at}: no responses"));
                if !responses.keys().any(|s| s.starts_with('4')) {
                    faults.push(format!("{at}: declares no 4xx"));
                }
                for status in ["500", "503"] {
                    if !responses.contains_key(status) {
                        faults.push(format!("{at}: does not declare {status}"));
                    }
                }
                let public = op["security"] == json!([{}]);
                if !public && !responses.contains_key("401") {
                    faults.push(format!("{at}: authenticated but declares no 401"));
                }
                for (status, response) in responses {
                    if response["description"].as_str().is_none_or(str::is_empty) {
                        faults.push(format!("{at} {status}: no description"));
                    }
                    if !status.starts_with('4') && !status.starts_with('5') {
                        continue;
                    }
                    let content = &response["content"];
                    let ok = content.as_object().is_some_and(|c| c.len() == 1)
                        && content["application/problem+json"]["schema"]["$ref"] == PROBLEM_REF;
                    if !ok {
                        faults.push(format!(
                            "{at} {status}: not application/problem+json with Problem: {content}"
                        ));
                    }
                }
                if responses.contains_key("429") != answers_429(method, path) {
                    faults.push(format!(
                        "{at}: 429 declared but not throttled, or the reverse"
                    ));
                }
            }
        }
        let mut all = Vec::new();
        refs(doc, &mut all);
        for reference in all {
            if resolve(doc, reference).is_none() {
                faults.push(format!("unresolved $ref {reference}"));
            }
        }
        faults
    }

    #[test]
    fn shared_errors_follow_the_operation() {
        let mut doc = json!({"paths": {
            "/api/v1/things/{id}": {"post": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": "string", "format": "uuid"}}],
                "requestBody": {"content": {"application/json": {}}},
                "responses": {"200": {"description": "ok"}, "404": {"description": "", "content": {"application/json": {"schema": {"$ref": PROBLEM_REF}}}}}
            }},
            "/api/v1/auth/login": {"post": {"security": [{}], "responses": {"200": {"description": "ok"}}}},
            "/api/v1/search": {"get": {
                "parameters": [{"name": "q", "in": "query", "schema": {"type": ["string", "null"]}}],
                "responses": {"200": {"description": "ok"}}
            }},
        }});
        declare_errors(&mut doc);
        let post = &doc["paths"]["/api/v1/things/{id}"]["post"]["responses"];
        for status in [
            "400", "401", "404", "409", "413", "415", "422", "500", "503",
        ] {
            assert_eq!(
                post[status]["content"]["application/problem+json"]["schema"]["$ref"], PROBLEM_REF,
                "{status}"
            );
        }
        assert!(post["429"]["headers"]["Retry-After"].is_object());
        assert!(post["404"]["content"].get("application/json").is_none());
        let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
        assert!(login.get("401").is_none(), "login is public");
        assert!(login["429"]["headers"]["Retry-After"].is_object());
        let search = &doc["paths"]["/api/v1/search"]["get"]["responses"];
        assert!(search.get("400").is_none(), "any string parses");
        assert!(search["401"]["headers"]["WWW-Authenticate"].is_object());
    }
}
