#!/usr/bin/env bash
# SASRec training speed against the usual Python trainer, side by side in one
# run: `sasrecllm train-sasrec` and bench/python_baseline/train_sasrec.py
# (pmixer/SASRec.pytorch's model, sampler, loss and optimizer) train the same
# model on the same data with the same hyper-parameters for N epochs at the
# same torch thread count, one after the other (ORDER=cpp-first or
# python-first); then `sasrecllm eval-sasrec` scores both checkpoints on the
# test split (all users, 100 negatives), so accuracy per epoch is compared by
# one evaluator.
#
#   bench/train-sasrec-speed.sh BUILD_DIR [--data Video.txt] [--epochs 5] [--threads 2]
#                               [--order cpp-first|python-first] [--json OUT.json]
#
# Prints seconds per epoch (mean over epochs 2..N: the first warms up), sequences/s,
# the ratio C++/Python, and test HR@10 / NDCG@10 of both. Needs python3-torch
# (SETUP_BENCH_TOOLS=1 scripts/setup.sh --no-build).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $# -ge 1 && $1 != -* ]] || bench_usage
BUILD=$(cd "$1" && pwd)
shift
SHARED=${SASRECLLM_SHARED:-$ROOT/../shared}
DATA=$SHARED/data/amazon-games/Video.txt
EPOCHS=5
THREADS=2
ORDER=cpp-first
JSON_OUT=
while [[ $# -gt 0 ]]; do
  case $1 in
    --data) DATA=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --order) ORDER=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    *) bench_usage ;;
  esac
done
CLI=$BUILD/sasrecllm
PYTHON=${PYTHON:-/usr/bin/python3}
[[ -x $CLI ]] || { echo "train-sasrec-speed.sh: $CLI is missing (build it first)" >&2; exit 1; }
[[ -f $DATA ]] || { echo "train-sasrec-speed.sh: no data at $DATA" >&2; exit 1; }
"$PYTHON" -c 'import torch, numpy' 2>/dev/null || {
  echo "train-sasrec-speed.sh: $PYTHON lacks PyTorch or NumPy:" \
    "run SETUP_BENCH_TOOLS=1 scripts/setup.sh --no-build" >&2; exit 1; }
(( EPOCHS >= 2 )) || { echo "train-sasrec-speed.sh: --epochs must be >= 2" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=PASSIVE

run_cpp() {
  echo "C++: sasrecllm train-sasrec, $EPOCHS epochs, $THREADS threads ..." >&2
  "$CLI" train-sasrec --data "$DATA" --out "$WORK/cpp" --epochs "$EPOCHS" --eval-every 0 \
    --eval-users 1 --threads "$THREADS" > "$WORK/cpp.log" 2>&1 ||
    { tail -20 "$WORK/cpp.log" >&2; exit 1; }
}
run_python() {
  echo "Python: train_sasrec.py, $EPOCHS epochs, $THREADS threads ..." >&2
  "$PYTHON" "$ROOT/bench/python_baseline/train_sasrec.py" --data "$DATA" --out "$WORK/python" \
    --epochs "$EPOCHS" --threads "$THREADS" > "$WORK/python.log" 2>&1 ||
    { tail -20 "$WORK/python.log" >&2; exit 1; }
}
case $ORDER in
  cpp-first) run_cpp; run_python ;;
  python-first) run_python; run_cpp ;;
  *) echo "train-sasrec-speed.sh: --order must be cpp-first or python-first" >&2; exit 2 ;;
esac
for who in cpp python; do
  "$CLI" eval-sasrec --data "$DATA" --model "$WORK/$who" --split test --threads "$THREADS" \
    --json "$WORK/$who-test.json" > /dev/null
done

"$PYTHON" - "$WORK" "$EPOCHS" "$THREADS" "$ORDER" "$JSON_OUT" <<'PY'
import json, os, sys
work, epochs, threads, order, json_out = sys.argv[1:]
def speed(log, key):
    later = log["epochs"][1:]  # epoch 1 warms up (allocator, sampler start)
    secs = sum(e["seconds"] for e in later) / len(later)
    return secs, sum(e[key] for e in later) / len(later)
cpp = speed(json.load(open(os.path.join(work, "cpp", "train_log.json"))), "seq_per_s")
py = speed(json.load(open(os.path.join(work, "python", "train_log.json"))), "sequences_per_s")
test = {w: json.load(open(os.path.join(work, w + "-test.json"))) for w in ("cpp", "python")}
print(f"SASRec training, {epochs} epochs, {threads} torch threads, run {order}")
hdr = f"{'trainer':>8} {'s/epoch':>8} {'sequences/s':>12} {'test HR@10':>11} {'test NDCG@10':>13}"
print(hdr); print("-" * len(hdr))
rows = {"cpp": cpp, "python": py}
for who in ("cpp", "python"):
    t = test[who]
    print(f"{who:>8} {rows[who][0]:>8.2f} {rows[who][1]:>12.0f} {t['hr@10']:>11.4f} {t['ndcg@10']:>13.4f}")
ratio = cpp[1] / py[1]
print(f"C++ / Python throughput: {ratio:.2f}x")
if json_out:
    json.dump({"epochs": int(epochs), "threads": int(threads), "order": order,
               "cpp": {"seconds_per_epoch": cpp[0], "sequences_per_s": cpp[1], "test": test["cpp"]},
               "python": {"seconds_per_epoch": py[0], "sequences_per_s": py[1], "test": test["python"]},
               "ratio": ratio}, open(json_out, "w"), indent=1)
PY
