//! `Idempotency-Key` on POST, with Stripe's semantics: the first request with a key runs
//! and its response is stored for 24 hours; a retry with the same key and the same
//! request gets the stored response (`Idempotent-Replayed: true`); the same key with a
//! different request is refused (422); a retry while the first is still running gets
//! 409. Server errors are not stored, so the client may retry them (but see below for
//! one exception).
//!
//! The key row is claimed before the handler runs, in its own transaction. The
//! handler's first commit is held open ([`CommitHold`]) until its response is known,
//! and the response is stored in that transaction: if the process dies before it
//! commits, neither the change nor the answer exists and the claim is treated as
//! abandoned after [`ABANDONED_AFTER`], so the next retry runs the request again; once
//! it has committed, a retry replays the answer. A server error after the change was
//! made is stored too, since running the request again would repeat the change.
//!
//! The request body is read whole to fingerprint it: up to the API's body limit, or
//! up to the largest file an upload endpoint takes for a `multipart/form-data` body
//! (a retried photo upload is what keys are most for). A multipart body is
//! fingerprinted without its boundary, which a client may choose anew for a retry.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::http::extract::Ctx;
use crate::http::{ApiError, Edge, ErrorCode, multipart};
use crate::platform::database::{CommitHold, Db, Tx};
use crate::platform::idempotency::KEEP_HOURS;

pub const HEADER: &str = "idempotency-key";
const ABANDONED_AFTER_SECS: i64 = 300;
pub const ABANDONED_AFTER: std::time::Duration =
    std::time::Duration::from_secs(ABANDONED_AFTER_SECS as u64);
/// Response headers stored and replayed with the body.
const REPLAYED_HEADERS: [&str; 2] = ["location", "etag"];

enum Claim {
    /// This request owns the key: run it.
    Run,
    Replay {
        status: u16,
        body: Vec<u8>,
        content_type: Option<String>,
        headers: serde_json::Value,
    },
    InProgress,
    Mismatch,
}

pub async fn middleware<S: Edge>(State(state): State<S>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(HEADER) else {
        return next.run(request).await;
    };
    let key = match key
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
    {
        Some(key) => key.to_owned(),
        None => {
            return ApiError::new(
                ErrorCode::InvalidParameter,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response();
        }
    };
    let (mut parts, body) = request.into_parts();
    // Unauthenticated requests are not keyed: the handler will refuse them anyway.
    let Ok(ctx) = Ctx::from_request_parts(&mut parts, &state).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let boundary = multipart::boundary(&parts.headers);
    // The endpoint's own limit still applies as the body streams into it.
    let limit = match boundary {
        Some(_) => state
            .config()
            .max_body_bytes
            .max(multipart::MAX_FILE_BYTES + multipart::FRAMING_BYTES),
        None => state.config().max_body_bytes,
    };
    let bytes = match to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::code(ErrorCode::PayloadTooLarge).into_response(),
    };
    let fingerprint = {
        let mut hash = Sha256::new();
        // Keys belong to an account, and a request is the same only from the same user.
        hash.update(ctx.user_id.as_bytes());
        hash.update(parts.method.as_str());
        hash.update([0]);
        hash.update(parts.uri.path_and_query().map_or("", |p| p.as_str()));
        hash.update([0]);
        match &boundary {
            Some(boundary) => hash_without_boundary(&mut hash, &bytes, boundary),
            None => hash.update(&bytes),
        }
        hash.finalize().to_vec()
    };

    match claim(state.db(), &ctx, &key, &fingerprint).await {
        Err(error) => return error.into_response(),
        Ok(Claim::Mismatch) => {
            return ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request; use a new key for a new request",
            )
            .into_response();
        }
        Ok(Claim::InProgress) => {
            return ApiError::code(ErrorCode::IdempotencyInProgress).into_response();
        }
        Ok(Claim::Replay {
            status,
            body,
            content_type,
            headers,
        }) => {
            let mut response =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            if let Some(value) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            for name in REPLAYED_HEADERS {
                if let Some(value) = headers
                    .get(name)
                    .and_then(|v| v.as_str())
                    .and_then(|v| HeaderValue::from_str(v).ok())
                {
                    response.headers_mut().insert(name, value);
                }
            }
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
        Ok(Claim::Run) => {}
    }

    // The handler's first commit is held until its response is known, and the response
    // is stored in that same transaction: a crash can lose both or neither, never
    // leave a change behind a key whose retry would make it again.
    let hold = CommitHold::new(ctx.account_id);
    let response = hold
        .clone()
        .scope(next.run(Request::from_parts(parts, Body::from(bytes))))
        .await;
    let held = hold.take();
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            let error = ApiError::internal(anyhow::anyhow!("cannot buffer response: {error}"));
            return settle(state.db(), &ctx, &key, held, None)
                .await
                .unwrap_or(error)
                .into_response();
        }
    };
    let status = parts.status;
    // Errors are not kept, so the client may retry them; unless the change was made
    // (a held commit), when running the request again would repeat it.
    let keep =
        held.is_some() || !(status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS);
    let stored = keep.then(|| {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let replayed: serde_json::Map<String, serde_json::Value> = REPLAYED_HEADERS
            .iter()
            .filter_map(|name| {
                Some((
                    name.to_string(),
                    parts.headers.get(*name)?.to_str().ok()?.into(),
                ))
            })
            .collect();
        Stored {
            status: status.as_u16(),
            body: &body,
            content_type,
            headers: serde_json::Value::Object(replayed),
        }
    });
    if let Some(error) = settle(state.db(), &ctx, &key, held, stored.as_ref()).await {
        return error.into_response();
    }
    Response::from_parts(parts, Body::from(body))
}

