#!/usr/bin/env bash
# Times `docker run --rm busybox true` on the default bridge of an `--icc=false` daemon — each
# start isolates its bridge port (network/user.ts's isolate) — against this checkout's berthd,
# BERTH_BASE's (default /work/main) and dockerd, runs interleaved; no warm pool, so that the
# isolation is on every start's path rather than the pool's refill. Reports medians, ratios.
#
#   BERTH_BASE=/work/main bash bench/icc-start.sh [runs]
#
# Every daemon runs privately on a temporary root with a bridge of its own (never berth0 or
# docker0). dockerd gets --iptables=false, so it adds no rules to the host — and then enforces
# no icc either: its figure is the start on a bridge, for scale. Everything is removed at the
# end. Needs root, and dockerd.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-20}
BERTH_BASE=${BERTH_BASE:-/work/main}
WORK=$(mktemp -d /tmp/berth-benchicc-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
BASE_SOCK=$WORK/base.sock
DOCKERD_SOCK=$WORK/dockerd.sock
BBR=bnicc$(( $$ % 10000 ))
ABR=baicc$(( $$ % 10000 ))
DBR=bdicc$(( $$ % 10000 ))
pids=()
cleanup() {
  remove_all_and_stop
  for b in "$DBR" "$BBR" "$ABR"; do ip link del "$b" 2>/dev/null || true; done
  for b in "$BBR" "$ABR"; do nft delete table ip "berth_$b" 2>/dev/null || true; done
}
trap cleanup EXIT

start_berthd --bridge "$BBR" --icc=false --warm-pool 0
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
(cd "$BERTH_BASE" && exec ./bin/berthd --data-root "$WORK/base-root" --exec-root "$WORK/base-run" -H "unix://$BASE_SOCK" \
  --pidfile "$WORK/base.pid" --log-level warn --bridge "$ABR" --icc=false --warm-pool 0 2>"$WORK/base.log") &
pids+=($!)
wait_sock "$BASE_SOCK"
docker -H "unix://$BASE_SOCK" load -i "$WORK/busybox.tar" >/dev/null
start_dockerd_on_bridge "$DBR"
docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A times=([this]="" [base]="" [dockerd]="")
for i in $(seq -1 "$RUNS"); do
  order=(this base dockerd)
  [ $((i % 3)) = 1 ] && order=(base dockerd this)
  [ $((i % 3)) = 2 ] && order=(dockerd this base)
  for k in "${order[@]}"; do
    case $k in this) s=$BERTH_SOCK ;; base) s=$BASE_SOCK ;; dockerd) s=$DOCKERD_SOCK ;; esac
    t0=$(date +%s%N)
    docker -H "unix://$s" run --rm busybox true >/dev/null
    t1=$(date +%s%N)
    [ "$i" -ge 1 ] && times[$k]+="$(( (t1 - t0) / 1000 )) " # the first two rounds warm up
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
bin/node -e '
const [t, b, d] = process.argv.slice(1).map((s) => s.trim().split(/\s+/).map(Number).map((x) => x / 1000));
const med = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
const p90 = (v) => [...v].sort((x, y) => x - y)[Math.floor(v.length * 0.9)];
for (const [k, v] of [["this checkout", t], ["BERTH_BASE", b], ["dockerd", d]])
  console.log(`  ${k.padEnd(14)} median ${med(v).toFixed(1)} ms, p90 ${p90(v).toFixed(1)} ms (${v.length} runs)`);
console.log(`  this/base ${(med(t) / med(b)).toFixed(2)}x, this/dockerd ${(med(t) / med(d)).toFixed(2)}x`);
' "${times[this]}" "${times[base]}" "${times[dockerd]}"
