//! Stripe's REST API (form-encoded requests, the account's secret key as Bearer token)
//! and the verification of its webhook signatures. Only what jobber uses: create a
//! PaymentIntent, refund one, read a balance transaction's fee.
//!
//! Creates carry an `Idempotency-Key`, so a retried request never charges or refunds
//! twice. The base URL is configurable (`stripe_api_base`) so the tests talk to a fake.
//! This module knows nothing of jobber's tables; it never logs a key.

use std::time::Duration;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::Sha256;

/// How far a webhook's timestamp may be from our clock (Stripe's libraries use 300 s).
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error (card declined, bad request, bad key…).
    #[error("Stripe answered {status}: {message}")]
    Api {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// No usable answer (network, timeout, unexpected body).
    #[error("cannot reach Stripe: {0}")]
    Transport(String),
}

#[derive(Clone)]
pub struct Stripe {
    http: reqwest::Client,
    base: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub client_secret: Option<String>,
    pub status: String,
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct BalanceTransaction {
    fee: i64,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: Option<String>,
    code: Option<String>,
}

pub struct NewPaymentIntent<'a> {
    /// Minor units, the tip included.
    pub amount: i64,
    /// ISO 4217, lowercase.
    pub currency: &'a str,
    pub metadata: &'a [(&'a str, String)],
}

impl Stripe {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        // reqwest needs rustls's process-wide provider (idempotent; `main` installs it
        // too, but a library user such as the tests may not have).
        crate::platform::crypto::install_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("jobber/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        let response = request
            .send()
            .await
            .map_err(|e| StripeError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| StripeError::Transport(e.without_url().to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| StripeError::Transport(format!("unexpected answer: {e}")));
        }
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => (
                body.error.code,
                body.error.message.unwrap_or_else(|| status.to_string()),
            ),
            Err(_) => (None, status.to_string()),
        };
        Err(StripeError::Api {
            status: status.as_u16(),
            code,
            message,
        })
    }

    /// A create: sent with its `Idempotency-Key`, and sent once more with the same
    /// key when the first attempt got no answer (Stripe then returns the first result
    /// instead of creating a second charge or refund).
    async fn create<T: serde::de::DeserializeOwned>(
        &self,
        key: &SecretString,
        path: &str,
        idempotency_key: &str,
        form: &[(String, String)],
    ) -> Result<T, StripeError> {
        let request = || {
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(key.expose_secret())
                .header("Idempotency-Key", idempotency_key)
                .form(form)
        };
        match self.send(request()).await {
            Err(StripeError::Transport(error)) => {
                tracing::warn!(%error, path, "no answer from Stripe; retrying with the same idempotency key");
                tokio::time::sleep(Duration::from_millis(500)).await;
                self.send(request()).await
            }
            other => other,
        }
    }

    /// `POST /v1/payment_intents`: a card payment the client completes with the
    /// returned client secret.
    pub async fn create_payment_intent(
        &self,
        key: &SecretString,
        idempotency_key: &str,
        intent: &NewPaymentIntent<'_>,
    ) -> Result<PaymentIntent, StripeError> {
        let mut form: Vec<(String, String)> = vec![
            ("amount".into(), intent.amount.to_string()),
            ("currency".into(), intent.currency.to_string()),
            ("payment_method_types[0]".into(), "card".into()),
        ];
        for (name, value) in intent.metadata {
            form.push((format!("metadata[{name}]"), value.clone()));
        }
        self.create(key, "/v1/payment_intents", idempotency_key, &form)
            .await
    }

    /// `POST /v1/refunds`: refund `amount` of a PaymentIntent's charge.
    pub async fn create_refund(
        &self,
        key: &SecretString,
        idempotency_key: &str,
        payment_intent: &str,
        amount: i64,
    ) -> Result<Refund, StripeError> {
        let form = [
            ("payment_intent".to_string(), payment_intent.to_string()),
            ("amount".to_string(), amount.to_string()),
        ];
        self.create(key, "/v1/refunds", idempotency_key, &form)
            .await
    }

    /// `GET /v1/payment_intents/{id}`: the intent as Stripe has it now, as JSON (the
    /// shape a webhook event carries).
    pub async fn retrieve_payment_intent(
        &self,
        key: &SecretString,
        id: &str,
    ) -> Result<serde_json::Value, StripeError> {
        let id = checked_id(id)?;
        self.send(
            self.http
                .get(format!("{}/v1/payment_intents/{id}", self.base))
                .bearer_auth(key.expose_secret()),
        )
        .await
    }

    /// `POST /v1/payment_intents/{id}/cancel`: the payer can no longer complete it.
    /// Refused by Stripe once it succeeded.
    pub async fn cancel_payment_intent(
        &self,
        key: &SecretString,
        id: &str,
    ) -> Result<serde_json::Value, StripeError> {
        let id = checked_id(id)?;
        self.send(
            self.http
                .post(format!("{}/v1/payment_intents/{id}/cancel", self.base))
                .bearer_auth(key.expose_secret()),
        )
        .await
    }

    /// The fee Stripe took on a charge, from its balance transaction.
    pub async fn balance_transaction_fee(
        &self,
        key: &SecretString,
        id: &str,
    ) -> Result<i64, StripeError> {
        let id = checked_id(id)?;
        let txn: BalanceTransaction = self
            .send(
                self.http
                    .get(format!("{}/v1/balance_transactions/{id}", self.base))
                    .bearer_auth(key.expose_secret()),
            )
            .await?;
        Ok(txn.fee)
    }
}

