//! Browser sessions (cookie + CSRF), the list of sign-ins and their revocation, and
//! TOTP two-factor sign-in with codes computed here (RFC 6238, independently of the
//! server's implementation).

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, Reply, TestApp, spawn_app, spawn_app_with};

/// A signed-in browser: its cookie (`name=value`) and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
    session_id: Option<String>,
}

fn set_cookie(reply: &Reply) -> String {
    reply
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {}", reply.text))
        .to_string()
}

async fn sign_in(app: &TestApp, body: Value) -> Reply {
    app.request(Method::POST, "/api/v1/auth/session", None, Some(body), &[])
        .await
}

async fn browser(app: &TestApp, email: &str) -> Browser {
    let reply = sign_in(app, json!({"email": email, "password": PASSWORD}))
        .await
        .expect(200);
    browser_from(&reply)
}

fn browser_from(reply: &Reply) -> Browser {
    let header = set_cookie(reply);
    let cookie = header.split(';').next().unwrap().trim().to_string();
    assert!(cookie.starts_with("jobber_session="), "{header}");
    Browser {
        cookie,
        csrf: reply.body["csrf_token"].as_str().unwrap().to_string(),
        session_id: None,
    }
}

impl Browser {
    async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut headers: Vec<(&str, &str)> = vec![("cookie", self.cookie.as_str())];
        if let Some(csrf) = csrf {
            headers.push(("x-csrf-token", csrf));
        }
        headers.extend_from_slice(extra);
        app.request(method, path, None, body, &headers).await
    }

    async fn get(&self, app: &TestApp, path: &str) -> Reply {
        self.send(app, Method::GET, path, None, None, &[]).await
    }

    /// An unsafe request with the right CSRF token.
    async fn write(&self, app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send(app, method, path, body, Some(&self.csrf.clone()), &[])
            .await
    }
}

#[tokio::test]
async fn cookie_sign_in_works_with_csrf_on_unsafe_methods_and_signs_out() {
    let app = spawn_app().await;
    let owner = app.signup("Cookie Co").await;
    let reply = sign_in(&app, json!({"email": owner.email, "password": PASSWORD}))
        .await
        .expect(200);
    let header = set_cookie(&reply);
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(header.contains(attribute), "{header}");
    }
    assert!(!header.contains("Secure"), "plain HTTP, no proxy: {header}");
    assert_eq!(reply.body["user"]["id"], owner.user_id.as_str());
    assert_eq!(reply.body["account"]["id"], owner.account_id.as_str());
    let b = browser_from(&reply);

    // The cookie authenticates an existing endpoint, and GET /auth/session.
    b.get(&app, "/api/v1/clients").await.expect(200);
    let current = b.get(&app, "/api/v1/auth/session").await.expect(200);
    assert_eq!(current.body["csrf_token"], b.csrf.as_str());
    assert_eq!(current.body["user"]["email"], owner.email.as_str());
    app.request(Method::GET, "/api/v1/auth/session", None, None, &[])
        .await
        .problem(401, "unauthenticated");

    // Unsafe methods need the session's CSRF token.
    let client = json!({"first_name": "Ann", "last_name": "Lee"});
    b.send(
        &app,
        Method::POST,
        "/api/v1/clients",
        Some(client.clone()),
        None,
        &[],
    )
    .await
    .problem(403, "csrf_failed");
    b.send(
        &app,
        Method::POST,
        "/api/v1/clients",
        Some(client.clone()),
        Some("forged"),
        &[],
    )
    .await
    .problem(403, "csrf_failed");
    let other = browser(&app, &owner.email).await;
    b.send(
        &app,
        Method::POST,
        "/api/v1/clients",
        Some(client.clone()),
        Some(&other.csrf),
        &[],
    )
    .await
    .problem(403, "csrf_failed");
    let created = b
        .write(&app, Method::POST, "/api/v1/clients", Some(client.clone()))
        .await
        .expect(201);
    assert!(created.body["id"].is_string());
    // The origin guard: the right token from another site is still refused.
    b.send(
        &app,
        Method::POST,
        "/api/v1/clients",
        Some(client.clone()),
        Some(&b.csrf.clone()),
        &[("origin", "https://evil.example")],
    )
    .await
    .problem(403, "csrf_failed");
    b.send(
        &app,
        Method::POST,
        "/api/v1/clients",
        Some(client.clone()),
        Some(&b.csrf.clone()),
        &[("sec-fetch-site", "cross-site")],
    )
    .await
    .problem(403, "csrf_failed");
    b.send(
        &app,
        Method::POST,
        "/api/v1/clients",
        Some(client.clone()),
        Some(&b.csrf.clone()),
        &[
            ("origin", "http://jobber.test"),
            ("sec-fetch-site", "same-origin"),
        ],
    )
    .await
    .expect(201);

    // Bearer requests are not affected, even with a cookie beside the token.
    app.post("/api/v1/clients", &owner.token, client.clone())
        .await
        .expect(201);
    app.request(
        Method::POST,
        "/api/v1/clients",
        Some(&owner.token),
        Some(client.clone()),
        &[("cookie", b.cookie.as_str())],
    )
    .await
    .expect(201);

    // Sign-out needs the token too, then ends the session and clears the cookie.
    b.send(
        &app,
        Method::DELETE,
        "/api/v1/auth/session",
        None,
        None,
        &[],
    )
    .await
    .problem(403, "csrf_failed");
    let out = b
        .write(&app, Method::DELETE, "/api/v1/auth/session", None)
        .await
        .expect(204);
    assert!(set_cookie(&out).contains("Max-Age=0"));
    b.get(&app, "/api/v1/clients")
        .await
        .problem(401, "invalid_token");
    // Signing out again (or without a live cookie) is fine.
    b.send(
        &app,
        Method::DELETE,
        "/api/v1/auth/session",
        None,
        None,
        &[],
    )
    .await
    .expect(204);
    // The other session is untouched.
    other.get(&app, "/api/v1/clients").await.expect(200);
    // A forged cookie is refused.
    let forged = Browser {
        cookie: format!("{}x", other.cookie),
        csrf: other.csrf.clone(),
        session_id: None,
    };
    forged
        .get(&app, "/api/v1/clients")
        .await
        .problem(401, "invalid_token");
}

