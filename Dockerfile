# syntax=docker/dockerfile:1
# The parity container image: the image deploy/kubernetes/*.yaml runs.
#
#   docker build -t ghcr.io/example/parity:0.1.0 .
#   docker push ghcr.io/example/parity:0.1.0
#
# Two stages: a release build of the parity binary with the Rust toolchain, then a small
# Debian runtime with CA certificates (for HTTPS to S3, GCS and Azure), the binary as the
# entrypoint, running as the unprivileged user 65532:65532 that the manifests' securityContext
# names. The spill folder /var/lib/parity/spill is the manifests' emptyDir mount and --spill-dir,
# and TMPDIR, so the row diff can spill with a read-only root filesystem. The inventory is read
# from /etc/parity/parity.toml (PARITY_CONFIG; the manifests mount their ConfigMap there).
# scripts/check-deploy.py checks that all of this agrees with deploy/kubernetes/.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Everything the package declares (benches and tests are Cargo targets, so they must exist);
# .dockerignore keeps target/ and caches out of the context.
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY tests ./tests
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin parity \
    && install -m 0755 target/release/parity /usr/local/bin/parity

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 parity \
    && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin parity \
    && mkdir -p /etc/parity /var/lib/parity/spill \
    && chown 65532:65532 /var/lib/parity/spill \
    && chmod 0700 /var/lib/parity/spill
COPY --from=build /usr/local/bin/parity /usr/local/bin/parity
LABEL org.opencontainers.image.title="parity" \
      org.opencontainers.image.description="Dual-run output parity checker for data pipeline migrations" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PARITY_CONFIG=/etc/parity/parity.toml \
    TMPDIR=/var/lib/parity/spill
VOLUME ["/var/lib/parity/spill"]
USER 65532:65532
WORKDIR /var/lib/parity
ENTRYPOINT ["/usr/local/bin/parity"]
CMD ["--help"]
