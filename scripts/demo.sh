#!/usr/bin/env bash
# The demo: set up, build a bundle, serve it, ask it for recommendations.
#
#   scripts/demo.sh              # everything, then stops the server
#   scripts/demo.sh --no-serve   # stop after writing build/demo/bundle
#
# With ../shared/data/collm-ml1m and ../shared/models/stories260K it builds a
# SASRecLLM (hybrid) bundle, as scripts/train-collm.sh does but small:
#   1-2. SASRec (d_rec 64) on the CoLLM MovieLens-1M split's training
#        sequences, kept at its best point-wise validation AUC
#   3. stories260K converted to an HF-layout LLM folder
#   4. train-hybrid --strategy joint on a random subset of the training rows
#      (LoRA + mapping layer, one epoch)
#   5. export --hybrid to build/demo/bundle
# then serves it and shows: the model info; a hybrid Recommend (SASRec retrieves,
# the LLM re-ranks: retrieval_score and llm_score) and a sequential one for the
# same history; a hybrid Score that includes a cold item (title only, no SASRec
# embedding); a cold-start user (empty history); a metrics excerpt.
# About 4 minutes on 2 idle cores (5 on busy ones), plus setup's build when
# sources changed; most of it is step 4, which shows its progress and ETA.
# Without the LLM it serves a SASRec-only bundle (CoLLM data when present, else
# synthetic data the tool generates, with placeholder titles).
# Every run starts over in build/demo.
#
# Knobs (environment):
#   DEMO_EPOCHS                SASRec epochs (default 40; 20 on synthetic data)
#   DEMO_HYBRID_SAMPLES=1000   training rows for train-hybrid (0 = all 33,891)
#   DEMO_HYBRID_VALID_SAMPLES=500  validation rows it scores (0 = all 10,401)
#   DEMO_PORT=50051 DEMO_METRICS_PORT=9464  the server's ports
#   DEMO_THREADS=$(nproc)      libtorch threads for training
#   BUILD_DIR=build  SASRECLLM_SHARED=../shared
set -euo pipefail
source "$(dirname "$0")/paths.sh"  # ROOT, SHARED, BUILD_DIR; cd "$ROOT"
DEMO=$BUILD_DIR/demo
COLLM=$SHARED/data/collm-ml1m
STORIES=$SHARED/models/stories260K
THREADS=${DEMO_THREADS:-$(nproc)}
SERVE=1
[ "${1:-}" = "--no-serve" ] && SERVE=0
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

scripts/setup.sh
rm -rf "$DEMO"  # start over: train-hybrid would otherwise resume an old run
mkdir -p "$DEMO"
CLI=$BUILD_DIR/sasrecllm
HYBRID=0
if [ -d "$COLLM" ] && [ -f "$STORIES/stories260K.bin" ]; then
  HYBRID=1
elif [ -d "$COLLM" ]; then
  echo "demo: $STORIES not found; SASRec-only demo (no LLM stage)" >&2
else
  echo "demo: $COLLM not found; SASRec-only demo on synthetic data (placeholder titles, no LLM stage)" >&2
fi

echo "== 1. data" >&2
if [ -d "$COLLM" ]; then
  "$CLI" data convert-collm --in "$COLLM" --out "$DEMO/data"
  EPOCHS=${DEMO_EPOCHS:-40}
else
  "$CLI" data synthesize --out "$DEMO/data" --seed 7
  EPOCHS=${DEMO_EPOCHS:-20}
fi

echo "== 2. train SASRec ($EPOCHS epochs)" >&2
if [ -d "$COLLM" ]; then
  # As scripts/train-collm.sh (d_rec 64, the paper's); also keeps the model of
  # best point-wise valid AUC in best-valid-auc/, which train-hybrid uses.
  "$CLI" train-sasrec --data "$DEMO/data/sequences.txt" --out "$DEMO/sasrec" \
    --hidden-units 64 --maxlen 50 --num-blocks 2 --num-heads 1 --dropout 0.2 \
    --epochs "$EPOCHS" --eval-every 10 --seed 42 --threads "$THREADS" \
    --select-on-collm-valid "$COLLM"
else
  "$CLI" train-sasrec --data "$DEMO/data/sequences.txt" --out "$DEMO/sasrec" \
    --epochs "$EPOCHS" --maxlen 50 --eval-every 10 --seed 42 --threads "$THREADS"
fi

