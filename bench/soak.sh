#!/usr/bin/env bash
# Soak: the real server under a steady open-loop load at a share of its
# measured capacity for a long time, with valid and invalid calls mixed. First
# a closed-loop run (concurrency 32, 15 s) measures the capacity C; then
# `bench --rate LOAD x C` runs in back-to-back segments of SEGMENT_S seconds
# for DURATION_S in all, every INVALID_EVERY-th request carrying an empty
# history id (the server must refuse those INVALID_ARGUMENT). After each
# segment the server's RSS is read from /proc.
#
#   bench/soak.sh BUILD_DIR BUNDLE [--duration-s 1800] [--load 0.7] [--segment-s 60]
#                 [--invalid-every 10] [--history-len 20] [--timeout-ms 10000]
#                 [--server-cpus 0] [--client-cpus 1-N] [--server-flag FLAG]...
#
# Pinning as in bench/overload.sh ("-": off). Prints one row per segment (OK
# req/s, p50/p99, expected and unexpected errors, RSS), then the RSS growth
# (last segment against the first), the p99 drift (mean of the last 5
# segments against the first 5) and the unexpected errors in all. Exits 1 when
# any reply was unexpected (a valid call not OK, an invalid one not
# INVALID_ARGUMENT) or the server died or exited non-zero on SIGTERM.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ $# -ge 2 ]] || bench_usage
BUILD=$(cd "$1" && pwd)
BUNDLE=$2
shift 2
DURATION=1800
LOAD=0.7
SEGMENT=60
INVALID_EVERY=10
HISTORY_LEN=20
TIMEOUT_MS=10000
SERVER_FLAGS=()
bench_pin_defaults
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration-s) DURATION=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    --segment-s) SEGMENT=$2; shift 2 ;;
    --invalid-every) INVALID_EVERY=$2; shift 2 ;;
    --history-len) HISTORY_LEN=$2; shift 2 ;;
    --timeout-ms) TIMEOUT_MS=$2; shift 2 ;;
    --server-cpus) SERVER_CPUS=$2; shift 2 ;;
    --client-cpus) CLIENT_CPUS=$2; shift 2 ;;
    --server-flag) SERVER_FLAGS+=("$2"); shift 2 ;;
    *) bench_usage ;;
  esac
done
SERVER=$BUILD/sasrecllm-server
CLIENT=$BUILD/sasrecllm-client
BENCH_NAME=soak.sh
bench_begin

bench_pin
"${SERVER_PIN[@]}" "$SERVER" --bundle "$BUNDLE" --host 127.0.0.1 --port 0 --metrics-port 0 \
  "${SERVER_FLAGS[@]}" >"$WORK/access.jsonl" 2>"$WORK/server.log" &
bench_wait_listening "$WORK/server.log" 3000 300
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }

echo "capacity: closed loop, concurrency 32, 15 s ..." >&2
"${CLIENT_PIN[@]}" "$CLIENT" --target "$TARGET" --timeout-ms "$TIMEOUT_MS" bench --concurrency 32 \
  --warmup-s 3 --duration-s 15 --history-len "$HISTORY_LEN" --json "$WORK/capacity.json" \
  >/dev/null 2>&1
CAPACITY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["throughput_rps"])' "$WORK/capacity.json")
RATE=$(python3 -c "print(max(1.0, round($CAPACITY * $LOAD, 1)))")
SEGMENTS=$(( (DURATION + SEGMENT - 1) / SEGMENT ))
echo "soak: open loop at $RATE req/s (${LOAD}x $CAPACITY), $SEGMENTS segments of $SEGMENT s," \
     "every ${INVALID_EVERY}th call invalid ..." >&2
echo "$(rss_kb)" >"$WORK/rss-start.txt"
for i in $(seq 1 "$SEGMENTS"); do
  "${CLIENT_PIN[@]}" "$CLIENT" --target "$TARGET" --timeout-ms "$TIMEOUT_MS" bench --rate "$RATE" \
    --warmup-s 0 --duration-s "$SEGMENT" --history-len "$HISTORY_LEN" \
    --invalid-every "$INVALID_EVERY" --seed "$i" --json "$WORK/segment-$i.json" >/dev/null 2>&1 || true
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "soak.sh: the server died in segment $i" >&2; break; }
  echo "$(rss_kb)" >"$WORK/rss-$i.txt"
  echo "  segment $i/$SEGMENTS done, RSS $(( $(rss_kb) / 1024 )) MB" >&2
done
ALIVE=1
kill -0 "$SERVER_PID" 2>/dev/null || ALIVE=0
[[ $ALIVE == 1 ]] && stop_server

python3 - "$WORK" "$SEGMENTS" "$ALIVE" "$(basename "$BUNDLE")" "$RATE" "$CAPACITY" <<'PY'
import json, os, sys
work, segments, alive, bundle, rate, capacity = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
rows, unexpected = [], {}
rss_start = int(open(os.path.join(work, "rss-start.txt")).read() or 0)
for i in range(1, segments + 1):
    path = os.path.join(work, f"segment-{i}.json")
    if not os.path.exists(path):
        break
    r = json.load(open(path))
    rss = int(open(os.path.join(work, f"rss-{i}.txt")).read() or 0) if os.path.exists(os.path.join(work, f"rss-{i}.txt")) else 0
    for code, n in r.get("unexpected_errors_by_code", {}).items():
        unexpected[code] = unexpected.get(code, 0) + n
    rows.append((i, r, rss))
print(f"bundle {bundle}: Recommend at {rate} req/s ({capacity} req/s capacity), "
      f"history {rows[0][1]['history_len'] if rows else '?'}")
hdr = f"{'segment':>7} {'ok req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'expected':>9} {'unexpected':>10} {'RSS MB':>7}"
print(hdr); print("-" * len(hdr))
for i, r, rss in rows:
    print(f"{i:>7} {r['throughput_rps']:>9.1f} {r['latency_ms']['p50']:>8.2f} {r['latency_ms']['p99']:>8.2f} "
          f"{r['expected_errors']:>9} {sum(r['unexpected_errors_by_code'].values()):>10} {rss / 1024:>7.0f}")
if rows:
    first = [r['latency_ms']['p99'] for _, r, _ in rows[:5]]
    last = [r['latency_ms']['p99'] for _, r, _ in rows[-5:]]
    p99_first, p99_last = sum(first) / len(first), sum(last) / len(last)
    calls = sum(r['ok'] + r['errors'] for _, r, _ in rows)
    expected = sum(r['expected_errors'] for _, r, _ in rows)
    print(f"calls {calls}: {expected} invalid ones refused INVALID_ARGUMENT as expected; "
          f"unexpected replies: {unexpected or 'none'}")
    print(f"RSS MB: before the soak {rss_start / 1024:.0f}, after segment 1 {rows[0][2] / 1024:.0f}, "
          f"at the end {rows[-1][2] / 1024:.0f} (growth after segment 1: "
          f"{(rows[-1][2] - rows[0][2]) / 1024:+.1f} MB)")
    print(f"p99 drift: first 5 segments {p99_first:.2f} ms, last 5 {p99_last:.2f} ms "
          f"({(p99_last / p99_first - 1) * 100 if p99_first else 0:+.1f}%)")
print(f"server alive after the soak: {'yes' if alive == '1' else 'NO'}")
sys.exit(0 if alive == "1" and not unexpected and len(rows) == segments else 1)
PY
