#!/usr/bin/env bash
# `scripts/stop_pids.sh RUN_DIR`: SIGTERM to the process group of every RUN_DIR/*.pid, then waits until each
# has exited; what still runs after STOP_GRACE_SECONDS (default 30) gets SIGKILL, and says so. Returns only
# when every process it stopped is gone.
set -uo pipefail
run_dir=${1:?usage: stop_pids.sh RUN_DIR}
grace=${STOP_GRACE_SECONDS:-30}

# Alive: the process, or one of the group it leads, exists and is not a zombie (gone, only not yet reaped).
alive() {
  ps -e -o pid=,pgid=,stat= | awk -v id="$1" '($1 == id || $2 == id) && $3 !~ /^Z/ { found = 1 } END { exit !found }'
}

names=()
pids=()
for pidfile in "$run_dir"/*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  rm -f "$pidfile"
  alive "$pid" || continue
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
  names+=("$(basename "$pidfile" .pid)")
  pids+=("$pid")
done

deadline=$((SECONDS + grace))
for i in "${!pids[@]}"; do
  pid=${pids[$i]} name=${names[$i]}
  while alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if alive "$pid"; then
    echo "$name (pid $pid) still running ${grace} s after SIGTERM: killing it (SIGKILL)"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    for _ in $(seq 50); do alive "$pid" || break; sleep 0.2; done
  fi
  echo "stopped $name (pid $pid)"
done