if [ "$HYBRID" = 1 ]; then
  SAMPLES=${DEMO_HYBRID_SAMPLES:-1000}
  VALID_SAMPLES=${DEMO_HYBRID_VALID_SAMPLES:-500}
  # Warm up over the first tenth of the steps (batch 16), not train-hybrid's
  # default 100, which a short run would never finish.
  ROWS=$SAMPLES; [ "$ROWS" = 0 ] && ROWS=33891
  WARMUP=$((ROWS / 160 > 0 ? ROWS / 160 : 1))

  echo "== 3. base LLM: stories260K" >&2
  "$CLI" convert-llama2c "$STORIES/stories260K.bin" "$STORIES/tok512.bin" "$DEMO/llm"

  echo "== 4. train SASRecLLM (joint: LoRA + mapping layer; $SAMPLES rows, 1 epoch)" >&2
  "$CLI" train-hybrid --data "$COLLM" --llm "$DEMO/llm" --sasrec "$DEMO/sasrec/best-valid-auc" \
    --strategy joint --out "$DEMO/hybrid" --epochs 1 --warmup-steps "$WARMUP" \
    --max-train-samples "$SAMPLES" --max-valid-samples "$VALID_SAMPLES" --threads "$THREADS"

  echo "== 5. export the bundle" >&2
  "$CLI" export --hybrid "$DEMO/hybrid/final" --items "$COLLM/items.tsv" --out "$DEMO/bundle" \
    --model-version "demo-sasrecllm"
else
  echo "== 3. export the bundle" >&2
  "$CLI" export --sasrec "$DEMO/sasrec" --items "$DEMO/data/items.tsv" --out "$DEMO/bundle" \
    --model-version "demo-sasrec"
fi
echo "demo: bundle written to $DEMO/bundle (${SECONDS} s since the start)" >&2
[ "$SERVE" = 0 ] && exit 0

echo "== serve" >&2
PORT=${DEMO_PORT:-50051}
METRICS_PORT=${DEMO_METRICS_PORT:-9464}
"$BUILD_DIR/sasrecllm-server" --bundle "$DEMO/bundle" --port "$PORT" \
  --metrics-port "$METRICS_PORT" > "$DEMO/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null || true; wait $SERVER_PID 2>/dev/null || true' EXIT
CLIENT=("$BUILD_DIR/sasrecllm-client" --target "127.0.0.1:$PORT")
for _ in $(seq 1 120); do
  "${CLIENT[@]}" health >/dev/null 2>&1 && break
  kill -0 $SERVER_PID 2>/dev/null || { cat "$DEMO/server.log" >&2; exit 1; }
  sleep 0.5
done
"${CLIENT[@]}" health

echo "== ask it" >&2
"${CLIENT[@]}" info
if [ -d "$COLLM" ]; then
  # ids_of REGEX: the CoLLM ML-1M ids of the items whose title matches REGEX.
  ids_of() { awk -F'\t' -v re="$1" '$2 ~ re {printf "%s%s", sep, $1; sep=","}' "$COLLM/items.tsv"; }
  # A user who liked five science-fiction classics.
  HISTORY=$(ids_of '^(Star Wars: Episode IV|Alien [(]|Terminator, The|Blade Runner|Matrix, The)')
  echo "history:" >&2
  awk -F'\t' -v ids="$HISTORY" 'BEGIN{n=split(ids,a,",");for(i=1;i<=n;i++)w[a[i]]=1} ($1 in w){print "  " $1 "  " $2}' \
    "$COLLM/items.tsv" >&2
else
  HISTORY=1,2,3,4,5  # the first items of the synthetic catalog
fi

if [ "$HYBRID" = 1 ]; then
  echo "-- Recommend, hybrid: SASRec retrieves the candidates, the LLM re-ranks them" >&2
  "${CLIENT[@]}" recommend --history "$HISTORY" --top-k 10 --mode hybrid
  echo "-- Recommend, sequential: SASRec alone, same history" >&2
  "${CLIENT[@]}" recommend --history "$HISTORY" --top-k 10 --mode sequential
  # Two sequels, two family films and item 3255, a cold item (in items.tsv,
  # after SASRec's catalog: only its title reaches the LLM).
  CANDIDATES=$(ids_of '^(Star Wars: Episode V |Aliens [(]|Toy Story [(]|Sound of Music)'),3255
  echo "-- Score, hybrid: P(like) of candidates $CANDIDATES (3255 is cold: $(awk -F'\t' '$1 == 3255 {print $2}' "$COLLM/items.tsv"))" >&2
  "${CLIENT[@]}" score --history "$HISTORY" --candidates "$CANDIDATES" --mode hybrid
  echo "-- Recommend, hybrid, cold-start user (empty history)" >&2
  "${CLIENT[@]}" recommend --history "" --top-k 5 --mode hybrid
else
  "${CLIENT[@]}" recommend --history "$HISTORY" --top-k 10
fi

echo "== metrics excerpt" >&2
python3 - "$METRICS_PORT" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith(("sasrecllm_requests_total", "sasrecllm_model_info",
                        "sasrecllm_request_duration_seconds_count",
                        "sasrecllm_batch_size_count", "sasrecllm_batch_size_sum",
                        "sasrecllm_inference_duration_seconds_count",
                        "sasrecllm_inference_duration_seconds_sum",
                        "sasrecllm_llm_tokens_total", "process_resident_memory_bytes")):
        print("  " + line)
PY
echo "demo: done in ${SECONDS} s" >&2
