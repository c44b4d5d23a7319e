//! Sign-up, login, refresh rotation and reuse detection, logout, throttling.

use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};

#[tokio::test]
async fn signup_returns_account_user_and_tokens() {
    let app = spawn_app().await;
    let reply = app
        .post_anon(
            "/api/v1/auth/signup",
            json!({"business_name": "Green Acres Lawn", "name": "Gina Green", "email": "Gina@GreenAcres.example", "password": PASSWORD, "time_zone": "America/New_York", "currency": "cad"}),
        )
        .await
        .expect(201);
    let body = &reply.body;
    assert_eq!(body["account"]["name"], "Green Acres Lawn");
    assert_eq!(body["account"]["time_zone"], "America/New_York");
    assert_eq!(body["account"]["currency"], "CAD");
    assert_eq!(body["user"]["role"], "owner");
    assert_eq!(body["user"]["email"], "Gina@GreenAcres.example");
    assert!(body["user"].get("password_hash").is_none());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let token = body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/auth/me", token).await.expect(200);
    assert_eq!(me.body["account"]["id"], body["account"]["id"]);

    // The email is one login across the whole server, whatever its case.
    let again = app
        .post_anon("/api/v1/auth/signup", json!({"business_name": "Other", "name": "X", "email": "gina@greenacres.example", "password": PASSWORD}))
        .await
        .problem(409, "email_taken");
    assert_eq!(again.fields(), vec!["email"]);
}

#[tokio::test]
async fn signup_validates_every_field() {
    let app = spawn_app().await;
    let reply = app
        .post_anon("/api/v1/auth/signup", json!({"business_name": " ", "name": "N", "email": "nope", "password": "short", "time_zone": "Mars/Base", "currency": "XYZ"}))
        .await
        .problem(422, "validation_failed");
    let mut fields = reply.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "business_name",
            "currency",
            "email",
            "password",
            "time_zone"
        ]
    );
    app.post_anon("/api/v1/auth/signup", json!({"business_name": "B"}))
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn closed_signup_is_refused() {
    let app = spawn_app_with(|c| c.signup = jobber::config::Signup::Closed).await;
    app.post_anon(
        "/api/v1/auth/signup",
        json!({"business_name": "B", "name": "N", "email": "n@example.com", "password": PASSWORD}),
    )
    .await
    .problem(403, "signup_closed");
}

#[tokio::test]
async fn login_success_and_failures_look_alike() {
    let app = spawn_app().await;
    let owner = app.signup("Login Co").await;
    let ok = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email.to_uppercase(), "password": PASSWORD}),
        )
        .await
        .expect(200);
    assert_eq!(ok.body["user"]["id"], owner.user_id.as_str());
    assert!(ok.body["refresh_token"].as_str().unwrap().len() > 40);

    let wrong = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": "wrong password!"}),
        )
        .await
        .problem(401, "invalid_credentials");
    let unknown = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(
        wrong.body["detail"], unknown.body["detail"],
        "no user enumeration"
    );
}

#[tokio::test]
async fn login_is_throttled_per_email() {
    let app = spawn_app().await;
    let owner = app.signup("Throttle Co").await;
    for _ in 0..5 {
        app.post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": "wrong password!"}),
        )
        .await
        .problem(401, "invalid_credentials");
    }
    let limited = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": PASSWORD}),
        )
        .await
        .problem(429, "rate_limited");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 901);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let owner = app.signup("Rotate Co").await;
    let first = app
        .post_anon(
            "/api/v1/auth/refresh",
            json!({"refresh_token": owner.refresh_token}),
        )
        .await
        .expect(200);
    let second_refresh = first.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(second_refresh, owner.refresh_token);
    app.get(
        "/api/v1/auth/me",
        first.body["access_token"].as_str().unwrap(),
    )
    .await
    .expect(200);

    // The old token again: theft is assumed, the whole login is revoked.
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": owner.refresh_token}),
    )
    .await
    .problem(401, "refresh_token_reused");
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": second_refresh}),
    )
    .await
    .problem(401, "invalid_token");

    // Another login of the same user is unaffected.
    let other = app
        .post_anon(
            "/api/v1/auth/login",
            json!({"email": owner.email, "password": PASSWORD}),
        )
        .await
        .expect(200);
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": other.body["refresh_token"]}),
    )
    .await
    .expect(200);

    app.post_anon("/api/v1/auth/refresh", json!({"refresh_token": "garbage"}))
        .await
        .problem(401, "invalid_token");
    let forged = format!(
        "{}.{}.notthesecret",
        owner.account_id.replace('-', ""),
        uuid::Uuid::now_v7().simple()
    );
    app.post_anon("/api/v1/auth/refresh", json!({"refresh_token": forged}))
        .await
        .problem(401, "invalid_token");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let owner = app.signup("Logout Co").await;
    app.post_anon(
        "/api/v1/auth/logout",
        json!({"refresh_token": owner.refresh_token}),
    )
    .await
    .expect(204);
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": owner.refresh_token}),
    )
    .await
    .problem(401, "invalid_token");
    // Logging out twice is fine.
    app.post_anon(
        "/api/v1/auth/logout",
        json!({"refresh_token": owner.refresh_token}),
    )
    .await
    .expect(204);
}

#[tokio::test]
async fn tokens_of_another_server_are_rejected() {
    let app = spawn_app().await;
    let other = spawn_app().await;
    let owner = other.signup("Elsewhere").await;
    app.get("/api/v1/auth/me", &owner.token)
        .await
        .problem(401, "invalid_token");
}
