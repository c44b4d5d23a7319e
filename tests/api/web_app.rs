//! The web app served by the binary (`http::assets`): files, client-side routes,
//! caching, precompressed variants and the browser security headers.

use std::path::PathBuf;

use reqwest::header::HeaderMap;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app_with};

const INDEX: &str = "<!doctype html><title>jobber</title><script type=\"module\" src=\"/assets/app-3f9a1c.js\"></script>";
const FIELD_INDEX: &str = "<!doctype html><title>jobber field</title><script type=\"module\" src=\"/assets/field-1a2b3c.js\"></script>";
const SCRIPT: &str = "console.log('the app');";

/// A fake `ui/dist`: index.html, one hashed script with its .br and .gz, a favicon.
fn fake_dist() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("jobber-ui-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(dir.join("index.html"), INDEX).unwrap();
    std::fs::write(
        dir.join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    std::fs::write(dir.join("assets/app-3f9a1c.js"), SCRIPT).unwrap();
    std::fs::create_dir_all(dir.join("field")).unwrap();
    std::fs::write(dir.join("field/index.html"), FIELD_INDEX).unwrap();
    std::fs::write(
        dir.join("field/sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    std::fs::write(
        dir.join("field/manifest.webmanifest"),
        "{\"name\":\"jobber field\"}",
    )
    .unwrap();
    std::fs::write(dir.join("assets/app-3f9a1c.js.br"), b"brotli bytes").unwrap();
    std::fs::write(dir.join("assets/app-3f9a1c.js.gz"), b"gzip bytes").unwrap();
    dir
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = app.http.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn assert_protected(headers: &HeaderMap) {
    let csp = header(headers, "content-security-policy").expect("a CSP");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(directive), "CSP lacks {directive}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(csp.contains("connect-src 'self' ws://127.0.0.1:"), "{csp}");
    assert_eq!(header(headers, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"));
    assert_eq!(
        header(headers, "referrer-policy"),
        Some("strict-origin-when-cross-origin")
    );
}

#[tokio::test]
async fn the_app_is_served_with_caching_compression_and_security_headers() {
    let dist = fake_dist();
    let app = spawn_app_with(|config| config.ui_dir = Some(dist.clone())).await;

    // The root and any route of the app answer index.html, never cached stale.
    for path in [
        "/",
        "/clients",
        "/clients/0190a1b2/edit",
        "/sign-in?next=%2Fclients",
    ] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, INDEX.as_bytes(), "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-cache"),
            "{path}"
        );
        assert_protected(&headers);
    }

    // The technician app has its own page under /field, with its manifest and a
    // service worker that is always revalidated (a new release reaches the phones).
    for path in [
        "/field",
        "/field/",
        "/field/visits/0190a1b2",
        "/field/timesheet",
    ] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(body, FIELD_INDEX.as_bytes(), "{path}");
        assert_eq!(
            header(&headers, "cache-control"),
            Some("no-cache"),
            "{path}"
        );
        assert_protected(&headers);
        let csp = header(&headers, "content-security-policy").unwrap();
        assert!(
            csp.contains("worker-src 'self'") && csp.contains("manifest-src 'self'"),
            "{csp}"
        );
    }
    let (status, headers, _) = get(&app, "/field/sw.js", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let (status, headers, _) = get(&app, "/field/manifest.webmanifest", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/manifest+json")
    );
    let (status, _, body) = get(&app, "/fieldwork", &[]).await;
    assert_eq!((status, body.as_slice()), (200, INDEX.as_bytes()));

    // A hashed asset: a year, immutable, in the best encoding the browser takes.
    let asset = "/assets/app-3f9a1c.js";
    let (status, headers, body) =
        get(&app, asset, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"brotli bytes");
    assert_eq!(header(&headers, "content-encoding"), Some("br"));
    assert_eq!(header(&headers, "vary"), Some("Accept-Encoding"));
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/javascript; charset=utf-8")
    );
    let (_, headers, body) = get(&app, asset, &[("accept-encoding", "gzip")]).await;
    assert_eq!(body, b"gzip bytes");
    assert_eq!(header(&headers, "content-encoding"), Some("gzip"));
    let (_, headers, body) = get(&app, asset, &[("accept-encoding", "br;q=0, identity")]).await;
    assert_eq!(body, SCRIPT.as_bytes());
    assert_eq!(header(&headers, "content-encoding"), None);
    assert_eq!(header(&headers, "vary"), Some("Accept-Encoding"));

    // The browser sends its session cookie with every request: the app's files stay
    // cacheable (they are the same for everyone), unlike the API's answers.
    let (_, headers, _) = get(&app, asset, &[("cookie", "jobber_session=abc")]).await;
    assert_eq!(
        header(&headers, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let (_, headers, _) = get(&app, "/healthz", &[("cookie", "jobber_session=abc")]).await;
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));

    // Other files of the build are served but revalidated.
    let (status, headers, _) = get(&app, "/favicon.svg", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("image/svg+xml"));
    assert_eq!(header(&headers, "cache-control"), Some("no-cache"));

    // A missing file is a 404, not the app; so is anything under /api/.
    for path in [
        "/assets/app-000000.js",
        "/api/v1/nothing-here",
        "/api",
        "/.env",
    ] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("application/problem+json"),
            "{path}"
        );
        let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(problem["code"], "not_found", "{path}");
    }
    // Only GET and HEAD reach the app.
    let post = app.http.post(app.url("/clients")).send().await.unwrap();
    assert_eq!(post.status(), 404);
    let head = app.http.head(app.url("/clients")).send().await.unwrap();
    assert_eq!(head.status(), 200);

    let _ = std::fs::remove_dir_all(&dist);
}

#[tokio::test]
async fn without_a_built_app_the_root_says_how_to_build_it() {
    let empty = std::env::temp_dir().join(format!("jobber-ui-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&empty).unwrap();
    let app = spawn_app_with(|config| config.ui_dir = Some(empty.clone())).await;

    for path in ["/", "/clients"] {
        let (status, headers, body) = get(&app, path, &[]).await;
        assert_eq!(status, 200);
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("npm run build"), "{body}");
        assert!(!body.contains("<script"), "{body}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_protected(&headers);
    }
    let (status, _, _) = get(&app, "/favicon.svg", &[]).await;
    assert_eq!(status, 404);
    let _ = std::fs::remove_dir_all(&empty);
}
