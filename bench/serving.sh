#!/usr/bin/env bash
# Serving benchmark: Recommend (history 50, top 10) through the real server and
# client, at concurrency 1, 8, 32 and 64, with dynamic batching on
# (--max-batch-size 32) and off (--max-batch-size 1).
#
#   bench/serving.sh BUILD_DIR BUNDLE [--duration-s 10] [--warmup-s 2] [--threads N (server torch threads; default: its own)]
#                    [--sasrec-workers N (default: the server's own)]
#                    [--history-len 50]   (must be <= the bundle's max history)
#
# Prints one table row per (batching, concurrency): throughput, p50/p90/p99/max
# latency, errors, and the raw model's throughput at the same batch size
# (column "raw q/s": the batch size is the concurrency with batching on, 1 with
# it off). The raw numbers come from $RAW_BENCH_CMD (default:
# "BUILD_DIR/sasrecllm bench-sasrec --bundle BUNDLE"), run with
# "--batch-sizes 1,8,32 --json -"; its JSON (stdout) must hold objects with "batch_size"
# and "queries_per_s". It runs three times (before, between and after the
# servers) and the best figure per batch size is the anchor: on a shared
# machine that is the conservative choice. When that command is missing or
# fails the column shows "-". Concurrency 64 uses batch 32 (the largest). The
# client and the server share the machine: on a small box the numbers measure
# both.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ $# -ge 2 ]] || bench_usage
BUILD=$(cd "$1" && pwd)
BUNDLE=$2
shift 2
DURATION=10
WARMUP=2
THREADS=0  # the server's default: cores - 1
WORKERS=0  # the server's default: auto
HISTORY_LEN=50
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration-s) DURATION=$2; shift 2 ;;
    --warmup-s) WARMUP=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --sasrec-workers) WORKERS=$2; shift 2 ;;
    --history-len) HISTORY_LEN=$2; shift 2 ;;
    *) bench_usage ;;
  esac
done
SERVER=$BUILD/sasrecllm-server
CLIENT=$BUILD/sasrecllm-client
for bin in "$SERVER" "$CLIENT"; do
  [[ -x $bin ]] || { echo "serving.sh: $bin is missing (build it first)" >&2; exit 1; }
done
[[ -f $BUNDLE/manifest.json ]] || { echo "serving.sh: $BUNDLE is not a bundle" >&2; exit 1; }

BENCH_NAME=serving.sh
bench_begin

# Raw model throughput (the hook): batch_size -> queries/s, or nothing.
RAW_BENCH_CMD=${RAW_BENCH_CMD:-"$BUILD/sasrecllm bench-sasrec --bundle $BUNDLE"}
# run_raw N: writes $WORK/raw-N.json (empty when the command fails).
run_raw() {
  if ! $RAW_BENCH_CMD --batch-sizes 1,8,32 --json - >"$WORK/raw-$1.json" 2>"$WORK/raw.err"; then
    echo "serving.sh: raw model bench unavailable ($RAW_BENCH_CMD): $(tail -1 "$WORK/raw.err")" >&2
    : >"$WORK/raw-$1.json"
  fi
}
run_raw 1

# start_server MAX_BATCH_SIZE: starts the server on a free port, sets TARGET.
start_server() {
  local log=$WORK/server-$1.log
  "$SERVER" --bundle "$BUNDLE" --host 127.0.0.1 --port 0 --metrics-port 0 \
    --max-batch-size "$1" --threads "$THREADS" --sasrec-workers "$WORKERS" \
    >"$WORK/access-$1.jsonl" 2>"$log" &
  bench_wait_listening "$log" 1200 60
  grep -h "model threads" "$log" | sed "s/^/server (max batch $1): /" >&2 || true
}

RESULTS=$WORK/results.jsonl
for batch in 32 1; do
  start_server "$batch"
  for conc in 1 8 32 64; do
    echo "batching max=$batch concurrency=$conc ..." >&2
    "$CLIENT" --target "$TARGET" bench --concurrency "$conc" --duration-s "$DURATION" \
      --warmup-s "$WARMUP" --method recommend --history-len "$HISTORY_LEN" --top-k 10 --json - 2>/dev/null |
      python3 -c 'import json,sys; r=json.load(sys.stdin); r["max_batch_size"]=int(sys.argv[1]); print(json.dumps(r))' "$batch" \
      >>"$RESULTS"
  done
  stop_server
  run_raw "after-$batch"
done

python3 - "$RESULTS" "$WORK"/raw-*.json <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
raw = {}
try:
    def walk(x):
        if isinstance(x, dict):
            if "batch_size" in x and "queries_per_s" in x:
                b = int(x["batch_size"])
                raw[b] = max(raw.get(b, 0.0), float(x["queries_per_s"]))
            for v in x.values(): walk(v)
        elif isinstance(x, list):
            for v in x: walk(v)
    for path in sys.argv[2:]:
        text = open(path).read().strip()
        if text: walk(json.loads(text))
except Exception:
    raw = {}
print(f"Recommend, history {rows[0]['history_len'] if rows else '?'}, top 10 (sasrecllm-client bench, closed loop)")
hdr = f"{'batching':>9} {'conc':>5} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7} {'raw q/s':>9} {'of raw':>7}"
print(hdr); print("-" * len(hdr))
for r in rows:
    on = r["max_batch_size"] > 1
    b = min(r["concurrency"], r["max_batch_size"]) if on else 1
    l = r["latency_ms"]
    rq = f"{raw[b]:.1f}" if b in raw else "-"
    share = f"{100 * r['throughput_rps'] / raw[b]:.0f}%" if b in raw else "-"
    print(f"{('on/' + str(r['max_batch_size'])) if on else 'off':>9} {r['concurrency']:>5} "
          f"{r['throughput_rps']:>9.1f} {l['p50']:>8.2f} {l['p90']:>8.2f} {l['p99']:>8.2f} "
          f"{l['max']:>8.2f} {r['errors']:>7} {rq:>9} {share:>7}")
for r in rows:
    if r["errors"]:
        print(f"errors at batching {r['max_batch_size']}, concurrency {r['concurrency']}: {r['errors_by_code']}")
PY
