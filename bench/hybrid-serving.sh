#!/usr/bin/env bash
# Hybrid serving benchmark: Recommend in HYBRID mode (SASRec retrieves 20,
# the LLM re-ranks them, top 10 returned; history 50) through the real server
# and the same load generator (sasrecllm-client bench, closed loop), for
# several server set-ups measured one after another in this one run:
#
#   cpp            the C++ server as deployed: LLM batching across requests
#                  (--llm-max-batch-size 8), prefix sharing, and the LLM
#                  pass size tuned at warm-up (--llm-pass-tuning; the
#                  server's choice is printed)
#   cpp-untuned    the same with --llm-pass-tuning=false: passes up to
#                  --max-batch-tokens (8192) whatever the device
#   cpp-no-prompt-cache
#                  the same with --llm-prompt-cache=false: every request
#                  tokenizes its candidates' titles and its prompt again, and
#                  a user without history has the template's prefix run again
#   cpp-no-prefix  the same with --prefix-sharing=false (every candidate's
#                  whole prompt is computed)
#   cpp-no-batch   the same with no cross-request batching in either stage
#                  (--max-batch-size 1 --llm-max-batch-size 1)
#   python         bench/python_baseline/server.py (thread pool, one request
#                  per thread, each request's 20 prompts as one padded batch)
#
#   bench/hybrid-serving.sh BUILD_DIR BUNDLE [--duration-s 20] [--warmup-s 5]
#       [--setups "cpp:1,8,32 cpp-no-prefix:8 cpp-no-batch:8 python:1,8"]
#       [--threads N (torch threads of every server; default: theirs, cores - 1)]
#       [--timeout-ms 600000] [--history-len 50 (0: users without history)]
#       [--json OUT.jsonl]
#
# Each setup:concurrencies pair starts that server once and runs the load
# generator at each concurrency. Only requests that finish inside the
# measured window count, so the window must be longer than a request's
# latency (a slow setup at high concurrency completes few). Prints one row per
# (setup, concurrency) and the ratios of cpp against the others at equal
# concurrency. The client and the server share the machine.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ $# -ge 2 ]] || bench_usage
BUILD=$(cd "$1" && pwd)
BUNDLE=$(cd "$2" && pwd)
shift 2
DURATION=20
WARMUP=5
SETUPS="cpp:1,8,32 cpp-no-prefix:8 cpp-no-batch:8 python:1,8"
THREADS=0
TIMEOUT_MS=600000
HISTORY_LEN=50
JSON_OUT=
while [[ $# -gt 0 ]]; do
  case $1 in
    --duration-s) DURATION=$2; shift 2 ;;
    --warmup-s) WARMUP=$2; shift 2 ;;
    --setups) SETUPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --timeout-ms) TIMEOUT_MS=$2; shift 2 ;;
    --history-len) HISTORY_LEN=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    *) bench_usage ;;
  esac
done
SERVER=$BUILD/sasrecllm-server
CLIENT=$BUILD/sasrecllm-client
PYTHON=${PYTHON:-/usr/bin/python3}  # Debian's, with python3-torch and python3-grpcio
if [[ " $SETUPS" == *" python:"* ]] && ! "$PYTHON" -c 'import torch, grpc, numpy' 2>/dev/null; then
  echo "hybrid-serving.sh: the python setup needs PyTorch, gRPC and NumPy for $PYTHON:" \
    "run SETUP_BENCH_TOOLS=1 scripts/setup.sh --no-build (or leave python out of --setups)" >&2
  exit 1
fi
for bin in "$SERVER" "$CLIENT"; do
  [[ -x $bin ]] || { echo "hybrid-serving.sh: $bin is missing (build it first)" >&2; exit 1; }
done
grep -q '"llm"' "$BUNDLE/manifest.json" 2>/dev/null ||
  { echo "hybrid-serving.sh: $BUNDLE is not a hybrid bundle (no llm component)" >&2; exit 1; }

