#!/usr/bin/env bash
# The start of a default container (`docker run --rm --network none busybox true`, the warm
# pool on) under this checkout's berthd and under BERTH_BASE's (default /work/main), rounds
# interleaved, both on temporary roots: what the seccomp profile a checkout builds costs a
# start (its filter is compiled once, then loaded from the cache into every container).
# Prints each one's median and min in ms, the ratio of medians, and the load.
#
#   bash bench/seccomp-start.sh [rounds]      (default 20; BERTH_BASE=<checkout>)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-20}
BASE=${BERTH_BASE:-/work/main}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
pids=()
trap remove_all_and_stop EXIT
start_at() { # dir name
  local sock=$WORK/$2.sock
  (cd "$1" && exec ./bin/berthd --data-root "$WORK/$2" --exec-root "$WORK/$2-run" -H "unix://$sock" \
    --pidfile "$WORK/$2.pid" --log-level warn --bridge none 2>"$WORK/$2.log") &
  pids+=($!)
  wait_sock "$sock"
  "$1/bin/berth" -H "unix://$sock" image bootstrap busybox >/dev/null
  for _ in 1 2 3; do docker -H "unix://$sock" run --rm --network none busybox true; done
}
start_at "$PWD" this
start_at "$BASE" base
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$ROUNDS"); do
  for side in this base; do
    a=$(date +%s%N)
    docker -H "unix://$WORK/$side.sock" run --rm --network none busybox true
    echo "$side $((($(date +%s%N) - a) / 1000))"
  done
done >"$WORK/times"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$WORK/times" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    side, us = line.split()
    d[side].append(int(us) / 1000)
for side in ('this', 'base'):
    print(f'{side}: median {statistics.median(d[side]):.1f} ms, min {min(d[side]):.1f} ms ({len(d[side])} runs)')
print(f"ratio this/base (medians): {statistics.median(d['this']) / statistics.median(d['base']):.3f}")
PY
