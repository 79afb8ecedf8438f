#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/) with clang as libFuzzer binaries under ASan
# and UBSan into build-fuzz/, then fuzzes them: every target, or one, for
# SECONDS each (default 60), starting from the committed seed corpus
# (fuzz/corpus/<target>/) plus what earlier runs here found
# (build-fuzz/corpus/<target>/). Prints executions, time, coverage and
# corpus size per target; a crash stops that target, leaves its input in
# build-fuzz/crashes/<target>/ and makes the script exit 1: make it a
# regression test by copying it to fuzz/regressions/<target>/ (replayed by the
# suite) and fix the parser.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh safetensors 600 # one target, 10 minutes
#   scripts/fuzz.sh all 10          # every target, 10 s each (the suite only replays the corpus: ctest -L fuzz)
#   scripts/fuzz.sh --list
#
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (build jobs, default
# the number of cores), FUZZ_RSS_MB (default 4096, libFuzzer's -rss_limit_mb),
# FUZZ_RUNS (stop a target after this many executions, or at SECONDS, whichever
# comes first; default no limit), FUZZ_SEED (libFuzzer's -seed; default 0, a
# random one), FUZZ_SEEDS_ONLY=1 (start from the committed corpus alone, not
# what earlier runs found). The test command's short run (scripts/test.sh)
# sets FUZZ_RUNS, FUZZ_SEED and FUZZ_SEEDS_ONLY, so that it is the same run on
# every machine.
# Needs clang and libclang-rt-14-dev (SETUP_FUZZ_TOOLS=1 scripts/setup.sh --no-build).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-all}
SECONDS_EACH=${2:-60}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
TARGETS=$(sed -n '/^set(SASRECLLM_FUZZ_TARGETS/,/)/p' fuzz/CMakeLists.txt |
          tr -d '()' | sed 's/^set//; s/SASRECLLM_FUZZ_TARGETS//' | xargs)
TARGETS="$TARGETS request"

if [ "$TARGET" = --list ]; then
  echo "$TARGETS" | tr ' ' '\n'
  exit 0
fi
if [ "$TARGET" != all ] && ! echo " $TARGETS " | grep -q " $TARGET "; then
  echo "fuzz.sh: no target '$TARGET' (scripts/fuzz.sh --list)" >&2
  exit 2
fi
command -v clang++ >/dev/null ||
  { echo "fuzz.sh: clang++ is missing (SETUP_FUZZ_TOOLS=1 scripts/setup.sh --no-build)" >&2; exit 1; }

# Everything compiled for coverage feedback and the sanitizers; vptr is off
# because libtorch (GCC-built, no UBSan) has its own type info.
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSASRECLLM_FUZZ=ON \
  -DSASRECLLM_BUILD_TESTS=OFF -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_C_FLAGS="$SAN" "${LAUNCHER[@]}" >/dev/null
if [ "$TARGET" = all ]; then
  cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target fuzz_all
else
  cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target "${TARGET}_fuzzer"
fi

# The SentencePiece plugin of this build (ASan-built, like the binaries).
export SASRECLLM_SPM_SHIM=$(realpath "$BUILD"/model/llm/libsasrecllm_spm_shim.so)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
[ "$TARGET" = all ] && run_targets=$TARGETS || run_targets=$TARGET
failed=()
printf '%-20s %12s %8s %8s %8s %8s\n' target executions seconds exec/s cov corpus | tee "$BUILD/fuzz-summary.txt"
for t in $run_targets; do
  corpus="$BUILD/corpus/$t"
  crashes="$BUILD/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  log="$BUILD/fuzz-$t.log"
  rc=0
  inputs=("$corpus" "fuzz/corpus/$t")
  if [ "${FUZZ_SEEDS_ONLY:-0}" = 1 ]; then
    # New inputs go to a fresh folder; only the committed seeds are read.
    rm -rf "$corpus" && mkdir -p "$corpus"
  fi
  "$BUILD/fuzz/${t}_fuzzer" -max_total_time="$SECONDS_EACH" -runs="${FUZZ_RUNS:--1}" \
    -seed="${FUZZ_SEED:-0}" -print_final_stats=1 \
    -rss_limit_mb="${FUZZ_RSS_MB:-4096}" -max_len=65536 -timeout=25 \
    -artifact_prefix="$crashes/" "${inputs[@]}" > "$log" 2>&1 || rc=$?
  # From libFuzzer's -print_final_stats and its "Done N runs in S second(s)".
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  secs=$(awk '/^Done [0-9]+ runs in/ {print $5}' "$log")
  rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
  cov=$( (grep -oE 'cov: [0-9]+' "$log" || true) | tail -1 | awk '{print $2}')
  size=$(find "$corpus" -type f | wc -l)
  printf '%-20s %12s %8s %8s %8s %8s\n' "$t" "${execs:--}" "${secs:--}" "${rate:--}" "${cov:--}" "$size" |
    tee -a "$BUILD/fuzz-summary.txt"
  if [ "$rc" != 0 ]; then
    failed+=("$t")
    echo "fuzz.sh: $t FAILED (exit $rc): see $log; inputs in $crashes/" >&2
    grep -m3 -E 'ERROR: |runtime error|SUMMARY' "$log" >&2 || tail -5 "$log" >&2
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crash (summary in $BUILD/fuzz-summary.txt)" >&2
