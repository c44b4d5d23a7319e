//! `/api/v1/hub/…`: public routes authorized by a signed link instead of a login.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::pages::{
    self, ChoiceInput, HubApproveInput, HubBusiness, HubCardPayment, HubClient, HubContext,
    HubPayInput, HubReceipt, ResendInput, SmsChoice,
};
use super::{CLIENT_PAGE, Kind, LinkParams, check, genuine};
use crate::app::AppState;
use crate::error::{Error, ErrorCode};
use crate::http::ApiError;
use crate::http::error::Problem;
use crate::http::extract::{ClientIp, Json, Path, Query};
use crate::modules::invoices::model::Invoice;
use crate::modules::quotes::model::{PreviewTotals, Quote};
use crate::modules::quotes::service::{self as quotes, Actor, ChangesInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(hub_quote))
        .routes(routes!(hub_approve))
        .routes(routes!(hub_request_changes))
        .routes(routes!(hub_invoice))
        .routes(routes!(hub_quote_context))
        .routes(routes!(hub_invoice_context))
        .routes(routes!(hub_quote_preview))
        .routes(routes!(hub_quote_sms))
        .routes(routes!(hub_invoice_sms))
        .routes(routes!(hub_pay))
        .routes(routes!(hub_payment))
        .routes(routes!(hub_resend))
        .routes(routes!(hub_brand))
        .merge(super::client_page_routes::router())
        .merge(super::signatures_routes::router())
}

fn client(account_id: Uuid) -> Actor {
    Actor {
        account_id,
        user_id: None,
    }
}

/// A quote as its client sees it in the hub.
#[utoipa::path(get, path = "/hub/quotes/{id}", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_quote(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<Quote>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        quotes::get_for(&state.db, client(account_id), id).await?,
    ))
}

/// The client approves the quote, picking optional lines and signing with their
/// typed name and, optionally, a signature drawn on the screen (a PNG, kept with
/// the quote); their address is recorded. Approving an approved quote again (a
/// double-click) returns it unchanged.
#[utoipa::path(post, path = "/hub/quotes/{id}/approve", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = HubApproveInput,
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)))]
async fn hub_approve(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    ClientIp(ip): ClientIp,
    Json(body): Json<HubApproveInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        pages::approve(
            &state.db,
            &state.storage,
            account_id,
            id,
            body,
            ip.to_string(),
        )
        .await?,
    ))
}

/// The client asks for changes instead of approving.
#[utoipa::path(post, path = "/hub/quotes/{id}/request-changes", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = ChangesInput,
    responses((status = 200, body = Quote), (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem)))]
async fn hub_request_changes(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    Json(body): Json<ChangesInput>,
) -> Result<axum::Json<Quote>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        quotes::request_changes_as(&state.db, client(account_id), id, body).await?,
    ))
}

/// An invoice as its client sees it in the hub.
#[utoipa::path(get, path = "/hub/invoices/{id}", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    responses((status = 200, body = Invoice), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_invoice(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<Invoice>, ApiError> {
    let account_id = check(&state.keys, Kind::Invoice, id, &link)?;
    Ok(axum::Json(
        crate::modules::invoices::service::get_for_client(&state.db, account_id, id).await?,
    ))
}

/// The page around a quote: the business's name, logo and colour, the client's
/// name and text-message choice.
#[utoipa::path(get, path = "/hub/quotes/{id}/context", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    responses((status = 200, body = HubContext), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_quote_context(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<HubContext>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        pages::context(
            &state.db,
            &state.storage,
            &state.keys,
            Kind::Quote,
            account_id,
            id,
            link.expires,
        )
        .await?,
    ))
}

/// The page around an invoice, as for a quote, with the publishable key the card
/// form needs.
#[utoipa::path(get, path = "/hub/invoices/{id}/context", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    responses((status = 200, body = HubContext), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_invoice_context(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<HubContext>, ApiError> {
    let account_id = check(&state.keys, Kind::Invoice, id, &link)?;
    Ok(axum::Json(
        pages::context(
            &state.db,
            &state.storage,
            &state.keys,
            Kind::Invoice,
            account_id,
            id,
            link.expires,
        )
        .await?,
    ))
}

/// The quote's totals with these optional lines ticked, priced by the server (the
/// same code that prices approval); nothing is saved.
#[utoipa::path(post, path = "/hub/quotes/{id}/preview", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = ChoiceInput,
    responses((status = 200, body = PreviewTotals), (status = 404, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem)))]
async fn hub_quote_preview(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    Json(body): Json<ChoiceInput>,
) -> Result<axum::Json<PreviewTotals>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        quotes::preview_choice(&state.db, account_id, id, &body.selected_optional_line_ids).await?,
    ))
}

/// The client turns text messages (visit reminders, "on my way") on or off for
/// all their phones.
#[utoipa::path(put, path = "/hub/quotes/{id}/sms", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = SmsChoice,
    responses((status = 200, body = HubClient), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_quote_sms(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    Json(body): Json<SmsChoice>,
) -> Result<axum::Json<HubClient>, ApiError> {
    let account_id = check(&state.keys, Kind::Quote, id, &link)?;
    Ok(axum::Json(
        pages::set_sms(&state.db, Kind::Quote, account_id, id, body).await?,
    ))
}

/// As `PUT /hub/quotes/{id}/sms`, from an invoice's link.
#[utoipa::path(put, path = "/hub/invoices/{id}/sms", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = SmsChoice,
    responses((status = 200, body = HubClient), (status = 404, body = Problem), (status = 410, body = Problem)))]
