#!/usr/bin/env bash
# The SASRecLLM pipeline on the CoLLM MovieLens-1M split (../shared/data/collm-ml1m):
#   1. the base LLM: stories260K converted to an HF-layout folder
#   2. SASRec, two ways, each evaluated alone on valid and test (the baselines):
#      a. next-item: the SASRec objective on the training rows' positive
#         sequences (d_rec 64, maxlen 50, the epoch of best valid AUC)
#      b. point-wise: BCE on the labelled rows, as CoLLM trains its baseline
#         (train-sasrec --objective pointwise: d_rec 64, maxlen 25)
#   3. train-hybrid with each strategy on the encoder that is best on
#      VALIDATION AUC (ENCODER=best; or next-item / pointwise), the mapping
#      layer sized to it; two-stage's first stage is the text-only
#      TALLRec-style model; each evaluated on test
#   3b. late fusion: that text-only model's logit and the encoder's own,
#      weighed by a logistic regression fitted on the validation rows
#      (sasrecllm fuse-hybrid), evaluated on test
#   4. the results table (build/collm/results.md)
#   5. the best on VALIDATION AUC exported to build/collm/bundle (the fusion
#      competes with its cross-validated validation AUC)
# Every step is skipped when its output exists, so re-running resumes
# (train-hybrid itself resumes mid-stage). Knobs (environment):
#   SAMPLES=0        training rows per strategy (0 = all 33,891; CPU time grows with it)
#   VALID_SAMPLES=0  validation rows used for early stopping (0 = all 10,401)
#   EPOCHS=2         epochs per stage
#   EVAL_EVERY=0     validate every N steps (0 = at each epoch's end)
#   STRATEGIES="two-stage two-stage-tune-encoder joint"
#   FUSION=1         step 3b (needs two-stage's first stage); 0 skips it
#   ENCODER=best     the SASRec the hybrid uses: best (on validation AUC),
#                    next-item or pointwise
#   SEED=42          train-sasrec's and train-hybrid's --seed
#   THREADS=$(nproc) DEVICE=cpu DTYPE=float32 BUILD_DIR=build
#   CLI=BUILD_DIR/sasrecllm (a copy of the binary lets a long run go on while
#   the build directory is rebuilt)
set -euo pipefail
source "$(dirname "$0")/paths.sh"  # ROOT, SHARED, BUILD_DIR; cd "$ROOT"
OUT=$BUILD_DIR/collm
DATA=$SHARED/data/collm-ml1m
CLI=${CLI:-$BUILD_DIR/sasrecllm}
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
timed() {  # timed FILE CMD...: runs CMD, writes its wall time in seconds to FILE
  local file=$1; shift
  local start=$SECONDS
  "$@"
  echo $((SECONDS - start)) > "$file"
}

log "1. base LLM: stories260K"
if [ ! -f "$OUT/llm/config.json" ]; then
  "$CLI" convert-llama2c "$SHARED/models/stories260K/stories260K.bin" \
    "$SHARED/models/stories260K/tok512.bin" "$OUT/llm"
fi

SEED=${SEED:-42}
log "2a. SASRec next-item, on the training rows' positive sequences (d_rec 64, the epoch of best valid AUC)"
NEXT_ITEM=$OUT/sasrec/best-valid-auc
if [ ! -f "$NEXT_ITEM/model.safetensors" ]; then
  "$CLI" data convert-collm --in "$DATA" --out "$OUT/sasrec-data"
  timed "$OUT/results/sasrec.seconds" "$CLI" train-sasrec --data "$OUT/sasrec-data/sequences.txt" --out "$OUT/sasrec" \
    --hidden-units 64 --maxlen 50 --num-blocks 2 --num-heads 1 --dropout 0.2 \
    --epochs "${SASREC_EPOCHS:-200}" --eval-every 10 --seed "$SEED" --threads "$THREADS" \
    --select-on-collm-valid "$DATA"
fi
log "2b. SASRec point-wise, on the labelled training rows (CoLLM's baseline; early stopping on valid AUC)"
POINTWISE=$OUT/sasrec-pointwise
if [ ! -f "$POINTWISE/model.safetensors" ]; then
  timed "$OUT/results/sasrec-pointwise.seconds" "$CLI" train-sasrec --objective pointwise --data "$DATA" \
    --out "$POINTWISE" --seed "$SEED" --threads "$THREADS"
fi
for split in valid test; do
  [ -f "$OUT/results/sasrec-$split.json" ] ||
    "$CLI" eval-sasrec --pointwise --data "$DATA" --split "$split" --model "$NEXT_ITEM" \
      --json "$OUT/results/sasrec-$split.json" --threads "$THREADS"
  [ -f "$OUT/results/sasrec-pointwise-$split.json" ] ||
    "$CLI" eval-sasrec --pointwise --data "$DATA" --split "$split" --model "$POINTWISE" \
      --json "$OUT/results/sasrec-pointwise-$split.json" --threads "$THREADS"
