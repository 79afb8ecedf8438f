#!/usr/bin/env bash
# The SASRecLLM pipeline on the CoLLM MovieLens-1M split (../shared/data/collm-ml1m):
#   1. the base LLM: stories260K converted to an HF-layout folder
#   2. SASRec trained on the training rows' positive sequences (d_rec 64),
#      evaluated alone, point-wise (the baseline)
#   3. train-hybrid with each strategy (two-stage's first stage is the
#      text-only TALLRec-style model), each evaluated on test
#   4. the best on VALIDATION AUC exported to build/collm/bundle
#   5. the results table (build/collm/results.md)
# Every step is skipped when its output exists, so re-running resumes
# (train-hybrid itself resumes mid-stage). Knobs (environment):
#   SAMPLES=0        training rows per strategy (0 = all 33,891; CPU time grows with it)
#   VALID_SAMPLES=0  validation rows used for early stopping (0 = all 10,401)
#   EPOCHS=2         epochs per stage
#   EVAL_EVERY=0     validate every N steps (0 = at each epoch's end)
#   STRATEGIES="two-stage two-stage-tune-encoder joint"
#   THREADS=$(nproc) DEVICE=cpu DTYPE=float32 BUILD_DIR=build
set -euo pipefail
source "$(dirname "$0")/paths.sh"  # ROOT, SHARED, BUILD_DIR; cd "$ROOT"
OUT=$BUILD_DIR/collm
DATA=$SHARED/data/collm-ml1m
CLI=$BUILD_DIR/sasrecllm
SAMPLES=${SAMPLES:-0}
VALID_SAMPLES=${VALID_SAMPLES:-0}
EPOCHS=${EPOCHS:-2}
EVAL_EVERY=${EVAL_EVERY:-0}
STRATEGIES=${STRATEGIES:-"two-stage two-stage-tune-encoder joint"}
THREADS=${THREADS:-$(nproc)}
RUNTIME=(--threads "$THREADS" --device "${DEVICE:-cpu}" --dtype "${DTYPE:-float32}")
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

[ -d "$DATA" ] || { echo "train-collm: $DATA not found" >&2; exit 1; }
[ -x "$CLI" ] || scripts/setup.sh
mkdir -p "$OUT/results"
log() { echo "== $*" >&2; }
timed() {  # timed NAME CMD...: runs CMD, records its wall time in results/NAME.seconds
  local name=$1; shift
  local start=$SECONDS
  "$@"
  echo $((SECONDS - start)) > "$OUT/results/$name.seconds"
}

log "1. base LLM: stories260K"
if [ ! -f "$OUT/llm/config.json" ]; then
  "$CLI" convert-llama2c "$SHARED/models/stories260K/stories260K.bin" \
    "$SHARED/models/stories260K/tok512.bin" "$OUT/llm"
fi

log "2. SASRec on the training rows' positive sequences (d_rec 64, the epoch of best valid AUC)"
SASREC=$OUT/sasrec/best-valid-auc
if [ ! -f "$SASREC/model.safetensors" ]; then
  "$CLI" data convert-collm --in "$DATA" --out "$OUT/sasrec-data"
  timed sasrec "$CLI" train-sasrec --data "$OUT/sasrec-data/sequences.txt" --out "$OUT/sasrec" \
    --hidden-units 64 --maxlen 50 --num-blocks 2 --num-heads 1 --dropout 0.2 \
    --epochs "${SASREC_EPOCHS:-200}" --eval-every 10 --seed 42 --threads "$THREADS" \
    --select-on-collm-valid "$DATA"
fi
for split in valid test; do
  [ -f "$OUT/results/sasrec-$split.json" ] ||
    "$CLI" eval-sasrec --pointwise --data "$DATA" --split "$split" --model "$SASREC" \
      --json "$OUT/results/sasrec-$split.json" --threads "$THREADS"
done

