#!/bin/sh
# Peers the test suite runs against (ARCHITECTURE §5), beyond PostgreSQL:
#   - Python's `icalendar`, which parses the iCalendar feeds jobber writes;
#   - localstripe, a stateful fake Stripe (card payments, signed webhooks);
#   - `aiosmtpd`, the SMTP sink the email tests deliver to (tests/smtp_sink.py);
#   - moto's S3 server (`moto[server]`), the S3-compatible store the storage tests use;
#   - poppler-utils (`pdftotext`, `pdfinfo`, `pdftoppm`), which read the PDFs jobber
#     renders;
#   - Debian's `redis-server`, which the live-hub test starts on a free port (the
#     packaged service is not started: RUNLEVEL=1 keeps invoke-rc.d from it);
#   - Debian's `chromium`, the headless browser of the web app's end-to-end tests
#     (ui/e2e, driven by playwright-core: no browser is downloaded);
#   - Debian's `pebble`, Let's Encrypt's ACME test server, which the automatic
#     certificate test starts on free ports (tests/api/acme.rs);
#   - `tmux`, the terminal `jobber top` is run in by its end-to-end test
#     (tests/api/top.rs reads the screen with `tmux capture-pane`);
#   - the checkers of scripts/test-ops.sh (the unit, the package, the Helm chart):
#     `systemd-analyze` (Debian's `systemd`), `shellcheck`, `promtool` (Debian's
#     `prometheus`; its service is not started), and Python's `yamllint` and
#     `jsonschema` (in the virtualenv).
# Python packages go into a virtualenv under target/ so the system Python stays
# untouched. Idempotent and quiet; `make test` runs it.
set -eu
cd "$(dirname "$0")/.."
venv=target/test-venv

say() { printf 'install-test-deps: %s\n' "$*" >&2; }
apt_install() {
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdfinfo >/dev/null 2>&1; then
    say "installing poppler-utils"
    apt_install poppler-utils
fi

if ! command -v redis-server >/dev/null 2>&1; then
    say "installing redis-server"
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi

if ! command -v pebble >/dev/null 2>&1; then
    say "installing pebble"
    apt_install pebble
fi

if ! command -v tmux >/dev/null 2>&1; then
    say "installing tmux"
    apt_install tmux
fi

if ! command -v chromium >/dev/null 2>&1; then
    say "installing chromium"
    apt_install chromium
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
    say "installing systemd (for systemd-analyze)"
    apt_install systemd
fi

if ! command -v shellcheck >/dev/null 2>&1; then
    say "installing shellcheck"
    apt_install shellcheck
fi

if ! command -v promtool >/dev/null 2>&1; then
    say "installing prometheus (for promtool)"
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

if [ -x "$venv/bin/python3" ] && "$venv/bin/python3" -c 'import icalendar, localstripe, aiosmtpd, moto.server, yamllint, jsonschema' 2>/dev/null; then
    exit 0
fi
command -v python3 >/dev/null 2>&1 || { say "installing python3"; apt_install python3; }
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    say "installing python3-venv"
    apt_install python3-venv
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
"$venv/bin/python3" -m pip install -q --disable-pip-version-check icalendar localstripe==1.15.10 aiosmtpd 'moto[server]' yamllint jsonschema
