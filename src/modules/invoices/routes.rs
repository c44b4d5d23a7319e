//! `/api/v1/invoices…` and `/api/v1/payments…`. Office staff only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{
    Invoice, InvoiceInput, InvoicePreview, InvoicePreviewInput, InvoiceStatus, Payment,
    PaymentInput, PaymentMethod,
};
use super::payments::{self, Receipt, ReceiptInput, RefundInput, Target};
use super::service;
use crate::app::AppState;
use crate::http::concurrency::tagged;
use crate::http::error::Problem;
use crate::http::extract::{Admin, Json, OptionalJson, Path, Query, Staff};
use crate::http::pagination::{Page, PageParams, PageRequest};
use crate::http::{ApiError, ErrorCode};
use crate::modules::quotes::service::SendInput;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_invoices, create_invoice))
        .routes(routes!(preview_invoice))
        .routes(routes!(get_invoice, delete_invoice))
        .routes(routes!(send_invoice))
        .routes(routes!(invoice_payments, list_invoice_payments))
        .routes(routes!(void_invoice))
        .routes(routes!(bad_debt))
        .routes(routes!(client_invoices))
        .routes(routes!(client_payments))
        .routes(routes!(create_payment))
        .routes(routes!(get_payment))
        .routes(routes!(refund_payment))
        .routes(routes!(cancel_payment))
        .routes(routes!(payment_receipt))
        .routes(routes!(stripe_webhook))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub status: Option<InvoiceStatus>,
    pub client_id: Option<Uuid>,
    /// `true`: only the invoices past due (issued, unpaid, after their due date in the
    /// account's time zone: the dashboard's "overdue invoices"); `false`: none of them.
    pub past_due: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    pub version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentReceipt {
    pub payment: Payment,
    /// The invoice after the payment; null for a deposit on a quote.
    pub invoice: Option<Invoice>,
    /// Card payments: the PaymentIntent's client secret, for Stripe.js to confirm
    /// the payment in the payer's browser. Shown once; not stored by jobber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl From<Receipt> for PaymentReceipt {
    fn from(r: Receipt) -> Self {
        Self {
            payment: r.payment,
            invoice: r.invoice,
            client_secret: r.client_secret,
        }
    }
}

/// Invoices, newest first.
#[utoipa::path(get, path = "/invoices", tag = "invoices", params(InvoiceParams), responses((status = 200, body = Page<Invoice>), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn list_invoices(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(p): Query<InvoiceParams>,
) -> Result<axum::Json<Page<Invoice>>, ApiError> {
    let page = PageRequest::parse(p.limit, p.cursor.as_deref())?;
    Ok(axum::Json(
        service::list(
            &state.db,
            &ctx,
            service::ListFilter {
                status: p.status,
                client_id: p.client_id,
                past_due: p.past_due,
            },
            page,
        )
        .await?,
    ))
}

/// A client's invoices, newest first.
#[utoipa::path(get, path = "/clients/{id}/invoices", tag = "invoices", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Invoice>), (status = 404, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn client_invoices(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(p): Query<PageParams>,
) -> Result<axum::Json<Page<Invoice>>, ApiError> {
    let page = PageRequest::parse(p.limit, p.cursor.as_deref())?;
    crate::modules::clients::service::get(&state.db, &ctx, id).await?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, service::ListFilter::client(id), page).await?,
    ))
}

/// The client's payments (deposits, pending and failed card payments included),
/// newest first, with what was refunded of each.
#[utoipa::path(get, path = "/clients/{id}/payments", tag = "payments", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Payment>), (status = 404, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem, description = "`validation_failed`: `limit` or `cursor` is invalid")))]
async fn client_payments(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(p): Query<PageParams>,
) -> Result<axum::Json<Page<Payment>>, ApiError> {
    let page = PageRequest::parse(p.limit, p.cursor.as_deref())?;
    crate::modules::clients::service::get(&state.db, &ctx, id).await?;
    Ok(axum::Json(
        payments::list_for_client(&state.db, &ctx, id, page).await?,
    ))
}