log "3. SASRecLLM strategies: $STRATEGIES"
for strategy in $STRATEGIES; do
  # The two two-stage strategies share stage 1 (text-only LoRA): train it once.
  if [ "$strategy" = two-stage-tune-encoder ] && [ ! -d "$OUT/$strategy/1-text-lora" ] &&
     grep -q '"done": true' "$OUT/two-stage/1-text-lora/state.json" 2>/dev/null; then
    mkdir -p "$OUT/$strategy" && cp -r "$OUT/two-stage/1-text-lora" "$OUT/$strategy/"
  fi
  if [ ! -f "$OUT/$strategy/result.json" ]; then
    timed "$strategy" "$CLI" train-hybrid --data "$DATA" --llm "$OUT/llm" --sasrec "$SASREC" \
      --strategy "$strategy" --out "$OUT/$strategy" --epochs "$EPOCHS" --eval-every "$EVAL_EVERY" \
      --max-train-samples "$SAMPLES" --max-valid-samples "$VALID_SAMPLES" "${RUNTIME[@]}"
  fi
  # (The validation AUC that selects models is train-hybrid's own, in result.json.)
  [ -f "$OUT/results/$strategy-test.json" ] ||
    "$CLI" eval-hybrid --model "$OUT/$strategy/final" --data "$DATA" --split test \
      --json "$OUT/results/$strategy-test.json" "${RUNTIME[@]}"
done
# two-stage's first stage alone is the text-only (TALLRec-style) LoRA model.
if [ -d "$OUT/two-stage/1-text-lora/best" ]; then
  [ -f "$OUT/results/tallrec-test.json" ] ||
    "$CLI" eval-hybrid --model "$OUT/two-stage/1-text-lora/best" --data "$DATA" \
      --split test --json "$OUT/results/tallrec-test.json" "${RUNTIME[@]}"
fi

log "4. results"
python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
res = os.path.join(out, "results")
def load(name):
    p = os.path.join(res, name)
    return json.load(open(p)) if os.path.exists(p) else None
def seconds(name):
    if name == "tallrec":  # two-stage's first stage
        p = os.path.join(out, "two-stage", "result.json")
        return int(json.load(open(p))["stages"][0]["seconds"]) if os.path.exists(p) else None
    p = os.path.join(res, name + ".seconds")
    return int(open(p).read()) if os.path.exists(p) else None
def valid_auc(key):
    if key == "sasrec":
        v = load("sasrec-valid.json")
        return v["all"]["auc"] if v else None
    p = os.path.join(out, "two-stage" if key == "tallrec" else key, "result.json")
    if not os.path.exists(p): return None
    stages = json.load(open(p))["stages"]
    return stages[0 if key == "tallrec" else -1]["best_valid_auc"]
rows = [("SASRec alone (point-wise)", "sasrec", "sasrec")]
if load("tallrec-test.json"): rows.append(("text-only LoRA (TALLRec-style)", "tallrec", "tallrec"))
for s in ["two-stage", "two-stage-tune-encoder", "joint"]:
    if load(s + "-test.json"): rows.append(("SASRecLLM " + s, s, s))
lines = ["| model | valid AUC | test AUC | test UAUC | warm AUC | warm UAUC | cold AUC | cold UAUC | train time |",
         "|---|---|---|---|---|---|---|---|---|"]
best = None
for label, key, timing in rows:
    v, t = valid_auc(key), load(key + "-test.json")
    if not t: continue
    f = lambda d, a, b: "%.4f" % d[a][b] if d and a in d and d[a].get(b) is not None else "-"
    sec = seconds(timing)
    lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        label, "%.4f" % v if v is not None else "-", f(t, "all", "auc"), f(t, "all", "uauc"), f(t, "warm", "auc"),
        f(t, "warm", "uauc"), f(t, "cold", "auc"), f(t, "cold", "uauc"),
        "%d s" % sec if sec is not None else "-"))
    if key not in ("sasrec", "tallrec") and v is not None and (best is None or v > best[1]):
        best = (key, v)
lines.append("| CoLLM paper: SASRec / TALLRec / CoLLM-SASRec (Vicuna-7B) | | .7078 / .7097 / .7235 | .6884 / .6818 / .6990 | | | | | |")
table = "\n".join(lines)
print(table)
open(os.path.join(out, "results.md"), "w").write(table + "\n")
if best: open(os.path.join(out, "best-strategy"), "w").write(best[0] + "\n")
EOF

if [ -f "$OUT/best-strategy" ]; then
  BEST=$(cat "$OUT/best-strategy")
  log "5. export the best on validation ($BEST) to $OUT/bundle"
  "$CLI" export --hybrid "$OUT/$BEST/final" --items "$DATA/items.tsv" --out "$OUT/bundle" \
    --model-version "sasrecllm-collm-$BEST"
fi
