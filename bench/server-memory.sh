#!/usr/bin/env bash
# The server's resident memory per bundle: for each BUNDLE (optionally
# BUNDLE:DTYPE, the server's --dtype; default float32) starts
# sasrecllm-server on it, reads the bundle's size on disk, the RSS the server
# exports (process_resident_memory_bytes on /metrics, a real scrape) once it
# is ready, then again after --duration-s of Recommend calls (closed loop,
# concurrency 1, mode auto, history 50), and its peak (VmHWM), and stops it.
#
#   bench/server-memory.sh BUILD_DIR BUNDLE[:DTYPE] [BUNDLE[:DTYPE] ...]
#       [--duration-s 10] [--threads N] [--json OUT.jsonl]
#
# One server at a time, so each figure is that bundle's alone. RSS includes
# what every server process holds whatever the bundle (libtorch, gRPC, the
# allocator's arenas): the first row, a SASRec-only bundle, shows that floor.
# Memory-mapped LLM weights used as stored (same dtype, CPU) count in RSS as
# file-backed pages once read; the "file-backed" column says how much.
set -euo pipefail
BENCH_NAME=server-memory
source "$(dirname "$0")/lib.sh"
[[ $# -ge 2 && $1 != -* ]] || bench_usage
BUILD=$(cd "$1" && pwd)
shift
SPECS=()
DURATION=10
THREADS=0
JSON_OUT=
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration-s) DURATION=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    -*) bench_usage ;;
    *) SPECS+=("$1"); shift ;;
  esac
done
SERVER=$BUILD/sasrecllm-server
CLIENT=$BUILD/sasrecllm-client
for bin in "$SERVER" "$CLIENT"; do
  [[ -x $bin ]] || { echo "server-memory: no $bin (build first)" >&2; exit 1; }
done
THREAD_FLAGS=()
[[ $THREADS -gt 0 ]] && THREAD_FLAGS=(--threads "$THREADS")

bench_begin
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# scrape_rss PORT: the server's process_resident_memory_bytes, in MB.
scrape_rss() {
  python3 - "$1" <<'EOF'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=10).read().decode()
for line in text.splitlines():
    if line.startswith("process_resident_memory_bytes "):
        print(f"{float(line.split()[1]) / 1e6:.0f}")
        break
else:
    sys.exit("no process_resident_memory_bytes in /metrics")
EOF
}
status_mb() { awk -v key="$2:" '$1 == key { printf "%.0f", $2 * 1.024 / 1000 }' "/proc/$1/status"; }

RESULTS=$WORK/results.jsonl
for spec in "${SPECS[@]}"; do
  bundle=${spec%%:*}
  dtype=float32
  [[ $spec == *:* ]] && dtype=${spec##*:}
  bundle=$(cd "$bundle" && pwd)
  disk_mb=$(du -sbL "$bundle" | awk '{ printf "%.0f", $1 / 1e6 }')
  metrics_port=$(free_port)
  log=$WORK/server.log
  echo "server-memory: $bundle in $dtype ..." >&2
  "$SERVER" --bundle "$bundle" --host 127.0.0.1 --port 0 --metrics-port "$metrics_port" \
    --dtype "$dtype" "${THREAD_FLAGS[@]}" >"$WORK/access.jsonl" 2>"$log" &
  bench_wait_listening "$log" 6000 600
  ready_mb=$(scrape_rss "$metrics_port")
  "$CLIENT" --target "$TARGET" bench --concurrency 1 --duration-s "$DURATION" --warmup-s 0 \
    --method recommend --history-len 50 --top-k 10 --json "$WORK/bench.json" >/dev/null 2>&1
  after_mb=$(scrape_rss "$metrics_port")
  file_mb=$(status_mb "$SERVER_PID" RssFile)
  peak_mb=$(status_mb "$SERVER_PID" VmHWM)
  stop_server
  python3 - "$bundle" "$dtype" "$disk_mb" "$ready_mb" "$after_mb" "$file_mb" "$peak_mb" \
    "$WORK/bench.json" >>"$RESULTS" <<'EOF'
import json, sys
b = json.load(open(sys.argv[8]))
if b["errors"] or not b["ok"]:
    sys.exit(f"server-memory: {b['ok']} calls answered, {b['errors']} failed: {b['errors_by_code']}")
print(json.dumps({"bundle": sys.argv[1], "dtype": sys.argv[2], "bundle_mb": int(sys.argv[3]),
                  "rss_ready_mb": int(sys.argv[4]), "rss_after_mb": int(sys.argv[5]),
                  "rss_file_mb": int(sys.argv[6]), "peak_rss_mb": int(sys.argv[7]),
                  "requests": b["ok"]}))
EOF
done

python3 - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| bundle | dtype | on disk MB | RSS ready MB | RSS after calls MB | of which file-backed | peak MB | calls |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['bundle']} | {r['dtype']} | {r['bundle_mb']:,} | {r['rss_ready_mb']:,} | "
          f"{r['rss_after_mb']:,} | {r['rss_file_mb']:,} | {r['peak_rss_mb']:,} | {r['requests']} |")
EOF
[[ -z $JSON_OUT ]] || cp "$RESULTS" "$JSON_OUT"
