//! `/api/v1/jobs/{id}/attachments`: a job's photos and documents.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::service::{self, Attachment, AttachmentKind, Source};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Ctx, Path};
use crate::http::multipart::{self, FileOrJson, MAX_FILE_BYTES};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload_attachment, list_attachments))
        .routes(routes!(delete_attachment))
        .layer(multipart::body_limit(MAX_FILE_BYTES))
}

/// The multipart body: `file` (required), `visit_id` and `kind` (optional).
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    visit_id: Option<Uuid>,
    kind: Option<AttachmentKind>,
}

/// The JSON body: attach a file uploaded before (`POST /uploads`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachUpload {
    /// The `id` of your upload; it is used up by attaching it.
    upload_id: Uuid,
    /// A visit of this job to file it under.
    visit_id: Option<Uuid>,
    /// What it is: `photo`, `signature` (the client's, drawn at a visit) or
    /// `document`. Left out: `photo` for a picture, `document` otherwise.
    kind: Option<AttachmentKind>,
}

/// Attach a photo or document to a job (staff, or a technician assigned to one of
/// its visits), in either of two ways:
///
/// Say what it is with `kind` (`photo`, `signature`, `document`; a photo or a
/// signature must be a picture, 422 on `kind`).
///
/// - `multipart/form-data` with a `file` part and optional `visit_id` and `kind`; at most
///   25 MiB; JPEG, PNG, GIF, WebP or PDF, recognised from the bytes. Image metadata
///   (EXIF, XMP: location, device) is removed. A damaged file, a picture that also
///   reads as HTML or script, or one declaring more than 16384 pixels a side or 64
///   megapixels is 422 on `file`.
/// - `application/json` `{"upload_id", "visit_id"}` naming a file you uploaded with
///   `POST /uploads` in the last 24 hours. The upload is moved to the job and is gone
///   afterwards: a second use (or someone else's upload) is 404 `upload_not_found`,
///   an expired one 410 `upload_expired`, both on the field `upload_id`.
#[utoipa::path(post, path = "/jobs/{id}/attachments", tag = "jobs", params(("id" = Uuid, Path)),
    request_body(content((UploadForm = "multipart/form-data"), (AttachUpload = "application/json"))),
    responses((status = 201, body = Attachment), (status = 404, body = Problem), (status = 410, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn upload_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    body: FileOrJson<AttachUpload>,
) -> Result<(StatusCode, axum::Json<Attachment>), ApiError> {
    let (visit_id, kind, source) = match body {
        FileOrJson::File(form) => {
            let upload = multipart::read(form, MAX_FILE_BYTES, &["visit_id", "kind"]).await?;
            let visit_id = upload
                .fields
                .get("visit_id")
                .map(|text| {
                    Uuid::try_parse(text).map_err(|_| ApiError::field("visit_id", "must be a UUID"))
                })
                .transpose()?;
            let kind = upload
                .fields
                .get("kind")
                .map(|text| {
                    AttachmentKind::parse(text).ok_or_else(|| {
                        ApiError::field("kind", "must be photo, signature or document")
                    })
                })
                .transpose()?;
            let file = super::accept(upload.filename.as_deref(), &upload.bytes)?;
            (visit_id, kind, Source::File(file))
        }
        FileOrJson::Json(body) => (body.visit_id, body.kind, Source::Upload(body.upload_id)),
    };
    let attachment =
        service::add(&state.db, &state.storage, &ctx, id, visit_id, kind, source).await?;
    Ok((StatusCode::CREATED, axum::Json(attachment)))
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
