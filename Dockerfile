# referral-exchange server image.
#
# Not built on the development machine (no Docker daemon there): treat this
# file as a starting point and build it once in CI before relying on it.
#
#   docker build -t referral-exchange .
#   docker run --rm -p 127.0.0.1:8080:8080 -v rx-data:/data referral-exchange
#
# Without DATABASE_URL the server keeps SQLite at data/referral-exchange.db
# under its working directory /data, i.e. /data/data/referral-exchange.db in
# the volume, with a generated development JWT secret beside it
# (data/jwt-secret). For production set RX_ENV=production, RX_JWT_SECRET and,
# usually, DATABASE_URL (see docker-compose.yml and the README).

# ---- build ---------------------------------------------------------------
FROM rust:1-slim-bookworm AS builder
WORKDIR /src
# The whole workspace: Cargo reads every member's manifest even for -p api.
# .dockerignore keeps target/, data/ and .git out of the context.
COPY . .
RUN cargo build --release --locked -p api \
    && cp target/release/referral-exchange /usr/local/bin/referral-exchange

# ---- run -----------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: webhook deliveries go out over HTTPS. SQLite is compiled
# into the binary; nothing else is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 rx \
    && useradd --system --uid 10001 --gid rx --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin rx \
    && mkdir -p /data \
    && chown rx:rx /data
COPY --from=builder /usr/local/bin/referral-exchange /usr/local/bin/referral-exchange

# Listen on every interface inside the container (the default is 127.0.0.1).
ENV RX_BIND=0.0.0.0:8080
USER rx
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

# No HEALTHCHECK: the image has no curl or wget, and the binary has no probe
# subcommand. Probe over HTTP from outside instead: GET /healthz (alive) and
# GET /readyz (database reachable), e.g. Kubernetes httpGet probes. To use
# Docker's own health check, add curl to the apt-get line above and:
#   HEALTHCHECK --interval=30s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1

# Exec form, so the server is PID 1 and gets SIGTERM (it stops accepting
# requests, lets in-flight ones finish and stops the webhook worker).
# Other subcommands replace CMD: docker run … <image> migrate, seed-demo,
# backup PATH, create-admin --email E --name N (password on stdin).
ENTRYPOINT ["referral-exchange"]
CMD ["serve"]