#[tokio::test]
async fn wrong_password_and_login_csrf_are_refused() {
    let app = spawn_app().await;
    let owner = app.signup("Guard Co").await;
    sign_in(
        &app,
        json!({"email": owner.email, "password": "wrong password!"}),
    )
    .await
    .problem(401, "invalid_credentials");
    app.request(
        Method::POST,
        "/api/v1/auth/session",
        None,
        Some(json!({"email": owner.email, "password": PASSWORD})),
        &[("origin", "https://evil.example")],
    )
    .await
    .problem(403, "csrf_failed");
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_one_or_all() {
    let app = spawn_app().await;
    let owner = app.signup("Many Devices").await;
    let mut a = browser(&app, &owner.email).await;
    let mut b = browser(&app, &owner.email).await;

    let list = a.get(&app, "/api/v1/auth/sessions").await.expect(200);
    let sessions = list.body["sessions"].as_array().unwrap().clone();
    let cookies: Vec<&Value> = sessions.iter().filter(|s| s["kind"] == "cookie").collect();
    assert_eq!(cookies.len(), 2, "{sessions:?}");
    let current: Vec<&&Value> = cookies.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    a.session_id = Some(current[0]["id"].as_str().unwrap().to_string());
    b.session_id = cookies
        .iter()
        .find(|s| s["current"] == false)
        .map(|s| s["id"].as_str().unwrap().to_string());
    assert!(current[0]["user_agent"].is_string() || current[0]["user_agent"].is_null());
    assert_eq!(current[0]["ip"], "127.0.0.1");
    // The sign-up's token login is listed too; with the bearer token it is current.
    assert!(sessions.iter().any(|s| s["kind"] == "token"));
    let by_token = app
        .get("/api/v1/auth/sessions", &owner.token)
        .await
        .expect(200);
    let token_current: Vec<&Value> = by_token.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == true)
        .collect();
    assert_eq!(token_current.len(), 1);
    assert_eq!(token_current[0]["kind"], "token");

    // Revoke B from A.
    let b_id = b.session_id.clone().unwrap();
    a.send(
        &app,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{b_id}"),
        None,
        None,
        &[],
    )
    .await
    .problem(403, "csrf_failed");
    a.write(
        &app,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{b_id}"),
        None,
    )
    .await
    .expect(204);
    b.get(&app, "/api/v1/clients")
        .await
        .problem(401, "invalid_token");
    a.write(
        &app,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{b_id}"),
        None,
    )
    .await
    .problem(404, "session_not_found");
    // Another user's session cannot be revoked (it is not found).
    let other = app.signup("Someone Else").await;
    let c = browser(&app, &other.email).await;
    let c_list = c.get(&app, "/api/v1/auth/sessions").await.expect(200);
    let c_id = c_list.body["sessions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    a.write(
        &app,
        Method::DELETE,
        &format!("/api/v1/auth/sessions/{c_id}"),
        None,
    )
    .await
    .problem(404, "session_not_found");
    c.get(&app, "/api/v1/clients").await.expect(200);

    // Log out everywhere: cookie sessions and refresh tokens.
    let d = browser(&app, &owner.email).await;
    let out = a
        .write(&app, Method::POST, "/api/v1/auth/sessions/revoke-all", None)
        .await
        .expect(204);
    assert!(set_cookie(&out).contains("Max-Age=0"));
    a.get(&app, "/api/v1/clients")
        .await
        .problem(401, "invalid_token");
    d.get(&app, "/api/v1/clients")
        .await
        .problem(401, "invalid_token");
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": owner.refresh_token}),
    )
    .await
    .problem(401, "invalid_token");
    // Someone else's sessions live on.
    c.get(&app, "/api/v1/clients").await.expect(200);
}