/// An object id safe to put in a URL path (`pi_…`, `txn_…`).
fn checked_id(id: &str) -> Result<&str, StripeError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StripeError::Transport(format!(
            "malformed Stripe id {id:?}"
        )));
    }
    Ok(id)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    #[error("the webhook's timestamp is outside the tolerance; replayed or clock skew")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// At most this many `v1` entries are read from a header (Stripe sends one per
/// signing secret, two while a secret is being rolled); the rest are ignored, so a
/// header of thousands cannot make the server hash thousands of times.
pub const MAX_SIGNATURES: usize = 4;
/// Headers longer than this are refused unread.
const MAX_HEADER_LEN: usize = 1024;

/// A parsed `Stripe-Signature` header (`t=<unix time>,v1=<hex hmac>[,v1=…][,v0=…]`).
#[derive(Debug)]
pub struct Signature {
    timestamp: i64,
    v1: Vec<[u8; 32]>,
}

impl Signature {
    pub fn parse(header: &str) -> Result<Self, SignatureError> {
        if header.len() > MAX_HEADER_LEN {
            return Err(SignatureError::Malformed);
        }
        let mut timestamp = None;
        let mut v1 = Vec::new();
        let mut any_v1 = false;
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => {
                    timestamp = Some(
                        value
                            .parse::<i64>()
                            .map_err(|_| SignatureError::Malformed)?,
                    )
                }
                Some(("v1", value)) => {
                    any_v1 = true;
                    if v1.len() < MAX_SIGNATURES
                        && let Some(bytes) = decode_hex(value).and_then(|b| b.try_into().ok())
                    {
                        v1.push(bytes);
                    }
                }
                _ => {}
            }
        }
        let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
        if !any_v1 {
            return Err(SignatureError::Malformed);
        }
        Ok(Self { timestamp, v1 })
    }

    /// `t` within `tolerance` seconds of `now`.
    pub fn check_fresh(&self, now: i64, tolerance: i64) -> Result<(), SignatureError> {
        if now.saturating_sub(self.timestamp).saturating_abs() > tolerance {
            return Err(SignatureError::Stale);
        }
        Ok(())
    }

    /// HMAC-SHA256 under the endpoint's signing secret over `"{t}.{body}"`, computed
    /// once and compared with each `v1` in constant time.
    pub fn matches(&self, body: &[u8], secret: &[u8]) -> bool {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(self.timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        // Every entry is compared, so the time does not tell which one matched.
        self.v1
            .iter()
            .fold(subtle::Choice::from(0), |found, v1| {
                found | subtle::ConstantTimeEq::ct_eq(&expected[..], &v1[..])
            })
            .into()
    }
}

