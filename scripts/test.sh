#!/usr/bin/env bash
# The test command: set up (packages + build), run the whole suite (ctest),
# then a short libFuzzer run of every fuzz target (scripts/fuzz.sh).
#   scripts/test.sh [extra ctest args]   # with arguments: ctest only
#
# Under a sanitizer, into a build folder of its own (GCC's runtimes; the first
# build takes as long as a normal one, or longer):
#   scripts/test.sh --sanitize=address [ctest args]  # ASan + UBSan, the whole suite
#                                                    # (build-asan/)
#   scripts/test.sh --sanitize=thread [ctest args]   # TSan: the server, batcher,
#                                                    # stage and service tests (build-tsan/)
# Both builds leave out the SentencePiece plugin (SASRECLLM_WITH_SENTENCEPIECE=OFF:
# its RTLD_DEEPBIND dlopen() is refused by the sanitizer runtimes), so the
# tokenizer.model tests are not in them; libtorch, gRPC and the other Debian
# libraries are not instrumented. Under TSan, Abseil is: scripts/tsan-abseil.sh
# builds Debian's own Abseil with -fsanitize=thread (once, ~10 minutes) and the
# tests load it in place of the system's, so that absl::Mutex (ours, and gRPC's
# locks, which wrap it) is seen; libtorch runs one thread (OMP_NUM_THREADS=1:
# its OpenMP pool is not instrumented). Reports go to the test output; any
# report fails its test.
set -euo pipefail
cd "$(dirname "$0")/.."
SANITIZE=
case "${1:-}" in
  --sanitize=address | --sanitize=thread) SANITIZE=${1#--sanitize=}; shift ;;
  --sanitize=*) echo "test.sh: unknown ${1}: use --sanitize=address or --sanitize=thread" >&2; exit 2 ;;
esac

if [ -z "$SANITIZE" ]; then
  # clang and its libFuzzer runtime too, for the short fuzzing run below.
  [ "${SASRECLLM_TEST_FUZZ:-1}" != 0 ] && export SETUP_FUZZ_TOOLS=1
  scripts/setup.sh
  BUILD_DIR=${BUILD_DIR:-build}
  rc=0
  (cd "$BUILD_DIR" && ctest --output-on-failure -j "${JOBS:-$(nproc)}" "$@") || rc=$?
  # The short libFuzzer run of every target (ASan + UBSan, clang, build-fuzz/):
  # a fixed number of executions from the committed seeds with a fixed seed, so
  # that it is the same run on every machine. Only for the whole suite (no
  # ctest arguments); SASRECLLM_TEST_FUZZ=0 leaves it out.
  if [ $# -eq 0 ] && [ "${SASRECLLM_TEST_FUZZ:-1}" != 0 ]; then
    echo "test.sh: short fuzzing run, every target (scripts/fuzz.sh)" >&2
    FUZZ_RUNS=${FUZZ_RUNS:-5000} FUZZ_SEED=${FUZZ_SEED:-1} FUZZ_SEEDS_ONLY=1 \
      scripts/fuzz.sh all 60 || rc=1
  elif [ $# -eq 0 ]; then
    echo "test.sh: SASRECLLM_TEST_FUZZ=0: the short fuzzing run is left out" >&2
  fi
  exit $rc
fi

scripts/setup.sh --no-build
if [ "$SANITIZE" = address ]; then
  BUILD_DIR=${BUILD_DIR:-build-asan}
  # vptr off: libtorch's classes carry no UBSan type info.
  FLAGS="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  TARGETS=(all)
  SELECT=()
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  BUILD_DIR=${BUILD_DIR:-build-tsan}
  FLAGS="-fsanitize=thread -fno-omit-frame-pointer"
  TARGETS=(server_core_tests server_tests)
  SELECT=(-R "^(BatcherTest|PipelineTest|LlmStageTest|RecommenderServiceTest|HybridServiceTest|ReloadTest|ReloaderTest|ModelLoaderTest|MetricsTest|AccessLogTest)\\.")
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/sanitizers/tsan.supp}
  scripts/tsan-abseil.sh "$BUILD_DIR/abseil-tsan"
  export LD_LIBRARY_PATH="$PWD/$BUILD_DIR/abseil-tsan/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export OMP_NUM_THREADS=1
fi
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSASRECLLM_WITH_SENTENCEPIECE=OFF \
  -DCMAKE_CXX_FLAGS="$FLAGS" -DCMAKE_EXE_LINKER_FLAGS="$FLAGS" -DCMAKE_SHARED_LINKER_FLAGS="$FLAGS" \
  "${LAUNCHER[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" --target "${TARGETS[@]}"
cd "$BUILD_DIR"
echo "test.sh: $SANITIZE sanitizer, $(pwd)" >&2
exec ctest --output-on-failure -j "${JOBS:-$(nproc)}" "${SELECT[@]}" "$@"
