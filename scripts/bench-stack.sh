#!/usr/bin/env bash
# `make bench`, against the bare stack: a release `jobber serve` (embedded PostgreSQL,
# seeded with `admin seed-demo --scale SCALE`) and, on the same database, a bare axum +
# sqlx server answering a get-by-id with no authentication, tenancy or middleware
# (examples/bare_server.rs: the ceiling of our stack). wrk drives both with Lua
# scripts, alternating them for the get-by-id; then the office workloads, a mixed
# workload (70 % reads, 20 % writes, 10 % reports), pgbench -S on the same
# PostgreSQL, the cold start and the resident memory. Each figure is printed beside
# its budget (issue 14; docs/performance.md). Loopback only; everything started is
# stopped at the end. Results: target/bench/stack.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-100}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
out=target/bench
mkdir -p "$out"

if ! command -v wrk >/dev/null 2>&1 || ! command -v pgbench >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk postgresql-contrib >/dev/null
fi
SQLX_OFFLINE=true cargo build --release -q --bin jobber --example bare_server
bin=$PWD/target/release/jobber
bare_bin=$PWD/target/release/examples/bare_server

root=/tmp/jobber-bench-stack-$$
mkdir -p "$root" && chmod 755 "$root"
data=$root/data
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port); admin=$(free_port); bare_port=$(free_port)
base=http://127.0.0.1:$port
bare=http://127.0.0.1:$bare_port
server=""; bare_pid=""
start_server() {
    JOBBER_RATE_LIMITS=off "$bin" --data-dir "$data" --log warn serve --listen "127.0.0.1:$port" \
        --admin-listen "127.0.0.1:$admin" >>"$root/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 2400); do curl -sf "$base/readyz" >/dev/null && return 0; sleep 0.05; done
    echo "jobber did not answer /readyz within 120 s; the end of its log:" >&2
    tail -n 40 "$root/server.log" >&2
    exit 1
}
# `wait` only works in the shell that started the server, and the report below runs in a
# pipeline's subshell: poll until the process (and with it its lock on the data dir and
# the embedded PostgreSQL it stops on the way out) is gone.
stop_server() {
    [ -n "$server" ] || return 0
    kill -TERM "$server" 2>/dev/null || true
    for _ in $(seq 1 1200); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
    wait "$server" 2>/dev/null || true
}
cleanup() {
    if [ -n "$bare_pid" ]; then kill "$bare_pid" 2>/dev/null || true; fi
    stop_server
    rm -rf "$root"
}
trap cleanup EXIT
start_server

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
signup=$(curl -sf "$base/api/v1/auth/signup" -H 'Content-Type: application/json' \
    -d '{"business_name":"Bench Co","name":"Bea Bench","email":"bench@bench.example","password":"benchmark password"}')
token=$(echo "$signup" | json 'd["access_token"]')
account=$(echo "$signup" | json 'd["account"]["id"]')
auth="Authorization: Bearer $token"
"$bin" --data-dir "$data" --log warn admin seed-demo --email bench@bench.example --scale "$SCALE" --json >"$root/seed.json"

# What the scripts ask for: 200 clients, one technician, this week.
ids=$(curl -sf "$base/api/v1/clients?limit=200" -H "$auth" | json '" ".join(c["id"] for c in d["items"])')
client=${ids%% *}
tech=$(curl -sf "$base/api/v1/users" -H "$auth" | json '[u["id"] for u in (d["items"] if isinstance(d, dict) else d) if u["role"] == "technician"][0]')
week_from=$(date -u -d 'last monday' +%FT00:00:00Z)
week_to=$(date -u -d 'last monday +7 days' +%FT00:00:00Z)
quarter_ago=$(date -u -d '-90 days' +%F)
today=$(date -u +%F)

# The bare server on the same database, as its owner (row-level security does not
# apply to it), over the same Unix socket jobber uses.
pw=$(cat "$data/postgres.password")
# Let the fresh bulk load settle before anything is timed: autovacuum and the first
# checkpoint would otherwise run during the first runs (a shop's database is not
# bulk-loaded a minute before its office opens).
PGPASSWORD=$pw psql -q -X -h "$data/run" -U postgres -d jobber -c "VACUUM (ANALYZE)" -c CHECKPOINT >/dev/null
"$bare_bin" "127.0.0.1:$bare_port" "postgres://postgres:$pw@localhost/jobber?host=$data/run" "$account" >"$root/bare.log" 2>&1 &
bare_pid=$!
for _ in $(seq 1 100); do curl -sf "$bare/clients/$client" >/dev/null && break; sleep 0.1; done

