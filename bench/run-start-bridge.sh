#!/usr/bin/env bash
# Times `docker run --rm busybox true` on the default bridge against berthd and dockerd in one
# run, and without networking on both for reference; reports medians and ratios.
#
#   bash bench/run-start-bridge.sh [runs]
#
# Both daemons run privately on temporary roots with bridges of their own (never berth0 or
# docker0): Berth creates `bnbench<pid>`; dockerd gets a bridge made here and runs with
# --iptables=false, so it adds no rules to the host (its containers have no NAT; the start
# still pays for the sandbox, veth and IPAM). Everything is removed at the end. Needs root,
# and dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-20}
WORK=$(mktemp -d /tmp/berth-benchbr-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
BBR=bnbench$(( $$ % 10000 ))
DBR=bdbench$(( $$ % 10000 ))
pids=()
cleanup() {
  stop_daemons
  ip link del "$DBR" 2>/dev/null || true
  ip link del "$BBR" 2>/dev/null || true
  nft delete table ip "berth_$BBR" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT


./bin/berthd --data-root "$WORK/berth" --exec-root "$WORK/berth-run" -H "unix://$BERTH_SOCK" --pidfile "$WORK/berthd.pid" --bridge "$BBR" --log-level warn 2>"$WORK/berthd.log" &
pids+=($!)
wait_sock "$BERTH_SOCK"
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"

start_dockerd_on_bridge "$DBR"
docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null

# Interleaved, one run of each command in turn, so that the shared machine's changing load
# falls on all four alike (hyperfine would time each command in its own stretch).
cmds=(
  "berth-bridge|docker -H unix://$BERTH_SOCK run --rm busybox true"
  "dockerd-bridge|docker -H unix://$DOCKERD_SOCK run --rm busybox true"
  "berth-none|docker -H unix://$BERTH_SOCK run --rm --network none busybox true"
  "dockerd-none|docker -H unix://$DOCKERD_SOCK run --rm --network none busybox true"
)
for c in "${cmds[@]}"; do for _ in 1 2 3; do ${c#*|} >/dev/null; done; done  # warm-up
: >"$WORK/times"
for _ in $(seq 1 "$RUNS"); do
  for c in "${cmds[@]}"; do
    s=$(date +%s%N); ${c#*|} >/dev/null; e=$(date +%s%N)
    echo "${c%%|*} $(( (e - s) / 1000 ))" >>"$WORK/times"
  done
done
bin/node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
const by = {};
for (const l of lines) { const [k, v] = l.split(" "); (by[k] ??= []).push(Number(v) / 1000); }
const med = {};
for (const [k, v] of Object.entries(by)) {
  v.sort((a, b) => a - b);
  med[k] = v[Math.floor(v.length / 2)];
  console.log(`${k}: median ${med[k].toFixed(1)} ms, p25 ${v[Math.floor(v.length / 4)].toFixed(1)} ms, n=${v.length}`);
}
console.log(`ratio berth/dockerd on the bridge: ${(med["berth-bridge"] / med["dockerd-bridge"]).toFixed(3)}`);
console.log(`ratio berth/dockerd without networking: ${(med["berth-none"] / med["dockerd-none"]).toFixed(3)}`);
console.log(`bridge cost: berth +${(med["berth-bridge"] - med["berth-none"]).toFixed(1)} ms, dockerd +${(med["dockerd-bridge"] - med["dockerd-none"]).toFixed(1)} ms`);
' "$WORK/times"