#[tokio::test]
async fn revoking_a_token_login_ends_its_refresh_token() {
    let app = spawn_app().await;
    let owner = app.signup("Token Co").await;
    let list = app
        .get("/api/v1/auth/sessions", &owner.token)
        .await
        .expect(200);
    let family = list.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "token")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.delete(&format!("/api/v1/auth/sessions/{family}"), &owner.token)
        .await
        .expect(204);
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": owner.refresh_token}),
    )
    .await
    .problem(401, "invalid_token");
}

#[tokio::test]
async fn a_role_change_applies_at_once_and_a_deactivated_users_cookie_is_refused() {
    let app = spawn_app().await;
    let owner = app.signup("Staff Co").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let b = browser(&app, &dispatcher.email).await;
    b.get(&app, "/api/v1/clients").await.expect(200);
    // A role change applies on the session's next request.
    app.patch(
        &format!("/api/v1/users/{}", dispatcher.user_id),
        &owner.token,
        json!({"role": "technician"}),
    )
    .await
    .expect(200);
    b.get(&app, "/api/v1/clients")
        .await
        .problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/users/{}", dispatcher.user_id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    b.get(&app, "/api/v1/clients")
        .await
        .problem(401, "invalid_token");
    b.get(&app, "/api/v1/auth/session")
        .await
        .problem(401, "invalid_token");
}

#[tokio::test]
async fn the_cookie_is_secure_behind_a_trusted_proxy_that_says_https() {
    // Loopback is in a trusted network.
    let app = spawn_app_with(|c| {
        c.trusted_proxies = vec![
            "10.0.0.0/8".parse().unwrap(),
            "127.0.0.0/8".parse().unwrap(),
        ]
    })
    .await;
    let owner = app.signup("Proxy Co").await;
    let body = json!({"email": owner.email, "password": PASSWORD});
    let https = app
        .request(
            Method::POST,
            "/api/v1/auth/session",
            None,
            Some(body.clone()),
            &[("x-forwarded-proto", "https")],
        )
        .await
        .expect(200);
    assert!(
        set_cookie(&https).contains("; Secure"),
        "{}",
        set_cookie(&https)
    );
    let plain = sign_in(&app, body.clone()).await.expect(200);
    assert!(!set_cookie(&plain).contains("Secure"));

    // From a peer that is not a trusted proxy the header means nothing.
    let untrusted = spawn_app_with(|c| {
        c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]
    })
    .await;
    let owner = untrusted.signup("No Proxy Co").await;
    let reply = untrusted
        .request(
            Method::POST,
            "/api/v1/auth/session",
            None,
            Some(json!({"email": owner.email, "password": PASSWORD})),
            &[("x-forwarded-proto", "https")],
        )
        .await
        .expect(200);
    assert!(!set_cookie(&reply).contains("Secure"));
}

