//! The team: who may manage users, and the last-owner rule.

use serde_json::json;

use crate::helpers::{PASSWORD, spawn_app};

#[tokio::test]
async fn owner_manages_the_team() {
    let app = spawn_app().await;
    let owner = app.signup("Team Co").await;
    let dispatcher = app.add_user(&owner, "dispatcher").await;
    let list = app
        .get("/api/v1/users", &dispatcher.token)
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 2);

    let tech = app.add_user(&owner, "technician").await;
    app.get("/api/v1/users", &tech.token)
        .await
        .problem(403, "forbidden");

    // Dispatchers and technicians do not manage users.
    for session in [&dispatcher, &tech] {
        app.post("/api/v1/users", &session.token, json!({"name": "X", "email": "x@example.com", "role": "technician", "password": PASSWORD}))
            .await
            .problem(403, "forbidden");
        app.patch(
            &format!("/api/v1/users/{}", tech.user_id),
            &session.token,
            json!({"name": "Y"}),
        )
        .await
        .problem(403, "forbidden");
    }

    // Promote the technician, with the version read.
    let user = app
        .get(&format!("/api/v1/users/{}", tech.user_id), &owner.token)
        .await
        .expect(200);
    let version = user.body["version"].as_i64().unwrap();
    let updated = app
        .patch(
            &format!("/api/v1/users/{}", tech.user_id),
            &owner.token,
            json!({"role": "dispatcher", "version": version}),
        )
        .await
        .expect(200);
    assert_eq!(updated.body["role"], "dispatcher");
    app.patch(
        &format!("/api/v1/users/{}", tech.user_id),
        &owner.token,
        json!({"name": "Stale", "version": version}),
    )
    .await
    .problem(409, "version_conflict");

    // Duplicate email, bad role, unknown user.
    app.post("/api/v1/users", &owner.token, json!({"name": "Dup", "email": dispatcher.email, "role": "technician", "password": PASSWORD}))
        .await
        .problem(409, "email_taken");
    app.post(
        "/api/v1/users",
        &owner.token,
        json!({"name": "R", "email": "r@example.com", "role": "king", "password": PASSWORD}),
    )
    .await
    .problem(422, "validation_failed");
    app.get(
        &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
        &owner.token,
    )
    .await
    .problem(404, "user_not_found");
}

#[tokio::test]
async fn admins_cannot_touch_owners_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let owner = app.signup("Owner Rules").await;
    let admin = app.add_user(&owner, "admin").await;
    app.post(
        "/api/v1/users",
        &admin.token,
        json!({"name": "O2", "email": "o2@example.com", "role": "owner", "password": PASSWORD}),
    )
    .await
    .problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/users/{}", owner.user_id),
        &admin.token,
        json!({"active": false}),
    )
    .await
    .problem(403, "forbidden");
    app.patch(
        &format!("/api/v1/users/{}", owner.user_id),
        &owner.token,
        json!({"role": "admin"}),
    )
    .await
    .problem(409, "last_owner");
    app.patch(
        &format!("/api/v1/users/{}", owner.user_id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .problem(409, "last_owner");
}

#[tokio::test]
async fn deactivated_users_and_new_passwords_end_sessions() {
    let app = spawn_app().await;
    let owner = app.signup("Session Co").await;
    let tech = app.add_user(&owner, "technician").await;
    app.patch(
        &format!("/api/v1/users/{}", tech.user_id),
        &owner.token,
        json!({"active": false}),
    )
    .await
    .expect(200);
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": tech.refresh_token}),
    )
    .await
    .problem(401, "invalid_token");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": tech.email, "password": PASSWORD}),
    )
    .await
    .problem(401, "invalid_credentials");

    let dispatcher = app.add_user(&owner, "dispatcher").await;
    app.patch(
        &format!("/api/v1/users/{}", dispatcher.user_id),
        &owner.token,
        json!({"password": "a brand new passphrase"}),
    )
    .await
    .expect(200);
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": dispatcher.refresh_token}),
    )
    .await
    .problem(401, "invalid_token");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": dispatcher.email, "password": "a brand new passphrase"}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn admins_cannot_take_an_owner_over_and_owners_may_step_down() {
    let app = spawn_app().await;
    let owner = app.signup("Takeover Co").await;
    let admin = app.add_user(&owner, "admin").await;
    let path = format!("/api/v1/users/{}", owner.user_id);
    app.patch(&path, &admin.token, json!({"email": "mine@example.com"}))
        .await
        .problem(403, "forbidden");
    app.patch(
        &path,
        &admin.token,
        json!({"password": "taken over at last"}),
    )
    .await
    .problem(403, "forbidden");
    app.patch(&path, &admin.token, json!({"name": "Renamed"}))
        .await
        .problem(403, "forbidden");

    // With a second owner, one may step down; then the other is the last.
    let second = app.add_user(&owner, "owner").await;
    app.patch(
        &format!("/api/v1/users/{}", second.user_id),
        &owner.token,
        json!({"role": "admin"}),
    )
    .await
    .expect(200);
    app.patch(&path, &owner.token, json!({"role": "admin"}))
        .await
        .problem(409, "last_owner");

    // If-Match works here too; a stale one is 412 and the GET carries the ETag.
    let read = app.get(&path, &owner.token).await.expect(200);
    let etag = read.header("etag").unwrap().to_string();
    app.request(
        reqwest::Method::PATCH,
        &path,
        Some(&owner.token),
        Some(json!({"name": "Olive"})),
        &[("if-match", "\"999\"")],
    )
    .await
    .problem(412, "precondition_failed");
    app.request(
        reqwest::Method::PATCH,
        &path,
        Some(&owner.token),
        Some(json!({"name": "Olive"})),
        &[("if-match", &etag)],
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn owners_demoting_each_other_at_once_keep_one_owner() {
    let app = spawn_app().await;
    let a = app.signup("Race Co").await;
    let b = app.add_user(&a, "owner").await;
    let (path_a, path_b) = (
        format!("/api/v1/users/{}", a.user_id),
        format!("/api/v1/users/{}", b.user_id),
    );
    let demote = json!({"role": "admin"});
    let (first, second) = tokio::join!(
        app.patch(&path_b, &a.token, demote.clone()),
        app.patch(&path_a, &b.token, demote.clone())
    );
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", first.text, second.text);
    let owners: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'owner' AND active")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(owners, 1);
}
