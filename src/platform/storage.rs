//! Files: generated PDFs and uploads, through `object_store` on a local
//! directory (`<data_dir>/files` by default) or any S3-compatible bucket.
//!
//! Keys follow the seed's §7.1 layout (`uploads/{accountId}/invoices/{invoiceId}.pdf`)
//! and are built by [`ObjectKey`]'s constructors or checked by [`ObjectKey::parse`],
//! which admits no `..`, no empty or hidden segments and nothing but
//! `[A-Za-z0-9._-]` in a segment: a key can never leave the storage root.
//!
//! Downloads by URL: S3 gives a presigned GET (SigV4); the local store gives
//! `{public_url}/files/{key}?expires=…&sig=…`, an HMAC-SHA256 over the key and the
//! expiry that `GET /files/{*key}` checks in constant time. This module never
//! decides who may read a file: callers authorize first, then sign.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
    RetryConfig,
};
use secrecy::ExposeSecret;
use sha2::Sha256;
use uuid::Uuid;

use crate::config::Config;

/// How long a download URL works.
pub const SIGNED_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// Where temporary uploads are kept (a prefix of keys, for listing).
pub const TEMP_UPLOADS: &str = "uploads/temp";

/// A checked object key, relative to the storage root (and to the S3 prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// `uploads/{accountId}/invoices/{invoiceId}.pdf` (seed §7.1).
    pub fn invoice_pdf(account_id: Uuid, invoice_id: Uuid) -> Self {
        Self(format!("uploads/{account_id}/invoices/{invoice_id}.pdf"))
    }

    /// `uploads/{accountId}/jobs/{jobId}/{attachmentId}.{ext}` (seed §7.1: a job's
    /// photos and documents under the job).
    pub fn job_attachment(account_id: Uuid, job_id: Uuid, id: Uuid, ext: &str) -> Self {
        Self(format!("uploads/{account_id}/jobs/{job_id}/{id}.{ext}"))
    }

    /// `uploads/{accountId}/jobs/{jobId}/{attachmentId}-thumb.jpg`, beside the photo.
    pub fn attachment_thumbnail(account_id: Uuid, job_id: Uuid, id: Uuid) -> Self {
        Self(format!("uploads/{account_id}/jobs/{job_id}/{id}-thumb.jpg"))
    }

    /// `uploads/{accountId}/clients/{clientId}/avatar-{avatarId}.jpg` (seed §7.1's
    /// `avatar.jpg`, with one name per upload so a replaced avatar is never read
    /// half-written or from a stale cache).
    pub fn client_avatar(account_id: Uuid, client_id: Uuid, avatar_id: Uuid) -> Self {
        Self(format!(
            "uploads/{account_id}/clients/{client_id}/avatar-{avatar_id}.jpg"
        ))
    }

    /// The uploaded picture an avatar is cropped from, beside it until then.
    pub fn client_avatar_original(
        account_id: Uuid,
        client_id: Uuid,
        avatar_id: Uuid,
        ext: &str,
    ) -> Self {
        Self(format!(
            "uploads/{account_id}/clients/{client_id}/avatar-{avatar_id}-original.{ext}"
        ))
    }

    /// `uploads/{accountId}/branding/logo-{id}.{ext}`: a new key per upload.
    pub fn logo(account_id: Uuid, id: Uuid, ext: &str) -> Self {
        Self(format!("uploads/{account_id}/branding/logo-{id}.{ext}"))
    }

    /// `uploads/{accountId}/reports/{exportId}.csv`: a CSV export.
    pub fn report_export(account_id: Uuid, id: Uuid) -> Self {
        Self(format!("uploads/{account_id}/reports/{id}.csv"))
    }

    /// `uploads/{accountId}/quotes/{quoteId}.pdf`, beside the invoices.
    pub fn quote_pdf(account_id: Uuid, quote_id: Uuid) -> Self {
        Self(format!("uploads/{account_id}/quotes/{quote_id}.pdf"))
    }

    /// `uploads/{accountId}/quotes/{quoteId}-signature.png`: the signature the client
    /// drew when approving in the client hub.
    pub fn quote_signature(account_id: Uuid, quote_id: Uuid) -> Self {
        Self(format!(
            "uploads/{account_id}/quotes/{quote_id}-signature.png"
        ))
    }

    /// `uploads/temp/{accountId}/{uploadId}.{ext}` (seed §7.1 `uploads/temp/`): a file
    /// uploaded ahead of the request that uses it, deleted within a day.
    pub fn temp_upload(account_id: Uuid, id: Uuid, ext: &str) -> Self {
        Self(format!("{TEMP_UPLOADS}/{account_id}/{id}.{ext}"))
    }

    /// The account and upload id of a [`ObjectKey::temp_upload`] key.
    pub fn temp_upload_ids(&self) -> Option<(Uuid, Uuid)> {
        let rest = self.0.strip_prefix(TEMP_UPLOADS)?.strip_prefix('/')?;
        let (account, file) = rest.split_once('/')?;
        let (id, _ext) = file.split_once('.')?;
        Some((Uuid::try_parse(account).ok()?, Uuid::try_parse(id).ok()?))
    }

    /// A key from outside (a URL): `/`-separated segments of `[A-Za-z0-9._-]`, none
    /// empty, none starting with a dot (so no `.` or `..`), at most 512 bytes.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.len() <= 512
            && text.split('/').all(|segment| {
                !segment.is_empty()
                    && !segment.starts_with('.')
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        ok.then(|| Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `Content-Type` a file is served with, from its extension.
    pub fn content_type(&self) -> &'static str {
        match self.0.rsplit_once('.').map(|(_, ext)| ext) {
            Some("pdf") => "application/pdf",
            Some("png") => "image/png",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("webp") => "image/webp",
            Some("gif") => "image/gif",
            Some("csv") => "text/csv",
            _ => "application/octet-stream",
        }
    }
}

/// What a signed local download link is worth.
/// A file operation that failed on the object store's side: S3 unreachable, timing
/// out or failing (object_store's `Generic` error, after its retries). An outage,
/// not a bug: the API answers `503 storage_unavailable`. Local-disk errors are not
/// wrapped (a full or unwritable disk needs the operator).
#[derive(Debug, thiserror::Error)]
#[error("the file store is unavailable")]
pub struct StorageUnavailable(#[source] pub object_store::Error);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlCheck {
    Valid,
    Expired,
    Invalid,
}

enum Backend {
    Local,
    S3 { s3: Arc<AmazonS3>, prefix: String },
}

struct Inner {
    store: Arc<dyn ObjectStore>,
    backend: Backend,
    /// Signs local download URLs; derived from the token key, never the key itself.
    url_key: Vec<u8>,
    public_url: String,
    description: String,
}

/// The file store. Cheap to clone.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.inner.description)
    }
}

