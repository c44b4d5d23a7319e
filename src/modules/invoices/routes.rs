//! `/api/v1/invoices…` and `/api/v1/payments…`. Office staff only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::model::{Invoice, InvoiceInput, InvoiceStatus, Payment, PaymentInput};
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
        .routes(routes!(get_invoice, delete_invoice))
        .routes(routes!(send_invoice))
        .routes(routes!(invoice_payments))
        .routes(routes!(void_invoice))
        .routes(routes!(bad_debt))
        .routes(routes!(client_invoices))
        .routes(routes!(create_payment))
        .routes(routes!(get_payment))
        .routes(routes!(refund_payment))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvoiceParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    pub status: Option<InvoiceStatus>,
    pub client_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionBody {
    pub version: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentReceipt {
    pub payment: Payment,
    pub invoice: Invoice,
}

/// Invoices, newest first.
#[utoipa::path(get, path = "/invoices", tag = "invoices", params(InvoiceParams), responses((status = 200, body = Page<Invoice>)))]
async fn list_invoices(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Query(p): Query<InvoiceParams>,
) -> Result<axum::Json<Page<Invoice>>, ApiError> {
    let page = PageRequest::parse(p.limit, p.cursor.as_deref())?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, p.status, p.client_id, page).await?,
    ))
}

/// A client's invoices, newest first.
#[utoipa::path(get, path = "/clients/{id}/invoices", tag = "invoices", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Page<Invoice>), (status = 404, body = Problem)))]
async fn client_invoices(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
    Query(p): Query<PageParams>,
) -> Result<axum::Json<Page<Invoice>>, ApiError> {
    let page = PageRequest::parse(p.limit, p.cursor.as_deref())?;
    crate::modules::clients::service::get(&state.db, &ctx, id).await?;
    Ok(axum::Json(
        service::list(&state.db, &ctx, None, Some(id), page).await?,
    ))
}

/// Create a draft invoice: from a job (its completed, unbilled visits or, when billed
/// at the end, its lines; 409 `nothing_to_invoice` when there is none) or standalone.
/// Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/invoices", tag = "invoices", request_body = InvoiceInput,
    responses((status = 201, body = Invoice), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_invoice(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<InvoiceInput>,
) -> Result<Response, ApiError> {
    let invoice = service::create(&state.db, &ctx, body).await?;
    Ok(tagged(StatusCode::CREATED, invoice.version, invoice))
}

/// One invoice with lines, totals, balance and `past_due`.
#[utoipa::path(get, path = "/invoices/{id}", tag = "invoices", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invoice), (status = 404, body = Problem)))]
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
    responses((status = 204, description = "deleted"), (status = 404, body = Problem), (status = 409, body = Problem)))]
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
    responses((status = 200, body = Invoice), (status = 409, body = Problem), (status = 422, body = Problem)))]
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

/// Record a payment (cash, check, bank transfer, other). More than the balance is
/// refused (422 on `amount`).
#[utoipa::path(post, path = "/invoices/{id}/payments", tag = "invoices", params(("id" = Uuid, Path)), request_body = PaymentInput,
    responses((status = 201, body = PaymentReceipt), (status = 409, body = Problem), (status = 422, body = Problem)))]
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
    let (payment, invoice) = service::record_payment(&state.db, &ctx, id, body).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PaymentReceipt { payment, invoice }),
    ))
}

/// Record a payment against `invoice_id`.
#[utoipa::path(post, path = "/payments", tag = "payments", request_body = PaymentInput,
    responses((status = 201, body = PaymentReceipt), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_payment(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Json(body): Json<PaymentInput>,
) -> Result<(StatusCode, axum::Json<PaymentReceipt>), ApiError> {
    let Some(invoice_id) = body.invoice_id else {
        return Err(ApiError::field("invoice_id", "is required"));
    };
    let (payment, invoice) = service::record_payment(&state.db, &ctx, invoice_id, body)
        .await
        .map_err(|e| {
            if e.code == ErrorCode::InvoiceNotFound {
                ApiError::field("invoice_id", "no such invoice")
            } else {
                e
            }
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PaymentReceipt { payment, invoice }),
    ))
}

/// One payment.
#[utoipa::path(get, path = "/payments/{id}", tag = "payments", params(("id" = Uuid, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem)))]
async fn get_payment(
    State(state): State<AppState>,
    Staff(ctx): Staff,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Payment>, ApiError> {
    Ok(axum::Json(service::payment(&state.db, &ctx, id).await?))
}

/// Void an issued invoice that holds no payments; it keeps its number.
#[utoipa::path(post, path = "/invoices/{id}/void", tag = "invoices", params(("id" = Uuid, Path)), request_body = VersionBody,
    responses((status = 200, body = Invoice), (status = 409, body = Problem)))]
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
    responses((status = 200, body = Invoice), (status = 409, body = Problem)))]
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

/// Refund all or part of a payment (owner or admin). The invoice's balance grows by
/// the refund and its status follows.
#[utoipa::path(post, path = "/payments/{id}/refund", tag = "payments", params(("id" = Uuid, Path)), request_body = service::RefundInput,
    responses((status = 200, body = PaymentReceipt), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn refund_payment(
    State(state): State<AppState>,
    Admin(ctx): Admin,
    Path(id): Path<Uuid>,
    OptionalJson(body): OptionalJson<service::RefundInput>,
) -> Result<axum::Json<PaymentReceipt>, ApiError> {
    let (payment, invoice) = service::refund(&state.db, &ctx, id, body).await?;
    Ok(axum::Json(PaymentReceipt { payment, invoice }))
}
