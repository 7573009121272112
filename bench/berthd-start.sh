#!/usr/bin/env bash
# berthd's start until its API answers (issue 15 target 3: module loading is most of a
# restart's CPU): the bundled daemon (build/berthd/) against the sources, each with and
# without V8's compile cache, R runs of each interleaved, on an empty data root.
#
#   bash bench/berthd-start.sh [runs]      (default 5)
#
# Prints each variant's median wall time to the first `/_ping` answer, berthd's CPU time then,
# and the "modules loaded" stage of its debug log (milliseconds and CPU since the process began).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
R=${1:-5}
WORK=$(mktemp -d /tmp/berth-bench-XXXXXX)
pids=()
trap 'stop_daemons; rm -rf "$WORK"' EXIT
variants=("bundle" "bundle, no compile cache" "sources" "sources, no compile cache")
envs=("" "NODE_DISABLE_COMPILE_CACHE=1" "BERTH_DAEMON_BUNDLE=0" "BERTH_DAEMON_BUNDLE=0 NODE_DISABLE_COMPILE_CACHE=1")
echo "load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for r in $(seq 0 "$R"); do
  for i in "${!variants[@]}"; do
    t=$(date +%s%N)
    # shellcheck disable=SC2086 # the variant's variables, split on purpose
    env ${envs[$i]} ./bin/berthd --data-root "$WORK/root" --exec-root "$WORK/run" -H "unix://$WORK/s.sock" \
      --bridge none --log-level debug 2>"$WORK/log" &
    p=$!
    pids+=("$p")
    until curl -s --unix-socket "$WORK/s.sock" http://localhost/_ping >/dev/null 2>&1; do sleep 0.01; done
    wall=$((($(date +%s%N) - t) / 1000000))
    cpu=$(awk '{print ($14 + $15) * 10}' "/proc/$p/stat")
    mods=$(grep -o 'modules loaded at [0-9]* ms (CPU [0-9]* ms)' "$WORK/log" | tr -dc '0-9 ' | awk '{print $1, $2}')
    kill "$p"
    wait "$p" || true
    # the first round fills the compile cache and is not counted
    [ "$r" = 0 ] || echo "$i $wall $cpu $mods" >>"$WORK/times"
  done
done
echo "load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
bin/node -e '
const fs = require("fs");
const names = process.argv.slice(2);
const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" ").map(Number));
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor((s.length - 1) / 2)]; };
names.forEach((n, i) => {
  const mine = rows.filter((r) => r[0] === i);
  const m = (k) => med(mine.map((r) => r[k]));
  console.log(`${n}: first answer ${m(1)} ms (CPU ${m(2)} ms); modules loaded at ${m(3)} ms (CPU ${m(4)} ms); ${mine.length} runs`);
});
' "$WORK/times" "${variants[@]}"