# Every script reports one line: requests/s, p50, p95, p99 (ms), non-2xx/3xx + socket errors.
lua_done='
function done(summary, latency, requests)
    local errors = summary.errors.status + summary.errors.connect + summary.errors.read
        + summary.errors.write + summary.errors.timeout
    io.write(string.format("RESULT %.0f %.2f %.2f %.2f %d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(95) / 1000,
        latency:percentile(99) / 1000, errors))
end'
lua_ids="ids = {$(for id in $ids; do printf '"%s",' "$id"; done)}"
cat >"$root/get.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
$lua_ids
request = function() return wrk.format("GET", "/api/v1/clients/" .. ids[math.random(#ids)]) end
$lua_done
LUA
cat >"$root/bare.lua" <<LUA
$lua_ids
request = function() return wrk.format("GET", "/clients/" .. ids[math.random(#ids)]) end
$lua_done
LUA
cat >"$root/search.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
terms = {"garcia", "smith", "lee", "maple", "oak", "johnson", "5550", "park"}
request = function() return wrk.format("GET", "/api/v1/clients?limit=50&q=" .. terms[math.random(#terms)]) end
$lua_done
LUA
cat >"$root/create.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
n = 0
request = function()
    n = n + 1
    return wrk.format("POST", "/api/v1/clients", nil,
        string.format('{"first_name":"Bench","last_name":"Client %d-%d"}', math.random(1e9), n))
end
$lua_done
LUA
cat >"$root/week.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
request = function() return wrk.format("GET", "/api/v1/schedule?from=$week_from&to=$week_to&assignee=$tech") end
$lua_done
LUA
cat >"$root/dashboard.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
request = function() return wrk.format("GET", "/api/v1/reports/dashboard") end
$lua_done
LUA
cat >"$root/jobs-report.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
request = function() return wrk.format("GET", "/api/v1/reports/jobs?from=$quarter_ago&to=$today") end
$lua_done
LUA
# One set of headers for every request: wrk.format with headers of its own sends
# only those (a create without the token would be a quick 401, not a write).
cat >"$root/mixed.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/json"
$lua_ids
n = 0
request = function()
    local r = math.random()
    if r < 0.40 then
        return wrk.format("GET", "/api/v1/clients/" .. ids[math.random(#ids)])
    elseif r < 0.55 then
        return wrk.format("GET", "/api/v1/clients?limit=50")
    elseif r < 0.70 then
        return wrk.format("GET", "/api/v1/schedule?from=$week_from&to=$week_to&assignee=$tech")
    elseif r < 0.90 then
        n = n + 1
        return wrk.format("POST", "/api/v1/clients", nil,
            string.format('{"first_name":"Mixed","last_name":"Client %d-%d"}', math.random(1e9), n))
    elseif r < 0.95 then
        return wrk.format("GET", "/api/v1/reports/dashboard")
    else
        return wrk.format("GET", "/api/v1/reports/jobs?from=$quarter_ago&to=$today")
    end
end
$lua_done
LUA

# run <script> <url>: "rps p50 p95 p99 errors"
run() { wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$root/$1" "$2" | sed -n 's/^RESULT //p'; }
row() { # name, budget, result
    read -r rps p50 p95 p99 errors <<<"$3"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$p50" "$p95" "$p99" "$errors" "$2"
}
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

{
    echo "# Against the bare stack ($(date -u +%FT%TZ))"
    echo
    echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); jobber $("$bin" --version | awk '{print $2}'), $(rustc --version | cut -d' ' -f1-2), PostgreSQL $(PGPASSWORD=$pw psql -tA -X -h "$data/run" -U postgres -d jobber -c 'SHOW server_version'); scale $SCALE: $(cat "$root/seed.json")."
    echo "wrk -t2 -c$CONNECTIONS -d$DURATION on the same machine; latencies in ms. Load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "| workload | requests/s | p50 | p95 | p99 | errors | budget |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    # Alternated: jobber, bare, jobber, bare.
    j1=$(run get.lua "$base"); b1=$(run bare.lua "$bare"); j2=$(run get.lua "$base"); b2=$(run bare.lua "$bare")
    row "jobber \`GET /clients/{id}\` (1st)" "≥ bare, p99 < 10" "$j1"
    row "bare axum + sqlx get-by-id (1st)" "the ceiling" "$b1"
    row "jobber \`GET /clients/{id}\` (2nd)" "≥ bare, p99 < 10" "$j2"
    row "bare axum + sqlx get-by-id (2nd)" "the ceiling" "$b2"
    row "client list page with search (\`?q=\`)" "" "$(run search.lua "$base")"
    row "create a client (\`POST /clients\`)" "" "$(run create.lua "$base")"
    row "a technician's week (\`GET /schedule\`)" "p95 < 30" "$(run week.lua "$base")"
    row "dashboard (\`GET /reports/dashboard\`)" "p95 < 50" "$(run dashboard.lua "$base")"
    row "jobs report, 90 days" "p95 < 50" "$(run jobs-report.lua "$base")"
    curl -sf "http://127.0.0.1:$admin/metrics" >"$root/metrics-before"
    row "mixed office workload (70/20/10)" "≥ 3,000/s, p95 < 25" "$(run mixed.lua "$base")"
    curl -sf "http://127.0.0.1:$admin/metrics" >"$root/metrics-after"
    echo
    echo "The mixed run by route, as jobber timed it (from its request histogram; the"
    echo "time in wrk's and the kernel's queues is not in it):"
    echo
    python3 scripts/bench-routes.py "$root/metrics-before" "$root/metrics-after"
    echo
    echo "Ratio of jobber's get-by-id to the bare server's, requests/s: $(ratio "${j1%% *}" "${b1%% *}") (1st pair), $(ratio "${j2%% *}" "${b2%% *}") (2nd pair)."
    echo

    # pgbench -S (select-only, by primary key) on the same PostgreSQL: the database's own
    # ceiling. The bare server's connections are closed first, and pgbench uses 16
    # (the embedded PostgreSQL allows 100 in all, jobber's pool holds up to 20).
    kill "$bare_pid" 2>/dev/null || true
    wait "$bare_pid" 2>/dev/null || true
    bare_pid=""
    psql_() { PGPASSWORD=$pw psql -q -X -h "$data/run" -U postgres "$@"; }
    psql_ -d postgres -c "DROP DATABASE IF EXISTS bench_pgbench" -c "CREATE DATABASE bench_pgbench" >/dev/null 2>&1
    if PGPASSWORD=$pw pgbench -q -i -s 10 -h "$data/run" -U postgres bench_pgbench >"$root/pgbench.log" 2>&1 &&
        PGPASSWORD=$pw pgbench -S -n -c 16 -j 2 -T "${DURATION%s}" -h "$data/run" -U postgres bench_pgbench >>"$root/pgbench.log" 2>&1; then
        tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$root/pgbench.log")
        echo "pgbench -S -c16 -j2 (scale 10, same PostgreSQL): ${tps%.*} transactions/s."
    else
        echo "pgbench failed: $(tail -n 3 "$root/pgbench.log")"
    fi
    echo

    rss_busy=$(rss_mib "$server")
    # Write the runs' dirty pages out first: the cold start below is jobber's, not the
    # previous shutdown's checkpoint of the seed and the creates.
    psql_ -d jobber -c CHECKPOINT >/dev/null 2>&1 || true
    stop_server
    t0=$(date +%s.%N)
    start_server
    cold=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")
    sleep 5
    echo "| measure | result | budget |"
    echo "|---|---:|---|"
    echo "| \`jobber serve\` cold start (existing data dir, embedded PostgreSQL started, to /readyz) | ${cold} s | < 2 s |"
    echo "| resident memory of the jobber process, idle after start | $(rss_mib "$server") MB | < 60 MB |"
    echo "| resident memory of the jobber process, after the runs above | ${rss_busy} MB | |"
} | tee "$out/stack.md"
