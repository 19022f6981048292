# syntax=docker/dockerfile:1
# TrophyBot image: build with the full Rust toolchain, run on a slim Debian as a non-root user.
#   docker build -t trophybot .
#   docker run --env-file .env trophybot            (or: docker compose up -d)

FROM rust:1-bookworm AS builder
WORKDIR /src
# sqlx query macros, if any, check against the committed .sqlx data, never a live database.
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never
COPY . .
# Cache mounts keep the registry and build artefacts between builds; the binary is copied out
# because the target cache is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p trophybot \
    && cp target/release/trophybot /usr/local/bin/trophybot

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin trophybot
COPY --from=builder /usr/local/bin/trophybot /usr/local/bin/trophybot
# An empty, unwritable working directory: no stray .env is read from it.
WORKDIR /app
USER trophybot:trophybot
# HTTP_ADDR's default port: /healthz and /metrics.
EXPOSE 8080
# `trophybot healthcheck` asks /healthz on HTTP_ADDR (the slim image has no curl): exit 0 when
# Discord is connected and the PSN credential is accepted. The start period covers migrations
# and the gateway handshake.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["trophybot", "healthcheck"]
ENTRYPOINT ["trophybot"]
CMD ["run"]
