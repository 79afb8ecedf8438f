#!/usr/bin/env bash
# Data-parallel training: time per epoch at 1, 2, 4 workers on one machine
# (scripts/train-distributed.sh), the scaling efficiency, and whether the
# workers train what one process does with the global batch (loss per epoch,
# validation metrics), for train-sasrec on Amazon Games and train-hybrid
# --strategy joint on a CoLLM ML-1M subset.
#
#   bench/train-distributed.sh BUILD_DIR [--workers "1 2 4"] [--epochs 2] [--threads 1]
#       [--eval-users 5000] [--samples 256] [--valid-samples 256] [--hybrid-epochs 1]
#       [--sasrec DIR] [--llm DIR] [--only sasrec|hybrid] [--json OUT.json]
#
# Every run uses the same global batch (train-sasrec's 128, train-hybrid's 16),
# seed and data: the runs differ only in how many ranks share each batch.
# SASRec: --epochs epochs on Games, evaluated (rank 0) after the last on
# --eval-users sampled users (the same ones at every world size). Hybrid:
# --hybrid-epochs epochs of the joint strategy on --samples training rows
# (SAMPLES in the environment also sets it), validated on --valid-samples
# rows; LoRA dropout 0 so that the runs are comparable step for step.
# --sasrec: a SASRec folder for the hybrid (default: a point-wise SASRec
# trained for one epoch on the CoLLM split in the work folder); --llm: an
# HF-layout LLM (default: stories260K converted there).
#
# Time per epoch is the mean of train_log.json's per-epoch seconds (SASRec,
# evaluation excluded) and the stage's training time over its epochs
# (hybrid, validation excluded). Efficiency(W) = t(1) / (W * t(W)).
# Each worker gets --threads libtorch threads: W * threads should not exceed
# the cores, or the figures measure oversubscription.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $# -ge 1 && $1 != -* ]] || bench_usage
BUILD=$(cd "$1" && pwd)
shift
SHARED=${SASRECLLM_SHARED:-$ROOT/../shared}
WORKERS="1 2 4"
EPOCHS=2
THREADS=1
EVAL_USERS=5000
SAMPLES=${SAMPLES:-256}
VALID_SAMPLES=256
HYBRID_EPOCHS=1
SASREC=
LLM=
ONLY=
JSON_OUT=
while [[ $# -gt 0 ]]; do
  case $1 in
    --workers) WORKERS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --eval-users) EVAL_USERS=$2; shift 2 ;;
    --samples) SAMPLES=$2; shift 2 ;;
    --valid-samples) VALID_SAMPLES=$2; shift 2 ;;
    --hybrid-epochs) HYBRID_EPOCHS=$2; shift 2 ;;
    --sasrec) SASREC=$2; shift 2 ;;
    --llm) LLM=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    *) bench_usage ;;
  esac
