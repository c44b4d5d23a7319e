//! image.processing: thumbnails of job photos and client avatars, made by the worker
//! from what was uploaded, upright, downloadable by signed URL, and cleaned up with
//! what they belong to.

use std::io::Cursor;
use std::time::Duration;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use jobber::config::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::background::{wait_until, with_worker};
use crate::helpers::{Session, TestApp, spawn_app_with};

/// A `width` x `height` JPEG whose EXIF says "rotate 90° clockwise to show"
/// (orientation 6), as a phone writes a portrait photo; it also names a place.
fn sideways_photo(width: u32, height: u32) -> Vec<u8> {
    let mut plain = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([40, 140, 60])))
        .write_to(&mut plain, ImageFormat::Jpeg)
        .unwrap();
    let plain = plain.into_inner();
    // Big-endian TIFF, IFD0: ImageDescription "GPS 40.7N" (at offset 38), Orientation 6.
    let mut tiff = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 2]);
    tiff.extend_from_slice(&[0x01, 0x0E, 0, 2, 0, 0, 0, 10, 0, 0, 0, 38]);
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    tiff.extend_from_slice(b"GPS 40.7N\0");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let length = u16::try_from(app1.len() + 2).unwrap().to_be_bytes();
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xFF, 0xE1, length[0], length[1]]);
    jpeg.extend_from_slice(&app1);
    jpeg.extend_from_slice(&plain[2..]);
    jpeg
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(RgbImage::from_pixel(width, height, Rgb([200, 30, 30])))
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// GET a signed URL (on the configured public address) on this test's server.
async fn download(app: &TestApp, url: &str) -> (u16, Vec<u8>) {
    let response = app.get_public(url).await;
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

fn dimensions(jpeg: &[u8]) -> (u32, u32) {
    let picture = image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).unwrap();
    (picture.width(), picture.height())
}

async fn job_for(app: &TestApp, owner: &Session) -> String {
    let client = app
        .create_client(owner, json!({"first_name": "Ines", "last_name": "Moreau"}))
        .await;
    let job = app
        .post(
            "/api/v1/jobs",
            &owner.token,
            json!({"client_id": client["id"], "title": "Deck repair"}),
        )
        .await
        .expect(201)
        .body;
    job["id"].as_str().unwrap().to_string()
}

