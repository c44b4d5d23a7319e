//! Automatic HTTPS certificates by ACME (RFC 8555) with the HTTP-01 challenge, from
//! Let's Encrypt or any ACME CA (`acme_domains`, `acme_directory`).
//!
//! [`Acme`] owns the ACME account and the certificate files in the data dir
//! (`platform::datadir`: `acme/account.json`, `acme/certificate.pem`,
//! `acme/certificate.key`) and [`Challenges`], the answers the plain-HTTP listener
//! gives the CA (`http::acme`). [`Acme::run`] requests a certificate when the stored one
//! is missing, does not cover the configured domains or expires within
//! [`RENEW_BEFORE`], writes it beside the old one and reloads the TLS config the way
//! SIGHUP does ([`Tls::reload`]): no restart, open connections untouched.
//!
//! When the CA cannot be reached or refuses, the certificate in use stays, a warning
//! says why, and the request is tried again with a growing delay ([`retry_delay`]).
//!
//! The client is `instant-acme` on our `reqwest` (one HTTP stack, one rustls with the
//! ring provider), its key and CSR made by `rcgen` (docs/install.md says why not
//! `acme-lib`). This module never listens on a port: the HTTP side is `http::acme`.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, NaiveDateTime, Utc};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType,
    Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::AcmeConfig;
use crate::platform::datadir::DataDir;
use crate::platform::tls::Tls;

/// A certificate is renewed this long before it expires (Let's Encrypt's advice for
/// its 90-day certificates).
pub const RENEW_BEFORE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The longest sleep between two looks at the stored certificate (a clock change or a
/// file replaced by hand is noticed within this).
const RECHECK: Duration = Duration::from_secs(12 * 60 * 60);

/// The key authorizations the HTTP-01 listener answers, by token (RFC 8555 §8.3).
#[derive(Clone, Default)]
pub struct Challenges(Arc<RwLock<HashMap<String, String>>>);

impl Challenges {
    /// The key authorization for `token`, while its challenge is open.
    pub fn answer(&self, token: &str) -> Option<String> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(token)
            .cloned()
    }

    fn put(&self, token: String, key_authorization: String) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token, key_authorization);
    }

    fn remove(&self, token: &str) {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token);
    }
}

/// The challenges one order opened; they are closed when it ends, however it ends.
struct Opened {
    challenges: Challenges,
    tokens: Vec<String>,
}

impl Drop for Opened {
    fn drop(&mut self) {
        for token in &self.tokens {
            self.challenges.remove(token);
        }
    }
}

/// The account file: the credentials (key included) and the directory they belong to.
#[derive(Serialize, Deserialize)]
struct StoredAccount {
    directory: String,
    credentials: AccountCredentials,
}

/// The ACME client of this server.
pub struct Acme {
    settings: AcmeConfig,
    dir: DataDir,
    challenges: Challenges,
    http: reqwest::Client,
}

impl std::fmt::Debug for Acme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acme")
            .field("domains", &self.settings.domains)
            .field("directory", &self.settings.directory)
            .finish_non_exhaustive()
    }
}

impl Acme {
    /// The client for `settings`; reads `acme_ca_root` now, so a bad file stops the start.
    pub fn new(settings: &AcmeConfig, data_dir: &Path) -> anyhow::Result<Self> {
        crate::platform::crypto::install_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("jobber/", env!("CARGO_PKG_VERSION")));
        if let Some(root) = &settings.ca_root {
            let pem = std::fs::read(root)
                .with_context(|| format!("acme_ca_root: cannot read {}", root.display()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("acme_ca_root: {} is not PEM", root.display()))?;
            if certificates.is_empty() {
                bail!("acme_ca_root: {} holds no certificate", root.display());
            }
            builder = builder.tls_certs_merge(certificates);
        }
        Ok(Self {
            settings: settings.clone(),
            dir: DataDir::new(data_dir),
            challenges: Challenges::default(),
            http: builder.build().context("the ACME client's HTTPS")?,
        })
    }

    pub fn challenges(&self) -> Challenges {
        self.challenges.clone()
    }

    pub fn domains(&self) -> &[String] {
        &self.settings.domains
    }

    /// The certificate chain file (PEM) the TLS listener serves.
    pub fn certificate_path(&self) -> PathBuf {
        self.dir.acme_certificate()
    }

    /// The private key file of [`Acme::certificate_path`].
    pub fn key_path(&self) -> PathBuf {
        self.dir.acme_key()
    }