async fn hub_invoice_sms(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    Json(body): Json<SmsChoice>,
) -> Result<axum::Json<HubClient>, ApiError> {
    let account_id = check(&state.keys, Kind::Invoice, id, &link)?;
    Ok(axum::Json(
        pages::set_sms(&state.db, Kind::Invoice, account_id, id, body).await?,
    ))
}

/// Start paying the invoice by card: a Stripe PaymentIntent for the balance (or
/// `amount`), confirmed in the browser with Stripe's Payment Element. The balance
/// changes when Stripe reports success. 409 `stripe_not_configured` when the
/// business takes no cards online; 422 on `amount` above what is left to pay
/// (less card payments in progress).
#[utoipa::path(post, path = "/hub/invoices/{id}/payments", tag = "client hub", security(()), params(("id" = Uuid, Path), LinkParams),
    request_body = HubPayInput,
    responses((status = 201, body = HubCardPayment), (status = 404, body = Problem), (status = 409, body = Problem), (status = 410, body = Problem), (status = 422, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)))]
async fn hub_pay(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(link): Query<LinkParams>,
    Json(body): Json<HubPayInput>,
) -> Result<(axum::http::StatusCode, axum::Json<HubCardPayment>), ApiError> {
    let account_id = check(&state.keys, Kind::Invoice, id, &link)?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(pages::pay(&state.db, &state.gateway, account_id, id, body).await?),
    ))
}

/// A card payment of the invoice and the invoice after it (the receipt). While
/// the payment is pending, Stripe is asked first, so a late webhook does not keep
/// the client waiting.
#[utoipa::path(get, path = "/hub/invoices/{id}/payments/{payment_id}", tag = "client hub", security(()),
    params(("id" = Uuid, Path), ("payment_id" = Uuid, Path), LinkParams),
    responses((status = 200, body = HubReceipt), (status = 404, body = Problem), (status = 410, body = Problem), (status = 502, body = Problem), (status = 503, body = Problem)))]
async fn hub_payment(
    State(state): State<AppState>,
    Path((id, payment_id)): Path<(Uuid, Uuid)>,
    Query(link): Query<LinkParams>,
) -> Result<axum::Json<HubReceipt>, ApiError> {
    let account_id = check(&state.keys, Kind::Invoice, id, &link)?;
    Ok(axum::Json(
        pages::payment(&state.db, &state.gateway, account_id, id, payment_id).await?,
    ))
}

/// Email a fresh link for the record of an expired or damaged link to the
/// client's address on file. Always 202, whether or not anything was sent (an
/// unknown record, a client without an email): it reveals nothing. At most one
/// such email per record every 5 minutes.
#[utoipa::path(post, path = "/hub/links", tag = "client hub", security(()),
    request_body = ResendInput,
    responses((status = 202, description = "a fresh link is on its way if the record has a client with an email"), (status = 422, body = Problem)))]
async fn hub_resend(
    State(state): State<AppState>,
    Json(body): Json<ResendInput>,
) -> axum::http::StatusCode {
    if let Err(error) = pages::resend(&state.db, state.links(), body).await {
        tracing::warn!(
            error = crate::error::chain(&error),
            "a fresh hub link could not be sent"
        );
    }
    axum::http::StatusCode::ACCEPTED
}

/// What a link opens, for `GET /hub/brand`.
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkTarget {
    Quote,
    Invoice,
    /// The client's own page.
    Client,
}

/// A hub link's parts, expired or not.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BrandParams {
    /// What the link opens.
    #[param(inline)]
    pub kind: LinkTarget,
    /// The record's id (the client's for their own page).
    pub id: Uuid,
    /// The account the record belongs to.
    pub account: Uuid,
    /// Unix seconds after which the link no longer works.
    pub expires: i64,
    /// The link's signature.
    pub sig: String,
}

/// The business behind a genuine link, expired or not: its name, logo, colour and
/// how to reach it, for the page that offers a fresh link. Nothing about the
/// record or the client. A forged or altered link is the record's 404.
#[utoipa::path(get, path = "/hub/brand", tag = "client hub", security(()), params(BrandParams),
    responses((status = 200, body = HubBusiness), (status = 404, body = Problem)))]
async fn hub_brand(
    State(state): State<AppState>,
    Query(q): Query<BrandParams>,
) -> Result<axum::Json<HubBusiness>, ApiError> {
    let (purpose, not_found) = match q.kind {
        LinkTarget::Quote => (Kind::Quote.as_str(), ErrorCode::QuoteNotFound),
        LinkTarget::Invoice => (Kind::Invoice.as_str(), ErrorCode::InvoiceNotFound),
        LinkTarget::Client => (CLIENT_PAGE, ErrorCode::ClientNotFound),
    };
    let link = LinkParams {
        account: q.account,
        expires: q.expires,
        sig: q.sig,
    };
    if !genuine(&state.keys, purpose, q.id, &link) {
        return Err(Error::code(not_found));
    }
    Ok(axum::Json(
        pages::business(&state.db, &state.storage, link.account).await?,
    ))
}
