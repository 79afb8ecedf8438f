#!/usr/bin/env bash
# The GPU check: builds model/ (with the offline tool) alone against the
# machine's own PyTorch (a CUDA libtorch), runs the model tests with CUDA as the
# test device, then the GPU benchmarks. For a lent GPU machine that has PyTorch
# and CMake but no gRPC or GoogleTest package:
#
#   GTEST_SOURCE_DIR=.deps/googletest SASRECLLM_SHARED=.deps/shared scripts/gpu-check.sh
#
# (.deps/googletest: a copy of Debian's /usr/src/googletest; .deps/shared: the
# parts of ../shared the checks read.) Results go to $OUT (default /tmp/gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
export SASRECLLM_SHARED=$(realpath "${SASRECLLM_SHARED:-../shared}")
GTEST_SOURCE_DIR=$(realpath "${GTEST_SOURCE_DIR:-/usr/src/googletest}")
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
log() { echo "== $* ($(date +%T))" | tee -a "$OUT/summary.txt"; }

log "device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$OUT/summary.txt"

log "build model/ + cli against $TORCH_PREFIX"
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S model -B build-gpu "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DGTEST_SOURCE_DIR="$GTEST_SOURCE_DIR" > "$OUT/build.log" 2>&1 &&
cmake --build build-gpu -j "$(nproc)" >> "$OUT/build.log" 2>&1
rc=$?; tail -5 "$OUT/build.log"; [ $rc -eq 0 ] || { grep -m20 -B2 -A6 "error" "$OUT/build.log"; exit 1; }

log "model tests (SASRECLLM_TEST_DEVICE=cuda)"
# Full output (gtest prints and flushes each test), so that a crash shows where.
for t in build-gpu/tests/*_tests; do
  name=$(basename "$t")
  SASRECLLM_TEST_DEVICE=cuda timeout 240 "$t" > "$OUT/$name.log" 2>&1
  rc=$?
  echo "$name: exit $rc; last lines:" | tee -a "$OUT/summary.txt"
  tail -n 4 "$OUT/$name.log" | tee -a "$OUT/summary.txt"
done

log "SASRec ranking throughput (Games checkpoint)"
B=/tmp/games-bundle
build-gpu/sasrecllm export --sasrec "$SASRECLLM_SHARED/models/sasrec-pmixer-games" --out $B > /dev/null
for dt in float32 bfloat16; do
  build-gpu/sasrecllm bench-sasrec --bundle $B --device cuda --dtype $dt --batch-sizes 1,32,128,1024 \
    --seconds 2 | tee -a "$OUT/summary.txt"
done

log "train-sasrec on Games, paper settings, CUDA (${TRAIN_SECONDS:-300} s at most)"
timeout "${TRAIN_SECONDS:-300}" build-gpu/sasrecllm train-sasrec \
  --data "$SASRECLLM_SHARED/data/amazon-games/Video.txt" --out "$OUT/games-cuda" --device cuda \
  --epochs "${TRAIN_EPOCHS:-200}" --eval-every 20 --threads 4 > "$OUT/train.log" 2>&1
echo "train exit $?" | tee -a "$OUT/summary.txt"
grep -E "done|HR@10|best" "$OUT/train.log" | grep -vE "^\s*$" | tail -30 | tee -a "$OUT/summary.txt"
log "end"
