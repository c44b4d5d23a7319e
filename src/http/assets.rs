//! The web app: the files of `ui/dist` (built by `npm run build` in `ui/`), served for
//! every GET that no API route answers. It owns caching, precompressed variants and
//! the browser-facing security headers of the app; it must never answer a path under
//! `/api/` (those stay problem+json 404s) nor read outside its directory.
//!
//! - Release builds carry the files inside the binary (`rust-embed`); debug builds
//!   read `ui/dist` from disk, so a rebuilt UI shows without recompiling; `ui_dir`
//!   (`--ui-dir`, `JOBBER_UI_DIR`) points either at another directory.
//! - `/assets/*` names carry a content hash: cached for a year, `immutable`.
//!   Everything else, `index.html` above all, is `no-cache` (revalidated, so a new
//!   release is picked up on the next load).
//! - `x.js.br` / `x.js.gz`, made at build time (`ui/scripts/compress.mjs`), are sent
//!   for `x.js` when `Accept-Encoding` allows, with `Content-Encoding` and
//!   `Vary: Accept-Encoding`.
//! - A path without a file extension is a route of the app: it gets `index.html`
//!   and the app's router draws the screen; under `/field` it gets
//!   `field/index.html`, the technician app (its own bundle, manifest and service
//!   worker, `field/sw.js`, whose scope is `/field/`).
//! - When the UI was never built, `/` answers a short page saying how to build it.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::{ApiError, Edge, ErrorCode};

#[derive(rust_embed::Embed)]
#[folder = "ui/dist/"]
// `cargo build` works before the UI was ever built: nothing is embedded then.
#[allow_missing = true]
struct Dist;

/// Marks a response whose `Cache-Control` is the same for everyone (a file of the
/// app, not account data), so `middleware::harden` keeps it on requests that carry
/// the session cookie.
#[derive(Clone, Copy, Debug)]
pub struct PublicAsset;

const INDEX: &str = "index.html";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// The router's fallback: the app's files and routes for GET and HEAD; the API's
/// problem+json 404 for everything else.
pub async fn fallback<S: Edge>(State(state): State<S>, request: Request) -> Response {
    let path = request.uri().path();
    if is_server_path(path)
        || !(request.method() == Method::GET || request.method() == Method::HEAD)
    {
        return ApiError::code(ErrorCode::NotFound).into_response();
    }
    let Some(relative) = clean(path) else {
        return ApiError::code(ErrorCode::NotFound).into_response();
    };
    let source = Source::new(state.config().ui_dir.as_deref());
    let headers = request.headers();
    let encodings = accepted(headers);

    // A name with an extension is a file (a missing one is a 404); any other path
    // is a screen of the app, drawn by its router from index.html.
    let is_file = relative
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .contains('.');
    if is_file {
        return match file(&source, relative, &encodings, headers).await {
            Some(response) => response,
            None => ApiError::code(ErrorCode::NotFound).into_response(),
        };
    }
    if let Some(response) = file(&source, page_for(relative), &encodings, headers).await {
        return framable(relative, response);
    }
    // A build without the field app still serves the office app.
    if let Some(response) = file(&source, INDEX, &encodings, headers).await {
        return framable(relative, response);
    }
    not_built(headers)
}

/// The technician app's own page: its bundle does not carry the office's code.
const FIELD_INDEX: &str = "field/index.html";

/// The HTML page that draws a route: `/field` and below is the technician app (a PWA
/// whose service worker has the scope `/field/`), everything else the office app.
fn page_for(route: &str) -> &'static str {
    if route == "field" || route.starts_with("field/") {
        FIELD_INDEX
    } else {
        INDEX
    }
}

