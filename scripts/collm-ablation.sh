#!/usr/bin/env bash
# What each part of SASRecLLM contributes, measured on the CoLLM ML-1M VALIDATION
# split (test rows are never used). Every variant is trained like
# train-collm.sh's joint run (same seeded training subset, same selection rows,
# same SASRec encoder) with one part taken out, then scored on ALL 10,401
# validation rows by eval-hybrid (all / warm / cold AUC and UAUC):
#   full       joint: SASRec slots + LoRA + the 10 most recent history titles
#   no-lora    joint with --lr-lora 0: LoRA's B starts at 0 and stays there, so
#              the LLM is frozen and only the mapping layer learns
#   no-titles  joint with --max-titles 0: the prompt lists no history titles
#   no-sasrec  the text-only LoRA model (two-stage's stage 1): titles, no slots
# and settings tried beyond the defaults (each on the cheaper prompt without
# titles, which the no-titles variant compares with the full one):
#   wide-lora  --max-titles 0, LoRA of rank 16 on every projection (q, k, v, o,
#              gate, up, down) instead of rank 8 on q and v
#   high-lr    --max-titles 0, learning rates 3e-3 for LoRA and the mapping
#              layer instead of 1e-3
#   history-ids  --max-titles 0, the collm_movie_history_ids prompt: each of
#              the 10 most recent history items' own SASRec embedding in a
#              slot of its own, beside the sequence vector
#   history-ids-none  the control: the same prompt text with no history
#              slot (--max-history-ids 0)
#   history-ids-titles  history-ids with the 10 history titles too (the
#              full prompt; about 2.3x the training cost)
# SASRec alone on the same rows is the reference row.
#
# Usage: scripts/collm-ablation.sh [VARIANT...]   (default: the first four)
# A variant whose results exist is skipped, so two calls with different
# variants can run side by side (one per core) and a last call prints the table
# (OUT/ablation-ENCODER-seedSEED/results.md; other seeds give the spread). A
# variant being trained holds a lock: a second call with it stops at once.
# Needs train-collm.sh's steps 1-2 (OUT/llm and the SASRec encoders); runs them
# when missing. Knobs (environment), train-collm.sh's defaults for a subset run:
#   SAMPLES=3000 VALID_SAMPLES=1000 EPOCHS=1 EVAL_EVERY=100 SEED=42
#   ENCODER=pointwise (or next-item) THREADS=$(nproc) BUILD_DIR=build
#   CLI=BUILD_DIR/sasrecllm (a copy of the binary lets a long run go on while
#   the build directory is rebuilt)
set -euo pipefail
source "$(dirname "$0")/paths.sh"  # ROOT, SHARED, BUILD_DIR; cd "$ROOT"
OUT=$BUILD_DIR/collm
DATA=$SHARED/data/collm-ml1m
CLI=${CLI:-$BUILD_DIR/sasrecllm}
SAMPLES=${SAMPLES:-3000}
VALID_SAMPLES=${VALID_SAMPLES:-1000}
EPOCHS=${EPOCHS:-1}
EVAL_EVERY=${EVAL_EVERY:-100}
SEED=${SEED:-42}
ENCODER=${ENCODER:-pointwise}
THREADS=${THREADS:-$(nproc)}
RUNTIME=(--threads "$THREADS" --device "${DEVICE:-cpu}" --dtype "${DTYPE:-float32}")
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
ALL_VARIANTS="full no-lora no-titles no-sasrec wide-lora high-lr history-ids history-ids-none history-ids-titles"
VARIANTS=${*:-"full no-lora no-titles no-sasrec"}

case "$ENCODER" in
  pointwise) SASREC=$OUT/sasrec-pointwise; BASELINE=sasrec-pointwise ;;
  next-item) SASREC=$OUT/sasrec/best-valid-auc; BASELINE=sasrec ;;
  *) echo "collm-ablation: ENCODER must be pointwise or next-item" >&2; exit 2 ;;
esac
for variant in $VARIANTS; do
  case " $ALL_VARIANTS " in *" $variant "*) ;; *)
    echo "collm-ablation: unknown variant '$variant' (expected: $ALL_VARIANTS)" >&2; exit 2 ;;
  esac
done
if [ ! -f "$OUT/llm/config.json" ] || [ ! -f "$SASREC/model.safetensors" ] ||
   [ ! -f "$OUT/results/$BASELINE-valid.json" ]; then
  # Steps 1-2 only (no hybrid strategy).
  STRATEGIES=" " ENCODER=$ENCODER scripts/train-collm.sh
fi