async fn attachments(app: &TestApp, owner: &Session, job: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/jobs/{job}/attachments"), &owner.token)
        .await
        .expect(200)
        .body
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn photos_get_upright_thumbnails_and_documents_none() {
    let app = spawn_app_with(with_worker(Role::All, None)).await;
    let owner = app.signup("Thumb Co").await;
    let job = job_for(&app, &owner).await;
    let path = format!("/api/v1/jobs/{job}/attachments");

    let photo = app
        .multipart(
            Method::POST,
            &path,
            &owner.token,
            &[("file", Some("deck.jpg"), &sideways_photo(1200, 800))],
        )
        .await
        .expect(201)
        .body;
    assert_eq!(photo["thumbnail_status"], "pending", "{photo}");
    assert_eq!(photo["thumbnail_url"], Value::Null);
    let pdf = app
        .multipart(
            Method::POST,
            &path,
            &owner.token,
            &[("file", Some("permit.pdf"), b"%PDF-1.4\n%%EOF\n")],
        )
        .await
        .expect(201)
        .body;
    assert_eq!(pdf["thumbnail_status"], Value::Null, "documents have none");
    // Passes the sniffing (JPEG's first bytes) but is no picture.
    let broken = app
        .multipart(
            Method::POST,
            &path,
            &owner.token,
            &[(
                "file",
                Some("broken.jpg"),
                &[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0x34, 0xFF, 0xD9],
            )],
        )
        .await
        .expect(201)
        .body;

    let settled = wait_until(Duration::from_secs(30), || async {
        attachments(&app, &owner, &job)
            .await
            .iter()
            .all(|a| a["thumbnail_status"] != "pending")
    })
    .await;
    assert!(settled, "{:?}", attachments(&app, &owner, &job).await);
    let listed = attachments(&app, &owner, &job).await;
    let find = |id: &Value| listed.iter().find(|a| a["id"] == *id).unwrap().clone();
    let photo_now = find(&photo["id"]);
    assert_eq!(photo_now["thumbnail_status"], "ready");
    assert_eq!(find(&broken["id"])["thumbnail_status"], "failed");
    assert_eq!(find(&broken["id"])["thumbnail_url"], Value::Null);
    assert_eq!(find(&pdf["id"])["thumbnail_status"], Value::Null);

    // Turned upright (800 x 1200), then fitted in 480 x 480.
    let thumbnail_url = photo_now["thumbnail_url"].as_str().unwrap().to_string();
    let (status, thumbnail) = download(&app, &thumbnail_url).await;
    assert_eq!(status, 200);
    assert_eq!(dimensions(&thumbnail), (320, 480));
    assert!(!String::from_utf8_lossy(&thumbnail).contains("GPS"));
    // The stored photo lost the place but kept its orientation.
    let (_, original) = download(&app, photo_now["url"].as_str().unwrap()).await;
    assert!(!String::from_utf8_lossy(&original).contains("GPS"));
    assert_eq!(dimensions(&original), (1200, 800));

    // The job ran once; running the queue's work again changes nothing.
    let account_id = owner.account_id.parse().unwrap();
    let id = photo["id"].as_str().unwrap().parse().unwrap();
    let storage = jobber::platform::storage::Storage::from_config(
        &crate::helpers::test_config(app.data_dir.clone()),
        b"unused",
    )
    .unwrap();
    jobber::modules::attachments::service::make_thumbnail(&app.db, &storage, account_id, id)
        .await
        .unwrap();
    assert_eq!(
        find(&photo["id"]),
        attachments(&app, &owner, &job)
            .await
            .into_iter()
            .find(|a| a["id"] == photo["id"])
            .map(|mut a| {
                // Signed URLs differ by their expiry only.
                a["url"] = photo_now["url"].clone();
                a["thumbnail_url"] = photo_now["thumbnail_url"].clone();
                a
            })
            .unwrap()
    );

    // Removing the photo removes its thumbnail.
    app.delete(
        &format!("{path}/{}", photo["id"].as_str().unwrap()),
        &owner.token,
    )
    .await
    .expect(204);
    assert_eq!(download(&app, &thumbnail_url).await.0, 404);
}

#[tokio::test]
async fn client_avatars_are_cropped_square_replaced_and_removed() {
    let app = spawn_app_with(with_worker(Role::All, None)).await;
    let owner = app.signup("Avatar Co").await;
    let tech = app.add_user(&owner, "technician").await;
    let other = app.signup("Other Co").await;
    let client = app
        .create_client(&owner, json!({"company_name": "Oak & Elm"}))
        .await;
    let id = client["id"].as_str().unwrap();
    let path = format!("/api/v1/clients/{id}/avatar");
    assert_eq!(client["avatar_url"], Value::Null);
    app.get(&path, &owner.token)
        .await
        .problem(404, "avatar_not_found");

    // Only pictures, only office staff, only one's own clients.
    app.multipart(
        Method::PUT,
        &path,
        &owner.token,
        &[("file", Some("a.pdf"), b"%PDF-1.4\n")],
    )
    .await
    .problem(415, "unsupported_media_type");
    app.multipart(
        Method::PUT,
        &path,
        &tech.token,
        &[("file", Some("a.png"), &png(10, 10))],
    )
    .await
    .problem(403, "forbidden");
    app.multipart(
        Method::PUT,
        &path,
        &other.token,
        &[("file", Some("a.png"), &png(10, 10))],
    )
    .await
    .problem(404, "client_not_found");
    let empty = app
        .multipart(
            Method::PUT,
            &path,
            &owner.token,
            &[("file", Some("a.png"), b"")],
        )
        .await;
    assert_eq!(
        (empty.status.as_u16(), empty.fields()),
        (422, vec!["file".to_string()])
    );

    let uploaded = app
        .multipart(
            Method::PUT,
            &path,
            &owner.token,
            &[("file", Some("me.jpg"), &sideways_photo(900, 300))],
        )
        .await
        .expect(200)
        .body;
    assert_eq!(uploaded["avatar_status"], "pending");
    assert_eq!(
        uploaded["version"], client["version"],
        "an avatar is no edit of the client"
    );
    let ready = || async {
        let now = app
            .get(&format!("/api/v1/clients/{id}"), &owner.token)
            .await
            .expect(200)
            .body;
        (now["avatar_status"] == "ready").then_some(now)
    };
    assert!(
        wait_until(Duration::from_secs(30), || async {
            ready().await.is_some()
        })
        .await
    );
    let first = ready().await.unwrap();
    let avatar_url = first["avatar_url"].as_str().unwrap();
    assert!(avatar_url.starts_with(&format!("/api/v1/clients/{id}/avatar?v=")));
    let redirect = app.get(avatar_url, &owner.token).await.expect(307);
    let first_file = redirect.header("location").unwrap().to_string();
    let (status, jpeg) = download(&app, &first_file).await;
    assert_eq!(status, 200);
    assert_eq!(dimensions(&jpeg), (256, 256));
    assert!(!String::from_utf8_lossy(&jpeg).contains("GPS"));
    app.get(&path, &other.token)
        .await
        .problem(404, "client_not_found");

    // A new picture replaces the old one, whose file goes.
    app.multipart(
        Method::PUT,
        &path,
        &owner.token,
        &[("file", Some("new.png"), &png(64, 32))],
    )
    .await
    .expect(200);
    assert_eq!(
        download(&app, &first_file).await.0,
        404,
        "old avatar deleted"
    );
    assert!(
        wait_until(Duration::from_secs(30), || async {
            ready().await.is_some()
        })
        .await
    );
    let second = ready().await.unwrap();
    assert_ne!(second["avatar_url"], first["avatar_url"]);
    let second_file = app
        .get(second["avatar_url"].as_str().unwrap(), &owner.token)
        .await
        .expect(307)
        .header("location")
        .unwrap()
        .to_string();
    assert_eq!(
        dimensions(&download(&app, &second_file).await.1),
        (256, 256)
    );

    // Or a picture uploaded before (POST /uploads), used up by it; a PDF is refused.
    let pdf = app
        .multipart(
            Method::POST,
            "/api/v1/uploads",
            &owner.token,
            &[("file", Some("a.pdf"), b"%PDF-1.4\n%%EOF\n")],
        )
        .await
        .expect(201)
        .body;
    let refused = app
        .put(&path, &owner.token, json!({"upload_id": pdf["id"]}))
        .await
        .problem(415, "unsupported_media_type");
    assert_eq!(refused.fields(), vec!["upload_id".to_string()]);
    let upload = app
        .multipart(
            Method::POST,
            "/api/v1/uploads",
            &owner.token,
            &[("file", Some("c.png"), &png(40, 80))],
        )
        .await
        .expect(201)
        .body;
    let by_upload = app
        .put(&path, &owner.token, json!({"upload_id": upload["id"]}))
        .await
        .expect(200)
        .body;
    assert_eq!(by_upload["avatar_status"], "pending");
    assert_eq!(
        download(&app, &second_file).await.0,
        404,
        "old avatar deleted"
    );
    app.put(&path, &owner.token, json!({"upload_id": upload["id"]}))
        .await
        .problem(404, "upload_not_found");
    assert!(
        wait_until(Duration::from_secs(30), || async {
            ready().await.is_some()
        })
        .await
    );
    let third = ready().await.unwrap();
    let third_file = app
        .get(third["avatar_url"].as_str().unwrap(), &owner.token)
        .await
        .expect(307)
        .header("location")
        .unwrap()
        .to_string();
    assert_eq!(dimensions(&download(&app, &third_file).await.1), (256, 256));

    let removed = app.delete(&path, &owner.token).await.expect(200).body;
    assert_eq!(removed["avatar_url"], Value::Null);
    assert_eq!(removed["avatar_status"], Value::Null);
    assert_eq!(download(&app, &third_file).await.0, 404);
    app.get(&path, &owner.token)
        .await
        .problem(404, "avatar_not_found");
    let history = app
        .get(&format!("/api/v1/clients/{id}/activity"), &owner.token)
        .await
        .expect(200)
        .body;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"avatar_changed") && actions.contains(&"avatar_removed"),
        "{actions:?}"
    );
}