// ---- TOTP, computed here (RFC 6238 / RFC 4226) ----

fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u64, 0);
    for c in text.trim_end_matches('=').chars() {
        buffer = (buffer << 5) | ALPHABET.find(c).unwrap() as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn totp(secret: &[u8], unix: u64) -> String {
    use hmac_sha1::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret).unwrap();
    mac.update(&(unix / 30).to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = (h[19] & 0xf) as usize;
    let n = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]) % 1_000_000;
    format!("{n:06}")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn the_tests_totp_matches_rfc_6238() {
    // Appendix B, SHA-1: the last six digits of the 8-digit values.
    let secret = b"12345678901234567890";
    assert_eq!(totp(secret, 59), "287082");
    assert_eq!(totp(secret, 1_111_111_109), "081804");
    assert_eq!(totp(secret, 2_000_000_000), "279037");
    assert_eq!(base32_decode("GEZDGNBVGY3TQOJQ"), b"1234567890");
}

#[tokio::test]
async fn totp_two_factor_sign_in() {
    let app = spawn_app().await;
    let owner = app.signup("Two Factor Co").await;
    let status = app.get("/api/v1/auth/totp", &owner.token).await.expect(200);
    assert_eq!(status.body["enabled"], false);
    app.post(
        "/api/v1/auth/totp/enable",
        &owner.token,
        json!({"code": "123456"}),
    )
    .await
    .problem(409, "totp_not_set_up");

    let setup = app
        .post("/api/v1/auth/totp/setup", &owner.token, json!({}))
        .await
        .expect(200);
    let secret_text = setup.body["secret"].as_str().unwrap();
    let url = setup.body["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(url.contains(&format!("secret={secret_text}")), "{url}");
    let secret = base32_decode(secret_text);
    assert_eq!(secret.len(), 20);
    // Still off until confirmed: login needs no code.
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": owner.email, "password": PASSWORD}),
    )
    .await
    .expect(200);
    let pending = app.get("/api/v1/auth/totp", &owner.token).await.expect(200);
    assert_eq!(pending.body["pending"], true);

    let wrong = if totp(&secret, now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    app.post(
        "/api/v1/auth/totp/enable",
        &owner.token,
        json!({"code": wrong}),
    )
    .await
    .problem(422, "validation_failed");
    let t = now();
    let code = totp(&secret, t);
    let enabled = app
        .post(
            "/api/v1/auth/totp/enable",
            &owner.token,
            json!({"code": code}),
        )
        .await
        .expect(200);
    let recovery: Vec<String> = enabled.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    app.post("/api/v1/auth/totp/setup", &owner.token, json!({}))
        .await
        .problem(409, "totp_already_enabled");
    let on = app.get("/api/v1/auth/totp", &owner.token).await.expect(200);
    assert_eq!(on.body["enabled"], true);
    assert_eq!(on.body["recovery_codes_left"], 10);

    // Both sign-ins now need the second factor.
    let credentials = json!({"email": owner.email, "password": PASSWORD});
    app.post_anon("/api/v1/auth/login", credentials.clone())
        .await
        .problem(401, "totp_required");
    sign_in(&app, credentials.clone())
        .await
        .problem(401, "totp_required");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": owner.email, "password": PASSWORD, "totp_code": wrong}),
    )
    .await
    .problem(401, "invalid_credentials");
    // The code that enabled it was spent: no reuse within its window.
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": owner.email, "password": PASSWORD, "totp_code": code}),
    )
    .await
    .problem(401, "invalid_credentials");
    // The next step's code is within the window (one step of drift).
    let next = totp(&secret, t + 30);
    let login = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": PASSWORD, "totp_code": next}),
        )
        .await
        .expect(200);
    assert!(login.body["access_token"].is_string());
    sign_in(
        &app,
        json!({"email": owner.email, "password": PASSWORD, "totp_code": next}),
    )
    .await
    .problem(401, "invalid_credentials");

    // A recovery code works once, written any way.
    let spaced = recovery[0].to_uppercase().replace('-', " ");
    let reply = sign_in(
        &app,
        json!({"email": owner.email, "password": PASSWORD, "recovery_code": spaced}),
    )
    .await
    .expect(200);
    let b = browser_from(&reply);
    b.get(&app, "/api/v1/clients").await.expect(200);
    sign_in(
        &app,
        json!({"email": owner.email, "password": PASSWORD, "recovery_code": recovery[0]}),
    )
    .await
    .problem(401, "invalid_credentials");
    // A recovery code does not stand in for the password.
    sign_in(
        &app,
        json!({"email": owner.email, "password": "not the password", "recovery_code": recovery[1]}),
    )
    .await
    .problem(401, "invalid_credentials");

    // Turning it off needs the password (checked), through the cookie with CSRF too.
    b.write(
        &app,
        Method::POST,
        "/api/v1/auth/totp/disable",
        Some(json!({"password": "not the password"})),
    )
    .await
    .problem(401, "invalid_credentials");
    b.write(
        &app,
        Method::POST,
        "/api/v1/auth/totp/disable",
        Some(json!({"password": PASSWORD})),
    )
    .await
    .expect(204);
    app.post_anon("/api/v1/auth/login", credentials)
        .await
        .expect(200);
    let off = app.get("/api/v1/auth/totp", &owner.token).await.expect(200);
    assert_eq!(off.body["enabled"], false);
    assert_eq!(off.body["recovery_codes_left"], 0);
}

