#!/usr/bin/env bash
# berthd's own CPU per warm `docker run --rm busybox true`: this checkout's berthd against
# BERTH_BASE's (default /work/main), both with --warm-pool 2, runs in blocks of RUNS back to back
# (then 0.3 s for the last run's clean-up and refill), the daemons alternating block by block and
# the order swapped every round, ROUNDS rounds. The figure is the CPU time of berthd's threads
# alone (the sum of /proc/<pid>/task/*/schedstat: the main thread apart, then the thread pool's
# and V8's) over each block, per run — not its helpers' (crun, the monitors, the launcher: see
# warm.sh's cpuacct figures for those) — so that a change to the daemon's own work after the
# answer (the exit's handling, the removal's clean-up, the refill's making) shows through the
# helpers' noise and the others' load, which move warm.sh's figures by more.
#
#   BERTH_BASE=<checkout> bash bench/berthd-cpu.sh [rounds] [runs] [none|user]
#
# `user`: a user network warmnet on each daemon (a /24 each of UNET, default 10.237). The
# daemons run privately on temporary roots; everything is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-16}
RUNS=${2:-10}
NET=${3:-user}
BERTH_BASE=${BERTH_BASE:-/work/main}
WORK=$(mktemp -d /tmp/berth-bcpu-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
BASE_SOCK=$WORK/base/berth.sock
pids=()
trap 'warm_cleanup "$BERTH_SOCK" "$BASE_SOCK"' EXIT
warm_run_command 10.237
start_berthd --warm-pool 2 --bridge none
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
mkdir -p "$WORK/base"
# exec: the pid kept is berthd's (bin/berthd execs node), whose threads are counted.
(cd "$BERTH_BASE" && exec ./bin/berthd --data-root "$WORK/base/root" --exec-root "$WORK/base/run" -H "unix://$BASE_SOCK" \
  --pidfile "$WORK/base/berthd.pid" --log-level warn --warm-pool 2 --bridge none 2>"$WORK/base/berthd.log") &
pids+=($!)
wait_sock "$BASE_SOCK"
docker -H "unix://$BASE_SOCK" load -i "$WORK/busybox.tar" >/dev/null
n=1
for s in "$BERTH_SOCK" "$BASE_SOCK"; do
  [ "$NET" = user ] && docker -H "unix://$s" network create --subnet "$UNET.$n.0/24" warmnet >/dev/null
  n=$((n + 1))
  # The pool follows the last starts' image and network: a few, then until it holds two.
  for _ in 1 2 3 4 5 6; do docker -H "unix://$s" "${run[@]}"; done
  for _ in $(seq 1 100); do
    docker -H "unix://$s" info 2>/dev/null | grep -q 'Warm pool: 2 of 2 ready' && break
    sleep 0.1
  done
done
declare -A sock=([this]=$BERTH_SOCK [base]=$BASE_SOCK) pidf=([this]=$WORK/berthd.pid [base]=$WORK/base/berthd.pid)
# ns of CPU: every thread of berthd; its main thread.
cpu_all() {
  local s=0 a
  for f in /proc/"$(cat "${pidf[$1]}")"/task/*/schedstat; do
    read -r a _ <"$f"
    s=$((s + a))
  done
  echo $s
}
cpu_main() {
  local p a
  p=$(cat "${pidf[$1]}")
  read -r a _ <"/proc/$p/task/$p/schedstat"
  echo "$a"
}
echo "network: $NET; $ROUNDS rounds of $RUNS runs on each; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  order="this base"
  [ $((r % 2)) = 0 ] && order="base this"
  for d in $order; do
    c0=$(cpu_all "$d") m0=$(cpu_main "$d") t0=$(date +%s%N)
    for _ in $(seq 1 "$RUNS"); do docker -H "unix://${sock[$d]}" "${run[@]}"; done
    sleep 0.3
    c1=$(cpu_all "$d") m1=$(cpu_main "$d") t1=$(date +%s%N)
    echo "$r $d $(((c1 - c0) / RUNS)) $(((m1 - m0) / RUNS)) $(((t1 - t0 - 300000000) / RUNS))"
  done
done >"$WORK/blocks.txt"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
bin/node -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split(" "));
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const ms = (ns) => (ns / 1e6).toFixed(2);
const of = (d) => rows.filter((r) => r[1] === d);
for (const d of ["this", "base"]) {
  const b = of(d), all = b.map((r) => +r[2]), main = b.map((r) => +r[3]);
  console.log(`${d}: berthd CPU per run ${ms(med(all))} ms (main thread ${ms(med(main))}, other threads ${ms(med(all.map((x, i) => x - main[i])))}), medians of ${b.length} blocks; wall per run ${ms(med(b.map((r) => +r[4])))} ms`);
}
const diff = of("this").map((r, i) => +r[2] - +of("base")[i][2]);
console.log(`this - base, by round: median ${ms(med(diff))} ms a run, this lower in ${diff.filter((x) => x < 0).length} of ${diff.length}`);
' "$WORK/blocks.txt"
