#!/usr/bin/env bash
# Networking benchmarks, Berth against dockerd on the same machine in one run:
#
#  1. `docker run --rm busybox true` on each daemon's default bridge (dockerd on a private
#     bridge of its own with --iptables=false, so it never touches docker0 or iptables chains);
#  2. FILL containers (default 200) started one after another on one user network: the time
#     of each `docker run -d`, in groups of 20, and the time of 20 DNS lookups of container
#     names from inside a container, measured early and when the network is full.
#
#   bash bench/network.sh [runs] [fill]
#
# Needs root and hyperfine. Everything it makes (daemons, bridges, rules) goes at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-20}
FILL=${2:-200}
WORK=$(mktemp -d /tmp/berth-netbench-XXXXXX)
B=$WORK/berth.sock
D=$WORK/dockerd.sock
BR=bbnb$$
DBR=bdnb$$
pids=()
cleanup() {
  # dockerd leaves a user network's bridge (br-<id>) behind when it stops: remove the network first.
  [ -S "$D" ] && docker -H "unix://$D" rm -f $(docker -H "unix://$D" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
  [ -S "$D" ] && docker -H "unix://$D" network rm benchnet >/dev/null 2>&1 || true
  stop_daemons
  ip link del "$DBR" 2>/dev/null || true
  ip link del "$BR" 2>/dev/null || true
  nft delete table ip "berth_$BR" 2>/dev/null || true
  nft delete table ip "berth_${BR}_nets" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
ms() { date +%s%N; }

./bin/berthd --data-root "$WORK/berth" --exec-root "$WORK/berth-run" -H "unix://$B" --pidfile "$WORK/berthd.pid" \
  --bridge "$BR" --log-level warn 2>"$WORK/berthd.log" &
pids+=($!)
wait_sock "$B"
./bin/berth -H "unix://$B" image bootstrap busybox >/dev/null
docker -H "unix://$B" save busybox -o "$WORK/busybox.tar"

cmds=(-n berth-bridge "docker -H unix://$B run --rm busybox true")
if command -v dockerd >/dev/null; then
  ip link add "$DBR" type bridge
  ip addr add 10.213.0.1/24 dev "$DBR"
  ip link set "$DBR" up
  dockerd --data-root "$WORK/dockerd" --exec-root "$WORK/dockerd-run" -H "unix://$D" --pidfile "$WORK/dockerd.pid" \
    --bridge "$DBR" --iptables=false --ip-masq=false --log-level warn >"$WORK/dockerd.log" 2>&1 &
  pids+=($!)
  wait_sock "$D"
  docker -H "unix://$D" load -i "$WORK/busybox.tar" >/dev/null
  cmds+=(-n dockerd-bridge "docker -H unix://$D run --rm busybox true")
fi
echo "== docker run --rm busybox true, default bridge" >&2
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/run.json" "${cmds[@]}" >&2
bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]));
for (const [k, v] of Object.entries(med)) console.log(`${k}: median ${v.toFixed(1)} ms`);
if (med["berth-bridge"] && med["dockerd-bridge"]) console.log(`ratio berth/dockerd: ${(med["berth-bridge"] / med["dockerd-bridge"]).toFixed(3)}`);
' "$WORK/run.json"

fill() { # fill <sock> <label>
  local s=$1 label=$2 t0 t1 i
  docker -H "unix://$s" network create benchnet >/dev/null
  docker -H "unix://$s" run -d --name c1 --network benchnet busybox sleep 3600 >/dev/null
  lookups() { # 20 lookups of names spread over the containers started so far
    local n=$1 names="" k
    for k in $(seq 1 20); do names="$names c$(( (k * 7919) % n + 1 ))"; done
    t0=$(ms)
    if ! docker -H "unix://$s" exec c1 sh -c "for x in $names; do nslookup \$x >/dev/null || { echo \"lookup of \$x failed\"; exit 1; }; done"; then
      echo "$label: lookups failed" >&2
    fi
    t1=$(ms)
    local t2 t3
    t2=$(ms); docker -H "unix://$s" exec c1 true; t3=$(ms)
    echo "$label: 20 lookups with $n containers: $(( (t1 - t0 - (t3 - t2)) / 1000000 )) ms (an empty exec's time taken off)"
  }
  local group=0 gstart
  gstart=$(ms)
  for i in $(seq 2 "$FILL"); do
    docker -H "unix://$s" run -d --name "c$i" --network benchnet busybox sleep 3600 >/dev/null
    if (( i % 20 == 0 )); then
      t1=$(ms)
      echo "$label: containers $((i - 19))-$i: $(( (t1 - gstart) / 20000000 )) ms per run -d"
      if (( i == 20 )); then lookups "$i"; fi
      gstart=$(ms)
    fi
  done
  lookups "$FILL"
  docker -H "unix://$s" rm -f $(docker -H "unix://$s" ps -aq) >/dev/null
  docker -H "unix://$s" network rm benchnet >/dev/null
}
echo "== $FILL containers on one user network" >&2
fill "$B" berth
if [ -S "$D" ]; then fill "$D" dockerd; fi
