//! HTTPS with `--tls-cert/--tls-key`: the real binary serves TLS 1.3 (and 1.2) with a
//! self-signed certificate made here, marks session cookies `Secure`, sends HSTS, and
//! after the files are replaced and SIGHUP sent, new connections get the new
//! certificate while an open connection keeps working.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

use crate::background::free_port;
use crate::helpers::{PASSWORD, fresh_database};

pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost: (cert PEM, key PEM, cert DER).
pub(crate) fn self_signed(dir: &Path, name: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A server certificate, not a CA (openssl's default for -x509): webpki
        // refuses a CA certificate as the server's own.
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=digitalSignature"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl (Debian: apt install openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let der = Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(der.status.success());
    (
        std::fs::read(&cert).unwrap(),
        std::fs::read(&key).unwrap(),
        der.stdout,
    )
}

/// Replace a file the way a certificate tool does: write beside it, then rename.
/// Readable by all: jobber, started as root here, reads it as the user it drops to.
fn replace(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let temporary = path.with_extension("new");
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

fn client(roots: &[&[u8]], max_tls12: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only(
            roots
                .iter()
                .map(|pem| reqwest::Certificate::from_pem(pem).unwrap()),
        )
        .tls_info(true);
    if max_tls12 {
        builder = builder.tls_version_max(reqwest::tls::Version::TLS_1_2);
    }
    builder.build().unwrap()
}

/// The DER of the certificate the server presented.
pub(crate) fn served(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn https_serves_the_certificate_and_reloads_it_on_sighup() {
    jobber::cli::install_crypto_provider();
    let root = std::env::temp_dir().join(format!("jobber-tls-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let (first_pem, first_key, first_der) = self_signed(&root, "first");
    let (second_pem, second_key, second_der) = self_signed(&root, "second");
    let cert = root.join("tls.crt");
    let key = root.join("tls.key");
    replace(&cert, &first_pem);
    replace(&key, &first_key);

    let (port, admin) = (free_port(), free_port());
    let log = std::fs::File::create(root.join("server.log")).unwrap();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_jobber"))
            .args(["serve", "--role", "api"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .env("JOBBER_DATABASE_URL", fresh_database().await)
            .env("JOBBER_DATA_DIR", root.join("data"))
            .env("JOBBER_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("https://127.0.0.1:{port}");
    let both: [&[u8]; 2] = [&first_pem, &second_pem];
    let kept = client(&both, false);
    let deadline = Instant::now() + Duration::from_secs(60);
    let ready = loop {
        let outcome = kept.get(format!("{base}/readyz")).send().await;
        if let Ok(response) = &outcome
            && response.status() == 200
        {
            break outcome.unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "jobber did not serve HTTPS ({outcome:?}); see {}",
            root.join("server.log").display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(served(&ready), first_der);
    assert_eq!(
        ready
            .headers()
            .get("strict-transport-security")
            .and_then(|v| v.to_str().ok()),
        Some("max-age=31536000")
    );
    // Plain HTTP on the TLS port gets no answer.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .is_err()
    );
    // TLS 1.2 is still allowed.
    let tls12 = client(&[&first_pem], true);
    let response = tls12.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);

    // The browser session cookie is Secure over our own TLS.
    let signup = kept
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"business_name": "Tls Lawn", "name": "Tia", "email": "tia@tls.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);
    let session = kept
        .post(format!("{base}/api/v1/auth/session"))
        .json(&json!({"email": "tia@tls.example", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 200);
    let cookie = session
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_string();
    assert!(cookie.ends_with("; Secure"), "{cookie}");

    // New files, SIGHUP: new connections get the new certificate.
    replace(&key, &second_key);
    replace(&cert, &second_pem);
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGHUP).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = client(&both, false);
        let response = fresh.get(format!("{base}/healthz")).send().await.unwrap();
        if served(&response) == second_der {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate is not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The connection opened before the reload was not dropped: it still answers,
    // with the certificate it began with.
    let response = kept.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(served(&response), first_der);

    // A broken file on reload keeps the certificate in use.
    replace(&cert, b"not a certificate");
    kill(Pid::from_raw(server.0.id() as i32), Signal::SIGHUP).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let response = client(&both, false)
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(served(&response), second_der);
    let server_log = std::fs::read_to_string(root.join("server.log")).unwrap();
    assert!(
        server_log.contains("cannot reload the TLS certificate"),
        "{server_log}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&root);
}
