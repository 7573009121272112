#!/usr/bin/env bash
# What a start on a user network costs the kernel with none and with N running on that network
# (issue 15 targets 3 and 5): besides the `docker run -d` wall median and berthd's CPU a start,
# the packets the network's bridge carried to its ports (every container's host end: their
# `tx_packets`) during a batch and 3 s after, a start, and the machine's interrupt + softirq
# CPU a start — where the kernel pays for what one container's interface sends to all the
# others (its IPv6 link-local chatter, before this was turned off; see docs/benchmarks.md).
# The wall times follow the load; the packets do not.
#
#   bash bench/usernet-at-n.sh [containers] [starts a batch]     (default 400, 10)
#   SUBNET=10.236.0.0/16 bash bench/usernet-at-n.sh               (if 10.237.0.0/16 is taken)
#
# Needs root. Batches at 0, then N started two at a time on the network, batches at N, and the
# packets the bridge carried in 10 s with nothing starting, right after the fill and at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
N=${1:-400}
PER=${2:-10}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
h=unix://$BERTH_SOCK
pids=()
cleanup() {
  docker -H "$h" ps -aq 2>/dev/null | xargs -r -n 100 docker -H "$h" rm -f >/dev/null 2>&1 || true
  docker -H "$h" network rm flatnet >/dev/null 2>&1 || true
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT
start_berthd --bridge none
./bin/berth -H "$h" image bootstrap busybox >/dev/null
docker -H "$h" network create --subnet "${SUBNET:-10.237.0.0/16}" flatnet >/dev/null
br=bn-$(docker -H "$h" network inspect -f '{{.Id}}' flatnet | cut -c1-12)
bpid=$(cat "$WORK/berthd.pid")

# Packets the bridge has carried to its ports so far.
carried() {
  local s=0 d
  for d in "/sys/class/net/$br/brif/"*; do
    [ -e "$d" ] || continue
    s=$((s + $(cat "/sys/class/net/$(basename "$d")/statistics/tx_packets")))
  done
  echo "$s"
}
irq_ms() { awk '/^cpu / {print ($7 + $8) * 10}' /proc/stat; }
berthd_ms() { awk '{print ($14 + $15) * 10}' "/proc/$bpid/stat"; }
idle() { local a; a=$(carried); sleep 10; echo "$(($(carried) - a)) packets to the bridge's ports in 10 s with nothing starting"; }

batch() {
  local tag=$1 t b0 p0 k0
  b0=$(berthd_ms)
  p0=$(carried)
  k0=$(irq_ms)
  : >"$WORK/t"
  for _ in $(seq "$PER"); do
    t=$(date +%s%N)
    docker -H "$h" run -d --network flatnet busybox sleep 36000 >/dev/null
    echo $((($(date +%s%N) - t) / 1000000)) >>"$WORK/t"
  done
  sleep 3
  echo "$tag ($(docker -H "$h" ps -q | wc -l) running, load $(cut -d' ' -f1 /proc/loadavg)): run median $(sort -n "$WORK/t" | sed -n "$(((PER + 1) / 2))p") ms," \
    "berthd CPU $((($(berthd_ms) - b0) / PER)) ms, packets to the bridge's ports $((($(carried) - p0) / PER))," \
    "irq + softirq $((($(irq_ms) - k0) / PER)) ms (the machine's), a start"
}

batch "warm-up"
batch "at 0"
batch "at 0"
t=$(date +%s)
seq 1 "$N" | xargs -P 2 -I{} docker -H "$h" run -d --network flatnet busybox sleep 36000 >/dev/null
echo "$N started on the network in $(($(date +%s) - t)) s; $(idle)"
batch "at N"
batch "at N"
batch "at N"
echo "at the end: $(idle)"
