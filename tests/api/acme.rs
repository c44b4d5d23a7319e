//! Automatic certificates against Pebble, Let's Encrypt's ACME test server, started
//! here: the real binary gets a certificate for `localhost` over HTTP-01 (Pebble's
//! validation authority calls our challenge listener on loopback), serves it (checked
//! against Pebble's issuing root), redirects plain HTTP to HTTPS, reuses its account
//! and certificate after a restart, renews without a restart (Pebble issues
//! certificates that live 30 days and 20 seconds, so renewal, due 30 days before
//! expiry, comes 20 seconds after issuance) and keeps serving when the CA is gone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::background::free_port;
use crate::helpers::fresh_database;
use crate::tls::{Server, self_signed, served};

/// Whether Debian's `pebble` is installed; under CI a missing peer fails the test, on
/// a developer machine the test is skipped loudly.
fn have_pebble(test: &str) -> bool {
    let ok = Command::new("pebble")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "pebble is missing (run scripts/install-test-deps.sh)"
        );
        eprintln!(
            "\n*** SKIPPING {test}: the `pebble` binary is not installed (Debian: apt install pebble, or scripts/install-test-deps.sh) ***\n"
        );
    }
    ok
}

struct Pebble(Child);

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client that trusts only `root` and finds `localhost` on the public port.
fn https(root: &[u8], port: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(root).unwrap()])
        .tls_info(true)
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The leaf certificate (DER) of a PEM chain file.
fn leaf(path: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(path)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .as_ref()
        .to_vec()
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Wait until jobber answers HTTPS with a certificate Pebble issued (a new connection
/// each time); the certificate it served.
async fn served_by_pebble(root: &[u8], port: u16, log: &Path) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let outcome = https(root, port)
            .get(format!("https://localhost:{port}/readyz"))
            .send()
            .await;
        if let Ok(response) = &outcome
            && response.status() == 200
        {
            assert_eq!(
                response
                    .headers()
                    .get("strict-transport-security")
                    .and_then(|v| v.to_str().ok()),
                Some("max-age=31536000")
            );
            return served(response);
        }
        assert!(
            Instant::now() < deadline,
            "jobber did not serve a Pebble certificate ({outcome:?}); log:\n{}",
            read_log(log)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Wait until the log has a line with one of `needles`.
async fn wait_for_line(log: &Path, needles: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !needles.iter().any(|needle| read_log(log).contains(needle)) {
        assert!(
            Instant::now() < deadline,
            "none of {needles:?} in the log:\n{}",
            read_log(log)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn acme_certificates_from_pebble_are_obtained_reused_renewed_and_kept_without_the_ca() {
    if !have_pebble(
        "acme_certificates_from_pebble_are_obtained_reused_renewed_and_kept_without_the_ca",
    ) {
        return;
    }
    jobber::cli::install_crypto_provider();
    let root = std::env::temp_dir().join(format!("jobber-acme-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    // Pebble's own HTTPS (its directory and management API), for 127.0.0.1.
    let (pebble_pem, _, _) = self_signed(&root, "pebble");
    let [directory, management, challenge, tls_alpn, port, admin] = [(); 6].map(|()| free_port());
    let config = root.join("pebble.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{directory}"),
                "managementListenAddress": format!("127.0.0.1:{management}"),
                "certificate": root.join("pebble.crt"),
                "privateKey": root.join("pebble.key"),
                // The validation authority calls http://localhost:<httpPort>/…: our
                // challenge listener.
                "httpPort": challenge,
                "tlsPort": tls_alpn,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
                "certificateValidityPeriod": 30 * 24 * 60 * 60 + 20,
            }
        })
        .to_string(),
    )
    .unwrap();
    let pebble_log = std::fs::File::create(root.join("pebble.log")).unwrap();
    let pebble = Pebble(
        Command::new("pebble")
            .arg("-config")
            .arg(&config)
            // No random sleeps before validating; no nonces rejected on purpose.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(pebble_log.try_clone().unwrap())
            .stderr(pebble_log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Pebble makes a new CA at each start and serves its root on the management port.
    let trust_pebble = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pebble_pem).unwrap()])
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let issuing_root = loop {
        let outcome = trust_pebble
            .get(format!("https://127.0.0.1:{management}/roots/0"))
            .send()
            .await;
        if let Ok(response) = outcome
            && response.status() == 200
        {
            break response.bytes().await.unwrap().to_vec();
        }
        assert!(
            Instant::now() < deadline,
            "pebble did not start: {}",
            read_log(&root.join("pebble.log"))
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };

    let database = fresh_database().await;
    let data: PathBuf = root.join("data");
    let start = |log: &Path| {
        let log = std::fs::File::create(log).unwrap();
        Server(
            Command::new(env!("CARGO_BIN_EXE_jobber"))
                .args(["serve", "--role", "api"])
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
                .args(["--acme-domain", "localhost"])
                .args(["--acme-email", "ops@example.com"])
                .args([
                    "--acme-directory",
                    &format!("https://127.0.0.1:{directory}/dir"),
                ])
                .args(["--acme-http-listen", &format!("127.0.0.1:{challenge}")])
                .arg("--acme-ca-root")
                .arg(root.join("pebble.crt"))
                .env("JOBBER_DATABASE_URL", &database)
                .env("JOBBER_DATA_DIR", &data)
                .env("JOBBER_LOG", "info")
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };

    // First start: no certificate yet; one is requested and served.
    let first_log = root.join("first.log");
    let server = start(&first_log);
    let first = served_by_pebble(&issuing_root, port, &first_log).await;
    assert_eq!(first, leaf(&data.join("acme/certificate.pem")));
    {
        use std::os::unix::fs::PermissionsExt;
        for private in ["acme/certificate.key", "acme/account.json"] {
            let mode = std::fs::metadata(data.join(private))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{private}");
        }
    }
    let account = std::fs::read(data.join("acme/account.json")).unwrap();

    // The challenge listener sends everything else to HTTPS, same host and path.
    let plain = reqwest::Client::builder()
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], challenge)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let response = plain
            .request(
                method,
                format!("http://localhost:{challenge}/clients/42?tab=jobs"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 308);
        assert_eq!(
            response.headers()["location"],
            format!("https://localhost:{port}/clients/42?tab=jobs").as_str()
        );
    }
    // A host that is not ours is sent to the certificate's name.
    let response = plain
        .get(format!("http://127.0.0.1:{challenge}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(
        response.headers()["location"],
        format!("https://localhost:{port}/").as_str()
    );
    let response = plain
        .get(format!(
            "http://localhost:{challenge}/.well-known/acme-challenge/unknown-token"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // A restart reuses the account and the stored certificate.
    drop(server);
    let second_log = root.join("second.log");
    let server = start(&second_log);
    served_by_pebble(&issuing_root, port, &second_log).await;
    // Loaded from the data dir: still fresh, or already due for renewal when the
    // restart took longer than the 20 seconds.
    wait_for_line(
        &second_log,
        &[
            "ACME: using the stored certificate",
            "ACME: the stored certificate is due for renewal",
        ],
    )
    .await;
    assert!(!read_log(&second_log).contains("ACME: no usable certificate stored"));
    assert!(!read_log(&second_log).contains("ACME: account created"));
    assert_eq!(
        std::fs::read(data.join("acme/account.json")).unwrap(),
        account
    );

    // Renewal (due 20 s after issuance here) replaces the certificate in the running
    // server: new connections get the new one.
    wait_for_line(&second_log, &["ACME: new certificate installed"]).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let renewed = loop {
        let now = served_by_pebble(&issuing_root, port, &second_log).await;
        if now != first {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate is not served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(renewed, first);
    let mut server = server;
    assert!(server.0.try_wait().unwrap().is_none(), "jobber restarted");

    // The CA gone: the next renewal fails with a warning and the certificate in use
    // stays.
    drop(pebble);
    wait_for_line(&second_log, &["ACME: cannot obtain a certificate"]).await;
    let kept = served_by_pebble(&issuing_root, port, &second_log).await;
    assert_eq!(kept, leaf(&data.join("acme/certificate.pem")));
    assert!(
        read_log(&second_log)
            .lines()
            .any(|l| l.contains("ACME: cannot obtain a certificate") && l.contains("WARN")),
        "{}",
        read_log(&second_log)
    );
    assert!(server.0.try_wait().unwrap().is_none(), "jobber stopped");
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
