//! SendGrid's v3 Mail Send API, an alternative to SMTP for client emails
//! (`email_transport = "sendgrid"`): `POST {base}/v3/mail/send` with the API key as
//! Bearer token and a JSON body (`personalizations`, `from`, `subject`, `content`);
//! SendGrid answers 202 with the message's id in `X-Message-Id`.
//!
//! The base URL is configurable (`sendgrid_api_base`) so the tests talk to a fake.
//! This module never logs the key.

use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use crate::platform::email::{Email, SendError};

#[derive(Clone)]
pub struct SendGrid {
    http: reqwest::Client,
    base: String,
    key: SecretString,
}

impl SendGrid {
    pub fn new(base: &str, key: SecretString) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            key,
        })
    }

    /// The request body for one email from `from` (`name`, `email`).
    pub fn body(email: &Email<'_>, from_name: Option<&str>, from_email: &str) -> serde_json::Value {
        let mut from = json!({"email": from_email});
        if let Some(name) = from_name {
            from["name"] = json!(name);
        }
        // text/plain must come first (SendGrid's rule for content order).
        let mut content = vec![json!({"type": "text/plain", "value": email.text})];
        if let Some(html) = email.html {
            content.push(json!({"type": "text/html", "value": html}));
        }
        let mut body = json!({
            "personalizations": [{"to": [{"email": email.to}]}],
            "from": from,
            "subject": email.subject,
            "content": content,
            // Lets SendGrid's event data be matched to jobber's outbox message.
            "custom_args": {"jobber_message_id": email.id.to_string()},
        });
        if let Some(reply_to) = email.reply_to {
            body["reply_to"] = json!({"email": reply_to});
        }
        if !email.attachments.is_empty() {
            let attachments: Vec<serde_json::Value> = email
                .attachments
                .iter()
                .map(|a| {
                    let mut item = json!({
                        "content": base64::engine::general_purpose::STANDARD.encode(&a.bytes),
                        "type": a.content_type,
                        "filename": a.filename,
                        "disposition": if a.content_id.is_some() { "inline" } else { "attachment" },
                    });
                    if let Some(cid) = &a.content_id {
                        item["content_id"] = json!(cid);
                    }
                    item
                })
                .collect();
            body["attachments"] = json!(attachments);
        }
        body
    }

    /// Send; returns SendGrid's `X-Message-Id`.
    pub async fn send(
        &self,
        email: &Email<'_>,
        from_name: Option<&str>,
        from_email: &str,
    ) -> Result<String, SendError> {
        let response = self
            .http
            .post(format!("{}/v3/mail/send", self.base))
            .bearer_auth(self.key.expose_secret())
            .json(&Self::body(email, from_name, from_email))
            .send()
            .await
            .map_err(|e| SendError::Transient(format!("cannot reach SendGrid: {e}")))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response
                .headers()
                .get("x-message-id")
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| format!("sendgrid:{}", email.id.simple()), String::from));
        }
        let text = response.text().await.unwrap_or_default();
        let detail: String = text.chars().take(300).collect();
        // 400/413 are about this email (bad address, too large); 401/403 are our key,
        // 429 and 5xx SendGrid's load: those may succeed later.
        if (400..500).contains(&status) && ![401, 403, 408, 429].contains(&status) {
            Err(SendError::Permanent(format!(
                "SendGrid answered {status}: {detail}"
            )))
        } else {
            Err(SendError::Transient(format!(
                "SendGrid answered {status}: {detail}"
            )))
        }
    }
}
