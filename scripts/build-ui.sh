#!/bin/sh
# Build the web app (ui/ -> ui/dist), which the jobber binary serves and, in release
# builds, embeds. Quick when nothing changed: `npm ci` runs only when
# package-lock.json is newer than node_modules, the build only when a source is newer
# than ui/dist. Needs Node.js 20.19 or newer (https://nodejs.org, or NodeSource's
# Debian packages; Debian 12's own `nodejs` is too old).
#   sh scripts/build-ui.sh [--force]
set -eu
cd "$(dirname "$0")/../ui"

say() { printf 'build-ui: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "Node.js and npm are needed to build the web app (Node 20.19 or newer)."
    exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    say "Node.js $(node --version) is too old to build the web app; install Node 20.19 or newer."
    exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing the web app's packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" != "--force" ] && [ -f dist/index.html ] &&
    [ -z "$(find src public index.html package-lock.json vite.config.ts tsconfig.json scripts -newer dist/index.html 2>/dev/null | head -n 1)" ]; then
    exit 0
fi
say "building the web app (ui/dist)"
npm run --silent build >/dev/null
