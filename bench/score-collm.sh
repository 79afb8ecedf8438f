#!/usr/bin/env bash
# AUC through the service = AUC offline: scores every row of a CoLLM split
# with `Score` through a real sasrecllm-server (sasrecllm-client score-collm),
# scores the same rows with the offline tool, and compares AUC and UAUC on
# all / warm / cold rows.
#
#   bench/score-collm.sh BUNDLE [--mode sequential|hybrid] [--split test] [--build-dir build]
#                        [--data ../shared/data/collm-ml1m] [--concurrency 16] [--threads N]
#                        [--hybrid-checkpoint DIR] [--device cpu] [--dtype float32]
#                        [--limit N] [--tolerance 1e-4] [--keep]
#
# Offline counterpart of each mode:
#   sequential  sasrecllm eval-sasrec --pointwise, on the bundle's SASRec
#               (manifest.json "sasrec" as config.json + sasrec.safetensors,
#               assembled in a temporary folder: eval-sasrec reads a pmixer
#               folder, not a bundle);
#   hybrid      sasrecllm eval-hybrid --merge-lora (LoRA merged, as served), on
#               the hybrid checkpoint the bundle was exported from (manifest.json
#               extra.hybrid_checkpoint, or --hybrid-checkpoint).
# Prints a side-by-side table with the differences and PASS when every
# |served - offline| <= --tolerance (and both scored the same rows); exits 1
# otherwise. --limit N compares on the split's first N rows only (both sides read
# the same cut copy). --keep keeps the work folder (served/offline JSON, per-row
# scores, server log). The server is stopped on exit, whatever happens.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
[[ $# -ge 1 && $1 != -* ]] || bench_usage
BUNDLE=$(cd "$1" && pwd)
shift
MODE=sequential
SPLIT=test
BUILD=$ROOT/build
DATA=${SASRECLLM_DATA:-$ROOT/../shared/data}/collm-ml1m
CONCURRENCY=16
THREADS=0  # the server's default
HYBRID_CKPT=
DEVICE=cpu
DTYPE=float32
TOLERANCE=1e-4
LIMIT=0
KEEP=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --mode) MODE=$2; shift 2 ;;
    --split) SPLIT=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --hybrid-checkpoint) HYBRID_CKPT=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --dtype) DTYPE=$2; shift 2 ;;
    --tolerance) TOLERANCE=$2; shift 2 ;;
    --limit) LIMIT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) bench_usage ;;
    *) echo "score-collm.sh: unknown argument '$1'" >&2; bench_usage ;;
  esac
done
BUILD=$(cd "$BUILD" && pwd)
SERVER=$BUILD/sasrecllm-server
CLIENT=$BUILD/sasrecllm-client
TOOL=$BUILD/sasrecllm
die() { echo "score-collm.sh: $*" >&2; exit 1; }
for bin in "$SERVER" "$CLIENT" "$TOOL"; do
  [[ -x $bin ]] || die "$bin is missing (build it first: cmake --build $BUILD)"
done
[[ -f $BUNDLE/manifest.json ]] || die "$BUNDLE is not a bundle (no manifest.json)"
[[ -f $DATA/$SPLIT.tsv ]] || die "$DATA/$SPLIT.tsv is missing (--data, --split)"
case $MODE in
  sequential|hybrid) ;;
  *) die "--mode must be sequential or hybrid, got '$MODE'" ;;
esac
command -v python3 >/dev/null || die "python3 is needed (manifest and JSON handling)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/score-collm.XXXXXX")
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $KEEP == 1 ]]; then echo "work folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --limit: both sides read the same first N rows (items.tsv beside them).
if [[ $LIMIT != 0 ]]; then
  [[ $LIMIT =~ ^[0-9]+$ ]] || die "--limit must be a number of rows, got '$LIMIT'"
  mkdir -p "$WORK/data"
  head -n $((LIMIT + 1)) "$DATA/$SPLIT.tsv" >"$WORK/data/$SPLIT.tsv"
  [[ -f $DATA/items.tsv ]] && ln -s "$(cd "$DATA" && pwd)/items.tsv" "$WORK/data/items.tsv"
  DATA=$WORK/data
fi

# manifest KEY.PATH: a value of the bundle's manifest.json ("" when absent).
manifest() {
  python3 - "$BUNDLE/manifest.json" "$1" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v))
PY
}

now() { date +%s.%N; }
T0=$(now)

# 1. The server, on a free port (--port 0; the port is read from its log).
LOG=$WORK/server.log
"$SERVER" --bundle "$BUNDLE" --host 127.0.0.1 --port 0 --metrics-port 0 \
  --device "$DEVICE" --dtype "$DTYPE" --threads "$THREADS" 2>"$LOG" >"$WORK/access.jsonl" &
