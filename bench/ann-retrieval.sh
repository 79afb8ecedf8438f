#!/usr/bin/env bash
# ANN retrieval benchmark: stage 1 over synthetic catalogs of 10^5..10^7 items,
# exact against the FAISS index, side by side in one run; then Recommend
# through the real server on one of them, --retrieval exact against ann.
#
#   bench/ann-retrieval.sh BUILD_DIR [--sizes 100000,1000000,10000000] [--dir DIR]
#                          [--threads N] [--queries 1000] [--batch-sizes 1,32]
#                          [--target-recall 0.95] [--serve-size 1000000]
#                          [--duration-s 15] [--concurrency 8]
#
# For each size: `sasrecllm synthesize-bundle` (planted clusters; kept in DIR,
# default build/ann-bench, and reused), `sasrecllm build-index` (auto factory,
# nprobe tuned to --target-recall on its own random-history queries; reused
# when the bundle already has an index), then `sasrecllm bench-retrieval`
# (other queries: queries/s, batch p50/p99, recall@100 against exact).
# --serve-size 0 skips the server part. Memory: the 10^7 bundle needs about
# 2 GB for its embeddings and 2 GB for the index, twice during build-index.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 ]] || bench_usage
BUILD=$(cd "$1" && pwd)
shift
SIZES=100000,1000000,10000000
DIR=$BUILD/ann-bench
THREADS=$(nproc)
QUERIES=1000
BATCH_SIZES=1,32
TARGET_RECALL=0.95
SERVE_SIZE=1000000
DURATION=15
CONCURRENCY=8
while [[ $# -gt 0 ]]; do
  case $1 in
    --sizes) SIZES=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --queries) QUERIES=$2; shift 2 ;;
    --batch-sizes) BATCH_SIZES=$2; shift 2 ;;
    --target-recall) TARGET_RECALL=$2; shift 2 ;;
    --serve-size) SERVE_SIZE=$2; shift 2 ;;
    --duration-s) DURATION=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    *) bench_usage ;;
  esac
done
TOOL=$BUILD/sasrecllm
SERVER=$BUILD/sasrecllm-server
CLIENT=$BUILD/sasrecllm-client
for bin in "$TOOL" "$SERVER" "$CLIENT"; do
  [[ -x $bin ]] || { echo "ann-retrieval.sh: $bin is missing (build it first)" >&2; exit 1; }
done
BENCH_NAME=ann-retrieval.sh
bench_begin
mkdir -p "$DIR"

for n in ${SIZES//,/ }; do
  bundle=$DIR/synthetic-$n
  if [[ ! -f $bundle/manifest.json ]]; then
    "$TOOL" synthesize-bundle --items "$n" --out "$bundle"
  fi
  if ! grep -q '"item_index"' "$bundle/manifest.json"; then
    echo "== build-index, $n items" >&2
    /usr/bin/env time -f "build-index: %e s wall, peak RSS %M KB" \
      "$TOOL" build-index --bundle "$bundle" --threads "$THREADS" \
      --target-recall "$TARGET_RECALL"
  fi
  echo "== bench-retrieval, $n items" >&2
  "$TOOL" bench-retrieval --bundle "$bundle" --threads "$THREADS" --queries "$QUERIES" \
    --batch-sizes "$BATCH_SIZES"
done

[[ $SERVE_SIZE == 0 ]] && exit 0
bundle=$DIR/synthetic-$SERVE_SIZE
[[ -f $bundle/manifest.json ]] || { echo "ann-retrieval.sh: --serve-size $SERVE_SIZE is not in --sizes" >&2; exit 1; }
echo "== Recommend through the server, $SERVE_SIZE items, concurrency $CONCURRENCY" >&2
printf '%-6s %10s %9s %9s %9s %7s %9s\n' retrieval req/s "p50 ms" "p99 ms" "max ms" errors "RSS MB"
for mode in exact ann; do
  log=$WORK/server-$mode.log
  "$SERVER" --bundle "$bundle" --host 127.0.0.1 --port 0 --metrics-port 0 \
    --retrieval "$mode" >"$WORK/access-$mode.jsonl" 2>"$log" &
  bench_wait_listening "$log" 3000 300
  rss=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$SERVER_PID/status")
  "$CLIENT" --target "$TARGET" bench --concurrency "$CONCURRENCY" --duration-s "$DURATION" \
    --warmup-s 3 --method recommend --history-len 20 --top-k 10 --json - 2>/dev/null |
    python3 -c '
import json, sys
r = json.load(sys.stdin); l = r["latency_ms"]
rps, p50, p99, worst, errors = r["throughput_rps"], l["p50"], l["p99"], l["max"], r["errors"]
print(f"{sys.argv[1]:<6} {rps:>10.1f} {p50:>9.2f} {p99:>9.2f} {worst:>9.2f} {errors:>7} "
      f"{sys.argv[2]:>9}")' "$mode" "$rss"
  grep -m1 "stage-1 retrieval" "$log" >&2 || true
  stop_server
done
