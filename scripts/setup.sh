#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs (idempotent), then
# configures and builds everything into build/.
#
#   scripts/setup.sh              # install + configure + build
#   scripts/setup.sh --no-build   # install only
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release),
# JOBS (default: number of cores), SETUP_TEST_TOOLS (default 1; 0 installs
# only what the build needs), SETUP_CONTAINER_TOOLS (default 0; 1 adds podman
# and debootstrap for scripts/container-test.sh), SETUP_FUZZ_TOOLS (default 0;
# 1 adds clang and its libFuzzer/sanitizer runtimes for scripts/fuzz.sh),
# SETUP_BENCH_TOOLS (default 0; 1 adds what the Python baselines in
# bench/python_baseline import: PyTorch, gRPC, NumPy, Protobuf).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates python3
  libtorch-dev libopenblas0-openmp
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev
  nlohmann-json3-dev libcli11-dev libsentencepiece-dev
  libssl-dev  # SHA-256 of bundle files (base/file_digest.h)
  libfaiss-dev  # ANN retrieval for large catalogs (model/ann/)
  libgloo-dev  # c10d's ProcessGroupGloo headers: data-parallel training (model/distributed.h)
)
# What only the tests need; SETUP_TEST_TOOLS=0 (the container's build stage)
# leaves them out.
if [ "${SETUP_TEST_TOOLS:-1}" != 0 ]; then
  PACKAGES+=(
    openssl  # tests/e2e/operations_test.py makes its TLS certificates
    # tests/deploy: yamllint, promtool (Debian's prometheus package), PyYAML, kubectl.
    # kubectl: the one already installed, else Debian's kubernetes-client (both ship
    # /usr/bin/kubectl, so dpkg refuses to install the second).
    yamllint prometheus python3-yaml
    $(command -v kubectl >/dev/null || echo kubernetes-client)
  )
fi

if [ "${SETUP_CONTAINER_TOOLS:-0}" = 1 ]; then
  PACKAGES+=(podman debootstrap)
fi
if [ "${SETUP_FUZZ_TOOLS:-0}" = 1 ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi
if [ "${SETUP_BENCH_TOOLS:-0}" = 1 ]; then
  PACKAGES+=(python3-torch python3-grpcio python3-numpy python3-protobuf)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install packages" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Without the OpenMP OpenBLAS, libtorch falls back to the reference BLAS (~17x
# slower matrix products): make sure it is the selected alternative.
if [ -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ] && command -v update-alternatives >/dev/null; then
  cur=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
  if [ "$cur" != "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3" ] && [ "$(id -u)" -eq 0 ]; then
    update-alternatives --set libblas.so.3-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 || true
  fi
fi

[ "${1:-}" = "--no-build" ] && exit 0

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup: built into $BUILD_DIR/" >&2