#[tokio::test]
async fn the_totp_secret_is_stored_sealed_and_codes_hashed() {
    let app = spawn_app().await;
    let owner = app.signup("Sealed Co").await;
    let setup = app
        .post("/api/v1/auth/totp/setup", &owner.token, json!({}))
        .await
        .expect(200);
    let secret = base32_decode(setup.body["secret"].as_str().unwrap());
    let enabled = app
        .post(
            "/api/v1/auth/totp/enable",
            &owner.token,
            json!({"code": totp(&secret, now())}),
        )
        .await
        .expect(200);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_sealed FROM user_totp")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret.as_slice()),
        "the secret is not stored in the clear"
    );
    assert_eq!(enabled.body["recovery_codes"].as_array().unwrap().len(), 10);
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(hashes.len(), 10);
    assert!(hashes.iter().all(|h| h.len() == 32), "SHA-256 hashes only");
    let cookie_hashes: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(cookie_hashes, 0);
}

/// Enable TOTP for `session` (through the API, with a code computed here).
async fn enable_totp(app: &TestApp, token: &str) {
    let setup = app
        .post("/api/v1/auth/totp/setup", token, json!({}))
        .await
        .expect(200);
    let secret = base32_decode(setup.body["secret"].as_str().unwrap());
    app.post(
        "/api/v1/auth/totp/enable",
        token,
        json!({"code": totp(&secret, now())}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn an_admin_turns_off_a_lost_authenticator_but_not_an_owners() {
    let app = spawn_app().await;
    let owner = app.signup("Lost Phone Co").await;
    let admin = app.add_user(&owner, "admin").await;
    let tech = app.add_user(&owner, "technician").await;
    enable_totp(&app, &tech.token).await;
    enable_totp(&app, &owner.token).await;
    let tech_login = json!({"email": tech.email, "password": PASSWORD});
    app.post_anon("/api/v1/auth/login", tech_login.clone())
        .await
        .problem(401, "totp_required");
    app.delete(&format!("/api/v1/users/{}/totp", tech.user_id), &tech.token)
        .await
        .problem(403, "forbidden");
    app.delete(
        &format!("/api/v1/users/{}/totp", owner.user_id),
        &admin.token,
    )
    .await
    .problem(403, "forbidden");
    app.delete(
        &format!("/api/v1/users/{}/totp", tech.user_id),
        &admin.token,
    )
    .await
    .expect(204);
    app.post_anon("/api/v1/auth/login", tech_login)
        .await
        .expect(200);
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": owner.email, "password": PASSWORD}),
    )
    .await
    .problem(401, "totp_required");
    app.delete(
        &format!("/api/v1/users/{}/totp", uuid::Uuid::now_v7()),
        &owner.token,
    )
    .await
    .problem(404, "user_not_found");
}
