//! QuickBooks Online: Intuit's OAuth 2.0 (authorization-code grant, refresh with
//! rotating refresh tokens, client authentication by HTTP Basic) and the v3 accounting
//! API calls jobber uses: create, sparse update and read of `Customer`, `Invoice` and
//! `Payment`, and voiding an invoice.
//!
//! Every URL is configurable (`quickbooks_auth_base`, `quickbooks_token_url`,
//! `quickbooks_api_base`) so tests talk to a fake. Creates carry `requestid` (Intuit's
//! idempotency parameter): the same id returns the first result instead of a second
//! object. This module knows nothing of jobber's tables and never logs a token.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use crate::config::QuickBooksConfig;

/// The API's minor version (Intuit's versioning of the v3 API).
pub const MINOR_VERSION: &str = "75";
/// The only scope jobber asks for.
pub const SCOPE: &str = "com.intuit.quickbooks.accounting";

#[derive(Debug, thiserror::Error)]
pub enum QboError {
    /// The access token was refused (expired or revoked): refresh and try once more.
    #[error("QuickBooks refused the access token: {0}")]
    Unauthorized(String),
    /// QuickBooks refused the request itself (validation, stale object, duplicate
    /// name…): `code` is Intuit's error code (e.g. `6240`, `5010`).
    #[error("QuickBooks answered {status}: {message}")]
    Fault {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The token endpoint refused the grant (`invalid_grant`: the refresh token
    /// expired or was revoked; the account must connect again).
    #[error("QuickBooks refused the grant: {0}")]
    Grant(String),
    /// No usable answer (network, timeout, 5xx, 429, unexpected body): try later.
    #[error("cannot reach QuickBooks: {0}")]
    Transport(String),
}

impl QboError {
    /// Intuit's "Stale Object Error": the SyncToken we sent is not the current one.
    pub fn is_stale(&self) -> bool {
        matches!(self, QboError::Fault { code: Some(code), .. } if code == "5010")
    }

    /// "Duplicate Name Exists Error": a customer, vendor or employee has that name.
    pub fn is_duplicate_name(&self) -> bool {
        matches!(self, QboError::Fault { code: Some(code), .. } if code == "6240")
    }
}

/// What the token endpoint returns.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds (Intuit: 3600).
    pub expires_in: i64,
    /// Seconds until the refresh token expires (Intuit: about 100 days).
    #[serde(default)]
    pub x_refresh_token_expires_in: Option<i64>,
}

impl std::fmt::Debug for QuickBooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuickBooks")
            .field("client_id", &self.client_id)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct QuickBooks {
    http: reqwest::Client,
    client_id: String,
    client_secret: SecretString,
    auth_base: String,
    token_url: String,
    api_base: String,
}

/// The entities jobber pushes, as named in the API's paths and bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Customer,
    Invoice,
    Payment,
}

impl Entity {
    /// `customer`, as in `/v3/company/{realmId}/customer`.
    pub fn path(self) -> &'static str {
        match self {
            Entity::Customer => "customer",
            Entity::Invoice => "invoice",
            Entity::Payment => "payment",
        }
    }

    /// `Customer`, the key of the object in request and response bodies.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Customer => "Customer",
            Entity::Invoice => "Invoice",
            Entity::Payment => "Payment",
        }
    }
}

/// An object as QuickBooks returned it: its Id and SyncToken (the rest is kept).
#[derive(Debug, Clone)]
pub struct Object {
    pub id: String,
    pub sync_token: String,
    pub body: Value,
}

