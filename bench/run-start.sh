#!/usr/bin/env bash
# Times `docker run --rm busybox true` against berthd and, where installed, against dockerd on
# the same machine in one run, and reports medians and the ratio (Berth / dockerd).
#
#   bash bench/run-start.sh [runs]
#
# Both daemons run privately on temporary roots; both get the same busybox image (Berth
# bootstraps it and saves it; dockerd loads that archive). Needs root and hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-30}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
cleanup() {
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT


start_berthd
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"

# Both without networking (issue 2); the bridge is compared by the networking bench.
cmds=(-n berth "docker -H unix://$BERTH_SOCK run --rm --network none busybox true")
if command -v dockerd >/dev/null; then
  start_dockerd
  docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null
  cmds+=(-n dockerd "docker -H unix://$DOCKERD_SOCK run --rm --network none busybox true")
else
  echo "dockerd is not installed (apt-get install docker.io): timing Berth alone" >&2
fi

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/result.json" "${cmds[@]}" >&2
bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]));
for (const [k, v] of Object.entries(med)) console.log(`${k}: median ${v.toFixed(1)} ms`);
if (med.berth && med.dockerd) console.log(`ratio berth/dockerd: ${(med.berth / med.dockerd).toFixed(3)}`);
' "$WORK/result.json"