    /// Keep `tls` supplied with a valid certificate until `stop` turns true.
    pub async fn run(self, tls: Tls, mut stop: watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        loop {
            let wait = match self.stored() {
                Ok(stored) => {
                    let due = stored.not_after - chrono_duration(RENEW_BEFORE);
                    let missing: Vec<&String> = self
                        .settings
                        .domains
                        .iter()
                        .filter(|d| !stored.names.contains(d))
                        .collect();
                    if !missing.is_empty() {
                        tracing::info!(
                            ?missing,
                            "ACME: the stored certificate does not cover every domain; requesting a new one"
                        );
                        Duration::ZERO
                    } else {
                        let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                        if wait.is_zero() {
                            tracing::info!(
                                not_after = %stored.not_after,
                                "ACME: the stored certificate is due for renewal; requesting a new one"
                            );
                        } else {
                            tracing::info!(
                                domains = ?self.settings.domains,
                                not_after = %stored.not_after,
                                renew_at = %due,
                                "ACME: using the stored certificate"
                            );
                        }
                        wait
                    }
                }
                Err(why) => {
                    tracing::info!(
                        reason = format!("{why:#}"),
                        directory = %self.settings.directory,
                        "ACME: no usable certificate stored; requesting one"
                    );
                    Duration::ZERO
                }
            };
            if !wait.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(wait.min(RECHECK)) => continue,
                    _ = stop.wait_for(|stopped| *stopped) => return,
                }
            }
            let outcome = tokio::select! {
                outcome = self.obtain() => outcome,
                _ = stop.wait_for(|stopped| *stopped) => return,
            };
            match outcome.and_then(|()| tls.reload()) {
                Ok(()) => {
                    failures = 0;
                    tracing::info!(
                        domains = ?self.settings.domains,
                        "ACME: new certificate installed; new connections use it"
                    );
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = retry_delay(failures);
                    tracing::warn!(
                        error = format!("{error:#}"),
                        directory = %self.settings.directory,
                        failures,
                        retry_in_secs = delay.as_secs(),
                        "ACME: cannot obtain a certificate; the one in use (if any) stays"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = stop.wait_for(|stopped| *stopped) => return,
                    }
                }
            }
        }
    }

    /// What the stored certificate says about itself.
    fn stored(&self) -> anyhow::Result<Leaf> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let path = self.certificate_path();
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        // A certificate from another CA (staging before production) is replaced.
        if let Ok(bytes) = std::fs::read(self.dir.acme_account())
            && let Ok(account) = serde_json::from_slice::<StoredAccount>(&bytes)
            && account.directory != self.settings.directory
        {
            bail!("the stored certificate is from {}", account.directory);
        }
        let leaf = CertificateDer::pem_file_iter(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .next()
            .ok_or_else(|| anyhow!("{} holds no certificate", path.display()))?
            .with_context(|| format!("{} is not PEM", path.display()))?;
        // The key must still be there and fit: the TLS listener would refuse the pair.
        Tls::load(&path, &self.key_path())?;
        leaf_facts(leaf.as_ref())
            .ok_or_else(|| anyhow!("{} is not an X.509 certificate", path.display()))
    }

    /// One order, from the account to the certificate files.
    async fn obtain(&self) -> anyhow::Result<()> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> = self
            .settings
            .domains
            .iter()
            .map(|d| Identifier::Dns(d.clone()))
            .collect();
        let mut order = match account.new_order(&NewOrder::new(&identifiers)).await {
            Ok(order) => order,
            Err(error) => {
                // The CA forgot the account (a test CA restarted, an account
                // deactivated): the next attempt makes a new one.
                if let instant_acme::Error::Api(problem) = &error
                    && problem.r#type.as_deref()
                        == Some("urn:ietf:params:acme:error:accountDoesNotExist")
                {
                    let _ = std::fs::remove_file(self.dir.acme_account());
                }
                return Err(error).context("new order");
            }
        };
        let mut opened = Opened {
            challenges: self.challenges.clone(),
            tokens: Vec::new(),
        };
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.context("authorization")?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                // Validated recently for this account: nothing to prove again.
                AuthorizationStatus::Valid => continue,
                status => bail!(
                    "the CA's authorization for {} is {status:?}",
                    authorization.identifier()
                ),
            }
            let name = authorization.identifier().to_string();
            let mut challenge = authorization
                .challenge(ChallengeType::Http01)
                .ok_or_else(|| anyhow!("the CA offers no HTTP-01 challenge for {name}"))?;
            opened.tokens.push(challenge.token.clone());
            self.challenges.put(
                challenge.token.clone(),
                challenge.key_authorization().as_str().to_owned(),
            );
            challenge.set_ready().await.context("challenge ready")?;
        }
        let status = order
            .poll_ready(&RetryPolicy::new().timeout(Duration::from_secs(120)))
            .await
            .context("waiting for the CA to validate")?;
        if status != OrderStatus::Ready {
            let mut reasons = Vec::new();
            if let Some(problem) = &order.state().error {
                reasons.push(problem.to_string());
            }
            let mut authorizations = order.authorizations();
            while let Some(Ok(mut authorization)) = authorizations.next().await {
                if authorization.refresh().await.is_ok() {
                    for challenge in &authorization.challenges {
                        if let Some(problem) = &challenge.error {
                            reasons.push(format!("{}: {problem}", authorization.identifier()));
                        }
                    }
                }
            }
            bail!(
                "the CA did not validate the domains (order {status:?}): {}; is port 80 of {} reachable from the internet?",
                reasons.join("; "),
                self.settings.domains.join(", ")
            );
        }
        let key_pem = order.finalize().await.context("finalize")?;
        let chain_pem = order
            .poll_certificate(&RetryPolicy::new().timeout(Duration::from_secs(120)))
            .await
            .context("download the certificate")?;
        drop(opened);
        write_private(&self.key_path(), key_pem.as_bytes())?;
        write_private(&self.certificate_path(), chain_pem.as_bytes())?;
        Ok(())
    }

    /// The stored account for this directory, else a new one (stored at once).
    async fn account(&self) -> anyhow::Result<Account> {
        let path = self.dir.acme_account();
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<StoredAccount>(&bytes) {
                Ok(stored) if stored.directory == self.settings.directory => {
                    return Account::builder_with_http(self.client())
                        .from_credentials(stored.credentials)
                        .await
                        .with_context(|| format!("ACME directory {}", self.settings.directory));
                }
                Ok(stored) => tracing::info!(
                    previous = %stored.directory,
                    "ACME: the stored account is for another directory; creating one"
                ),
                Err(error) => tracing::warn!(
                    %error,
                    path = %path.display(),
                    "ACME: the stored account is unreadable; creating one"
                ),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()));
            }
        }
        let contact = self.settings.email.as_ref().map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, credentials) = Account::builder_with_http(self.client())
            .create(
                &NewAccount {
                    contact: &contacts,
                    // Setting `acme_domains` is the operator's agreement (docs/install.md).
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.settings.directory.clone(),
                None,
            )
            .await
            .with_context(|| format!("new account at {}", self.settings.directory))?;
        let stored = StoredAccount {
            directory: self.settings.directory.clone(),
            credentials,
        };
        write_private(&path, &serde_json::to_vec_pretty(&stored)?)?;
        tracing::info!(account = account.id(), "ACME: account created");
        Ok(account)
    }

    fn client(&self) -> Box<dyn instant_acme::HttpClient> {
        Box::new(Http(self.http.clone()))
    }
}