# Runs on other rows or epochs go to a folder of their own (never resumed
# into one another); the 3,000-row default keeps its old name.
ABL=$OUT/ablation-$ENCODER-seed$SEED
[ "$SAMPLES/$VALID_SAMPLES/$EPOCHS" = 3000/1000/1 ] || ABL+=-rows$SAMPLES-valid$VALID_SAMPLES-epochs$EPOCHS
mkdir -p "$ABL/results"
for variant in $VARIANTS; do
  [ -f "$ABL/results/$variant-valid.json" ] && continue
  # Two calls training one variant would write into one folder (each replacing
  # the other's best/ checkpoint), so the second stops here. The lock is let go
  # when this call's shell exits, however it ends.
  exec {lock}>"$ABL/$variant.lock"
  if ! flock --nonblock "$lock"; then
    echo "collm-ablation: variant $variant is being trained by another call ($ABL/$variant.lock)" >&2
    exit 1
  fi
  strategy=joint
  checkpoint=$ABL/$variant/final
  extra=()
  case "$variant" in
    no-lora) extra=(--lr-lora 0) ;;
    no-titles) extra=(--max-titles 0) ;;
    wide-lora) extra=(--max-titles 0 --lora-r 16 --lora-alpha 32
                      --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj) ;;
    high-lr) extra=(--max-titles 0 --lr-lora 3e-3 --lr-mapping 3e-3) ;;
    history-ids) extra=(--max-titles 0 --prompt-template collm_movie_history_ids) ;;
    history-ids-none) extra=(--max-titles 0 --prompt-template collm_movie_history_ids
                             --max-history-ids 0) ;;
    history-ids-titles) extra=(--prompt-template collm_movie_history_ids) ;;
    no-sasrec) strategy=two-stage; checkpoint=$ABL/$variant/1-text-lora/best ;;
  esac
  echo "== ablation $variant: train-hybrid --strategy $strategy ${extra[*]}" >&2
  "$CLI" train-hybrid --data "$DATA" --llm "$OUT/llm" --sasrec "$SASREC" \
    --strategy "$strategy" --out "$ABL/$variant" --epochs "$EPOCHS" \
    --eval-every "$EVAL_EVERY" --seed "$SEED" --max-train-samples "$SAMPLES" \
    --max-valid-samples "$VALID_SAMPLES" "${extra[@]}" "${RUNTIME[@]}"
  "$CLI" eval-hybrid --model "$checkpoint" --data "$DATA" --split valid \
    --json "$ABL/results/$variant-valid.json" "${RUNTIME[@]}"
done

python3 - "$ABL" "$OUT/results/$BASELINE-valid.json" "$ENCODER" "$SAMPLES" "$VALID_SAMPLES" \
    "$EPOCHS" "$SEED" <<'EOF'
import json, os, sys
abl, baseline, encoder, samples, valid_samples, epochs, seed = sys.argv[1:8]
rows = [("full", "yes", "yes", "yes"), ("no-lora", "yes", "no (frozen LLM)", "yes"),
        ("no-titles", "yes", "yes", "no"), ("no-sasrec", "no (text-only)", "yes", "yes"),
        ("wide-lora", "yes", "rank 16 on q/k/v/o/gate/up/down", "no"),
        ("high-lr", "yes", "yes, lr 3e-3 (mapping too)", "no"),
        ("history-ids", "yes, and one per recent history item", "yes", "no"),
        ("history-ids-none", "yes (history-ids prompt text, no history slot)", "yes", "no"),
        ("history-ids-titles", "yes, and one per recent history item", "yes", "yes")]
lines = ["| variant | SASRec slots | LoRA | history titles | valid AUC | valid UAUC | "
         "warm AUC | warm UAUC | cold AUC | cold UAUC |", "|---|---|---|---|---|---|---|---|---|---|"]
def fmt(report, subset, metric):
    value = report.get(subset, {}).get(metric)
    return "%.4f" % value if value is not None else "-"
def add(label, parts, report):
    lines.append("| %s | %s | %s |" % (label, " | ".join(parts), " | ".join(
        fmt(report, s, m) for s in ("all", "warm", "cold") for m in ("auc", "uauc"))))
for name, *parts in rows:
    path = os.path.join(abl, "results", name + "-valid.json")
    if os.path.exists(path):
        add(name, parts, json.load(open(path)))
if os.path.exists(baseline):
    add("SASRec %s alone" % encoder, ["-", "-", "-"], json.load(open(baseline)))
described = lambda n, everything: everything if n == "0" else "a seeded %s of the" % n
note = ("All 10,401 validation rows. Each variant trained on %s 33,891 training rows "
        "(seed %s) for %s epoch(s), checkpoint chosen on %s 10,401 validation rows (no-sasrec: "
        "two-stage's text-only stage, the others: the joint strategy); encoder: SASRec %s."
        % (described(samples, "all"), seed, epochs, described(valid_samples, "all"), encoder))
table = "\n".join(lines) + "\n\n" + note
print(table)
open(os.path.join(abl, "results.md"), "w").write(table + "\n")
EOF
