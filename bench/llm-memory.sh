#!/usr/bin/env bash
# What loading a large LLM costs in memory: peak resident memory against the
# weights' size, memory-mapped safetensors (how the server and every command
# load) against reading the file into memory, for a TinyLlama-shaped random
# Llama (hidden 2048, 22 layers, 32 heads, 4 kv heads, intermediate 5632,
# 1.1B parameters) stored in float32 and in bfloat16, served in float32 and
# in bfloat16.
#
#   bench/llm-memory.sh BUILD_DIR [--models DIR] [--threads 2] [--json OUT.json]
#
# --models: where the two random models are written (init-llm, about 40 s and
# 6.6 GB of disk, once) and found again on later runs; default
# BUILD_DIR/bench-models. Each setting runs in its own process
# (`sasrecllm llm-memory`: load, one forward pass of 8 tokens, VmHWM), so
# each peak is that setting's alone. The weights' size is in the serving
# dtype; peak / weights is the figure the memory aim (<= 1.2x) is stated in.
# A memory-mapped load returns at once and pages the weights in on first use:
# its "first pass" column includes reading them, which the page cache (warm
# after the first setting) makes fast or slow.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $# -ge 1 && $1 != -* ]] || bench_usage
BUILD=$(cd "$1" && pwd)
shift
MODELS=$BUILD/bench-models
THREADS=2
JSON_OUT=
while [[ $# -gt 0 ]]; do
  case $1 in
    --models) MODELS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --json) JSON_OUT=$2; shift 2 ;;
    *) bench_usage ;;
  esac
done
SASRECLLM=$BUILD/sasrecllm
[[ -x $SASRECLLM ]] || { echo "llm-memory: no $SASRECLLM (build first)" >&2; exit 1; }

for stored in float32 bfloat16; do
  dir=$MODELS/tinyllama-shaped-$stored
  if [[ ! -f $dir/model.safetensors ]]; then
    echo "llm-memory: writing $dir (1.1B random parameters in $stored) ..." >&2
    "$SASRECLLM" init-llm --out "$dir" --hidden-size 2048 --layers 22 --heads 32 \
      --kv-heads 4 --intermediate-size 5632 --dtype "$stored" >&2
  fi
done

bench_begin
printf '| stored | served | read | weights MB | load s | first pass s | peak RSS MB | peak / weights |\n'
printf '|---|---|---|---|---|---|---|---|\n'
results=()
for stored in float32 bfloat16; do
  for served in float32 bfloat16; do
    for read in mmap copy; do
      out=$WORK/$stored-$served-$read.json
      "$SASRECLLM" llm-memory --model "$MODELS/tinyllama-shaped-$stored" --dtype "$served" \
        --read "$read" --threads "$THREADS" --json "$out" > /dev/null
      python3 - "$out" "$stored" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {r['dtype']} | {r['read']} | {r['weights_mb']:.0f} | "
      f"{r['load_s']:.2f} | {r['forward_s']:.2f} | {r['peak_rss_mb']:.0f} | "
      f"{r['peak_over_weights']:.2f}x |")
EOF
      results+=("$out")
    done
  done
done
if [[ -n $JSON_OUT ]]; then
  python3 - "$JSON_OUT" "${results[@]}" <<'EOF'
import json, sys
json.dump([json.load(open(p)) for p in sys.argv[2:]], open(sys.argv[1], "w"), indent=2)
EOF
fi
