//! The HTTP route of a quote's drawn signature (`signatures`), for the office.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::signatures::*;
use crate::app::AppState;
use crate::error::{Error, ErrorCode};
use crate::http::error::Problem;
use crate::http::extract::{Path, Staff};
use crate::modules::quotes;
use crate::platform::storage::{ObjectKey, SIGNED_URL_TTL};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(quote_signature))
}

/// The signature the client drew when approving the quote in the client hub.
/// 404 `file_not_found` when they typed their name only (or approval was recorded
/// by staff).
#[utoipa::path(get, path = "/quotes/{id}/signature", tag = "quotes", params(("id" = Uuid, Path)),
    responses((status = 200, body = DrawnSignature), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "`quote_not_found`, or `file_not_found` without a drawn signature")))]
async fn quote_signature(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<DrawnSignature>, Error> {
    let quote = quotes::service::get(&state.db, &ctx, id).await?;
    let key = ObjectKey::quote_signature(ctx.account_id, id);
    if state.storage.get(&key).await?.is_none() {
        return Err(Error::new(
            ErrorCode::FileNotFound,
            "the client did not draw a signature for this quote",
        ));
    }
    Ok(axum::Json(DrawnSignature {
        url: state.storage.signed_url(&key, SIGNED_URL_TTL).await?,
        signature_name: quote.approval.map(|a| a.signature_name),
    }))
}
