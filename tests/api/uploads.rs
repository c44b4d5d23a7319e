//! Temporary uploads: `POST /uploads`, then attaching one by `upload_id` (moved, used
//! once, even by a double click), refusals naming the field, the Idempotency-Key
//! replay of a large upload, the hourly purge (expired uploads and orphan files, also
//! as a migrating role that is not a superuser), and all of it on S3.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use chrono::Utc;
use jobber::http::ErrorCode;
use jobber::http::extract::Ctx;
use jobber::modules::attachments::Kind;
use jobber::modules::uploads::service::{Accept, purge, take_in};
use jobber::modules::users::model::Role;
use jobber::platform::storage::{ObjectKey, Storage, TEMP_UPLOADS};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::attachments::{job_for, jpeg_with_gps};
use crate::files::{app_storage, create_bucket, s3_config, start_moto};
use crate::helpers::{Reply, Session, TestApp, spawn_app, spawn_app_with};

async fn upload(app: &TestApp, session: &Session, filename: &str, bytes: &[u8]) -> Reply {
    app.multipart(
        Method::POST,
        "/api/v1/uploads",
        &session.token,
        &[("file", Some(filename), bytes)],
    )
    .await
}

async fn attach(app: &TestApp, session: &Session, job: &str, body: Value) -> Reply {
    app.post(
        &format!("/api/v1/jobs/{job}/attachments"),
        &session.token,
        body,
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(app.db.pool())
        .await
        .unwrap()
}

fn temp_key(session: &Session, upload: &Value) -> ObjectKey {
    let ext = match upload["content_type"].as_str().unwrap() {
        "image/jpeg" => "jpg",
        "application/pdf" => "pdf",
        other => panic!("{other}"),
    };
    ObjectKey::temp_upload(
        session.account_id.parse().unwrap(),
        upload["id"].as_str().unwrap().parse().unwrap(),
        ext,
    )
}

/// A PDF larger than the API's 64 KiB JSON limit in tests.
fn big_pdf(fill: u8) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.resize(200 * 1024, fill);
    pdf
}

