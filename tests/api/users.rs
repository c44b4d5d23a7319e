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
    // One wins. The other is refused: 409 when both checks ran before either
    // committed, or 403 when the loser's request began after the winner's commit
    // and found its own owner role already gone.
    assert_eq!(statuses[0], 200, "{} / {}", first.text, second.text);
    assert!(
        statuses[1] == 409 || statuses[1] == 403,
        "{} / {}",
        first.text,
        second.text
    );
    let owners: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'owner' AND active")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(owners, 1);
}

/// The token in the last email of `template` to `to`.
async fn emailed_token(app: &crate::helpers::TestApp, template: &str, to: &str) -> String {
    let (body,): (String,) = sqlx::query_as(
        "SELECT body_text FROM messages WHERE template = $1 AND to_address = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(template)
    .bind(to)
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    let start = body.find("?token=").unwrap() + "?token=".len();
    body[start..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn invited_people_choose_their_password_once() {
    let app = spawn_app().await;
    let owner = app.signup("Invite Co").await;
    let invited = app
        .post(
            "/api/v1/users",
            &owner.token,
            json!({"name": "Nina Tech", "email": "nina@example.com", "role": "technician"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(invited["invited"], true);
    let login = json!({"email": "nina@example.com", "password": PASSWORD});
    app.post_anon("/api/v1/auth/login", login.clone())
        .await
        .problem(401, "invalid_credentials");
    let (subject, body): (String, String) = sqlx::query_as(
        "SELECT subject, body_text FROM messages WHERE template = 'team_invitation'",
    )
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    assert_eq!(subject, "Olive Owner invited you to Invite Co on jobber");
    assert!(body.contains("Hello Nina Tech,"), "{body}");
    assert!(body.contains("as technician"), "{body}");
    assert!(
        body.contains("http://jobber.test/accept-invitation?token="),
        "{body}"
    );

    // A resend replaces the first link.
    let id = invited["id"].as_str().unwrap();
    let first = emailed_token(&app, "team_invitation", "nina@example.com").await;
    app.post(
        &format!("/api/v1/users/{id}/invitation"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(202);
    let second = emailed_token(&app, "team_invitation", "nina@example.com").await;
    assert_ne!(first, second);
    let accept = |token: &str, password: &str| json!({"token": token, "password": password});
    app.post_anon("/api/v1/auth/invitations/accept", accept(&first, PASSWORD))
        .await
        .problem(401, "invalid_token");
    let short = app
        .post_anon("/api/v1/auth/invitations/accept", accept(&second, "short"))
        .await
        .problem(422, "validation_failed");
    assert_eq!(short.fields(), vec!["password"]);
    let joined = app
        .post_anon("/api/v1/auth/invitations/accept", accept(&second, PASSWORD))
        .await
        .expect(200)
        .body;
    assert_eq!(joined["user"]["invited"], false);
    assert!(joined["access_token"].is_string());
    app.post_anon("/api/v1/auth/invitations/accept", accept(&second, PASSWORD))
        .await
        .problem(401, "invalid_token");
    app.post_anon("/api/v1/auth/login", login).await.expect(200);
    app.post(
        &format!("/api/v1/users/{id}/invitation"),
        &owner.token,
        json!({}),
    )
    .await
    .problem(409, "invalid_transition");
}

#[tokio::test]
async fn password_reset_by_email_link() {
    let app = spawn_app().await;
    let owner = app.signup("Reset Co").await;
    let ask = json!({"email": owner.email.to_uppercase()});
    app.post_anon("/api/v1/auth/password-reset", ask.clone())
        .await
        .expect(202);
    // Unknown emails get the same answer and no email.
    app.post_anon(
        "/api/v1/auth/password-reset",
        json!({"email": "nobody@example.com"}),
    )
    .await
    .expect(202);
    let (count,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM messages WHERE template = 'password_reset'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    assert_eq!(count, 1);
    let token = emailed_token(&app, "password_reset", &owner.email).await;
    let new_password = "a brand new passphrase";
    let confirm = json!({"token": token, "password": new_password});
    app.post_anon("/api/v1/auth/password-reset/confirm", confirm.clone())
        .await
        .expect(204);
    app.post_anon("/api/v1/auth/password-reset/confirm", confirm)
        .await
        .problem(401, "invalid_token");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": owner.email, "password": PASSWORD}),
    )
    .await
    .problem(401, "invalid_credentials");
    app.post_anon(
        "/api/v1/auth/login",
        json!({"email": owner.email, "password": new_password}),
    )
    .await
    .expect(200);
    // Sessions from before the reset are over.
    app.post_anon(
        "/api/v1/auth/refresh",
        json!({"refresh_token": owner.refresh_token}),
    )
    .await
    .problem(401, "invalid_token");
    // Tampered tokens are refused.
    let forged = format!("{}x", token);
    app.post_anon(
        "/api/v1/auth/password-reset/confirm",
        json!({"token": forged, "password": new_password}),
    )
    .await
    .problem(401, "invalid_token");
    // Asking again and again is throttled.
    let mut last = 0;
    for _ in 0..12 {
        last = app
            .post_anon("/api/v1/auth/password-reset", ask.clone())
            .await
            .status
            .as_u16();
    }
    assert_eq!(last, 429);
}