impl QuickBooks {
    /// `None` when no client id and secret are configured (the integration is off).
    pub fn from_config(config: &QuickBooksConfig) -> anyhow::Result<Option<Self>> {
        let (Some(client_id), Some(client_secret)) = (&config.client_id, &config.client_secret)
        else {
            return Ok(None);
        };
        crate::platform::crypto::install_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("jobber/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Some(Self {
            http,
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            auth_base: config.auth_base.clone(),
            token_url: config.token_url.clone(),
            api_base: config.api_base.clone(),
        }))
    }

    /// Where to send the user's browser to grant access (Intuit's consent page).
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> anyhow::Result<String> {
        let url = reqwest::Url::parse_with_params(
            &self.auth_base,
            &[
                ("client_id", self.client_id.as_str()),
                ("response_type", "code"),
                ("scope", SCOPE),
                ("redirect_uri", redirect_uri),
                ("state", state),
            ],
        )?;
        Ok(url.to_string())
    }

    fn basic_auth(&self) -> String {
        let pair = format!("{}:{}", self.client_id, self.client_secret.expose_secret());
        format!("Basic {}", STANDARD.encode(pair))
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<Tokens, QboError> {
        let response = self
            .http
            .post(&self.token_url)
            .header(reqwest::header::AUTHORIZATION, self.basic_auth())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| QboError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| QboError::Transport(e.without_url().to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| QboError::Transport(format!("unexpected token answer: {e}")));
        }
        // RFC 6749 §5.2: {"error": "invalid_grant", "error_description": …}
        let error = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| {
                v.get("error").and_then(Value::as_str).map(|e| {
                    match v.get("error_description").and_then(Value::as_str) {
                        Some(d) => format!("{e}: {d}"),
                        None => e.to_string(),
                    }
                })
            })
            .unwrap_or_else(|| status.to_string());
        if status.is_server_error() || status.as_u16() == 429 {
            Err(QboError::Transport(error))
        } else {
            Err(QboError::Grant(error))
        }
    }

    /// Exchange the authorization code of the callback for tokens.
    pub async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<Tokens, QboError> {
        self.token_request(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ])
        .await
    }

    /// A fresh access token; Intuit may return a new refresh token (keep the newest).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<Tokens, QboError> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ])
        .await
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        access_token: &SecretString,
    ) -> Result<Value, QboError> {
        let response = request
            .bearer_auth(access_token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| QboError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| QboError::Transport(e.without_url().to_string()))?;
        let body: Option<Value> = serde_json::from_slice(&bytes).ok();
        if status.is_success() {
            let body = body.ok_or_else(|| QboError::Transport("unexpected answer".into()))?;
            // A 200 may still carry a Fault (batch-style answers).
            if let Some((code, message)) = fault(&body) {
                return Err(QboError::Fault {
                    status: status.as_u16(),
                    code,
                    message,
                });
            }
            return Ok(body);
        }
        let (code, message) = body
            .as_ref()
            .and_then(fault)
            .unwrap_or_else(|| (None, status.to_string()));
        match status.as_u16() {
            401 => Err(QboError::Unauthorized(message)),
            429 | 500..=599 => Err(QboError::Transport(message)),
            other => Err(QboError::Fault {
                status: other,
                code,
                message,
            }),
        }
    }

    fn company_url(&self, realm_id: &str, path: &str) -> anyhow::Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.api_base)?;
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("quickbooks_api_base cannot be a base URL"))?
            .pop_if_empty()
            .extend(["v3", "company", realm_id])
            .extend(path.split('/'));
        url.query_pairs_mut()
            .append_pair("minorversion", MINOR_VERSION);
        Ok(url)
    }

    fn url_or_transport(
        &self,
        realm_id: &str,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<reqwest::Url, QboError> {
        let mut url = self
            .company_url(realm_id, path)
            .map_err(|e| QboError::Transport(e.to_string()))?;
        for (name, value) in params {
            url.query_pairs_mut().append_pair(name, value);
        }
        Ok(url)
    }

    /// `POST /v3/company/{realmId}/{entity}?requestid=…`: create (no `Id` in `body`)
    /// or sparse update (`Id`, `SyncToken`, `sparse: true`).
    pub async fn save(
        &self,
        access_token: &SecretString,
        realm_id: &str,
        entity: Entity,
        body: &Value,
        request_id: Option<&str>,
    ) -> Result<Object, QboError> {
        let params: Vec<(&str, &str)> =
            request_id.map(|id| ("requestid", id)).into_iter().collect();
        let url = self.url_or_transport(realm_id, entity.path(), &params)?;
        let answer = self
            .call(self.http.post(url).json(body), access_token)
            .await?;
        object(&answer, entity)
    }

    /// `GET /v3/company/{realmId}/{entity}/{id}`: the current object (its SyncToken).
    pub async fn read(
        &self,
        access_token: &SecretString,
        realm_id: &str,
        entity: Entity,
        id: &str,
    ) -> Result<Object, QboError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(QboError::Transport(format!(
                "malformed QuickBooks id {id:?}"
            )));
        }
        let url = self.url_or_transport(realm_id, &format!("{}/{id}", entity.path()), &[])?;
        let answer = self.call(self.http.get(url), access_token).await?;
        object(&answer, entity)
    }

    /// `POST /v3/company/{realmId}/invoice?operation=void`: zero the invoice's
    /// amounts, keep it (and its number) in the books.
    pub async fn void_invoice(
        &self,
        access_token: &SecretString,
        realm_id: &str,
        id: &str,
        sync_token: &str,
    ) -> Result<Object, QboError> {
        let url = self.url_or_transport(realm_id, "invoice", &[("operation", "void")])?;
        let body = serde_json::json!({"Id": id, "SyncToken": sync_token});
        let answer = self
            .call(self.http.post(url).json(&body), access_token)
            .await?;
        object(&answer, Entity::Invoice)
    }
}

