# Shared by the bench scripts (sourced): waiting for a daemon's socket, and stopping the
# daemons a script started (their pids in `pids`) and unmounting what they left under $WORK.

wait_sock() {
  for _ in $(seq 1 300); do
    [ -S "$1" ] && docker -H "unix://$1" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "daemon on $1 did not start" >&2
  exit 1
}

stop_daemons() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  grep -o "$WORK[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}

# The checkout's helpers (berth-launcher and others) rebuilt if their source changed, hyperfine
# installed: a bench must time the code it is run from.
bash scripts/setup.sh >&2
