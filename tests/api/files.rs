//! File storage: the local disk store and its signed `/files/…` URLs (tampered,
//! expired and path-traversing ones refused), and S3 through moto's server (put,
//! get, presigned download, and the PDF endpoint's redirect to it).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use jobber::config::StorageConfig;
use jobber::modules::auth::token::TokenKeys;
use jobber::platform::storage::{ObjectKey, Storage};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, test_config};

/// The same store (and URL key) the running app uses.
pub fn app_storage(app: &TestApp, storage: StorageConfig) -> Storage {
    let keys = TokenKeys::load(None, &app.data_dir).unwrap();
    let mut config = test_config(app.data_dir.clone());
    config.storage = storage;
    Storage::from_config(&config, &keys.derive("storage-urls")).unwrap()
}

#[tokio::test]
async fn local_store_round_trip_and_signed_urls() {
    let app = spawn_app().await;
    let storage = app_storage(&app, StorageConfig::default());
    let (account, invoice) = (Uuid::now_v7(), Uuid::now_v7());
    let key = ObjectKey::invoice_pdf(account, invoice);
    assert_eq!(
        key.as_str(),
        format!("uploads/{account}/invoices/{invoice}.pdf")
    );
    assert_eq!(storage.get(&key).await.unwrap(), None);
    storage
        .put(&key, Bytes::from_static(b"%PDF-1.4 test"))
        .await
        .unwrap();
    assert!(
        app.data_dir
            .join(format!("files/uploads/{account}/invoices/{invoice}.pdf"))
            .is_file(),
        "stored under <data_dir>/files by the seed's key layout"
    );
    assert_eq!(
        storage.get(&key).await.unwrap().as_deref(),
        Some(&b"%PDF-1.4 test"[..])
    );

    // The signed URL downloads it, without a login.
    let url = storage
        .signed_url(&key, Duration::from_secs(300))
        .await
        .unwrap();
    let path = TestApp::local_path(&url).to_string();
    assert!(path.starts_with(&format!("/files/{}?expires=", key.as_str())));
    let response = app.http.get(app.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/pdf"
    );
    // Its type is final; a PDF opens in the browser's viewer (no download forced).
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers().get("content-disposition").is_none());
    assert_eq!(&response.bytes().await.unwrap()[..], b"%PDF-1.4 test");

    // Tampered: another signature, another expiry, another key.
    let (base, query) = path.split_once('?').unwrap();
    let expires: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();
    let sig = query
        .split('&')
        .find_map(|p| p.strip_prefix("sig="))
        .unwrap();
    let later = format!("{base}?expires={}&sig={sig}", expires + 3600);
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered_sig = format!("{base}?expires={expires}&sig={flipped}{}", &sig[1..]);
    let other_key = format!(
        "/files/uploads/{account}/invoices/{}.pdf?{query}",
        Uuid::now_v7()
    );
    for bad in [tampered_sig, later, other_key] {
        let reply = app
            .request(reqwest::Method::GET, &bad, None, None, &[])
            .await;
        reply.problem(404, "file_not_found");
    }
    // Path traversal never reaches the disk, signed or not.
    std::fs::write(app.data_dir.join("files/secret.txt"), "no").unwrap();
    for bad in [
        format!("/files/uploads/%2E%2E/%2E%2E/jwt.key?{query}"),
        format!("/files/..%2Fjwt.key?{query}"),
        format!("/files/uploads/{account}/..%2F..%2Fsecret.txt?{query}"),
    ] {
        let reply = app
            .request(reqwest::Method::GET, &bad, None, None, &[])
            .await;
        assert_eq!(reply.status.as_u16(), 404, "{bad}: {}", reply.text);
    }

    // Expired: a genuine signature past its time says so.
    let expired = storage.signed_url(&key, Duration::ZERO).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.request(
        reqwest::Method::GET,
        TestApp::local_path(&expired),
        None,
        None,
        &[],
    )
    .await
    .problem(410, "link_expired");

    storage.delete(&key).await.unwrap();
    assert_eq!(storage.get(&key).await.unwrap(), None);
    storage.delete(&key).await.unwrap();
}

/// moto's S3 server on a free loopback port, stopped on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn test_python() -> String {
    std::env::var("PYTHON_FOR_TESTS").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/test-venv/bin/python3").into()
    })
}