/// `instant-acme`'s requests sent by our `reqwest` client.
struct Http(reqwest::Client);

impl instant_acme::HttpClient for Http {
    fn request(
        &self,
        request: http::Request<BodyWrapper<bytes::Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let client = self.0.clone();
        Box::pin(async move {
            use http_body_util::BodyExt;
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            let response = client
                .execute(request)
                .await
                .map_err(|e| instant_acme::Error::Other(Box::new(e.without_url())))?;
            Ok(BytesResponse::from(http::Response::<reqwest::Body>::from(
                response,
            )))
        })
    }
}

/// The wait after the `failures`-th failed attempt in a row: 1 minute, doubling, at most
/// 6 hours. Let's Encrypt allows 5 failed validations per domain an hour; this stays
/// under it and still retries well before a 30-day renewal window runs out.
pub fn retry_delay(failures: u32) -> Duration {
    let minutes = 1u64 << failures.saturating_sub(1).min(9);
    Duration::from_secs(minutes.saturating_mul(60)).min(Duration::from_secs(6 * 60 * 60))
}

fn chrono_duration(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

/// Write a file only its owner reads, whole: beside it first, then renamed over it.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let temporary = path.with_extension("new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// What renewal needs from a leaf certificate: its end and its DNS names.
#[derive(Debug, PartialEq, Eq)]
struct Leaf {
    not_after: DateTime<Utc>,
    names: Vec<String>,
}

/// One DER element (X.690): its tag, its contents, and the bytes after it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (digits, rest) = rest.split_at(count);
        let length = digits
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (length, rest)
    };
    if rest.len() < length {
        return None;
    }
    let (contents, rest) = rest.split_at(length);
    Some((tag, contents, rest))
}

