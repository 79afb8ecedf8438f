#!/usr/bin/env bash
# The GPU check: builds model/ (with the offline tool) alone against the
# machine's own PyTorch (a CUDA libtorch), runs the model tests with CUDA as the
# test device, then the GPU benchmarks. For a lent GPU machine that has PyTorch
# and CMake but no gRPC or GoogleTest package:
#
#   GTEST_SOURCE_DIR=.deps/googletest HEADERS_DIR=.deps/include \
#     SASRECLLM_SHARED=.deps/shared scripts/gpu-check.sh
#
# (.deps/googletest: a copy of Debian's /usr/src/googletest; .deps/include: the
# header-only libraries, nlohmann/json.hpp and CLI/ (copies of Debian's
# /usr/include/nlohmann and /usr/include/CLI, and /usr/include/openssl and
# /usr/include/x86_64-linux-gnu/openssl merged, for a machine without OpenSSL's
# headers: libcrypto.so.3 itself is on any such machine, found below);
# .deps/shared: the parts of ../shared the checks read.) Results go to $OUT
# (default /tmp/gpu-check).
#
# GPU_PHASES picks what runs after the build (default: all, in this order):
#   tests   the model tests (SASRECLLM_TEST_DEVICE=cuda)
#   sasrec  SASRec ranking throughput and train-sasrec on Games
#   hybrid  stories260K greedy generation on CUDA vs llama2.c's output; eval-hybrid
#           of a CPU-trained checkpoint (HYBRID_CHECKPOINT, if given) in float32
#           and bfloat16; train-collm.sh on the full CoLLM split with CUDA
#           (COLLM_SASREC, COLLM_POINTWISE: trained next-item and point-wise SASRec
#           folders to reuse; COLLM_STRATEGIES)
# GPU_DEADLINE_S (default 540) bounds the whole script's wall time: the long
# steps get what is left.
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
# libstdc++ symbols that this libtorch exports itself (pytorch/pytorch#133437):
# the reason every binary here links libstdc++ first (cmake/libstdcxx_first.cmake;
# link_tests checks that it works with this toolchain).
TORCH_LIB=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
echo "std::filesystem symbols exported by libtorch_cpu.so: $(nm -D --defined-only \
  "$TORCH_LIB/libtorch_cpu.so" 2>/dev/null | grep -c ' _ZNSt10filesystem')" | tee -a "$OUT/summary.txt"

log "build model/ + cli against $TORCH_PREFIX"
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
# OpenSSL (base/file_digest.cc): the machine's own where its headers are
# installed, else the carried headers over the machine's libcrypto.so.3.
OPENSSL=()
if [ -n "${HEADERS_DIR:-}" ] && [ -e "$HEADERS_DIR/openssl/evp.h" ] && [ ! -e /usr/include/openssl/evp.h ]; then
  CRYPTO=$(ldconfig -p | awk '/libcrypto\.so\.3 / {print $NF; exit}')
  OPENSSL=(-DOPENSSL_INCLUDE_DIR="$(realpath "$HEADERS_DIR")" -DOPENSSL_CRYPTO_LIBRARY="$CRYPTO")
fi
cmake -S model -B build-gpu "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" -DGTEST_SOURCE_DIR="$GTEST_SOURCE_DIR" \
  ${HEADERS_DIR:+-DSASRECLLM_NLOHMANN_INCLUDE_DIR=$(realpath "$HEADERS_DIR")} \
  ${HEADERS_DIR:+-DSASRECLLM_CLI11_INCLUDE_DIR=$(realpath "$HEADERS_DIR")} \
  "${OPENSSL[@]}" > "$OUT/build.log" 2>&1 &&
cmake --build build-gpu -j "$(nproc)" >> "$OUT/build.log" 2>&1
rc=$?; tail -5 "$OUT/build.log"; [ $rc -eq 0 ] || { grep -m20 -B2 -A6 "error" "$OUT/build.log"; exit 1; }

PHASES=${GPU_PHASES:-tests sasrec hybrid}
DEADLINE=${GPU_DEADLINE_S:-540}
left() { echo $((DEADLINE - SECONDS)); }
has() { [[ " $PHASES " == *" $1 "* ]]; }

