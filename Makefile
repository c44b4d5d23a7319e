# jobber: common tasks. POSIX make; every target is phony.
#
#   make run [ARGS="--listen 0.0.0.0:8080"]   build and start `jobber serve`
#   make test                                 the whole test suite
#   make check                                fmt + lint + test (what CI should pass)

.POSIX:
.PHONY: all run build test deps fmt lint check sqlx-prepare bench

CARGO = cargo
ARGS =
# SQL is checked at compile time against the committed .sqlx/ data, never a live
# database (scripts/sqlx-prepare.sh regenerates it).
OFFLINE = SQLX_OFFLINE=true

all: build

run: deps
	$(OFFLINE) $(CARGO) run --release -- serve $(ARGS)

build:
	$(OFFLINE) $(CARGO) build --release

test: deps
	@sh scripts/install-test-deps.sh
	$(OFFLINE) PYTHON_FOR_TESTS="$(CURDIR)/target/test-venv/bin/python3" $(CARGO) test --all-targets

deps:
	@sh scripts/install-deps.sh

fmt:
	$(CARGO) fmt --check

lint:
	$(OFFLINE) $(CARGO) clippy --all-targets -- -D warnings

check: fmt lint test

sqlx-prepare: deps
	bash scripts/sqlx-prepare.sh

# Seeds SCALE (default 100: 100k clients, 1M visits, 200k invoices) and times the
# list and report endpoints; see docs/performance.md.
bench: deps
	bash scripts/bench.sh