impl Storage {
    /// The store the configuration names. `url_key` signs local download URLs.
    pub fn from_config(config: &Config, url_key: &[u8]) -> anyhow::Result<Self> {
        let storage = &config.storage;
        let (store, backend, description): (Arc<dyn ObjectStore>, Backend, String) =
            match storage.url.as_deref() {
                Some(url) if url.starts_with("s3://") => {
                    let rest = url.trim_start_matches("s3://");
                    let (bucket, prefix) = match rest.split_once('/') {
                        Some((bucket, prefix)) => (bucket, prefix.trim_matches('/')),
                        None => (rest, ""),
                    };
                    anyhow::ensure!(!bucket.is_empty(), "storage_url {url:?} names no bucket");
                    // A request fails within seconds when S3 is unreachable, instead of
                    // object_store's default of retrying for three minutes.
                    let mut builder = AmazonS3Builder::from_env()
                        .with_bucket_name(bucket)
                        .with_client_options(
                            ClientOptions::new()
                                .with_connect_timeout(Duration::from_secs(5))
                                .with_timeout(Duration::from_secs(30)),
                        )
                        .with_retry(RetryConfig {
                            max_retries: 3,
                            retry_timeout: Duration::from_secs(15),
                            ..RetryConfig::default()
                        });
                    if let Some(endpoint) = &storage.endpoint {
                        builder = builder
                            .with_endpoint(endpoint)
                            .with_virtual_hosted_style_request(false)
                            .with_allow_http(endpoint.starts_with("http://"));
                    }
                    match &storage.region {
                        Some(region) => builder = builder.with_region(region),
                        None if std::env::var_os("AWS_REGION").is_none()
                            && std::env::var_os("AWS_DEFAULT_REGION").is_none() =>
                        {
                            builder = builder.with_region("us-east-1");
                        }
                        None => {}
                    }
                    if let (Some(id), Some(secret)) =
                        (&storage.access_key_id, &storage.secret_access_key)
                    {
                        builder = builder
                            .with_access_key_id(id)
                            .with_secret_access_key(secret.expose_secret());
                    }
                    let s3 = Arc::new(builder.build().context("storage_url: S3 settings")?);
                    let description = format!("s3://{bucket}/{prefix}");
                    (
                        s3.clone(),
                        Backend::S3 {
                            s3,
                            prefix: prefix.to_string(),
                        },
                        description,
                    )
                }
                other => {
                    let dir = match other {
                        Some(path) => PathBuf::from(path.trim_start_matches("file://")),
                        None => super::datadir::DataDir::new(&config.data_dir).files(),
                    };
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    let local = LocalFileSystem::new_with_prefix(&dir)
                        .with_context(|| format!("storage directory {}", dir.display()))?;
                    (Arc::new(local), Backend::Local, dir.display().to_string())
                }
            };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                backend,
                url_key: url_key.to_vec(),
                public_url: config.public_url.clone(),
                description,
            }),
        })
    }

    fn path(&self, key: &ObjectKey) -> StorePath {
        match &self.inner.backend {
            Backend::S3 { prefix, .. } if !prefix.is_empty() => {
                StorePath::from(format!("{prefix}/{}", key.as_str()))
            }
            _ => StorePath::from(key.as_str()),
        }
    }

    /// Write (or replace) a file.
    pub async fn put(&self, key: &ObjectKey, bytes: Bytes) -> anyhow::Result<()> {
        let path = self.path(key);
        let mut options = PutOptions::default();
        // The local store keeps no attributes (it would refuse them); S3 serves the
        // content type to whoever follows a presigned URL.
        if matches!(self.inner.backend, Backend::S3 { .. }) {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, key.content_type().into());
            // As `files` serves the local store: only pictures and PDFs may display
            // in the browser; anything else (CSV exports) is a download.
            let content_type = key.content_type();
            if !content_type.starts_with("image/") && content_type != "application/pdf" {
                attributes.insert(Attribute::ContentDisposition, "attachment".into());
            }
            options.attributes = attributes;
        }
        self.inner
            .store
            .put_opts(&path, PutPayload::from_bytes(bytes), options)
            .await
            .map_err(|e| self.failed(e))
            .with_context(|| format!("storing {}", key.as_str()))?;
        Ok(())
    }

    /// An object store error, marked [`StorageUnavailable`] when it is an outage of
    /// a remote store.
    fn failed(&self, error: object_store::Error) -> anyhow::Error {
        match (&self.inner.backend, &error) {
            (Backend::S3 { .. }, object_store::Error::Generic { .. }) => {
                StorageUnavailable(error).into()
            }
            _ => error.into(),
        }
    }

    /// A file's bytes, or None when there is no such file.
    pub async fn get(&self, key: &ObjectKey) -> anyhow::Result<Option<Bytes>> {
        match self.inner.store.get(&self.path(key)).await {
            Ok(result) => Ok(Some(
                result
                    .bytes()
                    .await
                    .map_err(|e| self.failed(e))
                    .with_context(|| format!("reading {}", key.as_str()))?,
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.failed(e)).with_context(|| format!("reading {}", key.as_str())),
        }
    }

    /// Copy a file to another key (replacing what is there); false when there is no
    /// file to copy. Local files are hard-linked, S3 copies inside the bucket: the
    /// bytes never pass through this process.
    pub async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> anyhow::Result<bool> {
        match self
            .inner
            .store
            .copy(&self.path(from), &self.path(to))
            .await
        {
            Ok(()) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.failed(e))
                .with_context(|| format!("copying {} to {}", from.as_str(), to.as_str())),
        }
    }

    /// Files under the key prefix `prefix` (such as [`TEMP_UPLOADS`]) last written
    /// before `cutoff`, at most `limit` of them. Names that are not valid keys (a
    /// local store's half-written files) are left out.
    pub async fn list_older_than(
        &self,
        prefix: &str,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> anyhow::Result<Vec<ObjectKey>> {
        let checked =
            ObjectKey::parse(prefix).with_context(|| format!("{prefix:?} is not a key prefix"))?;
        let mut listing = self.inner.store.list(Some(&self.path(&checked)));
        let mut found = Vec::new();
        while found.len() < limit
            && let Some(meta) = listing.next().await
        {
            let meta = meta.with_context(|| format!("listing {prefix}"))?;
            if meta.last_modified >= cutoff {
                continue;
            }
            if let Some(key) = self.key_of(&meta.location) {
                found.push(key);
            }
        }
        Ok(found)
    }

    /// The store itself and the prefix this install's files live under, for the
    /// backups ([`crate::platform::backup`]), which read and write whole trees.
    pub fn tree(&self) -> (Arc<dyn ObjectStore>, String) {
        let prefix = match &self.inner.backend {
            Backend::S3 { prefix, .. } => prefix.clone(),
            Backend::Local => String::new(),
        };
        (self.inner.store.clone(), prefix)
    }

    /// The key of a store path (the inverse of [`Storage::path`]).
    fn key_of(&self, path: &StorePath) -> Option<ObjectKey> {
        let text = path.as_ref();
        let key = match &self.inner.backend {
            Backend::S3 { prefix, .. } if !prefix.is_empty() => {
                text.strip_prefix(prefix.as_str())?.strip_prefix('/')?
            }
            _ => text,
        };
        ObjectKey::parse(key)
    }

    /// Remove a file; a missing one is not an error.
    pub async fn delete(&self, key: &ObjectKey) -> anyhow::Result<()> {
        match self.inner.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.failed(e)).with_context(|| format!("deleting {}", key.as_str())),
        }
    }

    /// A URL that downloads the file without credentials for `ttl`: presigned on
    /// S3, an HMAC-signed `/files/…` link on the local store.
    pub async fn signed_url(&self, key: &ObjectKey, ttl: Duration) -> anyhow::Result<String> {
        match &self.inner.backend {
            Backend::S3 { s3, .. } => {
                let url = s3
                    .signed_url(axum::http::Method::GET, &self.path(key), ttl)
                    .await
                    .with_context(|| format!("presigning {}", key.as_str()))?;
                Ok(url.to_string())
            }
            Backend::Local => {
                let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
                let expires = chrono::Utc::now().timestamp().saturating_add(ttl);
                Ok(format!(
                    "{}/files/{}?expires={expires}&sig={}",
                    self.inner.public_url,
                    key.as_str(),
                    self.sign(key, expires)
                ))
            }
        }
    }

    fn mac(&self, key: &ObjectKey, expires: i64) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.inner.url_key).unwrap_or_else(|_| unreachable!());
        mac.update(format!("file:{}:{expires}", key.as_str()).as_bytes());
        mac
    }

    fn sign(&self, key: &ObjectKey, expires: i64) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(key, expires).finalize().into_bytes())
    }

    /// Check a local download link (constant-time), then its expiry against `now`.
    pub fn verify(&self, key: &ObjectKey, expires: i64, signature: &str, now: i64) -> UrlCheck {
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return UrlCheck::Invalid;
        };
        if self.mac(key, expires).verify_slice(&signature).is_err() {
            UrlCheck::Invalid
        } else if expires <= now {
            UrlCheck::Expired
        } else {
            UrlCheck::Valid
        }
    }

    /// Whether files are on the local disk (served by `GET /files/…`).
    pub fn is_local(&self) -> bool {
        matches!(self.inner.backend, Backend::Local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        for bad in [
            "",
            "..",
            "../etc/passwd",
            "uploads/../../x",
            "uploads//x",
            "/abs",
            "uploads/.hidden",
            "uploads/a b",
            "uploads/%2e%2e",
            "uploads\\..\\x",
            "uploads/x/",
        ] {
            assert_eq!(ObjectKey::parse(bad), None, "{bad:?} accepted");
        }
        let id = Uuid::nil();
        let key = ObjectKey::invoice_pdf(id, id);
        assert_eq!(ObjectKey::parse(key.as_str()), Some(key.clone()));
        assert_eq!(key.content_type(), "application/pdf");
    }

    #[test]
    fn temp_upload_keys_name_their_account_and_upload() {
        let (account, upload) = (Uuid::now_v7(), Uuid::now_v7());
        let key = ObjectKey::temp_upload(account, upload, "jpg");
        assert_eq!(key.as_str(), format!("uploads/temp/{account}/{upload}.jpg"));
        assert_eq!(ObjectKey::parse(key.as_str()), Some(key.clone()));
        assert_eq!(key.temp_upload_ids(), Some((account, upload)));
        assert_eq!(
            ObjectKey::invoice_pdf(account, upload).temp_upload_ids(),
            None
        );
        let stray = ObjectKey::parse(&format!("uploads/temp/{account}/notes.txt")).unwrap();
        assert_eq!(stray.temp_upload_ids(), None);
    }
}