done
CLI=$BUILD/sasrecllm
LAUNCH=$ROOT/scripts/train-distributed.sh
[[ -x $CLI ]] || { echo "train-distributed.sh: $CLI is missing (build it first)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export OMP_WAIT_POLICY=PASSIVE SASRECLLM="$CLI"

if [[ $ONLY != hybrid ]]; then
  for w in $WORKERS; do
    echo "train-sasrec on Games, $w worker(s) x $THREADS thread(s), $EPOCHS epochs ..." >&2
    "$LAUNCH" "$w" -- train-sasrec --data "$SHARED/data/amazon-games/Video.txt" \
      --out "$WORK/sasrec-$w" --epochs "$EPOCHS" --eval-every "$EPOCHS" \
      --eval-users "$EVAL_USERS" --threads "$THREADS" > "$WORK/sasrec-$w.log" 2>&1 ||
      { tail -20 "$WORK/sasrec-$w.log" >&2; exit 1; }
  done
fi

if [[ $ONLY != sasrec ]]; then
  DATA=$SHARED/data/collm-ml1m
  if [[ -z $LLM ]]; then
    LLM=$WORK/llm
    "$CLI" convert-llama2c "$SHARED/models/stories260K/stories260K.bin" \
      "$SHARED/models/stories260K/tok512.bin" "$LLM" > /dev/null
  fi
  if [[ -z $SASREC ]]; then
    echo "a point-wise SASRec for the hybrid (1 epoch on $DATA) ..." >&2
    SASREC=$WORK/sasrec-collm
    "$CLI" train-sasrec --objective pointwise --data "$DATA" --out "$SASREC" --epochs 1 \
      --threads "$THREADS" > "$WORK/sasrec-collm.log" 2>&1 ||
      { tail -20 "$WORK/sasrec-collm.log" >&2; exit 1; }
  fi
  for w in $WORKERS; do
    echo "train-hybrid --strategy joint, $SAMPLES rows, $w worker(s) x $THREADS thread(s) ..." >&2
    "$LAUNCH" "$w" -- train-hybrid --data "$DATA" --llm "$LLM" --sasrec "$SASREC" \
      --strategy joint --out "$WORK/hybrid-$w" --epochs "$HYBRID_EPOCHS" --patience 100 \
      --max-train-samples "$SAMPLES" --max-valid-samples "$VALID_SAMPLES" --lora-dropout 0 \
      --eval-every 8 \
      --threads "$THREADS" > "$WORK/hybrid-$w.log" 2>&1 ||
      { tail -20 "$WORK/hybrid-$w.log" >&2; exit 1; }
  done
fi

python3 - "$WORK" "$WORKERS" "$THREADS" "$ONLY" "${JSON_OUT:-}" "$SAMPLES" <<'PY'
import json, os, sys
work, workers, threads, only, json_out, samples = sys.argv[1:]
samples = int(samples)
workers = [int(w) for w in workers.split()]
out = {"threads_per_worker": int(threads), "sasrec": [], "hybrid": []}
if only != "hybrid":
    runs = {w: json.load(open(os.path.join(work, f"sasrec-{w}", "train_log.json"))) for w in workers}
    base = runs[workers[0]]
    t1 = sum(e["seconds"] for e in base["epochs"]) / len(base["epochs"])
    print(f"train-sasrec, Games, global batch {base['options']['batch_size']}, "
          f"{threads} thread(s) per worker")
    hdr = (f"{'workers':>7} {'s/epoch':>8} {'seq/s':>7} {'efficiency':>10} "
           f"{'loss per epoch':>24} {'max |dloss|':>11} {'valid HR@10':>11} {'NDCG@10':>8} "
           f"{'test HR@10':>10} {'NDCG@10':>8}")
    print(hdr); print("-" * len(hdr))
    for w in workers:
        log = runs[w]
        ep = log["epochs"]
        t = sum(e["seconds"] for e in ep) / len(ep)
        sps = sum(e["seq_per_s"] for e in ep) / len(ep)
        losses = [e["loss"] for e in ep]
        dloss = max(abs(a["loss"] - b["loss"]) for a, b in zip(ep, base["epochs"]))
        last = ep[-1]
        eff = t1 / (w * t) * (workers[0])
        print(f"{w:>7} {t:>8.1f} {sps:>7.0f} {eff:>10.2f} "
              f"{' '.join(f'{x:.4f}' for x in losses):>24} {dloss:>11.1e} "
              f"{last['valid']['hr@10']:>11.4f} {last['valid']['ndcg@10']:>8.4f} "
              f"{last['test']['hr@10']:>10.4f} {last['test']['ndcg@10']:>8.4f}")
        out["sasrec"].append({"workers": w, "seconds_per_epoch": t, "seq_per_s": sps,
                              "efficiency": eff, "losses": losses, "max_loss_diff": dloss,
                              "valid": last["valid"], "test": last["test"]})
if only != "sasrec":
    def read(w):
        d = os.path.join(work, f"hybrid-{w}")
        res = json.load(open(os.path.join(d, "result.json")))
        st = res["stages"][0]
        aucs = [json.loads(l) for l in open(os.path.join(d, "log.jsonl"))]
        return st, [(a["step"], a["valid_auc"]) for a in aucs]
    runs = {w: read(w) for w in workers}
    st1, auc1 = runs[workers[0]]
    rate1 = st1["train_samples_per_s"]
    print(f"\ntrain-hybrid --strategy joint, CoLLM ML-1M subset, global batch 16, "
          f"{threads} thread(s) per worker")
    hdr = (f"{'workers':>7} {'s/epoch':>8} {'train rows/s':>12} {'efficiency':>10} "
           f"{'valid AUC by step':>28} {'max |dAUC|':>10}")
    print(hdr); print("-" * len(hdr))
    for w in workers:
        st, aucs = runs[w]
        eff = st["train_samples_per_s"] / (rate1 * w / workers[0])
        dauc = max(abs(a[1] - b[1]) for a, b in zip(aucs, auc1))
        print(f"{w:>7} {samples / st['train_samples_per_s']:>8.1f} "
              f"{st['train_samples_per_s']:>12.1f} {eff:>10.2f} "
              f"{' '.join(f'{s}:{a:.4f}' for s, a in aucs):>28} {dauc:>10.1e}")
        out["hybrid"].append({"workers": w, "train_rows_per_s": st["train_samples_per_s"],
                              "seconds_per_epoch": samples / st["train_samples_per_s"],
                              "efficiency": eff, "valid_auc_by_step": aucs,
                              "max_auc_diff": dauc})
if json_out:
    json.dump(out, open(json_out, "w"), indent=1)
PY