/// Create a draft invoice: from a job (its completed, unbilled visits or, when billed
/// at the end, its lines; 409 `nothing_to_invoice` when there is none) or standalone.
/// Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/invoices", tag = "invoices", request_body = InvoiceInput,
    responses((status = 201, body = Invoice, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn create_invoice(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<InvoiceInput>,
) -> Result<Response, ApiError> {
    let invoice = service::create(&state.db, &ctx, body).await?;
    Ok(tagged(StatusCode::CREATED, invoice.version, invoice))
}

/// What a standalone invoice with these lines, tax rates and discount would total,
/// computed by the same code that prices a saved invoice; nothing is saved.
#[utoipa::path(post, path = "/invoices/preview", tag = "invoices", request_body = InvoicePreviewInput,
    responses((status = 200, body = InvoicePreview), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn preview_invoice(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<InvoicePreviewInput>,
) -> Result<axum::Json<InvoicePreview>, ApiError> {
    Ok(axum::Json(service::preview(&state.db, &ctx, body).await?))
}

/// One invoice with lines, totals, balance and `past_due`.
#[utoipa::path(get, path = "/invoices/{id}", tag = "invoices", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice, headers(("ETag" = String, description = "The version in quotes, e.g. `\"3\"`: send it back as `If-Match`"))), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_invoice(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let invoice = service::get(&state.db, &ctx, id).await?;
    Ok(tagged(StatusCode::OK, invoice.version, invoice))
}

/// Delete a draft; what it billed can be billed again.
#[utoipa::path(delete, path = "/invoices/{id}", tag = "invoices", params(("id" = Uuid, Path)),
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 403, body = Problem)))]
async fn delete_invoice(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    service::delete_draft(&state.db, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the invoice. The first send issues it: the next gapless number, today's issue
/// date and the due date from its terms. Queues the email with the pay link.
#[utoipa::path(post, path = "/invoices/{id}/send", tag = "invoices", params(("id" = Uuid, Path)), request_body = SendInput,
    responses((status = 200, body = Invoice), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn send_invoice(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<SendInput>,
) -> Result<axum::Json<Invoice>, ApiError> {
    Ok(axum::Json(
        service::send(
            &state.db,
            &state.keys,
            &state.config.public_url,
            &ctx,
            id,
            body,
        )
        .await?,
    ))
}

/// The payments applied to the invoice (deposits included), oldest first, with
/// what was refunded of each.
#[utoipa::path(get, path = "/invoices/{id}/payments", tag = "invoices", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Payment>), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn list_invoice_payments(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Vec<Payment>>, ApiError> {
    Ok(axum::Json(
        payments::list_for_invoice(&state.db, &ctx, id).await?,
    ))
}

/// Record a payment taken outside jobber (cash, check, bank transfer, a card
/// terminal, other). More than the balance is refused (422 on `amount`).
#[utoipa::path(post, path = "/invoices/{id}/payments", tag = "invoices", params(("id" = Uuid, Path)), request_body = PaymentInput,
    responses((status = 201, body = PaymentReceipt), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn invoice_payments(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Json(body): Json<PaymentInput>,
) -> Result<(StatusCode, axum::Json<PaymentReceipt>), ApiError> {
    if body.invoice_id.is_some_and(|given| given != id) {
        return Err(ApiError::field(
            "invoice_id",
            "does not match the invoice in the path",
        ));
    }
    if body.quote_id.is_some() {
        return Err(ApiError::field(
            "quote_id",
            "deposits on quotes are taken with POST /payments",
        ));
    }
    let receipt =
        payments::record(&state.db, state.links(), &ctx, Target::Invoice(id), body).await?;
    Ok((StatusCode::CREATED, axum::Json(receipt.into())))
}

/// Take a payment against `invoice_id`, or a deposit against `quote_id`.
///
/// Cash, check, bank transfer and other are recorded at once. `card` goes through
/// Stripe: it creates a PaymentIntent for amount + tip, answers 201 with a `pending`
/// payment and the intent's `client_secret`, and changes the balance only when
/// Stripe's signed webhook reports success. Card payments need the account's Stripe
/// keys (409 `stripe_not_configured`); Stripe's refusal is 502
/// `payment_provider_error`. More than the balance (less pending card payments) is
/// refused (422 on `amount`). Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/payments", tag = "payments", request_body = PaymentInput,
    responses((status = 201, body = PaymentReceipt), (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem), (status = 403, body = Problem)))]
async fn create_payment(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<PaymentInput>,
) -> Result<(StatusCode, axum::Json<PaymentReceipt>), ApiError> {
    let target = Target::of(&body)?;
    let result = if body.method == PaymentMethod::Card {
        payments::start_card(&state.db, &state.gateway, &ctx, target, body).await
    } else {
        payments::record(&state.db, state.links(), &ctx, target, body).await
    };
    let receipt = result.map_err(|e| match e.code {
        ErrorCode::InvoiceNotFound => ApiError::field("invoice_id", "no such invoice"),
        ErrorCode::QuoteNotFound => ApiError::field("quote_id", "no such quote"),
        _ => e,
    })?;
    Ok((StatusCode::CREATED, axum::Json(receipt.into())))
}

/// One payment.
#[utoipa::path(get, path = "/payments/{id}", tag = "payments", params(("id" = Uuid, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem), (status = 403, body = Problem)))]
async fn get_payment(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Payment>, ApiError> {
    Ok(axum::Json(payments::get(&state.db, &ctx, id).await?))
}

/// Void an issued invoice that holds no payments; it keeps its number.
#[utoipa::path(post, path = "/invoices/{id}/void", tag = "invoices", params(("id" = Uuid, Path)), request_body = VersionBody,
    responses((status = 200, body = Invoice), (status = 409, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn void_invoice(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> Result<axum::Json<Invoice>, ApiError> {
    Ok(axum::Json(
        service::void(&state.db, &ctx, id, body.version).await?,
    ))
}

/// Write an unpaid invoice off as bad debt.
#[utoipa::path(post, path = "/invoices/{id}/bad-debt", tag = "invoices", params(("id" = Uuid, Path)), request_body = VersionBody,
    responses((status = 200, body = Invoice), (status = 409, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn bad_debt(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<VersionBody>,
) -> Result<axum::Json<Invoice>, ApiError> {
    Ok(axum::Json(
        service::bad_debt(&state.db, &ctx, id, body.version).await?,
    ))
}

/// A receipt queued for email.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedReceipt {
    /// The outbox message; its status shows in the client's communication history.
    pub message_id: Uuid,
}

/// Email the client the receipt of a succeeded payment (again), or to `to`. Card
/// payments' receipts go out by themselves when Stripe confirms them; recorded
/// payments' with `send_receipt: true`. 422 on `to` when the client has no email
/// address and none is given; 409 for a payment that has not succeeded.
#[utoipa::path(post, path = "/payments/{id}/receipt", tag = "payments", params(("id" = Uuid, Path)), request_body = ReceiptInput,
    responses((status = 202, body = QueuedReceipt), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem)))]
async fn payment_receipt(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<ReceiptInput>,
) -> Result<(StatusCode, axum::Json<QueuedReceipt>), ApiError> {
    let message_id = payments::send_receipt(&state.db, state.links(), &ctx, id, body).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(QueuedReceipt { message_id }),
    ))
}

/// Cancel a card payment the payer has not completed (a checkout left open, a
/// payment started twice): it is cancelled at Stripe, so it can no longer be paid,
/// and fails here with the note "Cancelled by the office", freeing the balance it
/// held. 409 `invalid_transition` for any other payment, or when the payer completed
/// it meanwhile (it is then applied: refund it instead). Safe to retry.
#[utoipa::path(post, path = "/payments/{id}/cancel", tag = "payments", params(("id" = Uuid, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem), (status = 409, body = Problem), (status = 502, body = Problem), (status = 403, body = Problem)))]
async fn cancel_payment(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Payment>, ApiError> {
    super::cards::cancel_card(&state.db, &state.gateway, &ctx, id).await?;
    Ok(axum::Json(payments::get(&state.db, &ctx, id).await?))
}

/// Refund all or part of a payment (owner or admin). A card payment taken through
/// jobber is refunded through Stripe first (502 `payment_provider_error` if Stripe
/// refuses, and nothing is recorded); other payments are only recorded. The
/// invoice's balance grows by the refund and its status follows.
#[utoipa::path(post, path = "/payments/{id}/refund", tag = "payments", params(("id" = Uuid, Path)), request_body = RefundInput,
    responses((status = 200, body = PaymentReceipt), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem)))]
async fn refund_payment(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<RefundInput>,
) -> Result<axum::Json<PaymentReceipt>, ApiError> {
    let receipt = payments::refund(&state.db, &state.gateway, &ctx, id, body).await?;
    Ok(axum::Json(receipt.into()))
}

/// Stripe's webhook (no login: authenticated by `Stripe-Signature`, checked with the
/// account's signing secret, at most 5 minutes old). Events are processed once:
/// a redelivery answers 200 with `duplicate: true` and changes nothing. A bad or
/// stale signature is 400 `invalid_webhook_signature`.
#[utoipa::path(post, path = "/webhooks/stripe", tag = "payments", security(()),
    request_body(content = serde_json::Value, description = "A Stripe event", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix time>,v1=<hex HMAC-SHA256>")),
    responses((status = 200, body = super::cards::WebhookReply), (status = 400, body = Problem)))]
async fn stripe_webhook(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: bytes::Bytes,
) -> Result<axum::Json<super::cards::WebhookReply>, ApiError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    crate::platform::events::act_as(crate::platform::events::Actor::Webhook("stripe".into()));
    Ok(axum::Json(
        super::cards::handle_webhook(&state.db, &state.gateway, signature, &body).await?,
    ))
}
