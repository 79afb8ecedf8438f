# Multi-stage build of the SASRecLLM service on Debian bookworm (CPU, Debian's
# libtorch 1.13).
#
#   docker build -t sasrecllm:cpu .            (or: podman build --isolation=chroot ...)
#   docker run -p 50051:50051 -p 9464:9464 -v $PWD/bundle:/models/bundle:ro sasrecllm:cpu
#
# The server is configured through the environment: every flag --foo-bar is
# also SASRECLLM_FOO_BAR (the defaults below; -e SASRECLLM_THREADS=3 ...).
# Arguments after the image name are passed to the server and win over the
# environment (docker run ... sasrecllm:cpu --max-batch-size 16).
#
# The runtime stage holds the installed binaries, the SentencePiece plugin
# (lib/sasrecllm/, found beside the binaries) and exactly the shared
# libraries they load (their ldd closure, copied from the build stage) on
# debian:bookworm-slim: no apt dependency tree of libtorch in it.
# scripts/container-test.sh builds and checks it.
#
# A GPU image needs a CUDA libtorch and a CUDA base image instead of Debian's
# libtorch: see README.md ("Container").

FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
# The build's packages only (no test tools), and ccache with a cache mount: a
# rebuild after a source change recompiles only what changed (BuildKit and
# buildah/podman both keep the mount between builds).
RUN SETUP_TEST_TOOLS=0 bash scripts/setup.sh --no-build && \
    apt-get update -qq && apt-get install -y -qq --no-install-recommends ccache && \
    rm -rf /var/lib/apt/lists/*
COPY . .
RUN --mount=type=cache,target=/root/.ccache \
    cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DSASRECLLM_BUILD_TESTS=OFF \
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache && \
    cmake --build /build -j"$(nproc)" && \
    cmake --install /build --prefix /opt/sasrecllm
# The shared libraries the binaries and the plugin load, under their sonames
# (libblas.so.3 is the OpenMP OpenBLAS that setup.sh selects), except glibc's,
# which the runtime base has.
RUN mkdir -p /opt/sasrecllm/lib/deps && \
    for f in /opt/sasrecllm/bin/* /opt/sasrecllm/lib/sasrecllm/*.so; do ldd "$f"; done | \
    awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u | \
    while read -r soname path; do \
      case "$soname" in \
        libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|ld-linux*|libresolv.so.*) ;; \
        *) cp -L "$path" "/opt/sasrecllm/lib/deps/$soname" ;; \
      esac; \
    done && \
    du -sh /opt/sasrecllm/lib/deps

FROM debian:bookworm-slim AS runtime
COPY --from=build /opt/sasrecllm /opt/sasrecllm
ENV PATH=/opt/sasrecllm/bin:$PATH \
    LD_LIBRARY_PATH=/opt/sasrecllm/lib/deps \
    SASRECLLM_BUNDLE=/models/bundle \
    SASRECLLM_HOST=0.0.0.0 \
    SASRECLLM_PORT=50051 \
    SASRECLLM_METRICS_PORT=9464
# The bundle's mount point (a volume: docker run -v DIR:/models/bundle:ro).
RUN mkdir -p /models/bundle
# Non-root, numeric (Kubernetes' runAsNonRoot checks the number); the same
# uid as deploy/kubernetes/.
USER 65532:65532
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s \
  CMD ["sasrecllm-client", "--target", "127.0.0.1:50051", "health"]
ENTRYPOINT ["sasrecllm-server"]
# No default arguments: they would override the SASRECLLM_* environment.
CMD []
