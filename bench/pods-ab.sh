#!/usr/bin/env bash
# A daemon-side change to pods, A/B interleaved: this checkout's berthd and another checkout's
# (BERTHD_BASE, e.g. /work/main with its build), each on its own temporary root with the same
# flags (`--bridge none`), both driven by this checkout's CLI, rounds alternating between them
# (the order flipped every round), so that the machine's load moves both alike — on a shared
# machine, hyperfine's one command after the other is not.
#
#   BERTHD_BASE=<checkout> bash bench/pods-ab.sh [rounds]
#
# Each round times `pod create` + 2 × `run -d --pod` and then `kube play` of a two-container
# pod on each daemon (the previous round's pod removed first, not timed); prints the medians,
# the ratio this/base and the load averages, and from each daemon's debug log (a berthd with
# the "Handled ... in X ms" line) the median time it spent on each kind of request — its part
# of a command, which the machine's load stretches less than the clients' start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-10}
: "${BERTHD_BASE:?BERTHD_BASE=<checkout> names the checkout of the base daemon}"
WORK=$(mktemp -d /tmp/berth-podab-XXXXXX)
pids=()
# Each berthd in a cpuacct cgroup of its own (as warm.sh's): what it and what it starts — the
# launcher, monitors, the runtime's create and delete — cost the machine, containers' own
# processes apart (the runtime moves them to cgroups of their own).
trap 'stop_daemons; rmdir "$(acct_dir this)" "$(acct_dir base)" 2>/dev/null; rm -rf "$WORK"' EXIT

for side in this base; do
  bin=./bin/berthd
  [ "$side" = base ] && bin=$BERTHD_BASE/bin/berthd
  in_acct "$side" $bin --data-root "$WORK/$side" --exec-root "$WORK/$side-run" -H "unix://$WORK/$side.sock" \
    --pidfile "$WORK/$side.pid" --log-level debug --bridge none 2>"$WORK/$side.log" &
  pids+=($!)
  wait_sock "$WORK/$side.sock"
  ./bin/berth -H "unix://$WORK/$side.sock" image bootstrap busybox >/dev/null
done

write_pod_yaml "$WORK/pod.yaml"
IDLE=(sh -c 'trap "exit 0" TERM; while :; do sleep 1; done')
now() { date +%s%N; }

round() { # side -> "pod_ms kube_ms"
  local B="./bin/berth -H unix://$WORK/$1.sock" t0 t1 t2
  $B pod rm -f bp >/dev/null 2>&1 || true
  $B kube down -q "$WORK/pod.yaml" >/dev/null 2>&1 || true
  sleep 0.3
  t0=$(now)
  $B pod create --name bp >/dev/null
  $B run -d --pod bp busybox "${IDLE[@]}" >/dev/null
  $B run -d --pod bp busybox "${IDLE[@]}" >/dev/null
  t1=$(now)
  $B pod rm -f bp >/dev/null
  sleep 0.3
  t1b=$(now)
  $B kube play -q "$WORK/pod.yaml" >/dev/null
  t2=$(now)
  echo "$(((t1 - t0) / 1000000)) $(((t2 - t1b) / 1000000))"
}

: >"$WORK/times"
round this >/dev/null && round base >/dev/null # warm-up
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
CPU_THIS=$(acct_ms this) CPU_BASE=$(acct_ms base)
for i in $(seq "$ROUNDS"); do
  order=(this base)
  [ $((i % 2)) = 0 ] && order=(base this)
  for side in "${order[@]}"; do echo "$side $(round "$side")" >>"$WORK/times"; done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "daemon CPU a round (both cases, their clean-up too): this $((($(acct_ms this) - CPU_THIS) / ROUNDS)) ms, base $((($(acct_ms base) - CPU_BASE) / ROUNDS)) ms"
for side in this base; do
  ./bin/berth -H "unix://$WORK/$side.sock" pod rm -f bp >/dev/null 2>&1 || true
  ./bin/berth -H "unix://$WORK/$side.sock" kube down -q "$WORK/pod.yaml" >/dev/null 2>&1 || true
done
bin/node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const of = (side, k) => rows.filter((r) => r[0] === side).map((r) => Number(r[k]));
for (const [k, name] of [[1, "pod create + 2 run -d"], [2, "kube play"]]) {
  const a = med(of("this", k)), b = med(of("base", k));
  console.log(`${name}: this ${a} ms, base ${b} ms (medians of ${of("this", k).length}), this/base ${(a / b).toFixed(3)}; this ${of("this", k).join(" ")}; base ${of("base", k).join(" ")}`);
}
console.log(`load average (1, 5, 15 min): ${process.argv[2]} before, ${process.argv[3]} after`);
const kinds = [["pod create", /POST \S*\/libpod\/pods\/create/], ["container create", /POST \S*\/containers\/create/],
  ["member start (run -d --pod)", /POST \S*\/containers\/[0-9a-f]{64}\/start/], ["pod start (kube play)", /POST \S*\/libpod\/pods\/[^/]+\/start/]];
for (const side of ["this", "base"]) {
  const log = require("fs").readFileSync(`${process.argv[4]}/${side}.log`, "utf8");
  const parts = kinds.map(([name, re]) => {
    const ms = [...log.matchAll(/Handled (.*) in ([\d.]+) ms/g)].filter((m) => re.test(m[1])).map((m) => Number(m[2]));
    return ms.length ? `${name} ${med(ms).toFixed(1)} ms (${ms.length})` : `${name}: no timings`;
  });
  console.log(`${side} berthd, median per request: ${parts.join(", ")}`);
}
' "$WORK/times" "$LOAD_BEFORE" "$LOAD_AFTER" "$WORK"
