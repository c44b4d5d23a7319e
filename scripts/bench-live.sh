#!/usr/bin/env bash
# `make bench`, live hub: 2,000 idle authenticated WebSockets against a release
# `jobber serve` (its resident memory before and after), then commit-to-client latency
# with 500 subscribers (examples/live_bench.rs). Loopback only; the server is stopped
# at the end. Results: target/bench/live.md.
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${IDLE:-2000}
SUBSCRIBERS=${SUBSCRIBERS:-500}
CHANGES=${CHANGES:-200}
out=target/bench
mkdir -p "$out"
SQLX_OFFLINE=true cargo build --release -q --bin jobber --example live_bench
bin=$PWD/target/release/jobber

root=/tmp/jobber-bench-live-$$
mkdir -p "$root" && chmod 755 "$root"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port); admin=$(free_port)
base=http://127.0.0.1:$port
# One bench user holds every socket: lift the per-user and per-account limits.
JOBBER_WS_MAX_PER_USER=$IDLE JOBBER_WS_MAX_PER_ACCOUNT=$IDLE JOBBER_RATE_LIMITS=off \
    "$bin" --data-dir "$root/data" --log warn serve --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" >"$root/server.log" 2>&1 &
server=$!
cleanup() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
for _ in $(seq 1 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done
token=$(curl -sf "$base/api/v1/auth/signup" -H 'Content-Type: application/json' \
    -d '{"business_name":"Live Bench","name":"Lu Live","email":"live@bench.example","password":"benchmark password"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
{
    echo "# Live hub bench ($(date -u +%FT%TZ))"
    echo
    echo "| measure | result |"
    echo "|---|---|"
    target/release/examples/live_bench "$base" "$token" "$server" "$IDLE" "$SUBSCRIBERS" "$CHANGES"
    echo
    echo "Server metrics after the run:"
    echo '```'
    curl -sf "http://127.0.0.1:$admin/metrics" | grep -E '^jobber_ws_(connections|events_dropped_total|events_delivered_total|commit_to_socket_seconds_(count|sum))'
    echo '```'
} | tee "$out/live.md"
