#!/usr/bin/env bash
# The demo: set up, build a bundle, serve it, ask it for recommendations.
#
#   scripts/demo.sh              # everything, then stops the server
#   scripts/demo.sh --no-serve   # stop after writing build/demo/bundle
#
# With ../shared present it trains SASRec on the CoLLM MovieLens-1M split
# (titles included); without it, on synthetic data the tool generates.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${SASRECLLM_SHARED:-$ROOT/../shared}
BUILD_DIR=${BUILD_DIR:-build}
DEMO=$BUILD_DIR/demo
SERVE=1
[ "${1:-}" = "--no-serve" ] && SERVE=0

scripts/setup.sh
mkdir -p "$DEMO"
CLI=$BUILD_DIR/sasrecllm

echo "== 1. data" >&2
if [ -d "$SHARED/data/collm-ml1m" ]; then
  "$CLI" data convert-collm --in "$SHARED/data/collm-ml1m" --out "$DEMO/data"
  EPOCHS=${DEMO_EPOCHS:-40}
else
  echo "demo: $SHARED/data/collm-ml1m not found; using synthetic data" >&2
  "$CLI" data synthesize --out "$DEMO/data" --seed 7
  EPOCHS=${DEMO_EPOCHS:-20}
fi

echo "== 2. train SASRec ($EPOCHS epochs)" >&2
"$CLI" train-sasrec --data "$DEMO/data/sequences.txt" --out "$DEMO/sasrec" \
  --epochs "$EPOCHS" --maxlen 50 --eval-every 10 --seed 42

echo "== 3. export the bundle" >&2
rm -rf "$DEMO/bundle"
"$CLI" export --sasrec "$DEMO/sasrec" --items "$DEMO/data/items.tsv" --out "$DEMO/bundle" \
  --model-version "demo-sasrec"
echo "demo: bundle written to $DEMO/bundle" >&2
[ "$SERVE" = 0 ] && exit 0

echo "== 4. serve" >&2
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

echo "== 5. ask it" >&2
"${CLIENT[@]}" info
# A user who liked three science-fiction classics (CoLLM ML-1M ids), or the
# first items of the synthetic catalog.
if [ -d "$SHARED/data/collm-ml1m" ]; then
  HISTORY=$(awk -F'\t' '$2 ~ /^(Star Wars: Episode IV|Alien \(|Terminator, The|Blade Runner|Matrix, The)/ {printf "%s%s", sep, $1; sep=","}' \
    "$SHARED/data/collm-ml1m/items.tsv")
  echo "history:" >&2
  awk -F'\t' -v ids="$HISTORY" 'BEGIN{n=split(ids,a,",");for(i=1;i<=n;i++)w[a[i]]=1} ($1 in w){print "  " $1 "  " $2}' \
    "$SHARED/data/collm-ml1m/items.tsv" >&2
else
  HISTORY=1,2,3,4,5
fi
"${CLIENT[@]}" recommend --history "$HISTORY" --top-k 10

echo "== 6. metrics excerpt" >&2
python3 - "$METRICS_PORT" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
for line in text.splitlines():
    if line.startswith(("sasrecllm_requests_total", "sasrecllm_model_info", "sasrecllm_batch_size_count",
                        "sasrecllm_request_duration_seconds_count", "process_resident_memory_bytes")):
        print("  " + line)
PY