if has tests; then
log "model tests (SASRECLLM_TEST_DEVICE=cuda), in the background"
# Full output (gtest prints and flushes each test), so that a crash shows where.
(
  for t in build-gpu/tests/*_tests; do
    name=$(basename "$t")
    OMP_NUM_THREADS=4 SASRECLLM_TEST_DEVICE=cuda timeout 200 "$t" > "$OUT/$name.log" 2>&1
    rc=$?
    { echo "$name: exit $rc; last lines:"; tail -n 4 "$OUT/$name.log"; } >> "$OUT/tests-summary.txt"
  done
) &
TESTS_PID=$!
fi

if has sasrec; then
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
fi

if has hybrid; then
CLI=build-gpu/sasrecllm
S260=$SASRECLLM_SHARED/models/stories260K
log "stories260K greedy, 200 steps, on CUDA vs llama2.c's greedy_n200.txt"
$CLI convert-llama2c "$S260/stories260K.bin" "$S260/tok512.bin" build-gpu/collm/llm > /dev/null
for dt in float32 bfloat16; do
  $CLI generate --model build-gpu/collm/llm --steps 200 --temperature 0 --device cuda --dtype $dt \
    > "$OUT/greedy-$dt.txt" 2> "$OUT/greedy-$dt.err"
  if cmp -s "$OUT/greedy-$dt.txt" "$S260/reference/greedy_n200.txt"; then r=identical; else r=DIFFERENT; fi
  echo "greedy $dt: $r ($(tail -1 "$OUT/greedy-$dt.err"))" | tee -a "$OUT/summary.txt"
done
DATA=$SASRECLLM_SHARED/data/collm-ml1m
if [ -n "${HYBRID_CHECKPOINT:-}" ]; then
  log "eval-hybrid on CUDA of the CPU-trained $HYBRID_CHECKPOINT (test split)"
  rm -rf build-gpu/cpu-checkpoint && cp -r "$HYBRID_CHECKPOINT" build-gpu/cpu-checkpoint
  # The checkpoint names its base LLM by absolute path: point it at this machine's copy.
  sed -i "s#\"llm\": \"[^\"]*\"#\"llm\": \"$PWD/build-gpu/collm/llm\"#" build-gpu/cpu-checkpoint/hybrid.json
  for dt in float32 bfloat16; do
    timeout 120 $CLI eval-hybrid --model build-gpu/cpu-checkpoint --data "$DATA" --split test \
      --device cuda --dtype $dt --batch-size 256 --merge-lora --json "$OUT/cpu-joint-test-cuda-$dt.json" \
      > "$OUT/eval-$dt.log" 2>&1
    echo "eval-hybrid cuda $dt exit $?: $(tail -3 "$OUT/eval-$dt.log" | tr '\n' ' ')" | tee -a "$OUT/summary.txt"
  done
fi
log "train-collm.sh on the full CoLLM split, CUDA float32 ($(left) s left)"
mkdir -p build-gpu/collm/sasrec
[ -n "${COLLM_SASREC:-}" ] && cp -r "$COLLM_SASREC" build-gpu/collm/sasrec/best-valid-auc
[ -n "${COLLM_POINTWISE:-}" ] && cp -r "$COLLM_POINTWISE" build-gpu/collm/sasrec-pointwise
for strategy in ${COLLM_STRATEGIES:-joint two-stage two-stage-tune-encoder}; do
  [ "$(left)" -gt 40 ] || break
  BUILD_DIR=build-gpu DEVICE=cuda THREADS=4 SAMPLES=${SAMPLES:-0} VALID_SAMPLES=${VALID_SAMPLES:-0} \
    EPOCHS=${EPOCHS:-2} EVAL_EVERY=${EVAL_EVERY:-0} STRATEGIES=$strategy \
    timeout "$(( $(left) - 15 ))" scripts/train-collm.sh > "$OUT/collm-$strategy.log" 2>&1
  echo "train-collm $strategy exit $?" | tee -a "$OUT/summary.txt"
  grep -E "rows/s|valid AUC|best" "$OUT/collm-$strategy.log" | tail -8 | tee -a "$OUT/summary.txt"
done
mkdir -p "$OUT/collm"
cp -r build-gpu/collm/results build-gpu/collm/results.md "$OUT/collm/" 2>/dev/null
for d in build-gpu/collm/hybrid-*/*/; do
  [ -f "$d/result.json" ] && mkdir -p "$OUT/collm/$(basename $d)" &&
    cp "$d/result.json" "$d/log.jsonl" "$OUT/collm/$(basename $d)/" 2>/dev/null
done
cat build-gpu/collm/results.md 2>/dev/null | tee -a "$OUT/summary.txt"
fi
if [ -n "${TESTS_PID:-}" ]; then
  wait "$TESTS_PID"
  cat "$OUT/tests-summary.txt" | tee -a "$OUT/summary.txt"
fi
log "end"
