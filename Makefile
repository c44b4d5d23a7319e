# jobber: common tasks. POSIX make; every target is phony.
#
#   make run [ARGS="--listen 0.0.0.0:8080"]   build the web app and jobber, start `jobber serve`
#   make test                                 the whole test suite (web app, Rust, end-to-end)
#   make ui                                   build the web app only (ui/dist)
#   make check                                fmt + lint + test (what CI should pass)
#   make test-ops                             the unit, package, Dockerfile and Helm checks only
#   make deb                                  the .deb package (needs `cargo install cargo-deb`)

.POSIX:
.PHONY: all run build ui test test-ui test-e2e test-ops deps fmt lint check sqlx-prepare bench deb

CARGO = cargo
ARGS =
# SQL is checked at compile time against the committed .sqlx/ data, never a live
# database (scripts/sqlx-prepare.sh regenerates it).
OFFLINE = SQLX_OFFLINE=true
# Property tests (proptest) draw the same cases on every run, so a run's result
# depends on the code alone; explore others with `make test PROPTEST_SEED=<number>`.
PROPTEST_SEED = 20261202

all: build

run: deps ui
	$(OFFLINE) $(CARGO) run --release -- serve $(ARGS)

# The release binary embeds ui/dist, so the web app is built first.
build: ui
	$(OFFLINE) $(CARGO) build --release

ui:
	@sh scripts/build-ui.sh

# The web app's component tests and build, then the Rust tests, then the end-to-end
# tests: headless Chromium against the `jobber` binary the Rust tests built.
test: deps
	@sh scripts/install-test-deps.sh
	$(MAKE) test-ops
	$(MAKE) test-ui
	$(OFFLINE) PROPTEST_RNG_SEED=$(PROPTEST_SEED) PYTHON_FOR_TESTS="$(CURDIR)/target/test-venv/bin/python3" $(CARGO) test --all-targets
	$(MAKE) test-e2e

test-ui:
	cd ui && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build

# systemd unit, .deb metadata, Dockerfile, Helm chart (a few seconds; docs/scaling.md).
test-ops:
	@sh scripts/test-ops.sh

test-e2e:
	cd ui && JOBBER_BIN="$(CURDIR)/target/debug/jobber" npm run e2e

deps:
	@sh scripts/install-deps.sh

# The Debian package (target/debian/*.deb) from the release build; cargo-deb reads
# [package.metadata.deb] in Cargo.toml. Not part of `make build` or `make test`.
deb: build
	@command -v cargo-deb >/dev/null 2>&1 || { echo "make deb needs cargo-deb: cargo install cargo-deb" >&2; exit 1; }
	$(OFFLINE) $(CARGO) deb --no-build

fmt:
	$(CARGO) fmt --check

lint:
	$(OFFLINE) $(CARGO) clippy --all-targets -- -D warnings

check: fmt lint test

sqlx-prepare: deps
	bash scripts/sqlx-prepare.sh

# Seeds SCALE (default 100: 100k clients, 1M visits, 200k invoices) and times the
# list and report endpoints, then the live hub (2,000 idle WebSockets, latency with
# 500 subscribers); see docs/performance.md.
bench: deps
	bash scripts/bench.sh
	bash scripts/bench-stack.sh
	bash scripts/bench-live.sh
