//! `GET /api/v1/quotes/{id}/pdf`, `GET /api/v1/invoices/{id}/pdf` (office staff) and
//! their client-hub twins under `/api/v1/hub/…` (authorized by the hub link).
//!
//! They answer with the PDF itself (`application/pdf`), rendered first when the
//! stored one is missing or stale; `?redirect=true` answers 302 to a short-lived
//! signed download URL instead (presigned on S3, `/files/…` on the local store).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::Kind;
use super::service::{self, Env, StoredPdf, Viewer};
use crate::app::AppState;
use crate::http::error::Problem;
use crate::http::extract::{Path, Query, Staff};
use crate::http::{ApiError, ErrorCode};
use crate::modules::auth::links::{self, LinkParams};
use crate::platform::storage::SIGNED_URL_TTL;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(quote_pdf))
        .routes(routes!(invoice_pdf))
        .routes(routes!(hub_quote_pdf))
        .routes(routes!(hub_invoice_pdf))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PdfParams {
    /// `true`: answer 302 to a signed download URL valid 15 minutes.
    #[serde(default)]
    pub redirect: bool,
}

#[derive(Debug, Deserialize)]
pub struct HubPdfParams {
    pub account: Uuid,
    pub expires: i64,
    pub sig: String,
    #[serde(default)]
    pub redirect: bool,
}

fn env(state: &AppState) -> Env<'_> {
    Env {
        db: &state.db,
        storage: &state.storage,
        keys: &state.keys,
        public_url: &state.config.public_url,
    }
}

async fn respond(state: &AppState, pdf: StoredPdf, redirect: bool) -> Result<Response, ApiError> {
    if redirect {
        if !pdf.stored {
            return Err(ApiError::new(
                ErrorCode::Unavailable,
                "file storage is unavailable; ask for the PDF without redirect",
            ));
        }
        let url = state
            .storage
            .signed_url(&pdf.key, SIGNED_URL_TTL)
            .await
            .map_err(ApiError::internal)?;
        let location = HeaderValue::from_str(&url).map_err(ApiError::internal)?;
        return Ok((
            StatusCode::FOUND,
            [
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response());
    }
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{}\"", pdf.filename))
        .map_err(ApiError::internal)?;
    let etag =
        HeaderValue::from_str(&format!("\"pdf-{}\"", pdf.version)).map_err(ApiError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
            (header::ETAG, etag),
        ],
        pdf.bytes,
    )
        .into_response())
}

/// The quote as a PDF (drafts too), rendered when missing or stale.
#[utoipa::path(get, path = "/quotes/{id}/pdf", tag = "quotes", params(("id" = Uuid, Path), PdfParams),
    responses((status = 200, content_type = "application/pdf", description = "the PDF"),
        (status = 302, description = "with `redirect=true`: to a signed download URL"),
        (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn quote_pdf(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(p): Query<PdfParams>,
) -> Result<Response, ApiError> {
    let pdf =
        service::current(&env(&state), ctx.account_id, Kind::Quote, id, Viewer::Staff).await?;
    respond(&state, pdf, p.redirect).await
}

/// The invoice as a PDF (drafts too), rendered when missing or stale.
#[utoipa::path(get, path = "/invoices/{id}/pdf", tag = "invoices", params(("id" = Uuid, Path), PdfParams),
    responses((status = 200, content_type = "application/pdf", description = "the PDF"),
        (status = 302, description = "with `redirect=true`: to a signed download URL"),
        (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn invoice_pdf(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(p): Query<PdfParams>,
) -> Result<Response, ApiError> {
    let pdf = service::current(
        &env(&state),
        ctx.account_id,
        Kind::Invoice,
        id,
        Viewer::Staff,
    )
    .await?;
    respond(&state, pdf, p.redirect).await
}

fn hub_check(state: &AppState, kind: Kind, id: Uuid, p: &HubPdfParams) -> Result<Uuid, ApiError> {
    links::check(
        &state.keys,
        kind,
        id,
        &LinkParams {
            account: p.account,
            expires: p.expires,
            sig: p.sig.clone(),
        },
    )
}

/// The quote's PDF for its client, through the hub link (never a draft).
#[utoipa::path(get, path = "/hub/quotes/{id}/pdf", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams, PdfParams),
    responses((status = 200, content_type = "application/pdf", description = "the PDF"),
        (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_quote_pdf(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(p): Query<HubPdfParams>,
) -> Result<Response, ApiError> {
    let account_id = hub_check(&state, Kind::Quote, id, &p)?;
    let pdf = service::current(&env(&state), account_id, Kind::Quote, id, Viewer::Client).await?;
    respond(&state, pdf, p.redirect).await
}

/// The invoice's PDF for its client, through the hub link (never a draft).
#[utoipa::path(get, path = "/hub/invoices/{id}/pdf", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams, PdfParams),
    responses((status = 200, content_type = "application/pdf", description = "the PDF"),
        (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_invoice_pdf(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(p): Query<HubPdfParams>,
) -> Result<Response, ApiError> {
    let account_id = hub_check(&state, Kind::Invoice, id, &p)?;
    let pdf = service::current(&env(&state), account_id, Kind::Invoice, id, Viewer::Client).await?;
    respond(&state, pdf, p.redirect).await
}
