# Shared by the serving benchmarks (serving.sh, hybrid-serving.sh); sourced
# after the caller has set BENCH_NAME (its name in messages) and CLIENT (the
# sasrecllm-client binary).
#
#   bench_begin               WORK: a fresh folder, removed on exit together
#                             with a still-running server ($SERVER_PID)
#   bench_wait_listening LOG TRIES HEALTH_WAIT_S
#                             after starting a server in the background:
#                             waits (TRIES x 0.1 s) for "listening on H:PORT"
#                             in LOG, sets TARGET and waits for its health
#   stop_server               stops $SERVER_PID; a non-zero exit fails the run
#   bench_pin_defaults        SERVER_CPUS=0 and CLIENT_CPUS=the others on 2+ CPUs,
#                             else "-" (no pinning); callers' flags may override
#   bench_pin                 SERVER_PIN / CLIENT_PIN: "taskset -c LIST" prefixes
#                             (taskset execs the command: $! stays the server's
#                             pid), or empty for "-"
#   bench_usage               prints the calling script's header comment (its
#                             usage) and exits 2
# It also sets ROOT, the repository's root.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
}

bench_cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true
  fi
  rm -rf "$WORK"
}

bench_begin() {
  WORK=$(mktemp -d)
  SERVER_PID=
  trap bench_cleanup EXIT
}

bench_wait_listening() {
  local log=$1 tries=$2 health_wait_s=$3
  SERVER_PID=$!
  local port=
  for _ in $(seq "$tries"); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$log" | head -1)
    [[ -n $port ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n $port ]] || { echo "$BENCH_NAME: server did not start" >&2; cat "$log" >&2; exit 1; }
  TARGET=127.0.0.1:$port
  "$CLIENT" --target "$TARGET" health --wait-s "$health_wait_s" >/dev/null
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || { echo "$BENCH_NAME: server exited $?" >&2; exit 1; }
  SERVER_PID=
}

bench_pin_defaults() {
  if [[ $(nproc) -ge 2 ]]; then
    SERVER_CPUS=0
    CLIENT_CPUS=1-$(($(nproc) - 1))
  else
    SERVER_CPUS=-
    CLIENT_CPUS=-
  fi
}

bench_pin() {
  SERVER_PIN=(); [[ $SERVER_CPUS == - ]] || SERVER_PIN=(taskset -c "$SERVER_CPUS")
  CLIENT_PIN=(); [[ $CLIENT_CPUS == - ]] || CLIENT_PIN=(taskset -c "$CLIENT_CPUS")
  echo "server CPUs: $SERVER_CPUS, client CPUs: $CLIENT_CPUS" >&2
}
