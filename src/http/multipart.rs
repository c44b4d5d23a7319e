//! Reading a `multipart/form-data` upload of one file (`file`) and, for some
//! endpoints, a few short text fields. The file is counted as it streams in and
//! refused past the endpoint's limit; what the bytes are is for the caller to sniff.
//! Endpoints that take either a file or JSON naming one use [`FileOrJson`].

use std::collections::HashMap;

use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;

use super::extract::Json;
use super::{ApiError, Edge, ErrorCode};

/// The largest file the upload endpoints take (job attachments, temporary uploads):
/// a full-resolution phone photo or a scanned document.
pub const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;
/// Room for the multipart framing and the text parts around a file.
pub const FRAMING_BYTES: usize = 64 * 1024;

/// The body limit of an endpoint taking a file of at most `max_file_bytes`; the file
/// itself is counted as it streams in (by [`read`]).
pub fn body_limit(max_file_bytes: usize) -> DefaultBodyLimit {
    DefaultBodyLimit::max(max_file_bytes + FRAMING_BYTES)
}

/// Whether a request's `Content-Type` is `multipart/form-data`.
pub fn is_multipart(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The boundary of a `multipart/form-data` request (RFC 7578 §4.1).
pub fn boundary(headers: &axum::http::HeaderMap) -> Option<String> {
    if !is_multipart(headers) {
        return None;
    }
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    value
        .split(';')
        .skip(1)
        .find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| value.trim().trim_matches('"').to_string())
        })
        .filter(|boundary| !boundary.is_empty())
}

fn not_multipart() -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        "send the file as multipart/form-data with a `file` part",
    )
}

/// A `multipart/form-data` body; anything else is a problem+json 415.
pub struct Form(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Multipart::from_request(request, state)
            .await
            .map(Form)
            .map_err(|_| not_multipart())
    }
}

/// A file (`multipart/form-data`, read with [`read`]) or a JSON body naming what to
/// use instead, such as a temporary upload (`{"upload_id": …}`). The JSON keeps the
/// API's usual size limit, whatever the endpoint allows for files.
pub enum FileOrJson<T> {
    File(Multipart),
    Json(T),
}

impl<T: DeserializeOwned, S: Edge> FromRequest<S> for FileOrJson<T> {
    type Rejection = ApiError;

    async fn from_request(mut request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if is_multipart(request.headers()) {
            return Form::from_request(request, state)
                .await
                .map(|Form(multipart)| FileOrJson::File(multipart));
        }
        DefaultBodyLimit::max(state.config().max_body_bytes).apply(&mut request);
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(FileOrJson::Json(value)),
            Err(error) if error.code == ErrorCode::UnsupportedMediaType => Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the file as multipart/form-data, or JSON with Content-Type: application/json",
            )),
            Err(error) => Err(error),
        }
    }
}

/// An uploaded file and the text fields that came with it.
pub struct Upload {
    /// As the client named it (display only).
    pub filename: Option<String>,
    pub bytes: Bytes,
    pub fields: HashMap<String, String>,
}

pub fn too_large(max_bytes: usize) -> ApiError {
    let mib = max_bytes as f64 / (1024.0 * 1024.0);
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("a file may be at most {mib} MiB"),
    )
}

/// Read a `file` part of at most `max_bytes` (required, not empty) and the text parts
/// named in `text_fields` (each at most 1 KiB); any other part is a 422 naming it.
pub async fn read(
    mut multipart: Multipart,
    max_bytes: usize,
    text_fields: &[&str],
) -> Result<Upload, ApiError> {
    let bad = |detail: String| ApiError::field("file", detail);
    let mut file: Option<(Option<String>, Bytes)> = None;
    let mut fields = HashMap::new();
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(format!("the multipart body is malformed: {e}")))?
    {
        let name = field.name().map(String::from);
        match name.as_deref() {
            Some("file") => {
                let filename = field.file_name().map(String::from);
                let mut buf = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large(max_bytes)
                    } else {
                        bad(format!("the upload broke off: {e}"))
                    }
                })? {
                    if buf.len() + chunk.len() > max_bytes {
                        return Err(too_large(max_bytes));
                    }
                    buf.extend_from_slice(&chunk);
                }
                file = Some((filename, buf.freeze()));
            }
            Some(other) if text_fields.contains(&other) => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| ApiError::field(other, e.to_string()))?;
                if text.len() > 1024 {
                    return Err(ApiError::field(other, "is too long"));
                }
                if text.contains('\0') {
                    return Err(crate::http::extract::nul_field(other));
                }
                fields.insert(other.to_string(), text.trim().to_string());
            }
            Some(other) => {
                let expected = if text_fields.is_empty() {
                    "send only `file`".to_string()
                } else {
                    format!("send `file` and optionally {}", text_fields.join(", "))
                };
                return Err(ApiError::field(
                    other.to_string(),
                    format!("unknown part; {expected}"),
                ));
            }
            None => return Err(bad("a part without a name".into())),
        }
    }
    let Some((filename, bytes)) = file else {
        return Err(ApiError::field("file", "is required"));
    };
    if bytes.is_empty() {
        return Err(ApiError::field("file", "is empty"));
    }
    Ok(Upload {
        filename,
        bytes,
        fields,
    })
}