SERVER_PID=$!
PORT=
for _ in $(seq 3000); do  # up to 5 minutes: a large LLM loads slowly
  PORT=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$LOG" | head -1)
  [[ -n $PORT ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; die "the server exited while starting"; }
  sleep 0.1
done
[[ -n $PORT ]] || { cat "$LOG" >&2; die "the server did not print 'listening on HOST:PORT'"; }
TARGET=127.0.0.1:$PORT
"$CLIENT" --target "$TARGET" health --wait-s 300 >/dev/null ||
  { cat "$LOG" >&2; die "the server at $TARGET is not SERVING"; }
T1=$(now)
echo "server SERVING at $TARGET ($(manifest model_version))" >&2

# 2. Through the service.
"$CLIENT" --target "$TARGET" --timeout-ms 600000 score-collm --data "$DATA" --split "$SPLIT" \
  --mode "$MODE" --concurrency "$CONCURRENCY" --json "$WORK/served.json" \
  --scores "$WORK/served_scores.tsv" >"$WORK/served.txt" ||
  { tail -5 "$LOG" >&2; die "sasrecllm-client score-collm failed (server log above)"; }
T2=$(now)
kill -TERM "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true  # its CPU back for the offline run
SERVER_PID=

# 3. Offline, on the same rows.
if [[ $MODE == sequential ]]; then
  SASREC=$WORK/sasrec
  mkdir -p "$SASREC"
  manifest sasrec >"$SASREC/config.json"
  [[ -s $SASREC/config.json && $(cat "$SASREC/config.json") != "" ]] ||
    die "$BUNDLE/manifest.json has no \"sasrec\" config"
  ln -s "$BUNDLE/sasrec.safetensors" "$SASREC/model.safetensors"
  OFFLINE=("$TOOL" eval-sasrec --pointwise --data "$DATA" --split "$SPLIT" --model "$SASREC"
           --json "$WORK/offline.json")
  if [[ $THREADS != 0 ]]; then OFFLINE+=(--threads "$THREADS"); fi
else
  [[ -n $HYBRID_CKPT ]] || HYBRID_CKPT=$(manifest extra.hybrid_checkpoint)
  [[ -n $HYBRID_CKPT && -f $HYBRID_CKPT/hybrid.json ]] ||
    die "no hybrid checkpoint for eval-hybrid: manifest extra.hybrid_checkpoint is" \
        "'${HYBRID_CKPT}'; pass --hybrid-checkpoint DIR (train-hybrid's OUT/final)"
  OFFLINE=("$TOOL" eval-hybrid --model "$HYBRID_CKPT" --data "$DATA" --split "$SPLIT"
           --merge-lora --device "$DEVICE" --dtype "$DTYPE" --json "$WORK/offline.json")
  if [[ $THREADS != 0 ]]; then OFFLINE+=(--threads "$THREADS"); fi
fi
echo "offline: ${OFFLINE[*]}" >&2
"${OFFLINE[@]}" >"$WORK/offline.txt" 2>"$WORK/offline.err" ||
  { cat "$WORK/offline.err" >&2; die "the offline evaluation failed"; }
T3=$(now)

# 4. Side by side.
python3 - "$WORK/served.json" "$WORK/offline.json" "$TOLERANCE" "$MODE" "$SPLIT" \
  "$T0" "$T1" "$T2" "$T3" <<'PY'
import json, math, sys
served, offline = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
tol, mode, split = float(sys.argv[3]), sys.argv[4], sys.argv[5]
t0, t1, t2, t3 = (float(x) for x in sys.argv[6:10])
ok = True
problems = []
print(f"CoLLM {split} split, mode {mode}: served ({served.get('mode')}, "
      f"{served.get('model_version')}) vs offline ({'eval-sasrec --pointwise' if mode == 'sequential' else 'eval-hybrid --merge-lora'})")
hdr = f"{'subset':<6} {'metric':<6} {'served':>10} {'offline':>10} {'diff':>11}  over"
print(hdr)
print("-" * len(hdr))
worst = 0.0
for subset in ("all", "warm", "cold"):
    s, o = served.get(subset, {}), offline.get(subset, {})
    for key, name in (("auc", "AUC"), ("uauc", "UAUC")):
        a, b = s.get(key), o.get(key)
        if a is None or b is None:  # NaN (a class absent) on both sides is a match
            same = a is None and b is None
            diff_text = "both n/a" if same else "n/a"
            if not same:
                ok = False
                problems.append(f"{subset} {name}: served {a}, offline {b}")
            a_text = "n/a" if a is None else f"{a:.6f}"
            b_text = "n/a" if b is None else f"{b:.6f}"
        else:
            d = a - b
            worst = max(worst, abs(d))
            if not abs(d) <= tol:
                ok = False
                problems.append(f"{subset} {name}: |diff| {abs(d):.2e} > {tol:g}")
            a_text, b_text, diff_text = f"{a:.6f}", f"{b:.6f}", f"{d:+.2e}"
        count = f"{s.get('rows')} rows" if key == "auc" else f"{s.get('uauc_users')} users"
        print(f"{subset:<6} {name:<6} {a_text:>10} {b_text:>10} {diff_text:>11}  {count}")
    for key in ("rows", "uauc_users"):
        if s.get(key) != o.get(key):
            ok = False
            problems.append(f"{subset} {key}: served {s.get(key)}, offline {o.get(key)}")
if mode == "sequential" and served.get("mode") != "sequential":
    ok = False
    problems.append(f"the server ran mode {served.get('mode')}")
if served.get("unknown_items"):
    problems.append(f"{served['unknown_items']} row(s) with an item unknown to the server were not scored")
print(f"max |diff| {worst:.2e} (tolerance {tol:g}); served {served.get('rows_per_s', 0):.1f} rows/s "
      f"at concurrency {served.get('concurrency')}, {served.get('truncated_histories', 0)} histories "
      f"cut to max_history")
print(f"time: server start {t1 - t0:.1f} s, served scoring {t2 - t1:.1f} s, "
      f"offline {t3 - t2:.1f} s, total {t3 - t0:.1f} s")
for p in problems:
    print(f"  - {p}")
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