/// The public request form (`/request/<slug>`) is made to be embedded in the
/// business's own website: its page, and only it, may be framed by any site.
/// Everything else keeps `frame-ancestors 'none'` (clickjacking).
fn framable(route: &str, mut response: Response) -> Response {
    let embeddable = route
        .strip_prefix("request/")
        .is_some_and(|slug| !slug.is_empty() && !slug.contains('/'));
    if embeddable {
        let headers = response.headers_mut();
        headers.remove(header::X_FRAME_OPTIONS);
        let csp = headers
            .get(header::CONTENT_SECURITY_POLICY)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.replace("frame-ancestors 'none'", "frame-ancestors *"));
        if let Some(value) = csp.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    response
}

/// Paths of the server's own (the API, signed file links, calendar feeds, health,
/// and `/metrics`, which lives on the admin listener): an unknown one there is a 404,
/// never the app, so a client or a scraper gets an answer it can read.
const SERVER_PATHS: &[&str] = &["api", "files", "calendar", "metrics", "healthz", "readyz"];

fn is_server_path(path: &str) -> bool {
    let first = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    SERVER_PATHS.contains(&first)
}

/// The path below the app's root, when it is one we may serve: plain segments of
/// letters, digits, `.`, `-`, `_`, `~`, `@`, none starting with a dot (no `..`,
/// no hidden files, nothing percent-encoded).
fn clean(path: &str) -> Option<&str> {
    let relative = path.strip_prefix('/')?;
    let relative = relative.strip_suffix('/').unwrap_or(relative);
    if relative.is_empty() {
        return Some("");
    }
    let ok = relative.split('/').all(|segment| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b'@'))
    });
    ok.then_some(relative)
}

enum Source<'a> {
    Embedded,
    Dir(&'a Path),
}

impl<'a> Source<'a> {
    fn new(dir: Option<&'a Path>) -> Self {
        match dir {
            Some(dir) => Source::Dir(dir),
            None => Source::Embedded,
        }
    }

    async fn read(&self, relative: &str) -> Option<Cow<'static, [u8]>> {
        match self {
            Source::Embedded => Dist::get(relative).map(|file| file.data),
            Source::Dir(dir) => {
                let path: PathBuf = dir.join(relative);
                match tokio::fs::metadata(&path).await {
                    Ok(meta) if meta.is_file() => tokio::fs::read(&path).await.ok().map(Cow::Owned),
                    _ => None,
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// The precompressed encodings the client takes, best first (RFC 9110 §12.5.3:
/// `q=0` refuses one).
fn accepted(headers: &HeaderMap) -> Vec<Encoding> {
    let mut brotli = false;
    let mut gzip = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                continue;
            }
            match name.as_str() {
                "br" => brotli = true,
                "gzip" | "x-gzip" => gzip = true,
                "*" => {
                    brotli = true;
                    gzip = true;
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    if brotli {
        out.push(Encoding::Brotli);
    }
    if gzip {
        out.push(Encoding::Gzip);
    }
    out
}

/// One file of the app, in the best encoding the client takes that exists.
async fn file(
    source: &Source<'_>,
    relative: &str,
    encodings: &[Encoding],
    headers: &HeaderMap,
) -> Option<Response> {
    let plain = source.read(relative).await?;
    let mut chosen = None;
    for &encoding in encodings {
        if let Some(data) = source
            .read(&format!("{relative}{}", encoding.suffix()))
            .await
        {
            chosen = Some((encoding, data));
            break;
        }
    }
    let hashed = relative.starts_with("assets/");
    let mut response = match chosen {
        Some((encoding, data)) => {
            let mut response = Response::new(Body::from(data));
            response.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(encoding.name()),
            );
            response
        }
        None => Response::new(Body::from(plain)),
    };
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(relative)),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if hashed { IMMUTABLE } else { NO_CACHE }),
    );
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    security_headers(out, headers);
    response.extensions_mut().insert(PublicAsset);
    Some(response)
}

/// What `/` answers when the binary was built without the UI.
fn not_built(headers: &HeaderMap) -> Response {
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, NO_CACHE),
        ],
        NOT_BUILT,
    )
        .into_response();
    security_headers(response.headers_mut(), headers);
    response
}