/// `notAfter` and the `dNSName`s of the subject alternative names of a certificate
/// (RFC 5280 §4.1, §4.2.1.6); `None` when it is not one.
fn leaf_facts(der: &[u8]) -> Option<Leaf> {
    const SEQUENCE: u8 = 0x30;
    let (SEQUENCE, certificate, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let mut rest = tbs;
    // version [0] EXPLICIT, absent for v1
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after;
    }
    // serialNumber, signature, issuer
    for _ in 0..3 {
        rest = element(rest)?.2;
    }
    let (SEQUENCE, validity, after) = element(rest)? else {
        return None;
    };
    rest = after;
    let (_, _, validity) = element(validity)?;
    let (tag, time, _) = element(validity)?;
    let not_after = parse_time(tag, time)?;
    // subject, subjectPublicKeyInfo
    for _ in 0..2 {
        rest = element(rest)?.2;
    }
    let mut names = Vec::new();
    // issuerUniqueID [1], subjectUniqueID [2], extensions [3]
    while let Some((tag, contents, after)) = element(rest) {
        rest = after;
        if tag != 0xa3 {
            continue;
        }
        let (SEQUENCE, mut extensions, _) = element(contents)? else {
            return None;
        };
        while let Some((SEQUENCE, extension, after)) = element(extensions) {
            extensions = after;
            let (0x06, oid, mut value) = element(extension)? else {
                return None;
            };
            // id-ce-subjectAltName 2.5.29.17
            if oid != [0x55, 0x1d, 0x11] {
                continue;
            }
            let (mut tag, mut octets, after) = element(value)?;
            if tag == 0x01 {
                // critical BOOLEAN
                value = after;
                (tag, octets, _) = element(value)?;
            }
            if tag != 0x04 {
                return None;
            }
            let (SEQUENCE, mut general, _) = element(octets)? else {
                return None;
            };
            while let Some((tag, name, after)) = element(general) {
                general = after;
                // dNSName [2] IA5String
                if tag == 0x82 {
                    names.push(String::from_utf8_lossy(name).to_ascii_lowercase());
                }
            }
        }
    }
    Some(Leaf { not_after, names })
}

/// UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn parse_time(tag: u8, bytes: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let full = match tag {
        0x17 => {
            let year: u32 = text.get(0..2)?.parse().ok()?;
            let century = if year >= 50 { "19" } else { "20" };
            format!("{century}{text}")
        }
        0x18 => text.to_owned(),
        _ => return None,
    };
    NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    /// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes
    /// -days 90 -subj /CN=a.example -addext subjectAltName=DNS:a.example,DNS:B.example,IP:127.0.0.1`
    const UTC_TIME: &str = include_str!("acme/utc-time.pem");
    /// For `c.example` with `-days 10000`: past 2049, so its notAfter is a
    /// GeneralizedTime, and the extension is marked critical.
    const GENERALIZED_TIME: &str = include_str!("acme/generalized-time.pem");

    fn der(pem: &str) -> Vec<u8> {
        CertificateDer::from_pem_slice(pem.as_bytes())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn reads_the_end_and_the_dns_names_of_a_certificate() {
        let leaf = leaf_facts(&der(UTC_TIME)).unwrap();
        assert_eq!(leaf.names, ["a.example", "b.example"]);
        assert_eq!(leaf.not_after.to_rfc3339(), "2027-03-03T14:14:01+00:00");
        let leaf = leaf_facts(&der(GENERALIZED_TIME)).unwrap();
        assert_eq!(leaf.names, ["c.example"]);
        assert_eq!(leaf.not_after.to_rfc3339(), "2054-04-20T14:14:01+00:00");
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        assert_eq!(leaf_facts(b""), None);
        assert_eq!(leaf_facts(&[0x30, 0x03, 0x02, 0x01]), None);
        let mut cut = der(UTC_TIME);
        cut.truncate(100);
        assert_eq!(leaf_facts(&cut), None);
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_six_hours() {
        assert_eq!(retry_delay(1), Duration::from_secs(60));
        assert_eq!(retry_delay(2), Duration::from_secs(120));
        assert_eq!(retry_delay(5), Duration::from_secs(16 * 60));
        assert_eq!(retry_delay(9), Duration::from_secs(256 * 60));
        assert_eq!(retry_delay(10), Duration::from_secs(6 * 60 * 60));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(6 * 60 * 60));
    }

    #[test]
    fn challenges_are_answered_while_open() {
        let challenges = Challenges::default();
        {
            let _opened = Opened {
                challenges: challenges.clone(),
                tokens: vec!["t1".into()],
            };
            challenges.put("t1".into(), "t1.thumb".into());
            assert_eq!(challenges.answer("t1").as_deref(), Some("t1.thumb"));
            assert_eq!(challenges.answer("t2"), None);
        }
        assert_eq!(challenges.answer("t1"), None);
    }
}
