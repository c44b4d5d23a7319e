//! Signed client-hub links (seed §9.2): the address in a quote or invoice email that
//! opens that one record of one account, without an account, until it expires. A
//! link grants that record only, never a session. Signing and checking them is
//! auth's; the client hub (`modules::hub`) serves what they open, and quotes,
//! invoices, payments, documents and messages put them in what they send.

use chrono::{Duration, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::platform::events::{Actor, act_as};

use super::token::{LinkCheck, TokenKeys};
use crate::error::{Error, ErrorCode};

/// How long a link works after the email is sent; sending again gives a new one.
pub const LINK_DAYS: i64 = 90;

/// What a link opens.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[schema(as = HubKind)]
pub enum Kind {
    Quote,
    Invoice,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Quote => "quote",
            Kind::Invoice => "invoice",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Kind::Quote => "quotes",
            Kind::Invoice => "invoices",
        }
    }

    fn not_found(self) -> Error {
        Error::code(match self {
            Kind::Quote => ErrorCode::QuoteNotFound,
            Kind::Invoice => ErrorCode::InvoiceNotFound,
        })
    }
}

/// The hub page for a record, as put in emails: the web app's `/hub/…` route,
/// which calls `/api/v1/hub/…` with the same query.
/// What signing client-hub links needs: the public address and the keys.
#[derive(Clone, Copy)]
pub struct Links<'a> {
    pub public_url: &'a str,
    pub keys: &'a TokenKeys,
}

/// [`Links`] owned, for what lives as long as the server (the in-transaction
/// listeners that email clients a link).
#[derive(Clone)]
pub struct Signer {
    pub public_url: String,
    pub keys: std::sync::Arc<TokenKeys>,
}

impl Signer {
    pub fn links(&self) -> Links<'_> {
        Links {
            public_url: &self.public_url,
            keys: &self.keys,
        }
    }
}

impl Links<'_> {
    pub fn link(&self, kind: Kind, account_id: Uuid, id: Uuid) -> String {
        link(self.public_url, self.keys, kind, account_id, id)
    }
}

pub fn link(public_url: &str, keys: &TokenKeys, kind: Kind, account_id: Uuid, id: Uuid) -> String {
    let expires = (Utc::now() + Duration::days(LINK_DAYS)).timestamp();
    let signature = keys.sign_link(kind.as_str(), account_id, id, expires);
    format!(
        "{public_url}/hub/{}/{id}?account={account_id}&expires={expires}&sig={signature}",
        kind.path()
    )
}

/// What a link to a client's own hub page (all their quotes, invoices and visits)
/// is signed for.
pub const CLIENT_PAGE: &str = "client";

/// The web app's address of a client's own hub page, relative
/// (`/hub/clients/{id}?account=&expires=&sig=`), signed to expire at `expires`
/// (Unix seconds).
pub fn client_page_path(
    keys: &TokenKeys,
    account_id: Uuid,
    client_id: Uuid,
    expires: i64,
) -> String {
    let signature = keys.sign_link(CLIENT_PAGE, account_id, client_id, expires);
    format!("/hub/clients/{client_id}?account={account_id}&expires={expires}&sig={signature}")
}

/// A client's own hub page, as put in emails next to the record's link: working as
/// long as the record's.
pub fn client_page_link(
    public_url: &str,
    keys: &TokenKeys,
    account_id: Uuid,
    client_id: Uuid,
) -> String {
    let expires = (Utc::now() + Duration::days(LINK_DAYS)).timestamp();
    format!(
        "{public_url}{}",
        client_page_path(keys, account_id, client_id, expires)
    )
}

/// The signed part of a hub link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// The account the record belongs to.
    pub account: Uuid,
    /// Unix seconds after which the link no longer works.
    pub expires: i64,
    /// The link's signature.
    pub sig: String,
}

/// The account a valid link opens. A forged or altered link looks like a missing
/// record (404); a genuine expired one says so (410), so the client knows to ask
/// for a fresh email.
pub fn check(keys: &TokenKeys, kind: Kind, id: Uuid, link: &LinkParams) -> Result<Uuid, Error> {
    check_signed(keys, kind.as_str(), id, link).map_err(|e| e.unwrap_or_else(|| kind.not_found()))
}

/// Whether we signed this link, expired or not (what the page of an expired link
/// may show about the business behind it).
pub fn genuine(keys: &TokenKeys, purpose: &str, id: Uuid, link: &LinkParams) -> bool {
    verify(keys, purpose, id, link) != LinkCheck::Invalid
}

fn verify(keys: &TokenKeys, purpose: &str, id: Uuid, link: &LinkParams) -> LinkCheck {
    keys.verify_link(
        purpose,
        link.account,
        id,
        link.expires,
        &link.sig,
        Utc::now().timestamp(),
    )
}

/// [`check`] for any purpose a link is signed for (a record, or a client's own hub
/// page). `Err(None)`: forged or altered, which the caller answers as its not-found.
pub fn check_signed(
    keys: &TokenKeys,
    purpose: &str,
    id: Uuid,
    link: &LinkParams,
) -> Result<Uuid, Option<Error>> {
    match verify(keys, purpose, id, link) {
        LinkCheck::Valid => {
            act_as(Actor::Hub(id));
            Ok(link.account)
        }
        LinkCheck::Expired => Err(Some(Error::new(
            ErrorCode::LinkExpired,
            "this link has expired; ask the business to send it again",
        ))),
        LinkCheck::Invalid => Err(None),
    }
}
