#!/usr/bin/env bash
# `docker stats --no-stream` over N running containers, two berthd builds on the same containers
# in one run (issue 15, target 3): N `busybox sleep` containers (`--network none`) started once,
# then rounds in which each checkout's berthd in turn is started on the same roots (a live
# restore, the containers untouched), left a moment, and timed over `stats --no-stream` — its
# wall time, berthd's CPU time meanwhile and the rows the CLI left blank — interleaved, so that
# the machine's load moves both alike.
#
#   BERTH_BASE=/path/to/other/checkout bash bench/stats-ab.sh [N] [rounds]   (default 300, 3)
#   bash bench/stats-ab.sh 300 3          (this checkout alone)
#   PROF=1 ...                            (this checkout's berthd with --cpu-prof, into $PROF_DIR
#                                          or /tmp/stats-prof; and `strace -c -f` of one run)
#
# Each round also times the docker CLI alone (bench/fake-engine.ts answering at once with what
# Berth answered): the floor under any daemon's figure at that moment's load.
# Between runs the daemon is restarted and left 2 s, so that no run reuses the previous one's
# samples (a read within the last second serves as precpu): each pays the full path.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-300}
ROUNDS=${2:-3}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
pids=()
cleanup() {
  if [ -S "$BERTH_SOCK" ]; then
    docker -H "unix://$BERTH_SOCK" ps -aq 2>/dev/null | xargs -r -n 100 docker -H "unix://$BERTH_SOCK" rm -f >/dev/null 2>&1 || true
  fi
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
cpu_of() { awk '{print ($14 + $15) * 10}' "/proc/$1/stat"; }

start_berthd --bridge none --live-restore
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
h="unix://$BERTH_SOCK"
export h
seq 1 "$N" | xargs -P "${JOBS:-4}" -I{} docker -H "$h" run -d --network none busybox sleep 36000 >/dev/null
echo "$N started, load $(load)" >&2

# Starts the berthd of checkout $1 on this run's roots (the previous one stopped first).
run_from() {
  local pid prof=()
  pid=$(cat "$WORK/berthd.pid")
  kill "$pid"
  while [ -e "/proc/$pid" ]; do sleep 0.05; done
  if [ "${PROF:-0}" = 1 ] && [ "$1" = "$PWD" ]; then
    prof=(--cpu-prof --cpu-prof-dir="${PROF_DIR:-/tmp/stats-prof}")
  fi
  (cd "$1" && NODE_COMPILE_CACHE="$1/build/node-compile-cache" exec ./bin/node --max-semi-space-size=4 \
    --external-memory-accounted-in-global-limit "${prof[@]}" -- src/daemon/boot.js \
    --data-root "$WORK/berth" --exec-root "$WORK/berth-run" -H "unix://$BERTH_SOCK" --pidfile "$WORK/berthd.pid" \
    --log-level warn --bridge none --live-restore 2>>"$WORK/berthd.log") &
  pids+=($!)
  sleep 0.5
  wait_sock "$BERTH_SOCK"
  until [ "$(docker -H "$h" ps -q | wc -l)" -ge "$N" ]; do sleep 0.1; done
  sleep 2
}

# The clients' floor: the fake engine with this daemon's list and one of its stats answers.
curl -s --unix-socket "$BERTH_SOCK" "http://localhost/v1.45/containers/json?all=1" >"$WORK/list.json"
curl -s --unix-socket "$BERTH_SOCK" "http://localhost/v1.45/version" >"$WORK/version.json"
curl -s --unix-socket "$BERTH_SOCK" "http://localhost/v1.45/containers/$(docker -H "$h" ps -lq)/stats?stream=0" >"$WORK/stats.json"
bin/node bench/fake-engine.ts "$WORK/fake.sock" "$WORK" &
pids+=($!)
for _ in $(seq 1 100); do [ -S "$WORK/fake.sock" ] && break; sleep 0.05; done

checkouts=("$PWD")
[ -n "${BERTH_BASE:-}" ] && checkouts=("$BERTH_BASE" "$PWD")
for round in $(seq 1 "$ROUNDS"); do
  t=$(date +%s%N)
  docker -H "unix://$WORK/fake.sock" stats --no-stream >/dev/null
  echo "round $round the CLI alone (fake engine): $(ms "$t") ms, load $(load)"
  for co in "${checkouts[@]}"; do
    run_from "$co"
    p=$(cat "$WORK/berthd.pid")
    if [ "${PROF:-0}" = 1 ] && [ "$co" = "$PWD" ] && [ "$round" = 1 ]; then
      strace -c -f -p "$p" -o "$WORK/strace.txt" &
      st=$!
      sleep 0.5
    fi
    c=$(cpu_of "$p")
    t=$(date +%s%N)
    docker -H "$h" stats --no-stream >"$WORK/stats.out"
    w=$(ms "$t")
    blank=$(grep -c -- '^ *-- ' "$WORK/stats.out" || true)
    echo "round $round $([ "$co" = "$PWD" ] && echo this || echo base): ${w} ms (berthd CPU $(($(cpu_of "$p") - c)) ms, $blank of $(($(wc -l <"$WORK/stats.out") - 1)) blank), load $(load)"
    if [ -n "${st:-}" ]; then
      kill -INT "$st"
      wait "$st" || true
      st=
      head -25 "$WORK/strace.txt" >&2
    fi
  done
done
# The last daemon stopped cleanly (a --cpu-prof profile is written at exit); the containers go
# with cleanup.
run_from "${checkouts[0]}"