/// The same background work on S3 (moto): thumbnails, avatars and CSV exports are
/// written to the bucket and handed out by presigned URLs.
#[tokio::test]
async fn pictures_and_exports_are_made_on_s3_too() {
    use crate::files::{create_bucket, s3_config, start_moto};
    let Some(moto) = start_moto().await else {
        return;
    };
    let bucket = "jobber-background";
    create_bucket(&moto, bucket).await;
    let storage = s3_config(&moto, bucket);
    let app = spawn_app_with(move |c| {
        with_worker(Role::All, None)(c);
        c.storage = storage;
    })
    .await;
    let owner = app.signup("S3 Pictures").await;
    let job = job_for(&app, &owner).await;
    let in_bucket = |url: &str| {
        assert!(
            url.starts_with(&format!(
                "{}/{bucket}/tenant-files/uploads/{}/",
                moto.endpoint, owner.account_id
            )),
            "{url}"
        );
    };
    let fetch = |url: String| async move {
        let response = reqwest::get(&url).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{url}");
        response.bytes().await.unwrap().to_vec()
    };

    let photo = app
        .multipart(
            Method::POST,
            &format!("/api/v1/jobs/{job}/attachments"),
            &owner.token,
            &[("file", Some("deck.jpg"), &sideways_photo(600, 300))],
        )
        .await
        .expect(201)
        .body;
    let ready = wait_until(Duration::from_secs(30), || async {
        attachments(&app, &owner, &job).await[0]["thumbnail_status"] == "ready"
    })
    .await;
    assert!(ready, "{:?}", attachments(&app, &owner, &job).await);
    let thumbnail_url = attachments(&app, &owner, &job).await[0]["thumbnail_url"]
        .as_str()
        .unwrap()
        .to_string();
    in_bucket(&thumbnail_url);
    assert_eq!(dimensions(&fetch(thumbnail_url).await), (240, 480));
    assert_eq!(photo["thumbnail_status"], "pending");

    let client = app
        .create_client(&owner, json!({"first_name": "Sam", "last_name": "Sato"}))
        .await;
    let id = client["id"].as_str().unwrap();
    app.multipart(
        Method::PUT,
        &format!("/api/v1/clients/{id}/avatar"),
        &owner.token,
        &[("file", Some("sam.png"), &png(90, 60))],
    )
    .await
    .expect(200);
    let avatar_ready = wait_until(Duration::from_secs(30), || async {
        app.get(&format!("/api/v1/clients/{id}"), &owner.token)
            .await
            .body["avatar_status"]
            == "ready"
    })
    .await;
    assert!(avatar_ready);
    let avatar_url = app
        .get(&format!("/api/v1/clients/{id}/avatar"), &owner.token)
        .await
        .expect(307)
        .header("location")
        .unwrap()
        .to_string();
    in_bucket(&avatar_url);
    assert_eq!(dimensions(&fetch(avatar_url).await), (256, 256));

    let export = app
        .post(
            "/api/v1/reports/exports",
            &owner.token,
            json!({"kind": "clients"}),
        )
        .await
        .expect(202)
        .body;
    let path = format!("/api/v1/reports/exports/{}", export["id"].as_str().unwrap());
    let export_ready = wait_until(Duration::from_secs(30), || async {
        app.get(&path, &owner.token).await.body["status"] == "ready"
    })
    .await;
    assert!(export_ready);
    let url = app.get(&path, &owner.token).await.body["url"]
        .as_str()
        .unwrap()
        .to_string();
    in_bucket(&url);
    // S3 serves what was set on the object: a CSV is a download, never a page.
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/csv");
    assert_eq!(response.headers()["content-disposition"], "attachment");
    let csv = String::from_utf8(fetch(url).await).unwrap();
    assert!(csv.starts_with("name,company,email"), "{csv}");
    assert!(csv.contains("\r\nSam Sato,"), "{csv}");
}
