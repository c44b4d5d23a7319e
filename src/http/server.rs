//! The HTTP/1 listener loop, with the limits `axum::serve` does not have: a cap on
//! open connections, a deadline for a request's headers, and an idle timeout.
//!
//! Without them one client holding a thousand half-sent requests open exhausts the
//! process's file descriptors, and then nobody (not even `/healthz`) is answered. A
//! connection over the cap is answered `503` with `Retry-After` and closed at once, so
//! a load balancer or client sees the refusal instead of a hang.
//!
//! With TLS ([`crate::platform::tls`]) the handshake runs in the connection's task,
//! within the header deadline, and each request carries [`OverTls`]; responses then
//! carry `Strict-Transport-Security`.

use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::config::HttpConfig;

/// Connections being answered `503 too_many_connections` at once.
const MAX_REFUSALS: usize = 256;

/// A request extension: the request came over this server's own TLS.
#[derive(Debug, Clone, Copy)]
pub struct OverTls;

/// HSTS (RFC 6797) on every response over TLS: browsers that saw it use HTTPS only,
/// for a year.
const HSTS: &str = "max-age=31536000";

/// Serve `router` on `listener` until `stop` turns true, then close idle connections,
/// let busy ones finish their request, and return once every connection has ended
/// (the caller bounds how long it waits).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpConfig,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let name = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Refusals hold a descriptor for up to a second each: bounded too, and past the
    // bound a connection is simply closed.
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let mut last_warning: Option<Instant> = None;
    let mut warn = |message: &str, detail: String| {
        // One line a minute is enough to say the server is saturated or refusing.
        if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            last_warning = Some(Instant::now());
            tracing::warn!(listener = %name, detail, "{message}");
        }
    };
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of descriptors (EMFILE/ENFILE) or memory: wait a little for
                // connections to close rather than spin on the error.
                warn("cannot accept connections", error.to_string());
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            warn(
                "connection limit reached; refusing new connections with 503",
                format!("max_connections = {}", limits.max_connections),
            );
            if let Ok(slot) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(slot);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stop = stop.clone();
        let limits = limits.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection(stream, remote, router, &limits, false, stop).await,
                Some(acceptor) => {
                    // A client that never finishes its handshake is held no longer
                    // than one that never finishes its headers.
                    match tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(stream)) => {
                            connection(stream, remote, router, &limits, true, stop).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%remote, %error, "TLS handshake failed");
                        }
                        Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
    // Every permit back means every connection has ended.
    let _ = permits
        .acquire_many(u32::try_from(limits.max_connections).unwrap_or(u32::MAX))
        .await;
}

async fn connection<S>(
    stream: S,
    remote: SocketAddr,
    router: Router,
    limits: &HttpConfig,
    over_tls: bool,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(remote));
        if over_tls {
            request.extensions_mut().insert(OverTls);
        }
        let response = router.clone().oneshot(request.map(Body::new));
        async move {
            let mut response = response.await?;
            if over_tls {
                response.headers_mut().insert(
                    hyper::header::STRICT_TRANSPORT_SECURITY,
                    hyper::header::HeaderValue::from_static(HSTS),
                );
            }
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut conn = pin!(builder.serve_connection(io, service).with_upgrades());
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|stopped| *stopped), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = activity.idle_for(limits.idle_timeout) => {
                tracing::debug!(%remote, "connection idle; closed");
                return;
            }
        }
    }
}

/// Answer a connection over the cap without reading its request.
async fn refuse(mut stream: TcpStream) {
    const BODY: &str = r#"{"type":"urn:jobber:error:too_many_connections","title":"The server has too many open connections; retry shortly","status":503,"detail":"The server has too many open connections; retry shortly","code":"too_many_connections"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// When the connection last moved a byte, as milliseconds since `start`.
#[derive(Clone)]
struct Activity {
    start: Instant,
    last: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last: Arc::default(),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.last.load(Ordering::Relaxed);
            let deadline = self.start + Duration::from_millis(last) + timeout;
            tokio::time::sleep_until(deadline.into()).await;
            if self.last.load(Ordering::Relaxed) == last {
                return;
            }
        }
    }
}

/// A stream that records when it last read or wrote.
struct Watched<S> {
    inner: S,
    activity: Activity,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
