//! The HTTP route of signed downloads (`GET /files/{key}?expires=&sig=`).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::error::{Error, ErrorCode};
use crate::http::extract::Query;
use crate::platform::storage::{ObjectKey, UrlCheck};

#[derive(Debug, Deserialize)]
struct SignedParams {
    expires: i64,
    sig: String,
}

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/files/{*key}", axum::routing::get(download))
}

async fn download(
    State(state): State<AppState>,
    axum::extract::Path(key): axum::extract::Path<String>,
    Query(params): Query<SignedParams>,
) -> Result<Response, Error> {
    let not_found = || Error::code(ErrorCode::FileNotFound);
    // A malformed key was never signed by us: the same answer as a forged one.
    let key = ObjectKey::parse(&key).ok_or_else(not_found)?;
    if !state.storage.is_local() {
        return Err(not_found());
    }
    match state.storage.verify(
        &key,
        params.expires,
        &params.sig,
        chrono::Utc::now().timestamp(),
    ) {
        UrlCheck::Valid => {}
        UrlCheck::Expired => {
            return Err(Error::new(
                ErrorCode::LinkExpired,
                "this download link has expired; ask for a new one",
            ));
        }
        UrlCheck::Invalid => return Err(not_found()),
    }
    let bytes = state
        .storage
        .get(&key)
        .await
        .map_err(Error::internal)?
        .ok_or_else(not_found)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(key.content_type()),
            ),
            // The URL is a capability: keep it out of shared caches.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
        safe_serving(key.content_type()),
        bytes,
    )
        .into_response())
}

/// Headers that keep a stored file from running as a page of ours, whatever its
/// bytes hold (uploads are checked for HTML too: `checks::check_picture`):
/// the browser takes the declared type as final (`nosniff`); a picture opens in a
/// sandbox with no script; a PDF opens in the browser's viewer (which a sandbox
/// would block); anything else is a download, never displayed.
fn safe_serving(content_type: &str) -> axum::http::HeaderMap {
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if content_type.starts_with("image/") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        );
    } else if content_type != "application/pdf" {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    headers
}