BENCH_NAME=hybrid-serving.sh
bench_begin

# start_server SETUP: starts that server on a free port, sets TARGET.
start_server() {
  local log=$WORK/server-$1.log
  local cpp=("$SERVER" --bundle "$BUNDLE" --host 127.0.0.1 --port 0 --metrics-port 0
             --threads "$THREADS")
  case $1 in
    cpp) "${cpp[@]}" >"$log.access" 2>"$log" & ;;
    cpp-untuned) "${cpp[@]}" --llm-pass-tuning=false >"$log.access" 2>"$log" & ;;
    cpp-no-prompt-cache) "${cpp[@]}" --llm-prompt-cache=false >"$log.access" 2>"$log" & ;;
    cpp-no-prefix) "${cpp[@]}" --prefix-sharing=false >"$log.access" 2>"$log" & ;;
    cpp-no-batch) "${cpp[@]}" --max-batch-size 1 --llm-max-batch-size 1 >"$log.access" 2>"$log" & ;;
    python) "$PYTHON" "$ROOT/bench/python_baseline/server.py" --bundle "$BUNDLE" \
              --host 127.0.0.1 --port 0 --torch-threads "$THREADS" 2>"$log" & ;;
    *) echo "hybrid-serving.sh: unknown setup $1" >&2; exit 2 ;;
  esac
  bench_wait_listening "$log" 3000 120
  grep -h "LLM pass tuning" "$log" | sed "s/^/$1: /" >&2 || true
}

RESULTS=$WORK/results.jsonl
for pair in $SETUPS; do
  setup=${pair%%:*}
  start_server "$setup"
  for conc in ${pair#*:}; do
    conc=${conc//,/ }
    for c in $conc; do
      echo "$setup concurrency=$c ($((WARMUP + DURATION)) s) ..." >&2
      "$CLIENT" --target "$TARGET" --timeout-ms "$TIMEOUT_MS" bench --concurrency "$c" \
        --duration-s "$DURATION" --warmup-s "$WARMUP" --method recommend --mode hybrid \
        --history-len "$HISTORY_LEN" --top-k 10 --json - 2>/dev/null |
        "$PYTHON" -c 'import json,sys; r=json.load(sys.stdin); r["setup"]=sys.argv[1]; print(json.dumps(r))' \
          "$setup" >>"$RESULTS"
    done
  done
  stop_server
done
[[ -n $JSON_OUT ]] && cp "$RESULTS" "$JSON_OUT"

"$PYTHON" - "$RESULTS" "$BUNDLE" "$HISTORY_LEN" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"Hybrid Recommend (retrieve 20, re-rank by the LLM, top 10; history {sys.argv[3]}), bundle {sys.argv[2]}")
hdr = f"{'setup':>14} {'conc':>5} {'done':>6} {'req/s':>8} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}"
print(hdr); print("-" * len(hdr))
by = {}
for r in rows:
    l = r["latency_ms"]
    by[(r["setup"], r["concurrency"])] = r
    print(f"{r['setup']:>14} {r['concurrency']:>5} {r.get('ok', r.get('completed', 0)):>6} "
          f"{r['throughput_rps']:>8.2f} {l['p50']:>9.1f} {l['p99']:>9.1f} {r['errors']:>7}")
print()
for (setup, conc), r in sorted(by.items()):
    if setup == "cpp": continue
    base = by.get(("cpp", conc))
    if not base or not r["throughput_rps"] or not r["latency_ms"]["p99"]: continue
    print(f"cpp vs {setup} at concurrency {conc}: throughput x{base['throughput_rps'] / r['throughput_rps']:.2f}, "
          f"p99 {base['latency_ms']['p99']:.0f} vs {r['latency_ms']['p99']:.0f} ms")
for r in rows:
    if r["errors"]:
        print(f"errors in {r['setup']} at concurrency {r['concurrency']}: {r['errors_by_code']}")
PY
