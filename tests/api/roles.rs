//! The role matrix: every endpoint with every role (and without a login). Ids are
//! random, so an allowed role gets past authorization and then a 404 or 422 from the
//! handler, while a refused role gets 403 before anything is looked up.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    /// Owner, admin, dispatcher.
    Staff,
    /// Owner, admin.
    Admin,
    /// Any signed-in user (technicians limited to their own visits by the handler).
    Anyone,
}

#[tokio::test]
async fn every_endpoint_enforces_its_roles() {
    let app = spawn_app().await;
    let owner = app.signup("Matrix Co").await;
    let mut sessions = [
        ("owner", owner.clone()),
        ("admin", app.add_user(&owner, "admin").await),
        ("dispatcher", app.add_user(&owner, "dispatcher").await),
        ("technician", app.add_user(&owner, "technician").await),
    ];
    let id = Uuid::now_v7();
    let other = Uuid::now_v7();
    let endpoints: Vec<(Method, String, Who)> = vec![
        (Method::GET, "/api/v1/auth/me".into(), Who::Anyone),
        (Method::GET, "/api/v1/auth/sessions".into(), Who::Anyone),
        (
            Method::DELETE,
            format!("/api/v1/auth/sessions/{id}"),
            Who::Anyone,
        ),
        (
            Method::POST,
            "/api/v1/auth/sessions/revoke-all".into(),
            Who::Anyone,
        ),
        (Method::GET, "/api/v1/auth/totp".into(), Who::Anyone),
        (Method::POST, "/api/v1/auth/totp/setup".into(), Who::Anyone),
        (Method::POST, "/api/v1/auth/totp/enable".into(), Who::Anyone),
        (
            Method::POST,
            "/api/v1/auth/totp/disable".into(),
            Who::Anyone,
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{id}/totp"),
            Who::Admin,
        ),
        (Method::GET, "/api/v1/notifications".into(), Who::Anyone),
        (
            Method::GET,
            "/api/v1/me/notification-settings".into(),
            Who::Anyone,
        ),
        (
            Method::PUT,
            "/api/v1/me/notification-settings".into(),
            Who::Anyone,
        ),
        // Without an upgrade the hub answers 426 to whoever may open it.
        (Method::GET, "/api/v1/ws".into(), Who::Anyone),
        (Method::POST, "/api/v1/ws/tickets".into(), Who::Anyone),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/messages"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/jobs/{id}/attachments"),
            Who::Anyone,
        ),
        (
            Method::DELETE,
            format!("/api/v1/jobs/{id}/attachments/{id}"),
            Who::Anyone,
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{id}/attachments"),
            Who::Anyone,
        ),
        (Method::POST, "/api/v1/uploads".into(), Who::Anyone),
        (
            Method::GET,
            "/api/v1/notifications/unread-count".into(),
            Who::Anyone,
        ),
        (
            Method::POST,
            "/api/v1/notifications/read-all".into(),
            Who::Anyone,
        ),
        (
            Method::POST,
            format!("/api/v1/notifications/{id}/read"),
            Who::Anyone,
        ),
        (Method::GET, "/api/v1/users".into(), Who::Staff),
        (Method::POST, "/api/v1/users".into(), Who::Admin),
        (Method::GET, format!("/api/v1/users/{id}"), Who::Staff),
        (Method::PATCH, format!("/api/v1/users/{id}"), Who::Admin),
        (
            Method::POST,
            format!("/api/v1/users/{id}/invitation"),
            Who::Admin,
        ),
        (Method::GET, "/api/v1/settings".into(), Who::Staff),
        (Method::PATCH, "/api/v1/settings".into(), Who::Admin),
        (Method::GET, "/api/v1/settings/logo".into(), Who::Staff),
        (Method::PUT, "/api/v1/settings/logo".into(), Who::Admin),
        (Method::DELETE, "/api/v1/settings/logo".into(), Who::Admin),
        (Method::GET, "/api/v1/settings/messaging".into(), Who::Admin),
        (
            Method::POST,
            "/api/v1/settings/email/test".into(),
            Who::Admin,
        ),
        (Method::POST, "/api/v1/settings/sms/test".into(), Who::Admin),
        (Method::GET, "/api/v1/search?q=x".into(), Who::Staff),
        (Method::GET, "/api/v1/settings/tax-rates".into(), Who::Staff),
        (
            Method::POST,
            "/api/v1/settings/tax-rates".into(),
            Who::Admin,
        ),
        (
            Method::PUT,
            format!("/api/v1/settings/tax-rates/{id}"),
            Who::Admin,
        ),
        (
            Method::DELETE,
            format!("/api/v1/settings/tax-rates/{id}"),
            Who::Admin,
        ),
        (Method::GET, "/api/v1/requests".into(), Who::Staff),
        (Method::GET, format!("/api/v1/requests/{id}"), Who::Staff),
        (
            Method::POST,
            format!("/api/v1/requests/{id}/convert"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/requests/{id}/archive"),
            Who::Staff,
        ),
        (
            Method::GET,
            "/api/v1/settings/request-form".into(),
            Who::Staff,
        ),
        (
            Method::PUT,
            "/api/v1/settings/request-form".into(),
            Who::Admin,
        ),
        (Method::GET, "/api/v1/catalog".into(), Who::Staff),
        (Method::POST, "/api/v1/catalog".into(), Who::Staff),
        (Method::GET, format!("/api/v1/catalog/{id}"), Who::Staff),
        (Method::PUT, format!("/api/v1/catalog/{id}"), Who::Staff),
        (Method::DELETE, format!("/api/v1/catalog/{id}"), Who::Staff),
        (Method::GET, "/api/v1/clients".into(), Who::Staff),
        (Method::POST, "/api/v1/clients".into(), Who::Staff),
        (Method::GET, format!("/api/v1/clients/{id}"), Who::Staff),
        (Method::PUT, format!("/api/v1/clients/{id}"), Who::Staff),
        (Method::DELETE, format!("/api/v1/clients/{id}"), Who::Staff),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/avatar"),
            Who::Staff,
        ),
        (
            Method::PUT,
            format!("/api/v1/clients/{id}/avatar"),
            Who::Staff,
        ),
        (
            Method::DELETE,
            format!("/api/v1/clients/{id}/avatar"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/activity"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/clients/{id}/hub-link"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/quotes/{id}/signature"),
            Who::Staff,
        ),
        (
            Method::GET,
            "/api/v1/settings/working-hours".into(),
            Who::Staff,
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{id}/working-hours"),
            Who::Admin,
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/jobs"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/invoices"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/payments"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/properties"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/clients/{id}/properties"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/clients/{id}/properties/{other}"),
            Who::Staff,
        ),
        (
            Method::PUT,
            format!("/api/v1/clients/{id}/properties/{other}"),
            Who::Staff,
        ),
        (
            Method::DELETE,
            format!("/api/v1/clients/{id}/properties/{other}"),
            Who::Staff,
        ),
        (Method::GET, "/api/v1/quotes".into(), Who::Staff),
        (Method::POST, "/api/v1/quotes".into(), Who::Staff),
        (Method::POST, "/api/v1/quotes/preview".into(), Who::Staff),
        (Method::GET, format!("/api/v1/quotes/{id}"), Who::Staff),
        (Method::GET, format!("/api/v1/quotes/{id}/pdf"), Who::Staff),
        (Method::PUT, format!("/api/v1/quotes/{id}"), Who::Staff),
        (
            Method::POST,
            format!("/api/v1/quotes/{id}/send"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/quotes/{id}/approve"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/quotes/{id}/decline"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/quotes/{id}/request-changes"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/quotes/{id}/archive"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/quotes/{id}/convert"),
            Who::Staff,
        ),
        (Method::GET, "/api/v1/jobs".into(), Who::Staff),
        (Method::POST, "/api/v1/jobs".into(), Who::Staff),
        (
            Method::POST,
            "/api/v1/jobs/recurrence/preview".into(),
            Who::Staff,
        ),
        (Method::GET, format!("/api/v1/jobs/{id}"), Who::Staff),
        (Method::PUT, format!("/api/v1/jobs/{id}"), Who::Staff),
        (Method::GET, format!("/api/v1/jobs/{id}/notes"), Who::Staff),
        (Method::POST, format!("/api/v1/jobs/{id}/notes"), Who::Staff),
        (
            Method::PUT,
            format!("/api/v1/jobs/{id}/notes/{other}"),
            Who::Staff,
        ),
        (
            Method::DELETE,
            format!("/api/v1/jobs/{id}/notes/{other}"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{id}/complete"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/jobs/{id}/cancel"),
            Who::Staff,
        ),
        (Method::GET, format!("/api/v1/visits/{id}"), Who::Anyone),
        (Method::PATCH, format!("/api/v1/visits/{id}"), Who::Anyone),
        (
            Method::PATCH,
            format!("/api/v1/visits/{id}/checklist/{other}"),
            Who::Anyone,
        ),
        (
            Method::POST,
            format!("/api/v1/visits/{id}/clock-in"),
            Who::Anyone,
        ),
        (
            Method::POST,
            format!("/api/v1/visits/{id}/clock-out"),
            Who::Anyone,
        ),
        (
            Method::POST,
            format!("/api/v1/visits/{id}/complete"),
            Who::Anyone,
        ),
        (
            Method::POST,
            format!("/api/v1/visits/{id}/on-my-way"),
            Who::Anyone,
        ),
        (
            Method::GET,
            "/api/v1/schedule?from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z".into(),
            Who::Anyone,
        ),
        (
            Method::GET,
            "/api/v1/me/visits?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z".into(),
            Who::Anyone,
        ),
        (Method::POST, "/api/v1/schedule/jobs".into(), Who::Staff),
        (
            Method::PUT,
            format!("/api/v1/schedule/jobs/{id}"),
            Who::Staff,
        ),
        (Method::GET, "/api/v1/invoices".into(), Who::Staff),
        (Method::POST, "/api/v1/invoices".into(), Who::Staff),
        (Method::POST, "/api/v1/invoices/preview".into(), Who::Staff),
        (Method::GET, format!("/api/v1/invoices/{id}"), Who::Staff),
        (
            Method::GET,
            format!("/api/v1/invoices/{id}/pdf"),
            Who::Staff,
        ),
        (Method::DELETE, format!("/api/v1/invoices/{id}"), Who::Staff),
        (
            Method::POST,
            format!("/api/v1/invoices/{id}/send"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/invoices/{id}/payments"),
            Who::Staff,
        ),
        (
            Method::GET,
            format!("/api/v1/invoices/{id}/payments"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/invoices/{id}/void"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/invoices/{id}/bad-debt"),
            Who::Staff,
        ),
        (Method::POST, "/api/v1/payments".into(), Who::Staff),
        (Method::GET, format!("/api/v1/payments/{id}"), Who::Staff),
        (
            Method::POST,
            format!("/api/v1/payments/{id}/cancel"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/payments/{id}/receipt"),
            Who::Staff,
        ),
        (
            Method::POST,
            format!("/api/v1/payments/{id}/refund"),
            Who::Admin,
        ),
        (
            Method::GET,
            "/api/v1/settings/payments/stripe".into(),
            Who::Admin,
        ),
        (
            Method::PUT,
            "/api/v1/settings/payments/stripe".into(),
            Who::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/settings/payments/stripe".into(),
            Who::Admin,
        ),
        (Method::GET, "/api/v1/reports/dashboard".into(), Who::Staff),
        (
            Method::GET,
            "/api/v1/integrations/quickbooks".into(),
            Who::Admin,
        ),
        (
            Method::DELETE,
            "/api/v1/integrations/quickbooks".into(),
            Who::Admin,
        ),
        (
            Method::POST,
            "/api/v1/integrations/quickbooks/connect".into(),
            Who::Admin,
        ),
        (
            Method::GET,
            "/api/v1/integrations/quickbooks/records".into(),
            Who::Admin,
        ),
        (
            Method::POST,
            format!("/api/v1/integrations/quickbooks/records/{id}/retry"),
            Who::Admin,
        ),
        (Method::GET, "/api/v1/admin/jobs".into(), Who::Admin),
        (
            Method::POST,
            format!("/api/v1/admin/jobs/{id}/retry"),
            Who::Admin,
        ),
        (
            Method::GET,
            "/api/v1/reports/revenue?from=2026-01-01&to=2026-01-31".into(),
            Who::Staff,
        ),
        (
            Method::GET,
            "/api/v1/reports/jobs?from=2026-01-01&to=2026-01-31".into(),
            Who::Staff,
        ),
        (Method::GET, "/api/v1/reports/aging".into(), Who::Staff),
        (Method::GET, "/api/v1/reports/exports".into(), Who::Staff),
        (Method::POST, "/api/v1/reports/exports".into(), Who::Staff),
        (
            Method::GET,
            format!("/api/v1/reports/exports/{id}"),
            Who::Staff,
        ),
    ];

    // Every route of the OpenAPI document is in the matrix (a new one must be added).
    let spec: serde_json::Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/invitations/accept",
        // Browser sign-in and sign-out (tests/api/sessions.rs); its GET needs the
        // session cookie, not a bearer token (see below).
        "/api/v1/auth/session",
        // Authenticated by its Stripe-Signature (tests/api/payments.rs).
        "/api/v1/webhooks/stripe",
        // Authenticated by its sealed OAuth state (tests/api/quickbooks.rs).
        "/api/v1/integrations/quickbooks/callback",
        // Authenticated by X-Twilio-Signature (tests/api/sms.rs).
        "/api/v1/webhooks/twilio/status",
        "/api/v1/webhooks/twilio/inbound",
    ];
    let mut missing = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let covered = public.contains(&path.as_str())
                || path.contains("calendar-feed")
                // Authorized by a signed link, not a role (quotes.rs tests them).
                || path.starts_with("/api/v1/hub/")
                // The public request form and booking, no login (requests.rs).
                || path.starts_with("/api/v1/public/")
                || endpoints.iter().any(|(m, p, _)| {
                    m.as_str().eq_ignore_ascii_case(method)
                        && template_matches(path, p.split('?').next().unwrap_or_default())
                });
            if !covered {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "endpoints missing from the role matrix: {missing:?}"
    );
    // The document says which operations need no bearer token (`security: [{}]`):
    // exactly the public ones above and the hub's signed links.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let cookie_only = path == "/api/v1/auth/session" && method == "get";
            let public_here = (public.contains(&path.as_str()) && !cookie_only)
                || path.starts_with("/api/v1/hub/")
                || path.starts_with("/api/v1/public/");
            assert_eq!(
                op["security"] == json!([{}]),
                public_here,
                "{method} {path}: the document's security does not say whether it is public"
            );
        }
    }

    for (method, path, who) in &endpoints {
        let body = (*method != Method::GET && *method != Method::DELETE).then(|| json!({}));
        let anonymous = app
            .request(method.clone(), path, None, body.clone(), &[])
            .await;
        assert_eq!(
            anonymous.status, 401,
            "{method} {path} without a login: {}",
            anonymous.text
        );
        for (role, session) in &mut sessions {
            let allowed = match who {
                Who::Anyone => true,
                Who::Staff => *role != "technician",
                Who::Admin => *role == "owner" || *role == "admin",
            };
            let reply = app
                .request(
                    method.clone(),
                    path,
                    Some(&session.token),
                    body.clone(),
                    &[],
                )
                .await;
            // Logging out everywhere ended this user's logins and their access
            // tokens: sign in again for the endpoints that follow.
            if path.ends_with("/auth/sessions/revoke-all") {
                session.token = app
                    .post_anon(
                        "/api/v1/auth/login",
                        json!({"email": session.email, "password": crate::helpers::PASSWORD}),
                    )
                    .await
                    .expect(200)
                    .body["access_token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
            if allowed {
                assert!(
                    reply.status != 403 && reply.status != 401,
                    "{role} must reach {method} {path}: {} {}",
                    reply.status,
                    reply.text
                );
            } else {
                assert_eq!(
                    reply.status, 403,
                    "{role} must not reach {method} {path}: {}",
                    reply.text
                );
                assert_eq!(reply.code(), "forbidden");
            }
        }
    }
}

/// `/api/v1/clients/{id}` matches `/api/v1/clients/0193…`.
fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| a == b || (a.starts_with('{') && a.ends_with('}')))
}
