# syntax=docker/dockerfile:1
# The jobber image: one binary for every role (`serve`, `serve --role api|worker`,
# `migrate`), as the Helm chart runs it (helm/jobber) or alone with its embedded
# PostgreSQL and a volume (docs/install.md):
#
#   docker build -t jobber .
#   docker run -d -p 8080:8080 -v jobber-data:/var/lib/jobber jobber
#
# Stages: the web app (Node), the binary that embeds it (Rust), then a slim runtime
# with the host PostgreSQL binaries the embedded mode runs.

ARG NODE_VERSION=22
ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

# --- the web app: ui/ -> ui/dist ------------------------------------------------------
FROM node:${NODE_VERSION}-${DEBIAN}-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY ui/ ./
RUN npm run build

# --- the binary (release build, ui/dist embedded) ------------------------------------------
FROM rust:${RUST_VERSION}-${DEBIAN} AS build
WORKDIR /src
COPY . .
COPY --from=ui /src/ui/dist ui/dist
# SQL is checked against the committed .sqlx/ data: no database at build time.
ENV SQLX_OFFLINE=true
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin jobber \
    && install -m 0755 target/release/jobber /usr/local/bin/jobber

# --- runtime -----------------------------------------------------------------------------
FROM debian:${DEBIAN}-slim
# PostgreSQL server binaries for the embedded mode (no cluster is created: jobber makes
# its own in the data dir); curl for the health check; tini reaps the PostgreSQL
# processes jobber starts and forwards signals.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/jobber.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates curl tini postgresql-15 \
    && rm -rf /var/lib/apt/lists/*
# A fixed, non-root uid/gid, so Kubernetes' runAsNonRoot and volume ownership work.
RUN groupadd --system --gid 10001 jobber \
    && useradd --system --uid 10001 --gid jobber --home-dir /var/lib/jobber \
        --shell /usr/sbin/nologin jobber \
    && install -d -o jobber -g jobber -m 0700 /var/lib/jobber
COPY --from=build /usr/local/bin/jobber /usr/bin/jobber
ENV JOBBER_DATA_DIR=/var/lib/jobber \
    JOBBER_LISTEN=0.0.0.0:8080 \
    JOBBER_ADMIN_LISTEN=0.0.0.0:9464
USER 10001:10001
VOLUME ["/var/lib/jobber"]
# 8080: the app and API; 9464: metrics and the admin API (do not publish it).
EXPOSE 8080 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/bin/jobber"]
CMD ["serve"]
