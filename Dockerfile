# Multi-stage build of the SASRecLLM service on Debian bookworm.
#
#   docker build -t sasrecllm .
#       CPU image, Debian's libtorch 1.13.
#   docker build -t sasrecllm:cuda --build-arg LIBTORCH=.deps/libtorch .
#       GPU image: a CUDA libtorch (the zip from pytorch.org, which carries its CUDA
#       libraries) unpacked into .deps/libtorch of the build context; the model
#       library builds against any libtorch through CMAKE_PREFIX_PATH. Run it with
#       the NVIDIA container toolkit and `--device cuda --dtype bfloat16`.
#
#   docker run -p 50051:50051 -p 9464:9464 -v $PWD/bundle:/bundle:ro sasrecllm
FROM debian:bookworm AS build
ARG LIBTORCH=""
WORKDIR /src
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh --no-build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN EXTRA=""; if [ -n "$LIBTORCH" ]; then EXTRA="-DCMAKE_PREFIX_PATH=/src/$LIBTORCH"; fi; \
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSASRECLLM_BUILD_TESTS=OFF $EXTRA && \
    cmake --build build -j"$(nproc)" --target sasrecllm-server sasrecllm-client sasrecllm && \
    mkdir -p /opt/libtorch/lib && \
    if [ -n "$LIBTORCH" ]; then cp -a "/src/$LIBTORCH/lib/." /opt/libtorch/lib/; fi

FROM debian:bookworm-slim AS runtime
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libgrpc++1.51 libprotobuf32 \
      libprometheus-cpp-core1.0 libabsl20220623 ca-certificates && \
    rm -rf /var/lib/apt/lists/* && \
    useradd --system --uid 10001 --no-create-home sasrecllm
# Empty for the CPU image; the CUDA libtorch (first on the library path) otherwise.
COPY --from=build /opt/libtorch/lib /opt/libtorch/lib
ENV LD_LIBRARY_PATH=/opt/libtorch/lib
COPY --from=build /src/build/sasrecllm-server /src/build/sasrecllm-client /src/build/sasrecllm /usr/local/bin/
USER 10001
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["sasrecllm-client", "--target", "127.0.0.1:50051", "health"]
ENTRYPOINT ["sasrecllm-server", "--bundle", "/bundle", "--port", "50051", "--metrics-port", "9464"]
