#!/usr/bin/env bash
# Everyday commands against berthd and dockerd side by side, with N containers present:
# `docker ps -a`, `docker inspect`, `docker exec`, `docker images`, `docker logs`, and
# `docker stop` + `docker start` of a running container. Reports medians and ratios.
#
#   bash bench/ops.sh [runs] [containers]
#
# Both daemons run privately on temporary roots with no networking, and get the same busybox
# image (Berth bootstraps it; dockerd loads Berth's save). Needs root, docker.io and hyperfine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-20}
COUNT=${2:-50}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
DOCKERD_SOCK=$WORK/dockerd.sock
pids=()
cleanup() {
  for s in "$BERTH_SOCK" "$DOCKERD_SOCK"; do
    [ -S "$s" ] && docker -H "unix://$s" ps -aq | xargs -r docker -H "unix://$s" rm -f >/dev/null 2>&1 || true
  done
  stop_daemons
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v dockerd >/dev/null; then
  echo "dockerd is not installed (apt-get install docker.io)" >&2
  exit 1
fi
./bin/berthd --data-root "$WORK/berth" --exec-root "$WORK/berth-run" -H "unix://$BERTH_SOCK" --pidfile "$WORK/berthd.pid" --bridge none --log-level warn 2>"$WORK/berthd.log" &
pids+=($!)
dockerd --data-root "$WORK/dockerd" --exec-root "$WORK/dockerd-run" -H "unix://$DOCKERD_SOCK" --pidfile "$WORK/dockerd.pid" \
  --bridge none --iptables=false --ip-masq=false --log-level warn >"$WORK/dockerd.log" 2>&1 &
pids+=($!)
wait_sock "$BERTH_SOCK"
wait_sock "$DOCKERD_SOCK"
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
docker -H "unix://$DOCKERD_SOCK" load -i "$WORK/busybox.tar" >/dev/null

for name in berth dockerd; do
  sock=$WORK/$name.sock
  # Half running, half exited, as on a machine in use; one that logs, one to exec into and restart.
  for i in $(seq 1 "$COUNT"); do
    if [ $((i % 2)) = 0 ]; then docker -H "unix://$sock" run -d --network none busybox sleep 3600 >/dev/null
    else docker -H "unix://$sock" run --network none busybox true >/dev/null; fi
  done
  docker -H "unix://$sock" run -d --network none --name target busybox sh -c 'seq 1 1000; exec sleep 3600' >/dev/null
done

cmds=()
for name in berth dockerd; do
  d="docker -H unix://$WORK/$name.sock"
  cmds+=(-n "ps-$name" "$d ps -a")
  cmds+=(-n "inspect-$name" "$d inspect target")
  cmds+=(-n "exec-$name" "$d exec target true")
  cmds+=(-n "images-$name" "$d images")
  cmds+=(-n "logs-$name" "$d logs --tail 100 target")
  cmds+=(-n "restart-$name" "$d restart -t 0 target")
done
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$WORK/result.json" "${cmds[@]}" >&2
bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]));
for (const op of ["ps", "inspect", "exec", "images", "logs", "restart"]) {
  const b = med[`${op}-berth`], d = med[`${op}-dockerd`];
  console.log(`${op.padEnd(8)} berth ${b.toFixed(1).padStart(7)} ms   dockerd ${d.toFixed(1).padStart(7)} ms   ratio ${(b / d).toFixed(2)}`);
}
' "$WORK/result.json"
