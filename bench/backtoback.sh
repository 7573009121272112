#!/usr/bin/env bash
# Whether a warm `docker run --rm busybox true` waits on the last run's leftovers: the
# removal's clean-up and the pool's refill, which run after the answer, on the same two cores
# as the next CLI's start (issue 15 target 1). Two measures, against this checkout's berthd
# (--warm-pool 2) and the fake engine (bench/fake-engine.ts: the CLI's floor), in one run:
#
# 1. hyperfine of both, back to back (as warm.sh) and with `--prepare 'sleep 0.3'` (every
#    command alike: nothing of the last run is left when the next CLI starts);
# 2. a timeline: `perf record -a` of the scheduler's events over ROUNDS rounds of, on each of
#    berthd and the fake, two runs back to back then one after 0.4 s of rest, and
#    bench/timeline.ts's account of each CLI's start (exec → its first connect): how much of it
#    the CLI ran, how long it waited for a core, and who ran meanwhile (berthd, its helpers by
#    name, the containers, the others' processes, idle).
#
#   bash bench/backtoback.sh [runs] [none|user] [rounds]
#
# BERTH_BASE=<checkout>: that checkout's berthd too (its pool, the same network), in both
# measures, for an A/B of a change; its runs interleaved with this one's in the timeline.
# `user`: a user network warmnet on each daemon (a /24 of UNET, default 10.236). The daemons run
# privately on temporary roots; everything is removed at the end. Needs root, hyperfine, perf.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-20}
NET=${2:-user}
ROUNDS=${3:-10}
WORK=$(mktemp -d /tmp/berth-b2b-XXXXXX)
BERTH_SOCK=$WORK/berth.sock
BASE_SOCK=$WORK/base/berth.sock
FAKE_SOCK=$WORK/fake.sock
BERTH_BASE=${BERTH_BASE:-}
pids=()
trap 'warm_cleanup "$BERTH_SOCK" "$BASE_SOCK"' EXIT
warm_run_command 10.236
echo "network: $NET; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
start_berthd --warm-pool 2 --bridge none
./bin/berth -H "unix://$BERTH_SOCK" image bootstrap busybox >/dev/null
socks=("$BERTH_SOCK")
if [ -n "$BERTH_BASE" ]; then
  mkdir -p "$WORK/base"
  docker -H "unix://$BERTH_SOCK" save busybox -o "$WORK/busybox.tar"
  # exec: the pid kept is berthd's (bin/berthd execs node), which cleanup stops.
  (cd "$BERTH_BASE" && exec ./bin/berthd --data-root "$WORK/base/root" --exec-root "$WORK/base/run" -H "unix://$BASE_SOCK" \
    --pidfile "$WORK/base/berthd.pid" --log-level warn --warm-pool 2 --bridge none 2>"$WORK/base/berthd.log") &
  pids+=($!)
  wait_sock "$BASE_SOCK"
  docker -H "unix://$BASE_SOCK" load -i "$WORK/busybox.tar" >/dev/null
  socks+=("$BASE_SOCK")
fi
n=1
for s in "${socks[@]}"; do
  [ "$NET" = user ] && docker -H "unix://$s" network create --subnet "$UNET.$n.0/24" warmnet >/dev/null
  n=$((n + 1))
  # The pool follows the last starts' image and network: a few, then until it holds two.
  for _ in 1 2 3 4; do docker -H "unix://$s" "${run[@]}"; done
  for _ in $(seq 1 100); do
    docker -H "unix://$s" info 2>/dev/null | grep -q 'Warm pool: 2 of 2 ready' && break
    sleep 0.1
  done
done
bin/node bench/fake-engine.ts "$FAKE_SOCK" 2>"$WORK/fake.log" &
fakepid=$!
pids+=($fakepid)
for _ in $(seq 1 200); do [ -S "$FAKE_SOCK" ] && break; sleep 0.05; done

cmds=(-n berth "docker -H unix://$BERTH_SOCK ${run[*]}")
[ -n "$BERTH_BASE" ] && cmds+=(-n base "docker -H unix://$BASE_SOCK ${run[*]}")
cmds+=(-n floor "docker -H unix://$FAKE_SOCK ${run[*]}")
for prep in none 'sleep 0.3'; do
  echo "hyperfine, prepare: $prep (load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ "$prep" = none ]; then p=(); else p=(--prepare "$prep"); fi
  hyperfine -N --warmup 3 --runs "$RUNS" "${p[@]}" --export-json "$WORK/h.json" "${cmds[@]}" >/dev/null 2>&1
  bin/node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const med = Object.fromEntries(r.map((x) => [x.command, x.median * 1000]));
for (const x of r) console.log(`  ${x.command}: median ${(x.median * 1000).toFixed(1)} ms, CLI cpu ${((x.user + x.system) * 1000).toFixed(1)} ms` + (x.command === "floor" ? "" : `, ${(x.median * 1000 - med.floor).toFixed(1)} ms above the floor`));
' "$WORK/h.json"
done
for s in "${socks[@]}"; do
  echo "pool: $(docker -H "unix://$s" info 2>/dev/null | grep -o 'Warm pool: .*')"
done

# The timeline. Berth's processes before the recording: berthd, what descends from it, and
# what names this run's root (the pooled sandboxes' monitors, which left berthd's tree).
berthd_pids=$(for f in "$WORK/berthd.pid" ${BERTH_BASE:+"$WORK/base/berthd.pid"}; do echo "$(cat "$f")"; done | tr '\n' ' ')
# The first line: the berthds (the timeline counts their own threads apart); then the rest.
{
  echo "$berthd_pids"
  ps -e -o pid=,ppid= | awk -v roots="$berthd_pids" '
    BEGIN { n = split(roots, r, / +/); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
    { pp[$1] = $2 } END { for (p in pp) { q = p; while (q > 1) { if (q in keep) { print p; break } q = pp[q] } } }'
  # grep says 2 when a process went while it read: the matches it printed still stand.
  { grep -l -a "$WORK" /proc/[0-9]*/cmdline 2>/dev/null || true; } | cut -d/ -f3
} >"$WORK/seeds.txt"
cat >"$WORK/driver.sh" <<EOF
echo \$\$ >"$WORK/labels.txt"
one() { echo "\$1" >>"$WORK/labels.txt"; docker -H "unix://\$2" ${run[*]}; }
for r in \$(seq 1 $ROUNDS); do
  for d in berth:$BERTH_SOCK ${BERTH_BASE:+base:$BASE_SOCK} floor:$FAKE_SOCK; do
    one "\${d%%:*} back-to-back, first" "\${d#*:}"
    one "\${d%%:*} back-to-back, second" "\${d#*:}"
    sleep 0.4
    one "\${d%%:*} rested" "\${d#*:}"
    sleep 0.4
  done
done
EOF
echo "timeline: $ROUNDS rounds (load $(cut -d' ' -f1-3 /proc/loadavg))"
perf record -q -a -o "$WORK/perf.data" -e sched:sched_switch -e sched:sched_wakeup -e sched:sched_wakeup_new \
  -e sched:sched_process_fork -e sched:sched_process_exec -e sched:sched_process_exit \
  -e syscalls:sys_enter_connect -- bash "$WORK/driver.sh" >/dev/null 2>&1
perf script -i "$WORK/perf.data" -F comm,pid,tid,cpu,time,event,trace >"$WORK/perf.txt" 2>/dev/null
bin/node bench/timeline.ts "$WORK/perf.txt" "$WORK/labels.txt" "$WORK/seeds.txt" "$fakepid"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