#[tokio::test]
async fn a_photo_uploaded_first_is_attached_by_its_id() {
    let app = spawn_app().await;
    let storage = app_storage(&app, Default::default());
    let owner = app.signup("Upload Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let (job, visit) = job_for(&app, &owner, &tech).await;

    let before = Utc::now();
    let uploaded = upload(&app, &tech, "C:\\phone\\IMG_0042.JPG", &jpeg_with_gps())
        .await
        .expect(201)
        .body;
    let mut fields: Vec<&str> = uploaded
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["bytes", "content_type", "expires_at", "filename", "id"]
    );
    assert_eq!(uploaded["filename"], "IMG_0042.JPG");
    assert_eq!(uploaded["content_type"], "image/jpeg");
    let expires: chrono::DateTime<Utc> = uploaded["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = expires - before;
    assert!(
        ttl > chrono::Duration::hours(24) - chrono::Duration::minutes(1)
            && ttl < chrono::Duration::hours(24) + chrono::Duration::minutes(1),
        "{ttl}"
    );
    let key = temp_key(&tech, &uploaded);
    assert!(
        key.as_str()
            .starts_with(&format!("uploads/temp/{}/", tech.account_id))
    );
    let kept = storage
        .get(&key)
        .await
        .unwrap()
        .expect("the temporary file");
    assert!(
        !String::from_utf8_lossy(&kept).contains("GPS"),
        "location removed on upload"
    );
    assert_eq!(uploaded["bytes"], kept.len());

    let attached = attach(
        &app,
        &tech,
        &job,
        json!({"upload_id": uploaded["id"], "visit_id": visit}),
    )
    .await
    .expect(201)
    .body;
    assert_eq!(attached["filename"], "IMG_0042.JPG");
    assert_eq!(attached["content_type"], "image/jpeg");
    assert_eq!(attached["visit_id"], visit.as_str());
    assert_eq!(attached["bytes"], uploaded["bytes"]);
    assert_eq!(attached["uploaded_by"], tech.user_id.as_str());
    let downloaded = app.get_public(attached["url"].as_str().unwrap()).await;
    assert_eq!(downloaded.status().as_u16(), 200);
    assert_eq!(downloaded.bytes().await.unwrap(), kept);

    // Moved: no upload row, no temporary file; the job lists it.
    assert_eq!(count(&app, "SELECT count(*) FROM temp_uploads").await, 0);
    assert_eq!(storage.get(&key).await.unwrap(), None);
    let list = app
        .get(&format!("/api/v1/jobs/{job}/attachments"), &owner.token)
        .await
        .expect(200)
        .body;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Used once.
    let again = attach(&app, &tech, &job, json!({"upload_id": uploaded["id"]}))
        .await
        .problem(404, "upload_not_found");
    assert_eq!(again.fields(), ["upload_id"]);

    // The OpenAPI document has the endpoint and both bodies of an attachment.
    let spec = app.get("/api/v1/openapi.json", &owner.token).await.body;
    assert!(spec["paths"]["/api/v1/uploads"]["post"].is_object());
    let bodies = &spec["paths"]["/api/v1/jobs/{id}/attachments"]["post"]["requestBody"]["content"];
    assert!(bodies["multipart/form-data"].is_object(), "{bodies}");
    assert!(bodies["application/json"].is_object(), "{bodies}");
}

#[tokio::test]
async fn uploads_that_cannot_be_used_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let owner = app.signup("Refusing Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let (job, _) = job_for(&app, &owner, &tech).await;
    let pdf = b"%PDF-1.4\n%%EOF";

    // What POST /uploads takes: a file of a known type, within 25 MiB, from a user.
    upload(&app, &tech, "tool.exe", b"MZ\x90\0 not a photo")
        .await
        .problem(415, "unsupported_media_type");
    upload(&app, &tech, "scan.pdf", &vec![b'%'; 25 * 1024 * 1024 + 1])
        .await
        .problem(413, "payload_too_large");
    let none = app
        .multipart(Method::POST, "/api/v1/uploads", &tech.token, &[])
        .await
        .problem(422, "validation_failed");
    assert_eq!(none.fields(), ["file"]);
    app.post("/api/v1/uploads", &tech.token, json!({"file": "x"}))
        .await
        .problem(415, "unsupported_media_type");
    crate::helpers::read_reply(app.http.post(app.url("/api/v1/uploads")))
        .await
        .problem(401, "unauthenticated");

    // Naming an upload that is unknown, someone else's or another account's: 404.
    let unknown = attach(&app, &tech, &job, json!({"upload_id": Uuid::now_v7()}))
        .await
        .problem(404, "upload_not_found");
    assert_eq!(unknown.fields(), ["upload_id"]);
    let stranger = app.signup("Other Co").await;
    let theirs = upload(&app, &stranger, "theirs.pdf", pdf)
        .await
        .expect(201)
        .body;
    let foreign = attach(&app, &tech, &job, json!({"upload_id": theirs["id"]}))
        .await
        .problem(404, "upload_not_found");
    assert_eq!(foreign.fields(), ["upload_id"]);
    let techs = upload(&app, &tech, "permit.pdf", pdf)
        .await
        .expect(201)
        .body;
    attach(&app, &owner, &job, json!({"upload_id": techs["id"]}))
        .await
        .problem(404, "upload_not_found");

    // Expired (the purge has not run yet): 410, and it stays for the purge.
    sqlx::query("UPDATE temp_uploads SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(techs["id"].as_str().unwrap().parse::<Uuid>().unwrap())
        .execute(app.db.pool())
        .await
        .unwrap();
    let expired = attach(&app, &tech, &job, json!({"upload_id": techs["id"]}))
        .await
        .problem(410, "upload_expired");
    assert_eq!(expired.fields(), ["upload_id"]);
    assert_eq!(count(&app, "SELECT count(*) FROM temp_uploads").await, 2);

    // A bad body: typed fields, nothing unknown, JSON or multipart only.
    let fresh = upload(&app, &tech, "permit.pdf", pdf)
        .await
        .expect(201)
        .body;
    let bad = attach(&app, &tech, &job, json!({"upload_id": "photo-1"}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(bad.fields(), ["upload_id"]);
    let missing = attach(&app, &tech, &job, json!({"visit_id": Uuid::now_v7()}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(missing.fields(), ["body"]);
    attach(
        &app,
        &tech,
        &job,
        json!({"upload_id": fresh["id"], "caption": "x"}),
    )
    .await
    .problem(422, "validation_failed");
    let wrong_visit = attach(
        &app,
        &tech,
        &job,
        json!({"upload_id": fresh["id"], "visit_id": Uuid::now_v7()}),
    )
    .await
    .problem(422, "validation_failed");
    assert_eq!(wrong_visit.fields(), ["visit_id"]);
    let text = app
        .request(
            Method::POST,
            &format!("/api/v1/jobs/{job}/attachments"),
            Some(&tech.token),
            None,
            &[("content-type", "text/plain")],
        )
        .await
        .problem(415, "unsupported_media_type");
    assert!(
        text.body["detail"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data")
    );
    // None of that used the upload up.
    attach(&app, &tech, &job, json!({"upload_id": fresh["id"]}))
        .await
        .expect(201);
}

/// What a module calls to use an upload (as client avatars will, for images only).
#[tokio::test]
async fn an_upload_is_taken_in_the_callers_transaction() {
    let app = spawn_app().await;
    let owner = app.signup("Taking Co").await;
    let ctx = Ctx {
        account_id: owner.account_id.parse().unwrap(),
        user_id: owner.user_id.parse().unwrap(),
        role: Role::Owner,
    };
    let pdf = b"%PDF-1.4\n%%EOF";
    let uploaded = upload(&app, &owner, "scan.pdf", pdf).await.expect(201).body;
    let id: Uuid = uploaded["id"].as_str().unwrap().parse().unwrap();

    let mut tx = app.db.tenant(ctx.account_id).await.unwrap();
    let refused = take_in(&mut tx, &ctx, id, Accept::Images)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::UnsupportedMediaType);
    assert_eq!(refused.fields[0].field, "upload_id");
    drop(tx);

    // Taken, then rolled back: the upload is still there to use.
    let mut tx = app.db.tenant(ctx.account_id).await.unwrap();
    let taken = take_in(&mut tx, &ctx, id, Accept::Any).await.unwrap();
    assert_eq!(
        (taken.kind, taken.filename.as_str(), taken.bytes),
        (Kind::Pdf, "scan.pdf", i64::try_from(pdf.len()).unwrap())
    );
    assert_eq!(taken.key, temp_key(&owner, &uploaded));
    tx.rollback().await.unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM temp_uploads").await, 1);
}

#[tokio::test]
async fn a_double_click_attaches_an_upload_once() {
    let app = spawn_app().await;
    let owner = app.signup("Double Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let (job, _) = job_for(&app, &owner, &tech).await;
    for round in 1..=3 {
        let uploaded = upload(&app, &tech, "photo.jpg", &jpeg_with_gps())
            .await
            .expect(201)
            .body;
        let body = json!({"upload_id": uploaded["id"]});
        let (a, b) = tokio::join!(
            attach(&app, &tech, &job, body.clone()),
            attach(&app, &tech, &job, body.clone())
        );
        let (won, lost) = if a.status == 201 { (a, b) } else { (b, a) };
        won.expect(201);
        let lost = lost.problem(404, "upload_not_found");
        assert_eq!(lost.fields(), ["upload_id"]);
        let list = app
            .get(&format!("/api/v1/jobs/{job}/attachments"), &tech.token)
            .await
            .expect(200)
            .body;
        assert_eq!(list.as_array().unwrap().len(), round);
    }
}

#[tokio::test]
async fn a_retried_upload_with_an_idempotency_key_is_kept_once() {
    let app = spawn_app().await;
    let owner = app.signup("Retry Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let (job, _) = job_for(&app, &owner, &tech).await;
    let scan = big_pdf(b' ');
    let send = |path: String, boundary: &'static str, key: &'static str, file: Vec<u8>| {
        let app = &app;
        let token = tech.token.clone();
        async move {
            app.multipart_with(
                Method::POST,
                &path,
                &token,
                &[("file", Some("scan.pdf"), &file)],
                boundary,
                &[("idempotency-key", key)],
            )
            .await
        }
    };

    // Larger than the API's JSON limit, and retried with a new boundary (as a
    // browser's FormData does): the first answer again, one upload.
    let first = send(
        "/api/v1/uploads".into(),
        "first-boundary",
        "scan-1",
        scan.clone(),
    )
    .await
    .expect(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let retry = send(
        "/api/v1/uploads".into(),
        "retry-boundary-2",
        "scan-1",
        scan.clone(),
    )
    .await
    .expect(201);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(retry.body, first.body);
    assert_eq!(count(&app, "SELECT count(*) FROM temp_uploads").await, 1);
    // The same key with another file is another request.
    send(
        "/api/v1/uploads".into(),
        "first-boundary",
        "scan-1",
        big_pdf(b'x'),
    )
    .await
    .problem(422, "idempotency_key_reused");

    // The same for a file sent straight to the job.
    let path = format!("/api/v1/jobs/{job}/attachments");
    let attached = send(path.clone(), "a-boundary", "attach-1", scan.clone())
        .await
        .expect(201);
    let replayed = send(path.clone(), "b-boundary", "attach-1", scan.clone())
        .await
        .expect(201);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body["id"], attached.body["id"]);
    assert_eq!(count(&app, "SELECT count(*) FROM job_attachments").await, 1);
}

/// Run the purge as a role like an RDS migrating user: it owns the tables (through
/// membership in the role that ran the migrations) but is no superuser, so row-level
/// security applies to it.
async fn purge_as_owner_without_superuser(app: &TestApp, storage: &Storage) -> u64 {
    let pool = app.db.pool();
    let migrator: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(pool)
        .await
        .unwrap();
    let role = format!("runner_{}", Uuid::now_v7().simple());
    for sql in [
        format!("CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS"),
        format!("GRANT \"{migrator}\" TO {role}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(pool)
            .await
            .unwrap();
    }
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("SET LOCAL ROLE {role}")))
        .execute(&mut *tx)
        .await
        .unwrap();
    // Row-level security holds for it: no client of any account is visible.
    let clients: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(clients, 0, "the role must be subject to row-level security");
    let purged = purge(&mut tx, storage, Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    purged
}

#[tokio::test]
async fn the_purge_deletes_expired_uploads_and_orphan_files_only() {
    let app = spawn_app().await;
    let storage = app_storage(&app, Default::default());
    let owner = app.signup("Purge Co").await;
    app.create_client(&owner, json!({"first_name": "Vis", "last_name": "Ible"}))
        .await;
    let account: Uuid = owner.account_id.parse().unwrap();
    let pdf = b"%PDF-1.4\n%%EOF";
    let fresh = upload(&app, &owner, "fresh.pdf", pdf)
        .await
        .expect(201)
        .body;
    let stale = upload(&app, &owner, "stale.pdf", pdf)
        .await
        .expect(201)
        .body;
    sqlx::query(
        "UPDATE temp_uploads SET created_at = now() - interval '25 hours',
                expires_at = now() - interval '1 hour' WHERE id = $1",
    )
    .bind(stale["id"].as_str().unwrap().parse::<Uuid>().unwrap())
    .execute(app.db.pool())
    .await
    .unwrap();
    // Files with no row: one just written (its commit may be under way), one a day
    // old; and an old file outside uploads/temp/, which the purge never touches.
    let orphan = ObjectKey::temp_upload(account, Uuid::now_v7(), "jpg");
    let old_orphan = ObjectKey::temp_upload(account, Uuid::now_v7(), "jpg");
    let old_invoice = ObjectKey::invoice_pdf(account, Uuid::now_v7());
    let day_ago = SystemTime::now() - Duration::from_secs(25 * 3600);
    for key in [&orphan, &old_orphan, &old_invoice] {
        storage
            .put(key, Bytes::from_static(b"\xFF\xD8\xFF"))
            .await
            .unwrap();
    }
    for key in [&old_orphan, &old_invoice] {
        let path = app.data_dir.join("files").join(key.as_str());
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(day_ago)
            .unwrap();
    }

    let purged = purge_as_owner_without_superuser(&app, &storage).await;
    assert_eq!(purged, 2, "the stale upload and the old orphan");
    let left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM temp_uploads")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(
        left,
        [fresh["id"].as_str().unwrap().parse::<Uuid>().unwrap()]
    );
    let exists = |key: ObjectKey| {
        let storage = storage.clone();
        async move { storage.get(&key).await.unwrap().is_some() }
    };
    assert!(!exists(temp_key(&owner, &stale)).await);
    assert!(!exists(old_orphan.clone()).await);
    assert!(exists(temp_key(&owner, &fresh)).await);
    assert!(exists(orphan.clone()).await);
    assert!(exists(old_invoice.clone()).await);

    // A day later the rest has aged out too.
    let mut conn = app.db.pool().acquire().await.unwrap();
    let later = Utc::now() + chrono::Duration::hours(25);
    assert_eq!(purge(&mut conn, &storage, later).await.unwrap(), 2);
    assert_eq!(count(&app, "SELECT count(*) FROM temp_uploads").await, 0);
    assert!(!exists(temp_key(&owner, &fresh)).await);
    assert!(!exists(orphan).await);
    assert!(exists(old_invoice).await);
    assert_eq!(purge(&mut conn, &storage, later).await.unwrap(), 0);
}

#[tokio::test]
async fn uploads_on_s3_through_moto() {
    let Some(moto) = start_moto().await else {
        return;
    };
    let bucket = "jobber-uploads";
    create_bucket(&moto, bucket).await;
    let app = spawn_app_with(|c| c.storage = s3_config(&moto, bucket)).await;
    let storage = app_storage(&app, s3_config(&moto, bucket));
    let owner = app.signup("S3 Uploads").await;
    let tech = app.add_user(&owner, "technician").await;
    let (job, _) = job_for(&app, &owner, &tech).await;

    let uploaded = upload(&app, &tech, "photo.jpg", &jpeg_with_gps())
        .await
        .expect(201)
        .body;
    let key = temp_key(&tech, &uploaded);
    let kept = storage.get(&key).await.unwrap().expect("in the bucket");
    let attached = attach(&app, &tech, &job, json!({"upload_id": uploaded["id"]}))
        .await
        .expect(201)
        .body;
    // Copied inside the bucket, served by a presigned URL with its type.
    let url = attached["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/{bucket}/tenant-files/uploads/{}/jobs/{job}/",
            moto.endpoint, tech.account_id
        )),
        "{url}"
    );
    let downloaded = reqwest::get(url).await.unwrap();
    assert_eq!(downloaded.status().as_u16(), 200);
    assert_eq!(downloaded.headers()["content-type"], "image/jpeg");
    assert_eq!(downloaded.bytes().await.unwrap(), kept);
    assert_eq!(
        storage.get(&key).await.unwrap(),
        None,
        "the temporary object is gone"
    );

    // Listing by age under the prefix, and the purge's sweep, on S3.
    let orphan = ObjectKey::temp_upload(owner.account_id.parse().unwrap(), Uuid::now_v7(), "pdf");
    storage
        .put(&orphan, Bytes::from_static(b"%PDF-1.4"))
        .await
        .unwrap();
    let soon = Utc::now() + chrono::Duration::hours(1);
    assert_eq!(
        storage
            .list_older_than(TEMP_UPLOADS, soon, 10)
            .await
            .unwrap(),
        std::slice::from_ref(&orphan)
    );
    assert_eq!(
        storage
            .list_older_than(TEMP_UPLOADS, Utc::now() - chrono::Duration::hours(1), 10)
            .await
            .unwrap(),
        []
    );
    let mut conn = app.db.pool().acquire().await.unwrap();
    let later = Utc::now() + chrono::Duration::hours(25);
    assert_eq!(purge(&mut conn, &storage, later).await.unwrap(), 1);
    assert_eq!(storage.get(&orphan).await.unwrap(), None);
    let still = reqwest::get(url).await.unwrap();
    assert_eq!(
        still.status().as_u16(),
        200,
        "the attachment is not touched"
    );
}