/// Start moto, or None (loudly) on a developer machine without it; CI must have it.
pub async fn start_moto() -> Option<Moto> {
    // Its HTTP clients may be the first of the process.
    jobber::cli::install_crypto_provider();
    let python = test_python();
    let ok = Command::new(&python)
        .args(["-c", "import moto.server"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").is_err(),
            "CI needs moto[server] in {python}; run scripts/install-test-deps.sh"
        );
        eprintln!("SKIPPING the S3 test: {python} has no moto (run scripts/install-test-deps.sh)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start moto: {e}"));
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{}/moto-api/", moto.endpoint))
            .send()
            .await
            .is_ok()
        {
            return Some(moto);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto did not start on port {port}");
}

/// A new bucket on moto.
pub async fn create_bucket(moto: &Moto, bucket: &str) {
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
}

/// Storage in `bucket` on moto, under the prefix `tenant-files/`.
pub fn s3_config(moto: &Moto, bucket: &str) -> StorageConfig {
    StorageConfig {
        url: Some(format!("s3://{bucket}/tenant-files")),
        endpoint: Some(moto.endpoint.clone()),
        region: Some("us-east-1".into()),
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing".to_string().into()),
    }
}

#[tokio::test]
async fn s3_store_through_moto() {
    let Some(moto) = start_moto().await else {
        return;
    };
    let http = reqwest::Client::new();
    let bucket = "jobber-files";
    create_bucket(&moto, bucket).await;

    let app = spawn_app_with(|c| c.storage = s3_config(&moto, bucket)).await;
    let storage = app_storage(&app, s3_config(&moto, bucket));
    let key = ObjectKey::invoice_pdf(Uuid::now_v7(), Uuid::now_v7());
    assert_eq!(storage.get(&key).await.unwrap(), None);
    storage
        .put(&key, Bytes::from_static(b"%PDF-1.4 s3"))
        .await
        .unwrap();
    assert_eq!(
        storage.get(&key).await.unwrap().as_deref(),
        Some(&b"%PDF-1.4 s3"[..])
    );
    let url = storage
        .signed_url(&key, Duration::from_secs(300))
        .await
        .unwrap();
    assert!(url.starts_with(&format!("{}/{bucket}/tenant-files/uploads/", moto.endpoint)));
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(&response.bytes().await.unwrap()[..], b"%PDF-1.4 s3");

    // The PDF endpoint stores into S3 and redirects to a presigned URL.
    let owner = app.signup("S3 Lawn").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Sam", "last_name": "Bucket"}))
        .await;
    let invoice = app
        .post(
            "/api/v1/invoices",
            &owner.token,
            json!({"client_id": client["id"], "title": "Mowing", "tax_rate_ids": [],
                   "lines": [{"name": "Mow", "quantity": 1, "unit_price": 4500}]}),
        )
        .await
        .expect(201)
        .body;
    let id = invoice["id"].as_str().unwrap();
    let pdf = app
        .http
        .get(app.url(&format!("/api/v1/invoices/{id}/pdf")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let direct = pdf.bytes().await.unwrap();
    assert!(direct.starts_with(b"%PDF-"));
    let redirect = app
        .get(
            &format!("/api/v1/invoices/{id}/pdf?redirect=true"),
            &owner.token,
        )
        .await
        .expect(302);
    let location = redirect.header("location").unwrap().to_string();
    let stored_key = format!("uploads/{}/invoices/{id}.pdf", owner.account_id);
    assert!(
        location.starts_with(&format!(
            "{}/{bucket}/tenant-files/{stored_key}?",
            moto.endpoint
        )),
        "{location}"
    );
    let downloaded = http.get(&location).send().await.unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap(), direct);
}

/// S3 on a port nothing listens on: every storage request fails at once.
fn storage_down(config: &mut jobber::config::Config) {
    let port = crate::background::free_port();
    config.storage = StorageConfig {
        url: Some("s3://down".into()),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: Some("us-east-1".into()),
        access_key_id: Some("testing".into()),
        secret_access_key: Some("testing".to_string().into()),
    };
}

/// An upload while S3 is unreachable is an outage: `503 storage_unavailable` with
/// `Retry-After`, not a 500.
#[tokio::test]
async fn an_unreachable_store_is_503_storage_unavailable() {
    let app = spawn_app_with(storage_down).await;
    let owner = app.signup("Offline Files").await;
    let reply = app
        .multipart(
            reqwest::Method::POST,
            "/api/v1/uploads",
            &owner.token,
            &[(
                "file",
                Some("photo.jpg"),
                &crate::attachments::jpeg_with_gps(),
            )],
        )
        .await
        .problem(503, "storage_unavailable");
    assert_eq!(reply.header("retry-after"), Some("30"));
}

#[tokio::test]
async fn pdfs_are_served_when_storage_is_down() {
    let app = spawn_app_with(storage_down).await;
    let owner = app.signup("Offline Lawn").await;
    let client = app
        .create_client(&owner, json!({"first_name": "Dee", "last_name": "Down"}))
        .await;
    let quote = app
        .post(
            "/api/v1/quotes",
            &owner.token,
            json!({"client_id": client["id"], "title": "Mowing", "tax_rate_ids": [],
                   "lines": [{"name": "Mow", "quantity": 1, "unit_price": 4500}]}),
        )
        .await
        .expect(201)
        .body;
    let id = quote["id"].as_str().unwrap();
    let started = std::time::Instant::now();
    let pdf = app
        .http
        .get(app.url(&format!("/api/v1/quotes/{id}/pdf")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "storage errors must not stall the request"
    );
    app.get(
        &format!("/api/v1/quotes/{id}/pdf?redirect=true"),
        &owner.token,
    )
    .await
    .problem(503, "unavailable");
}
