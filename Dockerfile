# Multi-stage build of the SASRecLLM service on Debian bookworm.
#
#   docker build -t sasrecllm .                       # CPU image (Debian's libtorch 1.13)
#   docker build --build-arg LIBTORCH=/opt/libtorch \
#                --build-arg BASE=nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04 ...
#     selects a CUDA libtorch unpacked into the build context's .deps/libtorch
#     (the model/ library builds against any libtorch via CMAKE_PREFIX_PATH).
#   docker run -p 50051:50051 -p 9464:9464 -v $PWD/bundle:/bundle:ro sasrecllm
ARG BASE=debian:bookworm-slim

FROM debian:bookworm AS build
ARG LIBTORCH=""
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh --no-build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN if [ -n "$LIBTORCH" ]; then EXTRA="-DCMAKE_PREFIX_PATH=$LIBTORCH"; fi; \
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSASRECLLM_BUILD_TESTS=OFF $EXTRA && \
    cmake --build build -j"$(nproc)" --target sasrecllm-server sasrecllm-client sasrecllm

FROM ${BASE} AS runtime
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libgrpc++1.51 libprotobuf32 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libabsl20220623 libsentencepiece0 \
      ca-certificates && rm -rf /var/lib/apt/lists/* && \
    useradd --system --uid 10001 --no-create-home sasrecllm
COPY --from=build /src/build/sasrecllm-server /src/build/sasrecllm-client /src/build/sasrecllm /usr/local/bin/
USER 10001
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["sasrecllm-client", "--target", "127.0.0.1:50051", "health"]
ENTRYPOINT ["sasrecllm-server", "--bundle", "/bundle", "--port", "50051", "--metrics-port", "9464"]
