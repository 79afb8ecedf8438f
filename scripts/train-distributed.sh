#!/usr/bin/env bash
# Data-parallel training on one machine: starts N workers of the offline tool
# with the environment variables torchrun gives its workers (RANK, WORLD_SIZE,
# LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards SIGINT and
# SIGTERM to them, and fails as soon as one fails (the others are stopped:
# they would otherwise wait for it in the next all-reduce).
#
#   scripts/train-distributed.sh N [-- ] <sasrecllm arguments>
#   scripts/train-distributed.sh 2 -- train-sasrec --data ../shared/data/amazon-games/Video.txt \
#       --out runs/games --threads 1
#
# Only train-sasrec (next-item) and train-hybrid train data-parallel; --batch-size
# stays the global batch (each rank takes 1/N of it). Rank 0 prints and writes
# what one process would; the other ranks' lines are prefixed "[rank R]".
#
# Several machines: run this script on each with the same MASTER_ADDR (rank
# 0's machine, reachable from all), MASTER_PORT, NNODES, and NODE_RANK = 0 on
# rank 0's machine, 1, 2, ... on the others; rank = NODE_RANK * N + local rank.
# Or start the workers with torchrun, or by hand with the same variables.
#
# Environment:
#   MASTER_ADDR=127.0.0.1  rank 0's host: it hosts the TCPStore rendezvous
#   MASTER_PORT            Default: a free port (one machine); 29500 when NNODES > 1
#   NNODES=1 NODE_RANK=0   machines, and this one's index
#   SASRECLLM=build/sasrecllm (of this checkout)  the binary to run
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage() { echo "usage: $0 N [--] <sasrecllm arguments>" >&2; exit 2; }
[ $# -ge 1 ] || usage
N=$1; shift
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "$0: N must be a positive integer, got '$N'" >&2; usage; }
[ "${1:-}" = "--" ] && shift
[ $# -ge 1 ] || usage
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
BIN=${SASRECLLM:-$ROOT/${BUILD_DIR:-build}/sasrecllm}
[ -x "$BIN" ] || { echo "$0: $BIN is not built (cmake --build build --target sasrecllm)" >&2; exit 1; }

export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
if [ -z "${MASTER_PORT:-}" ]; then
  if [ "$NNODES" -gt 1 ]; then
    MASTER_PORT=29500
  else  # a free port, as torchrun --standalone picks one
    MASTER_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
  fi
fi
export MASTER_PORT
export WORLD_SIZE=$((NNODES * N)) LOCAL_WORLD_SIZE=$N
echo "train-distributed: $N workers on this machine (node $NODE_RANK of $NNODES), world size" \
  "$WORLD_SIZE, rendezvous $MASTER_ADDR:$MASTER_PORT" >&2

declare -A RANK_OF=()  # live workers: pid -> rank
stop_all() {
  for pid in "${!RANK_OF[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
}
trap 'echo "train-distributed: signal received, stopping the workers" >&2; stop_all' INT TERM

for ((local = 0; local < N; ++local)); do
  rank=$((NODE_RANK * N + local))
  if [ "$rank" = 0 ]; then
    RANK=$rank LOCAL_RANK=$local GROUP_RANK=$NODE_RANK "$BIN" "$@" &
  else
    RANK=$rank LOCAL_RANK=$local GROUP_RANK=$NODE_RANK "$BIN" "$@" \
      > >(sed -u "s/^/[rank $rank] /") 2> >(sed -u "s/^/[rank $rank] /" >&2) &
  fi
  RANK_OF[$!]=$rank
done

# The first failure stops the others; its exit code is the script's. (Polled:
# bash keeps a finished background job's status for `wait PID`.)
rc=0
while [ "${#RANK_OF[@]}" -gt 0 ]; do
  sleep 0.2
  for pid in "${!RANK_OF[@]}"; do
    kill -0 "$pid" 2>/dev/null && continue
    status=0
    wait "$pid" || status=$?
    rank=${RANK_OF[$pid]}
    unset "RANK_OF[$pid]"
    if [ "$status" -ne 0 ] && [ "$rc" -eq 0 ]; then
      rc=$status
      echo "train-distributed: rank $rank (pid $pid) failed with exit code $status;" \
        "stopping the others" >&2
      stop_all
    fi
  done
done
exit "$rc"