done
case "${ENCODER:-best}" in
  next-item | pointwise) ENCODER_NAME=$ENCODER ;;
  best)  # the higher valid AUC (point-wise on a tie)
    ENCODER_NAME=$(python3 -c 'import json, sys
auc = lambda p: json.load(open(p))["all"]["auc"]
print("pointwise" if auc(sys.argv[1]) >= auc(sys.argv[2]) else "next-item")' \
      "$OUT/results/sasrec-pointwise-valid.json" "$OUT/results/sasrec-valid.json") ;;
  *) echo "train-collm: ENCODER must be best, next-item or pointwise" >&2; exit 2 ;;
esac
SASREC=$([ "$ENCODER_NAME" = pointwise ] && echo "$POINTWISE" || echo "$NEXT_ITEM")
log "   the hybrid uses SASRec $ENCODER_NAME ($SASREC)"

# One folder of hybrid runs per encoder, so that changing ENCODER never resumes a
# run made with the other one.
HYB=$OUT/hybrid-$ENCODER_NAME
mkdir -p "$HYB/results"
log "3. SASRecLLM strategies on SASRec $ENCODER_NAME: $STRATEGIES"
for strategy in $STRATEGIES; do
  # The two two-stage strategies share stage 1 (text-only LoRA): train it once.
  if [ "$strategy" = two-stage-tune-encoder ] && [ ! -d "$HYB/$strategy/1-text-lora" ] &&
     grep -q '"done": true' "$HYB/two-stage/1-text-lora/state.json" 2>/dev/null; then
    mkdir -p "$HYB/$strategy" && cp -r "$HYB/two-stage/1-text-lora" "$HYB/$strategy/"
  fi
  if [ ! -f "$HYB/$strategy/result.json" ]; then
    timed "$HYB/results/$strategy.seconds" "$CLI" train-hybrid --data "$DATA" \
      --llm "$OUT/llm" --sasrec "$SASREC" --strategy "$strategy" --out "$HYB/$strategy" \
      --epochs "$EPOCHS" --eval-every "$EVAL_EVERY" --seed "$SEED" \
      --max-train-samples "$SAMPLES" --max-valid-samples "$VALID_SAMPLES" "${RUNTIME[@]}"
  fi
  # (The validation AUC that selects models is train-hybrid's own, in result.json.)
  [ -f "$HYB/results/$strategy-test.json" ] ||
    "$CLI" eval-hybrid --model "$HYB/$strategy/final" --data "$DATA" --split test \
      --json "$HYB/results/$strategy-test.json" "${RUNTIME[@]}"
done
# two-stage's first stage alone is the text-only (TALLRec-style) LoRA model.
if [ -d "$HYB/two-stage/1-text-lora/best" ]; then
  [ -f "$HYB/results/tallrec-test.json" ] ||
    "$CLI" eval-hybrid --model "$HYB/two-stage/1-text-lora/best" --data "$DATA" \
      --split test --json "$HYB/results/tallrec-test.json" "${RUNTIME[@]}"
  if [ "${FUSION:-1}" = 1 ] && grep -q '"done": true' "$HYB/two-stage/1-text-lora/state.json"; then
    log "3b. late fusion of the text-only model and SASRec $ENCODER_NAME, fitted on validation"
    [ -f "$HYB/fusion/final/hybrid.json" ] ||
      "$CLI" fuse-hybrid --model "$HYB/two-stage/1-text-lora/best" --sasrec "$SASREC" \
        --data "$DATA" --out "$HYB/fusion/final" --json "$HYB/results/fusion-fit.json" \
        "${RUNTIME[@]}"
    [ -f "$HYB/results/fusion-test.json" ] ||
      "$CLI" eval-hybrid --model "$HYB/fusion/final" --data "$DATA" --split test \
        --json "$HYB/results/fusion-test.json" "${RUNTIME[@]}"
  fi
fi

log "4. results"
python3 scripts/collm_table.py "$OUT" "$ENCODER_NAME" "$SAMPLES" "$VALID_SAMPLES" "$EPOCHS"

if [ -f "$HYB/best-strategy" ]; then
  BEST=$(cat "$HYB/best-strategy")
  log "5. export the best on validation ($BEST, SASRec $ENCODER_NAME) to $OUT/bundle"
  "$CLI" export --hybrid "$HYB/$BEST/final" --items "$DATA/items.tsv" --out "$OUT/bundle" \
    --model-version "sasrecllm-collm-$ENCODER_NAME-$BEST"
fi
