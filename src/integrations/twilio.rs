//! Twilio's Programmable Messaging REST API (send one text) and the verification of
//! Twilio's webhook signatures (`X-Twilio-Signature`).
//!
//! - Send: `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form fields
//!   `To`, `From` (or `MessagingServiceSid`), `Body`, `StatusCallback`; HTTP Basic
//!   auth with the account SID and auth token. Twilio answers 201 with the message's
//!   `sid`.
//! - Signature: base64(HMAC-SHA1(auth token, the full URL Twilio requested + every
//!   POST parameter's name and value, sorted by name, concatenated)).
//!
//! The base URL is configurable (`twilio_api_base`) so the tests talk to a fake. This
//! module knows nothing of jobber's tables and never logs the token.

use std::time::Duration;

use base64::Engine as _;
use hmac_sha1::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha1::Sha1;

use crate::config::TwilioConfig;

#[derive(Clone)]
pub struct Twilio {
    http: reqwest::Client,
    base: String,
    account_sid: String,
    auth_token: SecretString,
    from: Option<String>,
    messaging_service_sid: Option<String>,
}

/// One text to send.
#[derive(Debug, Clone)]
pub struct Sms<'a> {
    /// E.164.
    pub to: &'a str,
    pub body: &'a str,
    /// Where Twilio posts the delivery statuses.
    pub status_callback: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// Twilio refused this message for good (invalid or unsubscribed number, bad
    /// body): retrying will not help. `code` is Twilio's error code.
    #[error("Twilio refused the message ({status}, code {code:?}): {message}")]
    Rejected {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// Twilio or the network failed (5xx, 429, timeouts, bad credentials); try later.
    #[error("{0}")]
    Transient(String),
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

#[derive(Deserialize)]
struct ApiError {
    code: Option<serde_json::Value>,
    message: Option<String>,
}

impl Twilio {
    /// None when texts are not configured.
    pub fn from_config(config: &TwilioConfig) -> anyhow::Result<Option<Self>> {
        let (Some(account_sid), Some(auth_token)) = (&config.account_sid, &config.auth_token)
        else {
            return Ok(None);
        };
        if config.from.is_none() && config.messaging_service_sid.is_none() {
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Some(Self {
            http,
            base: config.api_base.clone(),
            account_sid: account_sid.clone(),
            auth_token: auth_token.clone(),
            from: config.from.clone(),
            messaging_service_sid: config.messaging_service_sid.clone(),
        }))
    }

    /// Send one text; returns Twilio's message SID.
    pub async fn send(&self, sms: &Sms<'_>) -> Result<String, SmsError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base, self.account_sid
        );
        let mut form: Vec<(&str, &str)> = vec![("To", sms.to), ("Body", sms.body)];
        match (&self.messaging_service_sid, &self.from) {
            (Some(service), _) => form.push(("MessagingServiceSid", service)),
            (None, Some(from)) => form.push(("From", from)),
            (None, None) => return Err(SmsError::Transient("no Twilio sender configured".into())),
        }
        if let Some(callback) = sms.status_callback {
            form.push(("StatusCallback", callback));
        }
        let response = self
            .http
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|e| SmsError::Transient(format!("cannot reach Twilio: {e}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| SmsError::Transient(format!("reading Twilio's answer: {e}")))?;
        if status.is_success() {
            let created: Created = serde_json::from_str(&text).map_err(|e| {
                SmsError::Transient(format!("unexpected answer from Twilio ({status}): {e}"))
            })?;
            return Ok(created.sid);
        }
        let error: Option<ApiError> = serde_json::from_str(&text).ok();
        let code = error.as_ref().and_then(|e| {
            e.code.as_ref().map(|c| match c {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        });
        let message = error
            .and_then(|e| e.message)
            .unwrap_or_else(|| text.chars().take(200).collect());
        let status = status.as_u16();
        // 400/404-class answers are about this message (invalid `To`, opted-out
        // number: 21211, 21610, …). 401/403 are our credentials, 429 and 5xx Twilio's
        // load: those may succeed later.
        if (400..500).contains(&status) && ![401, 403, 408, 429].contains(&status) {
            Err(SmsError::Rejected {
                status,
                code,
                message,
            })
        } else {
            Err(SmsError::Transient(format!(
                "Twilio answered {status} (code {code:?}): {message}"
            )))
        }
    }
}

/// The `X-Twilio-Signature` of a form POST to `url` with `params`.
pub fn signature(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut mac = match <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is unreachable.
        Err(_) => return String::new(),
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is Twilio's signature of this request (compared in constant time).
pub fn verify_signature(
    auth_token: &[u8],
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> bool {
    let Ok(given) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token) else {
        return false;
    };
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    // `verify_slice` compares in constant time.
    mac.verify_slice(&given).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    /// Checked against an independent implementation (Python hmac + hashlib).
    #[test]
    fn twilio_documented_example() {
        let url = "https://example.com/myapp.php?foo=1&bar=2";
        let p = params(&[
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+14158675310"),
            ("Caller", "+14158675310"),
            ("CallSid", "CA1234567890ABCDE"),
        ]);
        let token = b"12345";
        assert_eq!(signature(token, url, &p), "L/OH5YylLD5NRKLltdqwSvS0BnU=");
        assert!(verify_signature(
            token,
            url,
            &p,
            "L/OH5YylLD5NRKLltdqwSvS0BnU="
        ));
        assert!(!verify_signature(
            token,
            "https://example.com/myapp.php?foo=1&bar=3",
            &p,
            "L/OH5YylLD5NRKLltdqwSvS0BnU="
        ));
        assert!(!verify_signature(token, url, &p, "not base64!"));
    }
}
