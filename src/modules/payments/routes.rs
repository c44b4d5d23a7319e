//! `/api/v1/settings/payments/stripe` (owner or admin) and the public Stripe webhook
//! `/api/v1/webhooks/stripe`, authenticated by its signature alone.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, StripeKeysInput, StripeStatus, WebhookReply};
use crate::app::AppState;
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{Admin, Json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_stripe, put_stripe, delete_stripe))
        .routes(routes!(stripe_webhook))
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

/// Stripe's webhook (no login: authenticated by `Stripe-Signature`, checked with the
/// account's signing secret, at most 5 minutes old). Events are processed once:
/// a redelivery answers 200 with `duplicate: true` and changes nothing. A bad or
/// stale signature is 400 `invalid_webhook_signature`.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "payments", security(()),
    request_body(content = serde_json::Value, description = "A Stripe event", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<hex HMAC-SHA256>")),
    responses((status = 200, body = WebhookReply), (status = 400, body = Problem)))]
async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<WebhookReply>, ApiError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    crate::platform::events::act_as(crate::platform::events::Actor::Webhook("stripe".into()));
    Ok(axum::Json(
        service::handle_webhook(&state.db, &state.gateway, state.links(), signature, &body).await?,
    ))
}
