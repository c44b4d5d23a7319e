#!/usr/bin/env bash
# Regenerate .sqlx/, the offline query data that lets `sqlx::query!` check SQL at
# compile time without a database (CI builds with SQLX_OFFLINE=true).
#
# Starts a throwaway PostgreSQL from the host's binaries (as `nobody` when run as
# root, like the test harness), applies migrations/, and compiles every target with
# the macros connected to it, which writes one query-*.json per query.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=""
if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/postgres" ]; then
    bin=$(pg_config --bindir)
else
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[ -x "$bin/postgres" ] || { echo "no PostgreSQL binaries found; run scripts/install-deps.sh" >&2; exit 1; }

dir=$(mktemp -d /tmp/jobber-sqlx-XXXXXX)
as_user=()
if [ "$(id -u)" = 0 ]; then
    chown nobody "$dir"
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
cleanup() {
    "${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

"${as_user[@]}" "$bin/initdb" -A trust -U postgres -E UTF8 --no-sync -D "$dir/data" >/dev/null
"${as_user[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-k $dir -c listen_addresses='' -c fsync=off" start >/dev/null
"$bin/psql" -q -h "$dir" -U postgres -d postgres -c "CREATE DATABASE jobber" >/dev/null
for migration in migrations/*.sql; do
    "$bin/psql" -q -v ON_ERROR_STOP=1 -h "$dir" -U postgres -d jobber -f "$migration" >/dev/null
done

# Build the dependencies first with their own offline data: apalis-postgres checks
# its queries against its `apalis` schema, which this database does not have.
SQLX_OFFLINE=true cargo check --all-targets --quiet 2>/dev/null || true

rm -rf .sqlx
mkdir -p .sqlx
# Force the crate (not its dependencies) to recompile so every macro runs.
touch src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" \
    DATABASE_URL="postgres://postgres@localhost/jobber?host=$dir" \
    cargo check --all-targets --quiet
echo "wrote $(ls .sqlx | wc -l) queries to .sqlx/"
