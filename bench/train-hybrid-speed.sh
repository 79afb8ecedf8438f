#!/usr/bin/env bash
# Training and evaluation throughput of each SASRecLLM strategy, side by side
# in one run: train-hybrid on the same seeded subset of the CoLLM ML-1M split
# for every strategy, then each stage's samples/s from its result.json.
#
#   bench/train-hybrid-speed.sh BUILD_DIR [--rows 256] [--valid-rows 256] [--threads 2]
#                               [--device cpu] [--dtype float32] [--llm DIR] [--sasrec DIR]
#
# --llm: an HF-layout base LLM (default: stories260K converted into the work
# folder); --sasrec: a SASRec folder with hidden size = what the mapping layer
# takes (default: build-collm/collm/sasrec/best-valid-auc, from
# scripts/train-collm.sh). Each stage trains one epoch over --rows rows
# (batch 16) and validates once over --valid-rows rows (batch 64).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
[[ $# -ge 1 && $1 != -* ]] || bench_usage
BUILD=$(cd "$1" && pwd)
shift
ROWS=256
VALID_ROWS=256
THREADS=2
DEVICE=cpu
DTYPE=float32
LLM=
SASREC=$ROOT/build-collm/collm/sasrec/best-valid-auc
SHARED=${SASRECLLM_SHARED:-$ROOT/../shared}
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --valid-rows) VALID_ROWS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --dtype) DTYPE=$2; shift 2 ;;
    --llm) LLM=$2; shift 2 ;;
    --sasrec) SASREC=$2; shift 2 ;;
    *) bench_usage ;;
  esac
done
CLI=$BUILD/sasrecllm
[[ -x $CLI ]] || { echo "train-hybrid-speed.sh: $CLI is missing (build it first)" >&2; exit 1; }
[[ -f $SASREC/model.safetensors ]] ||
  { echo "train-hybrid-speed.sh: no SASRec at $SASREC (run scripts/train-collm.sh or pass --sasrec)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
if [[ -z $LLM ]]; then
  LLM=$WORK/llm
  "$CLI" convert-llama2c "$SHARED/models/stories260K/stories260K.bin" \
    "$SHARED/models/stories260K/tok512.bin" "$LLM" > /dev/null
fi

for strategy in two-stage two-stage-tune-encoder joint; do
  echo "train-hybrid --strategy $strategy ($ROWS rows) ..." >&2
  "$CLI" train-hybrid --data "$SHARED/data/collm-ml1m" --llm "$LLM" --sasrec "$SASREC" \
    --strategy "$strategy" --out "$WORK/$strategy" --epochs 1 --patience 1 \
    --max-train-samples "$ROWS" --max-valid-samples "$VALID_ROWS" \
    --threads "$THREADS" --device "$DEVICE" --dtype "$DTYPE" > "$WORK/$strategy.log" 2>&1 ||
    { tail -20 "$WORK/$strategy.log" >&2; exit 1; }
done

python3 - "$WORK" "$ROWS" "$VALID_ROWS" "$THREADS" "$DEVICE" "$DTYPE" <<'PY'
import json, os, sys
work, rows, valid_rows, threads, device, dtype = sys.argv[1:]
print(f"train-hybrid throughput: {rows} training rows (batch 16), {valid_rows} validation rows "
      f"(batch 64), {device} {dtype}, {threads} threads")
hdr = f"{'strategy':>24} {'stage':>16} {'train rows/s':>13} {'eval rows/s':>12}"
print(hdr); print("-" * len(hdr))
for strategy in ["two-stage", "two-stage-tune-encoder", "joint"]:
    for st in json.load(open(os.path.join(work, strategy, "result.json")))["stages"]:
        if not st.get("seconds"):
            continue  # a stage loaded, not trained
        print(f"{strategy:>24} {st['stage']:>16} {st['train_samples_per_s']:>13.1f} "
              f"{st['eval_samples_per_s']:>12.1f}")
PY
