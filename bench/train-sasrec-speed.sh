#!/usr/bin/env bash
# SASRec training speed against the usual Python trainer, side by side in one
# run: `sasrecllm train-sasrec` and bench/python_baseline/train_sasrec.py
# (pmixer/SASRec.pytorch's model, sampler, loss and optimizer) train the same
# model on the same data with the same hyper-parameters for N epochs at the
# same torch thread count, one after the other (ORDER=cpp-first or
# python-first), once per seed; then `sasrecllm eval-sasrec` scores every
# checkpoint on the test split (all users, 100 negatives), so accuracy per
# epoch is compared by one evaluator.
#
#   bench/train-sasrec-speed.sh BUILD_DIR [--data Video.txt] [--epochs 5] [--threads 2]
#                               [--order cpp-first|python-first] [--seeds "42 1 2"]
#                               [--json OUT.json]
#
# Prints, per seed and trainer, seconds per epoch (mean over epochs 2..N: the
# first warms up), sequences/s, the loss of the first and the last epoch, and
# test HR@10 / NDCG@10; then the ratio C++/Python of the mean sequences/s and
# each trainer's mean and spread of HR@10 / NDCG@10. After a few epochs HR@10
# moves by about 0.01 with the seed (the initial weights), so compare accuracy
# over several seeds, not one. Needs python3-torch
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
SEEDS=42
JSON_OUT=
while [[ $# -gt 0 ]]; do
  case $1 in
    --data) DATA=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --order) ORDER=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
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

run_cpp() {  # run_cpp SEED
  echo "C++: sasrecllm train-sasrec, $EPOCHS epochs, $THREADS threads, seed $1 ..." >&2
  "$CLI" train-sasrec --data "$DATA" --out "$WORK/cpp-$1" --epochs "$EPOCHS" --eval-every 0 \
    --eval-users 1 --threads "$THREADS" --seed "$1" > "$WORK/cpp-$1.log" 2>&1 ||
    { tail -20 "$WORK/cpp-$1.log" >&2; exit 1; }
}
run_python() {  # run_python SEED
  echo "Python: train_sasrec.py, $EPOCHS epochs, $THREADS threads, seed $1 ..." >&2
  "$PYTHON" "$ROOT/bench/python_baseline/train_sasrec.py" --data "$DATA" --out "$WORK/python-$1" \
    --epochs "$EPOCHS" --threads "$THREADS" --seed "$1" > "$WORK/python-$1.log" 2>&1 ||
    { tail -20 "$WORK/python-$1.log" >&2; exit 1; }
}
for seed in $SEEDS; do
  case $ORDER in
    cpp-first) run_cpp "$seed"; run_python "$seed" ;;
    python-first) run_python "$seed"; run_cpp "$seed" ;;
    *) echo "train-sasrec-speed.sh: --order must be cpp-first or python-first" >&2; exit 2 ;;
  esac
  for who in cpp python; do
    "$CLI" eval-sasrec --data "$DATA" --model "$WORK/$who-$seed" --split test --threads "$THREADS" \
      --json "$WORK/$who-$seed-test.json" > /dev/null
  done
done

"$PYTHON" - "$WORK" "$EPOCHS" "$THREADS" "$ORDER" "$JSON_OUT" $SEEDS <<'PY'
import json, os, statistics, sys
work, epochs, threads, order, json_out, *seeds = sys.argv[1:]
def run(who, seed):
    log = json.load(open(os.path.join(work, f"{who}-{seed}", "train_log.json")))["epochs"]
    key = "seq_per_s" if who == "cpp" else "sequences_per_s"
    later = log[1:]  # epoch 1 warms up (allocator, sampler start)
    test = json.load(open(os.path.join(work, f"{who}-{seed}-test.json")))
    return {"seconds_per_epoch": sum(e["seconds"] for e in later) / len(later),
            "sequences_per_s": sum(e[key] for e in later) / len(later),
            "first_loss": log[0]["loss"], "last_loss": log[-1]["loss"], "test": test}
runs = {who: {seed: run(who, seed) for seed in seeds} for who in ("cpp", "python")}
print(f"SASRec training, {epochs} epochs, {threads} torch threads, run {order}, seeds {' '.join(seeds)}")
hdr = (f"{'trainer':>8} {'seed':>5} {'s/epoch':>8} {'sequences/s':>12} {'loss ep 1':>10} "
       f"{'loss ep ' + epochs:>10} {'test HR@10':>11} {'test NDCG@10':>13}")
print(hdr); print("-" * len(hdr))
for who in ("cpp", "python"):
    for seed in seeds:
        r = runs[who][seed]
        print(f"{who:>8} {seed:>5} {r['seconds_per_epoch']:>8.2f} {r['sequences_per_s']:>12.0f} "
              f"{r['first_loss']:>10.4f} {r['last_loss']:>10.4f} {r['test']['hr@10']:>11.4f} "
              f"{r['test']['ndcg@10']:>13.4f}")
def mean_sd(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
summary = {}
for who in ("cpp", "python"):
    rs = list(runs[who].values())
    summary[who] = {"sequences_per_s": statistics.mean(r["sequences_per_s"] for r in rs),
                    "hr@10": mean_sd([r["test"]["hr@10"] for r in rs]),
                    "ndcg@10": mean_sd([r["test"]["ndcg@10"] for r in rs])}
    print(f"{who:>8}: test HR@10 {summary[who]['hr@10'][0]:.4f} +- {summary[who]['hr@10'][1]:.4f}, "
          f"NDCG@10 {summary[who]['ndcg@10'][0]:.4f} +- {summary[who]['ndcg@10'][1]:.4f} "
          f"(mean +- sd over {len(rs)} seed(s))")
ratio = summary["cpp"]["sequences_per_s"] / summary["python"]["sequences_per_s"]
print(f"C++ / Python throughput: {ratio:.2f}x")
if json_out:
    json.dump({"epochs": int(epochs), "threads": int(threads), "order": order, "seeds": seeds,
               "runs": runs, "summary": summary, "ratio": ratio}, open(json_out, "w"), indent=1)
PY
