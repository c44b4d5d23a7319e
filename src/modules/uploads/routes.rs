//! `/api/v1/uploads`: files sent ahead of the request that uses them.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, TempUpload};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::Ctx;
use crate::http::multipart::{self, Form, MAX_FILE_BYTES};
use crate::modules::files;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_upload))
        .layer(multipart::body_limit(MAX_FILE_BYTES))
}

/// The multipart body: one `file`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct UploadFileForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Upload a file to use within 24 hours (any signed-in user): send it here, retrying
/// as needed (with an `Idempotency-Key`, a retry gets the first answer), then name
/// its `id` as `upload_id` in a small JSON request, such as
/// `POST /jobs/{id}/attachments`. `multipart/form-data` with a `file` part; at most
/// 25 MiB; JPEG, PNG, GIF, WebP or PDF, recognised from the bytes. Image metadata
/// (EXIF, XMP: location, device) is removed now. An upload is used once, by the
/// user who sent it; an unused one is deleted after 24 hours. A damaged file, a
/// picture that also reads as HTML or script, or one declaring more than 16384
/// pixels a side or 64 megapixels is 422 on `file`.
#[utoipa::path(post, path = "/uploads", tag = "uploads",
    request_body(content = UploadFileForm, content_type = "multipart/form-data"),
    responses((status = 201, body = TempUpload), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn create_upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form,
) -> Result<(StatusCode, axum::Json<TempUpload>), ApiError> {
    let upload = multipart::read(form, MAX_FILE_BYTES, &[]).await?;
    let file = files::accept(upload.filename.as_deref(), &upload.bytes)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(service::create(&state.db, &state.storage, &ctx, file).await?),
    ))
}
