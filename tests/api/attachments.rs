//! Job attachments: multipart upload by the technician on the job, types from the
//! bytes, EXIF removed, size limit, signed downloads, and who may see or remove.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, spawn_app};

/// A JPEG skeleton with an EXIF segment carrying a GPS position.
pub fn jpeg_with_gps() -> Vec<u8> {
    let mut jpeg = vec![0xFF, 0xD8];
    jpeg.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0x00]);
    let exif = b"Exif\0\0GPSLatitude=40.7128N;GPSLongitude=74.0060W";
    let length = u16::try_from(exif.len() + 2).unwrap().to_be_bytes();
    jpeg.extend_from_slice(&[0xFF, 0xE1, length[0], length[1]]);
    jpeg.extend_from_slice(exif);
    jpeg.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9]);
    jpeg
}

/// A job for a new client, with one visit assigned to `tech`: (job id, visit id).
pub async fn job_for(app: &TestApp, owner: &Session, tech: &Session) -> (String, String) {
    let client = app
        .create_client(owner, json!({"first_name": "Lu", "last_name": "Wei"}))
        .await;
    let job = app
        .post("/api/v1/jobs", &owner.token, json!({"client_id": client["id"], "title": "Fence", "schedule": {"start_date": "2026-06-10", "start_time": "09:00", "assignee_ids": [tech.user_id]}}))
        .await
        .expect(201)
        .body;
    (
        job["id"].as_str().unwrap().to_string(),
        job["visits"][0]["id"].as_str().unwrap().to_string(),
    )
}