/// The first error of a Fault, as `(code, "Message: Detail")`. Intuit spells the
/// keys `Fault`/`Error`/`Message` on API errors and `fault`/`error`/`message` on
/// authentication errors.
fn fault(body: &Value) -> Option<(Option<String>, String)> {
    let fault = body.get("Fault").or_else(|| body.get("fault"))?;
    let first = fault
        .get("Error")
        .or_else(|| fault.get("error"))
        .and_then(Value::as_array)
        .and_then(|errors| errors.first());
    let text = |key: &str| {
        first
            .and_then(|e| e.get(key).or_else(|| e.get(key.to_lowercase().as_str())))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let code = text("code");
    let message = match (text("Message"), text("Detail")) {
        (Some(m), Some(d)) if !d.is_empty() && d != m => format!("{m}: {d}"),
        (Some(m), _) => m,
        (None, Some(d)) => d,
        (None, None) => fault
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("Fault")
            .to_string(),
    };
    Some((code, message))
}

fn object(answer: &Value, entity: Entity) -> Result<Object, QboError> {
    let body = answer
        .get(entity.name())
        .cloned()
        .ok_or_else(|| QboError::Transport(format!("no {} in the answer", entity.name())))?;
    let field = |key: &str| {
        body.get(key)
            .and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            })
            .ok_or_else(|| QboError::Transport(format!("{} without {key}", entity.name())))
    };
    Ok(Object {
        id: field("Id")?,
        sync_token: field("SyncToken")?,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_in_both_spellings() {
        let api = serde_json::json!({"Fault":{"Error":[{"Message":"Duplicate Name Exists Error","Detail":"The name supplied already exists. : Another customer is already using this name.","code":"6240"}],"type":"ValidationFault"},"time":"2026-01-01T00:00:00.000-08:00"});
        let (code, message) = fault(&api).unwrap();
        assert_eq!(code.as_deref(), Some("6240"));
        assert!(message.starts_with("Duplicate Name Exists Error: The name"));
        let auth = serde_json::json!({"fault":{"error":[{"message":"message=AuthenticationFailed; errorCode=003200; statusCode=401","detail":"Token expired","code":"3200"}],"type":"AUTHENTICATION"}});
        let (code, message) = fault(&auth).unwrap();
        assert_eq!(code.as_deref(), Some("3200"));
        assert!(message.ends_with("Token expired"));
        assert!(fault(&serde_json::json!({"Customer": {}})).is_none());
    }

    #[test]
    fn company_urls_keep_the_base_path_and_add_the_minor_version() {
        let config = QuickBooksConfig {
            client_id: Some("id".into()),
            client_secret: Some(SecretString::from("secret")),
            api_base: "http://127.0.0.1:9/qbo".into(),
            ..QuickBooksConfig::default()
        };
        let qbo = QuickBooks::from_config(&config).unwrap().unwrap();
        let url = qbo
            .url_or_transport("123", "invoice", &[("operation", "void")])
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/qbo/v3/company/123/invoice?minorversion=75&operation=void"
        );
        let authorize = qbo.authorize_url("https://x.test/cb", "s t").unwrap();
        assert!(authorize.starts_with("https://appcenter.intuit.com/connect/oauth2?client_id=id&response_type=code&scope=com.intuit.quickbooks.accounting&redirect_uri=https%3A%2F%2Fx.test%2Fcb&state=s+t"), "{authorize}");
    }
}
