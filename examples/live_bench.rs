//! `make bench`'s live-hub part (scripts/bench-live.sh runs it against a release
//! `jobber serve` on loopback):
//!
//! 1. opens IDLE authenticated WebSockets (default 2,000), each subscribed to its
//!    account, and reports the server's resident memory before and after;
//! 2. keeps SUBSCRIBERS of them (default 500) on one account, makes CHANGES client
//!    edits one after another, and measures from each event's commit (its `at`) to its
//!    arrival on every subscriber: p50, p99 and max.
//!
//! Usage: live_bench <base url> <access token> <server pid> [idle] [subscribers] [changes]

use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn arg<T: std::str::FromStr>(args: &[String], index: usize, default: T) -> T {
    args.get(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn open(ws_url: &str, token: &str) -> anyhow::Result<Stream> {
    let mut request = ws_url.into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("jobber.v1, bearer.{token}"))?,
    );
    let (mut stream, _) = tokio_tungstenite::connect_async(request).await?;
    stream
        .send(Message::text(
            json!({"type": "subscribe", "topics": ["account"]}).to_string(),
        ))
        .await?;
    // welcome, subscribed
    for _ in 0..2 {
        let _ = stream.next().await;
    }
    Ok(stream)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: live_bench <base url> <token> <server pid> [idle] [subscribers] [changes]";
    let base = args.get(1).cloned().context(usage)?;
    let token = args.get(2).cloned().context(usage)?;
    let pid: u32 = arg(&args, 3, 0);
    let idle: usize = arg(&args, 4, 2000);
    let subscribers: usize = arg(&args, 5, 500).min(idle);
    let changes: usize = arg(&args, 6, 200);
    jobber::cli::install_crypto_provider();
    let _ = jobber::platform::process::raise_fd_limit();
    let ws_url = format!("{}/api/v1/ws", base.replacen("http", "ws", 1));

    let before = rss_mib(pid);
    let mut sockets = Vec::with_capacity(idle);
    for _ in 0..idle {
        sockets.push(open(&ws_url, &token).await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_mib(pid);
    println!(
        "| {idle} idle authenticated sockets | RSS {before:.1} MiB before, {after:.1} MiB after ({:.1} KiB per socket) |",
        (after - before) * 1024.0 / idle as f64
    );

    // Latency: the first `subscribers` sockets listen; the rest stay idle.
    let (tx, mut rx) = mpsc::unbounded_channel::<f64>();
    let mut listening = Vec::new();
    for mut stream in sockets.drain(..subscribers) {
        let tx = tx.clone();
        listening.push(tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                if let Message::Text(text) = message {
                    let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    if let Some(Ok(at)) = frame["at"]
                        .as_str()
                        .map(chrono::DateTime::parse_from_rfc3339)
                    {
                        let ms = (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                            .num_microseconds()
                            .unwrap_or(0) as f64
                            / 1000.0;
                        let _ = tx.send(ms);
                    }
                }
            }
        }));
    }
    drop(tx);
    // Only the listening ones stay open.
    drop(sockets);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{base}/api/v1/clients"))
        .bearer_auth(&token)
        .json(&json!({"first_name": "Live", "last_name": "Bench"}))
        .send()
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let mut version = created["version"].as_i64().unwrap_or(1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    while rx.try_recv().is_ok() {}
    for n in 0..changes {
        let updated: Value = http
            .put(format!("{base}/api/v1/clients/{id}"))
            .bearer_auth(&token)
            .json(&json!({"first_name": format!("Live {n}"), "last_name": "Bench", "version": version}))
            .send()
            .await?
            .json()
            .await?;
        version = updated["version"].as_i64().unwrap_or(version + 1);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut latencies = Vec::new();
    while let Ok(ms) = rx.try_recv() {
        latencies.push(ms);
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "| commit to client, {subscribers} subscribers, {changes} changes | {} deliveries (expected {}); p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        latencies.len(),
        subscribers * changes,
        at(0.5),
        at(0.99),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    for task in listening {
        task.abort();
    }
    Ok(())
}
