#!/usr/bin/env bash
# What a start costs Berth with none and with N running (issue 15 target 5), in CPU time, which
# the load inflates far less than the wall time: berthd runs in a cgroup of its own (cpuacct on
# a v1/hybrid host, else cgroup2), so its monitors and the runtime's `create` — everything Berth
# spends on a start but the container's own process, which moves to the container's cgroup —
# count there; berthd's own share is read from /proc apart.
#
#   bash bench/start-at-n.sh [containers] [starts a batch]     (default 600, 20)
#   EXTRA=1500 bash bench/start-at-n.sh                         (the mount-table part, see below)
#   BASE_CRUN=/tmp/berth-crun.main bash bench/start-at-n.sh 500  (A/B of the crun wrapper)
#
# Batches of starts (half `--network none`, half on a user network) at 0 running, then N started
# four at a time, then batches again. Each batch: CPU per start (all, system, berthd), wall
# median, the load. berthd runs in a private mount namespace of its own, so its containers'
# rootfs mounts stay out of the host's; with EXTRA set, the batches at N alternate between its
# namespace as it is and with EXTRA more (tmpfs) mounts in it — what every container's
# clone(CLONE_NEWNS), and berth-crun's unshare on hybrid hosts, copy.
# With BASE_CRUN set (another build of berth-crun, e.g. main's: `git show
# main:src/runtime/berth-crun.c > x.c && cc -O2 -o /tmp/berth-crun.main x.c`), the batches at 0
# and at N alternate between this checkout's build/berth-crun and that one, swapped in place
# between batches under the same daemon (the original is put back at the end): the wrapper's
# part of a start, A/B in one run.
# Needs root, python3 (for the EXTRA mounts).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-600}
PER=${2:-20}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
h=unix://$BERTH_SOCK
if [ -d /sys/fs/cgroup/cpuacct ]; then CG=/sys/fs/cgroup/cpuacct/berth-bench-$$; else CG=/sys/fs/cgroup/berth-bench-$$; fi
mkdir "$CG"
bpid=
WRAPPER=build/berth-crun
if [ -n "${BASE_CRUN:-}" ]; then cp "$WRAPPER" "$WORK/berth-crun.this"; fi
# Swaps the wrapper berthd runs for `$1` (a rename: a create running the old one keeps it).
use_wrapper() {
  cp "$1" "$WRAPPER.swap"
  mv -f "$WRAPPER.swap" "$WRAPPER"
}
cleanup() {
  if [ -n "${BASE_CRUN:-}" ] && [ -f "$WORK/berth-crun.this" ]; then use_wrapper "$WORK/berth-crun.this"; fi
  docker -H "$h" ps -aq 2>/dev/null | xargs -r -n 100 docker -H "$h" rm -f >/dev/null 2>&1 || true
  docker -H "$h" network rm startnet >/dev/null 2>&1 || true
  if [ -n "$bpid" ]; then
    kill "$bpid" 2>/dev/null || true
    while [ -e "/proc/$bpid" ]; do sleep 0.1; done
  fi
  rm -rf "$WORK"
  rmdir "$CG" 2>/dev/null || true
}
trap cleanup EXIT

# CPU ns of everything in the cgroup so far: all, then system.
cg_cpu() {
  if [ -f "$CG/cpuacct.usage" ]; then
    echo "$(cat "$CG/cpuacct.usage") $(cat "$CG/cpuacct.usage_sys")"
  else
    awk '/^usage_usec/ {u = $2 * 1000} /^system_usec/ {s = $2 * 1000} END {print u, s}' "$CG/cpu.stat"
  fi
}
berthd_ms() { awk '{print ($14 + $15) * 10}' "/proc/$bpid/stat"; }

bash -c "echo \$\$ >$CG/cgroup.procs; exec unshare -m --propagation private ./bin/berthd --data-root $WORK/berth --exec-root $WORK/run -H $h --pidfile $WORK/berthd.pid --log-level warn --bridge none" 2>"$WORK/berthd.log" &
wait_sock "$BERTH_SOCK"
bpid=$(cat "$WORK/berthd.pid")
./bin/berth -H "$h" image bootstrap busybox >/dev/null
docker -H "$h" network create --subnet "${SUBNET:-10.234.0.0/16}" startnet >/dev/null
mkdir -p "$WORK/m"

batch() {
  local tag=$1 c0 b0 t net
  read -r -a c0 <<<"$(cg_cpu)"
  b0=$(berthd_ms)
  : >"$WORK/t"
  for i in $(seq "$PER"); do
    net=none
    [ $((i % 2)) = 0 ] && net=startnet
    t=$(date +%s%N)
    docker -H "$h" run -d --network "$net" busybox sleep 36000 >/dev/null
    echo $((($(date +%s%N) - t) / 1000000)) >>"$WORK/t"
  done
  read -r -a c1 <<<"$(cg_cpu)"
  echo "$tag ($(docker -H "$h" ps -q | wc -l) running, $(nsenter -t "$bpid" -m cat /proc/self/mountinfo | wc -l) mounts in berthd's namespace):" \
    "CPU a start $(((c1[0] - c0[0]) / PER / 1000000)) ms (system $(((c1[1] - c0[1]) / PER / 1000000)), berthd $((($(berthd_ms) - b0) / PER))," \
    "wall median $(sort -n "$WORK/t" | sed -n "$(((PER + 1) / 2))p") ms, load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Two batches, or with BASE_CRUN two pairs, this wrapper's and the base's alternating.
batches() {
  if [ -z "${BASE_CRUN:-}" ]; then
    batch "$1"
    batch "$1"
    return
  fi
  for order in "this base" "base this"; do
    for w in $order; do
      if [ "$w" = base ]; then use_wrapper "$BASE_CRUN"; else use_wrapper "$WORK/berth-crun.this"; fi
      batch "$1, $w berth-crun"
    done
  done
  use_wrapper "$WORK/berth-crun.this"
}

batch warm-up
batches "at 0"
seq 1 "$N" | xargs -P 4 -I{} bash -c 'i={}; net=none; [ $((i % 2)) = 0 ] && net=startnet; docker -H "'"$h"'" run -d --network $net busybox sleep 36000 >/dev/null'
sleep 3
batches "at N"
if [ -n "${EXTRA:-}" ]; then
  for _ in 1 2 3; do
    nsenter -t "$bpid" -m mount -t tmpfs -o size=1m bench "$WORK/m"
    # One process for all of them: a mount(8) each would take minutes under load.
    nsenter -t "$bpid" -m python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for i in range(int(sys.argv[2])):
    p = os.path.join(sys.argv[1], str(i))
    os.mkdir(p)
    if libc.mount(b"bench", p.encode(), b"tmpfs", 0, b"size=4k") != 0:
        sys.exit(os.strerror(ctypes.get_errno()))
' "$WORK/m" "$EXTRA"
    batch "at N, +$EXTRA mounts"
    nsenter -t "$bpid" -m umount -l "$WORK/m"
    batch "at N"
  done
fi
