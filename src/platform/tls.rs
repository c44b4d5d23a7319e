//! HTTPS on the public listener: rustls with the ring provider, TLS 1.3 preferred and
//! TLS 1.2 allowed, the certificate chain and key read from PEM files
//! (`--tls-cert`, `--tls-key`).
//!
//! The files are read again by [`Tls::reload`] (on SIGHUP, e.g. from certbot's deploy
//! hook, and after each ACME renewal, `platform::acme`): new handshakes get the new
//! certificate, connections already open keep the one they began with, and nothing is
//! dropped. A reload that fails (a half-written file, a key that does not match) keeps
//! the certificate in use and says why.
//!
//! With ACME the files live in the data dir and may not exist yet on a first start:
//! until the first certificate arrives, handshakes are refused (no certificate to
//! offer) while the HTTP-01 listener already answers the CA.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, ensure};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The certificate handed to every new handshake, swapped whole on reload; none yet
/// while an ACME server waits for its first.
#[derive(Debug)]
struct Current(RwLock<Option<Arc<CertifiedKey>>>);

impl Current {
    fn get(&self) -> Option<Arc<CertifiedKey>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set(&self, key: CertifiedKey) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(key));
    }
}

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.get()
    }
}

/// The public listener's TLS: its acceptor and the files it reloads from.
#[derive(Clone)]
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: Arc<Current>,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Tls {
    pub fn load(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        Self::with(cert, key, Some(read_pair(cert, key)?))
    }

    /// The files an ACME client keeps (`platform::acme`): served when they exist and
    /// hold a good pair; otherwise no certificate until [`Tls::reload`] finds one.
    pub fn load_stored(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let pair = if cert.exists() {
            match read_pair(cert, key) {
                Ok(pair) => Some(pair),
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "the stored certificate is unusable; a new one will be requested"
                    );
                    None
                }
            }
        } else {
            None
        };
        Self::with(cert, key, pair)
    }

    fn with(cert: &Path, key: &Path, pair: Option<CertifiedKey>) -> anyhow::Result<Self> {
        let current = Arc::new(Current(RwLock::new(pair.map(Arc::new))));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // rustls offers and prefers TLS 1.3 whenever the client can; 1.2 stays for
        // older clients (and its cipher suites are the forward-secret AEAD ones only).
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Read the files again; on error the certificate in use stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let pair = read_pair(&self.cert, &self.key)?;
        self.current.set(pair);
        Ok(())
    }

    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        self.acceptor.clone()
    }

    /// The leaf certificate served now (DER); empty while there is none.
    pub fn certificate(&self) -> Vec<u8> {
        self.current
            .get()
            .and_then(|pair| pair.cert.first().map(|c| c.as_ref().to_vec()))
            .unwrap_or_default()
    }
}

/// The chain (leaf first) and its private key, checked to belong together.
fn read_pair(cert: &Path, key: &Path) -> anyhow::Result<CertifiedKey> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("tls_cert: cannot read {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("tls_cert: {} is not PEM", cert.display()))?;
    ensure!(
        !chain.is_empty(),
        "tls_cert: {} holds no certificate",
        cert.display()
    );
    let private = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("tls_key: cannot read a private key from {}", key.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&private)
        .with_context(|| format!("tls_key: {} is not a supported key", key.display()))?;
    let pair = CertifiedKey::new(chain, signing);
    pair.keys_match().with_context(|| {
        format!(
            "tls_key: {} is not the key of the certificate in {}",
            key.display(),
            cert.display()
        )
    })?;
    Ok(pair)
}
