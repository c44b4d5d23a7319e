#!/bin/sh
# Regenerate the typed API client (src/api/schema.d.ts) from the server's OpenAPI
# document, printed by the hidden `jobber config openapi`. The generated types are
# committed, so building the UI needs no server. Run from anywhere:
#   sh ui/scripts/gen-api.sh
set -eu
cd "$(dirname "$0")/../.."
doc=$(mktemp --suffix=.json)
trap 'rm -f "$doc"' EXIT
SQLX_OFFLINE=true cargo run --quiet -- config openapi > "$doc"
cd ui
npx openapi-typescript "$doc" -o src/api/schema.d.ts
