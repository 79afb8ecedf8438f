# Sourced by demo.sh and train-collm.sh: moves to the repository root and sets
# ROOT (it), SHARED ($SASRECLLM_SHARED, default ../shared beside the checkout)
# and BUILD_DIR ($BUILD_DIR, default build).
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SHARED=${SASRECLLM_SHARED:-$ROOT/../shared}
BUILD_DIR=${BUILD_DIR:-build}