/// POST a multipart form to the job's attachments: (name, filename, bytes) parts.
async fn upload(
    app: &TestApp,
    session: &Session,
    job: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> (u16, Value) {
    let path = format!("/api/v1/jobs/{job}/attachments");
    let reply = app
        .multipart(Method::POST, &path, &session.token, parts)
        .await;
    (reply.status.as_u16(), reply.body)
}

#[tokio::test]
async fn technicians_attach_photos_without_their_location() {
    let app = spawn_app().await;
    let owner = app.signup("Photo Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let stranger = app.add_user(&owner, "technician").await;
    let (job_id, visit_id) = job_for(&app, &owner, &tech).await;
    let (job_id, visit_id) = (job_id.as_str(), visit_id.as_str());

    let photo = jpeg_with_gps();
    let (status, attached) = upload(
        &app,
        &tech,
        job_id,
        &[
            ("visit_id", None, visit_id.as_bytes()),
            ("file", Some("../../IMG_0042.JPG"), &photo),
        ],
    )
    .await;
    assert_eq!(status, 201, "{attached}");
    assert_eq!(attached["content_type"], "image/jpeg");
    assert_eq!(
        attached["filename"], "IMG_0042.JPG",
        "no path from the client"
    );
    assert_eq!(attached["visit_id"], visit_id);
    let downloaded = app.get_public(attached["url"].as_str().unwrap()).await;
    assert_eq!(downloaded.status().as_u16(), 200);
    assert_eq!(downloaded.headers()["content-type"], "image/jpeg");
    let bytes = downloaded.bytes().await.unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]));
    assert!(
        !String::from_utf8_lossy(&bytes).contains("GPS"),
        "location removed"
    );
    assert_eq!(attached["bytes"], bytes.len());

    // The bytes decide the type, not the name.
    let (status, refused) = upload(
        &app,
        &tech,
        job_id,
        &[("file", Some("photo.jpg"), b"MZ\x90\0 not a photo")],
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, missing) = upload(
        &app,
        &tech,
        job_id,
        &[("visit_id", None, visit_id.as_bytes())],
    )
    .await;
    assert_eq!(
        (status, missing["errors"][0]["field"].as_str()),
        (422, Some("file"))
    );
    let too_big = vec![b'%'; 25 * 1024 * 1024 + 1];
    let (status, large) = upload(
        &app,
        &owner,
        job_id,
        &[("file", Some("scan.pdf"), &too_big)],
    )
    .await;
    assert_eq!(
        (status, large["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    // A technician not on the job sees nothing of it.
    let (status, hidden) = upload(
        &app,
        &stranger,
        job_id,
        &[("file", Some("x.pdf"), b"%PDF-1.4\n%%EOF")],
    )
    .await;
    assert_eq!(
        (status, hidden["code"].as_str()),
        (404, Some("job_not_found"))
    );
    app.get(
        &format!("/api/v1/jobs/{job_id}/attachments"),
        &stranger.token,
    )
    .await
    .problem(404, "job_not_found");

    let (status, pdf) = upload(
        &app,
        &owner,
        job_id,
        &[("file", Some("permit.pdf"), b"%PDF-1.4\n%%EOF")],
    )
    .await;
    assert_eq!(status, 201, "{pdf}");
    let list = app
        .get(&format!("/api/v1/jobs/{job_id}/attachments"), &tech.token)
        .await
        .expect(200)
        .body;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let pdf_id = pdf["id"].as_str().unwrap();
    app.delete(
        &format!("/api/v1/jobs/{job_id}/attachments/{pdf_id}"),
        &tech.token,
    )
    .await
    .problem(403, "forbidden");
    app.delete(
        &format!("/api/v1/jobs/{job_id}/attachments/{pdf_id}"),
        &owner.token,
    )
    .await
    .expect(204);
    let gone = app.get_public(pdf["url"].as_str().unwrap()).await;
    assert_eq!(gone.status().as_u16(), 404, "the file went with it");
    app.delete(
        &format!("/api/v1/jobs/{job_id}/attachments/{pdf_id}"),
        &owner.token,
    )
    .await
    .problem(404, "attachment_not_found");
}

#[tokio::test]
async fn an_attachment_says_what_it_is_as_its_uploader_said() {
    let app = spawn_app().await;
    let owner = app.signup("Kinds Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let (job_id, visit_id) = job_for(&app, &owner, &tech).await;
    let (job_id, visit_id) = (job_id.as_str(), visit_id.as_str());
    let picture = jpeg_with_gps();
    let pdf: &[u8] = b"%PDF-1.4\n%%EOF";

    // Said by the uploader, whatever the file is called.
    let (status, signature) = upload(
        &app,
        &tech,
        job_id,
        &[
            ("visit_id", None, visit_id.as_bytes()),
            ("kind", None, b"signature"),
            ("file", Some("IMG_0001.JPG"), &picture),
        ],
    )
    .await;
    assert_eq!(status, 201, "{signature}");
    assert_eq!(signature["kind"], "signature");
    // Not said: a picture is a photo (even one named like the old signatures), the rest documents.
    let (_, photo) = upload(
        &app,
        &tech,
        job_id,
        &[("file", Some("signature-Old.jpg"), &picture)],
    )
    .await;
    assert_eq!(photo["kind"], "photo");
    let (_, document) = upload(&app, &owner, job_id, &[("file", Some("permit.pdf"), pdf)]).await;
    assert_eq!(document["kind"], "document");
    // A document may be a picture too (a scanned plan).
    let (_, scan) = upload(
        &app,
        &owner,
        job_id,
        &[
            ("kind", None, b"document"),
            ("file", Some("plan.jpg"), &picture),
        ],
    )
    .await;
    assert_eq!(scan["kind"], "document");

    // Refused, naming the field: an unknown kind, and a signature that is no picture.
    let (status, bad) = upload(
        &app,
        &owner,
        job_id,
        &[("kind", None, b"selfie"), ("file", Some("a.jpg"), &picture)],
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "kind");
    let (status, bad) = upload(
        &app,
        &owner,
        job_id,
        &[("kind", None, b"signature"), ("file", Some("a.pdf"), pdf)],
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "kind");

    // The temporary-upload way (the field app's): `kind` in the JSON body.
    let upload_id = app
        .multipart(
            Method::POST,
            "/api/v1/uploads",
            &tech.token,
            &[("file", Some("sig.jpg"), &picture)],
        )
        .await
        .expect(201)
        .body["id"]
        .clone();
    let attached = app
        .post(
            &format!("/api/v1/jobs/{job_id}/attachments"),
            &tech.token,
            json!({"upload_id": upload_id, "visit_id": visit_id, "kind": "signature"}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(attached["kind"], "signature");
    let bad = app
        .post(
            &format!("/api/v1/jobs/{job_id}/attachments"),
            &tech.token,
            json!({"upload_id": upload_id, "kind": "selfie"}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);

    let listed = app
        .get(&format!("/api/v1/jobs/{job_id}/attachments"), &owner.token)
        .await
        .expect(200)
        .body;
    let kinds: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["signature", "photo", "document", "document", "signature"]
    );
}