/// Store the response for replays (or forget the key when there is none to keep), in
/// the held transaction when the handler left one. `Some(error)` when the held
/// transaction could not commit: the change did not happen and the client must be
/// told so instead of the handler's answer.
async fn settle(
    db: &Db,
    ctx: &Ctx,
    key: &str,
    held: Option<Tx>,
    stored: Option<&Stored<'_>>,
) -> Option<ApiError> {
    let Some(mut tx) = held else {
        match stored {
            Some(stored) => {
                if let Err(error) = complete(db, ctx, key, stored).await {
                    tracing::error!(error = %error, "cannot store idempotent response");
                }
            }
            None => release(db, ctx, key).await,
        }
        return None;
    };
    let written = match stored {
        Some(stored) => complete_in(&mut tx, ctx, key, stored).await,
        None => release_in(&mut tx, ctx, key).await,
    };
    let committed = match written {
        Ok(()) => tx.commit().await,
        Err(error) => Err(error),
    };
    match committed {
        Ok(()) => {
            crate::platform::process::failpoint("idempotency-after-commit");
            None
        }
        Err(error) => {
            release(db, ctx, key).await;
            Some(ApiError::from(error))
        }
    }
}

/// Hash a multipart body as its parts between delimiters (each with its length, so
/// no two bodies hash alike), leaving out the boundary the delimiters carry.
fn hash_without_boundary(hash: &mut Sha256, body: &[u8], boundary: &str) {
    let delimiter = format!("--{boundary}");
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(bytes);
    };
    let mut start = 0;
    for at in memchr::memmem::find_iter(body, delimiter.as_bytes()) {
        part(&body[start..at]);
        start = at + delimiter.len();
    }
    part(&body[start..]);
}

async fn claim(db: &Db, ctx: &Ctx, key: &str, fingerprint: &[u8]) -> Result<Claim, ApiError> {
    let mut tx = db.tenant(ctx.account_id).await?;
    let inserted = sqlx::query!(
        "INSERT INTO idempotency_keys (account_id, key, user_id, request_hash)
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, key) DO NOTHING",
        ctx.account_id,
        key,
        ctx.user_id,
        fingerprint
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        tx.commit().await?;
        return Ok(Claim::Run);
    }
    let stored = sqlx::query!(
        r#"SELECT request_hash, response_status, response_body, response_content_type, response_headers,
                  created_at < now() - make_interval(hours => $3) AS "expired!",
                  response_status IS NULL AND created_at < now() - make_interval(secs => $4) AS "abandoned!"
           FROM idempotency_keys WHERE account_id = $1 AND key = $2 FOR UPDATE"#,
        ctx.account_id,
        key,
        KEEP_HOURS as i32,
        ABANDONED_AFTER_SECS as f64
    )
    .fetch_one(&mut *tx)
    .await?;
    let (hash, status, body, content_type) = (
        stored.request_hash,
        stored.response_status,
        stored.response_body,
        stored.response_content_type,
    );
    let (expired, abandoned, headers) = (stored.expired, stored.abandoned, stored.response_headers);
    if expired || (abandoned && hash == fingerprint) {
        sqlx::query!(
            "UPDATE idempotency_keys SET request_hash = $3, user_id = $4, response_status = NULL,
                    response_body = NULL, response_content_type = NULL, response_headers = '{}',
                    created_at = now(), completed_at = NULL
             WHERE account_id = $1 AND key = $2",
            ctx.account_id,
            key,
            fingerprint,
            ctx.user_id
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Claim::Run);
    }
    tx.commit().await?;
    Ok(match (hash == fingerprint, status) {
        (false, _) => Claim::Mismatch,
        (true, None) => Claim::InProgress,
        (true, Some(status)) => Claim::Replay {
            status: u16::try_from(status).unwrap_or(200),
            body: body.unwrap_or_default(),
            content_type,
            headers,
        },
    })
}

/// A response to keep for replays.
struct Stored<'a> {
    status: u16,
    body: &'a [u8],
    content_type: Option<&'a str>,
    headers: serde_json::Value,
}

async fn complete(db: &Db, ctx: &Ctx, key: &str, stored: &Stored<'_>) -> Result<(), sqlx::Error> {
    let mut tx = db.tenant(ctx.account_id).await?;
    complete_in(&mut tx, ctx, key, stored).await?;
    tx.commit().await
}

async fn complete_in(
    tx: &mut Tx,
    ctx: &Ctx,
    key: &str,
    stored: &Stored<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE idempotency_keys SET response_status = $3, response_body = $4, response_content_type = $5, response_headers = $6,
                completed_at = now()
         WHERE account_id = $1 AND key = $2",
        ctx.account_id,
        key,
        i16::try_from(stored.status).unwrap_or(500),
        stored.body,
        stored.content_type,
        stored.headers
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forget the claim so the client can retry (after a server error).
async fn release(db: &Db, ctx: &Ctx, key: &str) {
    let result = async {
        let mut tx = db.tenant(ctx.account_id).await?;
        release_in(&mut tx, ctx, key).await?;
        tx.commit().await
    }
    .await;
    if let Err(error) = result {
        tracing::error!(error = %error, "cannot release idempotency key");
    }
}

async fn release_in(tx: &mut Tx, ctx: &Ctx, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "DELETE FROM idempotency_keys WHERE account_id = $1 AND key = $2",
        ctx.account_id,
        key
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
