//! `/api/v1/jobs/{id}/attachments`: a job's photos and documents.

use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::service::{self, Attachment, MAX_BYTES, Upload};
use crate::app::AppState;
use crate::http::error::Problem;
use crate::http::extract::{Ctx, Path};
use crate::http::{ApiError, ErrorCode};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_attachment, list_attachments))
        .routes(routes!(delete_attachment))
        // Room for the file and the multipart framing; the file itself is counted
        // as it streams in.
        .layer(DefaultBodyLimit::max(MAX_BYTES + 64 * 1024))
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("a file may be at most {} MiB", MAX_BYTES / (1024 * 1024)),
    )
}

/// The multipart body: `file` (required) and `visit_id` (optional).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    visit_id: Option<Uuid>,
}

/// Attach a photo or document to a job (staff, or a technician assigned to one of
/// its visits). `multipart/form-data` with a `file` part and an optional
/// `visit_id`; at most 25 MiB; JPEG, PNG, GIF, WebP or PDF, recognised from the
/// bytes. Image metadata (EXIF, XMP: location, device) is removed.
#[utoipa::path(post, path = "/jobs/{id}/attachments", tag = "jobs", params(("id" = Uuid, Path)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = Attachment), (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn upload_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    mut multipart: Multipart,
) -> Result<(StatusCode, axum::Json<Attachment>), ApiError> {
    let bad = |detail: String| ApiError::field("file", detail);
    let mut file: Option<(Option<String>, Bytes)> = None;
    let mut visit_id = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| bad(format!("the multipart body is malformed: {e}")))?
    {
        match field.name() {
            Some("file") => {
                let name = field.file_name().map(String::from);
                let mut buf = BytesMut::new();
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        bad(format!("the upload broke off: {e}"))
                    }
                })? {
                    if buf.len() + chunk.len() > MAX_BYTES {
                        return Err(too_large());
                    }
                    buf.extend_from_slice(&chunk);
                }
                file = Some((name, buf.freeze()));
            }
            Some("visit_id") => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| ApiError::field("visit_id", e.to_string()))?;
                visit_id = Some(
                    Uuid::try_parse(text.trim())
                        .map_err(|_| ApiError::field("visit_id", "must be a UUID"))?,
                );
            }
            Some(other) => {
                return Err(ApiError::field(
                    other.to_string(),
                    "unknown part; send `file` and optionally `visit_id`",
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
    let upload = Upload {
        job_id: id,
        visit_id,
        filename,
        bytes,
    };
    Ok((
        StatusCode::CREATED,
        axum::Json(service::upload(&state.db, &state.storage, &ctx, upload).await?),
    ))
}

/// A job's attachments, oldest first, each with a download URL valid 15 minutes.
#[utoipa::path(get, path = "/jobs/{id}/attachments", tag = "jobs", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Attachment>), (status = 404, body = Problem)))]
async fn list_attachments(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Vec<Attachment>>, ApiError> {
    Ok(axum::Json(
        service::list(&state.db, &state.storage, &ctx, id).await?,
    ))
}

/// Remove an attachment (staff; a technician only their own).
#[utoipa::path(delete, path = "/jobs/{id}/attachments/{attachment_id}", tag = "jobs",
    params(("id" = Uuid, Path), ("attachment_id" = Uuid, Path)),
    responses((status = 204, description = "removed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, attachment_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    service::delete(&state.db, &state.storage, &ctx, id, attachment_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
