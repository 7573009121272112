#!/usr/bin/env bash
# How long a run's process takes from berthd's start byte to its command's exec, traced in the
# kernel (ftrace, a private instance of /sys/kernel/tracing): this checkout's berthd with its warm
# pool, the same without a pool (a cold run), and BERTH_BASE=<checkout>'s with its pool, RUNS
# interleaved rounds of one `docker run --rm --network none busybox true` each, 0.3 s apart.
# Per run: berthd's last one-byte write before the container's process reads its byte (the
# release of crun's exec FIFO, or the warm zygote's 'g'), that read, the zygote's own exec if
# any, and the exec of /bin/true; medians by bench/fifo-exec.ts. The events: one-byte reads and
# writes, execs and exits, machine-wide (others' processes are filtered out by pid afterwards).
#
#   bash bench/fifo-exec.sh [runs]
#
# The daemons run privately on temporary roots; the trace instance and everything else is
# removed at the end. Needs root and tracefs.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-20}
WORK=$(mktemp -d /tmp/berth-fifo-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
COLD_SOCK=$WORK/cold.sock
BASE_SOCK=$WORK/base.sock
BERTH_BASE=${BERTH_BASE:-}
T=/sys/kernel/tracing/instances/berth-fifo-$$
pids=()
finish() {
  [ -d "$T" ] && { echo 0 >"$T/tracing_on"; rmdir "$T"; }
  remove_all_and_stop
}
trap finish EXIT
start_berthd --warm-pool 2
./bin/berthd --data-root "$WORK/cold" --exec-root "$WORK/cold-run" -H "unix://$COLD_SOCK" --pidfile "$WORK/cold.pid" \
  --log-level warn --warm-pool 0 2>"$WORK/cold.log" &
pids+=($!)
wait_sock "$COLD_SOCK"
socks=("warm:$BERTH_SOCK" "cold:$COLD_SOCK")
if [ -n "$BERTH_BASE" ]; then
  (cd "$BERTH_BASE" && exec ./bin/berthd --data-root "$WORK/base" --exec-root "$WORK/base-run" -H "unix://$BASE_SOCK" \
    --pidfile "$WORK/base.pid" --log-level warn --warm-pool 2 2>"$WORK/base.log") &
  pids+=($!)
  wait_sock "$BASE_SOCK"
  socks+=("base:$BASE_SOCK")
fi
busybox_into "$COLD_SOCK" ${BERTH_BASE:+"$BASE_SOCK"}
mkdir "$T"
echo 8192 >"$T/buffer_size_kb"
echo 'ret == 1' >"$T/events/syscalls/sys_exit_read/filter"
echo 'count == 1' >"$T/events/syscalls/sys_enter_write/filter"
for e in syscalls/sys_exit_read syscalls/sys_enter_write syscalls/sys_enter_execve sched/sched_process_exec sched/sched_process_exit; do
  echo 1 >"$T/events/$e/enable"
done
for s in "${socks[@]}"; do for _ in 1 2 3; do docker -H "unix://${s#*:}" run --rm --network none busybox true; done; done
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
mkdir "$WORK/traces"
cp "$WORK/berthd.pid" "$WORK/traces/warm.pid"
cp "$WORK/cold.pid" "$WORK/traces/cold.pid"
[ -n "$BERTH_BASE" ] && cp "$WORK/base.pid" "$WORK/traces/base.pid"
for i in $(seq "$RUNS"); do
  for s in "${socks[@]}"; do
    sleep 0.3
    echo >"$T/trace"
    echo 1 >"$T/tracing_on"
    docker -H "unix://${s#*:}" run --rm --network none busybox true
    echo 0 >"$T/tracing_on"
    cp "$T/trace" "$WORK/traces/${s%%:*}-$i.trace"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
bin/node bench/fifo-exec.ts "$WORK/traces"