const NOT_BUILT: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>jobber: the web app is not built</title></head>
<body>
<h1>jobber is running, but its web app was not built</h1>
<p>The API works (see <a href=\"/api/docs\">the API documentation</a>). To get the web app,
build it and start jobber again from the source directory:</p>
<pre>make run</pre>
<p>or by hand: <code>cd ui &amp;&amp; npm ci &amp;&amp; npm run build</code>, then rebuild jobber
(<code>cargo build --release</code>) or point it at the build with
<code>--ui-dir ui/dist</code>.</p>
</body></html>
";

/// The app's browser protections: scripts, styles and connections from this origin
/// only (no inline script) — and Stripe.js, which the client hub's card form loads
/// (Stripe's documented CSP) — no framing, no sniffing, no referrer to other sites.
fn security_headers(out: &mut HeaderMap, request: &HeaderMap) {
    // The WebSocket of this origin: CSP's 'self' covers ws: only in newer browsers.
    let sockets = request
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self' https://js.stripe.com; style-src 'self'; img-src 'self' data: blob:; \
         font-src 'self'; connect-src 'self'{sockets} https://api.stripe.com; manifest-src 'self'; worker-src 'self'; \
         frame-src https://js.stripe.com https://hooks.stripe.com; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        out.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    out.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    out.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
}

/// The media type of a file of a Vite build, by its extension.
fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match extension.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_are_served() {
        assert_eq!(clean("/"), Some(""));
        assert_eq!(clean("/assets/index-ab12.js"), Some("assets/index-ab12.js"));
        assert_eq!(clean("/clients/0190/edit/"), Some("clients/0190/edit"));
        assert_eq!(clean("/../etc/passwd"), None);
        assert_eq!(clean("/assets/..%2f..%2fsecret"), None);
        assert_eq!(clean("/.env"), None);
        assert_eq!(clean("//etc/passwd"), None);
        assert_eq!(clean("/a\\b"), None);
    }

    #[test]
    fn the_servers_own_paths_are_never_the_app() {
        for path in [
            "/api",
            "/api/",
            "/api/v1/nope",
            "/metrics",
            "/files/x",
            "/calendar/a/b.ics",
        ] {
            assert!(is_server_path(path), "{path}");
        }
        for path in [
            "/",
            "/clients",
            "/apiary",
            "/metrics-dashboard",
            "/settings/api",
        ] {
            assert!(!is_server_path(path), "{path}");
        }
    }

    #[test]
    fn only_the_request_form_may_be_framed() {
        let page = || {
            let mut headers = HeaderMap::new();
            security_headers(&mut headers, &HeaderMap::new());
            let mut response = Response::new(Body::empty());
            *response.headers_mut() = headers;
            response
        };
        let framed = framable("request/acme-lawn", page());
        let csp = framed.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors *"), "{csp}");
        assert!(framed.headers().get(header::X_FRAME_OPTIONS).is_none());
        for route in [
            "requests",
            "requests/0190",
            "request",
            "clients",
            "request/a/b",
        ] {
            let kept = framable(route, page());
            assert_eq!(kept.headers()[header::X_FRAME_OPTIONS], "DENY", "{route}");
        }
    }

    #[test]
    fn the_field_app_has_its_own_page() {
        assert_eq!(page_for("field"), FIELD_INDEX);
        assert_eq!(page_for("field/visits/0190"), FIELD_INDEX);
        assert_eq!(page_for("fields"), INDEX);
        assert_eq!(page_for(""), INDEX);
        assert_eq!(page_for("jobs/field"), INDEX);
    }

    #[test]
    fn encodings_follow_accept_encoding() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
            accepted(&headers)
        };
        assert!(with("gzip, deflate, br") == vec![Encoding::Brotli, Encoding::Gzip]);
        assert!(with("gzip") == vec![Encoding::Gzip]);
        assert!(with("br;q=0, gzip;q=0.5") == vec![Encoding::Gzip]);
        assert!(with("identity").is_empty());
        assert!(accepted(&HeaderMap::new()).is_empty());
    }
}
