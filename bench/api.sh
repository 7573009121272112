#!/usr/bin/env bash
# The daemon alone: the Engine API calls behind the everyday `docker` commands (ps, inspect,
# logs, top, exec, stop/start, restart, kill, pause, rename, volumes, networks, system df,
# info, version, events, cp, diff, wait, commit, tag, image rm, history, save, load), timed at
# the socket by bench/api-driver.ts, Berth against dockerd (and BERTHD_BASE=<another
# checkout>'s berthd) in one run, rounds interleaved. With ~50 containers present, half running.
#
#   bash bench/api.sh [rounds] [containers]        (OPS=<regexp> runs only the matching ops)
#
# Prints a table sorted worst ratio first: medians and 90th percentiles per daemon, the
# ratio of Berth's median to dockerd's (and to the base's). All daemons without networking.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-15}
COUNT=${2:-50}
WORK=$(mktemp -d /tmp/berth-api-XXXXXX)
pids=()
trap remove_all_and_stop EXIT

BERTH_SOCK=$WORK/berth.sock
start_berthd --bridge none
daemons=("berth=$BERTH_SOCK")
if [ -n "${BERTHD_BASE:-}" ]; then
  "$BERTHD_BASE/bin/berthd" --data-root "$WORK/based" --exec-root "$WORK/based-run" -H "unix://$WORK/base.sock" \
    --pidfile "$WORK/based.pid" --log-level warn --bridge none 2>"$WORK/based.log" &
  pids+=($!)
  wait_sock "$WORK/base.sock"
  daemons+=("base=$WORK/base.sock")
fi
if command -v dockerd >/dev/null; then
  DOCKERD_SOCK=$WORK/dockerd.sock
  start_dockerd
  daemons+=("dockerd=$DOCKERD_SOCK")
fi

./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
for d in "${daemons[@]:1}"; do docker -H "unix://${d#*=}" load -i "$WORK/busybox.tar" >/dev/null; done

for d in "${daemons[@]}"; do
  D="docker -H unix://${d#*=}"
  # Half running, half exited, as on a machine in use.
  for i in $(seq 1 "$COUNT"); do
    if [ $((i % 2)) = 0 ]; then $D run -d --network none busybox sleep 3600 >/dev/null
    else $D run --network none busybox true >/dev/null; fi
  done
  $D run -d --network none --name target busybox sh -c 'seq 1 1000; exec sleep 3600' >/dev/null
  for n in ss kl pz rn; do $D run -d --network none --name $n busybox sleep 3600 >/dev/null; done
  $D run --network none --name done busybox true
done

echo "== Engine API, $ROUNDS rounds, $COUNT containers + 6; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
bin/node bench/api-driver.ts "$ROUNDS" "${daemons[@]}" >"$WORK/result.jsonl"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
bin/node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
const ratio = (r, ref) => (r[ref] ? r.berth.median / r[ref].median : NaN);
rows.sort((a, b) => ratio(b, "dockerd") - ratio(a, "dockerd"));
const f = (x) => x.toFixed(2).padStart(7);
const refs = ["base", "dockerd"].filter((k) => rows[0][k]);
console.log(`${"operation".padEnd(34)} ${["berth", ...refs].map((k) => `${k} med/p90 ms`.padStart(20)).join(" ")} ${refs.map((k) => `/${k}`.padStart(9)).join(" ")}`);
for (const r of rows)
  console.log(`${r.op.padEnd(34)} ${["berth", ...refs].map((k) => `${f(r[k].median)} /${f(r[k].p90)}`.padStart(20)).join(" ")} ${refs.map((k) => f(ratio(r, k)).padStart(8) + "x").join(" ")}`);
' "$WORK/result.jsonl"
