#!/usr/bin/env bash
# Overload: the real server under an open-loop load at a multiple of its
# measured capacity. First a closed-loop run (concurrency 32) measures the
# capacity C (OK req/s); then `bench --rate` sends FACTOR x C requests per
# second for DURATION seconds, while the server's RSS is sampled every second
# from /proc. A server that sheds load well stays up, keeps its RSS flat,
# answers the excess RESOURCE_EXHAUSTED at once (error latency in ms, not the
# deadline) and keeps the accepted requests' p99 near the queue's bound
# (max_queue_size / C plus one batch), or refuses at the door what would miss
# its deadline (--timeout-ms) behind the work queued ahead.
#
# On a machine of 2+ CPUs the server is pinned to --server-cpus (default: CPU
# 0) and the client to --client-cpus (default: the others), so that the
# client can send 2x what the server can do: a client sharing the server's
# CPUs falls behind its schedule, and then it, not the server, sets the pace
# (the "send lag" column says how late its sends were; "-" turns pinning off).
# The open-loop load goes over --connections HTTP/2 connections (default 8), as
# from several clients: the server takes at most --max-concurrent-streams
# calls per connection, so over one connection the excess would wait in the
# client and never reach the server's admission.
#
#   bench/overload.sh BUILD_DIR BUNDLE [--factor 2] [--duration-s 60] [--timeout-ms 10000]
#                     [--history-len 20] [--connections 8] [--server-cpus 0] [--client-cpus 1-N]
#                     [--server-flag FLAG]...
#
# Prints the capacity run and the overload run (sent and OK req/s, the
# client's send lag, p50/p99 of OK calls, the rejected share, errors by code
# and how fast they were answered, RSS at start, peak and end), and exits 1
# when the server died or exited non-zero on SIGTERM.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ $# -ge 2 ]] || bench_usage
BUILD=$(cd "$1" && pwd)
BUNDLE=$2
shift 2
FACTOR=2
DURATION=60
TIMEOUT_MS=10000
HISTORY_LEN=20
CONNECTIONS=8
SERVER_FLAGS=()
bench_pin_defaults
while [[ $# -gt 0 ]]; do
  case $1 in
    --server-cpus) SERVER_CPUS=$2; shift 2 ;;
    --client-cpus) CLIENT_CPUS=$2; shift 2 ;;
    --factor) FACTOR=$2; shift 2 ;;
    --duration-s) DURATION=$2; shift 2 ;;
    --timeout-ms) TIMEOUT_MS=$2; shift 2 ;;
    --history-len) HISTORY_LEN=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --server-flag) SERVER_FLAGS+=("$2"); shift 2 ;;
    *) bench_usage ;;
  esac
done
SERVER=$BUILD/sasrecllm-server
CLIENT=$BUILD/sasrecllm-client
BENCH_NAME=overload.sh
bench_begin

bench_pin
"${SERVER_PIN[@]}" "$SERVER" --bundle "$BUNDLE" --host 127.0.0.1 --port 0 --metrics-port 0 \
  "${SERVER_FLAGS[@]}" >"$WORK/access.jsonl" 2>"$WORK/server.log" &
bench_wait_listening "$WORK/server.log" 3000 300
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }

echo "capacity: closed loop, concurrency 32, 15 s ..." >&2
"${CLIENT_PIN[@]}" "$CLIENT" --target "$TARGET" --timeout-ms "$TIMEOUT_MS" bench --concurrency 32 --warmup-s 3 \
  --duration-s 15 --history-len "$HISTORY_LEN" --json "$WORK/capacity.json" >/dev/null 2>&1
CAPACITY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["throughput_rps"])' "$WORK/capacity.json")
RATE=$(python3 -c "print(max(1.0, round($CAPACITY * $FACTOR, 1)))")
echo "overload: open loop at $RATE req/s (${FACTOR}x $CAPACITY) for $DURATION s ..." >&2

RSS_START=$(rss_kb)
: >"$WORK/rss.txt"
( while kill -0 "$SERVER_PID" 2>/dev/null; do rss_kb >>"$WORK/rss.txt"; sleep 1; done ) &
SAMPLER=$!
"${CLIENT_PIN[@]}" "$CLIENT" --target "$TARGET" --timeout-ms "$TIMEOUT_MS" bench --rate "$RATE" --connections "$CONNECTIONS" --warmup-s 2 \
  --duration-s "$DURATION" --history-len "$HISTORY_LEN" --json "$WORK/overload.json" >/dev/null 2>&1 || true
ALIVE=1
kill -0 "$SERVER_PID" 2>/dev/null || ALIVE=0
RSS_END=$(rss_kb)
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
[[ $ALIVE == 1 ]] && stop_server

python3 - "$WORK" "$RSS_START" "$RSS_END" "$ALIVE" "$(basename "$BUNDLE")" "$TIMEOUT_MS" <<'PY'
import json, os, sys
work, rss_start, rss_end, alive, bundle = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
timeout_ms = sys.argv[6]
cap = json.load(open(os.path.join(work, "capacity.json")))
over = json.load(open(os.path.join(work, "overload.json")))
rss = [int(x) for x in open(os.path.join(work, "rss.txt")).read().split() if x.strip()]
def row(name, r):
    l, e = r["latency_ms"], r.get("error_latency_ms", {})
    lag = r.get("send_lag_ms", {}).get("p99")
    requests = r["ok"] + r["errors"]
    rejected = r["errors_by_code"].get("RESOURCE_EXHAUSTED", 0)
    sent = r.get("sent_rps")
    print(f"{name:>9} {sent if sent is not None else '-':>9} {r['throughput_rps']:>9.1f} "
          f"{lag if lag is not None else '-':>9} {l['p50']:>9.2f} {l['p99']:>9.2f} {r['ok']:>8} "
          f"{100.0 * rejected / max(1, requests):>9.1f} {e.get('p50', 0):>9.2f} "
          f"{e.get('p99', 0):>9.2f}  {r['errors_by_code']}")
print(f"bundle {bundle}: history {cap['history_len']}, Recommend, deadline {timeout_ms} ms")
hdr = (f"{'run':>9} {'sent/s':>9} {'ok req/s':>9} {'lag p99':>9} {'p50 ms':>9} {'p99 ms':>9} "
       f"{'ok':>8} {'rejected%':>9} {'err p50':>9} {'err p99':>9}  errors by code")
print(hdr); print("-" * len(hdr))
row("capacity", cap)
row("overload", over)
print(f"server RSS MB: start {rss_start/1024:.0f}, peak {max(rss or [0])/1024:.0f}, end {rss_end/1024:.0f}; "
      f"alive after the run: {'yes' if alive == '1' else 'NO'}")
sys.exit(0 if alive == "1" else 1)
PY
