#!/usr/bin/env bash
# `make bench`: seed an account at scale (SCALE, default 100: 100k clients, 1M visits,
# 200k invoices), then time the list and report endpoints over real HTTP, measure
# throughput of simple GETs with wrk, count PostgreSQL round trips of one
# authenticated GET, and EXPLAIN ANALYZE the heaviest queries. Loopback only; the
# server is stopped at the end. Results: target/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-100}
out=target/bench
mkdir -p "$out"

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
SQLX_OFFLINE=true cargo build --release -q
bin=$PWD/target/release/jobber

# A data dir the unprivileged user can reach when run as root.
root=/tmp/jobber-bench-$$
mkdir -p "$root" && chmod 755 "$root"
data=$root/data
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port); admin=$(free_port)
base=http://127.0.0.1:$port
# Throughput is measured, not the limits: one token makes every request.
JOBBER_RATE_LIMITS=off "$bin" --data-dir "$data" --log warn serve --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" >"$root/server.log" 2>&1 &
server=$!
cleanup() { kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
for _ in $(seq 1 300); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.2; done

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
signup=$(curl -sf "$base/api/v1/auth/signup" -H 'Content-Type: application/json' \
    -d '{"business_name":"Bench Co","name":"Bea Bench","email":"bench@bench.example","password":"benchmark password"}')
token=$(echo "$signup" | json 'd["access_token"]')
auth="Authorization: Bearer $token"

start=$(date +%s.%N)
"$bin" --data-dir "$data" --log warn admin seed-demo --email bench@bench.example --scale "$SCALE" --json >"$out/seed.json"
seed_secs=$(python3 -c "print(round($(date +%s.%N) - $start, 1))")

client=$(curl -sf "$base/api/v1/clients?limit=1" -H "$auth" | json 'd["items"][0]["id"]')
today=$(date -u +%F)
year_ago=$(date -u -d '-365 days' +%F)
quarter_ago=$(date -u -d '-90 days' +%F)
week_from=$(date -u +%FT00:00:00Z)
week_to=$(date -u -d '+7 days' +%FT00:00:00Z)

time_get() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base$1" -H "$auth"; }
{
    echo "# Bench results ($(date -u +%FT%TZ))"
    echo
    echo "Scale $SCALE: $(cat "$out/seed.json"), seeded in ${seed_secs}s."
    echo
    echo "| endpoint | status | cold (ms) | warm median of 5 (ms) |"
    echo "|---|---|---|---|"
    for path in \
        "/api/v1/reports/dashboard" \
        "/api/v1/reports/revenue?from=$year_ago&to=$today&group=month" \
        "/api/v1/reports/jobs?from=$quarter_ago&to=$today" \
        "/api/v1/reports/aging" \
        "/api/v1/clients?limit=50" \
        "/api/v1/clients?q=garcia" \
        "/api/v1/clients?q=zqxw" \
        "/api/v1/clients?q=5550134" \
        "/api/v1/clients?status=active&tag=VIP" \
        "/api/v1/invoices?status=sent" \
        "/api/v1/quotes?limit=50" \
        "/api/v1/jobs?limit=50" \
        "/api/v1/schedule?from=$week_from&to=$week_to" \
        "/api/v1/clients/$client"; do
        cold=$(time_get "$path")
        warm=$(for _ in 1 2 3 4 5; do time_get "$path" | cut -d' ' -f2; done | sort -n | sed -n 3p)
        printf '| `%s` | %s | %s | %s |\n' "$path" "${cold%% *}" "$(awk "BEGIN { printf \"%.1f\", ${cold##* } * 1000 }")" "$(awk "BEGIN { printf \"%.1f\", $warm * 1000 }")"
    done
    echo

    # CSV exports (reports.generation): from the request to the file being ready.
    echo "| CSV export | rows | bytes | request to ready (s) |"
    echo "|---|---|---|---|"
    for body in "{\"kind\":\"invoices\",\"from\":\"$year_ago\",\"to\":\"$today\"}" \
        "{\"kind\":\"payments\",\"from\":\"$year_ago\",\"to\":\"$today\"}" \
        '{"kind":"clients"}'; do
        t0=$(date +%s.%N)
        id=$(curl -sf "$base/api/v1/reports/exports" -H "$auth" -H 'Content-Type: application/json' -d "$body" | json 'd["id"]')
        for _ in $(seq 1 600); do
            state=$(curl -sf "$base/api/v1/reports/exports/$id" -H "$auth")
            [ "$(echo "$state" | json 'd["status"]')" != pending ] && break
            sleep 0.1
        done
        secs=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
        printf '| `%s` | %s | %s | %s |\n' "$body" "$(echo "$state" | json 'd["rows"]')" "$(echo "$state" | json 'd["bytes"]')" "$secs"
    done
    echo
    cat >"$root/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
    for path in "/api/v1/clients/$client" "/api/v1/auth/me"; do
        echo "wrk -t2 -c16 -d10s \`$path\`:"
        echo '```'
        wrk -t2 -c16 -d10s --latency -s "$root/auth.lua" "$base$path" | grep -E 'Requests/sec|Latency|50%|99%|requests in'
        echo '```'
    done

    # Round trips of one authenticated GET: log every statement for one request.
    pw=$(cat "$data/postgres.password")
    psql_() { PGPASSWORD=$pw psql -q -X -h "$data/run" -U postgres -d jobber "$@"; }
    # Only the API's connections (application_name "jobber"): the worker's polling and
    # relay ("jobber-worker") run beside it.
    psql_ -c "ALTER SYSTEM SET log_statement = 'all'" -c "ALTER SYSTEM SET log_line_prefix = '[%a] '" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 1
    log=$data/postgres/start.log
    before=$(wc -l <"$log")
    curl -s -o /dev/null "$base/api/v1/clients/$client" -H "$auth"
    sleep 1
    psql_ -c "ALTER SYSTEM RESET log_statement" -c "ALTER SYSTEM RESET log_line_prefix" -c "SELECT pg_reload_conf()" >/dev/null
    echo "Statements PostgreSQL logged for one \`GET /api/v1/clients/{id}\` (each is one round trip):"
    echo '```'
    tail -n +"$((before + 1))" "$log" | grep -E '^\[jobber\] .*LOG:  (statement|execute)' | grep -v -E 'ALTER SYSTEM|pg_reload_conf' | sed -E 's/^.*LOG:  //' | cut -c1-160
    echo '```'

    account=$(echo "$signup" | json 'd["account"]["id"]')
    explain() {
        echo
        echo "EXPLAIN ANALYZE, $1:"
        echo '```'
        psql_ -c "BEGIN" -c "SET LOCAL ROLE jobber_app" -c "SELECT set_config('app.account_id', '$account', true)" -c "EXPLAIN (ANALYZE, BUFFERS) $2" -c "ROLLBACK" | grep -v -E '^(BEGIN|SET|ROLLBACK| set_config|-+|\(1 row\)|$)' | grep -v "^ $account"
        echo '```'
    }
    # The search's own plan is made inside search_client_ids (auto_explain would show
    # it); from outside, its cost shows as the function scan.
    explain "client search (?q=garcia)" "SELECT c.id FROM clients c WHERE c.id IN (SELECT id FROM search_client_ids('%garcia%', 'garcia', NULL, NULL, NULL, NULL, 51)) ORDER BY c.id DESC"
    explain "client search, no match (?q=zqxw)" "SELECT c.id FROM clients c WHERE c.id IN (SELECT id FROM search_client_ids('%zqxw%', 'zqxw', NULL, NULL, NULL, NULL, 51)) ORDER BY c.id DESC"
    # For comparison: the same search as one query run as jobber_app (before
    # migration 23), where row-level security keeps the trigram indexes unused.
    explain "client search as jobber_app, no match (before migration 23)" "SELECT c.id FROM clients c WHERE (c.search_text LIKE '%zqxw%' OR 'zqxw' <% c.search_text OR c.id IN (SELECT p.client_id FROM properties p WHERE p.search_text LIKE '%zqxw%')) ORDER BY c.id DESC LIMIT 51"
    explain "client search as jobber_app, garcia (before migration 23)" "SELECT c.id FROM clients c WHERE (c.search_text LIKE '%garcia%' OR 'garcia' <% c.search_text OR c.id IN (SELECT p.client_id FROM properties p WHERE p.search_text LIKE '%garcia%')) ORDER BY c.id DESC LIMIT 51"
    explain "aging" "SELECT sum(total - amount_paid + amount_refunded) FILTER (WHERE current_date - due_date > 90) FROM invoices WHERE status IN ('sent', 'partially_paid')"
    explain "revenue collected by month" "SELECT date_trunc('month', paid_at AT TIME ZONE 'UTC')::date, sum(amount - refunded) FROM payments WHERE status IN ('succeeded','partially_refunded','refunded') AND (paid_at AT TIME ZONE 'UTC')::date BETWEEN '$year_ago' AND '$today' GROUP BY 1"
} | tee "$out/results.md"
