#!/bin/sh
# Make sure this machine can build and test jobber (Debian/Ubuntu). Idempotent, and
# silent when everything is already present; `make test` and `make run` call it.
#
#   - the Rust toolchain: checked only (install it with rustup; Debian's cargo is too old)
#   - a C compiler and linker (`build-essential`), when `cc` is missing
#   - PostgreSQL server binaries (Debian's `postgresql`), when none are installed: the
#     test harness and jobber's embedded database run /usr/lib/postgresql/NN/bin/*.
#     Installing the package also starts Debian's own cluster on port 5432; jobber does
#     not use it, and it does no harm.
#
# apt-get runs only when something is missing, through sudo when not run as root.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'install-deps: %s\n' "$*" >&2; }
die() {
    say "$*"
    exit 1
}

# --- Rust --------------------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
        die "cargo is installed in $HOME/.cargo/bin but that is not on PATH; run
    . \"\$HOME/.cargo/env\"
(or open a new shell) and try again."
    fi
    die "cargo (the Rust toolchain) is not installed. Install it with rustup:
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then run  . \"\$HOME/.cargo/env\"  (or open a new shell) and try again."
fi

need=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)
have=$(rustc --version 2>/dev/null | awk '{print $2}')
if [ -n "$need" ] && [ -n "$have" ]; then
    oldest=$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)
    if [ "$oldest" != "$need" ]; then
        die "Rust $have is older than $need, which jobber needs; run  rustup update"
    fi
fi

# --- system packages ---------------------------------------------------------------
have_postgres() {
    for bin in /usr/lib/postgresql/*/bin/postgres; do
        [ -x "$bin" ] && return 0
    done
    if command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null) || return 1
        [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && return 0
    fi
    return 1
}

missing=""
command -v cc >/dev/null 2>&1 || missing="build-essential"
have_postgres || missing="${missing:+$missing }postgresql"
[ -n "$missing" ] || exit 0

command -v apt-get >/dev/null 2>&1 ||
    die "missing: $missing. This script installs packages with apt-get (Debian/Ubuntu) only; install the equivalent with your package manager."
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    die "missing: $missing. Run this script as root, or install sudo."
fi

say "installing $missing (apt-get)"
# shellcheck disable=SC2086 # $sudo and $missing are word lists on purpose
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -qq update >/dev/null
# shellcheck disable=SC2086
$sudo env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends $missing >/dev/null

command -v cc >/dev/null 2>&1 || die "cc is still missing after installing build-essential"
have_postgres || die "no PostgreSQL binaries under /usr/lib/postgresql after installing postgresql"
