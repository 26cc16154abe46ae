# Dockerfile - cabanas in two stages: built on debian:12 with the -dev packages, run on debian:12-slim
# with only the shared libraries the binary loads (tests/integration/test_deploy.py checks the list
# against `ldd build/cabanas`), as a non-root user. deploy/start.sh checks the environment, migrates
# and execs `cabanas serve`.
#   docker build --build-arg CABANAS_COMMIT=$(git rev-parse --short=12 HEAD) -t cabanas .
#   fly deploy --build-arg CABANAS_COMMIT=$(git rev-parse --short=12 HEAD)

# ---- build: the package list is scripts/install-deps.sh's build_pkgs ----
FROM debian:12 AS build
ARG CABANAS_COMMIT=unknown
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential pkg-config libmicrohttpd-dev libjansson-dev libpq-dev libsqlite3-dev \
        libhiredis-dev libsodium-dev libcurl4-openssl-dev libssl-dev ca-certificates tzdata \
        libical-dev libical3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY tools/ tools/
COPY migrations/ migrations/
COPY src/ src/
# .git is not in the build context: the commit comes in as a build argument.
RUN make -j"$(nproc)" build/cabanas COMMIT="${CABANAS_COMMIT}" \
    && ./build/cabanas version

# ---- runtime ----
FROM debian:12-slim AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libmicrohttpd12 libjansson4 libpq5 libsqlite3-0 libhiredis0.14 libsodium23 libcurl4 libical3 \
        ca-certificates tzdata curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 cabanas \
    && useradd --system --uid 10001 --gid cabanas --home-dir /app --shell /usr/sbin/nologin cabanas \
    && mkdir -p /app/var /app/deploy \
    && chown cabanas:cabanas /app/var
COPY --from=build /src/build/cabanas /usr/local/bin/cabanas
COPY deploy/start.sh /app/deploy/start.sh
WORKDIR /app
USER cabanas:cabanas
ENV PORT=8080 HOST=0.0.0.0 CABANAS_BIN=/usr/local/bin/cabanas
EXPOSE 8080
# For `docker run`; Fly.io uses the [[http_service.checks]] of fly.toml instead.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/api/v1/healthz" >/dev/null || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/deploy/start.sh"]
