//! `/api/v1/settings/payments/stripe` (owner or admin). The public Stripe webhook,
//! `/api/v1/webhooks/stripe`, is `invoices::cards`'.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, StripeKeysInput, StripeStatus};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Admin, Json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stripe, put_stripe, delete_stripe))
}

/// Whether the account's Stripe keys are set (owner or admin). The keys themselves
/// are never shown: only the secret key's last four characters.
#[utoipa::path(get, path = "/settings/payments/stripe", tag = "settings",
    responses((status = 200, body = StripeStatus), (status = 403, body = Problem)))]
async fn get_stripe(
    State(state): State<AppState>,
    Admin(ctx): Admin,
) -> Result<axum::Json<StripeStatus>, ApiError> {
    Ok(axum::Json(
        service::stripe_status(&state.db, &ctx, &state.config.public_url).await?,
    ))
}

/// Set the account's Stripe secret key and webhook signing secret (owner or admin).
/// Both are stored encrypted (AES-256-GCM); point the Stripe webhook at `webhook_url`
/// with the events `payment_intent.succeeded`, `payment_intent.payment_failed` and
/// `charge.refunded`.
#[utoipa::path(put, path = "/settings/payments/stripe", tag = "settings", request_body = StripeKeysInput,
    responses((status = 200, body = StripeStatus), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_stripe(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Json(body): Json<StripeKeysInput>,
) -> Result<axum::Json<StripeStatus>, ApiError> {
    Ok(axum::Json(
        service::set_stripe_keys(
            &state.db,
            &state.gateway,
            &ctx,
            &state.config.public_url,
            body,
        )
        .await?,
    ))
}

/// Forget the account's Stripe keys (owner or admin): card payments stop; pending
/// ones can no longer be settled by webhook.
#[utoipa::path(delete, path = "/settings/payments/stripe", tag = "settings",
    responses((status = 204, description = "removed"), (status = 403, body = Problem)))]
async fn delete_stripe(
    State(state): State<AppState>,
    Admin(ctx): Admin,
) -> Result<StatusCode, ApiError> {
    service::delete_stripe_keys(&state.db, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