/// Verify a `Stripe-Signature` header: well formed, fresh, and a `v1` that matches.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secret: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let signature = Signature::parse(header)?;
    signature.check_fresh(now, tolerance)?;
    if signature.matches(body, secret) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header Stripe would send for `body` at `timestamp` (tests and tools).
pub fn sign(body: &[u8], secret: &[u8], timestamp: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    #[test]
    fn a_hand_computed_signature_verifies() {
        // Computed outside Rust: python3 -c "import hmac, hashlib;
        //   print(hmac.new(b'whsec_test_secret', b'1700000000.' + BODY, hashlib.sha256).hexdigest())"
        let header =
            "t=1700000000,v1=22d8dc182f5c588077683bd378368e29765bfe5df2560112b4f28fef120f0e31";
        assert_eq!(sign(BODY, SECRET, 1_700_000_000), header);
        assert_eq!(
            verify_signature(header, BODY, SECRET, 1_700_000_100, 300),
            Ok(())
        );
        assert_eq!(
            verify_signature(header, BODY, SECRET, 1_699_999_750, 300),
            Ok(()),
            "a clock behind by less than the tolerance"
        );
    }

    #[test]
    fn several_v1_signatures_any_may_match() {
        let good = sign(BODY, SECRET, 1_700_000_000);
        let v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t=1700000000,v1={},v1={v1},v0=abc", "00".repeat(32));
        assert_eq!(
            verify_signature(&header, BODY, SECRET, 1_700_000_000, 300),
            Ok(())
        );
    }

    #[test]
    fn stale_wrong_or_malformed_signatures_are_refused() {
        let header = sign(BODY, SECRET, 1_700_000_000);
        assert_eq!(
            verify_signature(&header, BODY, SECRET, 1_700_000_301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify_signature(&header, BODY, b"whsec_other", 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&header, b"{\"id\":\"evt_2\"}", SECRET, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in [
            "",
            "t=abc,v1=00",
            "v1=00",
            "t=1700000000",
            "t=1700000000,v0=00",
        ] {
            assert_eq!(
                verify_signature(bad, BODY, SECRET, 1_700_000_000, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify_signature("t=1700000000,v1=zz", BODY, SECRET, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn only_the_first_few_signatures_are_read() {
        let good = sign(BODY, SECRET, 1_700_000_000);
        let v1 = good.split_once(",v1=").unwrap().1;
        let bad = format!(",v1={}", "00".repeat(32));
        // The good one after MAX_SIGNATURES others is not read.
        let late = format!("t=1700000000{}{},v1={v1}", bad.repeat(MAX_SIGNATURES), "");
        assert_eq!(
            verify_signature(&late, BODY, SECRET, 1_700_000_000, 300),
            Err(SignatureError::Mismatch)
        );
        let early = format!("t=1700000000,v1={v1}{}", bad.repeat(MAX_SIGNATURES - 1));
        assert_eq!(
            verify_signature(&early, BODY, SECRET, 1_700_000_000, 300),
            Ok(())
        );
        // A header of thousands of entries is refused before any hashing.
        let flood = format!("t=1700000000{}", bad.repeat(3000));
        assert_eq!(
            verify_signature(&flood, BODY, SECRET, 1_700_000_000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            Signature::parse(&format!("t=1700000000{}", ",v1=00".repeat(100)))
                .map(|s| s.v1.len())
                .ok(),
            Some(0),
            "entries that are not 32-byte hex count as none"
        );
    }
}
